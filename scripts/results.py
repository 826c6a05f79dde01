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
        "machine": (summary.get("setup") or {}).get("machine"),
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
                    "served_by_tier": r.get("served_by_tier"),
                    "server_timing_ms": r.get("server_timing_ms"),
                }
                for r in data.get("runs", [])
            ],
            "measured_again": len(data.get("measured_again") or []),
        }
    for key in ("steps", "scaling"):
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
                problems.append(f"{path.relative_to(ROOT)}: the table `{m.group(2)} {m.group(3)}` is not what the "
                                "stored results give (run `make docs-figures`, or `python scripts/results.py`)")
    return problems


if __name__ == "__main__":
    for changed in write_generated():
        print(f"rewrote {changed.relative_to(ROOT)}")
