"""Fault drills, in one place: the ``--fault`` grammar, how each event maps onto each variant, the
check against the running topology, the scheduler that applies events during a run, and the
analysis of what they did to the traffic.

Grammar: comma-separated ``ACTION:TARGET@TIME``, TIME as ``30s``, ``1m30s`` or ``45`` (seconds
after the measured run starts). Actions:

* ``kill``  - stop the service and keep it stopped (``twinshop kill``);
* ``start`` - start it again (``twinshop start``);
* ``crash`` - SIGKILL its process; its supervisor restarts it by itself, like a container's
  restart policy (the downtime is what the report measures);
* ``kill-all-primaries`` / ``start-all-primaries`` with TARGET ``api`` - every primary API
  replica at once (the standby, when running, takes over);
* ``slow`` / ``fast`` with TARGET ``mail`` - the mail server takes ``SLOW_MAIL_S`` to accept each
  mail, then its usual pace again;
* node faults, with TARGET a node of the Swarm (``--engine swarm``, ``twinshop cluster up``):
  ``kill-node`` - the whole engine dies at once, with every task on it (a power cut);
  ``start-node`` - it is powered on again and rejoins; ``partition`` - it is cut off the
  cluster's network, its tasks still running but unreachable; ``heal`` - the cut is undone.
  After the run every node is started and healed again, like every service.

The same events are applied to both variants where they make sense: a node of the monolith
is the whole box, so killing any application node (``api-1``, ``web-2``, ``lb``, every
primary) kills ``monolith`` there, and ``db`` is the box's own MariaDB (``monolith:mariadb``).
Events naming the monolith do not apply to the distributed variant. The order events' services:
``mail`` exists in both variants (the monolith's checkout sends its mail there itself);
``broker``, ``mailer-N`` and ``sales`` only in the distributed variant (skipped on the monolith,
which mails and counts inline, with the reason). The monolith has one machine: a node fault there
is that machine's fault, so ``kill-node`` and ``partition`` stop the box and ``start-node`` and
``heal`` start it again. A target that names no service of either variant (``api-9`` with three
replicas), or no node of the cluster, is refused before anything starts.

Analysis conventions, on top of those of :mod:`loadtests.analysis.stats`:

* A second is **healthy** when requests finished in it and at least ``HEALTHY_PERCENT`` (99 %)
  of them succeeded; a second in which no request finished while users were running is not
  healthy (everything hung or was refused before an answer).
* **Time to recover** from an event: from the event to the first second after which requests
  succeed again — the start of the first run of ``RECOVERY_RUN_S`` (3) healthy seconds after
  the first unhealthy second at or after the event. An event after which no second is
  unhealthy had no visible impact (0 s). An event whose window (until the next event of the
  run, or the end) holds no such run is "not recovered" within it. Resolution: one second.
* An **outage** is a stretch of unhealthy seconds; stretches separated by fewer than
  ``RECOVERY_RUN_S`` healthy seconds are one outage.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.analysis import stats
from loadtests.records import RequestRecord
from twinshop.engines.base import Engine, EngineError
from twinshop.events import Unreachable

# -- the grammar ---------------------------------------------------------------------------

# The node faults, and the engine method each one calls (only the swarm engine has them).
NODE_ACTIONS = {"kill-node": "kill_node", "start-node": "start_node", "partition": "partition", "heal": "heal"}
ACTIONS = ("kill", "start", "crash", "kill-all-primaries", "start-all-primaries", "slow", "fast", *NODE_ACTIONS)
SLOW_MAIL_S = 0.5  # slow:mail - seconds the mail server waits before accepting each mail
EVENT_ONLY = ("broker", "sales", "mailer")  # services of the distributed variant's order events (mailer-N too)
TIME = re.compile(r"^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")
TARGET = re.compile(r"^[a-z][a-z0-9:-]*$")
NODE = re.compile(r"^node-[1-9]\d*$")


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
    action: str  # kill | start | crash | kill-node | start-node | partition | heal
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
        if action in NODE_ACTIONS and not NODE.match(target):
            raise FaultSpecError(f"{part!r}: {action} takes a node of the Swarm (node-2, node-3, ...)")
        if action in ("slow", "fast") and target != "mail":
            raise FaultSpecError(f"{part!r}: {action} takes the target mail (the mail server)")
        events.append(FaultEvent(action, target, parse_time(when)))
    if not events:
        raise FaultSpecError("no event given (e.g. kill:api-1@30s)")
    return sorted(events, key=lambda e: e.at_s)


def resolve(event: FaultEvent, variant: str, *, api_replicas: int) -> tuple[str, tuple[str, ...], str | None]:
    """(action, services, skip reason) for an event on one variant."""
    primaries = tuple(f"api-{n}" for n in range(1, api_replicas + 1))
    if event.action in NODE_ACTIONS:
        if variant == "monolith":  # its one machine fails: the whole box
            return ("kill" if event.action in ("kill-node", "partition") else "start"), ("monolith",), None
        return event.action, (event.target,), None
    base_action = event.action.split("-")[0]  # kill | start | crash | slow | fast
    if event.target == "mail":  # both variants have their own mail server, outside the box
        return base_action, ("mail",), None
    if event.target.split("-")[0] in EVENT_ONLY:
        if variant == "monolith":
            return base_action, (), "the monolith has no broker nor consumers: its checkout mails and counts inline"
        return base_action, (event.target,), None
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


def check_targets(events: Sequence[FaultEvent], services: dict[str, Sequence[str]],
                  nodes: Sequence[str] = ()) -> None:  # fmt: skip
    """Refuse, before anything starts, an event whose target names no service of any variant (or no node).

    ``services``: each variant's service names as it will run (``monolith`` and its
    ``monolith:*`` processes, ``db``, ``lb``, ``web-N``, ``api-N``, ``api-standby``); ``nodes``:
    the nodes of the Swarm the distributed variant runs on (none on the other engines). The first
    node is the manager, with the load balancer and the database: it is not killed nor cut off.
    """
    known = {name for names in services.values() for name in names} | {"monolith"}
    for event in events:
        if event.action in NODE_ACTIONS:
            if not nodes:
                raise FaultSpecError(f"{event.label}: node faults need the distributed variant on a Swarm: "
                                     "`twinshop cluster up --nodes 3`, then --engine swarm")  # fmt: skip
            if event.target not in nodes:
                raise FaultSpecError(f"{event.label}: there is no node {event.target!r} (the cluster has "
                                     f"{', '.join(nodes)})")  # fmt: skip
            if event.target == nodes[0] and event.action in ("kill-node", "partition"):
                others = ", ".join(nodes[1:]) or "none: start a cluster of 2 nodes or more"
                raise FaultSpecError(f"{event.label}: {nodes[0]} is the manager and holds the load balancer and the "
                                     f"database; pick a worker ({others})")  # fmt: skip
            continue
        if event.action.endswith("-all-primaries") or event.target in known:
            continue
        tier = event.target.rsplit("-", 1)[0]
        same_tier = sorted(n for n in known if n.rsplit("-", 1)[0] == tier and n != event.target)
        hint = f" (this run has {', '.join(same_tier)})" if same_tier else f" (services: {', '.join(sorted(known))})"
        raise FaultSpecError(f"{event.label}: there is no service {event.target!r}{hint}")


def check_times(events: Sequence[FaultEvent], duration_s: float) -> None:
    """Refuse events that would happen after the end of the run."""
    late = [e.label for e in events if e.at_s >= duration_s]
    if late:
        raise FaultSpecError(
            f"{', '.join(late)} would happen after the end of the {duration_s:g}-second run "
            "(use --duration or an earlier time)"
        )


class Drill:
    """Applies one variant's events during one run, at their times counted from the moment its stages start.

    Locust writes that moment to ``requests.meta.json`` once it has read the catalogue; a thread
    waits for the file, then applies each event on time (every service of an event at the same
    moment, as in a real outage) and logs what it did to ``faults.log``.
    """

    def __init__(
        self, engine: Engine, variant: str, events: Sequence[FaultEvent], *, meta_path: Path, log_path: Path,
        api_replicas: int,
    ):  # fmt: skip
        self.engine, self.variant, self.events = engine, variant, list(events)
        self.meta_path, self.api_replicas = meta_path, api_replicas
        self.applied: list[AppliedEvent] = []
        self.start_time: float | None = None
        self._log = open(log_path, "w", encoding="utf-8")  # closed by stop()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"drill-{variant}", daemon=True)

    def log(self, message: str) -> None:
        with self._lock:
            if not self._log.closed:
                self._log.write(f"{time.strftime('%H:%M:%S')} {message}\n")
                self._log.flush()

    def begin(self) -> None:
        self._thread.start()

    def next_event(self, now: float | None = None) -> tuple[str, float] | None:
        """The next event still to come and the seconds until it (None: none, or the run has not started)."""
        if self.start_time is None:
            return None
        now = time.time() if now is None else now
        for event in self.events:
            due = self.start_time + event.at_s - now
            if due > 0:
                return event.label, due
        return None

    def _run(self) -> None:
        while self.start_time is None:
            if self._stop.wait(0.05):
                return
            try:
                self.start_time = float(json.loads(self.meta_path.read_text(encoding="utf-8"))["start_time"])
            except (OSError, ValueError, KeyError):
                continue
        self.log(f"run started at {self.start_time:.3f}; events: {', '.join(e.label for e in self.events)}")
        for event in self.events:
            if self._stop.wait(max(0.0, self.start_time + event.at_s - time.time())):
                return
            self.applied.append(self.apply(event))

    def apply(self, event: FaultEvent) -> AppliedEvent:
        action, services, skipped = resolve(event, self.variant, api_replicas=self.api_replicas)
        if skipped:
            self.log(f"{event.label}: skipped on {self.variant} ({skipped})")
            return AppliedEvent(event, self.variant, (), action, skipped=skipped)
        applied_at = time.time()
        try:
            if action in ("slow", "fast"):
                self.engine.mailbox(self.variant).set_delay(SLOW_MAIL_S if action == "slow" else 0.0)
            else:
                # Several services (every primary) are hit at the same moment, as in a real outage:
                # one after the other, the last would still be serving while the first were gone.
                method = getattr(self.engine, NODE_ACTIONS.get(action, action))
                kwargs = {} if action in NODE_ACTIONS else {"variant": self.variant}
                with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
                    calls = [pool.submit(method, name, **kwargs) for name in services]
                    for future in calls:
                        future.result()
        except (EngineError, OSError, Unreachable) as exc:  # recorded in the report; the run goes on
            self.log(f"{event.label}: failed on {self.variant}: {exc}")
            return AppliedEvent(event, self.variant, services, action, applied_at=applied_at, error=str(exc))
        self.log(f"{event.label}: {action} {', '.join(services)} on {self.variant}")
        return AppliedEvent(event, self.variant, services, action, applied_at=applied_at)

    def stop(self) -> list[AppliedEvent]:
        """Stop applying events (the run is over) and return what was applied."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        with self._lock:
            self._log.close()
        return list(self.applied)


# -- what the events did: the analysis -------------------------------------------------------

HEALTHY_PERCENT = 99.0
RECOVERY_RUN_S = 3
AROUND_S = 10.0  # the windows before / after each event
LOSS_TARGET_PERCENT = 0.5  # killing 1 of 3 API replicas may cost at most this share of the requests
FAILED = "no answer"  # failed requests that got no HTTP answer (refused, reset, timed out)
ERROR = "error answer"  # failed requests that got an answer: an error status, or a wrong page


@dataclass(frozen=True)
class RunEvent:
    """A fault event as it happened (or not) during one variant's run; times in seconds since its start."""

    label: str  # as typed: kill:api-1@30s
    action: str  # kill | start | crash | kill-node | start-node | partition | heal
    target: str
    planned_s: float
    applied_s: float | None  # None: not applied (skipped, failed, or after the end)
    services: tuple[str, ...] = ()
    skipped: str | None = None
    error: str | None = None

    @property
    def happened(self) -> bool:
        return self.applied_s is not None and not self.skipped and not self.error

    @property
    def outcome(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.error:
            return f"failed: {self.error}"
        if self.applied_s is None:
            return "not applied"
        return f"{self.action} {', '.join(self.services)}"

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "action": self.action,
            "target": self.target,
            "planned_s": self.planned_s,
            "applied_s": self.applied_s,
            "services": list(self.services),
            "skipped": self.skipped,
            "error": self.error,
            "outcome": self.outcome,
        }


def run_events(applied: Sequence, planned: Sequence, *, start_time: float, variant: str) -> list[RunEvent]:
    """RunEvents from the scheduler's AppliedEvents, plus the planned events it never reached."""
    result: list[RunEvent] = []
    seen = set()
    for item in applied:
        event = item.event
        seen.add((event.action, event.target, event.at_s))
        result.append(
            RunEvent(
                label=event.label,
                action=item.action,
                target=event.target,
                planned_s=event.at_s,
                applied_s=None if item.applied_at is None else item.applied_at - start_time,
                services=tuple(item.services),
                skipped=item.skipped,
                error=item.error,
            )
        )
    for event in planned:
        if (event.action, event.target, event.at_s) not in seen:
            result.append(
                RunEvent(
                    label=event.label,
                    action=event.action if event.action in NODE_ACTIONS else event.action.split("-")[0],
                    target=event.target,
                    planned_s=event.at_s,
                    applied_s=None,
                    skipped=f"the {variant} run ended before {event.at_s:g} s",
                )
            )
    return sorted(result, key=lambda e: e.planned_s)


# -- second by second ------------------------------------------------------------------------


def healthy(second: stats.Second) -> bool:
    if second.requests == 0:
        return False
    return 100.0 * (second.requests - second.failures) / second.requests >= HEALTHY_PERCENT


def health_by_second(series: Sequence[stats.Second], *, users_known: bool = True) -> list[bool | None]:
    """True/False per second; None for an empty second while no user ran (nothing to judge)."""
    result: list[bool | None] = []
    for second in series:
        if second.requests == 0 and users_known and not second.users:
            result.append(None)
        else:
            result.append(healthy(second))
    return result


def first_recovery(health: Sequence[bool | None], begin: int, end: int) -> int | None:
    """The first second r in [begin, end) that starts RECOVERY_RUN_S healthy seconds in a row.

    The run may reach past ``end``; seconds without users (None) neither count nor break it.
    """
    run_start, run = None, 0
    for t in range(begin, len(health)):
        if health[t] is None:
            continue
        if health[t] is False:
            run_start, run = None, 0
            continue
        if run_start is None:
            if t >= end:
                return None
            run_start = t
        run += 1
        if run >= RECOVERY_RUN_S:
            return run_start
    return None


@dataclass(frozen=True)
class Window:
    """Requests that finished in [from_s, to_s) seconds after the start."""

    from_s: float
    to_s: float
    requests: int
    failures: int

    @property
    def availability(self) -> float | None:
        return None if not self.requests else 100.0 * (self.requests - self.failures) / self.requests

    def as_dict(self) -> dict:
        return {
            "from_s": self.from_s,
            "to_s": self.to_s,
            "requests": self.requests,
            "failures": self.failures,
            "availability": self.availability,
        }


def window(records: Sequence[RequestRecord], *, start: float, from_s: float, to_s: float) -> Window:
    inside = stats.in_window(records, start=start, window=(from_s, to_s))
    return Window(from_s, to_s, len(inside), sum(1 for r in inside if not r.success))


@dataclass(frozen=True)
class Impact:
    """What one applied event did to the traffic of its variant."""

    event: RunEvent
    before: Window  # AROUND_S before the event
    after: Window  # AROUND_S after it
    until_next: Window  # from the event to the next applied event (or the end)
    next_label: str | None  # the event that closes the window (None: the end of the run)
    first_unhealthy_s: float | None  # seconds since the start; None: no unhealthy second
    recovery_s: float | None  # seconds from the event; None: not recovered within the window
    unhealthy_seconds: int
    failing_from_s: float | None = None  # first / last failed request (finish, seconds since the start)
    failing_to_s: float | None = None  # ... between the event and the recovery (or the window's end)

    @property
    def failing_span_s(self) -> float | None:
        if self.failing_from_s is None or self.failing_to_s is None:
            return None
        return self.failing_to_s - self.failing_from_s

    @property
    def impact(self) -> bool:
        return self.first_unhealthy_s is not None

    @property
    def recovered(self) -> bool:
        return self.recovery_s is not None

    def recovery_text(self) -> str:
        if not self.impact:
            return "no visible impact"
        if self.recovery_s is None:
            until = self.next_label or "the end of the run"
            return f"not recovered before {until}"
        return f"{self.recovery_s:.0f} s"

    def as_dict(self) -> dict:
        return {
            "event": self.event.as_dict(),
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "until_next": self.until_next.as_dict(),
            "next_event": self.next_label,
            "first_unhealthy_s": self.first_unhealthy_s,
            "recovery_s": self.recovery_s,
            "recovered": self.recovered,
            "impact": self.impact,
            "unhealthy_seconds": self.unhealthy_seconds,
            "recovery": self.recovery_text(),
            "failing_from_s": self.failing_from_s,
            "failing_to_s": self.failing_to_s,
        }


def impacts(
    records: Sequence[RequestRecord],
    series: Sequence[stats.Second],
    events: Sequence[RunEvent],
    *,
    start: float,
    duration_s: float,
) -> list[Impact]:
    """The impact of every event that happened, in time order."""
    happened = sorted((e for e in events if e.happened), key=lambda e: e.applied_s)
    health = health_by_second(series, users_known=any(s.users is not None for s in series))
    result = []
    for i, event in enumerate(happened):
        at = float(event.applied_s)
        nxt = happened[i + 1] if i + 1 < len(happened) else None
        end = float(nxt.applied_s) if nxt else duration_s
        begin_second = max(0, math.floor(at))
        end_second = min(len(health), max(begin_second + 1, math.ceil(end)))
        unhealthy = [t for t in range(begin_second, end_second) if health[t] is False]
        first = unhealthy[0] if unhealthy else None
        recovery = None
        if first is None:
            recovery = 0.0
        else:
            # A recovery must start before the next event (whose own second belongs to it), or the run ends.
            limit = math.floor(end) if nxt else len(health)
            r = first_recovery(health, first, limit)
            if r is not None:
                recovery = max(0.0, r - at)
        stop = end if recovery is None or first is None else max(at, at + recovery)
        failing = (
            [r.finished - start for r in records if not r.success and at <= r.finished - start < stop]
            if first is not None
            else []
        )
        result.append(
            Impact(
                event=event,
                before=window(records, start=start, from_s=max(0.0, at - AROUND_S), to_s=at),
                after=window(records, start=start, from_s=at, to_s=min(duration_s, at + AROUND_S)),
                until_next=window(records, start=start, from_s=at, to_s=end),
                next_label=nxt.label if nxt else None,
                first_unhealthy_s=None if first is None else float(first),
                recovery_s=recovery,
                unhealthy_seconds=len(unhealthy),
                failing_from_s=min(failing) if failing else None,
                failing_to_s=max(failing) if failing else None,
            )
        )
    return result


@dataclass(frozen=True)
class Outage:
    from_s: int
    to_s: int  # exclusive: the first healthy second after it
    failures: int

    @property
    def duration_s(self) -> int:
        return self.to_s - self.from_s

    def as_dict(self) -> dict:
        return {"from_s": self.from_s, "to_s": self.to_s, "duration_s": self.duration_s, "failures": self.failures}


def outages(series: Sequence[stats.Second]) -> list[Outage]:
    """Stretches of unhealthy seconds (merged across gaps shorter than RECOVERY_RUN_S healthy seconds)."""
    health = health_by_second(series, users_known=any(s.users is not None for s in series))
    spans: list[list[int]] = []
    for t, ok in enumerate(health):
        if ok is False:
            if spans and t - spans[-1][1] < RECOVERY_RUN_S:
                spans[-1][1] = t + 1
            else:
                spans.append([t, t + 1])
    return [Outage(a, b, sum(series[t].failures for t in range(a, b))) for a, b in spans]


# -- which nodes served the traffic --------------------------------------------------------------


@dataclass
class NodeSeries:
    """Successful requests per second that each node took part in (from X-Served-By), and the failures."""

    seconds: int
    nodes: dict[str, list[int]] = field(default_factory=dict)
    errors: list[int] = field(default_factory=list)  # failed requests that got an answer (an error status)
    failed: list[int] = field(default_factory=list)  # failed requests that got no answer at all (status 0)

    def tiers(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for node in sorted(self.nodes, key=stats.node_sort_key):
            grouped[stats.node_tier(node)].append(node)
        return dict(grouped)

    def machines(self) -> dict[str, dict[str, list[int]]]:
        """Per tier, per machine (``api-2@node-3`` runs on node-3): the requests its tasks served each second.

        Empty when no node names its machine (every engine but the swarm one)."""
        grouped: dict[str, dict[str, list[int]]] = {}
        for node, values in self.nodes.items():
            _task, machine = task_and_machine(node)
            if machine is None:
                continue
            sums = grouped.setdefault(stats.node_tier(node), {}).setdefault(machine, [0] * self.seconds)
            for t, v in enumerate(values):
                sums[t] += v
        return {tier: dict(sorted(m.items(), key=lambda i: stats.node_sort_key(i[0]))) for tier, m in grouped.items()}


def task_and_machine(node: str) -> tuple[str, str | None]:
    """``api-2@node-3`` -> (``api-2``, ``node-3``): a Swarm task and its node; ``api-2`` -> (``api-2``, None)."""
    task, at, machine = node.partition("@")
    return task, (machine if at else None)


def moved_tasks(series: NodeSeries, machine: str, at_s: float) -> dict[str, float | None]:
    """The tasks that served from ``machine`` in the AROUND_S seconds before ``at_s``, and for each the seconds
    from ``at_s`` to the end of the first second in which it served from another machine (None: not in this run)."""
    begin, at = max(0, math.floor(at_s - AROUND_S)), math.floor(at_s)
    moved: dict[str, float | None] = {}
    for node, values in series.nodes.items():
        task, where = task_and_machine(node)
        if where != machine or not any(values[begin : at + 1]):
            continue
        elsewhere = [n for n in series.nodes if task_and_machine(n)[0] == task and task_and_machine(n)[1] not in
                     (None, machine)]  # fmt: skip
        first = min((t for n in elsewhere for t, v in enumerate(series.nodes[n]) if v and t >= at), default=None)
        moved[task] = None if first is None else max(0.0, first + 1 - at_s)
    return dict(sorted(moved.items(), key=lambda i: stats.node_sort_key(i[0])))


def node_series(records: Sequence[RequestRecord], *, start: float, seconds: int) -> NodeSeries:
    """Per second (by finish time): the successful requests each node served (a page naming two nodes counts
    for both), the failed requests that got an error answer, and those that got no answer."""
    counts: dict[str, list[int]] = {}
    errors = [0] * seconds
    failed = [0] * seconds
    for record in records:
        t = math.floor(record.finished - start)
        if not 0 <= t < seconds:
            continue
        if not record.success:
            if record.status:
                errors[t] += 1
            else:
                failed[t] += 1
            continue
        for node in (n.strip() for n in record.served_by.split(",")):
            if node:
                counts.setdefault(node, [0] * seconds)[t] += 1
    return NodeSeries(seconds=seconds, nodes=counts, errors=errors, failed=failed)


def first_seen(series: NodeSeries, node: str) -> int | None:
    values = series.nodes.get(node) or []
    return next((t for t, v in enumerate(values) if v), None)


# -- the targets of the drills -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A claim of the course, measured on one run: met, missed, or not measurable here."""

    name: str
    variant: str
    met: bool | None  # None: measured but no target applies (e.g. the monolith's side of a comparison)
    measured: str  # the figures, in words

    def as_dict(self) -> dict:
        return {"name": self.name, "variant": self.variant, "met": self.met, "measured": self.measured}


KILL_ONE_API = "killing 1 API replica costs ≤ 0.5 % of requests"
NODE_LOSS_TARGET_PERCENT = 2.0
RESCHEDULE_TARGET_S = 40.0
KILL_ONE_NODE = "killing 1 node costs ≤ 2 % of requests and its tasks serve again from other nodes within 40 s"
PARTITION_ONE_NODE = "a partitioned node's tasks serve again from other nodes within 40 s (≤ 2 % of requests lost)"
DB_RESTART = "a database restart is recovered by every service with no manual step"
CRASH_RESTART = "a crashed monolith process is restarted by supervisord (downtime reported)"


def app_services(pids: dict[str, int]) -> dict[str, int]:
    """The application processes (everything but the databases and the box's supervisord row)."""
    return {n: p for n, p in pids.items() if n not in ("db", "monolith:mariadb", "monolith")}


def targets(
    variant: str,
    found: Sequence[Impact],
    *,
    api_replicas: int | None,
    pids_before: dict[str, int],
    pids_after: dict[str, int],
    nodes: NodeSeries | None = None,
) -> list[Target]:
    """The targets that the events of this run make measurable."""
    result: list[Target] = []
    for impact in found:
        e = impact.event
        w = impact.until_next
        share = 100.0 * w.failures / w.requests if w.requests else 0.0
        window_text = f"{w.from_s:.1f}–{w.to_s:.1f} s"
        if e.target.startswith("node-") and e.action in ("kill-node", "partition", "kill"):
            result += node_targets(variant, impact, share, window_text, nodes)
            continue
        if e.action == "kill" and len(e.services) == 1 and e.services[0].startswith("api-") and e.target != "api":
            if variant == "distributed":
                result.append(
                    Target(
                        KILL_ONE_API,
                        variant,
                        share <= LOSS_TARGET_PERCENT,
                        f"{e.label}: {w.failures:,} of {w.requests:,} requests failed from the kill to "
                        f"{impact.next_label or 'the end'} ({window_text}) = {share:.2f} % "
                        f"(1 of {api_replicas or '?'} replicas; target ≤ {LOSS_TARGET_PERCENT:g} %)",
                    )
                )
        elif e.action == "kill" and e.services == ("monolith",) and e.target.startswith("api-"):
            result.append(
                Target(
                    KILL_ONE_API,
                    variant,
                    None,
                    f"{e.label}: on the monolith an API node is the whole box, so the whole shop stopped: "
                    f"{w.failures:,} of {w.requests:,} requests failed ({share:.1f} %) in {window_text}",
                )
            )
    starts = [i for i in found if i.event.action == "start" and set(i.event.services) & {"db", "monolith:mariadb"}]
    kills = [i for i in found if i.event.action == "kill" and set(i.event.services) & {"db", "monolith:mariadb"}]
    if kills and starts:
        start = starts[-1]
        apps_before, apps_after = app_services(pids_before), app_services(pids_after)
        restarted = sorted(n for n, p in apps_before.items() if apps_after.get(n) != p)
        ok = start.recovered and not restarted
        how = (
            f"requests succeed again {start.recovery_text()} after {start.event.label}"
            if start.recovered
            else f"requests did not succeed again after {start.event.label} ({start.recovery_text()})"
        )
        who = (
            f"no application process restarted ({', '.join(sorted(apps_before)) or 'none'}: same pids)"
            if not restarted
            else f"restarted: {', '.join(restarted)}"
        )
        result.append(Target(DB_RESTART, variant, ok, f"{how}; {who}"))
    for impact in found:
        e = impact.event
        if e.action == "crash" and variant == "monolith":
            gunicorn = "monolith:gunicorn"
            new_pid = pids_after.get(gunicorn) not in (None, pids_before.get(gunicorn))
            ok = impact.recovered and new_pid
            downtime = (
                f"downtime {impact.recovery_text()} (from the crash until requests succeed again)"
                if impact.recovered
                else impact.recovery_text()
            )
            if impact.failing_span_s is not None:
                downtime += (
                    f"; requests failed from {impact.failing_from_s:.2f} s to {impact.failing_to_s:.2f} s "
                    f"({impact.failing_span_s:.2f} s)"
                )
            result.append(
                Target(
                    CRASH_RESTART,
                    variant,
                    ok,
                    f"{e.label}: {downtime}; {impact.until_next.failures:,} requests failed; gunicorn "
                    + (
                        f"pid {pids_before.get(gunicorn)} -> {pids_after.get(gunicorn)} (restarted by supervisord)"
                        if new_pid
                        else "pid unchanged (not restarted?)"
                    ),
                )
            )
    return result


def node_targets(variant: str, impact: Impact, share: float, window_text: str,
                 nodes: NodeSeries | None) -> list[Target]:  # fmt: skip
    """A node killed or cut off: the requests lost, and how soon its tasks served again from the other nodes."""
    e, w = impact.event, impact.until_next
    name = KILL_ONE_NODE if e.label.startswith("kill-node") else PARTITION_ONE_NODE
    lost = f"{w.failures:,} of {w.requests:,} requests failed from the event to {impact.next_label or 'the end'} " \
           f"({window_text}) = {share:.2f} %"  # fmt: skip
    if variant == "monolith" or e.action == "kill":
        return [Target(name, variant, None, f"{e.label}: the monolith's one machine is the whole box, so the whole "
                       f"shop stopped: {lost}")]  # fmt: skip
    moved = moved_tasks(nodes, e.target, float(e.applied_s)) if nodes is not None else {}
    if not moved:
        return [Target(name, variant, None, f"{e.label}: no task of the shop served from {e.target} before the "
                       f"event; {lost}")]  # fmt: skip
    times = ", ".join(f"{task} {'not again in this run' if s is None else f'{s:.0f} s'}" for task, s in moved.items())
    slowest = None if any(s is None for s in moved.values()) else max(moved.values())
    met = share <= NODE_LOSS_TARGET_PERCENT and slowest is not None and slowest <= RESCHEDULE_TARGET_S
    return [Target(name, variant, met, f"{e.label}: {lost} (target ≤ {NODE_LOSS_TARGET_PERCENT:g} %); its tasks "
                   f"served again from other nodes after: {times} (target ≤ {RESCHEDULE_TARGET_S:g} s)")]  # fmt: skip


def failures_by_status(records: Sequence[RequestRecord]) -> Counter:
    """Failed requests by what the client got: an HTTP status, or no answer at all."""
    return Counter("no answer" if r.status == 0 else f"HTTP {r.status}" for r in records if not r.success)
