"""`twinshop compare --scenario scaling`: vertical against horizontal scaling, at the same CPU budget.

For each step n (1, 2, 4): the monolith runs with ``--workers n`` and the distributed variant
with ``--api n`` (one web replica, no standby), each restarted (``engine.down`` / ``engine.up``)
under the same total CPU cap for the whole variant: n × 0.4 CPU, capped by what the machine
has (all its cores but half a core for the load generator). Every variant is then saturated by
the API-bound workload (:class:`loadtests.users.Recommender`: recommendations computed from
product descriptions, ~15 ms of CPU each, plus a few product reads) and measured over a short
steady window: throughput, p95 and requests/s per CPU. The report states every cap used, and
says when the machine lacks the cores a step asked for.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loadtests import compare
from loadtests.compare import ComparisonError, Progress, ProgressTracker, StderrProgressBar
from loadtests.scenarios import DEFAULT_SEED, get_scenario

STEPS = (1, 2, 4)
CPU_PER_STEP = 0.4  # CPUs per worker / API replica
# Users per worker / API replica: enough to keep the 4 threads of each busy (the CPU saturated), few enough
# that HAProxy's health checks (1 s timeout), queued behind them in a saturated replica, still get through:
# with a deep queue a saturated replica is marked DOWN and answers nothing (try --users 24 at n=1 to see it).
USERS_PER_STEP = 6
LOCUST_RESERVE = 0.5  # cores left to the load generator
QUICK_DURATION_S = 15.0
QUICK_WARMUP_S = 3.0
DURATION_S = 45.0
WARMUP_S = 10.0
SCENARIO = "scaling"
WEB_REPLICAS = 1  # the workload never asks for a page: one idle web replica keeps the topology whole


@dataclass(frozen=True)
class Step:
    """One step of the scaling run: n workers or replicas, the CPU budget asked for and the one used."""

    n: int
    wanted_cpus: float
    cpus: float  # what the variant really got (min of wanted and the machine's limit)

    @property
    def capped(self) -> bool:
        return self.cpus + 1e-9 < self.wanted_cpus


def machine_limit(cores: int | None = None, reserve: float = LOCUST_RESERVE) -> float:
    """The largest CPU budget a variant can get here: every core but the load generator's share."""
    cores = cores or os.cpu_count() or 1
    return round(max(0.1, cores - reserve), 2)


def plan_steps(steps: Sequence[int] = STEPS, *, per_step: float = CPU_PER_STEP, cores: int | None = None) -> list[Step]:
    limit = machine_limit(cores)
    return [Step(n=n, wanted_cpus=round(n * per_step, 2), cpus=round(min(n * per_step, limit), 2)) for n in steps]


def up_arguments(variant: str, step: Step) -> dict:
    """What `engine.up` gets for this step (and the CLI equivalent, for the report)."""
    if variant == "monolith":
        return {"workers": step.n, "cpus": step.cpus}
    return {"api": step.n, "web": WEB_REPLICAS, "standby": False, "cpus": step.cpus}


def command_text(variant: str, step: Step) -> str:
    if variant == "monolith":
        return f"twinshop up monolith --workers {step.n} --cpus {step.cpus:g}"
    return f"twinshop up distributed --api {step.n} --web {WEB_REPLICAS} --cpus {step.cpus:g}"


@dataclass
class Point:
    """One variant measured at one step."""

    variant: str
    step: Step
    command: str
    startup_s: float
    rps: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    requests: int
    failures: int
    availability: float | None
    services_cpu: float  # mean % of one core, all the variant's processes, steady window
    cpu_by_service: dict[str, float]
    load_generator_peak: float
    trustworthy: bool
    steady_window: tuple[float, float]
    invariants_ok: bool | None = None
    users: int = 0
    others_cpu: float = 0.0  # mean % of one core used by programs that are neither the shop nor Locust

    @property
    def rps_per_cpu(self) -> float | None:
        """Requests/s per CPU of budget."""
        return None if self.rps is None or not self.step.cpus else self.rps / self.step.cpus

    @property
    def rps_per_cpu_used(self) -> float | None:
        """Requests/s per CPU the services really used (the budget may not have been used up)."""
        used = self.services_cpu / 100.0
        return None if self.rps is None or used <= 0 else self.rps / used

    def as_dict(self) -> dict:
        return {
            "variant": self.variant,
            "n": self.step.n,
            "wanted_cpus": self.step.wanted_cpus,
            "cpus": self.step.cpus,
            "capped_by_machine": self.step.capped,
            "command": self.command,
            "startup_s": self.startup_s,
            "rps": self.rps,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "p99_ms": self.p99,
            "requests": self.requests,
            "failures": self.failures,
            "availability": self.availability,
            "services_cpu_percent": self.services_cpu,
            "cpu_by_service_percent": self.cpu_by_service,
            "rps_per_cpu": self.rps_per_cpu,
            "rps_per_cpu_used": self.rps_per_cpu_used,
            "load_generator_peak_percent": self.load_generator_peak,
            "trustworthy": self.trustworthy,
            "steady_window_s": list(self.steady_window),
            "invariants_ok": self.invariants_ok,
            "users": self.users,
            "others_cpu_percent": self.others_cpu,
        }


@dataclass
class ScalingResult:
    steps: list[Step]
    points: list[Point] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    users: dict[int, int] = field(default_factory=dict)  # n -> simulated users
    duration_s: float = 0.0
    warmup_s: float = 0.0
    limit: float = 0.0

    def series(self, variant: str) -> list[Point]:
        return [p for p in self.points if p.variant == variant]


def running_options(engine) -> dict[str, object]:
    """The options of each running variant (to bring them back after the scaling run)."""
    result = {}
    for variant in compare.VARIANTS:
        try:
            if engine.supervisor(variant).running():
                result[variant] = engine.options(variant)
        except Exception:  # an engine without supervisors: nothing to bring back
            continue
    return result


def bring_back(engine, before: dict[str, object]) -> None:
    """Stop what the scaling run left and start the variants that ran before, as they were."""
    for variant in compare.VARIANTS:
        try:
            engine.down(variant)
        except Exception:  # noqa: S112 - best effort; the next `up` says what is wrong
            continue
    for variant, options in before.items():
        if options is None:
            continue
        kwargs = {"cpus": options.cpus, "node_cpus": options.node_cpus, "api_cpus": options.api_cpus}
        if variant == "monolith":
            kwargs["workers"] = options.workers
        else:
            kwargs.update(web=options.web, api=options.api, standby=options.standby)
        engine.up(variant, **kwargs)


def run_scaling(
    engine,
    *,
    quick: bool = False,
    out_dir: Path | None = None,
    variants: Sequence[str] = compare.VARIANTS,
    steps: Sequence[int] = STEPS,
    per_step: float = CPU_PER_STEP,
    duration_s: float | None = None,
    users: int | None = None,
    warmup_s: float | None = None,
    seed: int = DEFAULT_SEED,
    progress: Callable[[Progress], None] | None = None,
    restore: bool = True,
) -> Path:
    """Measure both variants at each step and write the scaling report; returns the path of index.html."""
    from twinshop import cpucap

    fs, why = cpucap.detect()
    if fs is None:
        raise ComparisonError(f"the scaling comparison needs CPU caps, and this machine cannot set them: {why}")
    duration_s = duration_s or (QUICK_DURATION_S if quick else DURATION_S)
    warmup_s = (QUICK_WARMUP_S if quick else WARMUP_S) if warmup_s is None else warmup_s
    scenario = get_scenario(SCENARIO, duration_s=duration_s)
    out_dir = Path(out_dir) if out_dir else compare.default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = StderrProgressBar() if progress is None else progress
    plan_list = plan_steps(steps, per_step=per_step)
    result = ScalingResult(
        steps=plan_list,
        machine=compare.machine_facts(),
        users={n: users or USERS_PER_STEP * n for n in steps},
        duration_s=scenario.duration_s,
        warmup_s=warmup_s,
        limit=machine_limit(),
    )
    plan: list[tuple[str, str, float]] = []
    for _step in plan_list:
        for variant in variants:
            plan += [
                ("restart", variant, 12.0),
                ("start", variant, 0.5),
                ("warm-up", variant, warmup_s + 4.0 if warmup_s else 0.0),
                ("run", variant, scenario.duration_s + 4.0),
                ("checks", variant, 1.0),
            ]
    plan += [("bring back", "", 15.0 if restore else 0.0), ("report", "", 4.0)]
    before = running_options(engine) if restore else {}
    try:
        with ProgressTracker(plan, progress) as tracker:
            for step in plan_list:
                step_users = result.users[step.n]
                step_scenario = get_scenario(SCENARIO, duration_s=duration_s, peak_users=step_users)
                for variant in variants:
                    tracker.begin("restart", variant)
                    for v in compare.VARIANTS:  # one variant at a time on the machine
                        engine.down(v)
                    try:
                        startup = engine.up(variant, **up_arguments(variant, step))
                    except Exception as exc:
                        raise ComparisonError(
                            f"{variant} did not start for step {step.n} ({command_text(variant, step)}): {exc}"
                        ) from exc
                    run = compare.measure_variant(
                        engine,
                        variant,
                        scenario=step_scenario,
                        duration_s=step_scenario.duration_s,
                        peak_users=step_users,
                        seed=seed,
                        warmup_s=warmup_s,
                        reset=False,
                        data_dir=out_dir / "data" / f"step-{step.n}" / variant,
                        tracker=tracker,
                        warmup_scenario=SCENARIO,
                    )
                    point = point_of(run, step, variant, float(startup))
                    point.users = step_users
                    result.points.append(point)
            if restore:
                tracker.begin("bring back", "")
                bring_back(engine, before)
            tracker.begin("report", "")
            index = write_scaling_report(out_dir, result)
    except BaseException:
        if restore:
            try:
                bring_back(engine, before)
            except Exception:  # noqa: S110 - the first error is the one to report
                pass
        raise
    broken = [p for p in result.points if p.invariants_ok is False]
    if broken:
        raise compare.InvariantViolation(
            f"invariant violated on {broken[0].variant} at step {broken[0].step.n}; report: {index}", index
        )
    return index


def point_of(run, step: Step, variant: str, startup_s: float) -> Point:
    from loadtests import report

    a = report.analyse(run)
    services = {label: v["mean"] for label, v in a.cpu.items() if label not in (report.LOCUST, report.MACHINE)}
    machine = a.cpu.get(report.MACHINE, {}).get("mean")
    locust = a.cpu.get(report.LOCUST, {}).get("mean", 0.0)
    others = max(0.0, machine - a.services_cpu - locust) if machine is not None else 0.0
    return Point(
        others_cpu=others,
        variant=variant,
        step=step,
        command=command_text(variant, step),
        startup_s=startup_s,
        rps=a.steady.rps,
        p50=a.steady.p50,
        p95=a.steady.p95,
        p99=a.steady.p99,
        requests=a.steady.requests,
        failures=a.steady.failures,
        availability=a.steady.availability,
        services_cpu=a.services_cpu,
        cpu_by_service=services,
        load_generator_peak=a.load_generator["peak5"],
        trustworthy=a.trustworthy,
        steady_window=a.window,
        invariants_ok=None if run.invariants is None else run.invariants.ok,
    )


# -- the report --------------------------------------------------------------------------------

CHARTS = (
    ("throughput", "Throughput at saturation", "requests/s", lambda p: p.rps),
    ("p95", "p95 latency at saturation", "ms", lambda p: p.p95),
    ("rps_per_cpu", "Requests/s per CPU of budget", "requests/s per CPU", lambda p: p.rps_per_cpu),
)


def render_chart(result: ScalingResult, slug: str, title: str, ylabel: str, pick) -> bytes:
    from loadtests import report  # matplotlib, set up for files

    plt = report.plt
    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for i, variant in enumerate(dict.fromkeys(p.variant for p in result.points)):
        points = result.series(variant)
        xs = [p.step.cpus for p in points]
        ys = [pick(p) for p in points]
        c = report.colour(variant, i)
        label = f"{variant} ({'workers' if variant == 'monolith' else 'API replicas'})"
        ax.plot(xs, [float("nan") if y is None else y for y in ys], color=c, marker="o", linewidth=2.2, label=label)
        if slug == "throughput" and points and points[0].rps:
            base = points[0]
            ideal = [base.rps * p.step.cpus / base.step.cpus for p in points]
            ax.plot(xs, ideal, color=c, linestyle=":", linewidth=1.4, label=f"{variant}: linear from n=1")
    ax.set_title(title, fontsize=17, loc="left")
    ax.set_xlabel("CPU budget of the whole variant (cores)", fontsize=13)
    ax.set_ylabel(ylabel, fontsize=13)
    ax.tick_params(labelsize=12)
    ax.set_xticks([s.cpus for s in result.steps], [f"{s.cpus:g}\nn={s.n}" for s in result.steps])
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=11, frameon=False, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


SIMILAR = 0.05  # throughput ratios within ±5 % are "about the same"


def units(variant: str, n: int) -> str:
    word = "worker" if variant == "monolith" else "API replica"
    return f"{n} {word}{'s' if n != 1 else ''}"


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{unit}"


def sentences(result: ScalingResult) -> list[str]:
    lines = []
    limit = result.limit
    capped = [s for s in result.steps if s.capped]
    lines.append(
        "Each step gives both variants the same CPU budget for ALL their processes (database included; for the "
        "distributed variant also HAProxy and one idle web replica): "
        + ", ".join(f"n={s.n}: {s.cpus:g} CPU" for s in result.steps)
        + "."
    )
    if capped:
        lines.append(
            f"This machine has {result.machine.get('logical_cores')} cores and keeps {LOCUST_RESERVE:g} for the load "
            f"generator, so no variant can get more than {limit:g} CPU: "
            + ", ".join(f"n={s.n} asked for {s.wanted_cpus:g} CPU and got {s.cpus:g}" for s in capped)
            + ". Above that the curves show the machine's limit, not the architecture's."
        )
    for variant in dict.fromkeys(p.variant for p in result.points):
        points = result.series(variant)
        if not points or points[0].rps is None:
            continue
        first, last = points[0], points[-1]
        speedup = (last.rps or 0) / first.rps if first.rps else None
        budget = last.step.cpus / first.step.cpus
        lines.append(
            f"The {variant}{' variant' if variant != 'monolith' else ''} went from {fmt(first.rps)} requests/s "
            f"({units(variant, first.step.n)}, {first.step.cpus:g} CPU) to {fmt(last.rps)} "
            f"({units(variant, last.step.n)}, {last.step.cpus:g} CPU): {fmt(speedup, 2)}× the throughput for "
            f"{budget:.2f}× the CPU; "
            f"p95 from {fmt(first.p95, 0)} ms to {fmt(last.p95, 0)} ms; "
            + ", ".join(f"{fmt(p.rps_per_cpu, 0)}" for p in points)
            + " requests/s per CPU."
        )
    variants = list(dict.fromkeys(p.variant for p in result.points))
    if len(variants) == 2:
        pairs = list(zip(result.series(variants[0]), result.series(variants[1]), strict=False))
        ratios = [b.rps / a.rps for a, b in pairs if a.rps and b.rps]
        if ratios:
            mean = sum(ratios) / len(ratios)
            if mean < 1 - SIMILAR:
                why = (
                    "the extra hop (HAProxy) and the extra processes cost CPU that the monolith spends on "
                    "recommendations"
                )
            elif mean > 1 + SIMILAR:
                why = (
                    "more than the monolith at equal CPU, on this run: that can only come from how the work was "
                    "spread (n one-worker processes against one gunicorn with n workers) or from noise on a shared "
                    "machine — repeat the run before generalising"
                )
            else:
                why = (
                    f"within ±{SIMILAR * 100:.0f} %, about the same: the CPU-heavy work dominates, so the extra hop "
                    "costs little at this load; both tiers scale until the shared database or the machine stops them"
                )
            lines.append(
                f"At the same budget the {variants[1]} variant served "
                + ", ".join(f"{r:.2f}×" for r in ratios)
                + f" the {variants[0]}'s throughput (n = {', '.join(str(a.step.n) for a, _ in pairs)}): {why}."
            )
    busy = [p for p in result.points if p.others_cpu > 20]
    if busy:
        lines.append(
            "Other programs used CPU on this machine during "
            + ", ".join(f"{p.variant} n={p.step.n} ({p.others_cpu:.0f} % of a core)" for p in busy)
            + ": the caps limit the shop, not its neighbours; repeat on a quiet machine before drawing conclusions."
        )
    untrusted = [p for p in result.points if not p.trustworthy]
    if untrusted:
        lines.append(
            "NOT TRUSTWORTHY: the load generator ran short of CPU at "
            + ", ".join(f"{p.variant} n={p.step.n} ({p.load_generator_peak:.0f} %)" for p in untrusted)
            + "."
        )
    failures = [p for p in result.points if p.failures]
    if failures:
        lines.append(
            "Failed requests: " + ", ".join(f"{p.variant} n={p.step.n}: {p.failures:,}" for p in failures) + "."
        )
    return lines


def write_scaling_report(out_dir: Path, result: ScalingResult) -> Path:
    from loadtests import report

    charts_dir = out_dir / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for slug, title, ylabel, pick in CHARTS:
        png = render_chart(result, slug, title, ylabel, pick)
        (charts_dir / f"scaling_{slug}.png").write_bytes(png)
        figures.append((slug, title, png))
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    with open(out_dir / "data" / "steps.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "n", "cpus", "wanted_cpus", "rps", "p50_ms", "p95_ms", "p99_ms", "failures",
                         "services_cpu_percent", "rps_per_cpu", "load_generator_peak_percent"])  # fmt: skip
        for p in result.points:
            writer.writerow([p.variant, p.step.n, p.step.cpus, p.step.wanted_cpus, p.rps, p.p50, p.p95, p.p99,
                             p.failures, round(p.services_cpu, 1), p.rps_per_cpu, p.load_generator_peak])  # fmt: skip
    created = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = sentences(result)
    summary = {
        "created": created,
        "scenario": SCENARIO,
        "users": result.users,
        "duration_s": result.duration_s,
        "warmup_s": result.warmup_s,
        "cpu_per_step": CPU_PER_STEP,
        "machine_limit_cpus": result.limit,
        "machine": result.machine,
        "steps": [{"n": s.n, "wanted_cpus": s.wanted_cpus, "cpus": s.cpus, "capped": s.capped} for s in result.steps],
        "points": [p.as_dict() for p in result.points],
        "summary": lines,
        "charts": [f"charts/scaling_{slug}.png" for slug, *_ in CHARTS],
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    esc = report.esc
    rows = [
        [
            p.variant,
            str(p.step.n),
            str(p.users),
            f"{p.step.cpus:g}" + (f" (asked {p.step.wanted_cpus:g})" if p.step.capped else ""),
            p.command,
            fmt(p.rps),
            fmt(p.p50, 0, " ms"),
            fmt(p.p95, 0, " ms"),
            fmt(p.p99, 0, " ms"),
            f"{p.failures:,}",
            f"{p.services_cpu:.0f} %",
            fmt(p.rps_per_cpu),
            fmt(p.rps_per_cpu_used),
            f"{p.load_generator_peak:.0f} %" + ("" if p.trustworthy else " TOO HIGH"),
            f"{p.others_cpu:.0f} %",
        ]
        for p in result.points
    ]
    steps_table = report.table(
        ["variant", "n", "users", "CPU cap (cores)", "started with", "requests/s", "p50", "p95", "p99", "failures",
         "CPU used (% of a core)", "req/s per CPU of budget", "req/s per CPU used", "load generator (peak)",
         "other programs"],
        rows, left=5,
    )  # fmt: skip
    cpu_rows = [
        [p.variant, str(p.step.n), ", ".join(f"{k} {v:.0f} %" for k, v in sorted(p.cpu_by_service.items()))]
        for p in result.points
    ]
    cpu_table = report.table(["variant", "n", "mean CPU per process (% of one core, steady window)"], cpu_rows, left=3)
    figure_html = "".join(
        f'<figure id="chart-{slug}"><img alt="{esc(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"><figcaption>{esc(title)} against the CPU budget of the whole '
        f"variant; each point is one step (n workers or API replicas). (also <code>charts/scaling_{slug}.png"
        "</code>)</figcaption></figure>"
        for slug, title, png in figures
    )
    m = result.machine
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twinshop scaling — monolith workers vs API replicas</title>
<style>{report.CSS}</style>
</head>
<body>
<main>
<h1>twinshop scaling: workers vs API replicas at the same CPU budget</h1>
<p class="sub">Scenario <b>{SCENARIO}</b>: API clients asking for recommendations without pausing
({", ".join(f"{u} at n={n}" for n, u in result.users.items())})
(<code>GET /api/products/&lt;id&gt;/recommendations?limit=5</code>, similar products by TF-IDF cosine over the
product's category, ~15 ms of CPU per call, never cached; 1 call in 10 is a plain
<code>GET /api/products/&lt;id&gt;</code>). {result.duration_s:g} s per measurement after {result.warmup_s:g} s of
warm-up; each variant restarted (down, up) before each measurement, the other variant stopped. Generated
{esc(created)}.</p>
<section class="box summary" id="summary"><h2 style="margin-top:0">What the numbers say</h2><ul>
{"".join(f"<li>{esc(line)}</li>" for line in lines)}</ul></section>
<section class="box fair" id="caps"><h2 style="margin-top:0">Every CPU cap used</h2><ul>
{
        "".join(
            f"<li>step n={s.n}: {s.cpus:g} CPU for each variant as a whole (cgroup cpu quota)"
            + (f" — asked {s.wanted_cpus:g}, more than this machine can give" if s.capped else "")
            + "</li>"
            for s in result.steps
        )
    }
<li>Per step: the monolith as <code>--workers n --cpus C</code> (one gunicorn with n worker processes and its
MariaDB in one cgroup); the distributed variant as <code>--api n --web {WEB_REPLICAS} --cpus C</code> (n API
replicas, HAProxy, one web replica and MariaDB in one cgroup). No cap per process: inside the budget the kernel
shares the CPU.</li>
<li>Machine: {m.get("logical_cores")} logical cores, {m.get("memory_gb")} GB; load average
{m.get("load_average_1m")} at the start; budgets capped at {result.limit:g} CPU (all cores but {LOCUST_RESERVE:g}
for Locust).</li></ul></section>
<h2>Curves</h2>
{figure_html}
<h2>Every step</h2>
{steps_table}
<h2>Where the CPU went</h2>
{cpu_table}
<h2>Raw data</h2>
<ul><li><a href="data/steps.csv">data/steps.csv</a> — one row per variant and step</li>
<li><code>data/step-N/VARIANT/requests.csv</code> — every request of each measurement</li>
<li><a href="summary.json">summary.json</a> — every figure on this page</li></ul>
</main>
</body>
</html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
