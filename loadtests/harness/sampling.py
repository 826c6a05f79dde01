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

import contextlib
import os
import threading
import time
from dataclasses import dataclass

import psutil

from loadtests.analysis.run import HARNESS, LOCUST, MACHINE, OTHERS, STEAL
from twinshop.engines.base import CpuReading, CpuSource, Engine, EngineError
from twinshop.engines.local import ProcessTree
from twinshop.events import Unreachable


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


class EventSampler:
    """The order events once a second, from their own thread (a slow answer never delays the CPU samples):

    * ``queue:<name>:messages`` / ``:acked`` / ``:consumers`` — RabbitMQ's management API (distributed
      variant): messages waiting or being processed, acknowledgements so far, consumers attached;
    * ``db:orders`` / ``db:mailed`` / ``db:counted`` / ``db:unpublished`` — the database: orders, mails
      recorded as sent, orders counted in the sales figures, events still in the outbox (both variants);
    * ``mail:received`` — what the variant's mail server has received so far.

    A source that does not answer (the broker or the database stopped by a drill) leaves a gap for
    those seconds; the others go on.
    """

    def __init__(self, engine: Engine, variant: str, *, interval_s: float = 1.0):
        self.engine, self.variant, self.interval_s = engine, variant, interval_s
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-sampler", daemon=True)
        # An engine that cannot reach the order events (one written before them) leaves those series empty.
        self._broker = engine.broker(variant) if hasattr(engine, "broker") else None
        self._mailbox = engine.mailbox(variant) if hasattr(engine, "mailbox") else None
        self._repo = None
        self._open = contextlib.ExitStack()

    def start(self) -> EventSampler:
        if self._mailbox is not None:  # an engine with the order events: their progress in the database too
            try:
                self._repo = self._open.enter_context(self.engine.repository(self.variant, wait_s=5))
            except Exception:  # noqa: BLE001 - no database figures then; the broker's and the mailbox's remain
                self._repo = None
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, str, float]]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._open.close()
        self._repo = None
        return list(self.samples)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.sample_once()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - began)))

    def sample_once(self) -> None:
        stamp = time.time()
        found: list[tuple[float, str, float]] = []
        if self._broker is not None:
            try:
                for name, state in self._broker.queues(timeout=0.8).items():
                    found += [(stamp, f"queue:{name}:messages", state.messages),
                              (stamp, f"queue:{name}:acked", state.acked),
                              (stamp, f"queue:{name}:consumers", state.consumers)]  # fmt: skip
            except Unreachable:
                pass
        if self._mailbox is not None:
            try:
                found.append((stamp, "mail:received", self._mailbox.count(timeout=0.8)))
            except Unreachable:
                pass
        if self._repo is not None:
            try:
                found += [(stamp, f"db:{key}", value) for key, value in self._repo.event_progress().items()]
            except Exception:  # noqa: BLE001 - the database is down (a drill): a gap in these series
                pass
        self.samples.extend(found)


def relative(samples: list[tuple[float, str, float]], start_time: float) -> list[tuple[float, str, float]]:
    """(seconds since the run's start, label, value)."""
    return [(t - start_time, label, value) for t, label, value in samples]
