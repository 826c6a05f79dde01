"""Many rounds, one verdict: spreads, the rule for a clear difference, and what makes a run untrustworthy."""

from __future__ import annotations

import crafted
import pytest

from loadtests.analysis.rounds import METRIC, Spread, VariantRounds, differences, judge, spread_of, trust_problems
from loadtests.analysis.run import DISTURBED_PERCENT, LOAD_GENERATOR_LIMIT, worker_shares


def s(*values: float) -> Spread:
    return Spread(tuple(values))


def test_a_spread_has_a_median_and_a_range():
    spread = spread_of([12.0, None, 10.0, 15.0])
    assert (spread.median, spread.low, spread.high, spread.width) == (12.0, 10.0, 15.0, 5.0)
    assert spread_of([None, None]) is None


@pytest.mark.parametrize(
    "a, b, clear, why",
    [
        (s(10, 11, 12), s(20, 21, 22), True, "clear"),  # every round apart, gap 10 > spread 2
        (s(10, 14, 18), s(12, 16, 20), False, "overlap"),  # the rounds interleave
        (s(10, 11, 20), s(21, 21, 21), False, "within_spread"),  # apart, but the gap (10) is not over a spread (10)
        (s(100, 101, 102), s(103, 103.5, 104), False, "too_small"),  # apart and repeatable, but 2.5 %
        (s(10), s(20), False, "one_round"),  # one round: no spread, nothing is clear
        (s(10, 10), s(10, 10), False, "equal"),
    ],
)
def test_a_difference_is_clear_only_when_every_round_agrees_and_it_exceeds_the_spread(a, b, clear, why):
    assert judge(a, b) == (clear, why)
    assert judge(b, a) == (clear, why)


def test_the_better_variant_depends_on_which_way_is_better():
    mono = VariantRounds("monolith", [crafted.run("monolith", r, latency_ms=10 + r) for r in (1, 2, 3)])
    dist = VariantRounds("distributed", [crafted.run("distributed", r, latency_ms=30 + r) for r in (1, 2, 3)])
    d = differences(mono, dist)
    assert d["p95"].clear and d["p95"].better == "monolith" and d["p95"].worse == "distributed"
    assert d["p95"].absolute > 0 and d["p95"].percent > 100
    assert not METRIC["p95"].higher_is_better and METRIC["throughput"].higher_is_better
    assert not d["throughput"].clear and d["throughput"].better is None  # the same users asked the same


def test_a_run_disturbed_by_other_programs_or_a_starved_load_generator_is_not_trustworthy():
    quiet = crafted.run("monolith", others_cpu=5)
    busy = crafted.run("monolith", 2, others_cpu=DISTURBED_PERCENT + 15)
    starved = crafted.run("distributed", locust_cpu=LOAD_GENERATOR_LIMIT + 5)
    assert not quiet.disturbed and quiet.problems() == []
    assert busy.disturbed and busy.problems() == [("others", pytest.approx(DISTURBED_PERCENT + 15))]
    assert not starved.disturbed and starved.problems()[0][0] == "generator"
    problems = trust_problems([VariantRounds("monolith", [quiet, busy]), VariantRounds("distributed", [starved])])
    assert [(v, r, kind) for v, r, kind, _ in problems] == [("monolith", 2, "others"), ("distributed", 1, "generator")]


def test_saturation_is_read_from_the_share_of_the_cpu_budget_used():
    assert VariantRounds("monolith", [crafted.run("monolith", services_cpu=145.0)]).saturated is True
    assert VariantRounds("monolith", [crafted.run("monolith", services_cpu=70.0)]).saturated is False
    assert VariantRounds("monolith", [crafted.run("monolith", budget=None)]).saturated is None


def test_a_worker_doing_most_of_the_work_is_seen_in_the_cpu_parts():
    run = crafted.run("monolith")
    run.cpu["monolith:gunicorn/pid 1"] = {"mean": 90.0, "max": 90.0, "peak5": 90.0}
    run.cpu["monolith:gunicorn/pid 2"] = {"mean": 10.0, "max": 10.0, "peak5": 10.0}
    assert worker_shares(run.cpu) == {"monolith:gunicorn": {"pid 1": 0.9, "pid 2": 0.1}}
