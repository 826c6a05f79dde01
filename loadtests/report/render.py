"""Writing the comparison report: index.html (Jinja2 templates, charts embedded), charts/*.png,
summary.json and the data files.

The numbers come from :mod:`loadtests.analysis`, the sentences from
:mod:`~loadtests.report.sentences`, the charts from :mod:`~loadtests.report.charts`; this module
only lays them out, in the report's one language.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from loadtests import drills
from loadtests.analysis import events as event_analysis
from loadtests.analysis import stats
from loadtests.analysis.rounds import METRICS, Comparison, VariantRounds
from loadtests.analysis.run import LOCUST, OWN_LABELS, RunAnalysis
from loadtests.report import charts as chart_module
from loadtests.report import sentences
from loadtests.report.charts import Chart, side_colours
from loadtests.report.words import Words


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("loadtests.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


# -- tables (rows of already formatted cells) ----------------------------------------------------


HEADLINE_UNITS = {"throughput": ("", 1), "p50": ("ms", 1), "p95": ("ms", 1), "p99": ("ms", 1),
                  "availability": ("%", 2), "cpu_per_request": ("ms", 1), "capacity_users": ("", 0),
                  "capacity_rps": ("", 1)}  # fmt: skip


def headline_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]], list[str]]:
    metrics = c.headline
    headers = [w("variant", "variante"), w("rounds", "rondas"),
               *(w("successful req/s", "pet/s exitosas") if m == "throughput" else w.metric(m) for m in metrics),
               w("failed requests", "peticiones fallidas")]  # fmt: skip
    rows, classes = [], []
    for v in c.variants:
        # The range on a line of its own (the table's cells keep line breaks): nine columns fit a projector.
        rows.append([w.label(v.variant), str(v.rounds),
                     *(w.spread(v.spread(m), HEADLINE_UNITS[m][0], HEADLINE_UNITS[m][1]).replace(" (", "\n(", 1)
                       for m in metrics),
                     w.int(v.failures)])  # fmt: skip
        classes.append("")
    d = c.differences()
    if d:
        base, other = c.variants[0].variant, c.variants[1].variant

        def cell(metric: str) -> str:
            diff = d.get(metric)
            if diff is None:
                return "–"
            unit, digits = HEADLINE_UNITS[metric]
            word = w("clear", "clara") if diff.clear else w("not clear", "no clara")
            suffix = {"ms": " ms", "%": " pt"}.get(unit, "")
            return f"{w.signed(diff.absolute, digits, suffix)}\n({word})"

        rows.append([f"{w.label(other)} − {w.label(base)}", "", *(cell(m) for m in metrics), ""])
        classes.append("diff")
    return headers, rows, classes


def stage_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    if not any(a.steps for v in c.variants for a in v.runs):
        return None
    headers = [w("users", "usuarios")]
    for v in c.variants:
        headers += [f"{w.label(v.variant)} {w('req/s', 'pet/s')}", f"{w.label(v.variant)} p95",
                    f"{w.label(v.variant)} {w('failures', 'fallas')}"]  # fmt: skip
    users = sorted({step.users for v in c.variants for a in v.runs for step in a.steps})
    rows = []
    for u in users:
        row = [str(u)]
        for v in c.variants:
            steps = [step for a in v.runs for step in a.steps if step.users == u]
            if not steps:
                row += ["–", "–", "–"]
                continue
            rps = v.figure(lambda a, u=u: next((s.summary.ok_rps for s in a.steps if s.users == u), None))
            p95 = v.figure(lambda a, u=u: next((s.summary.p95 for s in a.steps if s.users == u), None))
            row += [w.spread(rps), w.spread(p95, "ms"), w.int(sum(s.summary.failures for s in steps))]
        rows.append(row)
    return headers, rows


def capacity_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    if not c.setup.scenario.stepped:
        return None
    headers = [w("variant", "variante"), w("round", "ronda"), w("capacity (users)", "capacidad (usuarios)"),
               w("req/s at capacity", "pet/s en la capacidad"), w("p95 at capacity", "p95 en la capacidad"),
               w("first step that missed", "primer escalón que no cumplió")]  # fmt: skip
    rows = []
    for v in c.variants:
        for a in v.runs:
            best = a.capacity
            missed = next((s for s in a.steps if not s.met), None)
            rows.append([
                w.label(v.variant), str(a.round), str(best.users) if best else "0",
                w.num(best.summary.ok_rps) if best else "–", w.ms(best.summary.p95) if best else "–",
                w(f"{missed.users} users (p95 {w.ms(missed.summary.p95)}, {w.pct(missed.failure_percent)} failed)",
                  f"{missed.users} usuarios (p95 {w.ms(missed.summary.p95)}, {w.pct(missed.failure_percent)} "
                  "fallidas)") if missed else w("none (the search ended first)", "ninguno (la búsqueda terminó "
                                                                                    "antes)"),
            ])  # fmt: skip
    return headers, rows


def pooled(v: VariantRounds) -> list:
    """The steady-state records of every round of a variant, for the tables that pool them."""
    return [r for a in v.runs for r in stats.in_window(a.m.records, start=a.m.start_time,
                                                         window=(a.window.start_s, a.window.end_s))]  # fmt: skip


def endpoint_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]]:
    per_variant = {}
    for v in c.variants:
        seconds = sum(a.window.seconds for a in v.runs)
        per_variant[v.variant] = stats.endpoint_table(pooled(v), seconds)
    names = [v.variant for v in c.variants]
    headers = [w("endpoint", "ruta"), w("method", "método")]
    for name in names:
        headers += [f"{w.label(name)} {w('req/s', 'pet/s')}", f"{w.label(name)} p50", f"{w.label(name)} p95",
                    f"{w.label(name)} {w('failures', 'fallas')}"]  # fmt: skip
    keys = sorted({row.key for rows in per_variant.values() for row in rows})
    rows = []
    for key in keys:
        row = [key[0], key[1]]
        for name in names:
            found = next((r.summary for r in per_variant[name] if r.key == key), None)
            row += ["–"] * 4 if found is None else [w.num(found.rps, 2), w.ms(found.p50), w.ms(found.p95),
                                                     w.int(found.failures)]  # fmt: skip
        rows.append(row)
    return headers, rows


def timing_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    names = sorted({name for v in c.variants for a in v.runs for name in a.timing})
    if not names:
        return None
    headers = [w("variant", "variante"), w("seen by the client (mean)", "vista por el cliente (media)"),
               *(f"server: {n}" for n in names)]  # fmt: skip
    rows = [[w.label(v.variant), w.spread(v.figure(lambda a: a.steady.mean_ms), "ms"),
             *(w.spread(v.figure(lambda a, n=n: a.timing.get(n)), "ms") for n in names)] for v in c.variants]
    return headers, rows


def cpu_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]]:
    rows = []
    for v in c.variants:
        labels = sorted({label for a in v.runs for label in a.cpu if label not in OWN_LABELS or label == LOCUST})
        labels = [label for label in labels if "/" not in label or label.startswith(f"{LOCUST}/")]
        for label in labels:
            mean = v.figure(lambda a, label=label: a.cpu.get(label, {}).get("mean"))
            peak = v.figure(lambda a, label=label: a.cpu.get(label, {}).get("max"))
            name = (w("load generator (Locust)", "generador de carga (Locust)") if label == LOCUST else
                    w(f"load generator worker ({label.split('/', 1)[1]})", f"trabajador del generador de carga "
                      f"({label.split('/', 1)[1]})") if label.startswith(f"{LOCUST}/") else label)  # fmt: skip
            rows.append([w.label(v.variant), name, w.spread(mean, "%", 0), w.spread(peak, "%", 0)])
    headers = [w("variant", "variante"), w("process (with its children)", "proceso (con sus hijos)"),
               w("mean, % of one core", "media, % de un núcleo"), w("highest second", "segundo más alto")]
    return headers, rows


def served_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]]:
    rows = []
    for v in c.variants:
        tiers: dict[str, dict[str, int]] = {}
        for a in v.runs:
            for tier, nodes in a.served.items():
                for node, count in nodes.items():
                    tiers.setdefault(tier, {}).setdefault(node, 0)
                    tiers[tier][node] += count
        for tier, nodes in tiers.items():
            total = sum(nodes.values()) or 1
            for node, count in nodes.items():
                rows.append([w.label(v.variant), tier, node, w.int(count), w.pct(100 * count / total)])
    headers = [w("variant", "variante"), w("tier", "capa"), w("node (X-Served-By)", "nodo (X-Served-By)"),
               w("successful requests", "peticiones exitosas"), w("share of its tier", "parte de su capa")]
    return headers, rows


def interference_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]]:
    rows = []
    for v in c.variants:
        kept = {id(a) for a in v.runs}
        for a in sorted([*v.runs, *v.discarded], key=lambda a: (a.round, a.m.attempt)):
            status = (w("kept", "conservada") if not a.problems() else w("kept, NOT trustworthy", "conservada, NO "
                      "confiable")) if id(a) in kept else w("disturbed: measured again", "perturbada: medida de "
                                                             "nuevo")  # fmt: skip
            rows.append([w.label(v.variant), str(a.round), str(a.m.attempt), w.pct(a.others_cpu, 0),
                         w.pct(a.steal, 0), w.pct(a.load_generator_peak, 0), w.pct(a.services_cpu, 0), status])
    headers = [w("variant", "variante"), w("round", "ronda"), w("attempt", "intento"),
               w("other programs (mean)", "otros programas (media)"), w("steal", "robado"),
               w("load generator (peak 5 s)", "generador de carga (pico 5 s)"),
               w("the variant (mean)", "la variante (media)"), w("verdict", "veredicto")]  # fmt: skip
    return headers, rows


def fault_tables(c: Comparison, w: Words) -> dict | None:
    if not c.setup.fault_spec:
        return None
    events, availability, outages, targets = [], [], [], []
    for v in c.variants:
        for a in v.runs:
            for e in a.events:
                applied = "–" if e.applied_s is None else f"{w.num(e.applied_s, 1)} s"
                events.append([w.label(v.variant), str(a.round), e.label, w.clock(e.planned_s), applied, e.outcome])
            availability.append([w.label(v.variant), str(a.round), w("whole run", "toda la ejecución"), "", "",
                                 w.pct(a.whole.availability, 2), w.int(a.whole.failures), ""])  # fmt: skip
            for i in a.impacts:
                availability.append([
                    w.label(v.variant), str(a.round), i.event.label, w.pct(i.before.availability, 2),
                    w.pct(i.after.availability, 2),
                    f"{w.pct(i.until_next.availability, 2)} ({w('to', 'hasta')} "
                    f"{i.next_label or w('the end', 'el final')})",
                    w.int(i.until_next.failures), sentences.recovery_text(i, w),
                ])  # fmt: skip
            for o in a.outages:
                outages.append([w.label(v.variant), str(a.round), f"{o.from_s} s", f"{o.to_s} s", f"{o.duration_s} s",
                                w.int(o.failures)])  # fmt: skip
            for t in a.targets:
                verdict = {True: w("met", "cumplido"), False: w("MISSED", "NO CUMPLIDO"),
                           None: w("(for comparison)", "(para comparar)")}[t.met]  # fmt: skip
                targets.append([t.name, w.label(t.variant), str(a.round), verdict, t.measured])
    return {
        "events": ([w("variant", "variante"), w("round", "ronda"), w("event", "evento"), w("planned", "previsto"),
                    w("applied at", "aplicado a"), w("what was done", "qué se hizo")], events),
        "availability": ([w("variant", "variante"), w("round", "ronda"), w("event", "evento"),
                          w(f"{drills.AROUND_S:g} s before", f"{drills.AROUND_S:g} s antes"),
                          w(f"{drills.AROUND_S:g} s after", f"{drills.AROUND_S:g} s después"),
                          w("until the next event", "hasta el siguiente evento"),
                          w("failed requests", "peticiones fallidas"), w("time to recover", "tiempo de recuperación")],
                         availability),
        "outages": ([w("variant", "variante"), w("round", "ronda"), w("from", "desde"), w("to", "hasta"),
                     w("duration", "duración"), w("failed requests", "peticiones fallidas")], outages),
        "targets": ([w("target", "objetivo"), w("variant", "variante"), w("round", "ronda"),
                     w("verdict", "veredicto"), w("measured", "medido")], targets),
        "restored": "; ".join(f"{w.label(v.variant)}: " + (", ".join(sorted({n for a in v.runs for n in a.m.restored}))
                              or w("nothing was left stopped", "nada quedó detenido")) for v in c.variants),
    }  # fmt: skip


def events_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    """The order events per run: how high the mail backlog grew, how long it took to drain, dead letters."""
    rows = []
    for v in c.variants:
        for a in v.runs:
            oe = a.order_events
            if oe is None:
                continue
            b = oe.backlog
            checkouts = [r for r in a.m.records if event_analysis.is_checkout(r)]
            failed = sum(1 for r in checkouts if not r.success)
            drain = a.m.drain
            after_run = ("–" if drain is None else f"{w.num(drain.seconds, 1)} s" if drain.drained
                         else w(f"not within {w.num(drain.seconds, 0)} s", f"no en {w.num(drain.seconds, 0)} s"))
            after_event = "–" if b.event is None else (
                f"{w.num(b.drain_s, 0)} s ({w('after', 'tras')} {b.event})" if b.drain_s is not None
                else w(f"not before the end ({b.event})", f"no antes del final ({b.event})"))
            mails = sum(x for x in oe.series.mails if x)
            rows.append([w.label(v.variant), str(a.round), w.int(b.peak),
                         "–" if b.peak_at_s is None else w.clock(b.peak_at_s), after_event, after_run,
                         w.int(b.dead_letters) if oe.series.has_broker else "–", w.int(int(mails)),
                         f"{w.int(len(checkouts))} ({w.int(failed)} {w('failed', 'fallidos')})"])  # fmt: skip
    if not rows:
        return None
    headers = [w("variant", "variante"), w("round", "ronda"), w("peak backlog (orders)", "atraso máximo (pedidos)"),
               w("at", "en"), w("drained after the event", "vaciado tras el evento"),
               w("drained after the load", "vaciado tras la carga"), w("dead letters", "mensajes muertos"),
               w("mails sent", "correos enviados"), w("checkouts", "checkouts")]  # fmt: skip
    return headers, rows


def invariant_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    rows = []
    for v in c.variants:
        for a in v.runs:
            inv = a.m.invariants
            if inv is None:
                continue
            if inv.error:
                rows.append([w.label(v.variant), str(a.round), w("could not check", "no se pudo comprobar"),
                             w("VIOLATED", "VIOLADO"), inv.error])  # fmt: skip
            for check in inv.checks:
                rows.append([w.label(v.variant), str(a.round), check.name,
                             "ok" if check.ok else w("VIOLATED", "VIOLADO"), check.detail])  # fmt: skip
    if not rows:
        return None
    return [w("variant", "variante"), w("round", "ronda"), w("invariant", "invariante"), w("verdict", "veredicto"),
            w("detail", "detalle")], rows  # fmt: skip


def failure_rows(c: Comparison, w: Words) -> tuple[list[str], list[list[str]]] | None:
    rows = [[w.label(v.variant), str(a.round), name, error, w.int(n)] for v in c.variants for a in v.runs
            for name, error, n in a.failures]  # fmt: skip
    if not rows:
        return None
    return [w("variant", "variante"), w("round", "ronda"), w("endpoint", "ruta"), w("reason", "motivo"),
            w("count", "cantidad")], rows  # fmt: skip


def fairness_items(c: Comparison, w: Words) -> list[str]:
    s = c.setup
    caps = "; ".join(f"{w.label(v)}: {caps.describe()}" for v, caps in s.caps.items())
    items = [
        w("Same data: the seed data was reloaded (twinshop reset) before every run.",
          "Mismos datos: los datos semilla se recargaron (twinshop reset) antes de cada ejecución.")
        if s.reset else w("NOT reset between runs (orders and stock carried over).",
                          "NO se reiniciaron entre ejecuciones (pedidos y stock se acumularon)."),
        w(f"Same scenario: {s.scenario.name} — {s.scenario.describe()}; {w.clock(s.scenario.duration_s)} per run, "
          f"peak {s.scenario.peak_users} users, same seed ({s.seed}) so each user makes the same choices.",
          f"Mismo escenario: {s.scenario.name} — {s.scenario.describe()}; {w.clock(s.scenario.duration_s)} por "
          f"ejecución, pico de {s.scenario.peak_users} usuarios, misma semilla ({s.seed}): cada usuario hace las "
          "mismas elecciones."),
        w(f"Same rounds: {s.rounds} per variant, alternating ({', '.join(w.label(v.variant) for v in c.variants)}, "
          "…), after one warm-up of each.",
          f"Mismas rondas: {s.rounds} por variante, alternadas ({', '.join(w.label(v.variant) for v in c.variants)}, "
          "…), tras un calentamiento de cada una."),
        w(f"Same warm-up: {w.num(s.warmup_s, 0)} s of read-only load, not measured.",
          f"Mismo calentamiento: {w.num(s.warmup_s, 0)} s de carga de solo lectura, sin medir."),
        w(f"CPU budget: {caps}.", f"Presupuesto de CPU: {caps}."),
        w(f"Engine: {s.engine.get('engine', '?')}.", f"Motor: {s.engine.get('engine', '?')}."),
    ]  # fmt: skip
    # What only a container engine has to state: the exact images, and the limits as Docker applied them.
    if s.engine.get("images"):
        items.append(w(f"Images: {s.engine['images']}.", f"Imágenes: {s.engine['images']}."))
    if s.engine.get("caps"):
        items.append(w(f"CPU caps as applied: {s.engine['caps']}.", f"Límites de CPU aplicados: {s.engine['caps']}."))
    if s.fault_spec:
        items.append(w(f"Same faults: {s.fault_spec}, at the same second of every run.",
                       f"Mismas fallas: {s.fault_spec}, en el mismo segundo de cada ejecución."))
    for v in c.variants:
        started = s.started_for_run.get(v.variant)
        how = (w("already running as needed", "ya estaba en marcha como se necesitaba") if started is None else
               w(f"started for this comparison (ready in {w.num(started, 1)} s)",
                 f"arrancada para esta comparación (lista en {w.num(started, 1)} s)"))  # fmt: skip
        others = s.others_running.get(v.variant) or []
        items.append(
            f"{w.label(v.variant)}: {v.runs[0].m.url if v.runs else ''}, {how}"
            + (w(f"; also running, idle: {', '.join(others)}", f"; también en marcha, sin carga: {', '.join(others)}")
               if others else "") + "."
        )  # fmt: skip
    m = s.machine
    items.append(w(
        f"Machine: {m.get('logical_cores')} logical cores, {w.num(m.get('memory_gb'))} GB RAM, load average "
        f"{w.num(m.get('load_average_1m'), 2)} at the start; {m.get('platform')}; Python {m.get('python')}; "
        f"Locust {s.locust_version}.",
        f"Máquina: {m.get('logical_cores')} núcleos lógicos, {w.num(m.get('memory_gb'))} GB de RAM, carga media "
        f"{w.num(m.get('load_average_1m'), 2)} al inicio; {m.get('platform')}; Python {m.get('python')}; "
        f"Locust {s.locust_version}.",
    ))
    return items


# -- files --------------------------------------------------------------------------------------


def run_dict(a: RunAnalysis) -> dict:
    return {
        "round": a.round,
        "attempt": a.m.attempt,
        "data": str(a.m.folder) if a.m.folder else None,
        "start_time": a.m.start_time,
        "steady_window_s": [a.window.start_s, a.window.end_s],
        "steady_window_from": a.window.how,
        "steady": a.steady.as_dict(),
        "whole_run": a.whole.as_dict(),
        "cpu": a.cpu,
        "services_cpu_percent": a.services_cpu,
        "cpu_ms_per_request": a.cpu_ms_per_request,
        "cpu_budget_cores": a.m.cpu_budget,
        "budget_share": a.budget_share,
        "load_generator_peak_percent": a.load_generator_peak,
        "others_cpu_percent": a.others_cpu,
        "steal_percent": a.steal,
        "disturbed": a.disturbed,
        "problems": [{"kind": k, "percent": v} for k, v in a.problems()],
        "worker_shares": a.worker_shares,
        "served_by_tier": a.served,
        "server_timing_ms": a.timing,
        "failures": [{"name": n, "error": e, "count": c} for n, e, c in a.failures],
        "steps": [{"users": s.users, "from_s": s.start_s, "to_s": s.end_s, "met": s.met, **s.summary.as_dict()}
                  for s in a.steps],  # fmt: skip
        "capacity_users": a.capacity.users if a.capacity else None,
        "events": [e.as_dict() for e in a.events],
        "impacts": [i.as_dict() for i in a.impacts],
        "outages": [o.as_dict() for o in a.outages],
        "targets": [t.as_dict() for t in a.targets],
        "pids_before": a.m.pids_before,
        "pids_after": a.m.pids_after,
        "restored": a.m.restored,
        "nodes_first_seen_s": {n: drills.first_seen(a.nodes, n) for n in (a.nodes.nodes if a.nodes else {})},
        "invariants": a.m.invariants.as_dict() if a.m.invariants is not None else None,
        "order_events": a.order_events.as_dict() if a.order_events is not None else None,
        "drain": a.m.drain.as_dict() if a.m.drain is not None else None,
    }


def summary_json(c: Comparison, w: Words, charts: Sequence[Chart]) -> dict:
    s = c.setup
    return {
        "created": c.created,
        "lang": w.lang,
        "trustworthy": c.trustworthy,
        "verdict": sentences.verdict(c, w),
        "summary": sentences.summary(c, w),
        "caveats": sentences.caveats(c, w),
        "problems": [{"variant": v, "round": r, "kind": k, "percent": p} for v, r, k, p in c.problems()],
        "scenario": {
            "name": s.scenario.name,
            "stages": [[st.until_s, st.users, st.spawn_rate] for st in s.scenario.stages],
            "steady_users": s.scenario.steady_users,
            "settle_s": s.scenario.settle_s,
        },
        "setup": {
            "rounds": s.rounds,
            "seed": s.seed,
            "warmup_s": s.warmup_s,
            "reset": s.reset,
            "cpu_caps": {v: caps.describe() for v, caps in s.caps.items()},
            "machine": s.machine,
            "engine": s.engine,
            "locust_version": s.locust_version,
            "faults": s.fault_spec,
            "started_for_run_s": s.started_for_run,
            "others_running": s.others_running,
            "max_reruns": s.max_reruns,
        },
        "variants": {
            v.variant: {
                "rounds": v.rounds,
                "medians": {m.name: sp.as_dict() for m in METRICS if m.name in c.headline
                            and (sp := v.spread(m.name)) is not None},  # fmt: skip
                "saturated": v.saturated,
                "failures": v.failures,
                "requests": v.requests,
                "unanswered": v.unanswered,
                "runs": [run_dict(a) for a in v.runs],
                "measured_again": [run_dict(a) for a in v.discarded],
            }
            for v in c.variants
        },
        "differences": {name: d.as_dict() for name, d in c.differences().items()},
        "invariants_ok": all(a.m.invariants.ok for v in c.variants for a in v.runs if a.m.invariants is not None),
        "charts": {ch.slug: {"file": f"charts/{ch.slug}.png", "markers": ch.markers} for ch in charts},
    }


def write_csvs(folder: Path, c: Comparison) -> None:
    with open(folder / "per_second.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "round", "second", "users", "requests", "failures", "p50_ms", "p95_ms", "p99_ms",
                         "steady"])  # fmt: skip
        for v in c.variants:
            for a in v.runs:
                for s in a.series:
                    steady = a.window.start_s <= s.t and s.t + 1 <= a.window.end_s
                    writer.writerow([v.variant, a.round, s.t, s.users, s.requests, s.failures, s.p50, s.p95, s.p99,
                                     int(steady)])  # fmt: skip
    with open(folder / "cpu.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "round", "seconds_since_start", "process", "percent_of_one_core"])
        for v in c.variants:
            for a in v.runs:
                for t, label, value in a.m.cpu:
                    writer.writerow([v.variant, a.round, f"{t:.2f}", label, f"{value:.1f}"])
    with open(folder / "events.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "round", "seconds_since_start", "label", "value"])
        for v in c.variants:
            for a in v.runs:
                for t, label, value in a.m.event_samples:
                    writer.writerow([v.variant, a.round, f"{t:.2f}", label, value])
    with open(folder / "runs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "round", "attempt", "kept", "ok_rps", "p50_ms", "p95_ms", "p99_ms", "availability",
                         "cpu_ms_per_request", "others_cpu_percent", "steal_percent", "load_generator_peak_percent"])
        for v in c.variants:
            kept = {id(a) for a in v.runs}
            for a in [*v.runs, *v.discarded]:
                writer.writerow([v.variant, a.round, a.m.attempt, int(id(a) in kept), a.steady.ok_rps, a.steady.p50,
                                 a.steady.p95, a.steady.p99, a.whole.availability, a.cpu_ms_per_request,
                                 round(a.others_cpu, 1), round(a.steal, 1), round(a.load_generator_peak, 1)])


def raw_files(out_dir: Path, c: Comparison) -> list[str]:
    """The raw request files of the kept runs, relative to the report (those the harness wrote there)."""
    found = []
    for v in c.variants:
        for a in v.runs:
            raw = a.m.folder / "requests.csv" if a.m.folder else None
            if raw is not None and raw.exists() and raw.resolve().is_relative_to(out_dir.resolve()):
                found.append(str(raw.resolve().relative_to(out_dir.resolve())))
    return found


def write(out_dir: Path, c: Comparison, *, lang: str = "en") -> Path:
    """Write the whole report into ``out_dir``; return the path of index.html."""
    out_dir = Path(out_dir)
    w = Words(lang)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    charts = chart_module.all_charts(c, w)
    for chart in charts:
        (out_dir / "charts" / f"{chart.slug}.png").write_bytes(chart.png)
    write_csvs(out_dir / "data", c)
    (out_dir / "summary.json").write_text(
        json.dumps(summary_json(c, w, charts), indent=2, default=str, ensure_ascii=False), encoding="utf-8"
    )
    time_slugs = {*chart_module.SERIES, "cpu"}
    page = environment().get_template("comparison.html").render(
        w=w,
        c=c,
        lang=lang,
        title=" vs ".join(w.label(v.variant) for v in c.variants),
        key=[(w.label(v.variant), colour) for v, colour in zip(c.variants, side_colours(c).values(), strict=True)],
        trustworthy=c.trustworthy,
        verdict=sentences.verdict(c, w),
        summary=sentences.summary(c, w),
        caveats=sentences.caveats(c, w),
        fairness=fairness_items(c, w),
        headline=headline_rows(c, w),
        headline_chart=next(ch for ch in charts if ch.slug == "headline"),
        capacity=capacity_rows(c, w),
        capacity_charts=[ch for ch in charts if ch.slug.startswith("capacity_")],
        time_charts=[ch for ch in charts if ch.slug in time_slugs],
        stages=stage_rows(c, w),
        faults=fault_tables(c, w),
        endpoints=endpoint_rows(c, w),
        timing=timing_rows(c, w),
        cpu=cpu_rows(c, w),
        node_charts=[ch for ch in charts if ch.slug.startswith("served_by_")],
        events_charts=[ch for ch in charts if ch.slug in chart_module.EVENT_SLUGS],
        events=events_rows(c, w),
        events_summary=sentences.events_sentences(c, w),
        served=served_rows(c, w),
        interference=interference_rows(c, w),
        failures=failure_rows(c, w),
        invariants=invariant_rows(c, w),
        raw_files=raw_files(out_dir, c),
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
