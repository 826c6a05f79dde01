"""The fault-drill and scaling analysis on synthetic runs small enough to check by hand (no shop needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import compare, drills, invariants, report, scaling, stats
from loadtests.checks import accepted_order_id
from loadtests.faults import AppliedEvent, FaultEvent
from loadtests.scenarios import get_scenario
from loadtests.stats import RequestRecord, VariantRun

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
    stats.write_raw_csv(tmp_path / "r.csv", records)
    assert [r.order_id for r in stats.read_raw_csv(tmp_path / "r.csv")] == [12, None]


# -- the report of a fault drill -----------------------------------------------------------------------


def drill_run(variant: str, *, broken_invariant: bool = False) -> VariantRun:
    """30 s, 10 users, 10 requests/s; a kill at 10 s, a start at 20 s; the monolith fails in between."""
    scenario = get_scenario("quick", duration_s=30, peak_users=10)
    records = []
    for t in range(30):
        for i in range(10):
            down = variant == "monolith" and 10 <= t < 21
            node = "monolith" if variant == "monolith" else f"web-1,api-{1 + (i % 2) + (2 if 10 <= t < 20 else 0)}"
            if variant == "distributed" and 10 <= t < 20:
                node = "web-1,api-standby"
            records.append(
                RequestRecord(
                    START + t + i / 10,
                    "GET",
                    "/",
                    3.0,
                    not down,
                    0 if down else 200,
                    served_by="" if down else node,
                    error="refused" if down else "",
                )  # fmt: skip
            )
    target = "monolith" if variant == "monolith" else "api-1"
    services = ("monolith",) if variant == "monolith" else ("api-1", "api-2")
    events = [
        drills.RunEvent("kill-all-primaries:api@10s", "kill", "api", 10.0, 10.02, services),
        drills.RunEvent("start-all-primaries:api@20s", "start", "api", 20.0, 20.01, services),
    ]
    if variant == "distributed":
        events.append(drills.RunEvent("crash:monolith@25s", "crash", "monolith", 25.0, None, (), skipped="no monolith"))
    checked = invariants.Invariants(variant)
    checked.checks.append(invariants.Check("no stock below zero", not broken_invariant, "3 products below zero"))
    assert target
    return VariantRun(
        variant=variant,
        url="http://127.0.0.1:1",
        scenario=scenario,
        start_time=START,
        end_time=START + 30,
        records=records,
        users=[(float(t), 10) for t in range(31)],
        cpu=[(t + 0.01, "app", 10.0) for t in range(31)],
        services={"app": 1},
        events=events,
        invariants=checked,
    )


@pytest.fixture(scope="module")
def drill_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("drill")
    runs = [drill_run("monolith"), drill_run("distributed", broken_invariant=True)]
    setting = report.Fairness(
        scenario=runs[0].scenario, seed=1, warmup_s=0, reset=True, cpu_caps=None,
        machine={"logical_cores": 2}, locust_version="test",
        fault_spec="kill-all-primaries:api@10s,start-all-primaries:api@20s",
    )  # fmt: skip
    return report.write_report(out, runs, setting)


def test_every_chart_of_a_drill_report_carries_the_event_markers(drill_report: Path):
    summary = json.loads((drill_report.parent / "summary.json").read_text())
    time_charts = [slug for slug, *_ in report.CHARTS]
    assert set(summary["charts"]) == {*time_charts, "served_by_monolith", "served_by_distributed"}
    for slug, chart in summary["charts"].items():
        labels = {(m["variant"], m["label"]) for m in chart["markers"]}
        variants = ("monolith", "distributed") if slug in time_charts else (slug.removeprefix("served_by_"),)
        for variant in variants:
            assert (variant, "kill-all-primaries:api@10s") in labels, slug
            assert (variant, "start-all-primaries:api@20s") in labels, slug
        assert not any(m["label"].startswith("crash:") for m in chart["markers"]), "a skipped event has no marker"


def test_a_drill_report_has_availability_recovery_events_and_invariants(drill_report: Path):
    summary = json.loads((drill_report.parent / "summary.json").read_text())
    mono, dist = summary["variants"]["monolith"], summary["variants"]["distributed"]
    kill, start = mono["impacts"]
    assert kill["after"]["availability"] == 0.0 and kill["recovery"].startswith("not recovered before start")
    assert start["recovery_s"] == pytest.approx(0.99, abs=0.02)  # healthy again from second 21
    assert mono["outages"] == [{"from_s": 10, "to_s": 21, "duration_s": 11, "failures": 110}]
    assert dist["impacts"][0]["recovery"] == "no visible impact"
    assert dist["nodes_first_seen_s"]["api-standby"] == 10
    assert [e["outcome"] for e in dist["events"]][-1] == "skipped: no monolith"
    assert summary["invariants_ok"] is False
    page = drill_report.read_text()
    expected = (
        "Fault drill: kill-all-primaries",
        "Availability around each event",
        "time to recover",
        "skipped: no monolith",
        "INVARIANT VIOLATED on the distributed variant",
        "3 products below zero",
    )
    for text in expected:
        assert text in page, text


def test_a_violated_invariant_fails_the_comparison_after_the_report_is_written(monkeypatch, tmp_path: Path):
    class Engine:
        def entry_url(self, variant):
            return "http://127.0.0.1:9"

        def options(self, variant):
            return None

    def fake_measure(engine, variant, **kwargs):
        return drill_run(variant, broken_invariant=variant == "distributed")

    monkeypatch.setattr(compare, "measure_variant", fake_measure)
    with pytest.raises(compare.InvariantViolation) as info:
        compare.run_comparison(Engine(), quick=True, out_dir=tmp_path, progress=lambda _u: None)
    message = str(info.value)
    assert "distributed: no stock below zero: 3 products below zero" in message and "\n" not in message
    assert info.value.index == tmp_path / "index.html" and info.value.index.exists()


def test_fault_times_after_the_end_of_the_run_are_refused_up_front():
    with pytest.raises(compare.ComparisonError, match="after the end of the 60-second run"):
        compare.parse_faults("kill:api-1@30s,start:api-1@90s", 60)
    with pytest.raises(compare.ComparisonError, match="--fault"):
        compare.parse_faults("explode:db@1s", 60)
    assert [e.label for e in compare.parse_faults("start:db@20s,kill:db@10s", 60)] == ["kill:db@10s", "start:db@20s"]


# -- scaling -------------------------------------------------------------------------------------------


def test_scaling_steps_are_capped_by_the_machine_and_say_so():
    steps = scaling.plan_steps((1, 2, 4), per_step=0.4, cores=2)
    assert [(s.n, s.wanted_cpus, s.cpus, s.capped) for s in steps] == [
        (1, 0.4, 0.4, False),
        (2, 0.8, 0.8, False),
        (4, 1.6, 1.5, True),
    ]
    assert not any(s.capped for s in scaling.plan_steps((1, 2, 4), cores=8))
    assert scaling.command_text("monolith", steps[1]) == "twinshop up monolith --workers 2 --cpus 0.8"
    assert scaling.up_arguments("distributed", steps[2]) == {"api": 4, "web": 1, "standby": False, "cpus": 1.5}


def test_the_scaling_report_draws_three_curves_and_states_every_cap(tmp_path: Path):
    steps = scaling.plan_steps((1, 2, 4), cores=2)
    result = scaling.ScalingResult(steps=steps, machine={"logical_cores": 2}, users={1: 6, 2: 12, 4: 24}, limit=1.5)
    for variant, per_cpu in (("monolith", 55.0), ("distributed", 45.0)):
        for s in steps:
            result.points.append(
                scaling.Point(
                    variant,
                    s,
                    scaling.command_text(variant, s),
                    5.0,
                    per_cpu * s.cpus,
                    50,
                    200,
                    300,
                    1000,
                    0,
                    100.0,
                    s.cpus * 95,
                    {"app": s.cpus * 95},
                    10.0,
                    True,
                    (2.0, 15.0),
                )  # fmt: skip
            )
    index = scaling.write_scaling_report(tmp_path, result)
    for slug in ("throughput", "p95", "rps_per_cpu"):
        assert (tmp_path / "charts" / f"scaling_{slug}.png").read_bytes()[:4] == b"\x89PNG"
    page = index.read_text()
    assert "n=4 asked for 1.6 CPU and got 1.5" in page
    assert "twinshop up distributed --api 4 --web 1 --cpus 1.5" in page
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [p["rps_per_cpu"] for p in summary["points"] if p["variant"] == "distributed"] == pytest.approx([45] * 3)
    assert any("0.82×" in line for line in summary["summary"])  # 45 / 55 at every step


# -- the engine's --api-cpus -------------------------------------------------------------------------


def test_api_cpus_caps_each_api_replica_and_nothing_else(tmp_path: Path):
    from twinshop.engine import Engine, Options
    from twinshop.topology import Ports

    topo = Engine(home=tmp_path, ports=Ports(30000)).topology("distributed", Options(api=2, standby=True, api_cpus=0.3))
    capped = {s.name for s in topo.services if "twinshop.cpucap" in s.command}
    assert capped == {"api-1", "api-2", "api-standby"}
    api = topo.get("api-1").command
    assert api[api.index("--cpus") + 1] == "0.3"


# -- the command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--fault", "explode:db@1s"], "--fault: 'explode:db@1s': action 'explode'"),
        (["compare", "--fault", "kill:api-1"], "is not ACTION:TARGET@TIME"),
        (["compare", "--scenario", "scaling", "--fault", "kill:db@5s"], "do not go together"),
        (["compare", "--scenario", "scaling", "--cpus", "1"], "sets its own CPU budget"),
    ],
)
def test_compare_refuses_bad_drills_in_one_line_before_touching_anything(argv, message, capsys, tmp_path, monkeypatch):
    from twinshop import cli

    monkeypatch.setenv("TWINSHOP_HOME", str(tmp_path))  # nothing may be started there
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())
