"""The load scenarios as plain data: how many users run at each moment, shared by Locust and the harness.

This module does not import Locust (importing Locust monkey-patches the whole process with
gevent), so the comparison harness and the report can read the same stage tables the
load-test shapes in :mod:`loadtests.visitors.shapes` run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

DEFAULT_SEED = 20240611
"""Base of every simulated user's random choices: the same seed gives the same requests."""

THINK_TIME_S = (0.2, 1.0)
"""Each simulated user pauses a uniformly random time in this range (seconds) between two actions."""


@dataclass(frozen=True)
class Stage:
    """Until ``until_s`` seconds after the start, run ``users`` users, starting/stopping ``spawn_rate`` per second."""

    until_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Scenario:
    """A named sequence of stages; the steady state starts once ``steady_users`` run, plus ``settle_s``."""

    name: str
    summary: str
    stages: tuple[Stage, ...]
    steady_users: int
    settle_s: float
    user_classes: tuple[str, ...] = ()  # who runs it (class names); empty: every class but the scenario-only ones
    stepped: bool = False  # a capacity search: each stage is a step, and the run stops past the objective

    @property
    def duration_s(self) -> float:
        return self.stages[-1].until_s

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    def tick(self, run_time_s: float) -> tuple[int, float] | None:
        """What a Locust shape returns at ``run_time_s``: (users, spawn rate), or None once it is over."""
        for stage in self.stages:
            if run_time_s < stage.until_s:
                return stage.users, stage.spawn_rate
        return None

    def planned_users(self, t_s: float) -> int:
        """The user count the plan expects at ``t_s`` (ramps at the spawn rate), 0 after the end."""
        users = 0.0
        previous_end = 0.0
        for stage in self.stages:
            if t_s < previous_end:
                break
            elapsed = min(t_s, stage.until_s) - previous_end
            step = stage.spawn_rate * elapsed
            users = min(stage.users, users + step) if stage.users >= users else max(stage.users, users - step)
            previous_end = stage.until_s
        if t_s >= self.duration_s:
            return 0
        return int(users)

    def time_to_steady_s(self) -> float:
        """When the plan reaches ``steady_users`` (the moment the ramp-up ends)."""
        users = 0.0
        previous_end = 0.0
        for stage in self.stages:
            if stage.users >= self.steady_users:
                return previous_end + max(0.0, self.steady_users - users) / stage.spawn_rate
            users = stage.users
            previous_end = stage.until_s
        return self.duration_s

    def scaled(self, *, duration_s: float | None = None, peak_users: int | None = None) -> Scenario:
        """The same shape stretched or squeezed to ``duration_s`` seconds and/or ``peak_users`` users.

        Spawn rates scale with it, so every ramp still finishes inside its stage.
        """
        time_factor = duration_s / self.duration_s if duration_s else 1.0
        user_factor = peak_users / self.peak_users if peak_users else 1.0
        stages = tuple(
            Stage(
                until_s=round(stage.until_s * time_factor, 3),
                users=max(1, round(stage.users * user_factor)),
                spawn_rate=round(stage.spawn_rate * user_factor / time_factor, 3),
            )
            for stage in self.stages
        )
        return replace(
            self,
            stages=stages,
            steady_users=max(1, round(self.steady_users * user_factor)),
            settle_s=round(max(1.0, self.settle_s * time_factor), 3) if time_factor != 1.0 else self.settle_s,
        )

    def stage_windows(self) -> list[tuple[float, float, int]]:
        """For each stage: (from, to, users) once its users run plus ``settle_s``; a stage too short to settle
        gets no window. The report's stage table and the capacity search's steps use these windows."""
        windows = []
        previous_end, previous_users = 0.0, 0
        for stage in self.stages:
            ramp = abs(stage.users - previous_users) / stage.spawn_rate if stage.spawn_rate else 0.0
            begin = previous_end + ramp + self.settle_s
            if begin < stage.until_s:
                windows.append((begin, float(stage.until_s), stage.users))
            previous_end, previous_users = float(stage.until_s), stage.users
        return windows

    def describe(self) -> str:
        """The stages in words, for the report and `--help`."""
        parts = []
        start = 0.0
        for stage in self.stages:
            parts.append(f"{fmt_s(start)}–{fmt_s(stage.until_s)}: {stage.users} users (±{stage.spawn_rate:g}/s)")
            start = stage.until_s
        return "; ".join(parts)


def fmt_s(seconds: float) -> str:
    """120 -> "2:00"; 7.5 -> "0:07.5"."""
    whole = math.floor(seconds)
    frac = seconds - whole
    text = f"{whole // 60}:{whole % 60:02d}"
    return text + (f"{frac:.1f}"[1:] if frac >= 0.05 else "")


QUICK = Scenario(
    name="quick",
    summary="Ramp to 50 users in 10 s, hold them until 60 s (the quick comparison).",
    stages=(Stage(60, 50, 5.0),),
    steady_users=50,
    settle_s=5,
)

STEP = Scenario(
    name="step",
    summary="Users rise in six steps of 20 every 50 s (20 … 120); shows where each variant saturates.",
    stages=tuple(Stage(50.0 * (i + 1), 20 * (i + 1), 10.0) for i in range(6)),
    steady_users=120,
    settle_s=10,
)

SPIKE = Scenario(
    name="spike",
    summary="20 users, a 30-second spike to 100 users at 1:00, then back to 20 to watch the recovery.",
    stages=(Stage(60, 20, 10.0), Stage(90, 100, 40.0), Stage(240, 20, 40.0)),
    steady_users=20,
    settle_s=10,
)

SOAK = Scenario(
    name="soak",
    summary="Ramp to 40 users over 80 s and hold them until 20:00: leaks, slow drift, pool exhaustion.",
    stages=(Stage(1200, 40, 0.5),),
    steady_users=40,
    settle_s=30,
)

WARMUP = Scenario(
    name="warmup",
    summary="5 users for 10 s, read-only: fills caches, connection pools and worker imports before a run.",
    stages=(Stage(10, 5, 5.0),),
    steady_users=5,
    settle_s=1,
)

SCALING = Scenario(
    name="scaling",
    summary=(
        "24 API clients asking for recommendations without pausing (ramp 2 s, hold to 60 s): "
        "the API tier saturated, for `twinshop compare --scenario scaling`."
    ),
    stages=(Stage(60, 24, 12.0),),
    steady_users=24,
    settle_s=4,
    user_classes=("Recommender",),
)

CAPACITY_P95_MS = 250.0
"""The latency objective of the capacity search: a step meets it while its p95 stays at or under this."""
CAPACITY_FAILURES_PERCENT = 1.0
"""... and while at most this share of its requests fail."""
CAPACITY_STEPS = (10, 20, 40, 60, 80, 100, 130, 160, 200, 250)
CAPACITY_STEP_S = 15.0

CAPACITY = Scenario(
    name="capacity",
    summary=(
        f"Users rise in steps ({', '.join(str(u) for u in CAPACITY_STEPS)}), {CAPACITY_STEP_S:g} s each, until a "
        f"step's p95 passes {CAPACITY_P95_MS:g} ms or more than {CAPACITY_FAILURES_PERCENT:g} % of its requests "
        "fail: the highest step that met the objective is the variant's capacity."
    ),
    stages=tuple(Stage(CAPACITY_STEP_S * (i + 1), users, 25.0) for i, users in enumerate(CAPACITY_STEPS)),
    steady_users=CAPACITY_STEPS[0],
    settle_s=3,
    stepped=True,
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (QUICK, STEP, SPIKE, SOAK, WARMUP, SCALING, CAPACITY)}
"""Every scenario by name; `warmup` is used by the harness before each measured run."""

MEASURED_SCENARIOS = ("quick", "step", "spike", "soak", "capacity", "scaling")
"""The scenarios a person picks for a comparison (the CLI's `--scenario` choices)."""

COMPARE_DEFAULT = "step"
"""The scenario of `twinshop compare` without --scenario (with --quick: quick)."""

LOCUST_DEFAULT = "quick"
"""The scenario a Locust started by hand (or its web UI) runs unless told otherwise."""


def get_scenario(name: str, *, duration_s: float | None = None, peak_users: int | None = None) -> Scenario:
    """A scenario by name, optionally stretched to a duration and/or a peak user count."""
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}") from None
    if duration_s or peak_users:
        return scenario.scaled(duration_s=duration_s or None, peak_users=peak_users or None)
    return scenario
