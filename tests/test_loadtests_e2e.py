"""The load tests against the real variants: the locustfile run headless, and a short `compare`.

Slow: each test starts Locust as a separate process for tens of seconds. The variants come
from tests/conftest.py (a private engine home, ports shifted by an offset).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import CHROMIUM_ARGS

from loadtests import stats
from loadtests.compare import ComparisonError, run_comparison

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = PROJECT_ROOT / "loadtests" / "locustfile.py"


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

    records = stats.read_raw_csv(raw)
    assert records, "no request was recorded"
    assert [r for r in records if not r.success] == []
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
def test_short_comparison_writes_a_report_with_both_variants(
    engine, monolith_url: str, distributed_url: str, tmp_path: Path
):
    out = tmp_path / "report"
    index = run_comparison(
        engine, scenario="quick", out_dir=out, duration_s=20, peak_users=8, warmup_s=3, progress=quiet
    )
    assert index == out / "index.html" and index.exists()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["variants"]) == {"monolith", "distributed"}
    for variant, data in summary["variants"].items():
        assert data["steady"]["requests"] > 0, variant
        assert data["steady"]["p95"] is not None
        assert data["cpu"], "no CPU samples"
        assert (out / "data" / variant / "requests.csv").stat().st_size > 0
    assert summary["variants"]["monolith"]["served_by"].keys() == {"monolith"}
    for slug in ("requests_per_second", "latency_p95", "users", "cpu"):
        assert (out / "charts" / f"{slug}.png").stat().st_size > 0

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
            page.goto(index.as_uri(), wait_until="load")
            sizes = page.eval_on_selector_all(
                "figure img", "imgs => imgs.map(i => i.naturalWidth * i.getBoundingClientRect().height)"
            )
        finally:
            browser.close()
    assert sizes and all(size > 0 for size in sizes)
    assert errors == []


class EngineThatCannotStart:
    """Stands in for the engine: nothing answers at its address and `up` fails."""

    def entry_url(self, variant: str) -> str:
        return "http://127.0.0.1:9"  # the discard port: nothing listens there

    def up(self, variant: str, **_kwargs) -> float:
        raise RuntimeError("port 3307 is taken")


def test_comparison_stops_with_a_one_line_reason_when_a_variant_does_not_start(tmp_path: Path):
    with pytest.raises(ComparisonError) as info:
        run_comparison(EngineThatCannotStart(), quick=True, out_dir=tmp_path, progress=quiet)
    message = str(info.value)
    assert "monolith" in message and "port 3307 is taken" in message
    assert "\n" not in message
