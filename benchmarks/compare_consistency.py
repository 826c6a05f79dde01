"""Does `twinshop compare --quick` tell the same story run after run, and flag a disturbed run?

    .venv/bin/python benchmarks/compare_consistency.py [--runs 5] [--hog-after 60]

Runs the quick comparison ``--runs`` times in a row on this machine (its own state folder and
ports, beside a student's own `twinshop up`), then once more with a one-core CPU hog started
``--hog-after`` seconds in. Prints, for every run, the verdict and each headline difference the
report called clear (with its direction), and then the two checks of the targets:

* every difference called clear points the same way in all the quiet runs;
* the run with the hog is never called trustworthy while a kept run overlapped the hog
  (it is measured again, or the verdict is "not trustworthy").

Figures from real runs are recorded in docs/benchmarks.md. Not a test: it takes ~20 minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.harness.compare import Request, run_comparison  # noqa: E402
from twinshop.engines.local import LocalEngine  # noqa: E402
from twinshop.topology import Ports  # noqa: E402

OFFSET = 2000  # ports 10001, 10002 ...: beside a student's own `twinshop up` and the tests


def clear_differences(summary: dict) -> dict[str, str]:
    """metric -> the variant that did better, for every difference the report called clear."""
    return {name: d["better"] for name, d in summary["differences"].items() if d["clear"]}


def one_run(engine: LocalEngine, out: Path, hog_after: float | None) -> tuple[dict, tuple[float, float] | None]:
    hog_window: list[float] = []
    stop = threading.Event()

    def hog() -> None:
        if stop.wait(hog_after):
            return
        process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        hog_window.append(time.time())
        try:
            stop.wait()
        finally:
            process.kill()
            process.wait(timeout=10)
            hog_window.append(time.time())

    thread = threading.Thread(target=hog, daemon=True) if hog_after is not None else None
    if thread:
        thread.start()
    try:
        run_comparison(engine, Request(quick=True, out_dir=out, lang="en"), progress=lambda _u: None)
    finally:
        stop.set()
        if thread:
            thread.join(timeout=30)
    summary = json.loads((out / "summary.json").read_text())
    return summary, (hog_window[0], hog_window[-1]) if len(hog_window) == 2 else None


def overlapped(summary: dict, window: tuple[float, float]) -> list[str]:
    """Kept runs that ran while the hog was busy."""
    found = []
    for variant, data in summary["variants"].items():
        for run in data["runs"]:
            start, end = run["start_time"], run["start_time"] + run["whole_run"]["duration_s"]
            if start < window[1] and end > window[0]:
                found.append(f"{variant} round {run['round']}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="quiet runs (default 5)")
    parser.add_argument("--hog-after", type=float, default=60.0, help="seconds into the hog run (default 60)")
    args = parser.parse_args()
    if args.runs < 1 or args.hog_after < 0:
        print("benchmark: --runs must be at least 1 and --hog-after not negative", file=sys.stderr)
        return 1
    home = Path(tempfile.mkdtemp(prefix="twinshop-consistency-"))
    engine = LocalEngine(home=home, ports=Ports(OFFSET))
    quiet: list[dict] = []
    try:
        for i in range(1, args.runs + 1):
            summary, _ = one_run(engine, home / f"run-{i}", None)
            quiet.append(summary)
            print(f"run {i}: {summary['verdict'][:60]}…  clear: {clear_differences(summary) or 'none'}", flush=True)
        hogged, window = one_run(engine, home / "hog", args.hog_after)
    finally:
        engine.down(wipe=True)
    print()
    directions: dict[str, set[str]] = {}
    for summary in quiet:
        if summary["trustworthy"]:
            for metric, better in clear_differences(summary).items():
                directions.setdefault(metric, set()).add(better)
    consistent = all(len(v) == 1 for v in directions.values())
    print(f"quiet runs trustworthy: {sum(s['trustworthy'] for s in quiet)} of {len(quiet)}")
    for metric, winners in sorted(directions.items()):
        count = sum(1 for s in quiet if s["trustworthy"] and metric in clear_differences(s))
        print(f"  {metric}: called clear in {count} run(s), better: {', '.join(sorted(winners))}")
    verdict = "met" if consistent else "MISSED"
    print(f"target 1 (every clear difference points the same way in all quiet runs): {verdict}")
    hit = overlapped(hogged, window) if window else []
    ok = not hogged["trustworthy"] or not hit
    reruns = sum(len(d["measured_again"]) for d in hogged["variants"].values())
    print(f"hog run: verdict {hogged['verdict'][:80]}…; runs measured again: {reruns}; "
          f"kept runs that overlapped the hog: {', '.join(hit) or 'none'}")  # fmt: skip
    print(f"target 2 (never trustworthy while a kept run overlapped the hog): {'met' if ok else 'MISSED'}")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
