"""`twinshop compare --scenario scaling`: vertical against horizontal scaling, at the same CPU budget.

For each step n (1, 2, 4) both variants are restarted — the monolith with ``--workers n``, the
distributed variant with ``--api n --web 1`` (no standby) — under the same CPU cap for the
whole variant: n × 0.4 CPU, capped by what the machine has (every core but half a core for the
load generator). Then, in interleaved rounds like any comparison, each is saturated by the
API-bound workload (:class:`loadtests.visitors.users.Recommender`: recommendations computed from
product descriptions, ~15 ms of CPU each) and measured: throughput, p95, requests/s per CPU.
Afterwards the variants that ran before are started again as they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from loadtests.analysis.rounds import VariantRounds
from loadtests.analysis.run import RunAnalysis
from loadtests.analysis.scaling import ScalingResult, Step, StepResult
from loadtests.harness.compare import (
    ComparisonError,
    Deployment,
    InvariantViolation,
    Plan,
    Request,
    check_writable,
    default_language,
    default_out_dir,
    locust_version,
    machine_facts,
    measure_round,
    put_back,
    stop_signals_raise,
    warm_up,
)
from loadtests.harness.progress import Phase, Progress, ProgressTracker, StderrProgressBar
from loadtests.scenarios import get_scenario
from twinshop.engines.base import Engine, EngineError
from twinshop.options import VARIANTS, CpuCaps, VariantOptions

STEPS = (1, 2, 4)
CPU_PER_STEP = 0.4  # CPUs per worker / API replica
# Users per worker / API replica: enough to keep the 4 threads of each busy (the CPU saturated), few enough
# that HAProxy's health checks, queued behind them in a saturated replica, still get through: with a deep
# queue a saturated replica is marked DOWN and answers nothing.
USERS_PER_STEP = 6
LOCUST_RESERVE = 0.5  # cores left to the load generator
QUICK_DURATION_S = 15.0
QUICK_WARMUP_S = 3.0
QUICK_ROUNDS = 2
DURATION_S = 45.0
WARMUP_S = 10.0
ROUNDS = 3
SCENARIO = "scaling"
WEB_REPLICAS = 1  # the workload never asks for a page: one idle web replica keeps the topology whole


def machine_limit(cores: int | None = None, reserve: float = LOCUST_RESERVE) -> float:
    """The largest CPU budget a variant can get here: every core but the load generator's share."""
    cores = cores or os.cpu_count() or 1
    return round(max(0.1, cores - reserve), 2)


def plan_steps(steps: Sequence[int] = STEPS, *, per_step: float = CPU_PER_STEP, cores: int | None = None) -> list[Step]:
    limit = machine_limit(cores)
    return [Step(n=n, wanted_cpus=round(n * per_step, 2), cpus=round(min(n * per_step, limit), 2)) for n in steps]


def options_for(variant: str, step: Step) -> VariantOptions:
    """How the variant runs at this step (the same object `twinshop up` would build from the flags)."""
    caps = CpuCaps(variant=step.cpus)
    if variant == "monolith":
        return VariantOptions("monolith", workers=step.n, caps=caps)
    return VariantOptions("distributed", api=step.n, web=WEB_REPLICAS, standby=False, caps=caps)


def run_scaling(
    engine: Engine,
    *,
    quick: bool = False,
    out_dir: Path | None = None,
    variants: Sequence[str] = VARIANTS,
    steps: Sequence[int] = STEPS,
    per_step: float = CPU_PER_STEP,
    duration_s: float | None = None,
    users: int | None = None,
    warmup_s: float | None = None,
    rounds: int | None = None,
    lang: str | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Path:
    """Measure both variants at each step and write the scaling report; returns the path of index.html."""
    from loadtests.report import scaling as scaling_report

    if problem := engine.cpu_cap_problem():
        raise ComparisonError(f"the scaling comparison needs CPU caps, and this machine cannot set them: {problem}")
    duration_s = duration_s or (QUICK_DURATION_S if quick else DURATION_S)
    warmup_s = (QUICK_WARMUP_S if quick else WARMUP_S) if warmup_s is None else warmup_s
    rounds = rounds or (QUICK_ROUNDS if quick else ROUNDS)
    lang = lang or default_language()
    out_dir = Path(out_dir) if out_dir else default_out_dir()
    check_writable(out_dir)
    progress = StderrProgressBar() if progress is None else progress
    plan_list = plan_steps(steps, per_step=per_step)
    result = ScalingResult(machine=machine_facts(), duration_s=duration_s, warmup_s=warmup_s, rounds=rounds,
                           limit=machine_limit(), engine=engine.facts(), locust_version=locust_version())  # fmt: skip
    phases: list[Phase] = []
    for step in plan_list:
        phases += [Phase("restart", f"n={step.n}", 15.0)]
        phases += [Phase("warm-up", v, warmup_s + 4.0) for v in variants]
        phases += [Phase("run", v, duration_s + 4.0, r) for r in range(1, rounds + 1) for v in variants]
    phases += [Phase("bring back", "", 15.0), Phase("report", "", 4.0)]
    before = {v: engine.options(v) for v in VARIANTS}
    with stop_signals_raise():
        try:
            with ProgressTracker(phases, progress, rounds=rounds) as tracker:
                for step in plan_list:
                    step_users = users or USERS_PER_STEP * step.n
                    scenario = get_scenario(SCENARIO, duration_s=duration_s, peak_users=step_users)
                    tracker.begin("restart", f"n={step.n}")
                    for v in VARIANTS:
                        engine.down(v)
                    for v in variants:
                        try:
                            engine.up(options_for(v, step))
                        except EngineError as exc:
                            raise ComparisonError(
                                f"{v} did not start for step {step.n} ({options_for(v, step).command()}): {exc}"
                            ) from None
                    request = Request(scenario=SCENARIO, peak_users=step_users, reset=False, check_invariants=False,
                                      warmup_s=warmup_s, lang=lang, out_dir=out_dir)  # fmt: skip
                    p = Plan(scenario, rounds, warmup_s, [], step.cpus, lang, out_dir, request,
                             [Deployment(v, engine, v) for v in variants])  # fmt: skip
                    step_dir = out_dir / "data" / f"step-{step.n}"
                    for v in variants:
                        tracker.begin("warm-up", v)
                        if warmup_s > 0:
                            warm_up(engine, v, p, step_dir / v / "warmup", scenario=SCENARIO)
                    kept: dict[str, list[RunAnalysis]] = {v: [] for v in variants}
                    discarded: dict[str, list[RunAnalysis]] = {v: [] for v in variants}
                    for r in range(1, rounds + 1):
                        for v in variants:
                            side = Deployment(v, engine, v)
                            kept[v].append(measure_round(side, p, r, tracker, discarded[v], step_dir))
                    result.steps.append(
                        StepResult(step, step_users, [VariantRounds(v, kept[v], discarded[v]) for v in variants],
                                   {v: options_for(v, step).command() for v in variants})  # fmt: skip
                    )
                tracker.begin("bring back", "")
                bring_back(engine, before)
                tracker.begin("report", "")
                result.created = time.strftime("%Y-%m-%d %H:%M:%S %Z")
                index = scaling_report.write(out_dir, result, lang=lang)
        except BaseException:
            try:
                bring_back(engine, before)
            except (EngineError, ComparisonError):
                put_back(engine, VARIANTS)
            raise
    broken = [(s.step.n, v.variant) for s in result.steps for v in s.variants for a in v.runs
              if a.m.invariants is not None and not a.m.invariants.ok]  # fmt: skip
    if broken:
        raise InvariantViolation(f"invariant violated on {broken[0][1]} at step {broken[0][0]}; report: {index}", index)
    return index


def bring_back(engine: Engine, before: dict[str, VariantOptions | None]) -> None:
    """Stop what the scaling run left and start the variants that ran before, as they were."""
    for variant in VARIANTS:
        engine.down(variant)
    for options in before.values():
        if options is not None:
            engine.up(options)
