"""How a variant is asked to run: replicas, workers, CPU caps, access log — one typed object.

The CLI builds a :class:`VariantOptions` from its flags, every engine starts a variant from
one, the local engine keeps it beside the variant's state (so ``up`` twice can compare), and
the comparison harness reads it back to state the CPU budget. Nothing re-maps these fields by
hand: :meth:`VariantOptions.updated` is the one rule for "asked-for values win, the rest stays".
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace

VARIANTS = ("monolith", "distributed")

DEFAULT_WEB_REPLICAS = 2
DEFAULT_API_REPLICAS = 3
DEFAULT_WORKERS = 2
DEFAULT_MAILERS = 2  # competing consumers of the mailer queue
MAX_REPLICAS = 9  # server slots in HAProxy's compose rendition (distributed/lb/render.py)
MAX_WORKERS = 32
MIN_CPUS = 0.05


class OptionsError(ValueError):
    """Options that cannot run; the message says which flag and why, in one line."""


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise OptionsError(f"unknown variant {variant!r}: choose monolith or distributed")
    return variant


@dataclass(frozen=True)
class CpuCaps:
    """CPU limits, in cores (None: no limit of that kind), like ``docker run --cpus``.

    ``variant`` caps all the variant's processes together; ``node`` caps each service of the
    distributed variant; ``api`` caps each API replica only and wins over ``node`` there.
    """

    variant: float | None = None
    node: float | None = None
    api: float | None = None

    FLAGS = (("variant", "--cpus"), ("node", "--node-cpus"), ("api", "--api-cpus"))

    @property
    def any(self) -> bool:
        return any(value for value in (self.variant, self.node, self.api))

    def for_service(self, kind: str) -> float | None:
        """The cap of one service of this kind (None: only the variant's cap, if any, applies)."""
        if kind in ("api", "api-standby"):
            return self.api or self.node
        return self.node if kind in ("db", "lb", "web", "broker", "mailer", "sales", "mail") else None

    def flags(self) -> str:
        return " ".join(f"{flag} {getattr(self, name):g}" for name, flag in self.FLAGS if getattr(self, name))

    def describe(self) -> str:
        """In words, for reports: "1.5 cores for the whole variant", or "uncapped"."""
        parts = []
        if self.variant:
            parts.append(f"{self.variant:g} cores for the whole variant")
        if self.node:
            parts.append(f"{self.node:g} cores per service")
        if self.api:
            parts.append(f"{self.api:g} cores per API replica")
        return ", ".join(parts) or "uncapped"

    def check(self, cores: int) -> None:
        for name, flag in self.FLAGS:
            value = getattr(self, name)
            if value is not None and not MIN_CPUS <= value <= cores:
                raise OptionsError(f"{flag} must be from {MIN_CPUS:g} to {cores} (this machine's cores), not {value:g}")


@dataclass(frozen=True)
class VariantOptions:
    """Everything ``twinshop up VARIANT`` can be asked for; defaults are the README's."""

    variant: str
    web: int = DEFAULT_WEB_REPLICAS
    api: int = DEFAULT_API_REPLICAS
    standby: bool = False
    mailers: int = DEFAULT_MAILERS
    workers: int = DEFAULT_WORKERS
    caps: CpuCaps = field(default_factory=CpuCaps)
    access_log: bool = False  # a log line per request at the entry point (costs CPU: off for comparisons)

    def updated(
        self,
        *,
        web: int | None = None,
        api: int | None = None,
        standby: bool | None = None,
        mailers: int | None = None,
        workers: int | None = None,
        cpus: float | None = None,
        node_cpus: float | None = None,
        api_cpus: float | None = None,
        access_log: bool | None = None,
    ) -> VariantOptions:
        """These options with the values that were asked for (None: not asked, keep the current one)."""
        asked = {"web": web, "api": api, "standby": standby, "mailers": mailers, "workers": workers,
                 "access_log": access_log}  # fmt: skip
        caps = {"variant": cpus, "node": node_cpus, "api": api_cpus}
        return replace(
            self,
            **{k: v for k, v in asked.items() if v is not None},
            caps=replace(self.caps, **{k: v for k, v in caps.items() if v is not None}),
        )

    def check(self, cores: int | None = None) -> VariantOptions:
        """Raise OptionsError for values that cannot run; return self."""
        check_variant(self.variant)
        for label, value in (("--web", self.web), ("--api", self.api), ("--mailers", self.mailers)):
            if not 1 <= value <= MAX_REPLICAS:
                raise OptionsError(f"{label} must be from 1 to {MAX_REPLICAS}, not {value}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise OptionsError(f"--workers must be from 1 to {MAX_WORKERS}, not {self.workers}")
        if self.variant == "monolith" and (self.caps.node or self.caps.api):
            raise OptionsError("--node-cpus and --api-cpus belong to the distributed variant (the monolith: --cpus)")
        self.caps.check(cores or os.cpu_count() or 1)
        return self

    def flags(self) -> str:
        """The options as the `twinshop up` flags that give them (only the variant's own)."""
        if self.variant == "monolith":
            text = f"--workers {self.workers}"
        else:
            text = f"--web {self.web} --api {self.api}" + (" --standby" if self.standby else "")
            text += f" --mailers {self.mailers}" if self.mailers != DEFAULT_MAILERS else ""
        caps = self.caps.flags()
        return text + (f" {caps}" if caps else "") + (" --access-log" if self.access_log else "")

    def command(self) -> str:
        return f"twinshop up {self.variant} {self.flags()}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> VariantOptions:
        data = json.loads(text)
        data["caps"] = CpuCaps(**data.get("caps", {}))
        return cls(**data)
