"""The comparison against the real variants: the locustfile headless, a short `compare` with its report in
Chromium, a CPU hog beside a round, a variant that cannot start, and `compare` stopped by each signal.

Slow: each test runs Locust processes for tens of seconds. The variants come from tests/conftest.py
(a private engine home, ports shifted by an offset).
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from support import CHROMIUM_ARGS, wait_until

from loadtests.analysis import stats
from loadtests.analysis.run import DISTURBED_PERCENT
from loadtests.harness import compare
from loadtests.harness.locust import LOCUSTFILE
from loadtests.records import read_raw_csv
from twinshop.engines.local import LocalEngine
from twinshop.topology import Ports


def quiet(_update) -> None:
    """A progress callback that prints nothing (pytest keeps its output tidy)."""


@pytest.mark.slow
def test_locustfile_runs_headless_against_each_variant_without_unexpected_failures(
    variant: str, base_url: str, tmp_path: Path
):
    raw = tmp_path / "requests.csv"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base_url,
        "--scenario", "quick", "--scenario-duration", "20", "--peak-users", "6",
        "--raw-csv", str(raw), "--only-summary",
    ]  # fmt: skip
    # Locust exits 1 when any request failed: an out-of-stock order counts as a success, so 0 means none
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = read_raw_csv(raw)
    assert records and [r for r in records if not r.success] == []
    names = {r.name for r in records}
    assert {"/products/[id]", "/api/products/[id]"} <= names
    assert len(names) >= 8, names  # browsing, searching, buying and the API all ran
    served = {node for r in records for node in r.served_by.split(",")}
    if variant == "monolith":
        assert served == {"monolith"}
    else:
        assert any(node.startswith("web-") for node in served) and any(node.startswith("api-") for node in served)
    meta = json.loads(raw.with_name("requests.meta.json").read_text())
    assert meta["scenario"] == "quick" and meta["host"] == base_url


@pytest.mark.slow
def test_a_short_comparison_runs_interleaved_rounds_under_one_budget(engine, monolith_url, distributed_url,
                                                                     tmp_path: Path):  # fmt: skip
    out = tmp_path / "report"
    request = compare.Request(scenario="quick", out_dir=out, duration_s=12, peak_users=8, warmup_s=2, rounds=2,
                              lang="en", max_reruns=0)  # fmt: skip
    outcome = compare.run_comparison(engine, request, progress=quiet)
    assert outcome.index == out / "index.html" and outcome.index.exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["setup"]["rounds"] == 2 and summary["setup"]["engine"]["engine"].startswith("local")
    budget = summary["setup"]["cpu_caps"]
    if engine.cpu_cap_problem() is None:  # the same budget for both, applied by restarting them
        assert budget["monolith"] == budget["distributed"] == "1.5 cores for the whole variant"
        assert engine.options("monolith").caps.variant == 1.5
    starts = []
    for variant in ("monolith", "distributed"):
        runs = summary["variants"][variant]["runs"]
        assert [r["round"] for r in runs] == [1, 2]
        for run in runs:
            assert run["steady"]["requests"] > 0 and run["steady"]["p95"] is not None and run["cpu"]
            assert (out / "data" / variant / f"round-{run['round']}" / "requests.csv").stat().st_size > 0
            assert run["invariants"]["ok"], run["invariants"]
            starts.append((run["start_time"], variant))
    assert [v for _t, v in sorted(starts)] == ["monolith", "distributed", "monolith", "distributed"]  # interleaved
    assert summary["variants"]["monolith"]["runs"][0]["served_by_tier"].keys() == {"monolith"}
    assert summary["variants"]["distributed"]["runs"][0]["served_by_tier"].keys() == {"web", "api"}
    assert outcome.trustworthy == summary["trustworthy"]

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(outcome.index.as_uri(), wait_until="load")
            sizes = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
        finally:
            browser.close()
    # 10 charts, and the order events' 3 (the backlog, the queue depth, the consume rate)
    assert len(sizes) == 13 and all(size > 0 for size in sizes)
    assert errors == []


@pytest.mark.slow
def test_a_cpu_hog_beside_a_round_is_caught_never_reported_as_a_clear_result(engine, monolith_url, distributed_url,
                                                                            tmp_path: Path):  # fmt: skip
    out = tmp_path / "hog"
    meta = out / "data" / "monolith" / "round-1" / "requests.meta.json"
    hog: subprocess.Popen | None = None

    def start_hog_with_the_first_run(update) -> None:
        nonlocal hog
        if hog is None and meta.exists():
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # one core, busy

    request = compare.Request(scenario="quick", out_dir=out, duration_s=10, peak_users=6, warmup_s=1, rounds=1,
                              uncapped=True, max_reruns=1, lang="en")  # fmt: skip
    try:
        outcome = compare.run_comparison(engine, request, progress=start_hog_with_the_first_run)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait(timeout=10)
    assert hog is not None, "the hog never started"
    summary = json.loads((out / "summary.json").read_text())
    mono = summary["variants"]["monolith"]
    disturbed = [r for r in [*mono["runs"], *mono["measured_again"]] if r["others_cpu_percent"] > DISTURBED_PERCENT]
    assert disturbed, "the hog's CPU was not seen as interference"
    if summary["trustworthy"]:
        # the disturbed attempt was measured again, and what is kept is clean
        assert mono["measured_again"] and mono["measured_again"][0]["disturbed"]
        assert all(r["others_cpu_percent"] <= DISTURBED_PERCENT for r in mono["runs"])
    else:
        assert summary["verdict"].startswith("Not trustworthy: other programs used up to")
        assert not outcome.trustworthy


def test_a_comparison_stops_with_a_one_line_reason_when_a_variant_cannot_start(tmp_path: Path):
    engine = LocalEngine(home=tmp_path / "home", ports=Ports(24000))
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 8001 + 24000))
        blocker.listen()
        with pytest.raises(compare.ComparisonError) as info:
            compare.run_comparison(engine, compare.Request(quick=True, out_dir=tmp_path / "r", uncapped=True),
                                   progress=quiet)  # fmt: skip
    message = str(info.value)
    assert message.startswith("the monolith variant did not start: port 32001 on 127.0.0.1 is already in use")
    assert "\n" not in message
    assert not engine.running("monolith") and not engine.running("distributed")


def locust_children(out: Path) -> list[psutil.Process]:
    """Locust processes writing into this test's report folder (none may survive the comparison)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(out) in part for part in process.info["cmdline"] or []) and "locust" in " ".join(
            process.info["cmdline"]
        ):
            found.append(process)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_compare_stopped_by_a_signal_ends_locust_and_puts_the_monolith_back(cli_env, engine, monolith_url,
                                                                           distributed_url, tmp_path: Path, sig):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "twinshop.cli", "compare", "--quick", "--rounds", "1", "--duration", "30",
           "--warmup", "1", "--uncapped", "--fault", "kill:monolith@3s", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: any(r.name == "monolith" and r.state == "STOPPED" for r in engine.status()), 60), \
            "the drill never stopped the monolith"  # fmt: skip
        assert locust_children(out), "Locust is not running"
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    expected = 130 if sig == signal.SIGINT else 128 + sig
    assert process.returncode == expected, stderr
    assert stderr.strip().splitlines()[-1].startswith("twinshop: ")
    assert locust_children(out) == []
    rows = {r.name: r for r in engine.status() if r.variant == "monolith"}
    assert rows["monolith"].state == "RUNNING" and rows["monolith"].health == "healthy"


@pytest.mark.slow
def test_locust_with_two_workers_aggregates_their_requests_and_checks_each_workers_cpu(engine, monolith_url,
                                                                                        tmp_path: Path):  # fmt: skip
    out = tmp_path / "workers"
    request = compare.Request(scenario="quick", out_dir=out, duration_s=10, peak_users=6, warmup_s=0, rounds=1,
                              uncapped=True, max_reruns=0, workers=2, variants=("monolith",), lang="en")  # fmt: skip
    compare.run_comparison(engine, request, progress=quiet)
    folder = out / "data" / "monolith" / "round-1"
    parts = sorted(folder.glob("requests.worker-*.csv"))
    assert len(parts) == 2 and all(len(read_raw_csv(part)) > 0 for part in parts)  # both workers made requests
    assert len(read_raw_csv(folder / "requests.csv")) == sum(len(read_raw_csv(p)) for p in parts)  # read as one run
    run = json.loads((out / "summary.json").read_text())["variants"]["monolith"]["runs"][0]
    workers = [label for label in run["cpu"] if label.startswith("locust/")]
    assert len(workers) == 2, run["cpu"].keys()  # each worker's CPU, the master's apart
    # the load generator is judged by its busiest process (each is single-threaded), not by their sum
    with open(out / "data" / "cpu.csv", newline="") as handle:
        samples = [(float(r["seconds_since_start"]), r["process"], float(r["percent_of_one_core"]))
                   for r in csv.DictReader(handle)]  # fmt: skip
    per_process = stats.cpu_by_label([s for s in samples if s[1].startswith("locust/")], window=(1.0, 11.0))
    assert run["load_generator_peak_percent"] == pytest.approx(max(v["peak5"] for v in per_process.values()), abs=0.1)
