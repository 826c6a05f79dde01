"""The report's language: English or Spanish, chosen once per report, numbers written the reader's way.

Every sentence, label and caption of the report is written in both languages where it is
used (``w("Throughput", "Rendimiento")``), so a sentence and its translation never drift
apart. Spanish uses the decimal comma and a thin space between thousands (``1 234,5``),
as the course's notes do.
"""

from __future__ import annotations

import math

from loadtests.analysis.rounds import Spread

THIN_SPACE = "\u202f"


class Words:
    """Translations and number formats for one language (``en`` or ``es``)."""

    def __init__(self, lang: str = "en"):
        if lang not in ("en", "es"):
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang

    def __call__(self, en: str, es: str) -> str:
        return es if self.lang == "es" else en

    # -- numbers -------------------------------------------------------------------------------

    def num(self, value: float | None, digits: int = 1) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        text = f"{value:,.{digits}f}"
        if self.lang == "es":
            text = text.replace(",", THIN_SPACE).replace(".", ",")
        return text

    def int(self, value: int | None) -> str:
        return "–" if value is None else self.num(value, 0)

    def ms(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{self.num(value, 1 if abs(value) < 10 else 0)} ms"

    def pct(self, value: float | None, digits: int = 1) -> str:
        return "–" if value is None else f"{self.num(value, digits)} %"

    def signed(self, value: float | None, digits: int = 1, unit: str = "") -> str:
        if value is None:
            return "–"
        sign = "+" if value > 0 else "−" if value < 0 else "±"
        return f"{sign}{self.num(abs(value), digits)}{unit}"

    def cores(self, value: float) -> str:
        return self.num(value, 2).rstrip("0").rstrip(",.") if value % 1 else self.num(value, 0)

    def clock(self, seconds: float) -> str:
        """75 -> "1:15" (a time in a run)."""
        whole = math.floor(seconds)
        frac = seconds - whole
        text = f"{whole // 60}:{whole % 60:02d}"
        if frac >= 0.05:
            text += self.num(frac, 1)[1:]
        return text

    def spread(self, s: Spread | None, unit: str = "", digits: int = 1) -> str:
        """"53 ms (51–57)": the median of the rounds, and the lowest and highest round."""
        if s is None:
            return "–"

        def one(value: float) -> str:
            return self.num(value, 1 if abs(value) < 10 else 0) if unit == "ms" else self.num(value, digits)

        head = one(s.median) + (f" {unit}" if unit else "")
        return head if len(s.values) == 1 else f"{head} ({one(s.low)}–{one(s.high)})"

    # -- names -----------------------------------------------------------------------------------

    def variant(self, name: str, *, capital: bool = False) -> str:
        """How a sentence names a variant: "the monolith", "la variante distribuida" (a side of a comparison
        across engines, ``monolith@compose``: "the monolith (compose)")."""
        name, _, engine = name.partition("@")
        text = {
            ("en", "monolith"): "the monolith",
            ("en", "distributed"): "the distributed variant",
            ("es", "monolith"): "el monolito",
            ("es", "distributed"): "la variante distribuida",
        }.get((self.lang, name), name) + (f" ({engine})" if engine else "")
        return text[0].upper() + text[1:] if capital else text

    def label(self, name: str) -> str:
        """A variant's short label on charts and tables (``monolith@compose``: "monolith (compose)")."""
        name, _, engine = name.partition("@")
        short = {"monolith": self("monolith", "monolito"), "distributed": self("distributed", "distribuida")}
        return short.get(name, name) + (f" ({engine})" if engine else "")

    def unit(self, unit: str) -> str:
        return {"req/s": self("req/s", "pet/s"), "ms CPU": self("ms CPU", "ms de CPU"),
                "users": self("users", "usuarios")}.get(unit, unit)  # fmt: skip

    def metric(self, name: str) -> str:
        return {
            "throughput": self("throughput", "rendimiento"),
            "p50": self("median latency (p50)", "latencia mediana (p50)"),
            "p95": "p95",
            "p99": "p99",
            "availability": self("availability", "disponibilidad"),
            "cpu_per_request": self("CPU per request", "CPU por petición"),
            "capacity_users": self("capacity (users)", "capacidad (usuarios)"),
            "capacity_rps": self("throughput at capacity", "rendimiento en la capacidad"),
        }[name]
