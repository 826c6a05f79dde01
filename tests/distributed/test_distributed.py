"""The distributed variant's own promises: balancing, fail-over, the standby, the extra hop."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import requests
from support import BackgroundLoop, wait_until

from shop import seed

_, PRODUCTS = seed.generate()
PRIMARIES = ("api-1", "api-2", "api-3")


class RequestStream(BackgroundLoop):
    """GETs in a loop from a background thread until stopped; records every outcome."""

    def __init__(self, url: str, max_seconds: float = 60):
        super().__init__(max_seconds)
        self.url = url
        self.results: list[tuple[float, int | str, str]] = []

    def step(self, session: requests.Session, i: int) -> None:
        response = session.get(self.url.format(i=1 + i % 4000), timeout=10)
        self.results.append((time.monotonic(), response.status_code, response.headers.get("X-Served-By", "")))

    def failed(self, exc: requests.RequestException) -> None:
        self.results.append((time.monotonic(), type(exc).__name__, ""))

    def failures(self) -> list:
        return [r for r in self.results if r[1] != 200]

    def nodes_since(self, moment: float) -> Counter:
        return Counter(node for t, status, served in self.results if t >= moment for node in served.split(",") if node)


@pytest.fixture
def everything_running(engine, distributed_url):
    """Make sure every service is up before and after a drill (drills stop some)."""
    names = [s.name for s in engine.topology("distributed").services]

    def restore():
        for name in names:
            engine.start(name, variant="distributed")
        assert wait_until(lambda: healthy_api_servers(engine) == set(PRIMARIES) | {"api-standby"}, timeout=30)

    restore()
    yield distributed_url
    restore()


def healthy_api_servers(engine) -> set[str]:
    return {row.name for row in engine.status() if row.name.startswith("api-") and row.health == "healthy"}


def test_api_requests_are_balanced_over_replicas(http, distributed_url):
    nodes = Counter(http.get(f"{distributed_url}/api/products/{i}").headers["X-Served-By"] for i in range(1, 61))
    assert all(re.fullmatch(r"api-\d", node) for node in nodes), nodes
    assert len(nodes) >= 2, nodes


def test_pages_name_the_web_and_api_nodes(http, distributed_url):
    seen = set()
    for i in range(1, 21):
        response = http.get(f"{distributed_url}/products/{i}")
        assert response.status_code == 200
        served = response.headers["X-Served-By"].split(",")
        assert re.fullmatch(r"web-\d", served[0]) and all(re.fullmatch(r"api-\d", n) for n in served[1:]), served
        assert re.search(r"\bapi;dur=\d", response.headers["Server-Timing"])
        assert re.search(r"\bdb;dur=\d", response.headers["Server-Timing"])
        assert served[0] in response.text  # the "how this page was served" panel
        seen.add(served[0])
    assert len(seen) == 2  # both web replicas served pages


def test_killing_one_api_replica_loses_no_request(engine, everything_running):
    url = everything_running + "/api/products/{i}"
    with RequestStream(url) as stream:
        time.sleep(1.5)
        engine.kill("api-1")
        killed_at = time.monotonic()
        time.sleep(4)
    assert stream.failures() == []
    after = stream.nodes_since(killed_at + 2.5)  # health checks have noticed by now
    assert after and "api-1" not in after and set(after) <= {"api-2", "api-3"}, after


def test_load_balancer_logs_only_what_went_wrong_by_default(engine, everything_running):
    """Without --access-log, HAProxy logs retries, errors and server state changes, not normal requests."""
    log = engine.logs("distributed") / "lb.log"
    already_logged = log.stat().st_size  # earlier drills logged their own errors: read only this test's part
    for i in range(1, 21):
        assert requests.get(f"{everything_running}/api/products/{i}", timeout=5).status_code == 200
    time.sleep(0.5)  # let supervisord write what HAProxy printed
    with log.open("rb") as file:
        file.seek(already_logged)
        written = file.read().decode()
    request_lines = [line for line in written.splitlines() if '"GET ' in line or '"POST ' in line]
    # fields: client [date] frontend backend/server timings status bytes - - TERMINATION conns retries ...
    normal = [line for line in request_lines if line.split()[9] == "----" and "+" not in line.split()[10]]
    assert normal == []


def test_killing_one_api_replica_keeps_pages_working(engine, everything_running):
    with RequestStream(everything_running + "/products/{i}") as stream:
        time.sleep(1.0)
        engine.kill("api-2")
        time.sleep(3)
    assert len(stream.results) > 20
    assert stream.failures() == []


def test_standby_takes_over_when_every_primary_is_down_and_hands_back(engine, everything_running):
    url = everything_running + "/api/products/{i}"
    with RequestStream(url) as stream:
        time.sleep(1.0)
        for name in PRIMARIES:
            engine.kill(name)
        assert wait_until(lambda: set(stream.nodes_since(time.monotonic() - 0.5)) == {"api-standby"}, timeout=10)
        for name in PRIMARIES:
            engine.start(name)
        restarted = time.monotonic()
        assert wait_until(lambda: set(stream.nodes_since(time.monotonic() - 0.5)) & set(PRIMARIES), timeout=15)
        time.sleep(1.0)
        back = stream.nodes_since(time.monotonic() - 0.8)
    assert "api-standby" not in back and set(back) <= set(PRIMARIES), back
    assert stream.nodes_since(restarted - 100)["api-standby"] > 0
    # Killing a server cannot lose a GET: the load balancer retries it elsewhere.
    assert stream.failures() == []


def test_web_without_a_reachable_api_answers_a_clear_503_page(engine, everything_running):
    for name in (*PRIMARIES, "api-standby"):
        engine.kill(name)
    assert wait_until(lambda: not healthy_api_servers(engine), timeout=10)
    page = requests.get(everything_running + "/products/1", timeout=15)
    assert page.status_code == 503
    assert "text/html" in page.headers["Content-Type"] and "Traceback" not in page.text
    assert "unavailable" in page.text.lower()
    api = requests.get(everything_running + "/api/products/1", timeout=15)
    assert api.status_code == 503 and set(api.json()) == {"error", "message"}
    assert requests.get(everything_running + "/readyz", timeout=15).status_code == 503


def test_database_restart_is_survived_by_the_api_tier(engine, everything_running):
    pids_before = {name: pid for name, pid in engine.pids("distributed").items() if name.startswith(("api", "web"))}
    engine.kill("db")
    response = requests.get(everything_running + "/api/products/1", timeout=15)
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable"
    engine.start("db")
    assert wait_until(lambda: requests.get(everything_running + "/api/products/1", timeout=15).status_code == 200)
    assert {n: p for n, p in engine.pids("distributed").items() if n in pids_before} == pids_before


@pytest.mark.parametrize(
    "path",
    [
        "/api/products?page=3&per_page=7",
        "/api/products?q=lamp&category=home",
        "/api/products/17",
        "/api/products/17/recommendations",
        "/api/products/999999",
        "/api/products?page=0",
        "/api/categories",
        "/api/orders/99999999",
    ],
)
def test_both_variants_answer_identically(http, monolith_url, distributed_url, path):
    mono, dist = http.get(monolith_url + path), http.get(distributed_url + path)
    assert mono.status_code == dist.status_code
    assert mono.json() == dist.json()
    assert mono.headers["Content-Type"] == dist.headers["Content-Type"]


def test_pages_have_the_same_status_on_both_variants(http, monolith_url, distributed_url):
    for path in (
        "/",
        "/?page=2&category=books",
        "/search?q=desk",
        "/products/5",
        "/products/999999",
        "/cart",
        "/checkout",
        "/orders/99999999",
        "/nowhere",
        "/?page=abc",
    ):
        assert http.get(monolith_url + path).status_code == http.get(distributed_url + path).status_code, path


def test_scaling_up_and_down_under_a_request_stream_loses_nothing(engine, everything_running, cli_env):
    import subprocess
    import sys

    def scale(tier: str, count: int) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "twinshop.cli", "scale", tier, str(count)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    try:
        with (
            RequestStream(everything_running + "/api/products/{i}") as api_stream,
            RequestStream(everything_running + "/products/{i}") as page_stream,
        ):
            assert "+api-4, +api-5" in scale("api", 5)
            grown = time.monotonic()
            assert "+web-3" in scale("web", 3)
            time.sleep(2)
            assert {"api-4", "api-5"} <= set(api_stream.nodes_since(grown))
            assert "-api-3, -api-4, -api-5" in scale("api", 2)
            shrunk = time.monotonic()
            assert "-web-3" in scale("web", 2)
            time.sleep(2)
        assert not {"api-3", "api-4", "api-5"} & set(api_stream.nodes_since(shrunk + 0.5))
        assert api_stream.failures() == [] and page_stream.failures() == []
        assert len(api_stream.results) > 50 and len(page_stream.results) > 20
    finally:
        scale("api", 3)
        scale("web", 2)
    assert {s.name for s in engine.status() if s.variant == "distributed"} >= {
        "api-1",
        "api-2",
        "api-3",
        "web-1",
        "web-2",
    }


def test_scale_refuses_bad_requests(engine, distributed_url):
    from twinshop.engines.base import EngineError

    with pytest.raises(EngineError, match="from 1 to"):
        engine.scale("api", 0)
    with pytest.raises(EngineError, match="only api and web"):
        engine.scale("db", 2)
