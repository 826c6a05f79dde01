"""Requests per second in time windows, from a Locust run's raw CSV (``--raw-csv``): what lab 04 reads.

    python scripts/rps.py /tmp/horizontal/requests.csv --every 10

One line per window, counted by the second each request *finished* (as the comparison's report
does): successful requests per second, the p95 of their response times, the failures, and which
API replicas answered (from X-Served-By). ``--from``/``--to`` pick one window instead.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.records import RequestRecord, read_raw_csv  # noqa: E402


def p95(values: list[float]) -> float | None:
    """Nearest rank, as the report computes it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def describe(records: list[RequestRecord], start: float, begin: float, end: float) -> str:
    inside = [r for r in records if begin <= r.timestamp + r.response_time_ms / 1000 - start < end]
    ok = [r for r in inside if r.success]
    failed = len(inside) - len(ok)
    nodes = Counter(n for r in ok for n in r.served_by.split(",") if n.startswith("api-"))
    latency = p95([r.response_time_ms for r in ok])
    line = f"{clock(begin)}-{clock(end)}  {len(ok) / (end - begin):6.1f} req/s"
    line += f"  p95 {latency:4.0f} ms" if latency is not None else "  p95    - ms"
    line += f"  {failed} failed"
    if nodes:
        line += "  " + " ".join(f"{n}:{c}" for n, c in sorted(nodes.items()))
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/rps.py", description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="the raw CSV that locust --raw-csv wrote")
    parser.add_argument("--every", type=float, default=10, help="window length in seconds (default 10)")
    parser.add_argument("--from", dest="begin", type=float, help="one window: from this second of the run")
    parser.add_argument("--to", dest="end", type=float, help="one window: to this second")
    args = parser.parse_args(argv)
    records = read_raw_csv(args.csv)
    if not records:
        print(f"no requests in {args.csv}", file=sys.stderr)
        return 1
    start = min(r.timestamp for r in records)
    last = max(r.timestamp + r.response_time_ms / 1000 for r in records) - start
    if args.begin is not None or args.end is not None:
        print(describe(records, start, args.begin or 0.0, args.end or last))
        return 0
    begin = 0.0
    while begin + args.every <= last + 0.5:
        print(describe(records, start, begin, begin + args.every))
        begin += args.every
    return 0


if __name__ == "__main__":
    sys.exit(main())
