"""The Locust process and its files: the command lines (headless runs and the web UI), its
environment, starting and stopping it, and reading back what it wrote.

Each measured run is a separate ``python -m locust`` process (its own session, so it and any
``--processes`` workers can be stopped as a group) writing into one folder:

| file | written by | what |
|---|---|---|
| ``requests.csv`` | the recorder | every request (the report's raw data) |
| ``requests.meta.json`` | the locustfile | when the stages started, the scenario, the seed |
| ``locust_stats_history.csv`` | Locust | its running totals, of which the harness reads the user count |
| ``locust.log`` | Locust | its output |
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import loadtests
from loadtests.records import raw_csv_parts, read_raw_csv

LOCUSTFILE = Path(loadtests.__file__).resolve().with_name("locustfile.py")
LOCUST_CPU_WARNING = "CPU usage above"  # what Locust itself logs when it is starved


class LocustFailed(RuntimeError):
    """Locust did not run to its end; the message says why in one line."""


def environment() -> dict[str, str]:
    """The environment of a Locust process: only its command line decides what it does.

    Locust reads ``LOCUST_*`` variables and the locustfile ``TWINSHOP_*`` ones (.env.example): a value
    left in someone's shell must not change one variant's run and not the other's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "TWINSHOP_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def headless_command(
    *,
    host: str,
    scenario: str,
    duration_s: float | None,
    peak_users: int | None,
    seed: int,
    files: RunFiles | None = None,
    exclude_tags: Sequence[str] = (),
    workers: int = 0,
) -> list[str]:
    """The Locust command line for one measured (or warm-up) run; ``workers``: a master and that many worker
    processes on this machine (Locust's ``--processes``), for loads one process cannot generate."""
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
    if files is not None:
        cmd += ["--raw-csv", str(files.raw), "--csv", str(files.csv_prefix), "--csv-full-history"]
    if exclude_tags:
        cmd += ["--exclude-tags", *exclude_tags]
    if workers:
        cmd += ["--processes", str(workers)]
    return cmd


def web_ui_command(*, urls: dict[str, str], target: str, scenario: str, web_port: int) -> list[str]:
    """The command that opens Locust's web UI on 127.0.0.1:``web_port``, aimed at ``target``."""
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--web-host", "127.0.0.1",
        "--web-port", str(web_port),
        "--scenario", scenario,
        "--host", urls[target],
    ]  # fmt: skip
    for variant, url in urls.items():
        cmd += [f"--{variant}-url", url]
    return cmd


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files go."""

    folder: Path

    @property
    def raw(self) -> Path:
        return self.folder / "requests.csv"

    @property
    def meta(self) -> Path:
        return self.folder / "requests.meta.json"

    @property
    def log(self) -> Path:
        return self.folder / "locust.log"

    @property
    def csv_prefix(self) -> Path:
        return self.folder / "locust"

    @property
    def history(self) -> Path:
        return self.folder / "locust_stats_history.csv"

    def clear(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in [*raw_csv_parts(self.raw), self.meta]:
            old.unlink(missing_ok=True)

    def start_time(self) -> float | None:
        """When the run's stages started (unix time), as the locustfile wrote it."""
        try:
            return float(json.loads(self.meta.read_text(encoding="utf-8"))["start_time"])
        except (OSError, ValueError, KeyError):
            return None

    def records(self):
        return read_raw_csv(self.raw)

    def users(self, start_time: float) -> list[tuple[float, int]]:
        """(seconds since the start, users running) from Locust's history ("Aggregated" rows)."""
        samples: list[tuple[float, int]] = []
        try:
            with open(self.history, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    if row.get("Name") == "Aggregated":
                        try:
                            samples.append((float(row["Timestamp"]) - start_time, int(float(row["User Count"]))))
                        except (KeyError, ValueError):
                            continue
        except OSError:
            return []
        return samples

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text[-lines:])

    def locust_warned_about_cpu(self) -> bool:
        try:
            return LOCUST_CPU_WARNING in self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False


class LocustProcess:
    """One Locust process, in its own session; ``with`` guarantees it is stopped, however the block ends."""

    def __init__(self, cmd: list[str], files: RunFiles):
        self.cmd, self.files = cmd, files
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> LocustProcess:
        self.files.folder.mkdir(parents=True, exist_ok=True)
        self._log = open(self.files.log, "w", encoding="utf-8")  # closed in __exit__
        self.process = subprocess.Popen(
            self.cmd,
            cwd=self.files.folder,
            env=environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait(self, timeout_s: float) -> None:
        """Wait for Locust to finish; LocustFailed when it runs too long or exits with an error."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise LocustFailed(
                f"Locust did not finish within {timeout_s:.0f} s and was stopped (see {self.files.log})"
            ) from None
        if code != 0:
            raise LocustFailed(f"Locust exited with status {code}: {self.files.log_tail()}")

    def stop(self) -> None:
        """Stop Locust (and its --processes workers): SIGTERM to the group, then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
