"""What must hold after every run, faults or not: checked in the database against what the clients saw.

* every order the clients saw accepted (a 201 from ``POST /api/orders``, a 303 from
  ``POST /checkout``; the raw CSV keeps its id) exists in the database, exactly once;
* no product has a stock below zero;
* no ``Idempotency-Key`` belongs to two orders;
* no order is left without lines (an order is all or nothing);
* stock adds up: for every product, the stock before the run minus the units ordered during
  it is the stock after it (no lost update, no oversell);
* order events, once the backlog has drained (:func:`wait_for_events`, bounded): every order in
  the database has exactly one confirmation mail in the variant's mailbox, and is counted exactly
  once in the sales figures, which add up to the orders' lines.

All the SQL lives in :mod:`shop.repository` (read-only functions); this module compares.
A violation makes ``twinshop compare`` exit non-zero, after the report is written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pymysql

from loadtests.records import RequestRecord
from twinshop.engines.base import DatabaseReads, Engine, EngineError
from twinshop.events import Unreachable

REPLAY = "(replay)"  # requests that resend an Idempotency-Key on purpose: the same order comes back
DRAIN_TIMEOUT_S = 120.0  # how long the checks wait for the order events' backlog to drain after a run
EVENT_QUEUES = ("mailer", "sales")


@dataclass(frozen=True)
class Snapshot:
    """The database before a run: stock and units ordered per product, and the number of orders."""

    stock: dict[int, int]
    ordered: dict[int, int]
    orders: int


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Drain:
    """How long the order events' backlog took to drain after the run (every order mailed and counted, the
    outbox and the queues empty) — or what was still pending when the wait gave up."""

    seconds: float
    drained: bool
    pending: str = ""  # what was left, in words, when it did not drain
    dead_letters: int | None = None  # messages in the dead-letter queue (None: no broker)

    def as_dict(self) -> dict:
        return {"seconds": self.seconds, "drained": self.drained, "pending": self.pending,
                "dead_letters": self.dead_letters}  # fmt: skip


@dataclass
class Invariants:
    variant: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the checks could not run (that fails the run too)
    drain: Drain | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    def violations(self) -> list[str]:
        if self.error:
            return [f"could not check the invariants: {self.error}"]
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]

    def as_dict(self) -> dict:
        return {
            "variant": self.variant,
            "ok": self.ok,
            "checks": [c.as_dict() for c in self.checks],
            "notes": self.notes,
            "error": self.error,
            "drain": self.drain.as_dict() if self.drain is not None else None,
        }


def snapshot(engine: Engine, variant: str) -> Snapshot:
    with engine.repository(variant) as repo:
        return Snapshot(stock=repo.stock_levels(), ordered=repo.ordered_quantities(), orders=repo.order_count())


def accepted_orders(records: Sequence[RequestRecord]) -> tuple[set[int], dict[int, int]]:
    """(every accepted order id, ids that two different non-replay requests were given)."""
    ids = {r.order_id for r in records if r.order_id is not None}
    firsts = Counter(r.order_id for r in records if r.order_id is not None and REPLAY not in r.name)
    return ids, {order_id: n for order_id, n in firsts.items() if n > 1}


def sample(values, n: int = 5) -> str:
    values = sorted(values)
    text = ", ".join(str(v) for v in values[:n])
    return text + (f" … ({len(values)} in all)" if len(values) > n else "")


def event_backlog(engine: Engine, variant: str, repo: DatabaseReads) -> tuple[str, int | None]:
    """What is left of the order events' work ("" when nothing), and the dead letters (None: no broker)."""
    progress = repo.event_progress()
    left = []
    if progress["mailed"] < progress["orders"]:
        left.append(f"{progress['orders'] - progress['mailed']} orders not mailed yet")
    if progress["counted"] < progress["orders"]:
        left.append(f"{progress['orders'] - progress['counted']} orders not counted yet")
    if progress["unpublished"]:
        left.append(f"{progress['unpublished']} events still in the outbox")
    dead = None
    broker = engine.broker(variant)
    if broker is not None:
        try:
            queues = broker.queues()
        except Unreachable:
            left.append("the broker does not answer")
        else:
            left += [f"{queues[q].messages} messages in queue {q}" for q in EVENT_QUEUES if q in queues and
                     queues[q].messages]  # fmt: skip
            dead = queues["dead-letters"].messages if "dead-letters" in queues else 0
    return "; ".join(left), dead


def wait_for_events(engine: Engine, variant: str, *, timeout_s: float = DRAIN_TIMEOUT_S) -> Drain:
    """Wait (bounded) until every order is mailed and counted and nothing waits in the outbox or the queues.

    A message is dead-lettered only after its bounded retries, which take a few seconds: a real
    order's dead letter then shows up as "not mailed" below, and the wait runs to its bound.
    """
    started = time.monotonic()
    pending, dead = "the checks did not start", None
    while True:
        try:
            with engine.repository(variant, wait_s=5) as repo:
                while True:
                    pending, dead = event_backlog(engine, variant, repo)
                    elapsed = time.monotonic() - started
                    if not pending:
                        return Drain(elapsed, True, "", dead)
                    if elapsed > timeout_s:
                        return Drain(elapsed, False, pending, dead)
                    time.sleep(0.5)
        # The database not answering yet (a drill restarted it): ask again, within the same bound.
        except (EngineError, pymysql.err.MySQLError) as exc:
            pending = f"the database does not answer ({' '.join(str(exc).split())[:120]})"
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            return Drain(elapsed, False, pending, dead)
        time.sleep(0.5)


def check_events(engine: Engine, variant: str, repo: DatabaseReads, result: Invariants) -> None:
    """Every order mailed exactly once (the mailbox itself is asked) and counted once; the figures add up."""
    orders = repo.order_ids()
    try:
        mails = Counter(m["order"] for m in engine.mailbox(variant).messages() if m.get("order") is not None)
    except Unreachable as exc:
        result.checks.append(Check("every order mailed exactly once", False, f"the mailbox does not answer: {exc}"))
        mails = None
    if mails is not None:
        missing = orders - set(mails)
        doubled = {order: n for order, n in mails.items() if n > 1 and order in orders}
        if missing or doubled:
            parts = []
            if missing:
                parts.append(f"{len(missing)} of {len(orders):,} orders have no confirmation mail: {sample(missing)}")
            if doubled:
                parts.append(f"{len(doubled)} orders got more than one mail: {sample(doubled)}")
            detail = "; ".join(parts)
        else:
            detail = f"all {len(orders):,} orders have exactly one confirmation mail in the mailbox"
        result.checks.append(Check("every order mailed exactly once", not missing and not doubled, detail))
        strays = set(mails) - orders
        if strays:
            result.notes.append(
                f"{len(strays)} mails confirm orders that are not in the database: {sample(strays)} (the order "
                "was rolled back after its mail had left - in the monolith, the COMMIT failed after the SMTP send)."
            )
    counted = repo.sales_counted_orders()
    uncounted = orders - counted
    result.checks.append(Check(
        "every order counted once in the sales figures",
        not uncounted and counted <= orders,
        f"all {len(orders):,} orders are counted, once each (one row per order)" if not uncounted
        else f"{len(uncounted)} orders are not in the sales figures: {sample(uncounted)}",
    ))  # fmt: skip
    figures, expected = repo.category_sales(), repo.expected_category_sales()
    wrong = sorted(c for c in set(figures) | set(expected) if figures.get(c) != expected.get(c))
    result.checks.append(Check(
        "sales figures add up",
        not wrong,
        f"for every category, the figures equal the sum of the counted orders' lines ({len(expected)} categories)"
        if not wrong else f"{len(wrong)} categories' figures differ from their orders' lines: {sample(wrong)}",
    ))  # fmt: skip


def check(
    engine: Engine,
    variant: str,
    records: Sequence[RequestRecord],
    before: Snapshot | None = None,
    drain: Drain | None = None,
) -> Invariants:
    """Run every check on the variant's database (which must be running); the order events' too when
    ``drain`` says how their backlog drained."""
    result = Invariants(variant, drain=drain)
    try:
        with engine.repository(variant, wait_s=30) as repo:
            run_checks(result, repo, records, before)
            if drain is not None:
                check_events(engine, variant, repo, result)
    # The database did not come back, or a query failed: the checks are incomplete, which fails the run.
    except (EngineError, pymysql.err.MySQLError) as exc:
        result.error = " ".join(str(exc).split())[:300]
        return result
    if drain is not None:
        if drain.drained:
            result.notes.append(f"The order events' backlog drained {drain.seconds:.1f} s after the run ended.")
        else:
            result.notes.append(f"The order events' backlog had not drained {drain.seconds:.0f} s after the run "
                                f"ended: {drain.pending}.")  # fmt: skip
        if drain.dead_letters:
            result.notes.append(f"{drain.dead_letters} messages are in the dead-letter queue (`twinshop status`).")
    return result


def run_checks(
    result: Invariants, repo: DatabaseReads, records: Sequence[RequestRecord], before: Snapshot | None
) -> None:
    """Append every check's outcome to ``result``."""
    ids, reused = accepted_orders(records)
    found = repo.orders_exist(ids)
    missing = ids - found
    if missing:
        detail = f"{len(missing)} of {len(ids)} accepted orders are not in the database: {sample(missing)}"
    elif reused:
        detail = f"{len(reused)} order ids were handed to two different orders: {sample(reused)}"
    else:
        detail = f"all {len(ids):,} orders the clients saw accepted are in the database, once each"
    result.checks.append(Check("accepted orders exist exactly once", not missing and not reused, detail))

    negative = repo.negative_stock_count()
    result.checks.append(
        Check(
            "no stock below zero",
            negative == 0,
            "no product has a negative stock" if not negative else f"{negative} products have a negative stock",
        )
    )

    keys = repo.duplicate_idempotency_keys()
    result.checks.append(
        Check(
            "no Idempotency-Key with two orders",
            not keys,
            "every Idempotency-Key has at most one order"
            if not keys
            else f"keys with several orders: {', '.join(keys)}",
        )
    )

    halves = repo.orders_without_items()
    result.checks.append(
        Check(
            "no half order",
            halves == 0,
            "every order has its lines" if not halves else f"{halves} orders have no line at all",
        )
    )

    if before is not None:
        after = Snapshot(stock=repo.stock_levels(), ordered=repo.ordered_quantities(), orders=repo.order_count())
        wrong = [
            pid
            for pid, stock in before.stock.items()
            if stock - (after.ordered.get(pid, 0) - before.ordered.get(pid, 0)) != after.stock.get(pid)
        ]
        result.checks.append(
            Check(
                "stock adds up",
                not wrong,
                f"for all {len(before.stock):,} products, stock before − units ordered = stock after"
                if not wrong
                else f"{len(wrong)} products' stock does not match the orders: {sample(wrong)}",
            )
        )
        new_orders = after.orders - before.orders
        unseen = new_orders - len(found)
        result.notes.append(
            f"{new_orders:,} orders were committed during the run; the clients saw {len(ids):,} of them accepted."
        )
        if unseen > 0:
            result.notes.append(
                f"{unseen:,} orders were committed although their client did not see the answer (the request "
                "failed or timed out after the commit). Not a violation: a retry with the same Idempotency-Key "
                "returns the same order instead of creating a second one."
            )
