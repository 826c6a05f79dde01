"""One measured run (one variant, one round), digested: every number the report shows about it.

:class:`Measurement` is what the harness hands over after a run (raw records, users over
time, CPU samples, fault events, invariants); :func:`analyse` turns it into a
:class:`RunAnalysis`. Pure computation on that data — no I/O, no words: the report's
sentences and charts are made elsewhere (:mod:`loadtests.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loadtests import drills
from loadtests.analysis import events as event_analysis
from loadtests.analysis import stats
from loadtests.records import RequestRecord
from loadtests.scenarios import CAPACITY_FAILURES_PERCENT, CAPACITY_P95_MS, Scenario

LOCUST, HARNESS, MACHINE, OTHERS, STEAL = "locust", "harness", "machine", "others", "steal"
OWN_LABELS = (LOCUST, HARNESS, MACHINE, OTHERS, STEAL)
"""CPU sample labels that are not services of the variant (see loadtests.harness.sampling)."""

LOAD_GENERATOR_LIMIT = 90.0
"""Percent of one core (5-second average) above which the load generator measured its own slowness."""
DISTURBED_PERCENT = 25.0
"""Percent of one core that other programs may use during a run (mean of its steady window) before the
run is called disturbed and measured again."""
STEAL_PERCENT = 10.0
"""... and the steal time (CPU the hypervisor gave to other machines) likewise."""
SATURATED_SHARE = 0.9
"""A variant using this share of its CPU budget is saturated: it could not have served more."""


@dataclass
class Measurement:
    """Everything measured while one variant ran one round of the scenario."""

    variant: str
    round: int  # 1, 2, ...
    attempt: int  # 1 unless the round was measured again (a disturbed attempt is kept apart)
    url: str
    scenario: Scenario
    start_time: float  # unix time the stages started
    records: list[RequestRecord]
    users: list[tuple[float, int]]  # (seconds since start, users running)
    cpu: list[tuple[float, str, float]]  # (seconds since start, label, percent of one core)
    folder: Path | None = None  # where the run's raw files are
    locust_cpu_warning: bool = False
    cpu_budget: float | None = None  # cores the whole variant was allowed (None: uncapped)
    # Fault drills: what was done during the run, and the pids before and after it.
    events: list[drills.RunEvent] = field(default_factory=list)
    pids_before: dict[str, int] = field(default_factory=dict)
    pids_after: dict[str, int] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)  # services started again after the run
    api_replicas: int | None = None
    invariants: object | None = None  # loadtests.harness.invariants.Invariants
    label: str = ""  # the report's name for this side ("monolith@compose" when two engines are compared)
    # Order events: (seconds since start, label, value) once a second, the run and the drain after it
    # (loadtests.harness.sampling.EventSampler), and how long that drain took (invariants.Drain).
    event_samples: list[tuple[float, str, float]] = field(default_factory=list)
    drain: object | None = None

    @property
    def duration_s(self) -> float:
        return self.scenario.duration_s

    @property
    def end_time(self) -> float:
        return self.start_time + self.scenario.duration_s


@dataclass(frozen=True)
class SteadyWindow:
    """The part of a run that excludes the ramp-up, and how it was found."""

    start_s: float
    end_s: float
    how: str  # "users": from Locust's user history | "planned": from the plan | "whole": the run was too short

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


def steady_window(m: Measurement) -> SteadyWindow:
    scenario = m.scenario
    end = scenario.duration_s
    window = stats.steady_window(m.users, target_users=scenario.steady_users, settle_s=scenario.settle_s, end_s=end)
    if window is not None:
        return SteadyWindow(window[0], window[1], "users")
    planned = scenario.time_to_steady_s() + scenario.settle_s
    if planned < end:
        return SteadyWindow(planned, end, "planned")
    return SteadyWindow(0.0, end, "whole")


@dataclass(frozen=True)
class Step:
    """One step of a capacity search: its settled window, its figures, and whether it met the objective."""

    users: int
    start_s: float
    end_s: float
    summary: stats.Summary

    @property
    def failure_percent(self) -> float:
        return 100.0 - (self.summary.availability if self.summary.availability is not None else 0.0)

    @property
    def met(self) -> bool:
        s = self.summary
        return bool(s.requests) and s.p95 is not None and s.p95 <= CAPACITY_P95_MS and (
            self.failure_percent <= CAPACITY_FAILURES_PERCENT
        )


@dataclass
class RunAnalysis:
    """One run's numbers (see the module docstring)."""

    m: Measurement
    series: list[stats.Second]
    window: SteadyWindow
    steady: stats.Summary
    whole: stats.Summary
    endpoints: list[stats.EndpointRow]
    steps: list[Step]  # a row per stage that settled (the stage table; the capacity search's steps)
    cpu: dict[str, dict[str, float]]  # label -> mean/max/peak5 in the steady window
    services_cpu: float  # mean % of one core, all the variant's processes together, steady window
    load_generator_peak: float  # highest 5-second average of the load generator, whole run
    others_cpu: float  # mean % of one core used by programs that are neither the variant, Locust nor the harness
    steal: float  # mean % of one core of steal time
    worker_shares: dict[str, dict[str, float]]  # service -> part -> share of its CPU (gunicorn workers)
    served: dict[str, dict[str, int]]  # tier -> node -> successful requests (steady state)
    timing: dict[str, float]  # Server-Timing means (ms)
    failures: list[tuple[str, str, int]]
    impacts: list[drills.Impact] = field(default_factory=list)
    outages: list[drills.Outage] = field(default_factory=list)
    nodes: drills.NodeSeries | None = None
    targets: list[drills.Target] = field(default_factory=list)
    order_events: event_analysis.OrderEvents | None = None  # the mails and sales figures' backlog, queues

    @property
    def variant(self) -> str:
        return self.m.variant

    @property
    def label(self) -> str:
        """The report's name for this side: the variant, or ``variant@engine`` when engines are compared."""
        return self.m.label or self.m.variant

    @property
    def round(self) -> int:
        return self.m.round

    @property
    def events(self) -> list[drills.RunEvent]:
        return self.m.events

    @property
    def cpu_ms_per_request(self) -> float | None:
        """CPU the services spent per successful request, in ms (steady state)."""
        if not self.steady.ok_rps:
            return None
        return self.services_cpu / 100.0 * 1000.0 / self.steady.ok_rps

    @property
    def budget_share(self) -> float | None:
        """The share of its CPU budget the variant used (None: uncapped)."""
        if not self.m.cpu_budget:
            return None
        return self.services_cpu / (self.m.cpu_budget * 100.0)

    @property
    def generator_saturated(self) -> bool:
        return self.load_generator_peak > LOAD_GENERATOR_LIMIT or self.m.locust_cpu_warning

    @property
    def disturbed(self) -> bool:
        """Other programs (or other guests of the hypervisor) took CPU during the run: measure it again."""
        return self.others_cpu > DISTURBED_PERCENT or self.steal > STEAL_PERCENT

    def problems(self) -> list[tuple[str, float]]:
        """Why this run cannot be trusted, as (others | steal | generator, % of one core)."""
        found = []
        if self.others_cpu > DISTURBED_PERCENT:
            found.append(("others", self.others_cpu))
        if self.steal > STEAL_PERCENT:
            found.append(("steal", self.steal))
        if self.generator_saturated:
            found.append(("generator", self.load_generator_peak))
        return found

    @property
    def capacity(self) -> Step | None:
        """The highest step that met the objective before the first one that did not (stepped scenarios)."""
        best = None
        for step in self.steps:
            if not step.met:
                break
            best = step
        return best

    @property
    def capacity_reached(self) -> bool:
        """Whether a step missed the objective (False: the search ended before the variant's limit)."""
        return any(not step.met for step in self.steps)


# Services of several processes that are not peers sharing connections: RabbitMQ's one Erlang VM does the
# work, its helpers (epmd, the port programs) idle by design - not the gunicorn imbalance the report explains.
NOT_WORKERS = ("broker",)


def worker_shares(cpu: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """For each service made of several worker processes: each part's share of their CPU (mean, steady state)."""
    grouped: dict[str, dict[str, float]] = {}
    for label, values in cpu.items():
        if "/" in label and not label.startswith((f"{LOCUST}/", *(f"{name}/" for name in NOT_WORKERS))):
            service, part = label.split("/", 1)
            grouped.setdefault(service, {})[part] = values["mean"]
    result = {}
    for service, parts in grouped.items():
        total = sum(parts.values())
        if len(parts) > 1 and total > 0:
            result[service] = {part: value / total for part, value in sorted(parts.items())}
    return result


def analyse(m: Measurement) -> RunAnalysis:
    window = steady_window(m)
    span = (window.start_s, window.end_s)
    steady_records = stats.in_window(m.records, start=m.start_time, window=span)
    whole_records = stats.in_window(m.records, start=m.start_time, window=(0.0, m.duration_s))
    steps = []
    if len(m.scenario.stages) > 1:
        for begin, end, users in m.scenario.stage_windows():
            records = stats.in_window(m.records, start=m.start_time, window=(begin, end))
            if records:
                steps.append(Step(users, begin, end, stats.summarize(records, end - begin)))
    cpu = stats.cpu_by_label(m.cpu, window=span)
    services = [label for label in cpu if label not in OWN_LABELS and "/" not in label]
    # The load generator is short of CPU when any one of its processes is: a master with workers counts each.
    generator = stats.cpu_by_label([s for s in m.cpu if s[1] == LOCUST or s[1].startswith(f"{LOCUST}/")],
                                   window=(1.0, m.duration_s + 1.0))  # fmt: skip
    workers = [values["peak5"] for label, values in generator.items() if label.startswith(f"{LOCUST}/")]
    series = stats.per_second(m.records, start=m.start_time, end=m.end_time, users=m.users)
    impacts = drills.impacts(m.records, series, m.events, start=m.start_time, duration_s=m.duration_s)
    followed = event_analysis.analyse(m.event_samples, m.events)
    return RunAnalysis(
        m=m,
        series=series,
        window=window,
        steady=stats.summarize(steady_records, window.seconds),
        whole=stats.summarize(whole_records, m.duration_s),
        endpoints=stats.endpoint_table(steady_records, window.seconds),
        steps=steps,
        cpu=cpu,
        services_cpu=sum(cpu[label]["mean"] for label in services),
        load_generator_peak=max(workers) if workers else generator.get(LOCUST, {}).get("peak5", 0.0),
        others_cpu=cpu.get(OTHERS, {}).get("mean", 0.0),
        steal=cpu.get(STEAL, {}).get("mean", 0.0),
        worker_shares=worker_shares(cpu),
        served=stats.served_by_tiers(steady_records),
        timing=stats.server_timing_means(steady_records),
        failures=stats.failure_reasons(whole_records),
        impacts=impacts,
        outages=drills.outages(series),
        nodes=(nodes := drills.node_series(m.records, start=m.start_time, seconds=len(series))),
        targets=drills.targets(
            m.variant, impacts, api_replicas=m.api_replicas, pids_before=m.pids_before, pids_after=m.pids_after,
            nodes=nodes,
        )
        + event_analysis.targets(m.variant, followed, m.events, m.records, start=m.start_time, duration_s=m.duration_s),
        order_events=followed,
    )
