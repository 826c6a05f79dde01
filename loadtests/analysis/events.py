"""The order events of one run, second by second: the backlog, the queues, the work done, the dead letters;
and the course's targets about them that the run's fault events make measurable.

Input: the event samples of a run (:class:`loadtests.harness.sampling.EventSampler`, seconds since
the run's start), which go on after the load stops, while the harness waits for the backlog to
drain. Pure computation: no I/O, no words.

Definitions:

* **backlog** (both variants): orders committed but not mailed yet (``db:orders - db:mailed``);
  likewise not counted in the sales figures. The monolith mails inside the checkout, so its
  backlog stays at zero; the distributed variant's is what the outbox, the queue and the
  mailers have not finished yet.
* **queue depth** (distributed): messages in a queue, waiting or being processed (RabbitMQ's
  management API); **consume rate**: the acknowledgements of that queue per second.
* the backlog has **drained** after an event when it is back to its level before the first fault
  event (plus ``DRAIN_MARGIN`` orders in flight); the drain time after an event is from the event
  to the first such second.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtests.drills import RunEvent, Target
from loadtests.records import RequestRecord

QUEUES = ("mailer", "sales", "dead-letters")
DRAIN_MARGIN = 2  # orders in flight still count as drained
MAIL_OUTAGE_DRAIN_S = 30.0  # the target: the backlog drains within this long of the mail server's return
CHECKOUTS = {("POST", "/checkout"), ("POST", "/api/orders")}  # the requests that place an order

MAIL_OUTAGE = "with the mail server down, no checkout fails and the backlog drains within 30 s of its return"
SLOW_MAIL = "a slow mail server slows the checkout down"


def is_checkout(record: RequestRecord) -> bool:
    return (record.method, record.name) in CHECKOUTS


@dataclass
class EventSeries:
    """One value per second (None: not measured that second: its source did not answer)."""

    seconds: int
    backlog_mail: list[float | None] = field(default_factory=list)  # orders not mailed yet
    backlog_sales: list[float | None] = field(default_factory=list)  # orders not counted yet
    outbox: list[float | None] = field(default_factory=list)  # events not published yet
    mails: list[float | None] = field(default_factory=list)  # mails received during that second
    queues: dict[str, list[float | None]] = field(default_factory=dict)  # queue -> messages in it
    consumed: dict[str, list[float | None]] = field(default_factory=dict)  # queue -> acknowledgements that second

    @property
    def has_broker(self) -> bool:
        return any(v is not None for values in self.queues.values() for v in values)


def _last_per_second(samples: Sequence[tuple[float, str, float]], label: str, seconds: int) -> list[float | None]:
    values: list[float | None] = [None] * seconds
    for t, name, value in samples:
        if name == label and 0 <= t < seconds:
            values[math.floor(t)] = value
    return values


def _per_second(cumulative: list[float | None]) -> list[float | None]:
    """A counter's increase in each second (None where either end is unknown; a reset counts from zero)."""
    result: list[float | None] = [None] * len(cumulative)
    previous = None
    for i, value in enumerate(cumulative):
        if value is not None and previous is not None:
            result[i] = value - previous if value >= previous else value
        if value is not None:
            previous = value
        elif previous is not None:
            previous = None  # a gap: the next second has no known start
    return result


def _minus(a: list[float | None], b: list[float | None]) -> list[float | None]:
    return [None if x is None or y is None else max(0.0, x - y) for x, y in zip(a, b, strict=True)]


def series(samples: Sequence[tuple[float, str, float]]) -> EventSeries | None:
    """The per-second series of a run's event samples (None when there were none)."""
    if not samples:
        return None
    seconds = max(0, math.floor(max(t for t, _, _ in samples))) + 1
    get = lambda label: _last_per_second(samples, label, seconds)  # noqa: E731 - a local shorthand
    orders = get("db:orders")
    result = EventSeries(
        seconds=seconds,
        backlog_mail=_minus(orders, get("db:mailed")),
        backlog_sales=_minus(orders, get("db:counted")),
        outbox=get("db:unpublished"),
        mails=_per_second(get("mail:received")),
    )
    for queue in QUEUES:
        messages = get(f"queue:{queue}:messages")
        if any(v is not None for v in messages):
            result.queues[queue] = messages
            result.consumed[queue] = _per_second(get(f"queue:{queue}:acked"))
    return result


@dataclass(frozen=True)
class Backlog:
    """The mail backlog of one run: how high it grew, and when it drained after the last fault event."""

    peak: int
    peak_at_s: float | None
    normal: float  # its level before the first fault event (or over the whole run, without events)
    event: str | None  # the event after which the drain is measured (the last "start"/"fast" one applied)
    event_at_s: float | None
    drained_at_s: float | None  # first second at or after that event back at the normal level; None: never
    dead_letters: int  # the most messages seen in the dead-letter queue

    @property
    def drain_s(self) -> float | None:
        if self.drained_at_s is None or self.event_at_s is None:
            return None
        return max(0.0, self.drained_at_s - self.event_at_s)

    def as_dict(self) -> dict:
        return {"peak": self.peak, "peak_at_s": self.peak_at_s, "normal": self.normal, "event": self.event,
                "event_at_s": self.event_at_s, "drained_at_s": self.drained_at_s, "drain_s": self.drain_s,
                "dead_letters": self.dead_letters}  # fmt: skip


RECOVERIES = ("start", "fast")  # events after which a backlog may drain


def backlog(es: EventSeries, events: Sequence[RunEvent]) -> Backlog:
    values = es.backlog_mail
    known = [(t, v) for t, v in enumerate(values) if v is not None]
    happened = sorted((e for e in events if e.happened), key=lambda e: e.applied_s)
    first = happened[0].applied_s if happened else None
    before = [v for t, v in known if first is None or t < first]
    normal = statistics.median(before) if before else 0.0
    peak_t, peak = max(known, key=lambda tv: tv[1]) if known else (None, 0.0)
    closing = [e for e in happened if e.action in RECOVERIES]
    event = closing[-1] if closing else (happened[-1] if happened else None)
    drained = None
    if event is not None:
        # From the event on - or from the peak, when the backlog only grew after it (a node killed: its
        # mailer's messages wait until Swarm starts it elsewhere): back at the normal level after the peak.
        since = math.floor(event.applied_s)
        if peak_t is not None and peak_t > since and peak > normal + DRAIN_MARGIN:
            since = peak_t
        drained = next((float(t) for t, v in known if t >= since and v <= normal + DRAIN_MARGIN), None)
    dead = max((v for v in es.queues.get("dead-letters", []) if v is not None), default=0)
    return Backlog(int(peak), None if peak_t is None else float(peak_t), normal, event.label if event else None,
                   event.applied_s if event else None, drained, int(dead))  # fmt: skip


@dataclass
class OrderEvents:
    """One run's order events: the series, the backlog, and the checkouts during the fault window."""

    series: EventSeries
    backlog: Backlog

    def as_dict(self) -> dict:
        return {"backlog": self.backlog.as_dict(), "has_broker": self.series.has_broker}


def analyse(samples: Sequence[tuple[float, str, float]], events: Sequence[RunEvent]) -> OrderEvents | None:
    es = series(samples)
    if es is None:
        return None
    return OrderEvents(es, backlog(es, events))


def checkouts_between(records: Sequence[RequestRecord], *, start: float, from_s: float,
                      to_s: float) -> tuple[int, int, list[float]]:  # fmt: skip
    """(checkouts, failed checkouts, response times of the answered ones) sent in [from_s, to_s)."""
    inside = [r for r in records if is_checkout(r) and from_s <= r.timestamp - start < to_s]
    return len(inside), sum(1 for r in inside if not r.success), [r.response_time_ms for r in inside if r.answered]


def p95(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def targets(variant: str, analysis: OrderEvents | None, events: Sequence[RunEvent],
            records: Sequence[RequestRecord], *, start: float, duration_s: float) -> list[Target]:  # fmt: skip
    """The targets the run's mail events make measurable (a mail outage; a slow mail server)."""
    result: list[Target] = []
    happened = sorted((e for e in events if e.happened), key=lambda e: e.applied_s)
    kills = [e for e in happened if e.action == "kill" and "mail" in e.services]
    starts = [e for e in happened if e.action == "start" and "mail" in e.services]
    if kills:
        down_at = kills[0].applied_s
        back = next((e for e in starts if e.applied_s > down_at), None)
        until = back.applied_s if back else duration_s
        total, failed, _ = checkouts_between(records, start=start, from_s=down_at, to_s=until)
        window = f"{down_at:.0f}–{until:.0f} s"
        measured = f"{failed:,} of {total:,} checkouts failed while the mail server was down ({window})"
        drain = analysis.backlog.drain_s if analysis is not None and back is not None else None
        if variant == "distributed":
            if back is None:
                measured += "; it did not come back during the run"
            elif drain is None:
                measured += f"; the backlog had not drained when the samples ended (after {back.label})"
            else:
                peak = analysis.backlog.peak
                measured += f"; the backlog (peak {peak} orders) drained {drain:.0f} s after {back.label}"
            met = failed == 0 and drain is not None and drain <= MAIL_OUTAGE_DRAIN_S
            measured += f" (targets: 0 failed, ≤ {MAIL_OUTAGE_DRAIN_S:g} s)"
            result.append(Target(MAIL_OUTAGE, variant, met, measured))
        else:
            result.append(Target(MAIL_OUTAGE, variant, None, measured + " (the checkout sends the mail itself)"))
    slow = [e for e in happened if e.action == "slow"]
    if slow:
        slow_at = slow[0].applied_s
        fast = next((e for e in happened if e.action == "fast" and e.applied_s > slow_at), None)
        until = fast.applied_s if fast else duration_s
        _, _, before = checkouts_between(records, start=start, from_s=max(0.0, slow_at - 20), to_s=slow_at)
        _, failed, during = checkouts_between(records, start=start, from_s=slow_at, to_s=until)
        b, d = p95(before), p95(during)
        text = (f"checkout p95 {'–' if b is None else f'{b:.0f} ms'} in the 20 s before {slow[0].label}, "
                f"{'–' if d is None else f'{d:.0f} ms'} while the mail server was slow ({failed} failed)")  # fmt: skip
        result.append(Target(SLOW_MAIL, variant, None, text))
    return result
