"""Each variant's topology, described once: services, commands, environment, ports.

The local engine renders this into a supervisord configuration; a test checks it against
compose/*.yaml so that the containers and the local processes never drift apart.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_ROOT / "shop" / "gunicorn.conf.py"
MARIADB_CNF = PROJECT_ROOT / "shop" / "mariadb.cnf"

VARIANTS = ("monolith", "distributed")

# The WSGI entry point of each process type: identical in the containers.
APP_MONOLITH = "monolith.app:create_app()"
APP_API = "distributed.api.app:create_app()"
APP_WEB = "distributed.web.app:create_app()"

DEFAULT_WEB_REPLICAS = 2
DEFAULT_API_REPLICAS = 3
MAX_REPLICAS = 9


def port_offset() -> int:
    """TWINSHOP_PORT_OFFSET shifts every port (tests use it to run beside a user's copy)."""
    return int(os.environ.get("TWINSHOP_PORT_OFFSET", "0") or 0)


@dataclass(frozen=True)
class Ports:
    """Default addresses, all on 127.0.0.1 (see CONTRACT.md)."""

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

    @property
    def monolith_db(self) -> int:
        return self._p(3307)

    @property
    def distributed_db(self) -> int:
        return self._p(3308)

    def api(self, n: int) -> int:
        return self._p(8100 + n)

    @property
    def api_standby(self) -> int:
        return self._p(8150)

    def web(self, n: int) -> int:
        return self._p(8200 + n)


@dataclass
class Service:
    """One process of the local engine (one container in compose)."""

    name: str  # as users type it: api-2, db, lb, monolith:gunicorn
    variant: str
    kind: str  # db | app | api | web | lb  (compose service it corresponds to)
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None  # HTTP path answering 200 when healthy
    priority: int = 100  # supervisord start order (lower first)
    stop_wait: int = 10  # seconds before SIGKILL

    @property
    def program(self) -> str:
        """The supervisord program name: "monolith:gunicorn" is program gunicorn in group monolith."""
        return self.name.split(":")[-1]

    @property
    def program_path(self) -> str:
        """The name supervisord's XML-RPC calls take (group:program, or the program alone)."""
        return self.name

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Topology:
    variant: str
    services: list[Service]
    entry_url: str  # where users (and the readiness check) go

    def get(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        names = ", ".join(s.name for s in self.services)
        raise KeyError(f"no service {name!r} in the {self.variant} variant (services: {names})")


def bin_path(name: str) -> str:
    """A console script installed beside this Python (the project's .venv)."""
    return str(Path(sys.executable).parent / name)


def mariadb_service(
    *, name: str, variant: str, port: int, datadir: Path, socket: Path, init_file: Path, run_as_root: bool
) -> Service:
    command = [
        "mariadbd",
        f"--defaults-file={MARIADB_CNF}",
        f"--datadir={datadir}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={socket}",
        f"--pid-file={datadir}/mariadbd.pid",
        f"--init-file={init_file}",
    ]
    if run_as_root:
        command.append("--user=root")
    # A clean InnoDB shutdown can take a while: give it time before any SIGKILL.
    return Service(name=name, variant=variant, kind="db", command=command, port=port, priority=10, stop_wait=60)


def gunicorn_command(app_path: str) -> list[str]:
    return [bin_path("gunicorn"), "-c", str(GUNICORN_CONF), app_path]


def app_env(*, node: str, variant: str, bind_port: int, secrets: dict[str, str]) -> dict[str, str]:
    return {
        "TWINSHOP_NODE": node,
        "TWINSHOP_VARIANT": variant,
        "GUNICORN_BIND": f"127.0.0.1:{bind_port}",
        "SECRET_KEY": secrets["SECRET_KEY"],
    }


def db_env(*, port: int, secrets: dict[str, str]) -> dict[str, str]:
    return {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_NAME": "shop",
        "DB_USER": "shop",
        "DB_PASSWORD": secrets["DB_PASSWORD"],
    }
