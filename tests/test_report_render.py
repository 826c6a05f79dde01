"""The comparison report, built from synthetic runs of two variants, opened in headless Chromium."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest
from support import CHROMIUM_ARGS

from loadtests import report, stats
from loadtests.cpu import MACHINE
from loadtests.scenarios import get_scenario
from loadtests.stats import RequestRecord, VariantRun

CHROMIUM = "/usr/bin/chromium"
START = 1_700_000_000.0
ENDPOINTS = ("/", "/products/[id]", "/search?q=[word]", "/api/products/[id]")


def synthetic_run(variant: str, *, latency_ms: float, served_by: str, failures_every: int = 0) -> VariantRun:
    """A 30-second quick run: users ramp 0 -> 10 in 5 s, each user makes 2 requests/s."""
    scenario = get_scenario("quick", duration_s=30, peak_users=10)
    rng = random.Random(variant)
    records = []
    users = [(float(t), min(10, round(scenario.planned_users(t)))) for t in range(31)]
    n = 0
    for t, count in users[:-1]:
        for _ in range(count * 2):
            n += 1
            ok = not (failures_every and n % failures_every == 0)
            records.append(
                RequestRecord(
                    timestamp=START + t + rng.random() * 0.9,
                    method="GET",
                    name=rng.choice(ENDPOINTS),
                    response_time_ms=rng.expovariate(1 / latency_ms),
                    success=ok,
                    status=200 if ok else 503,
                    served_by=served_by.format(n % 2 + 1),
                    server_timing=f"db;dur={latency_ms / 3:.2f}, app;dur={latency_ms / 2:.2f}",
                    error="" if ok else "status 503",
                )
            )
    cpu = []
    for t in range(-1, 32):
        cpu += [(t + 0.01, "db", 30.0), (t + 0.01, "app", 40.0), (t + 0.01, "locust", 8.0), (t + 0.01, MACHINE, 95.0)]
    return VariantRun(
        variant=variant,
        url="http://127.0.0.1:8001" if variant == "monolith" else "http://127.0.0.1:8002",
        scenario=scenario,
        start_time=START,
        end_time=START + 30,
        records=sorted(records, key=lambda r: r.timestamp),
        users=users,
        cpu=cpu,
        services={"db": 1, "app": 2},
        startup_s=None,
    )


def fairness(scenario) -> report.Fairness:
    return report.Fairness(
        scenario=scenario,
        seed=1,
        warmup_s=8,
        reset=True,
        cpu_caps=None,
        machine={"logical_cores": 2, "physical_cores": 2, "memory_gb": 4, "load_average_1m": 0.5},
        locust_version="test",
    )


@pytest.fixture(scope="module")
def built_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    runs = [
        synthetic_run("monolith", latency_ms=10, served_by="monolith"),
        synthetic_run("distributed", latency_ms=25, served_by="web-{0},api-{0}", failures_every=50),
    ]
    return report.write_report(out, runs, fairness(runs[0].scenario))


def test_report_files_exist_with_data_for_both_variants(built_report: Path):
    out = built_report.parent
    assert built_report.name == "index.html"
    for slug, *_ in report.CHARTS:
        png = out / "charts" / f"{slug}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["variants"]) == {"monolith", "distributed"}
    assert summary["fairness"]["cpu_caps"] == "uncapped"
    # steady state: 10 users run from 5 s (the squeezed ramp starts 2 users/s) plus the 2.5 s settle, to the end
    assert summary["variants"]["monolith"]["steady_window_s"] == [7.5, 30.0]
    assert summary["differences"]["p95"]["absolute"] > 0  # the slower variant really is slower
    assert len(stats.read_raw_csv(out / "data" / "distributed" / "requests.csv")) > 0
    series = (out / "data" / "per_second.csv").read_text().splitlines()
    assert series[0].startswith("variant,second,users")
    assert any(line.startswith("distributed,") for line in series)


def test_report_page_is_self_contained_and_says_what_happened(built_report: Path):
    page = built_report.read_text()
    # no external resource: every src/href is a data: URI or a relative link to the report's own files
    for attr in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert attr.startswith(("data:", "data/", "charts/", "summary.json", "#")), attr
    assert "uncapped" in page
    assert "monolith" in page and "distributed" in page
    assert "The distributed variant had" in page  # its failures are spelled out
    assert "p95" in page


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


def test_charts_render_in_headless_chromium_without_console_errors(built_report: Path, chromium_path: str):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
            page.goto(built_report.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "figure img",
                "imgs => imgs.map(i => ({w: i.naturalWidth, h: i.naturalHeight, box: i.getBoundingClientRect().width,"
                " done: i.complete}))",
            )
            title = page.title()
            summary = page.inner_text("#summary")
        finally:
            browser.close()
    assert len(images) == len(report.CHARTS) + 2  # the time charts, then who served the traffic per variant
    for image in images:
        assert image["done"] and image["w"] > 0 and image["h"] > 0 and image["box"] > 0, image
    assert "monolith vs distributed" in title
    assert "requests/s" in summary
    assert errors == []


def test_report_states_the_cpu_budget_when_the_variants_were_capped(tmp_path: Path):
    runs = [
        synthetic_run("monolith", latency_ms=10, served_by="monolith"),
        synthetic_run("distributed", latency_ms=25, served_by="web-{0},api-{0}"),
    ]
    setting = fairness(runs[0].scenario)
    setting.cpu_caps = {"monolith": "1.5 cores for the whole variant", "distributed": "1 cores for the whole variant"}
    page = report.write_report(tmp_path, runs, setting).read_text()
    assert "monolith: 1.5 cores for the whole variant" in page
    assert "The CPU budgets differ between the variants" in page
    assert "The run was uncapped" not in page


def test_report_warns_when_only_one_variant_logged_every_request(tmp_path: Path):
    runs = [
        synthetic_run("monolith", latency_ms=10, served_by="monolith"),
        synthetic_run("distributed", latency_ms=25, served_by="web-{0},api-{0}"),
    ]
    setting = fairness(runs[0].scenario)
    assert "Logging differs" not in report.write_report(tmp_path / "same", runs, setting).read_text()
    setting.access_logs = ("distributed",)
    page = report.write_report(tmp_path / "one", runs, setting).read_text()
    assert "Logging differs between the variants" in page and "--access-log" in page
    setting.access_logs = ("monolith", "distributed")
    assert "Logging differs" not in report.write_report(tmp_path / "both", runs, setting).read_text()


def test_comparison_reads_caps_and_access_logs_from_how_each_variant_was_started(tmp_path: Path):
    from loadtests.compare import access_logs_of, cpu_caps_of
    from twinshop.engine import Engine, Options

    class Started(Engine):  # a real engine whose variants report the options they were started with
        started = {"monolith": Options(cpus=1.5, access_log=True), "distributed": Options(cpus=1.5)}

        def options(self, variant):
            return self.started.get(variant)

    engine = Started(home=tmp_path)
    assert access_logs_of(engine, ["monolith", "distributed"]) == ("monolith",)
    assert cpu_caps_of(engine, ["monolith", "distributed"]) == {
        "monolith": "1.5 cores for the whole variant",
        "distributed": "1.5 cores for the whole variant",
    }
    Started.started = {}
    assert access_logs_of(engine, ["monolith", "distributed"]) == ()
    assert cpu_caps_of(engine, ["monolith", "distributed"]) is None
