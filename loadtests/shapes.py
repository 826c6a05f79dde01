"""Locust load shapes: how many users run over time, one class per scenario in :mod:`loadtests.scenarios`.

The locustfile exposes only :class:`ScenarioShape`, which runs the scenario named by
``--scenario`` (or ``TWINSHOP_SCENARIO``), so one locustfile serves the headless harness and
the web UI. The named classes below document each scenario's stages; a shape sees
``--scenario-duration`` and ``--peak-users`` too, which stretch the stages (the harness uses
them for its short end-to-end runs).
"""

from __future__ import annotations

import os
from typing import ClassVar

from locust import LoadTestShape

from loadtests.scenarios import QUICK, SOAK, SPIKE, STEP, Scenario, get_scenario

DEFAULT_SCENARIO = "quick"


def scenario_from_options(options: object | None, default: Scenario | None = None) -> Scenario:
    """The scenario the command line (or the web UI form, or the environment) asks for."""
    name = getattr(options, "scenario", None) or os.environ.get("TWINSHOP_SCENARIO") or DEFAULT_SCENARIO
    if default is not None:
        name = default.name
    duration = float(getattr(options, "scenario_duration", 0) or os.environ.get("TWINSHOP_SCENARIO_DURATION") or 0)
    peak = int(getattr(options, "peak_users", 0) or os.environ.get("TWINSHOP_PEAK_USERS") or 0)
    return get_scenario(name, duration_s=duration or None, peak_users=peak or None)


class StagesShape(LoadTestShape):
    """Runs the stages of a :class:`~loadtests.scenarios.Scenario` (base class, never used directly)."""

    abstract = True
    scenario: ClassVar[Scenario | None] = None

    def current_scenario(self) -> Scenario:
        options = self.runner.environment.parsed_options if self.runner else None
        return scenario_from_options(options, default=self.scenario)

    def tick(self) -> tuple[int, float, list] | None:
        scenario = self.current_scenario()
        step = scenario.tick(self.get_run_time())
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


class ScenarioShape(StagesShape):
    """The scenario picked with ``--scenario`` (quick, step, spike, soak; see the classes above).

    In the web UI the scenario is a drop-down among the custom parameters; with
    ``--class-picker`` you can also pick "Default" instead and type a user count by hand.
    """
