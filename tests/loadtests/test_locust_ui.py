"""`twinshop locust`: Locust's web UI with twinshop's bar on top — the target and the scenario as first-class
choices — driven in headless Chromium against the real variants."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support import CHROMIUM_ARGS, wait_until


def lb_sessions(engine) -> int:
    """Requests HAProxy's entry point has received so far (its statistics page, CSV)."""
    text = requests.get(f"http://127.0.0.1:{engine.ports.stats}/stats;csv", timeout=5).text.lstrip("# ")
    return next(int(row["stot"]) for row in csv.DictReader(io.StringIO(text))
                if row["svname"] == "FRONTEND" and row["pxname"] not in ("stats",))  # fmt: skip


@pytest.fixture
def web_ui(engine, cli_env, monolith_url, distributed_url):
    port = engine.ports.locust
    process = subprocess.Popen([sys.executable, "-m", "twinshop.cli", "locust"], env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/twinshop/choice", timeout=2).ok
            except requests.ConnectionError:
                return process.poll() is not None

        assert wait_until(answers, 60) and process.poll() is None, process.stdout.read()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_target_and_scenario_are_chosen_on_top_and_change_what_is_loaded(web_ui, engine, monolith_url,
                                                                             distributed_url):  # fmt: skip
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(web_ui + "/")
            page.wait_for_selector("#twinshop-bar button[aria-pressed=true]")
            box = page.locator("#twinshop-bar").bounding_box()
            assert box["y"] == 0 and box["height"] > 20  # on top, visible without opening anything
            assert page.locator("#twinshop-bar button[aria-pressed=true]").get_attribute("data-target") == "monolith"
            assert monolith_url in page.inner_text("header")
            assert "Recommender" not in page.inner_text("body")  # only the lab's classes: no class picker

            page.click("#twinshop-bar button[data-target=distributed]")
            page.wait_for_selector("#twinshop-bar button[aria-pressed=true][data-target=distributed]")
            assert distributed_url in page.inner_text("header")  # Locust's own header shows the real host

            page.select_option("#twinshop-scenario", "step")
            assert wait_until(lambda: requests.get(web_ui + "/twinshop/choice", timeout=5).json()["scenario"]
                              == "step", 10)  # fmt: skip
            assert "20 users" in page.inner_text("#twinshop-stages")
            before = lb_sessions(engine)
            page.click("button[type=submit]")
            assert wait_until(lambda: requests.get(web_ui + "/stats/requests", timeout=5).json()["user_count"] == 20,
                              20)  # step: 20 users first  # fmt: skip
            time.sleep(2)
            assert lb_sessions(engine) > before  # the traffic reached HAProxy, not the monolith
            assert page.locator("#twinshop-bar button[data-target=monolith]").is_disabled()  # not while it runs
            requests.post(web_ui + "/stop", timeout=10)
            page.wait_for_selector("#twinshop-bar button[data-target=monolith]:not([disabled])", timeout=15000)

            page.click("#twinshop-bar button[data-target=monolith]")
            page.wait_for_selector("#twinshop-bar button[aria-pressed=true][data-target=monolith]")
            stats = requests.get(web_ui + "/stats/requests", timeout=5).json()
            assert stats["stats"][-1]["num_requests"] == 0  # a new target starts new statistics and charts
        finally:
            browser.close()


def test_the_bar_refuses_bad_choices_with_the_json_error_shape(web_ui):
    bad = requests.post(web_ui + "/twinshop/choice", json={"target": "mainframe"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_target"
    bad = requests.post(web_ui + "/twinshop/choice", json={"scenario": "nope"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_scenario"
