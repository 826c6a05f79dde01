"""The order events as every engine sees them from the host: the mailbox, the broker, their part in
``status``, in readiness, in ``scale mailer`` and in ``reset``.

Both engines publish the mail servers' pages and RabbitMQ's management API on the same host
ports (the local engine's processes listen there, the compose engine publishes the containers'
there), and the consumers use their service name as consumer tag (``mailer-2``: the process's
TWINSHOP_NODE, or in compose the container's replica number, shop/replica.py). So this is
written once, and each engine keeps one :class:`OrderEvents`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from twinshop import topology as t
from twinshop.engines.base import EngineError
from twinshop.events import EVENT_QUEUES, BrokerAdmin, Mailbox, QueueState, Unreachable
from twinshop.options import check_variant


@dataclass(frozen=True)
class BrokerView:
    """One reading of the broker for ``status``: who consumes what, and our queues (None: no answer)."""

    tags: dict[str, str] = field(default_factory=dict)  # consumer tag -> its queue
    queues: dict[str, QueueState] | None = None


class OrderEvents:
    """The mail servers and the broker of one engine's variants, reached on ``ports``."""

    def __init__(self, ports: t.Ports, broker_password: Callable[[], str]):
        self.ports = ports
        self._broker_password = broker_password

    def mailbox(self, variant: str) -> Mailbox:
        return Mailbox(self.ports.url(self.ports.mail_page(variant)))

    def broker(self, variant: str) -> BrokerAdmin | None:
        if check_variant(variant) != "distributed":
            return None
        return BrokerAdmin(self.ports.url(self.ports.broker_management), user="shop",
                           password=self._broker_password())  # fmt: skip

    # -- status --------------------------------------------------------------------------------

    def view(self, variant: str) -> BrokerView:
        """The consumers and the queues as the broker reports them now (empty when it does not answer)."""
        admin = self.broker(variant)
        if admin is None:
            return BrokerView()
        try:
            queues = admin.queues(timeout=1.0)
            return BrokerView(admin.consumer_tags(), {name: queues[name] for name in EVENT_QUEUES if name in queues})
        except Unreachable:
            return BrokerView()

    def describe(self, service: t.Service, *, running: bool, health: str, view: BrokerView) -> tuple[str, str]:
        """(health, detail) of one service in ``status``: a consumer is healthy while it consumes its queue;
        the broker's detail is its queues, the mail server's the mails it received."""
        if not running:
            return "-", ""
        if service.kind in t.CONSUMER_KINDS:
            queue = view.tags.get(service.name)
            return ("healthy", f"consuming {queue!r}") if queue else ("unhealthy", "not consuming")
        detail = ""
        if service.kind == "broker" and view.queues is not None:
            detail = " · ".join(f"{name} {q.messages}" for name, q in view.queues.items())
            detail += f" (messages waiting; UI {self.ports.url(self.ports.broker_management)})"
        elif service.kind == "mail" and health == "healthy":
            try:
                detail = f"{self.mailbox(service.variant).count()} mails received"
            except Unreachable:
                pass
        return health, detail

    # -- readiness -------------------------------------------------------------------------------

    def consuming(self, service: t.Service) -> bool:
        """Whether a consumer is attached to its queue (its health: it has no port to ask)."""
        admin = self.broker(service.variant)
        try:
            return admin is not None and service.name in admin.consumer_tags()
        except Unreachable:
            return False

    def not_ready(self, topo: t.Topology) -> list[str]:
        """The order-event services that do not answer yet: mail, broker, consumers not consuming."""
        waiting = [s.name for s in topo.of_kind("mail") if not self.mailbox(s.variant).alive()]
        if topo.variant == "distributed":
            admin = self.broker(topo.variant)
            try:
                tags = admin.consumer_tags()
            except Unreachable:
                return [*waiting, "broker"]
            waiting += [s.name for s in topo.of_kind(*t.CONSUMER_KINDS) if s.name not in tags]
        return waiting

    # -- reset -----------------------------------------------------------------------------------

    def reset(self, variant: str, *, before_db: bool) -> None:
        """Before the database: empty the broker's queues (and let the consumers finish the messages they
        hold, which refer to orders about to vanish). After it: empty the mailbox. Every run starts with
        no event in flight, no dead letter and no mail."""
        try:
            admin = self.broker(variant)
            if before_db and admin is not None:
                deadline = time.monotonic() + 15
                while True:
                    for queue in EVENT_QUEUES:
                        admin.purge(queue)
                    states = admin.queues()
                    if not any(states[q].messages for q in EVENT_QUEUES if q in states):
                        break
                    if time.monotonic() > deadline:
                        raise EngineError("the broker's queues did not empty within 15 s: the consumers hold messages")
                    time.sleep(0.2)
            elif not before_db:
                self.mailbox(variant).clear()
        except Unreachable as exc:
            what = "broker" if before_db else "mail server"
            raise EngineError(f"cannot reset the {variant} {what}: {exc} (`twinshop start ...` it first)") from exc
