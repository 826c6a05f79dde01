"""The comparison report: one self-contained index.html with charts, tables and a plain-language summary.

Everything is computed here from the raw per-request records (:mod:`loadtests.stats`): the
per-second series, the steady-state window (ramp-up excluded), percentiles, per-endpoint
tables and the differences between variants. Each chart is a matplotlib PNG, saved for
slides under ``charts/`` and embedded (base64) in the page, which has no external resource.
A variant has the same colour on every chart.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from loadtests import drills, stats  # noqa: E402
from loadtests.cpu import MACHINE  # noqa: E402
from loadtests.scenarios import Scenario, fmt_s  # noqa: E402
from loadtests.stats import VariantRun  # noqa: E402

VARIANT_COLOURS = {"monolith": "#0072B2", "distributed": "#E69F00"}  # blue / orange, colour-blind safe
EXTRA_COLOURS = ("#009E73", "#CC79A7", "#D55E00", "#56B4E9")
# Nodes on the "who served the traffic" charts: web replicas green, API replicas blue, the
# standby vermilion (so its joining stands out), HAProxy's own errors grey, no answer red.
WEB_COLOURS = ("#1B7837", "#5AAE61", "#A6DBA0", "#00441B", "#78C679", "#238443", "#C2E699", "#006837", "#41AB5D")
API_COLOURS = ("#08519C", "#4292C6", "#9ECAE1", "#2171B5", "#6BAED6", "#084594", "#C6DBEF", "#3182BD", "#807DBA")
NODE_COLOURS = {
    "monolith": "#0072B2",
    "api-standby": "#D55E00",
    "lb": "#8C8C8C",
    drills.ERROR: "#FB9A99",
    drills.FAILED: "#E41A1C",
}
MARKER_COLOUR = "#333333"
LOCUST = "locust"
SIMILAR_PERCENT = 5.0  # differences smaller than this are reported as "about the same"
LATENCY_FIELDS = ("p50", "p95", "p99", "mean_ms", "max_ms")
LOCUST_WARNED = " and Locust warned about its CPU"


def called(variant: str, *, capital: bool = False) -> str:
    """How a sentence names a variant: "the monolith", "the distributed variant"."""
    text = "the monolith" if variant == "monolith" else f"the {variant} variant"
    return text[0].upper() + text[1:] if capital else text


def colour(variant: str, index: int = 0) -> str:
    return VARIANT_COLOURS.get(variant, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


@dataclass
class Fairness:
    """What was held equal between the variants, and what the machine looked like."""

    scenario: Scenario
    seed: int
    warmup_s: float
    reset: bool
    cpu_caps: dict[str, str] | None  # variant -> description; None: uncapped
    machine: dict
    locust_version: str
    load_generator_limit: float = 90.0
    others_running: dict[str, list[str]] = field(default_factory=dict)
    fault_spec: str | None = None  # `--fault` as given (normalised), None for a run without faults
    access_logs: tuple[str, ...] = ()  # variants started with --access-log (a log line per request)


# -- analysis ----------------------------------------------------------------------------


@dataclass
class Analysis:
    """One variant's run, digested."""

    run: VariantRun
    series: list[stats.Second]
    window: tuple[float, float]
    window_note: str
    steady: stats.Summary
    whole: stats.Summary
    endpoints: list[stats.EndpointRow]
    stages: list[tuple[float, float, int, stats.Summary]]
    cpu: dict[str, dict[str, float]]  # label -> mean/max/peak5 in the steady window
    services_cpu: float  # mean % of one core, all services together, steady window
    load_generator: dict[str, float]  # mean/max/peak5 over the whole run
    trustworthy: bool
    served_by: dict[str, int]
    timing: dict[str, float]
    failures: list[tuple[str, str, int]]
    # fault drills (empty without --fault)
    events: list[drills.RunEvent] = field(default_factory=list)
    impacts: list[drills.Impact] = field(default_factory=list)
    outages: list[drills.Outage] = field(default_factory=list)
    nodes: drills.NodeSeries | None = None
    targets: list[drills.Target] = field(default_factory=list)

    @property
    def variant(self) -> str:
        return self.run.variant

    @property
    def cpu_ms_per_request(self) -> float | None:
        if not self.steady.rps:
            return None
        return self.services_cpu / 100.0 * 1000.0 / self.steady.rps


def steady_state(run: VariantRun) -> tuple[tuple[float, float], str]:
    """The steady-state window of a run and a sentence saying how it was chosen."""
    scenario = run.scenario
    end = scenario.duration_s
    window = stats.steady_window(run.users, target_users=scenario.steady_users, settle_s=scenario.settle_s, end_s=end)
    if window is not None:
        return window, (
            f"from {fmt_s(window[0])} (when {scenario.steady_users} users ran, plus {scenario.settle_s:.3g} s "
            f"to settle) to the end at {fmt_s(end)}"
        )
    planned = scenario.time_to_steady_s() + scenario.settle_s
    if planned < end:
        return (planned, end), (
            f"from {fmt_s(planned)} (the planned end of the ramp-up plus {scenario.settle_s:.3g} s; "
            f"Locust's user history was missing) to {fmt_s(end)}"
        )
    return (0.0, end), "the whole run (it was too short to leave out a ramp-up)"


def analyse(run: VariantRun, *, load_generator_limit: float = 90.0) -> Analysis:
    window, note = steady_state(run)
    steady_records = stats.in_window(run.records, start=run.start_time, window=window)
    whole_records = stats.in_window(run.records, start=run.start_time, window=(0.0, run.duration_s))
    steady_s = window[1] - window[0]
    stages = []
    if len(run.scenario.stages) > 1:
        for begin, end, users in stats.stage_windows(run.scenario.stages, settle_s=run.scenario.settle_s):
            records = stats.in_window(run.records, start=run.start_time, window=(begin, end))
            stages.append((begin, end, users, stats.summarize(records, end - begin)))
    cpu = stats.cpu_by_label(run.cpu, window=window)
    services = [label for label in cpu if label not in (LOCUST, MACHINE)]
    generator = stats.cpu_by_label([s for s in run.cpu if s[1] == LOCUST], window=(1.0, run.duration_s + 1.0)).get(
        LOCUST, {"mean": 0.0, "max": 0.0, "peak5": 0.0}
    )
    trustworthy = generator["peak5"] <= load_generator_limit and not run.locust_cpu_warning
    series = stats.per_second(run.records, start=run.start_time, end=run.end_time, users=run.users)
    impacts = drills.impacts(run.records, series, run.events, start=run.start_time, duration_s=run.duration_s)
    return Analysis(
        run=run,
        series=series,
        window=window,
        window_note=note,
        steady=stats.summarize(steady_records, steady_s),
        whole=stats.summarize(whole_records, run.duration_s),
        endpoints=stats.endpoint_table(steady_records, steady_s),
        stages=stages,
        cpu=cpu,
        services_cpu=sum(cpu[label]["mean"] for label in services),
        load_generator=generator,
        trustworthy=trustworthy,
        served_by=stats.served_by_counts(steady_records),
        timing=stats.server_timing_means(steady_records),
        failures=stats.failure_reasons(whole_records),
        events=list(run.events),
        impacts=impacts,
        outages=drills.outages(series),
        nodes=drills.node_series(run.records, start=run.start_time, seconds=len(series)),
        targets=drills.targets(
            run.variant,
            impacts,
            api_replicas=run.api_replicas,
            pids_before=run.pids_before,
            pids_after=run.pids_after,
        ),
    )


# -- charts ------------------------------------------------------------------------------


@dataclass
class Chart:
    slug: str
    title: str
    caption: str
    png: bytes
    markers: list[dict] = field(default_factory=list)  # the event markers drawn on it


CHARTS = (
    ("requests_per_second", "Throughput", "requests/s", "Requests completed per second."),
    (
        "latency_p50",
        "Median latency (p50)",
        "ms",
        "Half of the requests of each second were faster than this.",
    ),
    ("latency_p95", "p95 latency", "ms", "95 % of the requests of each second were faster than this."),
    ("latency_p99", "p99 latency", "ms", "99 % of the requests of each second were faster: the slow tail."),
    ("failures_per_second", "Failures", "failures/s", "Failed requests per second (wrong answers included)."),
    ("users", "Simulated users", "users", "Users running, following the scenario's stages."),
    ("cpu", "CPU used", "% of one core", "Services of each variant (solid) and the load generator (dashed)."),
)


def series_values(analysis: Analysis, slug: str) -> tuple[list[float], list[float]]:
    xs = [s.t + 0.5 for s in analysis.series]
    pick = {
        "requests_per_second": lambda s: s.rps,
        "latency_p50": lambda s: s.p50,
        "latency_p95": lambda s: s.p95,
        "latency_p99": lambda s: s.p99,
        "failures_per_second": lambda s: s.failures_per_s,
        "users": lambda s: s.users,
    }[slug]
    return xs, [math.nan if pick(s) is None else float(pick(s)) for s in analysis.series]


def cpu_series(analysis: Analysis) -> tuple[list[float], list[float], list[float], list[float]]:
    """(times, services total, times, load generator) per sampled second."""
    services: dict[float, float] = {}
    generator: dict[float, float] = {}
    for t, label, value in analysis.run.cpu:
        if not 0 <= t <= analysis.run.duration_s + 1:
            continue
        second = round(t)
        if label == LOCUST:
            generator[second] = generator.get(second, 0.0) + value
        elif label != MACHINE:
            services[second] = services.get(second, 0.0) + value
    st = sorted(services)
    gt = sorted(generator)
    return st, [services[t] for t in st], gt, [generator[t] for t in gt]


def draw_markers(ax, analyses: Sequence[Analysis], *, labels: bool = True) -> list[dict]:
    """A dashed vertical line, in the variant's colour, where each fault event happened on each variant,
    and the event's name once at the top. Returns what was drawn (for summary.json and the tests)."""
    drawn: list[dict] = []
    at_by_label: dict[str, list[float]] = {}
    for i, analysis in enumerate(analyses):
        for event in analysis.events:
            if not event.happened:
                continue
            ax.axvline(event.applied_s, color=colour(analysis.variant, i), linestyle=(0, (5, 3)), linewidth=1.5)
            at_by_label.setdefault(event.label, []).append(event.applied_s)
            drawn.append({"variant": analysis.variant, "label": event.label, "t": round(event.applied_s, 3)})
    if labels:
        for label, times in at_by_label.items():
            ax.text(
                sum(times) / len(times),
                0.98,
                f" {label}",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                va="top",
                ha="right",
                fontsize=9,
                color=MARKER_COLOUR,
                bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1},
            )
    return drawn


def render_chart(slug: str, title: str, ylabel: str, analyses: Sequence[Analysis]) -> bytes:
    """One chart, both variants overlaid, steady state shaded; PNG bytes readable on a slide."""
    png, _ = render_chart_with_markers(slug, title, ylabel, analyses)
    return png


def render_chart_with_markers(
    slug: str, title: str, ylabel: str, analyses: Sequence[Analysis]
) -> tuple[bytes, list[dict]]:
    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for i, analysis in enumerate(analyses):
        c = colour(analysis.variant, i)
        if slug == "cpu":
            st, sv, gt, gv = cpu_series(analysis)
            ax.plot(st, sv, color=c, linewidth=2.2, label=f"{analysis.variant} services")
            ax.plot(gt, gv, color=c, linewidth=1.6, linestyle="--", label=f"{analysis.variant} load generator")
        else:
            xs, ys = series_values(analysis, slug)
            ax.plot(xs, ys, color=c, linewidth=2.2, label=analysis.variant)
        ax.axvspan(*analysis.window, color=c, alpha=0.06)
    ax.set_title(title, fontsize=17, loc="left")
    ax.set_xlabel("seconds since the start of the run", fontsize=13)
    ax.set_ylabel(ylabel, fontsize=13)
    ax.tick_params(labelsize=12)
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    markers = draw_markers(ax, analyses)
    ax.grid(True, alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    legend_title = "shaded: steady state" + ("; dashed: fault events" if markers else "")
    ax.legend(fontsize=12, frameon=False, loc="best", title=legend_title, title_fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue(), markers


def node_colour(node: str) -> str:
    if node in NODE_COLOURS:
        return NODE_COLOURS[node]
    number = node.rsplit("-", 1)[-1]
    index = int(number) - 1 if number.isdigit() else 0
    palette = WEB_COLOURS if node.startswith("web") else API_COLOURS
    return palette[index % len(palette)]


def render_nodes_chart(analysis: Analysis) -> tuple[bytes, list[dict]]:
    """Stacked areas, one panel per tier: the successful requests each node served every second (from
    X-Served-By), and a last panel with the failed requests: error answers, and no answer at all.

    A page of the distributed variant counts once for its web node and once for each API node it called.
    """
    nodes = analysis.nodes or drills.NodeSeries(seconds=0)
    tiers = nodes.tiers()
    order = ("monolith", "web", "api")
    panels = [(tier, tiers[tier]) for tier in order if tier in tiers]
    panels += [(tier, names) for tier, names in tiers.items() if tier not in order]
    panels.append(("failed", []))
    titles = {"monolith": "the box (monolith)", "web": "web tier", "api": "API tier", "lb": "HAProxy itself"}
    titles["failed"] = "failed requests"
    xs = [t + 0.5 for t in range(nodes.seconds)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 1.2 + 2.3 * len(panels)), dpi=150, sharex=True, squeeze=False)
    markers: list[dict] = []
    for row, (tier, names) in enumerate(panels):
        ax = axes[row][0]
        values = [nodes.nodes[n] for n in names]
        labels = list(names)
        colours = [node_colour(n) for n in names]
        if tier == "failed":
            values = [nodes.errors, nodes.failed]
            labels = [drills.ERROR, drills.FAILED]
            colours = [NODE_COLOURS[drills.ERROR], NODE_COLOURS[drills.FAILED]]
        if xs and values:
            ax.stackplot(xs, values, labels=labels, colors=colours, alpha=0.9, linewidth=0)
        ax.set_ylabel("requests/s", fontsize=11)
        ax.set_title(titles.get(tier, tier), fontsize=12, loc="left")
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
        ax.set_xlim(0, max(1, nodes.seconds))
        ax.grid(True, alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        markers += draw_markers(ax, [analysis], labels=row == 0)
        if labels:
            ax.legend(fontsize=9, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"Who served the traffic — {analysis.variant}", fontsize=16, x=0.01, ha="left")
    axes[-1][0].set_xlabel("seconds since the start of the run", fontsize=12)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue(), markers


NODES_CAPTION = (
    "Successful requests per second each node took part in (from the X-Served-By header), stacked; one panel "
    "per tier. A node that dies leaves its band and the others widen to take its share; the api-standby band "
    "(vermilion) appears only while every primary API replica is down. The last panel: failed requests, "
    "answered with an error (light) or not answered at all (dark red)."
)


def make_charts(analyses: Sequence[Analysis], charts_dir: Path) -> list[Chart]:
    charts_dir.mkdir(parents=True, exist_ok=True)
    charts = []
    for slug, title, ylabel, caption in CHARTS:
        png, markers = render_chart_with_markers(slug, title, ylabel, analyses)
        (charts_dir / f"{slug}.png").write_bytes(png)
        charts.append(Chart(slug=slug, title=title, caption=caption, png=png, markers=markers))
    for analysis in analyses:
        slug = f"served_by_{analysis.variant}"
        png, markers = render_nodes_chart(analysis)
        (charts_dir / f"{slug}.png").write_bytes(png)
        charts.append(
            Chart(
                slug=slug,
                title=f"Who served the traffic — {analysis.variant}",
                caption=NODES_CAPTION,
                png=png,
                markers=markers,
            )
        )
    return charts


# -- words -------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def fmt_num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def fmt_signed(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "–" if value is None else f"{value:+,.{digits}f}{unit}"


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f} %"


def times_text(base: float, other: float) -> str:
    """ "2.3 times" or "35 %" — how much bigger ``other`` is than ``base``."""
    if base <= 0:
        return ""
    ratio = other / base
    return f"{ratio:.1f} times" if ratio >= 2 else f"{(ratio - 1) * 100:.0f} %"


def summary_sentences(analyses: Sequence[Analysis], fairness: Fairness) -> list[str]:
    """The numbers in plain words: throughput, latency, failures, CPU, then the caveats."""
    lines: list[str] = []
    first = analyses[0]
    users = fairness.scenario.steady_users
    lines.append(
        f"Steady state means {first.window_note}, with {users} simulated users; "
        "every figure below leaves the ramp-up out."
    )
    for a in analyses:
        lines.append(
            f"{called(a.variant, capital=True)} completed {fmt_num(a.steady.rps)} requests/s; half of them took under "
            f"{fmt_ms(a.steady.p50)}, 95 % under {fmt_ms(a.steady.p95)} and 99 % under {fmt_ms(a.steady.p99)}."
        )
    if len(analyses) >= 2:
        a, b = analyses[0], analyses[1]
        rps = stats.difference(a.steady.rps, b.steady.rps)
        if rps.percent is not None and abs(rps.percent) < SIMILAR_PERCENT:
            lines.append(
                f"Throughput was about the same (within {SIMILAR_PERCENT:g} %): both variants kept up with what "
                "the users asked for, so at this load the difference shows in latency."
            )
        elif rps.percent is not None:
            more, less = (b, a) if rps.percent > 0 else (a, b)
            lines.append(
                f"{called(more.variant, capital=True)} served {times_text(less.steady.rps, more.steady.rps)} "
                f"more requests per second than {called(less.variant)} "
                f"({fmt_num(more.steady.rps)} against {fmt_num(less.steady.rps)})."
            )
        p95 = stats.difference(a.steady.p95, b.steady.p95)
        if p95.absolute is not None and p95.percent is not None:
            if abs(p95.percent) < SIMILAR_PERCENT:
                lines.append(
                    f"Their p95 latencies were about the same ({fmt_ms(a.steady.p95)} and {fmt_ms(b.steady.p95)})."
                )
            else:
                slow, fast = (b, a) if p95.absolute > 0 else (a, b)
                lines.append(
                    f"At p95 {called(slow.variant)} was slower by {fmt_ms(abs(p95.absolute))} "
                    f"({times_text(fast.steady.p95, slow.steady.p95)} more than the {fmt_ms(fast.steady.p95)} "
                    f"of {called(fast.variant)})."
                )
        if "api" in b.timing and b.timing["api"] > 0:
            lines.append(
                f"Server-Timing shows where {called(b.variant)} spends the extra time: on average "
                f"{fmt_ms(b.timing['api'])} per request waiting for API calls across the network."
            )
    failed = [a for a in analyses if a.whole.failures]
    if not failed:
        lines.append("No request failed on any variant (out-of-stock answers are expected outcomes, not failures).")
    for a in failed:
        reason = a.failures[0] if a.failures else None
        text = (
            f"{called(a.variant, capital=True)} had {a.whole.failures} failed requests out of {a.whole.requests} "
            f"(availability {fmt_num(a.whole.availability, 2)} %)"
        )
        if reason:
            text += f"; the most frequent: {reason[0]} — {reason[1]} ({reason[2]}×)"
        lines.append(text + ".")
    efficient = [a for a in analyses if a.cpu_ms_per_request is not None]
    if efficient:
        lines.append(
            "CPU the services used per request: "
            + "; ".join(f"{a.variant} {fmt_num(a.cpu_ms_per_request)} ms" for a in efficient)
            + " (all of a variant's processes together, steady state)."
        )
    lines += fault_sentences(analyses, fairness)
    lines += invariant_sentences(analyses)
    return lines


def fault_sentences(analyses: Sequence[Analysis], fairness: Fairness) -> list[str]:
    """The fault drill in words: what was done, what it cost each variant, how fast it recovered."""
    if not fairness.fault_spec:
        return []
    lines = [
        f"Fault drill {fairness.fault_spec}: the same events at the same times of each variant's run "
        "(a node of the monolith is the whole box); dashed lines mark them on every chart."
    ]
    for a in analyses:
        parts = []
        for impact in a.impacts:
            after = impact.after.availability
            parts.append(
                f"{impact.event.label}: {fmt_num(after, 1) if after is not None else '–'} % of the requests "
                f"of the next {drills.AROUND_S:g} s succeeded, time to recover: {impact.recovery_text()}"
            )
        skipped = [e for e in a.events if not e.happened]
        if skipped:
            parts.append("; ".join(f"{e.label} {e.outcome}" for e in skipped))
        downtime = sum(o.duration_s for o in a.outages)
        lines.append(
            f"{called(a.variant, capital=True)}: availability {fmt_num(a.whole.availability, 2)} % over the run, "
            + (f"{downtime} s with under {drills.HEALTHY_PERCENT:g} % success; " if downtime else "")
            + ("; ".join(parts) or "no event happened")
            + "."
        )
    for target in (t for a in analyses for t in a.targets):
        verdict = {True: "MET", False: "MISSED", None: "for comparison"}[target.met]
        lines.append(f"Target — {target.name} — {target.variant}: {verdict}. {target.measured}.")
    return lines


def invariant_sentences(analyses: Sequence[Analysis]) -> list[str]:
    checked = [a for a in analyses if a.run.invariants is not None]
    if not checked:
        return []
    broken = [a for a in checked if not a.run.invariants.ok]
    if not broken:
        return [
            "Invariants held on "
            + " and ".join(called(a.variant) for a in checked)
            + ": every order a client saw accepted is in the database once, no stock below zero, no "
            "Idempotency-Key with two orders, no half order, and stock adds up."
        ]
    return [
        f"INVARIANT VIOLATED on {called(a.variant)}: " + "; ".join(a.run.invariants.violations()) + "." for a in broken
    ]


def caveats(analyses: Sequence[Analysis], fairness: Fairness) -> list[str]:
    notes = []
    if fairness.cpu_caps is None:
        notes.append(
            "The run was uncapped: no CPU limit was set on either variant, so each could use all "
            f"{fairness.machine.get('logical_cores')} cores, shared with the load generator. The CPU table "
            "shows what each service used."
        )
    elif len(set(fairness.cpu_caps.values())) > 1:
        notes.append(
            "The CPU budgets differ between the variants ("
            + "; ".join(f"{v}: {d}" for v, d in fairness.cpu_caps.items())
            + "): this is not a comparison at equal CPU."
        )
    if fairness.access_logs and set(fairness.access_logs) != {a.variant for a in analyses}:
        notes.append(
            "Logging differs between the variants: "
            + " and ".join(called(v) for v in fairness.access_logs)
            + " wrote a log line for every request (started with --access-log) and the other did not. "
            "Logging costs CPU: restart both the same way (`twinshop down`, then `twinshop up` without "
            "--access-log) before comparing."
        )
    for a in analyses:
        if not a.trustworthy:
            notes.append(
                f"NOT TRUSTWORTHY for {called(a.variant)}: the load generator reached "
                f"{a.load_generator['peak5']:.0f} % of a core (5-second average; limit "
                f"{fairness.load_generator_limit:.0f} %){LOCUST_WARNED if a.run.locust_cpu_warning else ''}. "
                "It may have measured its own slowness: use fewer users or more Locust processes."
            )
    busy = []
    for a in analyses:
        machine = a.cpu.get(MACHINE, {}).get("mean")
        if machine is not None:
            others = machine - a.services_cpu - a.cpu.get(LOCUST, {}).get("mean", 0.0)
            if others > 20:
                busy.append(f"{a.variant}: {others:.0f} % of a core")
    if busy:
        notes.append(
            "Other programs were busy on this machine during the runs (" + "; ".join(busy) + "): "
            "they took CPU from the shop, so repeat the comparison on a quiet machine before drawing conclusions."
        )
    if fairness.fault_spec:
        notes.append(
            "This was a fault drill: the steady-state figures include the faults (a dead node's failed requests "
            "count too). Read the fault drill section for availability and recovery around each event."
        )
    notes.append(
        "One run of each variant, one after the other, on one machine: the numbers vary from run to run. "
        "Run the comparison again to see how much."
    )
    notes.append(
        "Users wait 0.2–1 s between actions (a closed loop): when a variant slows down, its users send fewer "
        "requests, so throughput alone hides overload — read it together with latency."
    )
    return notes


# -- html --------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.8rem;margin:0 0 4px} h2{margin-top:2.2rem;border-bottom:1px solid #dde1e6;padding-bottom:4px}
.sub{color:#5a6270;margin:0 0 18px}
.box{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 18px;margin:14px 0}
.fair{border-left:5px solid #2e7d32} .warn{border-left:5px solid #c62828;background:#fff5f5}
.summary li{margin:6px 0;line-height:1.45}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem;margin:8px 0}
th,td{border:1px solid #dde1e6;padding:5px 8px;text-align:right} th{background:#f0f2f5}
td.l,th.l{text-align:left} tr.diff td{background:#f7f7fb;font-style:italic}
figure{margin:18px 0;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px}
figure img{width:100%;height:auto;display:block} figcaption{color:#5a6270;font-size:.9rem;margin-top:4px}
.key span{display:inline-block;margin-right:18px;font-weight:600}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:6px}
code{background:#f0f2f5;padding:1px 4px;border-radius:3px}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, left: int = 1, classes=None) -> str:
    head = "".join(f'<th class="l">{esc(h)}</th>' if i < left else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{classes[r]}"' if classes and classes[r] else ""
        cells = "".join(f'<td class="l">{esc(v)}</td>' if i < left else f"<td>{esc(v)}</td>" for i, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def summary_table(analyses: Sequence[Analysis]) -> str:
    headers = ["variant", "requests", "requests/s", "p50", "p95", "p99", "mean", "max", "failures",
               "availability", "services CPU", "CPU per request"]  # fmt: skip

    def row(a: Analysis) -> list[str]:
        s = a.steady
        return [
            a.variant, f"{s.requests:,}", fmt_num(s.rps), fmt_ms(s.p50), fmt_ms(s.p95), fmt_ms(s.p99),
            fmt_ms(s.mean_ms), fmt_ms(s.max_ms), f"{s.failures:,}",
            "–" if s.availability is None else f"{s.availability:.2f} %",
            f"{a.services_cpu:.0f} % of a core",
            "–" if a.cpu_ms_per_request is None else f"{a.cpu_ms_per_request:.1f} ms",
        ]  # fmt: skip

    rows = [row(a) for a in analyses]
    classes = [""] * len(rows)
    if len(analyses) >= 2:
        base, other = analyses[0], analyses[1]
        d = stats.compare_summaries(base.steady, other.steady)
        cpu = stats.difference(base.cpu_ms_per_request, other.cpu_ms_per_request)
        rows.append([
            f"{other.variant} − {base.variant}", "",
            f"{fmt_signed(d['rps'].absolute)} ({fmt_pct(d['rps'].percent)})",
            *(f"{fmt_signed(d[k].absolute, 1, ' ms')} ({fmt_pct(d[k].percent)})" for k in LATENCY_FIELDS),
            fmt_signed(d["failures"].absolute, 0),
            fmt_signed(d["availability"].absolute, 2, " pt"),
            fmt_signed(other.services_cpu - base.services_cpu, 0, " %"),
            f"{fmt_signed(cpu.absolute, 1, ' ms')} ({fmt_pct(cpu.percent)})",
        ])  # fmt: skip
        classes.append("diff")
    return table(headers, rows, classes=classes)


def endpoint_comparison_table(analyses: Sequence[Analysis]) -> str:
    if len(analyses) < 2:
        a = analyses[0]
        rows = [
            [r.name, r.method, f"{r.summary.requests:,}", fmt_num(r.summary.rps, 2), fmt_ms(r.summary.p50),
             fmt_ms(r.summary.p95), fmt_ms(r.summary.p99), f"{r.summary.failures:,}"]
            for r in a.endpoints
        ]  # fmt: skip
        return table(["endpoint", "method", "requests", "req/s", "p50", "p95", "p99", "failures"], rows, left=2)
    base, other = analyses[0], analyses[1]
    b, o = base.variant, other.variant
    headers = ["endpoint", "method", f"{b} req/s", f"{o} req/s", f"{b} p50", f"{o} p50", f"{b} p95", f"{o} p95",
               "p95 difference", f"{b} failures", f"{o} failures"]  # fmt: skip
    rows = []
    for c in stats.compare_endpoints(base.endpoints, other.endpoints):
        d95 = c.differences.get("p95")
        rows.append([
            c.name, c.method,
            fmt_num(c.base.rps, 2) if c.base else "–", fmt_num(c.other.rps, 2) if c.other else "–",
            fmt_ms(c.base.p50) if c.base else "–", fmt_ms(c.other.p50) if c.other else "–",
            fmt_ms(c.base.p95) if c.base else "–", fmt_ms(c.other.p95) if c.other else "–",
            f"{fmt_signed(d95.absolute, 1, ' ms')} ({fmt_pct(d95.percent)})" if d95 else "–",
            f"{c.base.failures:,}" if c.base else "–", f"{c.other.failures:,}" if c.other else "–",
        ])  # fmt: skip
    return table(headers, rows, left=2)


def stage_table(analyses: Sequence[Analysis]) -> str:
    if not any(a.stages for a in analyses):
        return ""
    headers = ["users", "window"]
    for a in analyses:
        headers += [f"{a.variant} req/s", f"{a.variant} p95", f"{a.variant} failures"]
    rows = []
    for i, (begin, end, users, _) in enumerate(analyses[0].stages):
        row: list[str] = [str(users), f"{fmt_s(begin)}–{fmt_s(end)}"]
        for a in analyses:
            if i < len(a.stages):
                s = a.stages[i][3]
                row += [fmt_num(s.rps), fmt_ms(s.p95), f"{s.failures:,}"]
            else:
                row += ["–", "–", "–"]
        rows.append(row)
    return "<h2>Stage by stage</h2><p>Each stage after its users started plus the settle time.</p>" + table(
        headers, rows, left=2
    )


def cpu_table(analyses: Sequence[Analysis]) -> str:
    rows = []
    for a in analyses:
        for label, values in a.cpu.items():
            if label == MACHINE:
                continue
            name = "load generator (Locust)" if label == LOCUST else label
            rows.append([a.variant, name, f"{values['mean']:.0f} %", f"{values['max']:.0f} %"])
        if MACHINE in a.cpu:
            rows.append([a.variant, "whole machine (all processes)", f"{a.cpu[MACHINE]['mean']:.0f} %",
                         f"{a.cpu[MACHINE]['max']:.0f} %"])  # fmt: skip
    return table(["variant", "process (with its children)", "mean", "max"], rows, left=2)


def served_by_table(analyses: Sequence[Analysis]) -> str:
    rows = []
    for a in analyses:
        total = a.steady.requests or 1
        for node, count in a.served_by.items():
            rows.append([a.variant, node, f"{count:,}", f"{count / total * 100:.1f} %"])
    return table(["variant", "node (X-Served-By)", "requests", "share of requests"], rows, left=2)


def timing_table(analyses: Sequence[Analysis]) -> str:
    names = sorted({name for a in analyses for name in a.timing})
    if not names:
        return "<p>No Server-Timing headers were recorded.</p>"
    rows = [[a.variant, fmt_ms(a.steady.mean_ms), *(fmt_ms(a.timing.get(n)) for n in names)] for a in analyses]
    return table(["variant", "seen by the client", *(f"server: {n}" for n in names)], rows)


def failures_section(analyses: Sequence[Analysis]) -> str:
    rows = [[a.variant, name, error, f"{n:,}"] for a in analyses for name, error, n in a.failures]
    if not rows:
        return "<p>No failed requests.</p>"
    return table(["variant", "endpoint", "reason", "count"], rows, left=3)


def fairness_box(analyses: Sequence[Analysis], fairness: Fairness) -> str:
    s = fairness.scenario
    m = fairness.machine
    caps = (
        "uncapped — no CPU limit on either variant (each could use every core)"
        if fairness.cpu_caps is None
        else "; ".join(f"{v}: {d}" for v, d in fairness.cpu_caps.items())
    )
    data = (
        "the seed data was reloaded (twinshop reset) before each run"
        if fairness.reset
        else "NOT reset between runs (orders and stock carried over)"
    )
    items = [
        f"Same data: {data}.",
        f"Same scenario: <b>{esc(s.name)}</b> — {esc(s.describe())}; {fmt_s(s.duration_s)} per variant, "
        f"peak {s.peak_users} users, same seed ({fairness.seed}) so each user makes the same choices.",
        f"Same warm-up: {fairness.warmup_s:g} s of read-only load before each run (not measured).",
        f"CPU budget: {esc(caps)}.",
        *(
            [
                f"Same faults: <b>{esc(fairness.fault_spec)}</b>, at the same seconds of each run (see the fault "
                "drill section)."
            ]
            if fairness.fault_spec
            else []
        ),
        "Load generator CPU (peak 5-second average, limit "
        f"{fairness.load_generator_limit:.0f} % of a core): "
        + "; ".join(
            f"{esc(a.variant)} {a.load_generator['peak5']:.0f} % ({'ok' if a.trustworthy else 'TOO HIGH'})"
            for a in analyses
        )
        + ".",
        f"Machine: {m.get('logical_cores')} logical cores ({m.get('physical_cores')} physical), "
        f"{m.get('memory_gb')} GB RAM, load average {m.get('load_average_1m')} at the start; "
        f"{esc(m.get('platform'))}; Python {esc(m.get('python'))}; Locust {esc(fairness.locust_version)}.",
    ]
    for a in analyses:
        others = fairness.others_running.get(a.variant) or []
        start = "already running" if a.run.startup_s is None else f"started in {a.run.startup_s:.1f} s"
        items.append(
            f"{esc(a.variant)}: {esc(a.run.url)}, {start}; services measured: "
            f"{esc(', '.join(a.run.services) or 'none')}"
            + (f"; also running (idle): {esc(', '.join(others))}" if others else "")
            + "."
        )
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def fmt_avail(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} %"


def fault_section(analyses: Sequence[Analysis], fairness: Fairness) -> str:
    """Events, availability around them, time to recover, outages and targets (only for a fault run)."""
    if not fairness.fault_spec:
        return ""
    event_rows = [
        [
            a.variant,
            e.label,
            fmt_s(e.planned_s),
            "–" if e.applied_s is None else f"{e.applied_s:.1f} s",
            e.outcome,
        ]
        for a in analyses
        for e in a.events
    ]
    availability_rows = []
    for a in analyses:
        availability_rows.append(
            [a.variant, "whole run", "", "", fmt_avail(a.whole.availability), f"{a.whole.failures:,}", ""]
        )
        for i in a.impacts:
            availability_rows.append(
                [
                    a.variant,
                    i.event.label,
                    fmt_avail(i.before.availability),
                    fmt_avail(i.after.availability),
                    f"{fmt_avail(i.until_next.availability)} (to {i.next_label or 'the end'})",
                    f"{i.until_next.failures:,}",
                    i.recovery_text(),
                ]
            )
    outage_rows = [
        [a.variant, f"{o.from_s} s", f"{o.to_s} s", f"{o.duration_s} s", f"{o.failures:,}"]
        for a in analyses
        for o in a.outages
    ]
    target_rows = [
        [t.name, t.variant, {True: "met", False: "MISSED", None: "(for comparison)"}[t.met], t.measured]
        for a in analyses
        for t in a.targets
    ]
    restored = "; ".join(
        f"{a.variant}: {', '.join(a.run.restored) if a.run.restored else 'nothing was left stopped'}" for a in analyses
    )
    return f"""<section id="faults"><h2>Fault drill: {esc(fairness.fault_spec)}</h2>
<p>Each event was applied at the same time of each variant's measured run (seconds since its start), where it
makes sense: a node of the monolith is the whole box, so killing any application node there stops the whole shop,
and <code>db</code> is the box's own MariaDB. Dashed vertical lines mark the events on every chart, in the colour
of the variant they hit. After each run every stopped service was started again before anything else ran
({esc(restored)}).</p>
<h3>Events</h3>
{table(["variant", "event", "planned", "applied at", "what was done"], event_rows, left=5)}
<h3>Availability around each event</h3>
<p>Availability = the share of requests that succeeded (by the second they finished). A second is healthy when at
least {drills.HEALTHY_PERCENT:g} % of its requests succeeded; <b>time to recover</b> runs from the event to the
first of {drills.RECOVERY_RUN_S} healthy seconds in a row after the first unhealthy one (one-second
resolution).</p>
{
        table(
            [
                "variant",
                "event",
                f"{drills.AROUND_S:g} s before",
                f"{drills.AROUND_S:g} s after",
                "until the next event",
                "failed requests (until the next event)",
                "time to recover",
            ],
            availability_rows,
            left=2,
        )
    }
<h3>Outages (seconds under {drills.HEALTHY_PERCENT:g} % success)</h3>
{
        table(["variant", "from", "to", "duration", "failed requests"], outage_rows)
        if outage_rows
        else "<p>None: every second had at least " + f"{drills.HEALTHY_PERCENT:g} % successful requests.</p>"
    }
<h3>Targets</h3>
{
        table(["target", "variant", "verdict", "measured"], target_rows, left=4)
        if target_rows
        else "<p>No target of the course applies to these events (targets exist for killing one API replica, "
        "restarting the database and crashing the monolith).</p>"
    }
</section>"""


def invariants_section(analyses: Sequence[Analysis]) -> str:
    checked = [a for a in analyses if a.run.invariants is not None]
    if not checked:
        return "<p>The invariants were not checked for this run.</p>"
    rows, notes = [], []
    for a in checked:
        inv = a.run.invariants
        if inv.error:
            rows.append([a.variant, "could not check", "VIOLATED", inv.error])
        for c in inv.checks:
            rows.append([a.variant, c.name, "ok" if c.ok else "VIOLATED", c.detail])
        notes += [f"{a.variant}: {n}" for n in inv.notes]
    note_html = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return (
        "<p>Checked with SQL in each variant's database after its run (and after every stopped service was "
        "started again), against the order ids the clients saw accepted (201 from the API, 303 from the "
        "checkout; column <code>order_id</code> of the raw CSV). A violation makes <code>twinshop compare</code> "
        "exit non-zero.</p>"
        + table(["variant", "invariant", "verdict", "detail"], rows, left=4)
        + (f"<ul>{note_html}</ul>" if note_html else "")
    )


def figure_html(c: Chart) -> str:
    return (
        f'<figure id="chart-{c.slug}"><img alt="{esc(c.title)}" src="data:image/png;base64,'
        f'{base64.b64encode(c.png).decode("ascii")}"><figcaption>{esc(c.caption)} '
        f"(also <code>charts/{c.slug}.png</code>)</figcaption></figure>"
    )


def render_html(analyses: Sequence[Analysis], fairness: Fairness, charts: Sequence[Chart], created: str) -> str:
    trust = all(a.trustworthy for a in analyses)
    names = " vs ".join(a.variant for a in analyses)
    key = "".join(
        f'<span><i class="swatch" style="background:{colour(a.variant, i)}"></i>{esc(a.variant)}</span>'
        for i, a in enumerate(analyses)
    )
    warning = (
        ""
        if trust
        else '<div class="box warn"><b>This run is not trustworthy:</b> the load generator was short of CPU '
        "(see the fairness box). Its latencies include its own delays.</div>"
    )
    time_slugs = {slug for slug, *_ in CHARTS}
    figures = "".join(figure_html(c) for c in charts if c.slug in time_slugs)
    node_figures = "".join(figure_html(c) for c in charts if c.slug not in time_slugs)
    summary = "".join(f"<li>{esc(line)}</li>" for line in summary_sentences(analyses, fairness))
    notes = "".join(f"<li>{esc(line)}</li>" for line in caveats(analyses, fairness))
    data_links = "".join(
        f'<li><a href="data/{esc(a.variant)}/requests.csv">data/{esc(a.variant)}/requests.csv</a> — every request '
        f"of the {esc(a.variant)} run (raw)</li>"
        for a in analyses
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twinshop comparison — {esc(names)} — {esc(fairness.scenario.name)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>twinshop: {esc(names)}</h1>
<p class="sub">Scenario <b>{esc(fairness.scenario.name)}</b> — {esc(fairness.scenario.summary)}
Generated {esc(created)}.</p>
<p class="key">{key}</p>
{warning}
<section class="box summary" id="summary"><h2 style="margin-top:0">What the numbers say</h2><ul>{summary}</ul>
<h3>Caveats</h3><ul>{notes}</ul></section>
<section class="box fair" id="fairness"><h2 style="margin-top:0">Fairness: what was the same</h2>
{fairness_box(analyses, fairness)}</section>
{fault_section(analyses, fairness)}
<h2>Steady state</h2>
{summary_table(analyses)}
<h2>Over time</h2>
{figures}
{stage_table(analyses)}
<h2>Per endpoint (steady state)</h2>
<p>Percentiles come from every response time; the difference is the second variant minus the first.</p>
{endpoint_comparison_table(analyses)}
<h2>Where the time went (Server-Timing, mean per request)</h2>
{timing_table(analyses)}
<h2>CPU per process (steady state, % of one core)</h2>
{cpu_table(analyses)}
<h2>Which node served the requests</h2>
{node_figures}
<p>Steady state, per node:</p>
{served_by_table(analyses)}
<h2>Failures</h2>
{failures_section(analyses)}
<h2 id="invariants">Invariants</h2>
{invariants_section(analyses)}
<h2>Raw data</h2>
<ul>{data_links}
<li><a href="data/per_second.csv">data/per_second.csv</a> — the per-second series of every variant</li>
<li><a href="data/cpu.csv">data/cpu.csv</a> — the CPU samples</li>
<li><a href="summary.json">summary.json</a> — every figure on this page</li></ul>
</main>
</body>
</html>
"""


# -- files -------------------------------------------------------------------------------


def write_series_csv(path: Path, analyses: Sequence[Analysis]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "second", "users", "requests", "failures", "p50_ms", "p95_ms", "p99_ms", "steady"])
        for a in analyses:
            for s in a.series:
                steady = a.window[0] <= s.t and s.t + 1 <= a.window[1]
                writer.writerow([a.variant, s.t, s.users, s.requests, s.failures, s.p50, s.p95, s.p99, int(steady)])


def write_cpu_csv(path: Path, analyses: Sequence[Analysis]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seconds_since_start", "process", "percent_of_one_core"])
        for a in analyses:
            for t, label, value in a.run.cpu:
                writer.writerow([a.variant, f"{t:.2f}", label, f"{value:.1f}"])


def summary_json(analyses: Sequence[Analysis], fairness: Fairness, created: str, charts: Sequence[Chart] = ()) -> dict:
    def endpoint(row: stats.EndpointRow) -> dict:
        return {"method": row.method, "name": row.name, **row.summary.as_dict()}

    variants = {
        a.variant: {
            "url": a.run.url,
            "start_time": a.run.start_time,
            "steady_window_s": list(a.window),
            "steady": a.steady.as_dict(),
            "whole_run": a.whole.as_dict(),
            "endpoints": [endpoint(r) for r in a.endpoints],
            "stages": [{"from_s": b, "to_s": e, "users": u, **s.as_dict()} for b, e, u, s in a.stages],
            "cpu": a.cpu,
            "services_cpu_percent": a.services_cpu,
            "cpu_ms_per_request": a.cpu_ms_per_request,
            "load_generator_cpu": a.load_generator,
            "trustworthy": a.trustworthy,
            "served_by": a.served_by,
            "server_timing_ms": a.timing,
            "failures": [{"name": n, "error": e, "count": c} for n, e, c in a.failures],
            "startup_s": a.run.startup_s,
            "events": [e.as_dict() for e in a.events],
            "impacts": [i.as_dict() for i in a.impacts],
            "outages": [o.as_dict() for o in a.outages],
            "targets": [t.as_dict() for t in a.targets],
            "pids_before": a.run.pids_before,
            "pids_after": a.run.pids_after,
            "restored": a.run.restored,
            "api_replicas": a.run.api_replicas,
            "nodes_first_seen_s": {
                node: drills.first_seen(a.nodes, node) for node in (a.nodes.nodes if a.nodes else {})
            },
            "invariants": a.run.invariants.as_dict() if a.run.invariants is not None else None,
        }
        for a in analyses
    }
    differences = {}
    if len(analyses) >= 2:
        d = stats.compare_summaries(analyses[0].steady, analyses[1].steady)
        differences = {
            "base": analyses[0].variant,
            "other": analyses[1].variant,
            **{k: {"absolute": v.absolute, "percent": v.percent} for k, v in d.items()},
        }
    return {
        "created": created,
        "scenario": {
            "name": fairness.scenario.name,
            "stages": [[s.until_s, s.users, s.spawn_rate] for s in fairness.scenario.stages],
            "steady_users": fairness.scenario.steady_users,
            "settle_s": fairness.scenario.settle_s,
        },
        "fairness": {
            "seed": fairness.seed,
            "warmup_s": fairness.warmup_s,
            "reset": fairness.reset,
            "cpu_caps": fairness.cpu_caps or "uncapped",
            "machine": fairness.machine,
            "locust_version": fairness.locust_version,
            "load_generator_limit_percent": fairness.load_generator_limit,
            "others_running": fairness.others_running,
        },
        "faults": fairness.fault_spec,
        "invariants_ok": all(a.run.invariants.ok for a in analyses if a.run.invariants is not None),
        "charts": {c.slug: {"file": f"charts/{c.slug}.png", "markers": c.markers} for c in charts},
        "trustworthy": all(a.trustworthy for a in analyses),
        "summary": summary_sentences(analyses, fairness),
        "caveats": caveats(analyses, fairness),
        "variants": variants,
        "differences": differences,
    }


def write_report(out_dir: Path, runs: Sequence[VariantRun], fairness: Fairness) -> Path:
    """Write index.html, charts/*.png, data/*.csv and summary.json into ``out_dir``; return index.html."""
    out_dir = Path(out_dir)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    created = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    analyses = [analyse(run, load_generator_limit=fairness.load_generator_limit) for run in runs]
    for a in analyses:
        raw = out_dir / "data" / a.variant / "requests.csv"
        if not raw.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            stats.write_raw_csv(raw, a.run.records)
    charts = make_charts(analyses, out_dir / "charts")
    write_series_csv(out_dir / "data" / "per_second.csv", analyses)
    write_cpu_csv(out_dir / "data" / "cpu.csv", analyses)
    (out_dir / "summary.json").write_text(
        json.dumps(summary_json(analyses, fairness, created, charts), indent=2, default=str), encoding="utf-8"
    )
    index = out_dir / "index.html"
    index.write_text(render_html(analyses, fairness, charts, created), encoding="utf-8")
    return index
