"""The scaling comparison's numbers: each step's rounds, the speed-up from step to step, and per step
whether the variants' throughputs differ clearly (the rule of :mod:`loadtests.analysis.rounds`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtests.analysis.rounds import Spread, VariantRounds, judge

BETTER_THAN_LINEAR = 1.1
"""A speed-up this much above the growth of the CPU budget is more than the extra CPU can explain."""


@dataclass(frozen=True)
class Step:
    """One step: n workers or replicas, the CPU budget asked for and the one the machine can give."""

    n: int
    wanted_cpus: float
    cpus: float

    @property
    def capped(self) -> bool:
        return self.cpus + 1e-9 < self.wanted_cpus



@dataclass
class StepResult:
    step: Step
    users: int
    variants: list[VariantRounds]
    commands: dict[str, str]


@dataclass
class ScalingResult:
    steps: list[StepResult] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    duration_s: float = 0.0
    warmup_s: float = 0.0
    rounds: int = 0
    limit: float = 0.0
    engine: dict = field(default_factory=dict)
    locust_version: str = ""
    created: str = ""

    def series(self, variant: str) -> list[tuple[StepResult, VariantRounds]]:
        return [(s, v) for s in self.steps for v in s.variants if v.variant == variant]

    @property
    def variant_names(self) -> list[str]:
        return list(dict.fromkeys(v.variant for s in self.steps for v in s.variants))


def rps_per_cpu(v: VariantRounds, step: Step) -> Spread | None:
    return v.figure(lambda a: None if a.steady.ok_rps is None else a.steady.ok_rps / step.cpus)


def speedups(result: ScalingResult, variant: str) -> list[tuple[Step, float, float]]:
    """(step, throughput ratio to the first step, budget ratio to the first step) for each later step."""
    series = result.series(variant)
    if not series:
        return []
    first = series[0][1].spread("throughput")
    found = []
    for step_result, v in series[1:]:
        s = v.spread("throughput")
        if first and s and first.median:
            found.append((step_result.step, s.median / first.median, step_result.step.cpus / series[0][0].step.cpus))
    return found


def step_verdicts(result: ScalingResult) -> list[tuple[Step, float | None, bool]]:
    """Per step: (step, ratio of the second variant's median throughput to the first's, whether it is clear)."""
    names = result.variant_names
    verdicts = []
    if len(names) != 2:
        return verdicts
    for s in result.steps:
        by = {v.variant: v for v in s.variants}
        a, b = by[names[0]].spread("throughput"), by[names[1]].spread("throughput")
        if a is None or b is None:
            continue
        clear, _why = judge(a, b)
        verdicts.append((s.step, b.median / a.median if a.median else None, clear))
    return verdicts


