"""CPU during a run, once a second: each service of the variant, the load generator, the harness itself,
the whole machine — and so everything else, the interference a fair comparison must not have.

Every figure is CPU time read from the kernel's counters (user + system seconds), in percent of
one core (200 % = two cores busy). Where each service's CPU can be read is the engine's business
(:meth:`~twinshop.engines.base.Engine.cpu_sources`: a process tree, a container's cgroup); when a
service restarts during a fault drill the sampler asks the engine again, so the new process is
counted from its first second.

Labels of the samples: the service names, ``locust``, ``harness``, ``machine`` (the machine's
busy CPU in user and system time — interrupt handling is left out: on loopback it is the
experiment's own network traffic), ``others`` (machine minus the variant, Locust and the
harness), ``steal`` (time the hypervisor gave to other guests, where the kernel reports it)
and, for a service or a load generator made of several processes, ``<label>/<part>`` (each
gunicorn worker, each Locust worker).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import psutil

from loadtests.analysis.run import HARNESS, LOCUST, MACHINE, OTHERS, STEAL
from twinshop.engines.base import CpuReading, CpuSource, Engine, EngineError
from twinshop.engines.local import ProcessTree


@dataclass(frozen=True)
class CpuSample:
    time: float  # unix time at the end of the second
    label: str
    percent: float  # of one core


class MachineCpu:
    """The whole machine's busy time and steal time since the previous reading."""

    def __init__(self):
        self._last = psutil.cpu_times()

    def read(self) -> tuple[float, float]:
        now = psutil.cpu_times()
        # irq and softirq are left out: on loopback they are the experiment's own network traffic.
        busy = sum(getattr(now, f, 0.0) - getattr(self._last, f, 0.0) for f in ("user", "nice", "system"))
        steal = getattr(now, "steal", 0.0) - getattr(self._last, "steal", 0.0)
        self._last = now
        return max(0.0, busy), max(0.0, steal)


class CpuSampler:
    """Samples one variant's services, the load generator and the machine from a background thread."""

    def __init__(self, engine: Engine, variant: str, *, interval_s: float = 1.0):
        self.engine, self.variant, self.interval_s = engine, variant, interval_s
        self.samples: list[CpuSample] = []
        self._sources: dict[str, CpuSource] = {}
        self._extra: dict[str, CpuSource] = {HARNESS: ProcessTree(os.getpid(), children=False)}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._machine = MachineCpu()
        self._last_time = time.monotonic()
        self._refresh_due = 0.0

    def watch(self, label: str, pid: int) -> None:
        """Also sample this process tree (the load generator; with workers, each one as a part)."""
        source = ProcessTree(pid)
        source.read()
        with self._lock:
            self._extra[label] = source

    def start(self) -> CpuSampler:
        self._refresh()
        for source in self._extra.values():
            source.read()
        self._machine.read()
        self._last_time = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> list[CpuSample]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return list(self.samples)

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._sources)

    def _refresh(self) -> None:
        """Ask the engine where each service's CPU is now (a restarted service has a new process)."""
        try:
            fresh = self.engine.cpu_sources(self.variant)
        except (EngineError, OSError):
            return  # the supervisor is busy or restarting: try again at the next refresh
        with self._lock:
            for name, source in fresh.items():
                if name not in self._sources or self._sources[name].pid != source.pid:
                    source.read()  # its baseline: counted from now on
                    self._sources[name] = source

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()

    def sample_once(self) -> None:
        now = time.monotonic()
        elapsed = max(1e-6, now - self._last_time)
        self._last_time = now
        stamp = time.time()

        def percent(seconds: float) -> float:
            return max(0.0, seconds) / elapsed * 100.0

        with self._lock:
            sources, extra = dict(self._sources), dict(self._extra)
        ours = 0.0
        gone = False
        for label, source in {**sources, **extra}.items():
            reading: CpuReading | None = source.read()
            if reading is None:
                gone = gone or label in sources
                continue
            ours += reading.seconds
            self.samples.append(CpuSample(stamp, label, percent(reading.seconds)))
            if (label in sources or label == LOCUST) and len(reading.parts) > 1:
                for part, seconds in reading.parts.items():
                    self.samples.append(CpuSample(stamp, f"{label}/{part}", percent(seconds)))
        busy, steal = self._machine.read()
        self.samples.append(CpuSample(stamp, MACHINE, percent(busy)))
        self.samples.append(CpuSample(stamp, OTHERS, percent(busy - ours)))
        self.samples.append(CpuSample(stamp, STEAL, percent(steal)))
        if gone or now >= self._refresh_due:
            self._refresh_due = now + 2.0
            self._refresh()


def as_tuples(samples: list[CpuSample], start_time: float) -> list[tuple[float, str, float]]:
    """(seconds since the run's start, label, percent) — the form the analysis reads."""
    return [(s.time - start_time, s.label, s.percent) for s in samples]
