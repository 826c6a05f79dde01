"""Fault events for drills: parse ``kill:api-1@30s,start:api-1@45s`` and apply them on time.

Grammar: comma-separated ``ACTION:TARGET@TIME``, TIME as ``30s``, ``1m30s`` or ``45`` (seconds
after the measured run starts). Actions:

* ``kill``  - stop the service and keep it stopped (``twinshop kill``);
* ``start`` - start it again (``twinshop start``);
* ``crash`` - SIGKILL its process; supervisord restarts it by itself, like a container's
  restart policy (the downtime is what the report measures);
* ``kill-all-primaries`` / ``start-all-primaries`` with TARGET ``api`` - every primary API
  replica at once (the standby, when running, takes over).

The same events are applied to both variants where they make sense: a node of the monolith
is the whole box, so killing any application node (``api-1``, ``web-2``, ``lb``, every
primary) kills ``monolith`` there, and ``db`` is the box's own MariaDB (``monolith:mariadb``).
Events naming the monolith do not apply to the distributed variant.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ACTIONS = ("kill", "start", "crash", "kill-all-primaries", "start-all-primaries")
TIME = re.compile(r"^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")
TARGET = re.compile(r"^[a-z][a-z0-9:-]*$")


class FaultSpecError(ValueError):
    """The --fault text cannot be understood; the message says which part and why."""


@dataclass(frozen=True)
class FaultEvent:
    action: str
    target: str
    at_s: float

    @property
    def label(self) -> str:
        return f"{self.action}:{self.target}@{self.at_s:g}s"


@dataclass(frozen=True)
class AppliedEvent:
    """An event as applied to one variant (or skipped there, with the reason)."""

    event: FaultEvent
    variant: str
    services: tuple[str, ...]  # what was actually killed/started there; empty when skipped
    action: str  # kill | start | crash
    skipped: str | None = None
    applied_at: float | None = None  # unix time it happened
    error: str | None = None

    @property
    def label(self) -> str:
        return self.event.label


def parse_time(text: str) -> float:
    match = TIME.match(text.strip())
    if not text.strip() or not match or (match.group(1) is None and match.group(2) is None):
        raise FaultSpecError(f"time {text!r} is not like 30s, 1m30s or 45")
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def parse(spec: str) -> list[FaultEvent]:
    """``kill:api-1@30s,start:api-1@45s`` -> events sorted by time."""
    events = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        head, at, when = part.partition("@")
        action, colon, target = head.partition(":")
        if not at or not colon:
            raise FaultSpecError(f"{part!r} is not ACTION:TARGET@TIME (e.g. kill:api-1@30s)")
        if action not in ACTIONS:
            raise FaultSpecError(f"{part!r}: action {action!r} is not one of {', '.join(ACTIONS)}")
        if not TARGET.match(target):
            raise FaultSpecError(f"{part!r}: {target!r} is not a service name")
        if action.endswith("-all-primaries") and target != "api":
            raise FaultSpecError(f"{part!r}: {action} takes the target api")
        events.append(FaultEvent(action, target, parse_time(when)))
    if not events:
        raise FaultSpecError("no event given (e.g. kill:api-1@30s)")
    return sorted(events, key=lambda e: e.at_s)


def resolve(event: FaultEvent, variant: str, *, api_replicas: int) -> tuple[str, tuple[str, ...], str | None]:
    """(action, services, skip reason) for an event on one variant."""
    primaries = tuple(f"api-{n}" for n in range(1, api_replicas + 1))
    base_action = event.action.split("-")[0]  # kill | start | crash
    if variant == "monolith":
        if event.target in ("db", "monolith:mariadb"):
            return base_action, ("monolith:mariadb",), None
        if event.target == "monolith:gunicorn":
            return base_action, ("monolith:gunicorn",), None
        if base_action == "crash":
            # A crash of an application node: in the box that is its one application process.
            return base_action, ("monolith:gunicorn",), None
        return base_action, ("monolith",), None  # any application node of the box is the box
    if event.target.startswith("monolith"):
        return base_action, (), "the distributed variant has no monolith"
    if event.action.endswith("-all-primaries"):
        return base_action, primaries, None
    return base_action, (event.target,), None


class FaultScheduler:
    """Applies a variant's events at their times (relative to ``start``) from a background thread."""

    def __init__(
        self,
        engine,
        variant: str,
        events: list[FaultEvent],
        *,
        api_replicas: int,
        log: Callable[[str], None] | None = None,
    ):
        self.engine, self.variant, self.events = engine, variant, events
        self.api_replicas = api_replicas
        self.log = log or (lambda message: None)
        self.applied: list[AppliedEvent] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, start_time: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(start_time,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=60)

    def _run(self, start_time: float) -> None:
        for event in self.events:
            if self._stop.wait(max(0.0, start_time + event.at_s - time.time())):
                return
            self.applied.append(self.apply(event))

    def apply(self, event: FaultEvent) -> AppliedEvent:
        action, services, skipped = resolve(event, self.variant, api_replicas=self.api_replicas)
        if skipped:
            self.log(f"{event.label}: skipped on {self.variant} ({skipped})")
            return AppliedEvent(event, self.variant, (), action, skipped=skipped)
        applied_at = time.time()
        try:
            # Several services (every primary) are hit at the same moment, as in a real outage:
            # one after the other, the last would still be serving while the first were gone.
            with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
                for future in [pool.submit(getattr(self.engine, action), name) for name in services]:
                    future.result()
        except Exception as exc:  # recorded in the report; the run goes on
            self.log(f"{event.label}: failed on {self.variant}: {exc}")
            return AppliedEvent(event, self.variant, services, action, applied_at=applied_at, error=str(exc))
        self.log(f"{event.label}: {action} {', '.join(services)} on {self.variant}")
        return AppliedEvent(event, self.variant, services, action, applied_at=applied_at)
