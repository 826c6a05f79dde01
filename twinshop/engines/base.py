"""The engine interface: one small set of verbs to run a variant's topology, whatever runs it.

The CLI and the comparison harness speak only to this interface, so a comparison can put any
two deployments side by side. Engines implement it structurally, and share the few verbs that every
one of them computes the same way (:class:`EngineBasics`):
:class:`twinshop.engines.local.LocalEngine` runs processes under supervisord,
:class:`twinshop.engines.compose.ComposeEngine` containers with Docker Compose,
:class:`twinshop.engines.swarm.SwarmEngine` stacks on a Docker Swarm (which adds the node faults:
``node_names``, ``kill_node``, ``start_node``, ``partition``, ``heal``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from twinshop.events import BrokerAdmin, Mailbox
from twinshop.options import VariantOptions, check_variant
from twinshop.topology import Ports, Topology, build


class EngineError(RuntimeError):
    """A failure the user can act on; the CLI prints it as one line."""


@dataclass
class ServiceStatus:
    """One row of ``twinshop status``, like a row of ``docker ps``."""

    name: str
    variant: str
    pid: int | None
    address: str
    state: str  # RUNNING, STOPPED, STARTING, BACKOFF, EXITED, FATAL, DEGRADED (the monolith box)
    health: str  # healthy | unhealthy | unreachable | starting (compose: its first check is due) | - (not running)
    detail: str = ""  # more, where there is something to say: the broker's queue depths and dead letters


@dataclass(frozen=True)
class UpResult:
    """What ``up`` did: how long until the variant answered, and whether it was already running."""

    variant: str
    seconds: float
    already_running: bool
    started_at: float | None = None  # unix time the running variant was started


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds a service used since the previous reading, in all, and per part (e.g. per gunicorn worker)."""

    seconds: float
    parts: dict[str, float] = field(default_factory=dict)


class CpuSource(Protocol):
    """Where one service's CPU can be read: a process tree, a container's cgroup, ..."""

    pid: int  # the service's main process: a source with another pid means the service restarted

    def read(self) -> CpuReading | None:
        """The CPU used since the previous call (the first call sets the baseline); None once it is gone."""


class DatabaseReads(Protocol):
    """The read methods of :class:`shop.repository.Repository` that the invariant checks use.

    The local engine hands out a real Repository; the compose engine one that runs inside a
    container (:class:`twinshop.engines.container_repository.ContainerRepository`), because
    there the database is out of the host's reach on purpose.
    """

    def orders_exist(self, ids) -> set[int]: ...
    def order_count(self) -> int: ...
    def negative_stock_count(self) -> int: ...
    def duplicate_idempotency_keys(self, *, limit: int = 5) -> list[str]: ...
    def orders_without_items(self) -> int: ...
    def stock_levels(self) -> dict[int, int]: ...
    def ordered_quantities(self) -> dict[int, int]: ...


class Engine(Protocol):
    name: str  # "local", "compose", "swarm"
    ports: Ports

    def entry_url(self, variant: str) -> str:
        """Where users and the load generator reach the variant."""

    def stats_url(self) -> str:
        """HAProxy's statistics page."""

    def running(self, variant: str) -> bool:
        """Whether the variant's supervisor (or project) runs, healthy or not."""

    def options(self, variant: str) -> VariantOptions | None:
        """How the running variant was started; None when it is not running."""

    def up(self, options: VariantOptions, *, timeout: float = 60) -> UpResult:
        """Start the variant (or check that it runs as asked) and wait until it answers /readyz."""

    def down(self, variant: str | None = None, *, wipe: bool = False) -> list[str]:
        """Stop a variant, or all; with ``wipe`` delete its data too. Returns the variants stopped."""

    def status(self) -> list[ServiceStatus]:
        """One row per service of every running variant."""

    def topology(self, variant: str, options: VariantOptions | None = None) -> Topology:
        """The services of the variant as it runs (or would run with ``options``, or its last options)."""

    def kill(self, name: str, *, variant: str | None = None) -> None:
        """Stop one service and keep it stopped (``variant`` picks it where both variants have one: ``mail``)."""

    def start(self, name: str, *, variant: str | None = None) -> None:
        """Start a stopped service again."""

    def crash(self, name: str, *, variant: str | None = None) -> None:
        """Kill one service the hard way; its supervisor (restart policy) starts it again."""

    def scale(self, tier: str, count: int) -> tuple[list[str], list[str]]:
        """Change the number of api, web or mailer replicas, live; returns (added, removed)."""

    def reset(self, variant: str | None = None) -> list[str]:
        """Reload the seed data; returns the variants reset."""

    def repository(self, variant: str, *, wait_s: float = 30) -> AbstractContextManager[DatabaseReads]:
        """The variant's database, to read (the invariant checks): waits up to ``wait_s`` for it to
        accept connections, closes it on leaving the ``with`` block; EngineError when it cannot."""

    def cpu_sources(self, variant: str) -> dict[str, CpuSource]:
        """Service name -> where its CPU can be read now (asked again after a restart)."""

    def cpu_cap_problem(self) -> str | None:
        """Why CPU caps cannot be set here (None: they can)."""

    def mailbox(self, variant: str) -> Mailbox:
        """The variant's mail server: what it received (the invariant checks, `twinshop mail`), its delay."""

    def broker(self, variant: str) -> BrokerAdmin | None:
        """RabbitMQ's management API of the variant (None: the variant has no broker - the monolith)."""

    def facts(self) -> dict[str, str]:
        """What the report states about the engine (name, versions, image ids)."""


class EngineBasics:
    """The verbs every engine answers the same way, from its ports and its state folder (``home``: the
    options each variant was started with) and the installation's secrets (``secrets()``)."""

    ports: Ports

    def entry_url(self, variant: str) -> str:
        return self.ports.url(self.ports.entry(variant))

    def stats_url(self) -> str:
        return self.ports.url(self.ports.stats) + "/stats"

    def options(self, variant: str) -> VariantOptions | None:
        if not self.running(variant):
            return None
        return self.home.options(variant) or VariantOptions(variant)

    def topology(self, variant: str, options: VariantOptions | None = None) -> Topology:
        options = options or self.home.options(variant) or VariantOptions(check_variant(variant))
        return build(options, ports=self.ports, secrets=self.secrets())

    def refuse_other_options(self, options: VariantOptions) -> None:
        """``up`` on a running variant: only as it runs (other options mean a restart the user asks for)."""
        variant = options.variant
        current = self.home.options(variant) or VariantOptions(variant)
        if options != current:
            flag = "" if self.name == "local" else f" --engine {self.name}"
            raise EngineError(f"the {variant} variant is already running with {current.flags()}; run "
                              f"`twinshop down {variant}{flag}`, then `{options.command()}{flag}`")  # fmt: skip
