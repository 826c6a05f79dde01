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

from loadtests import stats
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
) -> VariantRun:
    """Start, reset, warm up and measure one variant."""
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
                scenario="warmup",
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
    sampler = CpuSampler(services).start()
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
            on_start=lambda pid: sampler.watch("locust", pid),
        )
    finally:
        samples = sampler.stop()
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


def cpu_caps_of(engine, variants: Sequence[str]) -> dict[str, str] | None:
    """Each variant's CPU limit as the engine applied it, in words; None when no variant was capped."""
    caps = {}
    for variant in variants:
        try:
            options = engine.options(variant)
        except Exception:  # an engine without options: nothing was capped by it
            options = None
        parts = []
        if getattr(options, "cpus", None):
            parts.append(f"{options.cpus:g} cores for the whole variant")
        if getattr(options, "node_cpus", None):
            parts.append(f"{options.node_cpus:g} cores per service")
        caps[variant] = ", ".join(parts) or "uncapped"
    return caps if any(text != "uncapped" for text in caps.values()) else None


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
) -> Path:
    """Measure each variant with the same scenario and write the report; returns the path of index.html.

    ``scenario`` defaults to "quick" with ``quick`` and "step" otherwise; ``quick`` also squeezes
    another scenario into 60 s and shortens the warm-up. ``duration_s`` and ``peak_users``
    stretch the scenario (tests use a few seconds). ``progress`` receives :class:`Progress`
    updates every second (default: a bar on stderr). ``cpu_caps`` describes per-variant CPU
    limits; by default they are read from the engine (``twinshop up --cpus``), and a run
    without limits is reported as uncapped.
    Raises :class:`ComparisonError` when a variant does not start or a run produced no data.
    """
    from loadtests import report  # matplotlib is slow to import; the CLI's other commands never need it

    name, duration_s = resolve_scenario(scenario, quick, duration_s)
    plan_scenario = get_scenario(name, duration_s=duration_s, peak_users=peak_users)
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
        )
        index = report.write_report(out_dir, runs, fairness)
    return index
