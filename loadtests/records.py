"""One request as the load generator saw it, and the raw CSV that keeps every one of them.

The recorder (inside Locust) writes these rows; the analysis (outside) reads them back, so
both sides share this one definition of the file's columns.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RAW_COLUMNS = (
    "timestamp",
    "method",
    "name",
    "response_time_ms",
    "success",
    "status",
    "served_by",
    "server_timing",
    "error",
    "user",
    "order_id",
)
"""Columns of the raw requests CSV: one row per request, written by :mod:`loadtests.visitors.recorder`.

``order_id`` is filled for an order the shop accepted (a 201 from ``POST /api/orders`` or the
303 of ``POST /checkout``), from the ``Location`` header: the invariant checks look for it in
the database after the run."""

@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the load generator saw it."""

    timestamp: float  # unix time the request started
    method: str
    name: str  # the grouped name, e.g. /products/[id]
    response_time_ms: float
    success: bool
    status: int  # 0 when no HTTP response came back (refused, reset, timed out)
    served_by: str = ""  # the X-Served-By header
    server_timing: str = ""  # the Server-Timing header
    error: str = ""
    user: str = ""  # which simulated user sent it, e.g. Browser-0-3 (class, worker, number)
    order_id: int | None = None  # the order the shop accepted with this request (201 / 303 to /orders/<id>)

    @property
    def finished(self) -> float:
        return self.timestamp + self.response_time_ms / 1000.0

    @property
    def answered(self) -> bool:
        """Whether an HTTP answer came back (False: refused, reset or timed out)."""
        return self.status != 0


# -- the raw CSV -------------------------------------------------------------------------


def raw_csv_parts(path: Path) -> list[Path]:
    """The file itself plus the per-process parts ``<stem>.worker-<pid><suffix>`` of a --processes run."""
    path = Path(path)
    parts = [path] if path.exists() else []
    parts += sorted(path.parent.glob(f"{path.stem}.worker-*{path.suffix}"))
    return parts


def read_raw_csv(path: Path) -> list[RequestRecord]:
    """All records of a run (every part), sorted by start time."""
    records: list[RequestRecord] = []
    for part in raw_csv_parts(path):
        with open(part, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                try:
                    records.append(
                        RequestRecord(
                            timestamp=float(row["timestamp"]),
                            method=row["method"],
                            name=row["name"],
                            response_time_ms=float(row["response_time_ms"]),
                            success=row["success"] in ("1", "True", "true"),
                            status=int(row["status"] or 0),
                            served_by=row.get("served_by") or "",
                            server_timing=row.get("server_timing") or "",
                            error=row.get("error") or "",
                            user=row.get("user") or "",
                            order_id=int(row["order_id"]) if row.get("order_id") else None,
                        )
                    )
                except (KeyError, TypeError, ValueError):
                    continue  # a line cut short when the process was killed mid-write
    records.sort(key=lambda r: r.timestamp)
    return records


def raw_row(record: RequestRecord) -> list:
    return [
        f"{record.timestamp:.6f}",
        record.method,
        record.name,
        f"{record.response_time_ms:.3f}",
        1 if record.success else 0,
        record.status,
        record.served_by,
        record.server_timing,
        record.error,
        record.user,
        "" if record.order_id is None else record.order_id,
    ]


def write_raw_csv(path: Path, records: Iterable[RequestRecord]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RAW_COLUMNS)
        writer.writerows(raw_row(r) for r in records)
