"""What the benchmark scripts share: running wrk and reading its figures, and the CPU a process tree used."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinshop.engines.local import ProcessTree  # noqa: E402

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    rps: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors
    p50_ms: float | None
    p99_ms: float | None


def ids_script(path_template: str, *, products: int = 5000, stride: int = 1) -> str:
    """A wrk Lua script requesting ``path_template`` (with ``{id}``) over every product id in turn."""
    before, after = path_template.split("{id}")
    return (
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        f'  return wrk.format("GET", "{before}" .. ((counter * {stride}) % {products} + 1) .. "{after}")\n'
        "end\n"
    )


def parse_latency(text: str) -> float | None:
    """wrk's ``812.00us`` / ``12.5ms`` / ``1.02s`` in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * UNITS_MS[match.group(2)] if match else None


def parse_wrk(output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rate or not total:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    return WrkResult(
        rps=float(rate.group(1)),
        requests=int(total.group(1)),
        errors=(int(errors.group(1)) if errors else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        p50_ms=parse_latency(p50.group(1)) if p50 else None,
        p99_ms=parse_latency(p99.group(1)) if p99 else None,
    )


def run_wrk(url: str, *, seconds: int, connections: int, script: Path | None = None) -> WrkResult:
    """One wrk run (1 thread, ``connections`` keep-alive connections) and its figures."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    return parse_wrk(subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60).stdout)


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds a process and all its children have used so far (None when it is gone)."""
    return ProcessTree(pid).total_seconds() if pid else None


def process_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds one process (without its children) has used so far."""
    return ProcessTree(pid, children=False).total_seconds() if pid else None
