"""Many rounds, one verdict: each headline figure with its spread across rounds, and the rule that
decides whether a difference between the variants is clear.

A comparison measures each variant in several rounds, interleaved (monolith, distributed,
monolith, ...), each from the same reset state. Every headline figure is the **median** of the
rounds, shown with its **spread** (lowest to highest round). A difference between the variants
is called **clear** only when

1. every round of one variant beat every round of the other (the ranges do not overlap),
2. the difference between the medians is larger than the spread of either variant's rounds, and
3. it is at least ``MIN_EFFECT_PERCENT`` of the smaller median (smaller differences do not matter
   to anyone, however repeatable);

otherwise the report says plainly that there is no clear difference at this load. With one
round there is no spread, so nothing is called clear.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from loadtests.analysis.run import SATURATED_SHARE, RunAnalysis
from loadtests.scenarios import Scenario
from twinshop.options import CpuCaps

MIN_EFFECT_PERCENT = 5.0
MIN_ROUNDS = 2


@dataclass(frozen=True)
class Spread:
    """The values of one figure across rounds."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def width(self) -> float:
        return self.high - self.low

    def as_dict(self) -> dict:
        return {"median": self.median, "low": self.low, "high": self.high, "rounds": list(self.values)}


def spread_of(values: Sequence[float | None]) -> Spread | None:
    known = tuple(float(v) for v in values if v is not None)
    return Spread(known) if known else None


@dataclass(frozen=True)
class Metric:
    """A headline figure: how to read it from one run, and which way is better."""

    name: str  # throughput | p50 | p95 | p99 | availability | cpu_per_request
    read: Callable[[RunAnalysis], float | None]
    higher_is_better: bool
    unit: str  # req/s | ms | % | ms CPU


METRICS = (
    Metric("throughput", lambda a: a.steady.ok_rps, True, "req/s"),
    Metric("p50", lambda a: a.steady.p50, False, "ms"),
    Metric("p95", lambda a: a.steady.p95, False, "ms"),
    Metric("p99", lambda a: a.steady.p99, False, "ms"),
    Metric("availability", lambda a: a.whole.availability, True, "%"),
    Metric("cpu_per_request", lambda a: a.cpu_ms_per_request, False, "ms CPU"),
    # A capacity search: the highest step of users that met the objective, and what it served.
    Metric("capacity_users", lambda a: a.capacity.users if a.capacity else 0, True, "users"),
    Metric("capacity_rps", lambda a: a.capacity.summary.ok_rps if a.capacity else None, True, "req/s"),
)
METRIC = {m.name: m for m in METRICS}
HEADLINE = ("throughput", "p50", "p95", "p99", "availability", "cpu_per_request")
CAPACITY_HEADLINE = ("capacity_users", "capacity_rps", "availability")
"""The headline figures of a comparison; of a capacity search (a stepped scenario), whose figures over the
whole run would mix steps with different numbers of users, the capacity is the headline instead."""


def headline_metrics(scenario: Scenario) -> tuple[str, ...]:
    return CAPACITY_HEADLINE if scenario.stepped else HEADLINE


@dataclass
class VariantRounds:
    """One variant across the rounds: the runs kept, the disturbed attempts measured again, the spreads."""

    variant: str
    runs: list[RunAnalysis]  # one per round (the attempt kept)
    discarded: list[RunAnalysis] = field(default_factory=list)  # disturbed attempts that were measured again

    def spread(self, metric: str) -> Spread | None:
        return spread_of([METRIC[metric].read(a) for a in self.runs])

    @property
    def rounds(self) -> int:
        return len(self.runs)

    def figure(self, read: Callable[[RunAnalysis], float | None]) -> Spread | None:
        return spread_of([read(a) for a in self.runs])

    @property
    def failures(self) -> int:
        return sum(a.whole.failures for a in self.runs)

    @property
    def requests(self) -> int:
        return sum(a.whole.requests for a in self.runs)

    @property
    def unanswered(self) -> int:
        return sum(a.whole.unanswered for a in self.runs)

    @property
    def disturbed_runs(self) -> list[RunAnalysis]:
        return [a for a in self.runs if a.disturbed]

    @property
    def starved_runs(self) -> list[RunAnalysis]:
        """Runs in which the load generator was short of CPU (it measured its own slowness)."""
        return [a for a in self.runs if a.generator_saturated]

    @property
    def saturated(self) -> bool | None:
        """Whether the variant used (nearly) all its CPU budget in most rounds; None when uncapped."""
        shares = [a.budget_share for a in self.runs if a.budget_share is not None]
        if not shares:
            return None
        return statistics.median(shares) >= SATURATED_SHARE


@dataclass(frozen=True)
class Difference:
    """One headline figure, base against other, and whether the difference is clear."""

    metric: str
    base: str
    other: str
    base_spread: Spread
    other_spread: Spread
    clear: bool
    why: str  # clear | one_round | overlap | within_spread | too_small | equal

    @property
    def absolute(self) -> float:
        return self.other_spread.median - self.base_spread.median

    @property
    def percent(self) -> float | None:
        base = self.base_spread.median
        return self.absolute / base * 100.0 if base else None

    @property
    def better(self) -> str | None:
        """The variant that did better on this figure, when the difference is clear."""
        if not self.clear:
            return None
        higher = self.other if self.absolute > 0 else self.base
        lower = self.base if higher == self.other else self.other
        return higher if METRIC[self.metric].higher_is_better else lower

    @property
    def worse(self) -> str | None:
        if self.better is None:
            return None
        return self.base if self.better == self.other else self.other

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "base": self.base,
            "other": self.other,
            "base_median": self.base_spread.median,
            "other_median": self.other_spread.median,
            "absolute": self.absolute,
            "percent": self.percent,
            "clear": self.clear,
            "why": self.why,
            "better": self.better,
        }


def judge(a: Spread, b: Spread) -> tuple[bool, str]:
    """Whether the difference between two spreads is clear (see the module docstring), and why (not)."""
    if len(a.values) < MIN_ROUNDS or len(b.values) < MIN_ROUNDS:
        return False, "one_round"
    gap = abs(b.median - a.median)
    if gap == 0:
        return False, "equal"
    if a.high >= b.low and b.high >= a.low:
        return False, "overlap"
    if gap <= max(a.width, b.width):
        return False, "within_spread"
    smaller = min(abs(a.median), abs(b.median))
    if smaller > 0 and gap / smaller * 100.0 < MIN_EFFECT_PERCENT:
        return False, "too_small"
    return True, "clear"


def differences(base: VariantRounds, other: VariantRounds, metrics: Sequence[str] = HEADLINE) -> dict[str, Difference]:
    result = {}
    for metric in (METRIC[name] for name in metrics):
        a, b = base.spread(metric.name), other.spread(metric.name)
        if a is None or b is None:
            continue
        clear, why = judge(a, b)
        result[metric.name] = Difference(metric.name, base.variant, other.variant, a, b, clear, why)
    return result


def trust_problems(variants: Sequence[VariantRounds]) -> list[tuple[str, int, str, float]]:
    """What makes this comparison untrustworthy: (variant, round, kind, % of a core); empty: it can be trusted."""
    return [(v.variant, a.round, kind, value) for v in variants for a in v.runs for kind, value in a.problems()]


@dataclass
class Setup:
    """What was held equal between the variants (and what was not), as the report states it."""

    scenario: Scenario
    rounds: int
    seed: int
    warmup_s: float
    reset: bool
    caps: dict[str, CpuCaps]  # variant -> the CPU caps it ran with
    machine: dict
    engine: dict[str, str]
    locust_version: str
    fault_spec: str | None = None
    access_logs: tuple[str, ...] = ()  # variants that logged every request (--access-log)
    started_for_run: dict[str, float | None] = field(default_factory=dict)  # variant -> seconds to start; None: running
    others_running: dict[str, list[str]] = field(default_factory=dict)  # variant -> the other variants up (idle)
    max_reruns: int = 0

    @property
    def capped(self) -> bool:
        return any(caps.any for caps in self.caps.values())

    @property
    def equal_caps(self) -> bool:
        return len({caps for caps in self.caps.values()}) <= 1


@dataclass
class Comparison:
    """The whole experiment: the setup, and every variant's rounds (the report's input)."""

    setup: Setup
    variants: list[VariantRounds]
    created: str

    @property
    def headline(self) -> tuple[str, ...]:
        return headline_metrics(self.setup.scenario)

    def differences(self) -> dict[str, Difference]:
        if len(self.variants) < 2:
            return {}
        return differences(self.variants[0], self.variants[1], self.headline)

    def problems(self) -> list[tuple[str, int, str, float]]:
        return trust_problems(self.variants)

    @property
    def trustworthy(self) -> bool:
        return not self.problems()

    def variant(self, name: str) -> VariantRounds:
        return next(v for v in self.variants if v.variant == name)
