"""Page throughput benchmark: bare Flask vs the monolith's product page vs the distributed one.

    .venv/bin/python benchmarks/page_rps.py [--cpus 1.0] [--seconds 10] [--connections 16]

All three run in ONE invocation on this machine (shared and noisy: compare the ratios, not
the absolute numbers), each under the same gunicorn settings (shop/gunicorn.conf.py) and
the same total CPU budget (a cgroup cap on everything the system under test runs:
gunicorn, MariaDB, HAProxy), with wrk - a C load generator, outside the cap - requesting
/products/<id> over every product id in turn. Targets (issue 4): monolith page >= 0.6x bare
Flask; distributed page >= 0.5x monolith page. Not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twinshop import cpucap  # noqa: E402
from twinshop.engine import Engine, http_status  # noqa: E402
from twinshop.topology import GUNICORN_CONF, Ports, bin_path  # noqa: E402

OFFSET = 40000  # ports 48001, 48002 ...: beside a student's own `twinshop up`
WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/products/" .. ((counter % 5000) + 1))
end
"""


def run_wrk(url: str, *, seconds: int, connections: int, script: Path | None) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if not match:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    if errors:
        print(f"  warning: {errors.group(1)} non-2xx responses from {url} ({seconds}s run)")
    return float(match.group(1))


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while http_status(url) != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=float, default=1.0, help="CPU budget of each system under test")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("benchmark: wrk is needed: apt-get install wrk", file=sys.stderr)
        return 1
    fs, why = cpucap.detect()
    cpus = args.cpus if fs else None
    home = Path(tempfile.mkdtemp(prefix="twinshop-bench-"))
    engine = Engine(home=home, ports=Ports(OFFSET))
    script = home / "ids.lua"
    script.write_text(WRK_SCRIPT)
    results: dict[str, float] = {}
    hello = None
    try:
        print(
            f"CPU budget per system: {f'{cpus:g} CPU (cgroup cap)' if cpus else f'uncapped ({why})'}; "
            f"machine cores: {os.cpu_count()}; wrk 1 thread, {args.connections} connections, {args.seconds}s each"
        )
        port = OFFSET + 8000
        command = [bin_path("gunicorn"), "-c", str(GUNICORN_CONF), "benchmarks.hello_app:create_app()"]
        if cpus:
            command = cpucap.wrap(command, cgroup=f"{engine.cgroup('hello')}", cpus=cpus)
        env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
        hello = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        wait_for(f"http://127.0.0.1:{port}/")
        run_wrk(f"http://127.0.0.1:{port}/", seconds=2, connections=args.connections, script=None)  # warm-up
        results["bare Flask hello"] = run_wrk(
            f"http://127.0.0.1:{port}/", seconds=args.seconds, connections=args.connections, script=None
        )
        hello.terminate()
        hello.wait(timeout=30)
        hello = None
        for variant in ("monolith", "distributed"):
            engine.up(variant, cpus=cpus)
            url = engine.entry_url(variant)
            run_wrk(url, seconds=3, connections=args.connections, script=script)  # warm-up: pools, caches
            results[f"{variant} product page"] = run_wrk(
                url, seconds=args.seconds, connections=args.connections, script=script
            )
            engine.down(variant)
    finally:
        if hello is not None:
            hello.terminate()
            hello.wait(timeout=30)
        engine.down(wipe=True)
        if fs:
            fs.remove(engine.cgroup("hello"))
            fs.remove(engine.cgroup("hello").split("/")[0])
        shutil.rmtree(home, ignore_errors=True)

    print()
    for name, rps in results.items():
        print(f"{name:<28} {rps:>9.1f} req/s")
    hello_rps, mono, dist = results.values()
    print()
    for label, ratio, target in (
        ("monolith page / bare Flask", mono / hello_rps, 0.6),
        ("distributed page / monolith", dist / mono, 0.5),
    ):
        print(f"{label:<30}= {ratio:.2f}  (target >= {target:.2f}: {'met' if ratio >= target else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
