"""`twinshop compare`: the experiment — the same Locust scenario against each variant, in interleaved
rounds, under the same CPU budget, with every disturbance measured; then the report.

The steps, each in its own home:

1. **plan** (:func:`plan`): resolve the scenario, rounds, warm-up, language and fault events,
   and refuse anything wrong (an unknown scenario, a fault target no variant has, a report
   folder that cannot be written) before anything starts;
2. **prepare**: every variant runs with the same CPU budget (restarted when it had another);
3. **warm up** each variant once (read-only load: connection pools, caches, imports);
4. **rounds**: monolith, distributed, monolith, distributed, ... each run from the same reset
   state (:func:`measure`: a Locust process, :mod:`~loadtests.harness.locust`, while
   :mod:`~loadtests.harness.sampling` samples the CPU and :mod:`loadtests.drills` applies the
   fault events); a run disturbed by other programs is measured again (at most ``max_reruns``
   times); the invariants are checked after every run;
5. **report** (:mod:`loadtests.report`).

However it ends — normally, on an error, on Ctrl-C, SIGTERM or SIGHUP — the Locust child is
stopped and every service of every variant is running again.
"""

from __future__ import annotations

import locale
import os
import platform
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

import psutil

from loadtests import drills
from loadtests.analysis.rounds import Comparison, Setup, VariantRounds
from loadtests.analysis.run import Measurement, RunAnalysis, analyse
from loadtests.harness import invariants
from loadtests.harness.locust import LocustFailed, LocustProcess, RunFiles, headless_command
from loadtests.harness.progress import Phase, Progress, ProgressTracker, StderrProgressBar
from loadtests.harness.sampling import CpuSampler, EventSampler, as_tuples, relative
from loadtests.scenarios import (
    COMPARE_DEFAULT,
    DEFAULT_SEED,
    MEASURED_SCENARIOS,
    QUICK,
    Scenario,
    get_scenario,
)
from twinshop.engines import open_engine
from twinshop.engines.base import Engine, EngineError
from twinshop.events import Unreachable
from twinshop.options import VARIANTS, CpuCaps, VariantOptions
from twinshop.state import PROJECT_ROOT
from twinshop.topology import Ports

ROUNDS = 3
# --quick: each run squeezed to this many seconds (3 rounds of 20 s per variant for the quick scenario:
# a whole comparison in about 3 minutes; 10-second steps for a capacity search).
QUICK_DURATIONS = {"quick": 20.0, "capacity": 100.0}
QUICK_DRILL_S = 60.0  # --quick --fault: one round of 60 s per variant, so events at 30-40 s fit
QUICK_WARMUP_S = 8.0
WARMUP_S = 20.0
MAX_RERUNS = 2  # a disturbed run is measured again at most this many times
MAX_ROUNDS = 20
LANGUAGES = ("en", "es")


class ComparisonError(RuntimeError):
    """A comparison could not be made; the message says why in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InvariantViolation(ComparisonError):
    """The report was written, but an invariant failed (an accepted order is missing, stock below zero, ...)."""

    def __init__(self, message: str, index: Path):
        super().__init__(message)
        self.index = index


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, which it generalises
    """The comparison was asked to stop (Ctrl-C, SIGTERM, SIGHUP); ``signum`` says how."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class Request:
    """What was asked for: the command line of `twinshop compare`, as one typed object."""

    scenario: str | None = None
    quick: bool = False
    rounds: int | None = None
    duration_s: float | None = None  # seconds of measured load per run (stretches the scenario)
    peak_users: int | None = None
    cpus: float | None = None  # each variant's CPU budget (default: every core but half a core for Locust)
    uncapped: bool = False
    fault: str | None = None
    lang: str | None = None  # en | es; default: the locale's
    out_dir: Path | None = None
    seed: int = DEFAULT_SEED
    warmup_s: float | None = None
    reset: bool = True
    check_invariants: bool = True
    max_reruns: int = MAX_RERUNS
    workers: int = 0  # Locust as a master and this many worker processes (0: one process)
    variants: tuple[str, ...] = VARIANTS  # what to compare: VARIANT or VARIANT@ENGINE (monolith@compose)


@dataclass(frozen=True)
class Deployment:
    """One side of a comparison: a variant run by an engine, and the name the report gives it."""

    variant: str
    engine: Engine
    label: str  # "monolith" when every side runs on one engine; "monolith@compose" when they differ


# The same variant on both engines (monolith@local monolith@compose): the compose side runs as a
# project of its own on ports shifted by this much, so both can run at once (no port of a topology
# is 1000 away from another) and the user's own compose project is left alone.
SHIFTED_ENGINE = "compose"
SHIFT = 1000


def deployments(engine: Engine, names: Sequence[str]) -> list[Deployment]:
    """VARIANT or VARIANT@ENGINE (``monolith@compose``) -> Deployments; the bare ones run on ``engine``."""
    wanted: list[tuple[str, str]] = []
    for name in names:
        variant, _, engine_name = name.partition("@")
        if variant not in VARIANTS:
            raise ComparisonError(f"unknown variant {variant!r} in {name!r}: choose monolith or distributed")
        wanted.append((variant, engine_name or engine.name))
    engines_of = {v: {e for v2, e in wanted if v2 == v} for v, _e in wanted}
    opened: dict[tuple[str, bool], Engine] = {(engine.name, False): engine}
    found: list[tuple[str, Engine]] = []
    for name, (variant, engine_name) in zip(names, wanted, strict=True):
        shifted = engine_name == SHIFTED_ENGINE and len(engines_of[variant]) > 1
        if (engine_name, shifted) not in opened:
            ports = Ports(engine.ports.offset + SHIFT) if shifted else engine.ports
            try:
                opened[engine_name, shifted] = open_engine(engine_name, ports)
            except EngineError as exc:
                raise ComparisonError(f"{name}: {exc}") from None
        found.append((variant, opened[engine_name, shifted]))
    mixed = len({e.name for _v, e in found}) > 1
    result = [Deployment(v, e, f"{v}@{e.name}" if mixed else v) for v, e in found]
    labels = [d.label for d in result]
    if len(set(labels)) != len(labels):
        raise ComparisonError(f"each side of a comparison must differ: {', '.join(names)}")
    if not result:
        raise ComparisonError("nothing to compare: name the sides, e.g. monolith distributed")
    return result


@dataclass
class Plan:
    """The request resolved and checked: what will run."""

    scenario: Scenario
    rounds: int
    warmup_s: float
    events: list[drills.FaultEvent]
    budget: float | None  # cores per variant; None: uncapped
    lang: str
    out_dir: Path
    request: Request
    sides: list[Deployment]

    @property
    def duration_s(self) -> float:
        return self.scenario.duration_s


@dataclass
class Outcome:
    index: Path
    comparison: Comparison

    @property
    def trustworthy(self) -> bool:
        return self.comparison.trustworthy


# -- 1. plan --------------------------------------------------------------------------------


def default_language() -> str:
    """es when the user's locale is Spanish, en otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "es" if value.lower().startswith("es") else "en"
    code = (locale.getlocale()[0] or "").lower()
    return "es" if code.startswith("es") else "en"


def default_budget(engine: Engine) -> float | None:
    """Every core but half a core for the load generator; None where CPU cannot be capped."""
    if engine.cpu_cap_problem() is not None:
        return None
    return max(0.5, (os.cpu_count() or 1) - 0.5)


def default_out_dir() -> Path:
    return PROJECT_ROOT / "reports" / time.strftime("%Y%m%d-%H%M%S")


def check_writable(folder: Path) -> None:
    """Refuse, before anything runs, a report folder that cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".twinshop-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ComparisonError(f"cannot write the report to {folder}: {exc.strerror or exc}") from None


def planned_services(engine: Engine, variant: str, *, standby: bool) -> list[str]:
    """The services the variant will run in this comparison (with the standby when a drill needs it)."""
    options = engine.options(variant) or VariantOptions(variant)
    if variant == "distributed" and standby:
        options = replace(options, standby=True)
    return engine.topology(variant, options).names()


def cluster_nodes(sides: Sequence[Deployment]) -> list[str]:
    """The nodes the distributed side runs on (a Swarm's; none on the engines of one machine)."""
    for d in sides:
        if d.variant == "distributed" and hasattr(d.engine, "node_names"):
            return d.engine.node_names()
    return []


def plan(engine: Engine, request: Request) -> Plan:
    """Resolve and check the request; a ComparisonError says what is wrong before anything starts."""
    sides = deployments(engine, request.variants)
    name = request.scenario or (QUICK.name if request.quick else COMPARE_DEFAULT)
    if name not in MEASURED_SCENARIOS or name == "scaling":
        choices = ", ".join(s for s in MEASURED_SCENARIOS if s != "scaling")
        raise ComparisonError(f"unknown scenario {name!r}; choose one of: {choices}, or scaling")
    events: list[drills.FaultEvent] = []
    if request.fault:
        try:
            events = drills.parse(request.fault)
        except drills.FaultSpecError as exc:
            raise ComparisonError(f"--fault: {exc}") from None
    # --quick with a fault drill: one round of a minute per variant, long enough for events at 30-40 s
    drill = bool(events) and request.quick
    rounds = request.rounds if request.rounds is not None else (1 if drill else ROUNDS)
    if not 1 <= rounds <= MAX_ROUNDS:
        raise ComparisonError(f"--rounds must be from 1 to {MAX_ROUNDS}, not {rounds}")
    if request.duration_s is not None and not 5 <= request.duration_s <= 3600:
        raise ComparisonError(f"--duration must be from 5 to 3600 seconds, not {request.duration_s:g}")
    if request.warmup_s is not None and not 0 <= request.warmup_s <= 600:
        raise ComparisonError(f"--warmup must be from 0 to 600 seconds, not {request.warmup_s:g}")
    if not 0 <= request.workers <= 16:
        raise ComparisonError(f"--workers must be from 0 to 16, not {request.workers}")
    if request.peak_users is not None and not 1 <= request.peak_users <= 1000:
        raise ComparisonError(f"--users must be from 1 to 1000, not {request.peak_users}")
    duration = request.duration_s
    if duration is None and request.quick:
        duration = QUICK_DRILL_S if drill else QUICK_DURATIONS.get(name, 60.0)
    scenario = get_scenario(name, duration_s=duration, peak_users=request.peak_users)
    lang = request.lang or default_language()
    if lang not in LANGUAGES:
        raise ComparisonError(f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if request.uncapped and request.cpus is not None:
        raise ComparisonError("--cpus and --uncapped do not go together")
    budget = None if request.uncapped else request.cpus or min(default_budget(d.engine) or 0 for d in sides) or None
    for d in sides:
        if request.cpus is not None and (problem := d.engine.cpu_cap_problem()):
            raise ComparisonError(f"cannot cap CPU for {d.label}: {problem}; run without --cpus (or with --uncapped)")
    if events:
        try:
            drills.check_times(events, scenario.duration_s)
            standby = any(e.action == "kill-all-primaries" for e in events)
            drills.check_targets(events, {d.label: planned_services(d.engine, d.variant, standby=standby)
                                          for d in sides}, nodes=cluster_nodes(sides))  # fmt: skip
        except drills.FaultSpecError as exc:
            raise ComparisonError(f"--fault: {exc}") from None
    out_dir = Path(request.out_dir) if request.out_dir else default_out_dir()
    check_writable(out_dir)
    warmup = request.warmup_s
    if warmup is None:
        warmup = QUICK_WARMUP_S if request.quick or scenario.duration_s < 60 else WARMUP_S
    return Plan(scenario, rounds, warmup, events, budget, lang, out_dir, request, sides)


# -- 2. prepare: the same CPU budget for every variant ---------------------------------------------


def wanted_options(current: VariantOptions | None, variant: str, plan: Plan) -> VariantOptions:
    """The options a variant runs the comparison with: its own replicas and workers, the comparison's budget."""
    options = current or VariantOptions(variant)
    options = replace(options, caps=CpuCaps(variant=plan.budget))
    if variant == "distributed" and any(e.action == "kill-all-primaries" for e in plan.events):
        options = replace(options, standby=True)  # kill-all-primaries needs the standby
    return options


def prepare(engine: Engine, variant: str, plan: Plan, say: Callable[[str], None]) -> float | None:
    """Make the variant run with the comparison's options; seconds it took to start (None: it already ran so)."""
    current = engine.options(variant)
    wanted = wanted_options(current, variant, plan)
    if current == wanted and engine.running(variant):
        engine.up(wanted)  # starts any stopped service, waits until ready
        return None
    if engine.running(variant):
        say(f"restarting {variant} as `{wanted.command()}` (the comparison's CPU budget) ...")
        engine.down(variant)
    return engine.up(wanted).seconds


# -- signals and clean-up ---------------------------------------------------------------------------


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (a closed terminal, `timeout`, a CI runner) into :class:`Interrupted`,
    so every ``finally`` runs: Locust is stopped and the variants are put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def restore(engine: Engine, variant: str, timeout_s: float = 90.0) -> list[str]:
    """Start every service of the variant that is not running and wait until it is ready again (for the
    distributed variant: HAProxy sends traffic to every replica again).

    Returns the services that had to be started; a ComparisonError when they do not come back
    (the next run must not be measured beside a half-broken variant).
    """
    stopped = [row.name for row in engine.status() if row.variant == variant and row.state != "RUNNING"
               and row.name != "monolith"]  # fmt: skip
    options = engine.options(variant) or VariantOptions(variant)
    try:
        engine.up(options, timeout=timeout_s)  # the variant runs as it was asked to: start what stopped, wait
        if hasattr(engine, "mailbox") and engine.mailbox(variant).delay():  # after slow:mail: its usual pace again
            engine.mailbox(variant).set_delay(0)
            stopped.append("mail (delay)")
    except (EngineError, Unreachable) as exc:
        raise ComparisonError(f"the {variant} services did not all come back after the drill: {exc}") from exc
    return stopped


def put_back(sides: Sequence[Deployment]) -> None:
    """After an interruption: every service of every running side started again (best effort, quietly)."""
    for d in sides:
        try:
            if d.engine.running(d.variant):
                restore(d.engine, d.variant, timeout_s=60)
        except (ComparisonError, EngineError):
            pass  # the interruption is what gets reported; `twinshop status` shows the rest


def take_down_shifted(sides: Sequence[Deployment], engine: Engine, say: Callable[[str], None]) -> None:
    """Stop the sides that ran on shifted ports (no other command would find them)."""
    for d in sides:
        if d.engine.ports != engine.ports and d.engine.running(d.variant):
            say(f"stopping {d.label} (it ran on ports shifted by {SHIFT} beside {d.variant} on "
                f"the other engine)")  # fmt: skip
            try:
                d.engine.down(d.variant)
            except EngineError as exc:
                say(f"could not stop {d.label}: {exc}")


# -- 4. one measured run ----------------------------------------------------------------------------


def pids_of(engine: Engine, variant: str) -> dict[str, int]:
    return {row.name: row.pid for row in engine.status() if row.variant == variant and row.pid}


def warm_up(engine: Engine, variant: str, plan: Plan, folder: Path, scenario: str = "warmup") -> None:
    """Read-only load, not measured: caches, connection pools and worker imports."""
    files = RunFiles(folder)
    cmd = headless_command(host=engine.entry_url(variant), scenario=scenario, duration_s=plan.warmup_s,
                           peak_users=plan.request.peak_users if scenario != "warmup" else None,
                           seed=plan.request.seed, exclude_tags=("write",))  # fmt: skip
    with LocustProcess(cmd, files) as locust:
        try:
            locust.wait(timeout_s=plan.warmup_s + 90)
        except LocustFailed as exc:
            raise ComparisonError(f"the warm-up against {variant} failed: {exc}") from None


def measure(
    engine: Engine,
    variant: str,
    *,
    scenario: Scenario,
    plan: Plan,
    round: int,
    attempt: int,
    folder: Path,
    tracker: ProgressTracker,
    events: Sequence[drills.FaultEvent] = (),
    label: str = "",
) -> Measurement:
    """One run: the scenario against the variant, with CPU sampling and (with events) the fault drill."""
    files = RunFiles(folder)
    files.clear()
    url = engine.entry_url(variant)
    options = engine.options(variant)
    before = invariants.snapshot(engine, variant) if plan.request.check_invariants else None
    pids_before = pids_of(engine, variant)
    sampler = CpuSampler(engine, variant).start()
    event_sampler = EventSampler(engine, variant).start()
    try:
        return _measure_run(engine, variant, scenario=scenario, plan=plan, round=round, attempt=attempt, files=files,
                            tracker=tracker, events=events, url=url, options=options, before=before, label=label,
                            pids_before=pids_before, sampler=sampler, event_sampler=event_sampler)  # fmt: skip
    finally:
        event_sampler.stop()  # normally stopped already, after the drain; here also when the run failed


def _measure_run(engine: Engine, variant: str, *, scenario: Scenario, plan: Plan, round: int, attempt: int,
                 files: RunFiles, tracker: ProgressTracker, events: Sequence[drills.FaultEvent], url: str,
                 options: VariantOptions | None, before, pids_before: dict[str, int], sampler: CpuSampler,
                 event_sampler: EventSampler, label: str) -> Measurement:  # fmt: skip
    drill = (
        drills.Drill(engine, variant, events, meta_path=files.meta, log_path=files.folder / "faults.log",
                     api_replicas=options.api if options else 3)
        if events else None
    )  # fmt: skip
    applied: list[drills.AppliedEvent] = []
    restored: list[str] = []
    cmd = headless_command(host=url, scenario=scenario.name, duration_s=scenario.duration_s,
                           peak_users=plan.request.peak_users, seed=plan.request.seed, files=files,
                           workers=plan.request.workers)  # fmt: skip

    def clock():
        start = files.start_time()
        elapsed = None if start is None else time.time() - start
        return elapsed, scenario.duration_s, drill.next_event() if drill else None

    with LocustProcess(cmd, files) as locust:
        sampler.watch("locust", locust.pid)
        if drill is not None:
            drill.begin()
        tracker.run_clock = clock
        try:
            locust.wait(timeout_s=scenario.duration_s + 120)
        except LocustFailed as exc:
            raise ComparisonError(f"Locust failed against {variant}: {exc}") from None
        finally:
            tracker.run_clock = None
            samples = sampler.stop()
            if drill is not None:
                applied = drill.stop()
    pids_after = pids_of(engine, variant)
    try:
        if events:
            tracker.begin("restore", label or variant, round)
            restored = restore(engine, variant)
        # The order events' backlog: its work goes on after the load stops (the sampler keeps watching).
        tracker.begin("checks", label or variant, round)
        drain = invariants.wait_for_events(engine, variant) if hasattr(engine, "mailbox") else None
    finally:
        event_samples = event_sampler.stop()
    records = files.records()
    if not records:
        raise ComparisonError(f"the run against {variant} produced no data (see {files.log}): {files.log_tail()}")
    start_time = files.start_time() or records[0].timestamp
    planned = [(float(t), scenario.planned_users(t)) for t in range(int(scenario.duration_s) + 1)]
    users = files.users(start_time) or planned
    checked = None
    if before is not None:
        checked = invariants.check(engine, variant, records, before, drain=drain)
    return Measurement(
        variant=variant,
        label=label or variant,
        round=round,
        attempt=attempt,
        url=url,
        scenario=scenario,
        start_time=start_time,
        records=records,
        users=users,
        cpu=as_tuples(samples, start_time),
        folder=files.folder,
        locust_cpu_warning=files.locust_warned_about_cpu(),
        cpu_budget=options.caps.variant if options else None,
        events=drills.run_events(applied, events, start_time=start_time, variant=variant) if events else [],
        pids_before=pids_before,
        pids_after=pids_after,
        restored=restored,
        api_replicas=options.api if options and variant == "distributed" else None,
        invariants=checked,
        event_samples=relative(event_samples, start_time),
        drain=drain,
    )


# -- the whole comparison ------------------------------------------------------------------------------


def machine_facts() -> dict:
    load = os.getloadavg()
    return {
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1m": round(load[0], 2),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def engine_facts(engines: dict[str, Engine]) -> dict[str, str]:
    """What the report says about the engine(s): one engine's facts, or each engine's prefixed by its name."""
    if len(engines) == 1:
        return next(iter(engines.values())).facts()
    facts = {"engine": " and ".join(e.facts().get("engine", name) for name, e in engines.items())}
    for name, e in engines.items():
        facts.update({f"{name} {key}": value for key, value in e.facts().items() if key != "engine"})
    return facts


def locust_version() -> str:
    try:
        return package_version("locust")
    except PackageNotFoundError:
        return "unknown"


def phases(plan: Plan, variants: Sequence[str], start_estimates: dict[str, float]) -> list[Phase]:
    """The plan of the progress line (``variants``: the sides' labels)."""
    result = []
    for v in variants:
        result += [Phase("start", v, start_estimates[v]), Phase("warm-up", v, plan.warmup_s + 5.0)]
    for r in range(1, plan.rounds + 1):
        for v in variants:
            result += [Phase("reset", v, 2.0, r), Phase("run", v, plan.duration_s + 4.0, r)]
            if plan.events:
                result.append(Phase("restore", v, 3.0, r))
            if plan.request.check_invariants:
                result.append(Phase("checks", v, 1.0, r))
    return [*result, Phase("report", "", 8.0)]


def run_comparison(
    engine: Engine,
    request: Request,
    *,
    progress: Callable[[Progress], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> Outcome:
    """Plan, measure every variant in interleaved rounds, write the report; return where it is.

    Raises ComparisonError (one line) when the comparison cannot be made, InvariantViolation after
    writing the report when an invariant failed, Interrupted on SIGTERM/SIGHUP (KeyboardInterrupt
    on Ctrl-C) — in every case with Locust stopped and every service running again.
    """
    from loadtests.report import render  # matplotlib is slow to import; the CLI's other commands never need it

    p = plan(engine, request)
    sides = p.sides
    say = say or (lambda message: None)
    progress = StderrProgressBar() if progress is None else progress
    machine = machine_facts()
    current = {d.label: d.engine.options(d.variant) for d in sides}
    estimates = {d.label: 2.0 if current[d.label] == wanted_options(current[d.label], d.variant, p) else 20.0
                 for d in sides}  # fmt: skip
    kept: dict[str, list[RunAnalysis]] = {d.label: [] for d in sides}
    discarded: dict[str, list[RunAnalysis]] = {d.label: [] for d in sides}
    started: dict[str, float | None] = {}
    with stop_signals_raise():
        try:
            with ProgressTracker(phases(p, [d.label for d in sides], estimates), progress, rounds=p.rounds) as tracker:
                for d in sides:
                    tracker.begin("start", d.label)
                    try:
                        started[d.label] = prepare(d.engine, d.variant, p, say)
                    except EngineError as exc:
                        raise ComparisonError(f"the {d.label} variant did not start: {exc}") from None
                    tracker.begin("warm-up", d.label)
                    if p.request.reset:
                        d.engine.reset(d.variant)
                    if p.warmup_s > 0:
                        warm_up(d.engine, d.variant, p, p.out_dir / "data" / d.label / "warmup")
                for r in range(1, p.rounds + 1):
                    for d in sides:
                        kept[d.label].append(measure_round(d, p, r, tracker, discarded[d.label], p.out_dir / "data"))
                tracker.begin("report", "")
                options = {d.label: d.engine.options(d.variant) or VariantOptions(d.variant) for d in sides}
                engines = {d.engine.name: d.engine for d in sides}
                setup = Setup(
                    scenario=p.scenario,
                    rounds=p.rounds,
                    seed=request.seed,
                    warmup_s=p.warmup_s,
                    reset=request.reset,
                    caps={label: o.caps for label, o in options.items()},
                    machine=machine,
                    engine=engine_facts(engines),
                    locust_version=locust_version(),
                    fault_spec=",".join(e.label for e in p.events) or None,
                    access_logs=tuple(label for label, o in options.items() if o.access_log),
                    started_for_run=started,
                    others_running={d.label: [f"{o}@{e.name}" if len(engines) > 1 else o for e in engines.values()
                                              for o in VARIANTS if o != d.variant and e.running(o)]
                                    for d in sides},  # fmt: skip
                    max_reruns=request.max_reruns,
                )
                comparison = Comparison(
                    setup=setup,
                    variants=[VariantRounds(d.label, kept[d.label], discarded[d.label]) for d in sides],
                    created=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                )
                index = render.write(p.out_dir, comparison, lang=p.lang)
        except BaseException:
            put_back(sides)
            raise
        finally:
            take_down_shifted(sides, engine, say)
    violations = [
        f"{a.variant} round {a.round}: {text}"
        for v in comparison.variants
        for a in v.runs
        if a.m.invariants is not None
        for text in a.m.invariants.violations()
    ]
    if violations:
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise InvariantViolation(f"invariant violated on {violations[0]}{more}; report: {index}", index)
    return Outcome(index, comparison)


def measure_round(
    d: Deployment,
    p: Plan,
    round: int,
    tracker: ProgressTracker,
    discarded: list[RunAnalysis],
    data_dir: Path,
) -> RunAnalysis:
    """One round of one side: reset, run, and measure again while other programs disturb it (bounded)."""
    attempt = 1
    while True:
        note = "" if attempt == 1 else f"measuring again (attempt {attempt})"
        tracker.begin("reset", d.label, round, note=note)
        if p.request.reset:
            d.engine.reset(d.variant)
        tracker.begin("run", d.label, round, note=note)
        suffix = "" if attempt == 1 else f".attempt-{attempt}"
        m = measure(
            d.engine,
            d.variant,
            scenario=p.scenario,
            plan=p,
            round=round,
            attempt=attempt,
            folder=data_dir / d.label / f"round-{round}{suffix}",
            tracker=tracker,
            events=p.events,
            label=d.label,
        )
        analysis = analyse(m)
        if not analysis.disturbed or attempt > p.request.max_reruns:
            return analysis
        discarded.append(analysis)
        attempt += 1
