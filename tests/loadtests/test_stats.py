"""The load-test statistics on inputs small enough to work out by hand (see the comment on each test)."""

from __future__ import annotations

import math

import pytest

from loadtests.analysis import stats
from loadtests.records import RequestRecord, read_raw_csv, write_raw_csv
from loadtests.scenarios import QUICK, SPIKE, STEP, Scenario, Stage, get_scenario
from loadtests.visitors import checks


def record(
    ts: float,
    rt: float,
    *,
    name: str = "/",
    ok: bool = True,
    served_by: str = "",
    timing: str = "",
    answered: bool = True,
) -> RequestRecord:
    return RequestRecord(
        timestamp=ts,
        method="GET",
        name=name,
        response_time_ms=rt,
        success=ok,
        status=(200 if ok else 500) if answered else 0,
        served_by=served_by,
        server_timing=timing,
        error="" if ok else "HTTP 500" if answered else "connection refused",
    )


# -- percentiles -------------------------------------------------------------------------


def test_nearest_rank_percentile_on_the_textbook_example():
    # sorted 15 20 35 40 50: p30 -> rank ceil(1.5)=2 -> 20; p40 -> rank 2 -> 20; p50 -> rank ceil(2.5)=3 -> 35
    values = [50, 15, 40, 20, 35]
    assert stats.percentile(values, 30) == 20
    assert stats.percentile(values, 40) == 20
    assert stats.percentile(values, 50) == 35
    assert stats.percentile(values, 100) == 50
    assert stats.percentile(values, 5) == 15  # rank ceil(0.25) = 1


def test_percentiles_of_one_to_a_hundred_are_the_values_themselves():
    values = list(range(100, 0, -1))
    assert stats.percentiles(values) == {"p50": 50, "p95": 95, "p99": 99}


def test_percentile_of_nothing_is_none_and_silly_percentiles_are_refused():
    assert stats.percentile([], 95) is None
    assert stats.percentiles([]) == {"p50": None, "p95": None, "p99": None}
    with pytest.raises(ValueError):
        stats.percentile([1.0], 0)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


# -- per-second series -------------------------------------------------------------------


def test_per_second_counts_each_request_in_the_second_it_finished():
    start = 1000.0
    records = [
        record(1000.1, 100),  # finishes 1000.2 -> second 0
        record(1000.5, 600),  # finishes 1001.1 -> second 1
        record(1000.9, 50, ok=False),  # finishes 1000.95 -> second 0, a failure
        record(1002.0, 300),  # finishes 1002.3 -> second 2
        record(999.0, 500),  # finishes 999.5, before the start: left out
    ]
    users = [(0.0, 1), (1.0, 2), (2.5, 3)]
    series = stats.per_second(records, start=start, end=1003.0, users=users)

    assert [s.t for s in series] == [0, 1, 2]
    assert [s.requests for s in series] == [2, 1, 1]
    assert [s.failures for s in series] == [1, 0, 0]
    # second 0 holds 50 and 100 ms: p50 is rank ceil(1.0)=1 -> 50, p95 rank ceil(1.9)=2 -> 100
    assert (series[0].p50, series[0].p95, series[0].p99) == (50, 100, 100)
    assert (series[1].p50, series[2].p95) == (600, 300)
    # users: the last sample taken before the end of each second
    assert [s.users for s in series] == [1, 2, 3]
    assert series[0].rps == 2.0 and series[0].failures_per_s == 1.0


def test_per_second_leaves_empty_seconds_without_percentiles():
    series = stats.per_second([record(10.2, 100)], start=10.0, end=13.0)
    assert [s.requests for s in series] == [1, 0, 0]
    assert series[1].p95 is None and series[1].users is None
    assert stats.per_second([], start=0.0) == []


# -- steady state ------------------------------------------------------------------------


def test_steady_window_starts_when_the_target_users_run_plus_the_settle_time():
    users = [(0.0, 0), (1.0, 5), (2.0, 10), (3.0, 10)]
    assert stats.steady_window(users, target_users=10, settle_s=5, end_s=20) == (7.0, 20)
    assert stats.steady_window(users, target_users=11, settle_s=5, end_s=20) is None  # never reached
    assert stats.steady_window(users, target_users=10, settle_s=18, end_s=20) is None  # nothing left


def test_in_window_keeps_requests_that_finished_inside_it():
    start = 100.0
    records = [record(104.0, 500), record(106.9, 200), record(108.0, 2500), record(103.0, 100)]
    # finishes at 4.5, 7.1, 10.5 and 3.1 s: the window [4, 10) keeps the first two
    kept = stats.in_window(records, start=start, window=(4.0, 10.0))
    assert [r.response_time_ms for r in kept] == [500, 200]


def test_stage_windows_skip_each_ramp_and_settle_time():
    stages = (Stage(50, 10, 5), Stage(100, 20, 5), Stage(103, 30, 5))
    scenario = Scenario("three", "", stages, steady_users=30, settle_s=10)
    # stage 1: 10 users at 5/s -> 2 s ramp + 10 s settle -> from 12; stage 2: 50 + 2 + 10 = 62;
    # stage 3 would start at 100 + 2 + 10 = 112, after its end at 103: no window
    assert scenario.stage_windows() == [(12.0, 50.0, 10), (62.0, 100.0, 20)]


# -- summaries and differences ------------------------------------------------------------


def test_summary_of_four_requests_over_two_seconds():
    records = [record(0, 10), record(0, 20), record(1, 30, ok=False), record(1, 40)]
    s = stats.summarize(records, duration_s=2.0)
    assert (s.requests, s.failures) == (4, 1)
    assert s.rps == 2.0 and s.ok_rps == 1.5 and s.failures_per_s == 0.5
    assert (s.p50, s.p95, s.p99) == (20, 40, 40)  # ranks 2, ceil(3.8)=4, ceil(3.96)=4
    assert s.mean_ms == 25.0 and s.max_ms == 40
    assert s.availability == 75.0


def test_latencies_leave_out_requests_that_got_no_answer_and_say_how_many():
    # a dead shop refuses in 1 ms: counted as failures, never as fast answers
    records = [record(0, 100), record(0, 200), record(0, 1, ok=False, answered=False), record(1, 1, ok=False,
               answered=False)]  # fmt: skip
    s = stats.summarize(records, duration_s=2.0)
    assert (s.requests, s.failures, s.unanswered) == (4, 2, 2)
    assert (s.p50, s.p95, s.max_ms, s.mean_ms) == (100, 200, 200, 150.0)
    assert s.availability == 50.0 and s.ok_rps == 1.0
    series = stats.per_second(records, start=0, end=2)
    assert [(x.requests, x.failures, x.p50) for x in series] == [(3, 1, 100), (1, 1, None)]


def test_summary_of_nothing():
    s = stats.summarize([], duration_s=0.0)
    assert s.requests == 0 and s.rps is None and s.p95 is None and s.availability is None


def test_difference_is_other_minus_base_and_relative_to_base():
    d = stats.difference(100.0, 80.0)
    assert (d.absolute, d.percent) == (-20.0, -20.0)
    d = stats.difference(40.0, 50.0)
    assert (d.absolute, d.percent) == (10.0, 25.0)
    assert stats.difference(0.0, 5.0).percent is None  # no percent of zero
    assert stats.difference(None, 5.0).absolute is None


def test_compare_summaries_and_endpoints():
    base = [record(0, 10, name="/a"), record(0, 30, name="/a"), record(0, 5, name="/only-base")]
    other = [record(0, 20, name="/a"), record(0, 60, name="/a"), record(0, 7, name="/only-other")]
    diffs = stats.compare_summaries(stats.summarize(base, 1.0), stats.summarize(other, 1.0))
    # p95 of {5, 10, 30} is 30, of {7, 20, 60} is 60: +30 ms, +100 %
    assert (diffs["p95"].absolute, diffs["p95"].percent) == (30.0, 100.0)
    assert diffs["rps"].absolute == 0.0

    rows = stats.compare_endpoints(stats.endpoint_table(base, 1.0), stats.endpoint_table(other, 1.0))
    assert [(r.name, r.base is not None, r.other is not None) for r in rows] == [
        ("/a", True, True),
        ("/only-base", True, False),
        ("/only-other", False, True),
    ]
    a = rows[0]
    assert (a.base.p50, a.other.p50) == (10, 20)
    assert a.differences["p50"].percent == 100.0


def test_availability_and_failure_reasons():
    records = [record(0, 1), record(0, 1, ok=False), record(0, 1, ok=False), record(0, 1)]
    assert stats.availability(records) == 50.0
    assert stats.availability([]) is None
    assert stats.failure_reasons(records) == [("/", "HTTP 500", 2)]


# -- where requests went ----------------------------------------------------------------


def test_served_by_counts_every_node_on_the_path():
    records = [record(0, 1, served_by=s) for s in ("web-1,api-2", "web-2,api-2", "monolith", "")]
    assert stats.served_by_counts(records) == {"api-2": 2, "monolith": 1, "web-1": 1, "web-2": 1}


def test_served_by_shares_are_counted_within_each_tier():
    # a page passes through a web node and an API node: each tier adds up to its own requests
    paths = ("web-1,api-2", "web-2,api-2", "web-1,api-1", "api-3", "api-standby")
    records = [record(0, 1, served_by=s) for s in paths] + [record(0, 1, served_by="web-2,api-9", ok=False)]
    assert stats.served_by_tiers(records) == {
        "web": {"web-1": 2, "web-2": 1},
        "api": {"api-1": 1, "api-2": 2, "api-3": 1, "api-standby": 1},
    }


def test_server_timing_means():
    records = [
        record(0, 1, timing="db;dur=2.0, app;dur=10"),
        record(0, 1, timing="db;dur=4, api;dur=6, app;dur=20"),
        record(0, 1, timing="garbage"),
    ]
    assert stats.server_timing_means(records) == {"api": 6.0, "app": 15.0, "db": 3.0}


# -- CPU ---------------------------------------------------------------------------------


def test_rolling_mean_and_cpu_by_label():
    assert stats.rolling_mean([1, 2, 3, 4, 5, 6], 5) == [3.0, 4.0]
    assert stats.rolling_mean([4, 8], 5) == [6.0]
    samples = [(float(t), "locust", v) for t, v in enumerate([10, 20, 30, 40, 50, 60, 0])]
    samples.append((3.0, "db", 80.0))
    cpu = stats.cpu_by_label(samples, window=(1.0, 6.0))
    # locust inside [1, 6): 20 30 40 50 60 -> mean 40, max 60, one 5-second window -> 40
    assert cpu["locust"] == {"mean": 40.0, "max": 60.0, "peak5": 40.0}
    assert cpu["db"] == {"mean": 80.0, "max": 80.0, "peak5": 80.0}


# -- the raw CSV -------------------------------------------------------------------------


def test_raw_csv_round_trip_reads_worker_parts_too(tmp_path):
    path = tmp_path / "requests.csv"
    write_raw_csv(path, [record(2.0, 10, served_by="web-1,api-1", timing="db;dur=1.5, app;dur=3")])
    write_raw_csv(tmp_path / "requests.worker-42.csv", [record(1.0, 20, ok=False)])
    records = read_raw_csv(path)
    assert [r.timestamp for r in records] == [1.0, 2.0]  # sorted by start time
    assert records[0].success is False and records[0].error == "HTTP 500"
    assert records[1].served_by == "web-1,api-1" and records[1].server_timing == "db;dur=1.5, app;dur=3"
    assert math.isclose(records[1].finished, 2.01)


# -- scenarios ---------------------------------------------------------------------------


def test_quick_scenario_ticks_and_ramp():
    assert QUICK.tick(0) == (50, 5.0)
    assert QUICK.tick(59.9) == (50, 5.0)
    assert QUICK.tick(60) is None
    assert QUICK.time_to_steady_s() == 10.0  # 50 users at 5/s
    assert QUICK.planned_users(5) == 25
    assert QUICK.planned_users(60) == 0  # over


def test_step_and_spike_plans():
    assert [s.users for s in STEP.stages] == [20, 40, 60, 80, 100, 120]
    assert STEP.time_to_steady_s() == 252.0  # 120 users: 250 s, then 20 more at 10/s
    assert SPIKE.planned_users(61) == 60  # 20 + 40/s for 1 s
    assert SPIKE.planned_users(100) == 20  # back down: 100 - 40/s * 10 s, floored at 20
    assert SPIKE.time_to_steady_s() == 2.0


def test_scaling_a_scenario_keeps_its_shape():
    short = get_scenario("quick", duration_s=20, peak_users=10)
    # time x 1/3 and users x 1/5: 10 users at 5 * (1/5) / (1/3) = 3/s, still ramping in a sixth of the run
    assert short.stages == (Stage(20.0, 10, 3.0),)
    assert short.time_to_steady_s() == pytest.approx(10 / 3)
    assert short.settle_s == pytest.approx(5 / 3, abs=0.001)
    with pytest.raises(ValueError):
        get_scenario("nonsense")


# -- the checks the simulated users make --------------------------------------------------


def test_page_checks():
    page = (
        '<h1 id="product-name">Chef&#39;s <em>Cast</em> Iron Pan</h1>'
        '<form><input value="tok&amp;en" type="hidden" name="csrf_token">'
        '<input type="hidden" name="checkout_token" value="abc123"></form>'
        '<a class="product-link" href="/products/42">Chef&#39;s Pan</a> <a href="/products/7">x</a>'
    )
    assert checks.h1_text(page) == "Chef's Cast Iron Pan"
    assert checks.hidden_field(page, "csrf_token") == "tok&en"
    assert checks.hidden_field(page, "checkout_token") == "abc123"
    assert checks.hidden_field(page, "email") is None
    assert checks.linked_product_ids(page) == [42, 7]
    assert checks.shows_text(page, "Chef's Pan")
    assert not checks.shows_text(page, "Teapot")
    assert checks.order_id_from_location("http://127.0.0.1:8001/orders/123") == 123
    assert checks.order_id_from_location("/cart") is None
