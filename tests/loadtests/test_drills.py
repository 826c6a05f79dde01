"""Fault drills without a shop: the --fault grammar, its check against the topology, how events map onto
each variant, and the analysis of what they did (availability, recovery, outages, who served, targets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests import drills
from loadtests.analysis import stats
from loadtests.drills import (
    AppliedEvent,
    FaultEvent,
    FaultSpecError,
    check_targets,
    check_times,
    parse,
    parse_time,
    resolve,
)
from loadtests.harness import invariants
from loadtests.records import RequestRecord, read_raw_csv, write_raw_csv
from loadtests.visitors.checks import accepted_order_id

# -- the grammar -----------------------------------------------------------------------------------


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


SERVICES = {
    "monolith": ["monolith:mariadb", "monolith:gunicorn"],
    "distributed": ["db", "api-1", "api-2", "api-3", "web-1", "web-2", "lb"],
}


@pytest.mark.parametrize("spec", ["kill:api-3@1s", "kill:web-2@1s", "crash:monolith:gunicorn@1s", "kill:db@1s",
                                  "kill:monolith@1s", "kill-all-primaries:api@1s", "kill:lb@1s"])  # fmt: skip
def test_targets_of_either_variant_are_accepted(spec):
    check_targets(parse(spec), SERVICES)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("kill:api-9@5s", "there is no service 'api-9' (this run has api-1, api-2, api-3)"),
        ("kill:web-3@5s", "there is no service 'web-3' (this run has web-1, web-2)"),
        ("kill:api-standby@5s", "there is no service 'api-standby'"),
        ("kill:cache@5s", "there is no service 'cache' (services: "),
    ],
)
def test_a_target_no_variant_has_is_refused_before_anything_starts(spec, message):
    with pytest.raises(FaultSpecError) as info:
        check_targets(parse(spec), SERVICES)
    assert message in str(info.value)


def test_fault_times_after_the_end_of_the_run_are_refused_up_front():
    with pytest.raises(FaultSpecError, match="start:api-1@90s would happen after the end of the 60-second run"):
        check_times(parse("kill:api-1@30s,start:api-1@90s"), 60)
    check_times(parse("start:db@20s,kill:db@10s"), 60)


# -- the analysis ----------------------------------------------------------------------------------

START = 1_700_000_000.0


def second(t: int, requests: int, failures: int = 0, users: int | None = 10) -> stats.Second:
    return stats.Second(t=t, requests=requests, failures=failures, p50=1.0, p95=1.0, p99=1.0, users=users)


def event(label: str, at: float, *, action: str = "kill", services=("api-1",), skipped=None) -> drills.RunEvent:
    target = label.split(":")[1].split("@")[0]
    return drills.RunEvent(label, action, target, at, None if skipped else at, tuple(services), skipped=skipped)


def records_from(series: list[stats.Second], *, served_by: str = "api-1") -> list[RequestRecord]:
    """Requests finishing mid-second, failures first; a failure got no answer (status 0)."""
    out = []
    for s in series:
        for i in range(s.requests):
            ok = i >= s.failures
            out.append(
                RequestRecord(
                    timestamp=START + s.t + 0.5,
                    method="GET",
                    name="/",
                    response_time_ms=1.0,
                    success=ok,
                    status=200 if ok else 0,
                    served_by=served_by if ok else "",
                )
            )
    return out


# -- health, recovery, outages -----------------------------------------------------------------


def test_a_second_is_healthy_at_99_percent_and_empty_seconds_with_users_are_not():
    assert drills.healthy(second(0, 100, 1))  # 99 % exactly
    assert not drills.healthy(second(0, 100, 2))
    assert not drills.healthy(second(0, 0))
    # an empty second with nobody running is not judged at all
    assert drills.health_by_second([second(0, 0, users=0), second(1, 0, users=5)]) == [None, False]


def test_recovery_runs_from_the_event_to_the_first_of_three_healthy_seconds():
    # healthy 0-9, failing 10-13, healthy from 14: the kill at 10.3 s recovers at 14 -> 3.7 s
    series = [second(t, 20, 20 if 10 <= t <= 13 else 0) for t in range(30)]
    found = drills.impacts(records_from(series), series, [event("kill:db@10s", 10.3)], start=START, duration_s=30)
    (impact,) = found
    assert impact.first_unhealthy_s == 10 and impact.unhealthy_seconds == 4
    assert impact.recovery_s == pytest.approx(3.7)
    assert impact.recovery_text() == "4 s"
    assert impact.before.availability == 100.0 and impact.after.failures == 80
    assert impact.failing_from_s == pytest.approx(10.5, abs=0.01) and impact.failing_to_s == pytest.approx(
        13.5, abs=0.01
    )


def test_a_single_healthy_second_is_not_a_recovery_and_the_next_event_closes_the_window():
    # failing 5-9 except a lone healthy second 7; the start at 12 comes before three healthy seconds in a row
    bad = {5, 6, 8, 9, 10, 11, 12}
    series = [second(t, 10, 10 if t in bad else 0) for t in range(25)]
    events = [event("kill:db@5s", 5.0), event("start:db@12s", 12.0, action="start", services=("db",))]
    kill, start = drills.impacts(records_from(series), series, events, start=START, duration_s=25)
    assert not kill.recovered and kill.recovery_text() == "not recovered before start:db@12s"
    assert kill.until_next.to_s == 12.0
    assert start.recovered and start.recovery_s == 1.0  # healthy again from 13


def test_an_event_without_impact_recovers_in_zero_seconds():
    series = [second(t, 10) for t in range(20)]
    (impact,) = drills.impacts([], series, [event("kill:api-1@5s", 5.0)], start=START, duration_s=20)
    assert not impact.impact and impact.recovery_s == 0.0 and impact.recovery_text() == "no visible impact"


def test_skipped_events_have_no_impact_and_no_marker():
    series = [second(t, 10) for t in range(20)]
    skipped = event("kill:monolith@5s", 5.0, skipped="the distributed variant has no monolith")
    assert not skipped.happened
    assert drills.impacts([], series, [skipped], start=START, duration_s=20) == []


def test_outages_merge_across_short_healthy_gaps():
    bad = {3, 4, 6, 12}
    series = [second(t, 10, 10 if t in bad else 0) for t in range(20)]
    assert [(o.from_s, o.to_s, o.failures) for o in drills.outages(series)] == [(3, 7, 30), (12, 13, 10)]


def test_run_events_keep_skips_and_say_which_events_the_run_never_reached():
    kill, late = FaultEvent("kill", "api-1", 5.0), FaultEvent("start", "api-1", 50.0)
    applied = [AppliedEvent(kill, "distributed", ("api-1",), "kill", applied_at=START + 5.01)]
    found = drills.run_events(applied, [kill, late], start_time=START, variant="distributed")
    assert [e.label for e in found] == ["kill:api-1@5s", "start:api-1@50s"]
    assert found[0].happened and found[0].applied_s == pytest.approx(5.01)
    assert not found[1].happened and "ended before 50 s" in found[1].outcome


# -- who served the traffic -----------------------------------------------------------------------


def test_node_series_counts_successes_per_node_and_failures_apart():
    records = [
        RequestRecord(START + 0.1, "GET", "/", 5, True, 200, served_by="web-1,api-2"),
        RequestRecord(START + 0.2, "GET", "/", 5, True, 200, served_by="api-standby"),
        RequestRecord(START + 1.1, "GET", "/", 5, False, 503, served_by="lb", error="status 503"),
        RequestRecord(START + 1.2, "GET", "/", 5, False, 0, error="refused"),
    ]
    nodes = drills.node_series(records, start=START, seconds=2)
    assert nodes.nodes == {"web-1": [1, 0], "api-2": [1, 0], "api-standby": [1, 0]}
    assert nodes.errors == [0, 1] and nodes.failed == [0, 1]
    assert nodes.tiers() == {"web": ["web-1"], "api": ["api-2", "api-standby"]}
    assert drills.first_seen(nodes, "api-standby") == 0


# -- targets -----------------------------------------------------------------------------------------


def impact_with(ev: drills.RunEvent, *, requests: int, failures: int, recovered: bool = True) -> drills.Impact:
    w = drills.Window(ev.applied_s, ev.applied_s + 20, requests, failures)
    return drills.Impact(
        event=ev,
        before=w,
        after=w,
        until_next=w,
        next_label=None,
        first_unhealthy_s=ev.applied_s if failures else None,
        recovery_s=1.0 if recovered else None,
        unhealthy_seconds=1 if failures else 0,
    )


@pytest.mark.parametrize("failures, met", [(5, True), (6, False)])
def test_killing_one_api_replica_may_cost_half_a_percent(failures: int, met: bool):
    found = [impact_with(event("kill:api-1@5s", 5.0), requests=1000, failures=failures)]
    (target,) = drills.targets("distributed", found, api_replicas=3, pids_before={}, pids_after={})
    assert target.name == drills.KILL_ONE_API and target.met is met and "1 of 3" in target.measured


def test_a_database_restart_target_fails_when_a_service_restarted():
    kill = impact_with(event("kill:db@5s", 5.0, services=("db",)), requests=100, failures=50, recovered=False)
    start = impact_with(event("start:db@9s", 9.0, action="start", services=("db",)), requests=100, failures=5)
    before = {"db": 1, "api-1": 2, "web-1": 3}
    ok = drills.targets(
        "distributed", [kill, start], api_replicas=3, pids_before=before, pids_after={**before, "db": 9}
    )
    assert [t.met for t in ok] == [True]
    bad = drills.targets(
        "distributed", [kill, start], api_replicas=3, pids_before=before, pids_after={"db": 9, "api-1": 7, "web-1": 3}
    )
    assert [t.met for t in bad] == [False] and "restarted: api-1" in bad[0].measured


def test_a_crash_target_needs_a_new_gunicorn_pid_and_a_recovery():
    crash = impact_with(event("crash:monolith@5s", 5.0, action="crash", services=("monolith:gunicorn",)), requests=50,
                        failures=3)  # fmt: skip
    before = {"monolith:mariadb": 1, "monolith:gunicorn": 2}
    (met,) = drills.targets(
        "monolith", [crash], api_replicas=None, pids_before=before, pids_after={**before, "monolith:gunicorn": 5}
    )
    (missed,) = drills.targets("monolith", [crash], api_replicas=None, pids_before=before, pids_after=before)
    assert met.met is True and "2 -> 5" in met.measured and "downtime 1 s" in met.measured
    assert missed.met is False


# -- order ids and invariants (the parts that need no database) -------------------------------------


@pytest.mark.parametrize(
    "method, status, location, expected",
    [
        ("POST", 201, "/api/orders/42", 42),
        ("POST", 303, "http://127.0.0.1:8001/orders/7", 7),
        ("POST", 303, "/cart", None),  # add-to-cart: no order
        ("POST", 409, "", None),
        ("GET", 200, "/orders/3", None),
    ],
)
def test_the_recorder_keeps_the_id_of_every_accepted_order(method, status, location, expected):
    assert accepted_order_id(method, status, {"Location": location}) == expected


def test_replays_may_return_an_order_again_but_two_new_orders_may_not_share_an_id():
    records = [
        RequestRecord(START, "POST", "/api/orders", 1, True, 201, order_id=1),
        RequestRecord(START, "POST", "/api/orders (replay)", 1, True, 201, order_id=1),
        RequestRecord(START, "POST", "/checkout", 1, True, 303, order_id=2),
        RequestRecord(START, "POST", "/api/orders", 1, True, 201, order_id=2),
    ]
    ids, reused = invariants.accepted_orders(records)
    assert ids == {1, 2} and reused == {2: 2}


def test_the_order_id_column_survives_the_raw_csv(tmp_path: Path):
    records = [
        RequestRecord(START, "POST", "/api/orders", 1, True, 201, order_id=12),
        RequestRecord(START + 1, "GET", "/", 1, True, 200),
    ]
    write_raw_csv(tmp_path / "r.csv", records)
    assert [r.order_id for r in read_raw_csv(tmp_path / "r.csv")] == [12, None]


# -- node faults (the swarm engine) ------------------------------------------------------------------

NODES = ["node-1", "node-2", "node-3"]


def test_node_events_parse_and_map_onto_both_variants():
    kill, start = parse("kill-node:node-2@30s,start-node:node-2@60s")
    assert resolve(kill, "distributed", api_replicas=3)[:2] == ("kill-node", ("node-2",))
    assert resolve(start, "distributed", api_replicas=3)[:2] == ("start-node", ("node-2",))
    # The monolith has one machine: a node fault stops the whole box, and the box comes back with it.
    assert resolve(kill, "monolith", api_replicas=3)[:2] == ("kill", ("monolith",))
    assert resolve(start, "monolith", api_replicas=3)[:2] == ("start", ("monolith",))
    cut, heal = parse("partition:node-3@30s,heal:node-3@50s")
    assert resolve(cut, "distributed", api_replicas=3)[:2] == ("partition", ("node-3",))
    assert resolve(cut, "monolith", api_replicas=3)[:2] == ("kill", ("monolith",))
    assert resolve(heal, "monolith", api_replicas=3)[:2] == ("start", ("monolith",))


@pytest.mark.parametrize(
    "spec, nodes, message",
    [
        ("kill-node:api-1@5s", NODES, "takes a node of the Swarm"),
        ("kill-node:node-2@5s", [], "node faults need the distributed variant on a Swarm: `twinshop cluster up"),
        ("kill-node:node-5@5s", NODES, "there is no node 'node-5' (the cluster has node-1, node-2, node-3)"),
        ("kill-node:node-1@5s", NODES, "node-1 is the manager and holds the load balancer and the database; pick a "
                                       "worker (node-2, node-3)"),
        ("partition:node-1@5s", NODES, "node-1 is the manager"),
    ],
)  # fmt: skip
def test_node_events_are_checked_against_the_cluster_before_anything_starts(spec, nodes, message):
    with pytest.raises(FaultSpecError) as info:
        check_targets(parse(spec), SERVICES, nodes=nodes)
    assert message in str(info.value)
    check_targets(parse("kill-node:node-2@5s,start-node:node-2@9s,heal:node-1@9s"), SERVICES, nodes=NODES)


def test_the_drill_calls_the_engines_node_methods(tmp_path):
    class Engine:
        def __init__(self):
            self.calls = []

        def kill_node(self, name):
            self.calls.append(("kill_node", name))

        def kill(self, name, *, variant=None):
            self.calls.append(("kill", name, variant))

    engine = Engine()
    drill = drills.Drill(engine, "distributed", [], meta_path=tmp_path / "m", log_path=tmp_path / "log", api_replicas=3)
    applied = drill.apply(parse("kill-node:node-2@1s")[0])
    box = drills.Drill(engine, "monolith", [], meta_path=tmp_path / "m", log_path=tmp_path / "log2", api_replicas=3)
    box.apply(parse("kill-node:node-2@1s")[0])
    assert engine.calls == [("kill_node", "node-2"), ("kill", "monolith", "monolith")]
    assert applied.action == "kill-node" and applied.services == ("node-2",) and applied.error is None
    drill.stop(), box.stop()


def swarm_series() -> drills.NodeSeries:
    """api-2 and web-2 on node-2 until second 30 (the kill), back on node-3 from second 41 and 44."""
    zeros = [0] * 60
    on = lambda a, b: [1 if a <= t < b else 0 for t in range(60)]  # noqa: E731
    return drills.NodeSeries(seconds=60, nodes={
        "api-1@node-1": on(0, 60), "api-2@node-2": on(0, 30), "api-2@node-3": on(41, 60), "api-3@node-3": on(0, 60),
        "web-1@node-1": on(0, 60), "web-2@node-2": on(0, 31), "web-2@node-3": on(44, 60),
    }, errors=zeros, failed=zeros)  # fmt: skip


def test_tasks_of_a_lost_node_and_when_they_served_again_elsewhere():
    series = swarm_series()
    assert drills.moved_tasks(series, "node-2", 30.2) == {"web-2": pytest.approx(14.8), "api-2": pytest.approx(11.8)}
    assert drills.moved_tasks(series, "node-1", 30.2) == {"web-1": None, "api-1": None}  # never elsewhere
    machines = series.machines()
    assert list(machines) == ["api", "web"] or set(machines) == {"api", "web"}
    assert list(machines["api"]) == ["node-1", "node-2", "node-3"]
    assert machines["api"]["node-3"][50] == 2 and machines["api"]["node-2"][50] == 0
    assert series.tiers()["api"] == ["api-1@node-1", "api-2@node-2", "api-2@node-3", "api-3@node-3"]


@pytest.mark.parametrize("failures, met", [(20, True), (21, False)])
def test_killing_one_node_may_cost_two_percent_and_its_tasks_must_move_within_40_s(failures, met):
    kill = impact_with(event("kill-node:node-2@30s", 30.2, action="kill-node", services=("node-2",)), requests=1000,
                       failures=failures)  # fmt: skip
    (target,) = drills.targets("distributed", [kill], api_replicas=3, pids_before={}, pids_after={},
                               nodes=swarm_series())  # fmt: skip
    assert target.name == drills.KILL_ONE_NODE and target.met is met
    assert "web-2 15 s" in target.measured and "api-2 12 s" in target.measured
    box = impact_with(event("kill-node:node-2@30s", 30.2, action="kill", services=("monolith",)), requests=100,
                      failures=60)  # fmt: skip
    (mono,) = drills.targets("monolith", [box], api_replicas=None, pids_before={}, pids_after={})
    assert mono.met is None and "whole box" in mono.measured


def test_a_task_that_never_serves_again_misses_the_node_target():
    series = swarm_series()
    series.nodes["api-2@node-3"] = [0] * 60
    kill = impact_with(event("partition:node-2@30s", 30.2, action="partition", services=("node-2",)), requests=1000,
                       failures=0)  # fmt: skip
    (target,) = drills.targets("distributed", [kill], api_replicas=3, pids_before={}, pids_after={}, nodes=series)
    assert target.name == drills.PARTITION_ONE_NODE and target.met is False and "api-2 not again" in target.measured
