"""What must hold after every run, faults or not: checked in the database against what the clients saw.

* every order the clients saw accepted (a 201 from ``POST /api/orders``, a 303 from
  ``POST /checkout``; the raw CSV keeps its id) exists in the database, exactly once;
* no product has a stock below zero;
* no ``Idempotency-Key`` belongs to two orders;
* no order is left without lines (an order is all or nothing);
* stock adds up: for every product, the stock before the run minus the units ordered during
  it is the stock after it (no lost update, no oversell).

All the SQL lives in :mod:`shop.repository` (read-only functions); this module compares.
A violation makes ``twinshop compare`` exit non-zero, after the report is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pymysql

from loadtests.records import RequestRecord
from twinshop.engines.base import DatabaseReads, Engine, EngineError

REPLAY = "(replay)"  # requests that resend an Idempotency-Key on purpose: the same order comes back


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


@dataclass
class Invariants:
    variant: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the checks could not run (that fails the run too)

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


def check(
    engine: Engine, variant: str, records: Sequence[RequestRecord], before: Snapshot | None = None
) -> Invariants:
    """Run every check on the variant's database (which must be running)."""
    result = Invariants(variant)
    try:
        with engine.repository(variant, wait_s=30) as repo:
            run_checks(result, repo, records, before)
    # The database did not come back, or a query failed: the checks are incomplete, which fails the run.
    except (EngineError, pymysql.err.MySQLError) as exc:
        result.error = " ".join(str(exc).split())[:300]
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
