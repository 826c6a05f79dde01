"""Writing the scaling report (`twinshop compare --scenario scaling`): the same words, chart style and
templates as the comparison report, with curves against the CPU budget instead of time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from loadtests.analysis.scaling import ScalingResult, rps_per_cpu
from loadtests.report import charts, sentences
from loadtests.report.charts import colour
from loadtests.report.render import environment
from loadtests.report.words import Words


def curves(result: ScalingResult, w: Words) -> list[charts.Chart]:
    ticks = [(s.step.cpus, f"{w.cores(s.step.cpus)}\nn={s.step.n}") for s in result.steps]

    def points(read) -> dict[str, list[tuple[float, float | None]]]:
        series = {}
        for variant in result.variant_names:
            series[variant] = [(s.step.cpus, (sp.median if (sp := read(s, v)) else None))
                               for s, v in result.series(variant)]  # fmt: skip
        return series

    def linear(variant: str) -> list[tuple[float, float]]:
        series = result.series(variant)
        first = series[0][1].spread("throughput") if series else None
        if not first or not first.median:
            return []
        return [(s.step.cpus, first.median * s.step.cpus / series[0][0].step.cpus) for s, _v in series]

    each_point = w("Each point: one step (n workers or API replicas), the median of its rounds.",
                   "Cada punto: un escalón (n workers o réplicas de la API), la mediana de sus rondas.")
    return [
        charts.against_budget("scaling_throughput", w("Throughput at saturation", "Rendimiento en saturación"),
                              w("successful requests/s", "peticiones exitosas/s"),
                              points(lambda s, v: v.spread("throughput")), w, ticks=ticks, ideal=linear,
                              caption=each_point + " " + w("Dotted: linear scaling from n=1.",
                                                           "Punteada: escalado lineal desde n=1.")),
        charts.against_budget("scaling_p95", w("p95 latency at saturation", "Latencia p95 en saturación"), "ms",
                              points(lambda s, v: v.spread("p95")), w, ticks=ticks, caption=each_point),
        charts.against_budget("scaling_rps_per_cpu", w("Requests/s per CPU of budget",
                                                       "Peticiones/s por CPU de presupuesto"),
                              w("requests/s per CPU", "peticiones/s por CPU"),
                              points(lambda s, v: rps_per_cpu(v, s.step)), w, ticks=ticks, caption=each_point),
    ]  # fmt: skip


def step_rows(result: ScalingResult, w: Words) -> tuple[list[str], list[list[str]]]:
    headers = [w("variant", "variante"), "n", w("users", "usuarios"), w("CPU cap (cores)", "límite de CPU (núcleos)"),
               w("started with", "arrancada con"), w("successful req/s", "pet/s exitosas"), "p50", "p95",
               w("failures", "fallas"), w("CPU used", "CPU usada"), w("req/s per CPU", "pet/s por CPU"),
               w("load generator (peak)", "generador de carga (pico)"), w("other programs", "otros programas")]
    rows = []
    for s in result.steps:
        for v in s.variants:
            cap = w.cores(s.step.cpus) + (w(f" (asked {w.cores(s.step.wanted_cpus)})",
                                            f" (pidió {w.cores(s.step.wanted_cpus)})") if s.step.capped else "")
            rows.append([
                w.label(v.variant), str(s.step.n), str(s.users), cap, s.commands[v.variant],
                w.spread(v.spread("throughput")), w.spread(v.spread("p50"), "ms"), w.spread(v.spread("p95"), "ms"),
                w.int(v.failures), w.spread(v.figure(lambda a: a.services_cpu), "%", 0),
                w.spread(rps_per_cpu(v, s.step)), w.spread(v.figure(lambda a: a.load_generator_peak), "%", 0),
                w.spread(v.figure(lambda a: a.others_cpu), "%", 0),
            ])  # fmt: skip
    return headers, rows


def write(out_dir: Path, result: ScalingResult, *, lang: str = "en") -> Path:
    """Write index.html, charts/scaling_*.png, data/steps.csv and summary.json; return index.html."""
    out_dir = Path(out_dir)
    w = Words(lang)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    figures = curves(result, w)
    for chart in figures:
        (out_dir / "charts" / f"{chart.slug}.png").write_bytes(chart.png)
    with open(out_dir / "data" / "steps.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "n", "round", "cpus", "wanted_cpus", "ok_rps", "p50_ms", "p95_ms", "p99_ms",
                         "failures", "services_cpu_percent", "load_generator_peak_percent", "others_cpu_percent"])
        for s in result.steps:
            for v in s.variants:
                for a in v.runs:
                    writer.writerow([v.variant, s.step.n, a.round, s.step.cpus, s.step.wanted_cpus, a.steady.ok_rps,
                                     a.steady.p50, a.steady.p95, a.steady.p99, a.whole.failures,
                                     round(a.services_cpu, 1), round(a.load_generator_peak, 1),
                                     round(a.others_cpu, 1)])  # fmt: skip
    lines = sentences.scaling_summary(result, w)
    points = []
    for s in result.steps:
        for v in s.variants:
            tp, pc = v.spread("throughput"), rps_per_cpu(v, s.step)
            points.append({
                "variant": v.variant, "n": s.step.n, "cpus": s.step.cpus, "wanted_cpus": s.step.wanted_cpus,
                "capped_by_machine": s.step.capped, "command": s.commands[v.variant], "users": s.users,
                "rps": tp.median if tp else None, "rps_rounds": list(tp.values) if tp else [],
                "p95_ms": (p95.median if (p95 := v.spread("p95")) else None),
                "rps_per_cpu": pc.median if pc else None, "failures": v.failures,
                "others_cpu_percent": [a.others_cpu for a in v.runs],
                "trustworthy": not any(a.problems() for a in v.runs),
            })  # fmt: skip
    summary = {
        "created": result.created,
        "lang": lang,
        "scenario": "scaling",
        "rounds": result.rounds,
        "duration_s": result.duration_s,
        "warmup_s": result.warmup_s,
        "machine_limit_cpus": result.limit,
        "machine": result.machine,
        "steps": [{"n": s.step.n, "wanted_cpus": s.step.wanted_cpus, "cpus": s.step.cpus, "capped": s.step.capped,
                   "users": s.users} for s in result.steps],  # fmt: skip
        "points": points,
        "trustworthy": all(p["trustworthy"] for p in points),
        "summary": lines,
        "charts": [f"charts/{chart.slug}.png" for chart in figures],
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False),
                                          encoding="utf-8")  # fmt: skip
    page = environment().get_template("scaling.html").render(
        w=w, lang=lang, result=result, summary=lines, figures=figures, steps=step_rows(result, w),
        key=[(w.label(name), colour(name, i)) for i, name in enumerate(result.variant_names)],
        trustworthy=summary["trustworthy"],
    )  # fmt: skip
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
