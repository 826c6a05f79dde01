"""Fault drills of the order events on the real variants (short runs, few users): the mail server down on
both, then the broker, a mailer and a slow mail server; the invariants - every order mailed exactly once
and counted once, after the backlog drained - must hold after each."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_live_drills import assert_invariants_held, drill

from loadtests.analysis.events import MAIL_OUTAGE, SLOW_MAIL
from loadtests.harness import compare

EVENT_CHECKS = {"every order mailed exactly once", "every order counted once in the sales figures",
                "sales figures add up"}  # fmt: skip


@pytest.fixture
def running(engine, monolith_url, distributed_url):
    """Both variants fully running before and after the test, whatever the test stopped."""
    for variant in ("monolith", "distributed"):
        compare.restore(engine, variant)
    yield engine
    for variant in ("monolith", "distributed"):
        compare.restore(engine, variant)


def assert_events_held(summary: dict, variant: str) -> None:
    assert_invariants_held(summary, variant)
    checks = {c["name"]: c for c in summary["variants"][variant]["invariants"]["checks"]}
    assert EVENT_CHECKS <= set(checks), checks
    drain = summary["variants"][variant]["drain"]
    assert drain["drained"], drain


def test_the_mail_server_down_fails_the_monolith_checkouts_and_queues_the_distributed_mails(running, tmp_path: Path):
    summary = drill(running, tmp_path, "kill:mail@5s,start:mail@12s", ("monolith", "distributed"), duration_s=22)
    for variant in ("monolith", "distributed"):
        run = summary["variants"][variant]
        assert [e["outcome"] for e in run["events"]] == ["kill mail", "start mail"]
        assert_events_held(summary, variant)
    assert summary["charts"]["events_backlog"]["markers"]  # the events are drawn on the backlog chart
    (monolith,) = [t for t in summary["variants"]["monolith"]["targets"] if t["name"] == MAIL_OUTAGE]
    assert monolith["met"] is None and "checkouts failed while the mail server was down" in monolith["measured"]
    (distributed,) = [t for t in summary["variants"]["distributed"]["targets"] if t["name"] == MAIL_OUTAGE]
    assert distributed["met"] is True, distributed  # no checkout failed; the backlog drained in time
    assert summary["variants"]["distributed"]["order_events"]["has_broker"]
    assert {"queue_depth", "consume_rate"} <= set(summary["charts"])


def test_the_broker_a_mailer_and_a_slow_mail_server(running, tmp_path: Path):
    spec = "kill:mailer-1@4s,kill:broker@6s,start:broker@11s,slow:mail@13s,fast:mail@16s"
    summary = drill(running, tmp_path, spec, ("monolith", "distributed"), duration_s=22)
    monolith = {e["label"]: e for e in summary["variants"]["monolith"]["events"]}
    for label in ("kill:mailer-1@4s", "kill:broker@6s", "start:broker@11s"):
        assert "mails and counts inline" in monolith[label]["skipped"]  # no broker in the monolith
    assert monolith["slow:mail@13s"]["outcome"] == "slow mail"
    distributed = {e["label"]: e for e in summary["variants"]["distributed"]["events"]}
    assert [distributed[e]["outcome"] for e in ("kill:mailer-1@4s", "kill:broker@6s", "start:broker@11s")] == [
        "kill mailer-1", "kill broker", "start broker"]  # fmt: skip
    for variant in ("monolith", "distributed"):
        assert_events_held(summary, variant)
        assert any(t["name"] == SLOW_MAIL for t in summary["variants"][variant]["targets"])
        assert "mail (delay)" not in summary["variants"][variant]["restored"]  # fast:mail already set it back
    assert "mailer-1" in summary["variants"]["distributed"]["restored"]  # started again after the run
