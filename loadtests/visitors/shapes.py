"""Locust load shapes: how many users run over time, one class per scenario in :mod:`loadtests.scenarios`.

The locustfile exposes only :class:`ScenarioShape`, which runs the scenario named by
``--scenario`` (or ``TWINSHOP_SCENARIO``), so one locustfile serves the headless harness and
the web UI. The named classes below document each scenario's stages; a shape sees
``--scenario-duration`` and ``--peak-users`` too, which stretch the stages (the harness uses
them for its short end-to-end runs).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from locust import LoadTestShape

from loadtests.scenarios import (
    CAPACITY,
    CAPACITY_FAILURES_PERCENT,
    CAPACITY_P95_MS,
    LOCUST_DEFAULT,
    QUICK,
    SOAK,
    SPIKE,
    STEP,
    Scenario,
    get_scenario,
)

log = logging.getLogger(__name__)


def scenario_from_options(options: object | None, default: Scenario | None = None) -> Scenario:
    """The scenario the command line (or the web UI form, or TWINSHOP_* variables, which Locust's own
    parser reads for its custom parameters) asks for."""
    name = default.name if default is not None else getattr(options, "scenario", None) or LOCUST_DEFAULT
    duration = getattr(options, "scenario_duration", 0) or 0
    peak = getattr(options, "peak_users", 0) or 0
    return get_scenario(name, duration_s=duration or None, peak_users=peak or None)


class StepJudge:
    """Decides, at the end of each step of a capacity search, whether the step met the objective.

    Reads Locust's running totals (response-time histogram, request and failure counts) at the
    start and the end of each step's settled window; the report recomputes every figure exactly
    from the raw CSV afterwards: this only stops the run once a step has failed.
    """

    def __init__(self, scenario: Scenario):
        self.windows = scenario.stage_windows()
        self.marks: dict[tuple[str, int], tuple[dict[int, int], int, int]] = {}
        self.failed_step: int | None = None

    @staticmethod
    def snapshot(stats) -> tuple[dict[int, int], int, int]:
        total = stats.total
        return dict(total.response_times), total.num_requests, total.num_failures

    def observe(self, run_time: float, stats) -> bool:
        """Note the totals at window edges; True once a finished step missed the objective."""
        for index, (begin, end, _users) in enumerate(self.windows):
            if run_time >= begin and ("begin", index) not in self.marks:
                self.marks[("begin", index)] = self.snapshot(stats)
            if run_time >= end and ("end", index) not in self.marks and ("begin", index) in self.marks:
                self.marks[("end", index)] = self.snapshot(stats)
                if not self.met(index):
                    self.failed_step = index
                    return True
        return False

    def met(self, index: int) -> bool:
        (times0, n0, f0), (times1, n1, f1) = self.marks[("begin", index)], self.marks[("end", index)]
        requests, failures = n1 - n0, f1 - f0
        if requests <= 0:
            return False
        counts = sorted((ms, times1.get(ms, 0) - times0.get(ms, 0)) for ms in times1)
        rank, seen, p95 = 0.95 * requests, 0, 0
        for ms, count in counts:
            seen += count
            if seen >= rank:
                p95 = ms
                break
        return p95 <= CAPACITY_P95_MS and 100.0 * failures / requests <= CAPACITY_FAILURES_PERCENT


class StagesShape(LoadTestShape):
    """Runs the stages of a :class:`~loadtests.scenarios.Scenario` (base class, never used directly)."""

    abstract = True
    scenario: ClassVar[Scenario | None] = None

    def current_scenario(self) -> Scenario:
        options = self.runner.environment.parsed_options if self.runner else None
        return scenario_from_options(options, default=self.scenario)

    _judge: StepJudge | None = None

    def reset_time(self) -> None:
        super().reset_time()
        self._judge = None

    def tick(self) -> tuple[int, float, list] | None:
        scenario = self.current_scenario()
        run_time = self.get_run_time()
        if scenario.stepped and self.runner is not None:
            if self._judge is None:
                self._judge = StepJudge(scenario)
            if self._judge.observe(run_time, self.runner.stats):
                users = self._judge.windows[self._judge.failed_step][2]
                log.info("capacity search: the step with %d users missed the objective; stopping", users)
                return None
        step = scenario.tick(run_time)
        if step is None:
            return None
        return (*step, self.user_classes(scenario))

    def user_classes(self, scenario: Scenario) -> list | None:
        """The classes this scenario runs: its own list, or every class but the scenario-only ones."""
        available = list(self.runner.environment.user_classes) if self.runner else []
        if scenario.user_classes:
            chosen = [c for c in available if c.__name__ in scenario.user_classes]
        else:
            chosen = [c for c in available if not getattr(c, "scenario_only", False)]
        return chosen or None  # None: whatever the environment runs (e.g. only a scenario-only class was picked)


class QuickShape(StagesShape):
    """quick — 1:00: 0:00–0:10 ramp to 50 users (5/s); 0:10–1:00 hold 50 users.

    Steady state: from 50 users + 5 s settle (≈0:15) to 1:00. Used by `twinshop compare --quick`.
    """

    scenario = QUICK


class StepShape(StagesShape):
    """step — 5:00: 20 users at 0:00, 40 at 0:50, 60 at 1:40, 80 at 2:30, 100 at 3:20, 120 at 4:10–5:00.

    Each step starts its new users at 10/s. Where throughput stops rising and p95 climbs is the
    variant's capacity: the report has a row per step. Steady state: the last step after 10 s.
    """

    scenario = STEP


class SpikeShape(StagesShape):
    """spike — 4:00: 0:00–1:00 20 users; 1:00–1:30 100 users (started at 40/s); 1:30–4:00 back to 20.

    Watch latency and failures during the spike and how fast they recover. Its steady state is
    everything after the first 20 users + 10 s, spike included: that is the point of it.
    """

    scenario = SPIKE


class SoakShape(StagesShape):
    """soak — 20:00: ramp to 40 users over 80 s (0.5/s), hold them until 20:00.

    Long enough to show slow drift: memory or connection leaks, pool exhaustion, a growing
    table. Steady state: from 1:20 + 30 s settle to the end.
    """

    scenario = SOAK


class CapacityShape(StagesShape):
    """capacity — users in steps of 15 s (10, 20, 40 … 250) until a step's p95 passes 250 ms or more than
    1 % of its requests fail; then the run stops. The last step that met the objective is the capacity.
    """

    scenario = CAPACITY


class ScenarioShape(StagesShape):
    """The scenario picked with ``--scenario`` (quick, step, spike, soak, capacity; see the classes above).

    In the web UI the scenario is a drop-down among the custom parameters; with
    ``--class-picker`` you can also pick "Default" instead and type a user count by hand.
    """
