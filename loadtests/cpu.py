"""Samples, once a second, the CPU each service (with its child processes) and the load generator use.

CPU is measured from the kernel's per-process counters (user + system seconds), so a
sample is exactly the CPU time a process group used during that second, in percent of one
core (200 % = two cores busy). Child processes are looked up again at each sample, so
gunicorn workers that restart are still counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

MACHINE = "machine"
"""Label of the whole-machine sample (percent of one core, all processes)."""


@dataclass(frozen=True)
class CpuSample:
    time: float  # unix time at the end of the second
    label: str  # a service name, "locust", or MACHINE
    percent: float  # of one core


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


class CpuSampler:
    """A background thread sampling process groups: ``{label: root pid}``; add more with :meth:`watch`."""

    def __init__(self, groups: Mapping[str, int] | None = None, *, interval_s: float = 1.0):
        self.interval_s = interval_s
        self.groups: dict[str, int] = dict(groups or {})
        self.samples: list[CpuSample] = []
        self._last: dict[int, float] = {}  # pid -> cpu seconds at the previous sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._machine_last: float | None = None

    def watch(self, label: str, pid: int) -> None:
        with self._lock:
            self.groups[label] = pid

    def start(self) -> CpuSampler:
        self._baseline()
        self._thread.start()
        return self

    def stop(self) -> list[CpuSample]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return list(self.samples)

    def _machine_seconds(self) -> float:
        times = psutil.cpu_times()
        return times.user + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)

    def _baseline(self) -> None:
        with self._lock:
            groups = dict(self.groups)
        for pid in groups.values():
            for process in process_tree(pid):
                seconds = cpu_seconds(process)
                if seconds is not None:
                    self._last[process.pid] = seconds
        self._machine_last = self._machine_seconds()
        self._last_time = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()

    def sample_once(self) -> None:
        now = time.monotonic()
        elapsed = max(1e-6, now - self._last_time)
        self._last_time = now
        stamp = time.time()
        with self._lock:
            groups = dict(self.groups)
        seen: dict[int, float] = {}
        for label, pid in groups.items():
            used = 0.0
            for process in process_tree(pid):
                seconds = cpu_seconds(process)
                if seconds is None:
                    continue
                # A process born since the last sample counts from zero; one we saw counts its delta.
                used += seconds - self._last.get(process.pid, 0.0)
                seen[process.pid] = seconds
            self.samples.append(CpuSample(stamp, label, max(0.0, used) / elapsed * 100.0))
        self._last = seen
        machine = self._machine_seconds()
        if self._machine_last is not None:
            self.samples.append(CpuSample(stamp, MACHINE, max(0.0, machine - self._machine_last) / elapsed * 100.0))
        self._machine_last = machine
