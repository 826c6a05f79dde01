"""Page throughput benchmark: bare Flask, the monolith's product page and the distributed one.

    .venv/bin/python benchmarks/page_rps.py [--cpus 1.0] [--seconds 6] [--rounds 5] [--connections 16]

Everything runs in ONE invocation on this machine, which is shared and noisy: compare the
ratios, not the absolute numbers. Three systems are started side by side, each under the same
gunicorn settings (shop/gunicorn.conf.py) and the same CPU budget - a cgroup cap on
everything the system runs (gunicorn, MariaDB, HAProxy, and the supervisord that collects
their logs) - and wrk, a C load generator outside the caps, loads them one at a time, in
rounds (A B C D, A B C D, ...), so that a noisy moment hits one round of every system rather
than all of one. What is measured, cheapest first:

  bare Flask hello          a Flask view returning "hello" (the framework and server floor)
  monolith JSON product     GET /api/products/<id> on the monolith: one database read, no page
  monolith product page     GET /products/<id>: the read plus the HTML page (cart form, CSRF token)
  distributed product page  the same page through HAProxy -> web -> HAProxy -> API -> MariaDB

Each row also shows where its CPU went (milliseconds of CPU per request, per process group),
read from the kernel's per-process counters. Ratios are medians of the per-round ratios.
Targets (issue 4): monolith page >= 0.6x bare Flask; distributed page >= 0.5x monolith page.
Not a test: it prints figures and exits 0 (1 only when it could not run at all).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.wrk import ids_script, process_cpu_seconds, run_wrk, tree_cpu_seconds  # noqa: E402
from twinshop import cpucap  # noqa: E402
from twinshop.engines.local import LocalEngine, http_status  # noqa: E402
from twinshop.options import CpuCaps, VariantOptions  # noqa: E402
from twinshop.supervisor import bin_path  # noqa: E402
from twinshop.topology import GUNICORN_CONF, Ports  # noqa: E402

# Ports 11000, 11001, 11002 ...: beside a student's own `twinshop up` and the tests, below the ephemeral range.
OFFSET = 3000
TARGETS = {"monolith page / bare Flask": 0.6, "distributed page / monolith page": 0.5}


@dataclass
class System:
    """One thing wrk loads: where, and which processes make up its CPU budget."""

    name: str
    url: str
    script: Path
    groups: dict[str, list[int]]  # "web" -> [pid of web-1, pid of web-2], ...
    rps: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_ms: list[dict[str, float]] = field(default_factory=list)  # per round: group -> ms per request


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while http_status(url) != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.1)


def group_pids(engine: LocalEngine, variant: str) -> dict[str, list[int]]:
    """The variant's processes by role: api-1, api-2 ... count as one "api" group."""
    groups: dict[str, list[int]] = {}
    for name, pid in engine.pids(variant).items():
        role = name.split(":")[-1].rstrip("0123456789").rstrip("-")
        groups.setdefault(role, []).append(pid)
    supervisord = engine.supervisor(variant).pidfile
    if supervisord.exists():  # it relays the processes' log lines, inside the same CPU budget
        groups["supervisord"] = [int(supervisord.read_text().strip())]
    return groups


def measure(system: System, *, seconds: int, connections: int) -> None:
    def used() -> dict[str, float]:
        # supervisord is the parent of every other process: count its own CPU only
        count = {"supervisord": process_cpu_seconds}
        return {g: sum(count.get(g, tree_cpu_seconds)(pid) or 0.0 for pid in pids) for g, pids in system.groups.items()}

    before = used()
    result = run_wrk(system.url, seconds=seconds, connections=connections, script=system.script)
    after = used()
    system.rps.append(result.rps)
    system.errors += result.errors
    if result.requests:
        system.cpu_ms.append({g: (after[g] - before[g]) * 1000 / result.requests for g in system.groups})


def round_ratios(top: System, bottom: System) -> list[float]:
    return [a / b for a, b in zip(top.rps, bottom.rps, strict=True) if b]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=float, default=1.0, help="CPU budget of each system under test (default 1)")
    parser.add_argument("--seconds", type=int, default=6, help="measured seconds per system per round (default 6)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all systems (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections (default 16)")
    args = parser.parse_args()
    if args.cpus <= 0 or args.seconds < 1 or args.rounds < 1 or args.connections < 1:
        print("benchmark: --cpus, --seconds, --rounds and --connections must be positive", file=sys.stderr)
        return 1
    if not shutil.which("wrk"):
        print("benchmark: wrk is needed: apt-get install wrk", file=sys.stderr)
        return 1
    fs, why = cpucap.detect()
    cpus = args.cpus if fs else None
    home = Path(tempfile.mkdtemp(prefix="twinshop-bench-"))
    engine = LocalEngine(home=home, ports=Ports(OFFSET))
    scripts = {}
    for name, template in (("page", "/products/{id}"), ("json", "/api/products/{id}")):
        scripts[name] = home / f"{name}.lua"
        scripts[name].write_text(ids_script(template))
    hello = None
    print(
        f"CPU budget per system: {f'{cpus:g} CPU (cgroup cap)' if cpus else f'uncapped ({why})'}; "
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"wrk 1 thread, {args.connections} connections, {args.rounds} rounds of {args.seconds} s per system"
    )
    try:
        port = OFFSET + 8000
        command = [bin_path("gunicorn"), "-c", str(GUNICORN_CONF), "benchmarks.hello_app:create_app()"]
        if cpus:
            command = cpucap.wrap(command, cgroup=engine.home.cgroup("hello"), cpus=cpus)
        env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
        hello = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        wait_for(f"http://127.0.0.1:{port}/")
        for variant in ("monolith", "distributed"):
            engine.up(VariantOptions(variant, caps=CpuCaps(variant=cpus)))
        monolith, distributed = engine.entry_url("monolith"), engine.entry_url("distributed")
        systems = [
            System("bare Flask hello", f"http://127.0.0.1:{port}/", None, {"gunicorn": [hello.pid]}),
            System("monolith JSON product", monolith, scripts["json"], group_pids(engine, "monolith")),
            System("monolith product page", monolith, scripts["page"], group_pids(engine, "monolith")),
            System("distributed product page", distributed, scripts["page"], group_pids(engine, "distributed")),
        ]
        for system in systems:  # warm-up: connection pools, imports, MariaDB's buffer pool
            run_wrk(system.url, seconds=3, connections=args.connections, script=system.script)
        for round_number in range(1, args.rounds + 1):
            for system in systems:
                measure(system, seconds=args.seconds, connections=args.connections)
            print(f"round {round_number}: " + " · ".join(f"{s.name} {s.rps[-1]:.0f} req/s" for s in systems))
    finally:
        if hello is not None:
            hello.terminate()
            hello.wait(timeout=30)
        engine.down(wipe=True)
        if fs:
            fs.remove(engine.home.cgroup("hello"))
            fs.remove(engine.home.cgroup("hello").split("/")[0])
        shutil.rmtree(home, ignore_errors=True)

    print()
    print(f"{'':<26} {'req/s':>8}   CPU per request (median of rounds): total = where it went")
    for s in systems:
        groups = {g: statistics.median(r[g] for r in s.cpu_ms) for g in s.groups} if s.cpu_ms else {}
        split = " + ".join(f"{g} {ms:.2f}" for g, ms in sorted(groups.items(), key=lambda kv: -kv[1]) if ms >= 0.005)
        errors = f"  ({s.errors} failed requests)" if s.errors else ""
        print(f"{s.name:<26} {statistics.median(s.rps):>8.1f}   {sum(groups.values()):.2f} ms = {split}{errors}")
    hello_s, json_s, page_s, dist_s = systems
    print()
    rows = [
        ("monolith page / bare Flask", round_ratios(page_s, hello_s)),
        ("distributed page / monolith page", round_ratios(dist_s, page_s)),
        ("monolith JSON product / bare Flask", round_ratios(json_s, hello_s)),
    ]
    for label, ratios in rows:
        ratio = statistics.median(ratios)
        target = TARGETS.get(label)
        verdict = f"target >= {target:.2f}: {'met' if ratio >= target else 'NOT met'}" if target else "no target"
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{label:<36} = {ratio:.2f}  ({verdict}; rounds: {rounds})")
    print(
        "\nThe JSON row is the floor under any page that reads the database: one read through PyMySQL "
        "and MariaDB, with no HTML at all. A page cannot cost less than it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
