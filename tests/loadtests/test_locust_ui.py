"""`twinshop locust` opens the Locust web UI with a choice of target (monolith / distributed)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import requests


def test_web_ui_offers_both_variants(engine, cli_env, monolith_url, distributed_url):
    port = engine.ports.locust
    process = subprocess.Popen(
        [sys.executable, "-m", "twinshop.cli", "locust"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, page = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert page is not None and page.status_code == 200, process.stdout.read() if process.poll() else "no UI"
        # The start form's extra fields: a target drop-down naming both variants, and the scenarios.
        assert re.search(r'"target": \{"choices": \[[^\]]*"monolith", "distributed"\]', page.text), page.text[-2000:]
        assert re.search(r'"scenario": \{"choices": \["quick"', page.text)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
