"""The measured results behind the labs and the instructor guide: kept from real runs, turned into tables.

``make docs-figures`` (scripts/labs.py write) runs every comparison the labs ask for and keeps a digest
of each report here, in docs/instructor/results/NAME.json — the last few runs, so that a table can
show the range this machine gave, not one lucky figure. Documents under docs/ mark where a table goes:

    <!-- generated:NAME LANG -->
    ... written by write_generated(), compared by check_generated() ...
    <!-- /generated -->

NAME is one of :data:`TABLES`; LANG is ``en`` or ``es`` (decimal comma, Spanish words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "instructor" / "results"
KEEP_RUNS = 5  # runs kept per result: the tables' ranges span them

REGION = re.compile(r"(<!-- generated:(\S+) (en|es) -->\n)(.*?)(<!-- /generated -->)", re.S)


# -- keeping a report ---------------------------------------------------------------------------------


def digest(summary: dict, folder: Path) -> dict:
    """What the guide needs from one report (summary.json), appended to the runs kept for this result."""
    run = {
        "created": summary.get("created"),
        "trustworthy": summary.get("trustworthy"),
        "verdict": summary.get("verdict"),
        "summary": summary.get("summary"),
        "caveats": summary.get("caveats"),
        "machine": (summary.get("setup") or {}).get("machine") or summary.get("machine"),  # compare / scaling
        "faults": (summary.get("setup") or {}).get("faults"),
        "differences": summary.get("differences"),
        "variants": {},
    }
    for variant, data in (summary.get("variants") or {}).items():
        run["variants"][variant] = {
            "medians": data.get("medians"),
            "runs": [
                {
                    "round": r.get("round"),
                    "steady": r.get("steady"),
                    "whole_run": r.get("whole_run"),
                    "cpu_ms_per_request": r.get("cpu_ms_per_request"),
                    "others_cpu_percent": r.get("others_cpu_percent"),
                    "load_generator_peak_percent": r.get("load_generator_peak_percent"),
                    "events": r.get("events"),
                    "impacts": r.get("impacts"),
                    "outages": r.get("outages"),
                    "targets": r.get("targets"),
                    "invariants": r.get("invariants"),
                    "order_events": r.get("order_events"),
                    "drain": r.get("drain"),
                    "served_by_tier": r.get("served_by_tier"),
                    "server_timing_ms": r.get("server_timing_ms"),
                }
                for r in data.get("runs", [])
            ],
            "measured_again": len(data.get("measured_again") or []),
        }
    for key in ("steps", "points", "machine_limit_cpus"):  # the scaling report's own figures
        if key in summary:
            run[key] = summary[key]
    return run


def keep(name: str, summary: dict, folder: Path) -> Path:
    """Add this run to results/NAME.json (the last KEEP_RUNS runs stay)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    runs = [*runs, digest(summary, folder)][-KEEP_RUNS:]
    path.write_text(json.dumps({"name": name, "runs": runs}, indent=1, ensure_ascii=False) + "\n")
    return path


def load(name: str) -> list[dict]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["runs"] if path.exists() else []


# -- tables ---------------------------------------------------------------------------------------------


def number(value: float, lang: str, digits: int = 1) -> str:
    text = f"{value:,.{digits}f}"
    if lang == "es":  # 1.234,5: a point for thousands, a comma for decimals
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def span(values: list[float], lang: str, digits: int = 1, unit: str = "") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    low, high = min(values), max(values)
    text = number(low, lang, digits) if round(low, digits) == round(high, digits) else \
        f"{number(low, lang, digits)}–{number(high, lang, digits)}"  # fmt: skip
    return text + unit


TABLES: dict[str, Callable[[str], str]] = {}


def table(name: str):
    def register(func: Callable[[str], str]) -> Callable[[str], str]:
        TABLES[name] = func
        return func

    return register


WORDS = {
    "variant": ("variant", "variante"),
    "monolith": ("monolith", "monolito"),
    "distributed": ("distributed", "distribuida"),
    "throughput": ("throughput (successful requests/s)", "rendimiento (peticiones exitosas/s)"),
    "p50": ("p50 latency (ms)", "latencia p50 (ms)"),
    "p95": ("p95 latency (ms)", "latencia p95 (ms)"),
    "p99": ("p99 latency (ms)", "latencia p99 (ms)"),
    "cpu_per_request": ("CPU per request (ms)", "CPU por petición (ms)"),
    "availability": ("availability (%)", "disponibilidad (%)"),
    "figure": ("figure", "cifra"),
    "clear": ("clear difference?", "¿diferencia clara?"),
    "yes": ("yes", "sí"),
    "no": ("no", "no"),
    "better": ("yes: {variant} better", "sí: mejor {variant}"),
    "none": ("no run stored yet: `make docs-figures`", "todavía no hay ejecuciones guardadas: `make docs-figures`"),
    "trust_ok": ("trustworthy", "confiable"),
    "trust_no": ("**not trustworthy**", "**no confiable**"),
    "measured": (
        "Measured {created} on a {cores}-core machine; verdict: {trust}; {reruns} run(s) measured again "
        "because other programs took CPU.",
        "Medido el {created} en una máquina de {cores} núcleos; veredicto: {trust}; {reruns} ejecución(es) "
        "medida(s) otra vez porque otros programas usaron CPU.",
    ),
    "runs": (
        "{n} stored run(s) of `{command}`, each of 3 rounds per variant; every cell: lowest–highest round seen.",
        "{n} ejecución(es) guardada(s) de `{command}`, cada una de 3 rondas por variante; cada celda: "
        "ronda más baja–más alta vista.",
    ),
}


def word(key: str, lang: str, **values) -> str:
    text = WORDS[key][0 if lang == "en" else 1]
    return text.format(**values) if values else text


METRIC_DIGITS = {"throughput": 1, "p50": 0, "p95": 0, "p99": 0, "cpu_per_request": 1, "availability": 2}


def median_cell(spread: dict | None, lang: str, digits: int) -> str:
    """ "101.4 (85.4–107.8)": the median of the rounds, the lowest and highest round in brackets."""
    if not spread:
        return "—"
    return f"{number(spread['median'], lang, digits)} ({span([spread['low'], spread['high']], lang, digits)})"


def clear_cell(difference: dict | None, lang: str) -> str:
    if not difference or not difference.get("clear"):
        return word("no", lang)
    return word("better", lang, variant=word(difference["better"], lang))


def trust_line(run: dict, lang: str) -> str:
    reruns = sum(v.get("measured_again", 0) for v in run["variants"].values())
    return word(
        "measured",
        lang,
        created=(run.get("created") or "?")[:16],
        cores=(run.get("machine") or {}).get("logical_cores", "?"),
        trust=word("trust_ok" if run.get("trustworthy") else "trust_no", lang),
        reruns=reruns,
    )


@table("quick-headline")
def quick_headline(lang: str) -> str:
    """The latest `twinshop compare --quick`: each headline figure, median (lowest–highest round), clear or not."""
    runs = load("quick")
    if not runs:
        return word("none", lang)
    run = runs[-1]
    rows = [f"| {word('figure', lang)} | {word('monolith', lang)} | {word('distributed', lang)} | "
            f"{word('clear', lang)} |", "|---|---|---|---|"]  # fmt: skip
    for metric in ("throughput", "p50", "p95", "cpu_per_request"):
        cells = [median_cell((run["variants"].get(v) or {}).get("medians", {}).get(metric), lang,
                             METRIC_DIGITS[metric]) for v in ("monolith", "distributed")]  # fmt: skip
        rows.append(f"| {word(metric, lang)} | {cells[0]} | {cells[1]} | "
                    f"{clear_cell((run.get('differences') or {}).get(metric), lang)} |")  # fmt: skip
    return "\n".join(rows) + "\n\n" + trust_line(run, lang) + "\n"


@table("quick-ranges")
def quick_ranges(lang: str) -> str:
    """Every stored `compare --quick`: the range of each figure over all their rounds (the instructor's ranges)."""
    runs = load("quick")
    if not runs:
        return word("none", lang)
    rows = [f"| {word('figure', lang)} | {word('monolith', lang)} | {word('distributed', lang)} |", "|---|---|---|"]
    for metric in ("throughput", "p50", "p95", "p99", "cpu_per_request"):
        cells = []
        for v in ("monolith", "distributed"):
            values = [x for run in runs for x in ((run["variants"].get(v) or {}).get("medians", {}).get(metric) or {})
                      .get("rounds", [])]  # fmt: skip
            cells.append(span(values, lang, METRIC_DIGITS[metric]))
        rows.append(f"| {word(metric, lang)} | {cells[0]} | {cells[1]} |")
    trusted = sum(1 for run in runs if run.get("trustworthy"))
    note = word("runs", lang, n=len(runs), command="twinshop compare --quick")
    trust = f"{trusted}/{len(runs)} trustworthy." if lang == "en" else f"{trusted}/{len(runs)} confiables."
    return "\n".join(rows) + "\n\n" + note + " " + trust + "\n"


DRILLS = {  # result name -> the command that made it
    "drill-kill-api1": "twinshop compare --quick --fault kill:api-1@30s",
    "drill-db": "twinshop compare --quick --fault kill:db@25s,start:db@35s",
    "drill-crash": "twinshop compare --quick --fault crash:api-2@30s",
    "drill-standby": "twinshop compare --quick --fault kill-all-primaries:api@25s,start-all-primaries:api@40s",
    # lab 08, on the Swarm of `twinshop cluster up --nodes 3`
    "swarm-kill-node": "twinshop compare --engine swarm --quick --fault kill-node:node-2@30s",
    "swarm-partition": "twinshop compare --engine swarm --quick --fault partition:node-3@30s,heal:node-3@50s",
}

WORDS.update(
    {
        "availability_run": ("availability over the run", "disponibilidad en toda la ejecución"),
        "before": ("{event}: the 10 s before", "{event}: los 10 s antes"),
        "after": ("{event}: the 10 s after", "{event}: los 10 s después"),
        "until": ("{event}: until {next}", "{event}: hasta {next}"),
        "end": ("the end", "el final"),
        "failed_of": ("{failed} of {total} failed", "fallaron {failed} de {total}"),
        "recovery": ("{event}: time to recover", "{event}: tiempo de recuperación"),
        "no_impact": ("no visible impact", "sin impacto visible"),
        "not_recovered": ("not recovered before {until}", "no se recuperó antes de {until}"),
        "seconds": ("{n} s", "{n} s"),
        "skipped": ("skipped: {why}", "omitido: {why}"),
        "target": ("target: {name}", "objetivo: {name}"),
        "met": ("met", "cumplido"),
        "not_met": ("**not met**", "**no cumplido**"),
        "comparison": ("for comparison (no target)", "solo para comparar (sin objetivo)"),
        "p95_run": ("p95 over the run (ms)", "p95 en toda la ejecución (ms)"),
        "invariants": ("invariants", "invariantes"),
        "held": ("held ({orders} orders accepted)", "se cumplieron ({orders} pedidos aceptados)"),
        "violated": ("**violated**", "**no se cumplieron**"),
        "n": ("n", "n"),
        "cpu": ("CPU budget", "presupuesto de CPU"),
        "mono_rps": ("monolith req/s (p95 ms)", "monolito pet/s (p95 ms)"),
        "dist_rps": ("distributed req/s (p95 ms)", "distribuida pet/s (p95 ms)"),
        "ratio": ("distributed / monolith", "distribuida / monolito"),
        "trusted_cell": ("trustworthy?", "¿confiable?"),
        "moved": ("the node's tasks served again from other nodes after",
                  "las tareas del nodo volvieron a servir desde otros nodos tras"),
    }
)

TARGET_NAMES = {  # the drills' targets (loadtests/drills.py), in Spanish
    "killing 1 API replica costs ≤ 0.5 % of requests": "matar 1 réplica de API cuesta ≤ 0,5 % de las peticiones",
    "a database restart is recovered by every service with no manual step": (
        "todos los servicios se recuperan de un reinicio de la base de datos sin pasos manuales"
    ),
    "a crashed monolith process is restarted by supervisord (downtime reported)": (
        "supervisord vuelve a arrancar un proceso caído del monolito (se informa el tiempo sin servicio)"
    ),
    "killing 1 node costs ≤ 2 % of requests and its tasks serve again from other nodes within 40 s": (
        "matar 1 nodo cuesta ≤ 2 % de las peticiones y sus tareas vuelven a servir desde otros nodos en 40 s"
    ),
    "a partitioned node's tasks serve again from other nodes within 40 s (≤ 2 % of requests lost)": (
        "las tareas de un nodo aislado vuelven a servir desde otros nodos en 40 s (≤ 2 % de peticiones perdidas)"
    ),
}


def percent(value: float | None, lang: str, digits: int = 2) -> str:
    return "—" if value is None else f"{number(value, lang, digits)} %"


def recovery_cell(impact: dict, lang: str) -> str:
    if not impact.get("impact"):
        return word("no_impact", lang)
    if impact.get("recovered") and impact.get("recovery_s") is not None:
        return word("seconds", lang, n=number(impact["recovery_s"], lang, 0))
    nxt = impact.get("next_event")
    if lang == "es":
        return f"no se recuperó antes de `{nxt}`" if nxt else "no se recuperó antes del final"
    return word("not_recovered", lang, until=f"`{nxt}`" if nxt else word("end", lang))


def drill_rows(run: dict, lang: str) -> list[tuple[str, list[str]]]:
    variants = ("monolith", "distributed")
    runs = {v: (run["variants"].get(v) or {}).get("runs", [{}])[0] for v in variants}
    rows = [(word("availability_run", lang), [percent((runs[v].get("whole_run") or {}).get("availability"), lang)
                                              for v in variants])]  # fmt: skip
    labels = [e["label"] for e in (runs["distributed"].get("events") or runs["monolith"].get("events") or [])]
    for label in labels:
        impacts = {v: next((i for i in runs[v].get("impacts") or [] if i["event"]["label"] == label), None)
                   for v in variants}  # fmt: skip
        events = {v: next((e for e in runs[v].get("events") or [] if e["label"] == label), None) for v in variants}

        said: set[str] = set()  # a skipped event says why once, on its first row

        def cells(make, events=events, impacts=impacts, said=said) -> list[str]:
            out = []
            for v in variants:
                if events[v] and events[v].get("skipped"):
                    out.append("—" if v in said else word("skipped", lang, why=events[v]["skipped"]))
                    said.add(v)
                elif impacts[v] is None:
                    out.append("—")
                else:
                    out.append(make(impacts[v]))
            return out

        for window in ("before", "after"):
            rows.append((word(window, lang, event=f"`{label}`"),
                         cells(lambda i, window=window: percent(i[window]["availability"], lang, 1))))  # fmt: skip
        nxt = next((i["next_event"] for i in impacts.values() if i and i.get("next_event")), None)
        rows.append((word("until", lang, event=f"`{label}`", next=f"`{nxt}`" if nxt else word("end", lang)),
                     cells(lambda i: word("failed_of", lang, failed=number(i["until_next"]["failures"], lang, 0),
                                          total=number(i["until_next"]["requests"], lang, 0)))))  # fmt: skip
        rows.append((word("recovery", lang, event=f"`{label}`"), cells(lambda i: recovery_cell(i, lang))))
    targets = {}
    for v in variants:
        for t in runs[v].get("targets") or []:
            targets.setdefault(t["name"], {})[v] = t
    for name, by_variant in targets.items():
        shown = name if lang == "en" else TARGET_NAMES.get(name, name)
        cells = []
        for v in variants:
            t = by_variant.get(v)
            cells.append("—" if t is None else word("comparison" if t["met"] is None else "met" if t["met"] else
                                                     "not_met", lang))  # fmt: skip
        rows.append((word("target", lang, name=shown), cells))
        moved = [moved_cell(by_variant.get(v), lang) for v in variants]
        if any(moved):
            rows.append((word("moved", lang), [cell or "—" for cell in moved]))
    rows.append((word("p95_run", lang), [number((runs[v].get("whole_run") or {}).get("p95") or 0, lang, 0)
                                         for v in variants]))  # fmt: skip
    inv = []
    for v in variants:
        i = runs[v].get("invariants") or {}
        orders = next((c["detail"].split()[1] for c in i.get("checks", []) if c["name"].startswith("accepted")), "?")
        inv.append(word("held", lang, orders=orders) if i.get("ok") else word("violated", lang))
    rows.append((word("invariants", lang), inv))
    return rows


MOVED = re.compile(r"served again from other nodes after: (.*) \(target")


def moved_cell(target: dict | None, lang: str) -> str:
    """A node drill's target says, task by task, when each served again from another node."""
    found = MOVED.search((target or {}).get("measured") or "")
    if not found:
        return ""
    if lang == "es":
        return found.group(1).replace("not again in this run", "no volvió en esta ejecución")
    return found.group(1)


def drill_table(name: str, lang: str) -> str:
    runs = load(name)
    if not runs:
        return word("none", lang)
    run = runs[-1]
    lines = [f"| | {word('monolith', lang)} | {word('distributed', lang)} |", "|---|---|---|"]
    lines += [f"| {label} | {cells[0]} | {cells[1]} |" for label, cells in drill_rows(run, lang)]
    return "\n".join(lines) + "\n\n" + trust_line(run, lang) + "\n"


for _name in DRILLS:
    TABLES[_name] = lambda lang, _name=_name: drill_table(_name, lang)


# -- the order events' drills (lab 07) ------------------------------------------------------------------

EVENT_DRILLS = {  # result name -> the command that made it
    "events-mail-down": "twinshop compare --quick --fault kill:mail@30s,start:mail@50s",
    "events-broker-down": "twinshop compare --quick --fault kill:broker@25s,start:broker@40s",
    "events-slow-mail": "twinshop compare --quick --fault slow:mail@20s,fast:mail@45s",
}

WORDS.update(
    {
        "checkouts_down": ("checkouts while the mail server was down", "checkouts con el servidor de correo caído"),
        "checkout_p95": (
            "checkout p95: the 20 s before `{event}` → while slow",
            "p95 del checkout: los 20 s antes de `{event}` → mientras estaba lento",
        ),
        "peak_backlog": ("peak backlog (orders not mailed yet)", "atraso máximo (pedidos sin correo aún)"),
        "drained": ("backlog drained after `{event}`", "atraso vaciado tras `{event}`"),
        "drained_in": ("{n} s", "{n} s"),
        "not_drained": ("not before the end", "no antes del final"),
        "dead_letters": ("dead letters", "mensajes muertos"),
    }
)

TARGET_NAMES.update(
    {
        "with the mail server down, no checkout fails and the backlog drains within 30 s of its return": (
            "con el servidor de correo caído, ningún checkout falla y el atraso se vacía en menos de 30 s tras su "
            "vuelta"
        ),
        "a slow mail server slows the checkout down": "un servidor de correo lento frena el checkout",
    }
)

# The figures of the order events' targets live in their sentence (loadtests/analysis/events.py `targets`).
CHECKOUTS_FAILED = re.compile(r"([\d,]+) of ([\d,]+) checkouts failed while the mail server was down")
CHECKOUT_P95 = re.compile(r"checkout p95 (–|\d+ ms) in the 20 s before (\S+), (–|\d+ ms) while the mail server")


def event_rows(run: dict, lang: str) -> list[tuple[str, list[str]]]:
    """What lab 07 reads in a drill's report beyond the availability: the checkouts during the fault, the
    mail backlog (how high, how long to drain) and the dead letters."""
    variants = ("monolith", "distributed")
    runs = {v: (run["variants"].get(v) or {}).get("runs", [{}])[0] for v in variants}
    measured = {v: " ".join(t.get("measured", "") for t in runs[v].get("targets") or []) for v in variants}
    rows = []
    found = {v: CHECKOUTS_FAILED.search(measured[v]) for v in variants}
    if any(found.values()):
        rows.append((word("checkouts_down", lang), [
            "—" if m is None else word("failed_of", lang, failed=number(int(m[1].replace(",", "")), lang, 0),
                                       total=number(int(m[2].replace(",", "")), lang, 0))
            for m in found.values()]))  # fmt: skip
    found = {v: CHECKOUT_P95.search(measured[v]) for v in variants}
    event = next((m[2] for m in found.values() if m), None)

    def ms(text: str) -> str:  # "1836 ms" as this language writes it; "–" (no checkout) as "—"
        return "—" if text == "–" else number(int(text.split()[0]), lang, 0) + " ms"

    if event:
        rows.append(
            (
                word("checkout_p95", lang, event=event),
                ["—" if m is None else f"{ms(m[1])} → {ms(m[3])}" for m in found.values()],
            )
        )
    backlogs = {v: ((runs[v].get("order_events") or {}).get("backlog") or {}) for v in variants}
    rows.append((word("peak_backlog", lang), [number(backlogs[v].get("peak") or 0, lang, 0) if backlogs[v] else "—"
                                              for v in variants]))  # fmt: skip
    brokered = {v: (runs[v].get("order_events") or {}).get("has_broker") for v in variants}
    event = next((b["event"] for b in backlogs.values() if b.get("event")), None)
    if event:
        cells = []
        for v in variants:
            b = backlogs[v]
            if not b or not brokered[v]:  # no broker: mailed inside the checkout, nothing to drain
                cells.append("—")
            elif b.get("drain_s") is None:
                cells.append(word("not_drained", lang))
            else:
                cells.append(word("drained_in", lang, n=number(b["drain_s"], lang, 0)))
        rows.append((word("drained", lang, event=event), cells))
    rows.append((word("dead_letters", lang), [number(backlogs[v].get("dead_letters") or 0, lang, 0)
                                              if brokered[v] else "—" for v in variants]))  # fmt: skip
    return rows


def event_drill_table(name: str, lang: str) -> str:
    runs = load(name)
    if not runs:
        return word("none", lang)
    run = runs[-1]
    rows = drill_rows(run, lang)
    lines = [f"| | {word('monolith', lang)} | {word('distributed', lang)} |", "|---|---|---|"]
    rows = rows[:-2] + event_rows(run, lang) + rows[-2:]  # p95 and the invariants stay last
    lines += [f"| {label} | {cells[0]} | {cells[1]} |" for label, cells in rows]
    return "\n".join(lines) + "\n\n" + trust_line(run, lang) + "\n"


for _name in EVENT_DRILLS:
    TABLES[_name] = lambda lang, _name=_name: event_drill_table(_name, lang)


@table("events-ranges")
def events_ranges(lang: str) -> str:
    """Every stored order-events drill: the checkouts that failed during the fault and the distributed backlog
    (peak, drain), as ranges over the stored runs (the instructor's expected results)."""
    head = (("drill", "monolith: checkouts failed during the fault", "distributed: checkouts failed",
             "distributed: peak backlog (orders)", "distributed: drained after the fault (s)", "runs (trustworthy)")
            if lang == "en" else
            ("simulacro", "monolito: checkouts fallidos durante la falla", "distribuida: checkouts fallidos",
             "distribuida: atraso máximo (pedidos)", "distribuida: vaciado tras la falla (s)",
             "ejecuciones (confiables)"))  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|---|---|---|"]
    for name, command in EVENT_DRILLS.items():
        fault = drill_label(command)
        runs = load(name)
        if not runs:
            lines.append(f"| `{fault}` | — | — | — | — | 0 |")
            continue
        cells = []
        for v in ("monolith", "distributed"):
            failed = []
            for r in runs:
                one = (r["variants"].get(v) or {}).get("runs", [{}])[0]
                text = " ".join(t.get("measured", "") for t in one.get("targets") or [])
                m = CHECKOUTS_FAILED.search(text)
                if m:
                    failed.append(f"{number(int(m[1].replace(',', '')), lang, 0)}/"
                                  f"{number(int(m[2].replace(',', '')), lang, 0)}")  # fmt: skip
            cells.append(", ".join(failed) or "—")
        backlogs = [((((r["variants"].get("distributed") or {}).get("runs", [{}])[0]).get("order_events") or {})
                     .get("backlog") or {}) for r in runs]  # fmt: skip
        peak = span([b.get("peak") for b in backlogs], lang, 0)
        drain = span([b.get("drain_s") for b in backlogs], lang, 0)
        trusted = sum(1 for r in runs if r.get("trustworthy"))
        lines.append(f"| `{fault}` | {cells[0]} | {cells[1]} | {peak} | {drain} | {len(runs)} ({trusted}) |")
    note = ("The checkouts: failed/placed while the mail server was down, one per stored run (— : the drill does "
            "not stop the mail server)." if lang == "en" else
            "Los checkouts: fallidos/realizados con el servidor de correo caído, uno por ejecución guardada (—: el "
            "simulacro no detiene el servidor de correo).")  # fmt: skip
    return "\n".join(lines) + "\n\n" + note + "\n"


def drill_label(command: str) -> str:
    """A drill's events, and the engine when it is not the local one: `--engine swarm kill-node:node-2@30s`."""
    return command.removeprefix("twinshop compare ").replace("--quick --fault ", "")


@table("drill-ranges")
def drill_ranges(lang: str) -> str:
    """Every stored drill: availability over the run and the target's outcome, as ranges over the stored runs."""
    drill = "drill" if lang == "en" else "simulacro"
    lines = [
        f"| {drill} | {word('monolith', lang)} | {word('distributed', lang)} | "
        + ("runs (trustworthy)" if lang == "en" else "ejecuciones (confiables)")
        + " |",
        "|---|---|---|---|",
    ]
    for name, command in DRILLS.items():
        runs = load(name)
        if not runs:
            lines.append(f"| `{drill_label(command)}` | — | — | 0 |")
            continue
        cells = []
        for v in ("monolith", "distributed"):
            values = [((r["variants"].get(v) or {}).get("runs", [{}])[0].get("whole_run") or {}).get("availability")
                      for r in runs]  # fmt: skip
            cells.append(span(values, lang, 2, " %"))
        trusted = sum(1 for r in runs if r.get("trustworthy"))
        lines.append(f"| `{drill_label(command)}` | {cells[0]} | {cells[1]} | "
                     f"{len(runs)} ({trusted}) |")  # fmt: skip
    return "\n".join(lines) + "\n"


@table("scaling")
def scaling_table(lang: str) -> str:
    """The latest `twinshop compare --scenario scaling`: throughput and p95 of each variant at each step."""
    runs = load("scaling")
    if not runs:
        return word("none", lang)
    run = runs[-1]
    points = {(p["variant"], p["n"]): p for p in run.get("points", [])}
    lines = [f"| {word('n', lang)} | {word('cpu', lang)} | {word('mono_rps', lang)} | {word('dist_rps', lang)} | "
             f"{word('ratio', lang)} | {word('trusted_cell', lang)} |", "|---|---|---|---|---|---|"]  # fmt: skip
    for step in run.get("steps", []):
        m, d = points.get(("monolith", step["n"])), points.get(("distributed", step["n"]))
        if not m or not d:
            continue

        def cell(p: dict) -> str:
            return f"{number(p['rps'] or 0, lang, 1)} ({number(p['p95_ms'] or 0, lang, 0)})"

        ratio = number(d["rps"] / m["rps"], lang, 2) if m["rps"] and d["rps"] else "—"
        cpu = number(step["cpus"], lang, 1) + (f" ({number(step['wanted_cpus'], lang, 1)})" if step["capped"] else "")
        trusted = word("yes" if m["trustworthy"] and d["trustworthy"] else "no", lang)
        lines.append(f"| {step['n']} | {cpu} | {cell(m)} | {cell(d)} | {ratio} | {trusted} |")
    note = (
        "CPU budget in brackets: what the step asked for, when the machine could not give it."
        if lang == "en"
        else "Entre paréntesis en el presupuesto: lo que pedía el paso, cuando la máquina no podía darlo."
    )
    return "\n".join(lines) + "\n\n" + note + " " + trust_line_scaling(run, lang) + "\n"


def trust_line_scaling(run: dict, lang: str) -> str:
    created = (run.get("created") or "?")[:16]
    cores = (run.get("machine") or {}).get("logical_cores", "?")
    trust = word("trust_ok" if run.get("trustworthy") else "trust_no", lang)
    if lang == "en":
        return f"Measured {created} on a {cores}-core machine; verdict: {trust}."
    return f"Medido el {created} en una máquina de {cores} núcleos; veredicto: {trust}."


def render(name: str, lang: str) -> str:
    if name not in TABLES:
        raise KeyError(f"no table called {name!r} (known: {', '.join(sorted(TABLES))})")
    return TABLES[name](lang).rstrip("\n") + "\n"


def documents() -> list[Path]:
    return sorted(p for p in (ROOT / "docs").rglob("*.md"))


def write_generated() -> list[Path]:
    changed = []
    for path in documents():
        text = path.read_text()
        new = REGION.sub(lambda m: m.group(1) + render(m.group(2), m.group(3)) + m.group(5), text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def check_generated() -> list[str]:
    problems = []
    for path in documents():
        for m in REGION.finditer(path.read_text()):
            try:
                wanted = render(m.group(2), m.group(3))
            except KeyError as exc:
                problems.append(f"{path.relative_to(ROOT)}: {exc}")
                continue
            if m.group(4) != wanted:
                problems.append(
                    f"{path.relative_to(ROOT)}: the table `{m.group(2)} {m.group(3)}` is not what the "
                    "stored results give (run `make docs-figures`, or `python scripts/results.py`)"
                )
    return problems


if __name__ == "__main__":
    for changed in write_generated():
        print(f"rewrote {changed.relative_to(ROOT)}")
