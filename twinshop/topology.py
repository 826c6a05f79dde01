"""Each variant's topology, described once: its services, their roles, ports, environment, health checks and CPU caps.

:func:`build` turns a variant's :class:`~twinshop.options.VariantOptions` into a
:class:`Topology`. Engines only render it: the local engine into supervisord programs on
127.0.0.1, and a test checks compose/*.yaml against it so that the containers and the local
processes never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from twinshop.options import VariantOptions, check_variant
from twinshop.state import Secrets

GUNICORN_CONF = Path(str(resources.files("shop").joinpath("gunicorn.conf.py")))
MARIADB_CNF = Path(str(resources.files("shop").joinpath("mariadb.cnf")))

# The WSGI entry point of each process type: identical in the containers.
APP_MONOLITH = "monolith.app:create_app()"
APP_API = "distributed.api.app:create_app()"
APP_WEB = "distributed.web.app:create_app()"
# The Python modules the other processes run (`python -m ...`): the same in the containers.
MODULE_MAIL = "mailsink"
MODULE_MAILER = "distributed.mailer"
MODULE_SALES = "distributed.sales"
CONSUMER_KINDS = ("mailer", "sales")  # processes with no port: their health is "consuming its queue"


@dataclass(frozen=True)
class Ports:
    """The addresses of every service, all on 127.0.0.1, shifted by ``offset`` (see CONTRACT.md)."""

    offset: int = 0

    def _p(self, port: int) -> int:
        return port + self.offset

    @property
    def monolith(self) -> int:
        return self._p(8001)

    @property
    def lb(self) -> int:
        return self._p(8002)

    @property
    def stats(self) -> int:
        return self._p(8404)

    @property
    def locust(self) -> int:
        return self._p(8089)

    def entry(self, variant: str) -> int:
        """The port users (and the load tests) go to."""
        return self.monolith if check_variant(variant) == "monolith" else self.lb

    def db(self, variant: str) -> int:
        """The variant's private MariaDB (only the engine and the invariant checks use it)."""
        return self._p(3307) if check_variant(variant) == "monolith" else self._p(3308)

    def api(self, n: int) -> int:
        return self._p(8100 + n)

    @property
    def api_standby(self) -> int:
        return self._p(8150)

    def web(self, n: int) -> int:
        return self._p(8200 + n)

    # Order events. Not RabbitMQ's and SMTP's usual ports (5672, 15672, 4369, 25), so that a system-wide
    # RabbitMQ or mail server, if one runs, is left alone - as the databases use 3307/3308, not 3306.

    def mail_smtp(self, variant: str) -> int:
        """Each variant's mail server (SMTP): the monolith's checkout and the distributed mailers send here."""
        return self._p(2525) if check_variant(variant) == "monolith" else self._p(2526)

    def mail_page(self, variant: str) -> int:
        """Each variant's mailbox page and JSON (the mail sink's HTTP side)."""
        return self._p(8025) if check_variant(variant) == "monolith" else self._p(8026)

    @property
    def broker(self) -> int:
        """RabbitMQ's AMQP port (the distributed variant only). Not 5673: that plus 10000 is the UI's, and two
        copies whose offsets differ by 10000 (the tests' 10000 and 20000, say) would then collide."""
        return self._p(5683)

    @property
    def broker_management(self) -> int:
        """RabbitMQ's management UI and HTTP API."""
        return self._p(15673)

    @property
    def broker_dist(self) -> int:
        """Erlang's distribution port of the RabbitMQ node (fixed, so it stays under 32768 with any offset)."""
        return self._p(5684)

    @property
    def epmd(self) -> int:
        """The broker's own Erlang port mapper (epmd), run by the engine instead of left behind as a daemon."""
        return self._p(4370)

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


@dataclass
class Service:
    """One node of a variant: a process of the local engine, a container in compose."""

    name: str  # as users type it: api-2, db, lb, monolith:gunicorn
    variant: str
    kind: str  # db | app | api | api-standby | web | lb | broker | mail | mailer | sales (the compose service)
    port: int  # its main port (0: none - a consumer only connects out)
    app: str | None = None  # the WSGI entry point gunicorn runs (application services only)
    module: str | None = None  # or the Python module it runs with `python -m` (mail sink, consumers)
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None  # HTTP path answering 200 when healthy (None: a TCP check)
    cpus: float | None = None  # this service's own CPU cap (the variant's cap applies on top)
    priority: int = 100  # start order (lower first)
    stop_wait: int = 10  # seconds between the polite stop and SIGKILL
    ports: dict[str, int] = field(default_factory=dict)  # its other ports, by use (the broker's management UI ...)

    @property
    def program(self) -> str:
        """The supervisord program name: "monolith:gunicorn" is program gunicorn in group monolith."""
        return self.name.split(":")[-1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}" if self.port else "-"

    def all_ports(self) -> list[int]:
        return [p for p in (self.port, *self.ports.values()) if p]


@dataclass
class Topology:
    variant: str
    services: list[Service]
    entry_url: str  # where users (and the readiness check) go

    def get(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service {name!r} in the {self.variant} variant (services: {', '.join(self.names())})")

    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def of_kind(self, *kinds: str) -> list[Service]:
        return [s for s in self.services if s.kind in kinds]


def app_env(*, node: str, variant: str, port: int, secrets: Secrets) -> dict[str, str]:
    return {
        "TWINSHOP_NODE": node,
        "TWINSHOP_VARIANT": variant,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "SECRET_KEY": secrets.secret_key,
    }


def db_env(*, port: int, secrets: Secrets) -> dict[str, str]:
    return {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_NAME": "shop",
        "DB_USER": "shop",
        "DB_PASSWORD": secrets.db_password,
    }


def broker_env(*, ports: Ports, secrets: Secrets) -> dict[str, str]:
    """How the API's relay and the consumers reach RabbitMQ."""
    return {
        "BROKER_HOST": "127.0.0.1",
        "BROKER_PORT": str(ports.broker),
        "BROKER_USER": "shop",
        "BROKER_PASSWORD": secrets.broker_password,
    }


def smtp_env(*, ports: Ports, variant: str) -> dict[str, str]:
    """Where the confirmation mails go: the variant's own mail server."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(ports.mail_smtp(variant))}


def mail_service(variant: str, ports: Ports) -> Service:
    """The variant's mail server: the mail sink, SMTP plus its mailbox page (health: the page answers)."""
    return Service(
        name="mail",
        variant=variant,
        kind="mail",
        port=ports.mail_page(variant),
        module=MODULE_MAIL,
        env={
            "MAIL_SMTP_BIND": f"127.0.0.1:{ports.mail_smtp(variant)}",
            "MAIL_HTTP_BIND": f"127.0.0.1:{ports.mail_page(variant)}",
        },
        health_path="/healthz",
        priority=15,
        ports={"smtp": ports.mail_smtp(variant)},
    )


def build(options: VariantOptions, *, ports: Ports, secrets: Secrets) -> Topology:
    """The services of a variant started with ``options``."""
    variant = check_variant(options.variant)
    entry = ports.url(ports.entry(variant))
    database_env = db_env(port=ports.db(variant), secrets=secrets)
    # A clean InnoDB shutdown can take a while: give it time before any SIGKILL.
    db = Service(
        name="monolith:mariadb" if variant == "monolith" else "db",
        variant=variant,
        kind="db",
        port=ports.db(variant),
        priority=10,
        stop_wait=60,
    )
    if variant == "monolith":
        gunicorn = Service(
            name="monolith:gunicorn",
            variant=variant,
            kind="app",
            port=ports.monolith,
            app=APP_MONOLITH,
            env={
                **app_env(node="monolith", variant=variant, port=ports.monolith, secrets=secrets),
                **database_env,
                **smtp_env(ports=ports, variant=variant),
                "GUNICORN_WORKERS": str(options.workers),
                "GUNICORN_ACCESS_LOG": "1" if options.access_log else "0",
            },
            health_path="/healthz",
            priority=20,
        )
        # The mail server is not part of the box: a LAMP server hands its mail to a mail server beside it.
        return Topology(variant, [db, gunicorn, mail_service(variant, ports)], entry)

    events_env = broker_env(ports=ports, secrets=secrets)
    broker = Service(
        name="broker",
        variant=variant,
        kind="broker",
        port=ports.broker,
        env={"BROKER_USER": "shop", "BROKER_PASSWORD": secrets.broker_password},
        priority=15,
        stop_wait=30,  # RabbitMQ stops cleanly in a few seconds (it syncs its queues to disk)
        ports={"management": ports.broker_management, "dist": ports.broker_dist, "epmd": ports.epmd},
    )
    services = [db, broker, mail_service(variant, ports)]
    apis = [(f"api-{n}", "api", ports.api(n)) for n in range(1, options.api + 1)]
    if options.standby:
        apis.append(("api-standby", "api-standby", ports.api_standby))
    for name, kind, port in apis:
        services.append(
            Service(
                name=name,
                variant=variant,
                kind=kind,
                port=port,
                app=APP_API,
                env={**app_env(node=name, variant=variant, port=port, secrets=secrets), **database_env,
                     **events_env, "GUNICORN_WORKERS": "1"},  # fmt: skip
                health_path="/healthz",
                priority=20,
            )
        )
    for n in range(1, options.web + 1):
        services.append(
            Service(
                name=f"web-{n}",
                variant=variant,
                kind="web",
                port=ports.web(n),
                app=APP_WEB,
                env={
                    **app_env(node=f"web-{n}", variant=variant, port=ports.web(n), secrets=secrets),
                    # The web tier reaches the API through the load balancer, like in compose.
                    "API_URL": ports.url(ports.lb),
                    "GUNICORN_WORKERS": "1",
                },
                health_path="/healthz",
                priority=30,
            )
        )
    services.append(Service(name="lb", variant=variant, kind="lb", port=ports.lb, health_path="/healthz", priority=40))
    # The consumers reach the API through the load balancer, like the web tier.
    consumer_env = {"TWINSHOP_VARIANT": variant, "SECRET_KEY": secrets.secret_key, "API_URL": ports.url(ports.lb),
                    **events_env}  # fmt: skip
    for n in range(1, options.mailers + 1):
        services.append(
            Service(
                name=f"mailer-{n}",
                variant=variant,
                kind="mailer",
                port=0,
                module=MODULE_MAILER,
                env={"TWINSHOP_NODE": f"mailer-{n}", **consumer_env, **smtp_env(ports=ports, variant=variant)},
                priority=50,
            )
        )
    services.append(Service(name="sales", variant=variant, kind="sales", port=0, module=MODULE_SALES,
                            env={"TWINSHOP_NODE": "sales", **consumer_env}, priority=50))  # fmt: skip
    for service in services:
        service.cpus = options.caps.for_service(service.kind)
    return Topology(variant, services, entry)
