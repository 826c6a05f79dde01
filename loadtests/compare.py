"""`twinshop compare`: run the same Locust scenario against each variant in turn and write the report.

For each variant: start it if it is not answering, reload the seed data, warm it up with a
short read-only load, then run the scenario headless as a separate ``locust`` process while
sampling, once a second, the CPU of every service process (with its children) and of the
load generator. Every variant gets the same scenario, stages, seed, duration and warm-up.
The report (:mod:`loadtests.report`) states what was equal and what was not.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtests import drills, faults, invariants, stats
from loadtests.cpu import CpuSampler
from loadtests.scenarios import DEFAULT_SEED, MEASURED_SCENARIOS, Scenario, get_scenario
from loadtests.stats import VariantRun

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
VARIANTS = ("monolith", "distributed")

DEFAULT_SCENARIO = "step"
QUICK_SCENARIO = "quick"
QUICK_DURATION_S = 60.0  # --quick: each variant runs 60 s, so a whole comparison takes about 3 minutes
QUICK_WARMUP_S = 8.0
WARMUP_S = 20.0
LOAD_GENERATOR_LIMIT = 90.0  # percent of one core, as a 5-second average
LOCUST_CPU_WARNING = "CPU usage above"  # what Locust itself logs when it is starved


class ComparisonError(RuntimeError):
    """A comparison could not produce a trustworthy report; the message says why in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InvariantViolation(ComparisonError):
    """The report was written, but an invariant failed (an accepted order is missing, stock below zero, ...)."""

    def __init__(self, message: str, index: Path):
        super().__init__(message)
        self.index = index


# -- progress ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a comparison is: the phase, the variant, time spent and (estimated) time left."""

    phase: str
    variant: str
    elapsed_s: float
    remaining_s: float

    @property
    def fraction(self) -> float:
        total = self.elapsed_s + self.remaining_s
        return self.elapsed_s / total if total > 0 else 0.0


def fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class StderrProgressBar:
    """A one-line progress bar on stderr (``\\r`` updates on a terminal, a line per phase otherwise)."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.width = width
        self._last_phase: tuple[str, str] | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, update: Progress) -> None:
        filled = round(update.fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = (
            f"[{bar}] {update.fraction * 100:3.0f}%  {update.phase:<8} {update.variant:<12} "
            f"elapsed {fmt_duration(update.elapsed_s)}  remaining ~{fmt_duration(update.remaining_s)}"
        )
        if self._tty:
            end = "\n" if update.phase == "done" else ""
            self.stream.write("\r" + line.ljust(100) + end)
        elif (update.phase, update.variant) != self._last_phase:
            self.stream.write(line + "\n")
        self._last_phase = (update.phase, update.variant)
        self.stream.flush()


class ProgressTracker:
    """Keeps the plan (phase -> estimated seconds) and reports progress every second from a thread."""

    def __init__(self, plan: Sequence[tuple[str, str, float]], callback: Callable[[Progress], None] | None):
        self.plan = list(plan)
        self.callback = callback
        self.started = time.monotonic()
        self.index = 0
        self.phase_started = self.started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def __enter__(self) -> ProgressTracker:
        if self.callback is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if exc[0] is None:
            self.emit(phase="done", variant="")

    def begin(self, phase: str, variant: str) -> None:
        for i in range(self.index, len(self.plan)):
            if self.plan[i][0] == phase and self.plan[i][1] == variant:
                self.index = i
                break
        self.phase_started = time.monotonic()
        self.emit()

    def remaining(self) -> float:
        if self.index >= len(self.plan):
            return 0.0
        in_phase = time.monotonic() - self.phase_started
        current = max(0.0, self.plan[self.index][2] - in_phase)
        return current + sum(estimate for _, _, estimate in self.plan[self.index + 1 :])

    def emit(self, phase: str | None = None, variant: str | None = None) -> None:
        if self.callback is None:
            return
        current = self.plan[min(self.index, len(self.plan) - 1)]
        done = phase == "done"
        self.callback(
            Progress(
                phase=phase or current[0],
                variant=current[1] if variant is None else variant,
                elapsed_s=time.monotonic() - self.started,
                remaining_s=0.0 if done else self.remaining(),
            )
        )

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.emit()


# -- one run -----------------------------------------------------------------------------


def locust_command(
    *,
    host: str,
    scenario: str,
    duration_s: float | None,
    peak_users: int | None,
    seed: int,
    raw_csv: Path | None = None,
    csv_prefix: Path | None = None,
    exclude_tags: Sequence[str] = (),
) -> list[str]:
    """The headless Locust command line for one run."""
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", host,
        "--scenario", scenario,
        "--seed", str(seed),
        "--only-summary",
        "--exit-code-on-error", "0",
        "--stop-timeout", "0",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if duration_s:
        cmd += ["--scenario-duration", f"{duration_s:g}"]
    if peak_users:
        cmd += ["--peak-users", str(peak_users)]
    if raw_csv is not None:
        cmd += ["--raw-csv", str(raw_csv)]
    if csv_prefix is not None:
        cmd += ["--csv", str(csv_prefix), "--csv-full-history"]
    if exclude_tags:
        cmd += ["--exclude-tags", *exclude_tags]
    return cmd


LOCUSTFILE_VARIABLES = (
    "TWINSHOP_SCENARIO", "TWINSHOP_SCENARIO_DURATION", "TWINSHOP_PEAK_USERS", "TWINSHOP_SEED", "TWINSHOP_TARGET",
    "TWINSHOP_MONOLITH_URL", "TWINSHOP_DISTRIBUTED_URL", "TWINSHOP_RAW_CSV",
)  # fmt: skip


def locust_env() -> dict[str, str]:
    """The environment of a measured Locust run: only the command line decides what it does.

    Locust reads ``LOCUST_*`` variables and the locustfile ``TWINSHOP_*`` ones; a value left in
    someone's shell must not change one variant's run and not the other's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_") and k not in LOCUSTFILE_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def run_locust(
    cmd: list[str], *, log_path: Path, timeout_s: float, on_start: Callable[[int], None] | None = None
) -> int:
    """Run Locust to the end (or kill it after ``timeout_s``); its output goes to ``log_path``."""
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=locust_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if on_start is not None:
            on_start(process.pid)
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_process_group(process)
            raise ComparisonError(
                f"Locust did not finish within {timeout_s:.0f} s and was stopped (see {log_path})"
            ) from None
        finally:
            if process.poll() is None:
                stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop the Locust process we started (and its --processes workers), politely first."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def read_users_history(path: Path, start_time: float) -> list[tuple[float, int]]:
    """(seconds since start, users) from Locust's ``*_stats_history.csv`` (its "Aggregated" rows)."""
    samples: list[tuple[float, int]] = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    try:
                        samples.append((float(row["Timestamp"]) - start_time, int(float(row["User Count"]))))
                    except (KeyError, ValueError):
                        continue
    except OSError:
        return []
    return samples


def answers_ready(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=timeout) as response:  # noqa: S310 - our URL
            return response.status == 200
    except OSError:
        return False


def ensure_up(engine, variant: str) -> tuple[str, float | None]:
    """The variant's URL, starting it when it does not answer; seconds it took (None: it was up)."""
    url = engine.entry_url(variant)
    if answers_ready(url):
        return url, None
    try:
        seconds = engine.up(variant)
    except Exception as exc:
        raise ComparisonError(f"the {variant} variant did not start: {exc}") from exc
    if not answers_ready(url, timeout=10):
        raise ComparisonError(f"the {variant} variant started but {url}/readyz does not answer 200")
    return url, float(seconds) if seconds is not None else None


def measure_variant(
    engine,
    variant: str,
    *,
    scenario: Scenario,
    duration_s: float | None,
    peak_users: int | None,
    seed: int,
    warmup_s: float,
    reset: bool,
    data_dir: Path,
    tracker: ProgressTracker,
    fault_events: Sequence[faults.FaultEvent] = (),
    check_invariants: bool = True,
    warmup_scenario: str = "warmup",
) -> VariantRun:
    """Start, reset, warm up and measure one variant; with ``fault_events``, apply them during the run,
    start every service again after it, and (by default) check the invariants in its database."""
    tracker.begin("start", variant)
    url, startup_s = ensure_up(engine, variant)

    if reset:
        tracker.begin("reset", variant)
        try:
            engine.reset(variant)
        except Exception as exc:
            raise ComparisonError(f"could not reset the {variant} data: {exc}") from exc

    data_dir.mkdir(parents=True, exist_ok=True)
    if warmup_s > 0:
        tracker.begin("warm-up", variant)
        warmup_log = data_dir / "warmup.log"
        code = run_locust(
            locust_command(
                host=url,
                scenario=warmup_scenario,
                duration_s=warmup_s,
                peak_users=None,
                seed=seed,
                exclude_tags=("write",),
            ),
            log_path=warmup_log,
            timeout_s=warmup_s + 90,
        )
        if code != 0:
            raise ComparisonError(f"the warm-up against {variant} failed (exit {code}): {tail(warmup_log)}")

    tracker.begin("run", variant)
    raw_csv = data_dir / "requests.csv"
    csv_prefix = data_dir / "locust"
    log_path = data_dir / "locust.log"
    meta_path = raw_csv.with_name(f"{raw_csv.stem}.meta.json")
    for old in [*stats.raw_csv_parts(raw_csv), meta_path]:
        old.unlink(missing_ok=True)
    try:
        services = {name: pid for name, pid in engine.pids(variant).items() if pid}
    except Exception as exc:
        raise ComparisonError(f"could not list the {variant} processes: {exc}") from exc
    before = None
    if check_invariants:
        try:
            before = invariants.snapshot(engine, variant)
        except Exception as exc:
            raise ComparisonError(f"could not read the {variant} database before the run: {exc}") from exc
    sampler = CpuSampler(services).start()
    drill = (
        FaultDrill(engine, variant, fault_events, meta_path, data_dir / "faults.log", sampler) if fault_events else None
    )
    pids_after: dict[str, int] = {}
    restored: list[str] = []

    def on_start(pid: int) -> None:
        sampler.watch("locust", pid)
        if drill is not None:
            drill.begin()

    try:
        try:
            code = run_locust(
                locust_command(
                    host=url,
                    scenario=scenario.name,
                    duration_s=duration_s,
                    peak_users=peak_users,
                    seed=seed,
                    raw_csv=raw_csv,
                    csv_prefix=csv_prefix,
                ),
                log_path=log_path,
                timeout_s=scenario.duration_s + 120,
                on_start=on_start,
            )
        finally:
            samples = sampler.stop()
            if drill is not None:
                drill.stop()
                pids_after = drill.pids_now()
                tracker.begin("restore", variant)
                restored = restore(engine, variant)
    finally:
        if drill is not None:
            drill.close()
    if code != 0:
        raise ComparisonError(f"Locust failed against {variant} (exit {code}): {tail(log_path)}")

    records = stats.read_raw_csv(raw_csv)
    if not records:
        raise ComparisonError(f"the run against {variant} produced no data (see {log_path}): {tail(log_path)}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        start_time = float(meta["start_time"])
    except (OSError, ValueError, KeyError):
        start_time = records[0].timestamp
    end_time = start_time + scenario.duration_s
    users = read_users_history(Path(f"{csv_prefix}_stats_history.csv"), start_time)
    if not users:
        users = [(float(t), scenario.planned_users(t)) for t in range(int(scenario.duration_s) + 1)]
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    checked = None
    if check_invariants:
        tracker.begin("checks", variant)
        checked = invariants.check(engine, variant, records, before)
    events = drills.run_events(drill.applied(), fault_events, start_time=start_time, variant=variant) if drill else []
    return VariantRun(
        variant=variant,
        url=url,
        scenario=scenario,
        start_time=start_time,
        end_time=end_time,
        records=records,
        users=users,
        cpu=[(s.time - start_time, s.label, s.percent) for s in samples],
        services=services,
        startup_s=startup_s,
        locust_cpu_warning=LOCUST_CPU_WARNING in log_text,
        files={
            "raw": raw_csv,
            "meta": meta_path,
            "log": log_path,
            "locust_csv": Path(f"{csv_prefix}_stats.csv"),
        },
        events=events,
        pids_before=dict(services),
        pids_after=pids_after,
        restored=restored,
        api_replicas=api_replicas_of(engine) if variant == "distributed" else None,
        invariants=checked,
    )


# -- fault drills ------------------------------------------------------------------------


def api_replicas_of(engine) -> int | None:
    try:
        options = engine.options("distributed")
    except Exception:  # an engine without options
        return None
    return getattr(options, "api", None)


class FaultDrill:
    """Applies the fault events of one run at their times, relative to the moment the run's stages start.

    Locust writes that moment to ``requests.meta.json`` once it has read the catalogue; a thread
    waits for the file and then starts the :class:`~loadtests.faults.FaultScheduler`. While the
    drill runs, the CPU sampler is told the new pid of every service that restarts.
    """

    def __init__(self, engine, variant: str, events, meta_path: Path, log_path: Path, sampler: CpuSampler):
        self.engine, self.variant, self.events = engine, variant, list(events)
        self.meta_path, self.sampler = meta_path, sampler
        self._log = open(log_path, "w", encoding="utf-8")  # closed by close()
        self._lock = threading.Lock()
        self.scheduler = faults.FaultScheduler(
            engine, variant, self.events, api_replicas=api_replicas_of(engine) or 3, log=self.log
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def log(self, message: str) -> None:
        with self._lock:
            if not self._log.closed:
                self._log.write(f"{time.strftime('%H:%M:%S')} {message}\n")
                self._log.flush()

    def begin(self) -> None:
        for target in (self._start_on_time, self._follow_pids):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _start_on_time(self) -> None:
        while not self._stop.wait(0.05):
            try:
                start_time = float(json.loads(self.meta_path.read_text(encoding="utf-8"))["start_time"])
            except (OSError, ValueError, KeyError):
                continue
            self.log(f"run started at {start_time:.3f}; events: {', '.join(e.label for e in self.events)}")
            self.scheduler.start(start_time)
            return

    def _follow_pids(self) -> None:
        while not self._stop.wait(2.0):
            for name, pid in self.pids_now().items():
                if self.sampler.groups.get(name) != pid:
                    self.sampler.watch(name, pid)

    def pids_now(self) -> dict[str, int]:
        try:
            return {name: pid for name, pid in self.engine.pids(self.variant).items() if pid}
        except Exception:  # supervisord busy or gone for a moment: try again later
            return {}

    def stop(self) -> None:
        self._stop.set()
        self.scheduler.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    def applied(self) -> list:
        return list(self.scheduler.applied)

    def close(self) -> None:
        with self._lock:
            self._log.close()


def restore(engine, variant: str, timeout_s: float = 90.0) -> list[str]:
    """Start every service of the variant that is not running, and wait until all are healthy again.

    Returns the services that had to be started. Raises ComparisonError when they do not come back:
    the next variant must not be measured beside a half-broken one.
    """
    try:
        rows = [row for row in engine.status() if row.variant == variant]
        stopped = [row.name for row in rows if row.state != "RUNNING" and row.name != "monolith"]
        names = ["monolith"] if variant == "monolith" else [s.name for s in engine.topology(variant).services]
        for name in names:
            engine.start(name)
    except Exception as exc:
        raise ComparisonError(f"could not start the {variant} services again after the drill: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    url = engine.entry_url(variant)
    while time.monotonic() < deadline:
        rows = [row for row in engine.status() if row.variant == variant]
        if all(row.state == "RUNNING" and row.health == "healthy" for row in rows) and answers_ready(url):
            return stopped
        time.sleep(0.5)
    unhealthy = [f"{row.name} ({row.state}, {row.health})" for row in rows if row.health != "healthy"]
    raise ComparisonError(
        f"the {variant} services did not all come back within {timeout_s:.0f} s after the drill: {', '.join(unhealthy)}"
    )


# -- the comparison ----------------------------------------------------------------------


def default_out_dir() -> Path:
    """``reports/<timestamp>/`` in the project folder."""
    return PROJECT_ROOT / "reports" / time.strftime("%Y%m%d-%H%M%S")


def machine_facts() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    return {
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1m": round(load[0], 2) if load[0] is not None else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def options_of(engine, variant: str):
    """The options the variant was started with (twinshop.engine.Options), or None when unknown."""
    try:
        return engine.options(variant)
    except Exception:  # an engine without options: nothing was set by it
        return None


def cpu_caps_of(engine, variants: Sequence[str]) -> dict[str, str] | None:
    """Each variant's CPU limit as the engine applied it, in words; None when no variant was capped."""
    caps = {}
    for variant in variants:
        options = options_of(engine, variant)
        parts = []
        if getattr(options, "cpus", None):
            parts.append(f"{options.cpus:g} cores for the whole variant")
        if getattr(options, "node_cpus", None):
            parts.append(f"{options.node_cpus:g} cores per service")
        if getattr(options, "api_cpus", None):
            parts.append(f"{options.api_cpus:g} cores per API replica")
        caps[variant] = ", ".join(parts) or "uncapped"
    return caps if any(text != "uncapped" for text in caps.values()) else None


def access_logs_of(engine, variants: Sequence[str]) -> tuple[str, ...]:
    """The variants that run with a log line per request (`twinshop up ... --access-log`)."""
    return tuple(v for v in variants if getattr(options_of(engine, v), "access_log", False))


def locust_version() -> str:
    try:
        from importlib.metadata import version

        return version("locust")
    except Exception:  # metadata missing: not worth failing a comparison over
        return "unknown"


def resolve_scenario(scenario: str | None, quick: bool, duration_s: float | None) -> tuple[str, float | None]:
    """(scenario name, duration override): --quick squeezes any scenario into 60 s."""
    name = scenario or (QUICK_SCENARIO if quick else DEFAULT_SCENARIO)
    if name not in MEASURED_SCENARIOS:
        raise ComparisonError(f"unknown scenario {name!r}; choose one of: {', '.join(MEASURED_SCENARIOS)}")
    if duration_s is None and quick and name != QUICK_SCENARIO:
        duration_s = QUICK_DURATION_S
    return name, duration_s


def run_comparison(
    engine,
    *,
    scenario: str | None = None,
    quick: bool = False,
    out_dir: Path | None = None,
    variants: Sequence[str] = VARIANTS,
    progress: Callable[[Progress], None] | None = None,
    duration_s: float | None = None,
    peak_users: int | None = None,
    seed: int = DEFAULT_SEED,
    warmup_s: float | None = None,
    reset: bool = True,
    cpu_caps: Mapping[str, str] | None = None,
    fault: str | Sequence[faults.FaultEvent] | None = None,
    check_invariants: bool = True,
) -> Path:
    """Measure each variant with the same scenario and write the report; returns the path of index.html.

    ``scenario`` defaults to "quick" with ``quick`` and "step" otherwise; ``quick`` also squeezes
    another scenario into 60 s and shortens the warm-up. ``duration_s`` and ``peak_users``
    stretch the scenario (tests use a few seconds). ``progress`` receives :class:`Progress`
    updates every second (default: a bar on stderr). ``cpu_caps`` describes per-variant CPU
    limits; by default they are read from the engine (``twinshop up --cpus``), and a run
    without limits is reported as uncapped.

    ``fault`` (``"kill:api-1@30s,start:api-1@45s"`` or parsed events) is applied to each variant
    during its measured run, times counted from the start of the run; afterwards every service
    is started again. ``check_invariants`` checks the database after every run (accepted orders
    all there, no negative stock, no key with two orders, stock adds up).
    Raises :class:`ComparisonError` when a variant does not start or a run produced no data, and
    :class:`InvariantViolation` (after writing the report) when an invariant does not hold.
    """
    from loadtests import report  # matplotlib is slow to import; the CLI's other commands never need it

    name, duration_s = resolve_scenario(scenario, quick, duration_s)
    plan_scenario = get_scenario(name, duration_s=duration_s, peak_users=peak_users)
    fault_events = parse_faults(fault, plan_scenario.duration_s)
    if warmup_s is None:
        warmup_s = QUICK_WARMUP_S if quick or (duration_s and duration_s < 60) else WARMUP_S
    if not variants:
        raise ComparisonError("no variant to compare")
    out_dir = Path(out_dir) if out_dir else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = StderrProgressBar() if progress is None else progress

    plan: list[tuple[str, str, float]] = []
    for variant in variants:
        plan += [
            ("start", variant, 2.0 if answers_ready(engine.entry_url(variant)) else 20.0),
            ("reset", variant, 4.0 if reset else 0.0),
            ("warm-up", variant, warmup_s + 3.0 if warmup_s else 0.0),
            ("run", variant, plan_scenario.duration_s + 4.0),
            ("restore", variant, 3.0 if fault_events else 0.0),
            ("checks", variant, 1.0 if check_invariants else 0.0),
        ]
    plan.append(("report", "", 6.0))

    machine = machine_facts()
    runs: list[VariantRun] = []
    running_during: dict[str, list[str]] = {}
    with ProgressTracker(plan, progress) as tracker:
        for variant in variants:
            run = measure_variant(
                engine,
                variant,
                scenario=plan_scenario,
                duration_s=duration_s,
                peak_users=peak_users,
                seed=seed,
                warmup_s=warmup_s,
                reset=reset,
                data_dir=out_dir / "data" / variant,
                tracker=tracker,
                fault_events=fault_events,
                check_invariants=check_invariants,
            )
            runs.append(run)
            running_during[variant] = [v for v in VARIANTS if v != variant and answers_ready(engine.entry_url(v))]
        tracker.begin("report", "")
        fairness = report.Fairness(
            scenario=plan_scenario,
            seed=seed,
            warmup_s=warmup_s,
            reset=reset,
            cpu_caps=dict(cpu_caps) if cpu_caps else cpu_caps_of(engine, variants),
            machine=machine,
            locust_version=locust_version(),
            load_generator_limit=LOAD_GENERATOR_LIMIT,
            others_running=running_during,
            fault_spec=",".join(e.label for e in fault_events) or None,
            access_logs=access_logs_of(engine, variants),
        )
        index = report.write_report(out_dir, runs, fairness)
    violations = [
        f"{run.variant}: {text}" for run in runs if run.invariants is not None for text in run.invariants.violations()
    ]
    if violations:
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise InvariantViolation(f"invariant violated on {violations[0]}{more}; report: {index}", index)
    return index


def parse_faults(fault: str | Sequence[faults.FaultEvent] | None, duration_s: float) -> list[faults.FaultEvent]:
    """The fault events of a comparison, each inside the run (a one-line ComparisonError otherwise)."""
    if not fault:
        return []
    try:
        events = faults.parse(fault) if isinstance(fault, str) else sorted(fault, key=lambda e: e.at_s)
    except faults.FaultSpecError as exc:
        raise ComparisonError(f"--fault: {exc}") from exc
    late = [e.label for e in events if e.at_s >= duration_s]
    if late:
        raise ComparisonError(
            f"--fault: {', '.join(late)} would happen after the end of the {duration_s:g}-second run "
            "(use --duration or an earlier time)"
        )
    return events
