"""Parsing fault specifications and mapping them onto each variant."""

from __future__ import annotations

import pytest

from loadtests.faults import FaultEvent, FaultSpecError, parse, parse_time, resolve


def test_parse_orders_events_by_time():
    events = parse("start:db@45s, kill:db@30s")
    assert events == [FaultEvent("kill", "db", 30.0), FaultEvent("start", "db", 45.0)]
    assert parse("kill-all-primaries:api@1m5s")[0].at_s == 65.0


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("45", 45), ("1m", 60), ("1m30s", 90), ("2.5s", 2.5)])
def test_parse_time(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "no event"),
        ("kill api-1@30s", "ACTION:TARGET@TIME"),
        ("kill:api-1", "ACTION:TARGET@TIME"),
        ("explode:api-1@30s", "action 'explode'"),
        ("kill:API 1@30s", "not a service name"),
        ("kill:api-1@soon", "time 'soon'"),
        ("kill-all-primaries:web@3s", "takes the target api"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        parse(spec)


@pytest.mark.parametrize(
    "spec, monolith, distributed",
    [
        ("kill:api-1@1s", ("kill", ("monolith",)), ("kill", ("api-1",))),
        ("start:api-1@1s", ("start", ("monolith",)), ("start", ("api-1",))),
        ("kill:db@1s", ("kill", ("monolith:mariadb",)), ("kill", ("db",))),
        ("crash:api-2@1s", ("crash", ("monolith:gunicorn",)), ("crash", ("api-2",))),
        ("kill-all-primaries:api@1s", ("kill", ("monolith",)), ("kill", ("api-1", "api-2", "api-3"))),
    ],
)
def test_events_map_onto_both_variants(spec, monolith, distributed):
    event = parse(spec)[0]
    assert resolve(event, "monolith", api_replicas=3)[:2] == monolith
    assert resolve(event, "distributed", api_replicas=3)[:2] == distributed


def test_monolith_events_are_skipped_on_the_distributed_variant():
    action, services, skipped = resolve(parse("kill:monolith@1s")[0], "distributed", api_replicas=3)
    assert services == () and "no monolith" in skipped
