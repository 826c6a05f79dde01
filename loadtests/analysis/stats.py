"""Statistics from raw per-request records: percentiles, per-second series, steady state, differences.

Pure functions on plain data (the records of :mod:`loadtests.records`), so each number in the
report can be checked by hand. Conventions, stated once:

* Times in a series are seconds since the run started (``start``, a unix time).
* A request belongs to the second in which it *finished* (start + response time), which is
  how throughput is counted: completed requests per second.
* Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the
  value at rank ceil(p/100 * n) (1-based). It is always a response time that really
  happened, and it is what a student gets by sorting the column and counting.
* Latency figures (percentiles, means) leave out requests that got no HTTP answer at all
  (refused, reset, timed out): a refused connection "takes" a millisecond and would make a
  dead shop look fast. Those requests count as failures, and ``Summary.unanswered`` says how
  many were left out.
* Differences are "other minus base" and, in percent, relative to the base.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from loadtests.records import RequestRecord
from shop.served import parse_server_timing

PERCENTILES = (50, 95, 99)


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
    """The run second by second: requests, failures, p50/p95/p99 (ms, answered requests) and users.

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
    requests = [0] * count
    failures = [0] * count
    for record, finished in zip(records, finishes, strict=True):
        index = math.floor(finished - start)
        if 0 <= index < count:
            requests[index] += 1
            if record.answered:
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
                requests=requests[t],
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


# -- summaries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Totals of a set of requests over ``duration_s`` seconds; times in ms."""

    requests: int
    failures: int
    duration_s: float
    rps: float | None  # every request that finished, failed or not
    ok_rps: float | None  # the requests that succeeded: the throughput users got
    failures_per_s: float | None
    p50: float | None  # latencies: answered requests only (see the module docstring)
    p95: float | None
    p99: float | None
    mean_ms: float | None
    max_ms: float | None
    availability: float | None  # percent of requests that succeeded
    unanswered: int = 0  # requests that got no HTTP answer (left out of the latencies)

    def as_dict(self) -> dict:
        return asdict(self)


def availability(records: Sequence[RequestRecord]) -> float | None:
    """Percent of requests that succeeded (None without requests)."""
    if not records:
        return None
    return 100.0 * sum(1 for r in records if r.success) / len(records)


def summarize(records: Sequence[RequestRecord], duration_s: float) -> Summary:
    times = [r.response_time_ms for r in records if r.answered]
    failures = sum(1 for r in records if not r.success)
    pcts = percentiles(times)
    per_s = (lambda n: n / duration_s) if duration_s > 0 else (lambda n: None)
    return Summary(
        requests=len(records),
        failures=failures,
        duration_s=duration_s,
        rps=per_s(len(records)),
        ok_rps=per_s(len(records) - failures),
        failures_per_s=per_s(failures),
        p50=pcts["p50"],
        p95=pcts["p95"],
        p99=pcts["p99"],
        mean_ms=sum(times) / len(times) if times else None,
        max_ms=max(times) if times else None,
        availability=availability(records),
        unanswered=len(records) - len(times),
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


COMPARED_FIELDS = ("rps", "ok_rps", "p50", "p95", "p99", "mean_ms", "max_ms", "failures", "availability")


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


TIER_ORDER = {"monolith": 0, "web": 1, "api": 2, "lb": 3}


def node_tier(node: str) -> str:
    """web-2 -> web, api-standby -> api, monolith -> monolith, lb -> lb."""
    if node.startswith("web"):
        return "web"
    if node.startswith("api"):
        return "api"
    return node


def node_sort_key(node: str) -> tuple:
    """web-1 < web-2 < api-1 < ... < api-standby; a Swarm task's node after its slot (api-2@node-3)."""
    task, _, machine = node.partition("@")
    number = task.rsplit("-", 1)[-1]
    machine_number = machine.rsplit("-", 1)[-1]
    return (TIER_ORDER.get(node_tier(task), 4), task == "api-standby", int(number) if number.isdigit() else 0,
            int(machine_number) if machine_number.isdigit() else 0, node)  # fmt: skip


def served_by_counts(records: Iterable[RequestRecord]) -> dict[str, int]:
    """How many requests each node took part in (from X-Served-By; "web-1,api-2" counts for both)."""
    counts: Counter[str] = Counter()
    for record in records:
        for node in record.served_by.split(","):
            node = node.strip()
            if node:
                counts[node] += 1
    return dict(sorted(counts.items()))


def served_by_tiers(records: Iterable[RequestRecord]) -> dict[str, dict[str, int]]:
    """Per tier (monolith, web, api, lb): how many successful requests each of its nodes served.

    A distributed page passes through a web node AND an API node, so shares are counted per
    tier: within each tier they add up to 100 % of the requests that reached it.
    """
    tiers: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        if not record.success:
            continue
        for node in record.served_by.split(","):
            node = node.strip()
            if node:
                tiers[node_tier(node)][node] += 1
    return {
        tier: dict(sorted(counts.items(), key=lambda item: node_sort_key(item[0])))
        for tier, counts in sorted(tiers.items(), key=lambda item: TIER_ORDER.get(item[0], 9))
    }


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
