"""Fault drills on the real variants: each event type on a short run, a database restart mid-stream,
and a short scaling run. Every test starts again whatever it stopped (the ``restored`` fixture).

The runs are short (about 20 s of load per variant, a few users) so the whole file takes a few
minutes; `twinshop compare --fault ...` runs the same code for a minute or more per variant.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from support import BackgroundLoop

from loadtests.harness import compare, invariants, scaling
from loadtests.records import RequestRecord, read_raw_csv
from loadtests.report.charts import SERIES

TIME_CHARTS = (*SERIES, "cpu")


def quiet(_update) -> None:
    """A progress callback that prints nothing."""


@pytest.fixture
def restored(engine, monolith_url, distributed_url):
    """Both variants fully running before and after the test, whatever the test stopped."""
    for variant in ("monolith", "distributed"):
        compare.restore(engine, variant)
    yield engine
    for variant in ("monolith", "distributed"):
        compare.restore(engine, variant)


def drill(engine, out: Path, spec: str, variants: tuple[str, ...], duration_s: float = 20) -> dict:
    """One round per variant, uncapped (the variants keep running as the session started them)."""
    request = compare.Request(scenario="quick", out_dir=out, duration_s=duration_s, peak_users=10, warmup_s=2,
                              variants=variants, fault=spec, rounds=1, uncapped=True, max_reruns=0, lang="en")
    outcome = compare.run_comparison(engine, request, progress=quiet)
    assert outcome.index.exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["setup"]["faults"] == spec
    for variant in variants:
        summary["variants"][variant].update(summary["variants"][variant]["runs"][0])  # the one run, at the top
    return summary


def assert_markers(summary: dict, variant: str, labels: list[str]) -> None:
    """Every time chart and the variant's served-by chart mark each event where it happened."""
    for slug in (*TIME_CHARTS, f"served_by_{variant}"):
        drawn = {m["label"] for m in summary["charts"][slug]["markers"] if m["variant"] == variant}
        assert drawn == set(labels), (slug, drawn)


def assert_invariants_held(summary: dict, variant: str) -> None:
    checked = summary["variants"][variant]["invariants"]
    assert checked is not None and checked["ok"], checked
    assert {c["name"] for c in checked["checks"]} >= {
        "accepted orders exist exactly once",
        "no stock below zero",
        "no Idempotency-Key with two orders",
        "stock adds up",
    }


def records_of(out: Path, variant: str) -> tuple[list[RequestRecord], float]:
    data = out / "data" / variant / "round-1"
    start = json.loads((data / "requests.meta.json").read_text())["start_time"]
    return read_raw_csv(data / "requests.csv"), start


def served_between(records, start: float, begin: float, end: float) -> set[str]:
    """Nodes that served the successful requests SENT in [begin, end) seconds after the start.

    By send time, not finish time: a page sent just before a kill may call a primary, then the
    standby, and finish a second later still naming both.
    """
    return {
        node
        for r in records
        if r.success and begin <= r.timestamp - start < end
        for node in r.served_by.split(",")
        if node
    }


def test_killing_and_starting_an_api_replica(restored, tmp_path: Path):
    summary = drill(restored, tmp_path, "kill:api-1@6s,start:api-1@12s", ("distributed",))
    run = summary["variants"]["distributed"]
    assert [e["outcome"] for e in run["events"]] == ["kill api-1", "start api-1"]
    assert_markers(summary, "distributed", ["kill:api-1@6s", "start:api-1@12s"])
    assert_invariants_held(summary, "distributed")
    (target,) = run["targets"]
    assert "1 of 3 replicas" in target["measured"], target
    # The target is <= 0.5 %: GETs and not-yet-delivered POSTs are retried elsewhere; only a POST caught
    # inside api-1 as it stopped could fail, and a 6-second window of a short run holds ~150 requests.
    assert run["impacts"][0]["until_next"]["failures"] <= 1, run["impacts"][0]
    records, start = records_of(tmp_path, "distributed")
    assert "api-1" not in served_between(records, start, 8, 12)  # out of HAProxy within ~2 s
    assert "api-1" in served_between(records, start, 15, 20)  # back in rotation after `start`
    assert all(i["recovered"] for i in run["impacts"])


def test_killing_every_primary_brings_the_standby_in_and_starting_them_sends_it_back(restored, tmp_path: Path):
    summary = drill(restored, tmp_path, "kill-all-primaries:api@6s,start-all-primaries:api@12s", ("distributed",))
    run = summary["variants"]["distributed"]
    assert run["events"][0]["services"] == ["api-1", "api-2", "api-3"]
    assert_markers(summary, "distributed", ["kill-all-primaries:api@6s", "start-all-primaries:api@12s"])
    assert_invariants_held(summary, "distributed")
    joined = run["nodes_first_seen_s"]["api-standby"]
    assert 6 <= joined <= 9  # the standby joins once every primary has stopped (they are stopped together)
    records, start = records_of(tmp_path, "distributed")
    assert served_between(records, start, joined + 1, 12) & {"api-1", "api-2", "api-3", "api-standby"} == {
        "api-standby"
    }
    assert "api-standby" not in served_between(records, start, 16, 20)  # the primaries are back
    assert run["whole_run"]["availability"] >= 99.0
    assert all(i["recovered"] for i in run["impacts"])


def test_a_database_restart_is_recovered_by_every_service_on_both_variants(restored, tmp_path: Path):
    summary = drill(restored, tmp_path, "kill:db@6s,start:db@11s", ("monolith", "distributed"), duration_s=22)
    for variant in ("monolith", "distributed"):
        run = summary["variants"][variant]
        assert_markers(summary, variant, ["kill:db@6s", "start:db@11s"])
        assert_invariants_held(summary, variant)
        kill, start = run["impacts"]
        assert kill["impact"] and kill["after"]["availability"] < 90  # the database really went away
        assert start["recovered"] and start["recovery_s"] <= 10, start  # every service found it again by itself
        (target,) = run["targets"]
        assert target["met"] is True, target  # no application process restarted
        apps = {n: p for n, p in run["pids_before"].items() if n not in ("db", "monolith:mariadb")}
        assert apps and all(run["pids_after"][n] == p for n, p in apps.items())


def test_killing_and_starting_the_monolith_box(restored, tmp_path: Path):
    summary = drill(restored, tmp_path, "kill:monolith@5s,start:monolith@10s", ("monolith",), duration_s=18)
    run = summary["variants"]["monolith"]
    assert [e["services"] for e in run["events"]] == [["monolith"], ["monolith"]]
    assert_markers(summary, "monolith", ["kill:monolith@5s", "start:monolith@10s"])
    assert_invariants_held(summary, "monolith")
    kill, start = run["impacts"]
    assert kill["until_next"]["availability"] < 50 and not kill["recovered"]  # the whole shop is down until start
    assert start["recovered"], start  # and answers again after `start`
    assert run["outages"] and run["outages"][0]["from_s"] in (4, 5, 6)


def test_a_crashed_monolith_is_restarted_by_supervisord_and_the_downtime_reported(restored, tmp_path: Path):
    summary = drill(restored, tmp_path, "crash:monolith@6s", ("monolith",), duration_s=16)
    run = summary["variants"]["monolith"]
    assert run["events"][0]["services"] == ["monolith:gunicorn"]
    assert_markers(summary, "monolith", ["crash:monolith@6s"])
    assert_invariants_held(summary, "monolith")
    (target,) = run["targets"]
    assert target["met"] is True and "downtime" in target["measured"], target
    assert run["pids_after"]["monolith:gunicorn"] != run["pids_before"]["monolith:gunicorn"]
    assert run["restored"] == []  # nobody had to start it by hand


class OrderStream(BackgroundLoop):
    """Places an order and reads a product in a loop (one thread), recording every outcome."""

    pause = 0.02

    def __init__(self, url: str):
        super().__init__(max_seconds=120)
        self.url = url
        self.accepted: list[int] = []
        self.outcomes: list[tuple[float, int | str]] = []

    def step(self, session: requests.Session, i: int) -> None:
        response = session.post(
            f"{self.url}/api/orders",
            json={"email": "drill@example.com", "items": [{"product_id": 1 + i % 400, "quantity": 1}]},
            headers={"Idempotency-Key": f"drill-{uuid.uuid4()}"},
            timeout=10,
        )
        if response.status_code == 201:
            self.accepted.append(response.json()["id"])
        self.outcomes.append((time.monotonic(), response.status_code))
        read = session.get(f"{self.url}/api/products/{1 + i % 4000}", timeout=10)
        self.outcomes.append((time.monotonic(), read.status_code))

    def failed(self, exc: requests.RequestException) -> None:
        self.outcomes.append((time.monotonic(), type(exc).__name__))

    def succeeded_since(self, moment: float) -> int:
        return sum(1 for t, status in self.outcomes if t >= moment and status in (200, 201))


@pytest.mark.parametrize("variant", ["monolith", "distributed"])
def test_database_restart_mid_stream_loses_no_committed_order_and_restarts_no_service(restored, variant):
    engine = restored
    db = "monolith:mariadb" if variant == "monolith" else "db"
    apps_before = {n: p for n, p in engine.pids(variant).items() if n != db}
    assert apps_before
    url = engine.entry_url(variant)
    try:
        with OrderStream(url) as stream:
            time.sleep(2)
            committed_before = len(stream.accepted)
            engine.kill(db)
            time.sleep(2)
            failing = [s for t, s in stream.outcomes[-10:]]
            engine.start(db)
            restarted = time.monotonic()
            deadline = restarted + 20
            while stream.succeeded_since(restarted) < 10 and time.monotonic() < deadline:
                time.sleep(0.2)
            recovered = stream.succeeded_since(restarted)
    finally:
        engine.start(db)
    assert committed_before > 0 and any(s not in (200, 201) for s in failing), failing  # it was really down
    assert recovered >= 10, "the stream did not succeed again after the database came back"
    assert {n: p for n, p in engine.pids(variant).items() if n != db} == apps_before  # no service restarted
    checked = invariants.check(engine, variant, [RequestRecord(0, "POST", "/api/orders", 1, True, 201, order_id=i)
                                                 for i in stream.accepted])  # fmt: skip
    assert checked.ok, checked.violations()  # every committed order is still there
    assert len(stream.accepted) > committed_before


def test_the_invariant_check_finds_an_accepted_order_that_is_not_in_the_database(engine, monolith_url):
    ghost = RequestRecord(0, "POST", "/api/orders", 1, True, 201, order_id=987_654_321)
    checked = invariants.check(engine, "monolith", [ghost])
    assert not checked.ok
    assert "1 of 1 accepted orders are not in the database: 987654321" in checked.violations()[0]


def test_a_short_scaling_run_measures_both_variants_at_each_step(restored, tmp_path: Path):
    index = scaling.run_scaling(restored, out_dir=tmp_path, steps=(1, 2), duration_s=8, warmup_s=1, rounds=1,
                                users=6, lang="en", progress=quiet)  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    points = {(p["variant"], p["n"]): p for p in summary["points"]}
    assert set(points) == {("monolith", 1), ("monolith", 2), ("distributed", 1), ("distributed", 2)}
    for p in points.values():
        assert p["rps"] > 0 and p["p95_ms"] is not None and p["cpus"] == pytest.approx(0.4 * p["n"])
        assert p["failures"] == 0, p
    records = read_raw_csv(tmp_path / "data" / "step-2" / "distributed" / "round-1" / "requests.csv")
    assert {r.name for r in records} == {"/api/products/[id]/recommendations", "/api/products/[id]"}
    assert {r.served_by for r in records} == {"api-1", "api-2"}  # two replicas at n=2
    page = index.read_text()
    assert "twinshop up monolith --workers 2 --cpus 0.8" in page and "Every CPU cap used" in page
    # the variants came back as they were (the distributed one with its standby)
    assert restored.options("distributed").standby and restored.options("distributed").api == 3
