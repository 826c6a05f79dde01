"""Statistics from raw per-request records: percentiles, per-second series, steady state, differences.

Pure functions on plain data (plus reading and writing the raw CSV), so each number in the
report can be checked by hand. Conventions, stated once:

* Times in a series are seconds since the run started (``start``, a unix time).
* A request belongs to the second in which it *finished* (start + response time), which is
  how throughput is counted: completed requests per second.
* Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the
  value at rank ceil(p/100 * n) (1-based). It is always a response time that really
  happened, and it is what a student gets by sorting the column and counting.
* Differences are "other minus base" and, in percent, relative to the base.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtests.scenarios import Scenario

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
"""Columns of the raw requests CSV: one row per request, written by :mod:`loadtests.recorder`.

``order_id`` is filled for an order the shop accepted (a 201 from ``POST /api/orders`` or the
303 of ``POST /checkout``), from the ``Location`` header: the invariant checks look for it in
the database after the run."""

PERCENTILES = (50, 95, 99)


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


# -- percentiles -------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (see the module docstring); None for no values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: Sequence[float], ps: Sequence[float] = PERCENTILES) -> dict[str, float | None]:
    """{"p50": ..., "p95": ..., "p99": ...} from one sort."""
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for p in ps:
        key = f"p{p:g}"
        result[key] = ordered[max(1, math.ceil(p / 100.0 * len(ordered))) - 1] if ordered else None
    return result


# -- per-second series -------------------------------------------------------------------


@dataclass(frozen=True)
class Second:
    """One second of a run: requests that finished in [t, t+1) seconds after the start."""

    t: int
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None
    users: int | None

    @property
    def rps(self) -> float:
        return float(self.requests)

    @property
    def failures_per_s(self) -> float:
        return float(self.failures)


def users_at(samples: Sequence[tuple[float, int]], t: float) -> int | None:
    """The user count of the last sample taken before ``t`` (samples: (seconds since start, users))."""
    value = None
    for sample_t, users in samples:
        if sample_t < t:
            value = users
        else:
            break
    return value


def per_second(
    records: Sequence[RequestRecord],
    *,
    start: float,
    end: float | None = None,
    users: Sequence[tuple[float, int]] = (),
) -> list[Second]:
    """The run second by second: requests, failures, p50/p95/p99 (ms) and users.

    ``end`` (unix time) defaults to the last finish; seconds without requests have
    ``None`` percentiles. Users are taken from the last sample before the end of the second.
    """
    finishes = [r.finished for r in records]
    if end is None:
        if not finishes:
            return []
        end = max(finishes)
    count = max(0, math.ceil(end - start))
    times: list[list[float]] = [[] for _ in range(count)]
    failures = [0] * count
    for record, finished in zip(records, finishes, strict=True):
        index = math.floor(finished - start)
        if 0 <= index < count:
            times[index].append(record.response_time_ms)
            if not record.success:
                failures[index] += 1
    samples = sorted(users)
    series = []
    for t in range(count):
        pcts = percentiles(times[t])
        series.append(
            Second(
                t=t,
                requests=len(times[t]),
                failures=failures[t],
                p50=pcts["p50"],
                p95=pcts["p95"],
                p99=pcts["p99"],
                users=users_at(samples, t + 1) if samples else None,
            )
        )
    return series


# -- steady state ------------------------------------------------------------------------


def steady_window(
    users: Sequence[tuple[float, int]], *, target_users: int, settle_s: float, end_s: float
) -> tuple[float, float] | None:
    """(from, to) in seconds since the start: from when ``target_users`` first ran, plus ``settle_s``, to ``end_s``.

    None when the target was never reached or the window would be empty.
    """
    for t, count in sorted(users):
        if count >= target_users:
            begin = t + settle_s
            return (begin, end_s) if begin < end_s else None
    return None


def in_window(records: Iterable[RequestRecord], *, start: float, window: tuple[float, float]) -> list[RequestRecord]:
    """Records that finished inside [from, to) seconds after ``start``."""
    low, high = start + window[0], start + window[1]
    return [r for r in records if low <= r.finished < high]


def stage_windows(stages: Sequence, *, settle_s: float) -> list[tuple[float, float, int]]:
    """For each stage (until_s, users, spawn_rate): (from, to, users) once its users run plus ``settle_s``.

    A stage too short to settle gets no window.
    """
    windows = []
    previous_end, previous_users = 0.0, 0
    for stage in stages:
        ramp = abs(stage.users - previous_users) / stage.spawn_rate if stage.spawn_rate else 0.0
        begin = previous_end + ramp + settle_s
        if begin < stage.until_s:
            windows.append((begin, float(stage.until_s), stage.users))
        previous_end, previous_users = float(stage.until_s), stage.users
    return windows


# -- summaries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Totals of a set of requests over ``duration_s`` seconds; times in ms."""

    requests: int
    failures: int
    duration_s: float
    rps: float | None
    failures_per_s: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    mean_ms: float | None
    max_ms: float | None
    availability: float | None  # percent of requests that succeeded

    def as_dict(self) -> dict:
        return asdict(self)


def availability(records: Sequence[RequestRecord]) -> float | None:
    """Percent of requests that succeeded (None without requests)."""
    if not records:
        return None
    return 100.0 * sum(1 for r in records if r.success) / len(records)


def summarize(records: Sequence[RequestRecord], duration_s: float) -> Summary:
    times = [r.response_time_ms for r in records]
    failures = sum(1 for r in records if not r.success)
    pcts = percentiles(times)
    return Summary(
        requests=len(records),
        failures=failures,
        duration_s=duration_s,
        rps=len(records) / duration_s if duration_s > 0 else None,
        failures_per_s=failures / duration_s if duration_s > 0 else None,
        p50=pcts["p50"],
        p95=pcts["p95"],
        p99=pcts["p99"],
        mean_ms=sum(times) / len(times) if times else None,
        max_ms=max(times) if times else None,
        availability=availability(records),
    )


@dataclass(frozen=True)
class EndpointRow:
    method: str
    name: str
    summary: Summary

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.method)


def endpoint_table(records: Sequence[RequestRecord], duration_s: float) -> list[EndpointRow]:
    """One row per (method, name), sorted by name then method."""
    groups: dict[tuple[str, str], list[RequestRecord]] = defaultdict(list)
    for record in records:
        groups[(record.name, record.method)].append(record)
    return [
        EndpointRow(method=method, name=name, summary=summarize(group, duration_s))
        for (name, method), group in sorted(groups.items())
    ]


def failure_reasons(records: Iterable[RequestRecord], limit: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent (name, error, count) among failed requests."""
    counts = Counter((r.name, r.error or f"HTTP {r.status}") for r in records if not r.success)
    return [(name, error, n) for (name, error), n in counts.most_common(limit)]


# -- differences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """other - base, and that as a percent of base (None when base is 0 or missing)."""

    base: float | None
    other: float | None
    absolute: float | None
    percent: float | None


def difference(base: float | None, other: float | None) -> Difference:
    if base is None or other is None:
        return Difference(base, other, None, None)
    absolute = other - base
    percent = absolute / base * 100.0 if base != 0 else None
    return Difference(base, other, absolute, percent)


COMPARED_FIELDS = ("rps", "p50", "p95", "p99", "mean_ms", "max_ms", "failures", "availability")


def compare_summaries(base: Summary, other: Summary) -> dict[str, Difference]:
    return {name: difference(getattr(base, name), getattr(other, name)) for name in COMPARED_FIELDS}


@dataclass(frozen=True)
class EndpointComparison:
    method: str
    name: str
    base: Summary | None
    other: Summary | None
    differences: dict[str, Difference] = field(default_factory=dict)


def compare_endpoints(base: Sequence[EndpointRow], other: Sequence[EndpointRow]) -> list[EndpointComparison]:
    """Endpoints of both runs side by side (an endpoint seen in one run only has None on the other side)."""
    base_rows = {row.key: row for row in base}
    other_rows = {row.key: row for row in other}
    result = []
    for key in sorted(set(base_rows) | set(other_rows)):
        b = base_rows[key].summary if key in base_rows else None
        o = other_rows[key].summary if key in other_rows else None
        diffs = compare_summaries(b, o) if b is not None and o is not None else {}
        result.append(EndpointComparison(method=key[1], name=key[0], base=b, other=o, differences=diffs))
    return result


# -- where requests went and where their time went -------------------------------------


def served_by_counts(records: Iterable[RequestRecord]) -> dict[str, int]:
    """How many requests each node took part in (from X-Served-By; "web-1,api-2" counts for both)."""
    counts: Counter[str] = Counter()
    for record in records:
        for node in record.served_by.split(","):
            node = node.strip()
            if node:
                counts[node] += 1
    return dict(sorted(counts.items()))


def parse_server_timing(header: str) -> dict[str, float]:
    """``db;dur=1.2, api;dur=3`` -> {"db": 1.2, "api": 3.0}."""
    result: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur" and name.strip():
                try:
                    result[name.strip()] = float(value)
                except ValueError:
                    pass
    return result


def server_timing_means(records: Iterable[RequestRecord]) -> dict[str, float]:
    """Mean of each Server-Timing metric over the successful requests that reported it, in ms."""
    sums: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    for record in records:
        if record.success and record.server_timing:
            for name, value in parse_server_timing(record.server_timing).items():
                sums[name] += value
                counts[name] += 1
    return {name: sums[name] / counts[name] for name in sorted(sums)}


# -- CPU -----------------------------------------------------------------------------------


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of each run of ``window`` consecutive values (fewer values than window: their mean)."""
    if not values:
        return []
    if len(values) <= window:
        return [sum(values) / len(values)]
    return [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]


def cpu_by_label(
    samples: Iterable[tuple[float, str, float]], *, window: tuple[float, float] | None = None
) -> dict[str, dict[str, float]]:
    """{label: {"mean", "max", "peak5"}} in percent of one core; samples are (t since start, label, percent).

    ``peak5`` is the highest 5-second average (what Locust's own CPU warning looks at).
    """
    grouped: dict[str, list[float]] = defaultdict(list)
    for t, label, value in sorted(samples):
        if window is None or window[0] <= t < window[1]:
            grouped[label].append(value)
    return {
        label: {"mean": sum(values) / len(values), "max": max(values), "peak5": max(rolling_mean(values, 5))}
        for label, values in sorted(grouped.items())
        if values
    }


# -- one measured run ----------------------------------------------------------------------


@dataclass
class VariantRun:
    """Everything measured while one variant ran the scenario (the report's input)."""

    variant: str
    url: str
    scenario: Scenario
    start_time: float  # unix time the stages started
    end_time: float
    records: list[RequestRecord]
    users: list[tuple[float, int]]  # (seconds since start, users running)
    cpu: list[tuple[float, str, float]]  # (seconds since start, label, percent of one core)
    services: dict[str, int] = field(default_factory=dict)  # service -> pid
    startup_s: float | None = None  # None: it was already running
    locust_cpu_warning: bool = False
    files: dict[str, Path] = field(default_factory=dict)
    # Fault drills (`twinshop compare --fault ...`): what was done during the run, and after it.
    events: list = field(default_factory=list)  # loadtests.drills.RunEvent, in time order
    pids_before: dict[str, int] = field(default_factory=dict)  # service -> pid when the run started
    pids_after: dict[str, int] = field(default_factory=dict)  # ... when it ended (before anything was restarted)
    restored: list[str] = field(default_factory=list)  # services started again after the run
    api_replicas: int | None = None  # primary API replicas of the distributed variant during the run
    invariants: object | None = None  # loadtests.invariants.Invariants, checked after the run

    @property
    def duration_s(self) -> float:
        return self.end_time - self.start_time
