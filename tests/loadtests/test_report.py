"""The comparison and scaling reports, built from crafted rounds whose figures are known, and opened in
headless Chromium: files, figures that match the data, every chart drawn, both languages."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import crafted
import pytest
from support import CHROMIUM_ARGS

from loadtests import drills
from loadtests.analysis.rounds import VariantRounds
from loadtests.analysis.run import analyse
from loadtests.analysis.scaling import ScalingResult, StepResult
from loadtests.harness import invariants
from loadtests.harness.scaling import options_for, plan_steps
from loadtests.report import charts, scaling
from loadtests.report.render import write
from loadtests.scenarios import get_scenario
from twinshop.options import CpuCaps

TIME_CHARTS = (*charts.SERIES, "cpu")


def rounds(variant: str, latencies, **kwargs):
    return [crafted.run(variant, r, latency_ms=lat, **kwargs) for r, lat in enumerate(latencies, start=1)]


@pytest.fixture(scope="module")
def comparison():
    return crafted.comparison(rounds("monolith", (10, 11, 12)), rounds("distributed", (25, 26, 27), failures_every=200))


@pytest.fixture(scope="module")
def built(tmp_path_factory, comparison) -> Path:
    return write(tmp_path_factory.mktemp("report"), comparison, lang="en")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


def open_in_chromium(index: Path, chromium: str) -> dict:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
            page.goto(index.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "figure img", "imgs => imgs.map(i => ({id: i.closest('figure').id, w: i.naturalWidth,"
                " box: i.getBoundingClientRect().width, done: i.complete}))",
            )  # fmt: skip
            found = {
                "images": images,
                "title": page.title(),
                "verdict": page.inner_text("#verdict") if page.query_selector("#verdict") else "",
                "summary": page.inner_text("#summary"),
                "lang": page.get_attribute("html", "lang"),
                "headline": page.inner_text("#headline + p + .wide") if page.query_selector("#headline") else "",
                # How far the headline table runs past its box (a scroll bar on a projected slide): 0 when it fits.
                "headline_overflow": page.eval_on_selector("#headline + p + .wide",
                                                           "e => e.scrollWidth - e.clientWidth")
                if page.query_selector("#headline") else 0,  # fmt: skip
            }
        finally:
            browser.close()
    found["errors"] = errors
    return found


def test_the_report_writes_every_file_with_the_rounds_it_measured(built: Path, comparison):
    out = built.parent
    for chart in ("headline", *TIME_CHARTS, "served_by_monolith", "served_by_distributed"):
        assert (out / "charts" / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart
    summary = json.loads((out / "summary.json").read_text())
    assert {"trustworthy", "summary", "caveats", "variants", "differences"} <= set(summary)
    mono = summary["variants"]["monolith"]
    assert mono["rounds"] == 3 and [r["round"] for r in mono["runs"]] == [1, 2, 3]
    expected = comparison.variant("monolith").spread("p95")
    assert mono["medians"]["p95"] == {"median": expected.median, "low": expected.low, "high": expected.high,
                                      "rounds": list(expected.values)}  # fmt: skip
    assert summary["differences"]["p95"]["clear"] is True and summary["differences"]["p95"]["better"] == "monolith"
    assert summary["differences"]["throughput"]["clear"] is False
    assert summary["summary"] == [line for line in summary["summary"]]  # plain strings
    assert summary["trustworthy"] is True and summary["verdict"].startswith("Trustworthy")
    runs = (out / "data" / "runs.csv").read_text().splitlines()
    assert runs[0].startswith("variant,round,attempt,kept") and len(runs) == 7
    per_second = (out / "data" / "per_second.csv").read_text().splitlines()
    assert per_second[0] == "variant,round,second,users,requests,failures,p50_ms,p95_ms,p99_ms,steady"
    assert {line.split(",")[1] for line in per_second[1:]} == {"1", "2", "3"}


def test_the_page_is_self_contained_and_its_table_shows_the_medians_and_ranges(built: Path, comparison):
    page = built.read_text()
    for attr in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert attr.startswith(("data:", "data/", "charts/", "summary.json", "#")), attr
    p95 = comparison.variant("distributed").spread("p95")
    cell = f"{p95.median:.0f} ms\n({p95.low:.0f}–{p95.high:.0f})"
    assert f"<td>{cell}</td>" in page  # the distributed p95 cell: the median of the rounds and their range
    assert "\n(clear)</td>" in page and "\n(not clear)</td>" in page  # the difference row judges each figure
    assert 'href="data/monolith/' not in page  # crafted runs wrote no raw files, so none is linked


def test_every_chart_renders_in_headless_chromium_and_the_verdict_is_on_top(built: Path, chromium: str):
    found = open_in_chromium(built, chromium)
    ids = [image["id"] for image in found["images"]]
    assert ids == ["chart-headline", *(f"chart-{slug}" for slug in TIME_CHARTS), "chart-served_by_monolith",
                   "chart-served_by_distributed"]  # fmt: skip
    for image in found["images"]:
        assert image["done"] and image["w"] > 0 and image["box"] > 0, image
    assert found["title"] == "twinshop comparison — monolith vs distributed — quick"
    assert found["verdict"].startswith("Trustworthy")
    assert "The monolith was faster: p95" in found["summary"]
    assert found["headline_overflow"] <= 0, found["headline"]
    assert found["errors"] == []


def test_the_spanish_report_is_spanish_through_and_through(tmp_path: Path, comparison, chromium: str):
    index = write(tmp_path, comparison, lang="es")
    found = open_in_chromium(index, chromium)
    assert found["lang"] == "es" and found["verdict"].startswith("Confiable")
    assert "El monolito fue más rápido" in found["summary"] and "The monolith" not in found["summary"]
    p95 = comparison.variant("monolith").spread("p50")
    assert f"{p95.median:.1f}".replace(".", ",") in found["headline"] or f"{p95.median:.0f}" in found["headline"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["lang"] == "es" and summary["summary"][0].startswith("Cada variante hizo 3 rondas")
    assert "pet/s" in index.read_text() and "req/s" not in " ".join(summary["summary"])


def test_an_untrustworthy_run_says_so_on_top_and_in_summary_json(tmp_path: Path, chromium: str):
    busy = [crafted.run("monolith", 1, others_cpu=70), crafted.run("monolith", 2)]
    c = crafted.comparison(busy, rounds("distributed", (20, 21)))
    index = write(tmp_path, c, lang="en")
    assert 'class="box warn verdict"' in index.read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["trustworthy"] is False
    assert summary["problems"] == [{"variant": "monolith", "round": 1, "kind": "others", "percent": 70.0}]
    assert open_in_chromium(index, chromium)["verdict"].startswith("Not trustworthy: other programs used up to 70 %")


def test_unequal_budgets_and_access_logs_are_caveats(tmp_path: Path, comparison):
    unequal = replace(comparison, setup=replace(comparison.setup, caps={"monolith": CpuCaps(1.5),
                      "distributed": CpuCaps(1.0)}, access_logs=("distributed",)))  # fmt: skip
    page = write(tmp_path, unequal, lang="en").read_text()
    assert "The CPU budgets differ between the variants (monolith: 1.5 cores for the whole variant; distributed: " \
           "1 cores for the whole variant)" in page  # fmt: skip
    assert "Logging differs: distributed wrote a log line for every request" in page
    assert "Logging differs" not in write(tmp_path / "same", comparison, lang="en").read_text()


def test_a_container_engine_states_its_images_and_the_caps_as_applied(tmp_path: Path, comparison):
    facts = {"engine": "compose (Docker Engine 20.10, Docker Compose 2.40)",
             "images": "twinshop-monolith:latest (419fa1c0198c)",
             "caps": "monolith: 1.5 CPUs for all its containers (cgroup /twinshop-ab/monolith)"}  # fmt: skip
    page = write(tmp_path, replace(comparison, setup=replace(comparison.setup, engine=facts)), lang="en").read_text()
    assert "Engine: compose (Docker Engine 20.10, Docker Compose 2.40)." in page
    assert "Images: twinshop-monolith:latest (419fa1c0198c)." in page
    assert "CPU caps as applied: monolith: 1.5 CPUs for all its containers (cgroup /twinshop-ab/monolith)." in page
    assert json.loads((tmp_path / "summary.json").read_text())["setup"]["engine"] == facts
    # The local engine states neither.
    local = write(tmp_path / "local", comparison, lang="en").read_text()
    assert "Images:" not in local and "CPU caps as applied" not in local


# -- a fault drill's report --------------------------------------------------------------------------


def drill_run(variant: str, round: int, *, broken_invariant: bool = False):
    """A run in which every primary dies at 10 s and comes back at 20 s; the monolith is down in between."""
    run = crafted.run(variant, round, latency_ms=5, down_from=None)
    records = []
    for r in run.m.records:
        t = r.timestamp - crafted.START
        if variant == "monolith" and 10 <= t < 21:
            r = replace(r, success=False, status=0, served_by="", error="refused", response_time_ms=1.0)
        elif variant == "distributed" and 10 <= t < 20:
            r = replace(r, served_by="web-1,api-standby")
        records.append(r)
    services = ("monolith",) if variant == "monolith" else ("api-1", "api-2", "api-3")
    events = [
        drills.RunEvent("kill-all-primaries:api@10s", "kill", "api", 10.0, 10.02, services),
        drills.RunEvent("start-all-primaries:api@20s", "start", "api", 20.0, 20.01, services),
    ]
    if variant == "distributed":
        events.append(drills.RunEvent("crash:monolith@25s", "crash", "monolith", 25.0, None, (),
                                      skipped="the distributed variant has no monolith"))  # fmt: skip
    checked = invariants.Invariants(variant)
    checked.checks.append(invariants.Check("no stock below zero", not broken_invariant, "3 products below zero"))
    return analyse(replace(run.m, records=records, events=events, invariants=checked))


@pytest.fixture(scope="module")
def drill_report(tmp_path_factory) -> Path:
    c = crafted.comparison([drill_run("monolith", r) for r in (1, 2)],
                           [drill_run("distributed", r, broken_invariant=r == 2) for r in (1, 2)],
                           fault_spec="kill-all-primaries:api@10s,start-all-primaries:api@20s")  # fmt: skip
    return write(tmp_path_factory.mktemp("drill"), c, lang="en")


def test_every_time_chart_of_a_drill_report_carries_every_runs_markers(drill_report: Path):
    summary = json.loads((drill_report.parent / "summary.json").read_text())
    for slug in (*TIME_CHARTS, "served_by_monolith", "served_by_distributed"):
        markers = {(m["variant"], m["round"], m["label"]) for m in summary["charts"][slug]["markers"]}
        variants = ("monolith", "distributed") if slug in TIME_CHARTS else (slug.removeprefix("served_by_"),)
        rounds_drawn = (1, 2) if slug in TIME_CHARTS else (1,)
        for variant in variants:
            for r in rounds_drawn:
                assert (variant, r, "kill-all-primaries:api@10s") in markers, (slug, variant, r)
        assert not any(label.startswith("crash:") for *_, label in markers), "a skipped event has no marker"


def test_a_drill_report_has_availability_recovery_skips_and_the_broken_invariant(drill_report: Path):
    summary = json.loads((drill_report.parent / "summary.json").read_text())
    mono = summary["variants"]["monolith"]["runs"][0]
    kill, start = mono["impacts"]
    assert kill["after"]["availability"] == 0.0 and kill["recovery"].startswith("not recovered before start")
    assert mono["outages"][0]["from_s"] == 10 and mono["outages"][0]["to_s"] == 21
    dist = summary["variants"]["distributed"]["runs"][0]
    assert dist["impacts"][0]["recovery"] == "no visible impact"
    assert dist["nodes_first_seen_s"]["api-standby"] == 10
    assert dist["events"][-1]["outcome"] == "skipped: the distributed variant has no monolith"
    assert summary["invariants_ok"] is False
    text = "\n".join(summary["summary"])
    assert "Availability differed clearly: the distributed variant answered more requests successfully" in text
    assert "INVARIANT VIOLATED on the distributed variant, round 2: no stock below zero: 3 products below zero" in text
    page = drill_report.read_text()
    assert "Fault drill</h2>" not in page and "Fault drill: kill-all-primaries:api@10s" in page


# -- the scaling report ----------------------------------------------------------------------------


def test_the_scaling_report_judges_each_step_and_warns_of_better_than_linear(tmp_path: Path, chromium: str):
    steps = plan_steps((1, 2, 4), cores=2)
    result = ScalingResult(machine={"logical_cores": 2, "memory_gb": 4, "load_average_1m": 0.1}, rounds=2,
                           duration_s=15, warmup_s=3, limit=1.5, engine={"engine": "local (test)"},
                           locust_version="test", created="now")  # fmt: skip
    for step in steps:
        variants = []
        for variant, per_user in (("monolith", 4), ("distributed", 3 if step.n == 1 else 4)):
            rate = per_user * step.n * (2 if variant == "monolith" and step.n == 4 else 1)  # 4 x n: 8x at n=4
            variants.append(VariantRounds(variant, [crafted.run(variant, r, requests_per_user_s=rate, budget=step.cpus)
                                                    for r in (1, 2)]))  # fmt: skip
        result.steps.append(StepResult(step, 6 * step.n, variants, {v: options_for(v, step).command()
                                                                   for v in ("monolith", "distributed")}))
    index = scaling.write(tmp_path, result, lang="en")
    summary = json.loads((tmp_path / "summary.json").read_text())
    lines = "\n".join(summary["summary"])
    assert "n=4 asked for 1.6 CPU and got 1.5" in lines
    assert "At n=1 (0.4 CPU) the distributed variant served 0.75× the monolith's throughput: a clear difference" \
        in lines  # fmt: skip
    assert "At n=2 (0.8 CPU) no clear difference in throughput" in lines
    assert "That is better than linear" in lines and "n=4: 8.00× for 3.75×" in lines  # the monolith's 8x
    page = index.read_text()
    assert "twinshop up distributed --web 1 --api 4 --cpus 1.5" in page
    found = open_in_chromium(index, chromium)
    assert [i["id"] for i in found["images"]] == ["chart-scaling_throughput", "chart-scaling_p95",
                                                  "chart-scaling_rps_per_cpu"]  # fmt: skip
    assert found["errors"] == []


def test_a_capacity_search_headlines_the_capacity_not_figures_mixing_its_steps(tmp_path: Path):
    scenario = get_scenario("capacity", duration_s=40)  # 10 steps of 4 s
    c = crafted.comparison([crafted.run("monolith", r, latency_ms=20, scenario=scenario) for r in (1, 2)],
                           [crafted.run("distributed", r, latency_ms=400, scenario=scenario) for r in (1, 2)],
                           scenario=scenario)  # fmt: skip
    index = write(tmp_path, c, lang="en")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["variants"]["monolith"]["medians"]) == {"capacity_users", "capacity_rps", "availability"}
    assert summary["differences"]["capacity_users"]["better"] == "monolith"
    assert not any("was faster" in line or "Throughput" in line for line in summary["summary"])
    page = index.read_text()
    assert "<th>capacity (users)</th>" in page and "<th>p95</th>" not in page.split('id="capacity"')[0]
    assert (tmp_path / "charts" / "capacity_throughput.png").exists()
    assert (tmp_path / "charts" / "capacity_latency.png").exists()
