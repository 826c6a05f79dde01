"""Settings read once, from the environment only (documented in .env.example)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from shop.replica import replica_number

PLACEHOLDERS = {"", "change-me", "changeme", "dev", "secret", "placeholder"}


class ConfigError(RuntimeError):
    """A required setting is missing or unusable; the message names the variable."""


def _required(name: str, *, secret: bool = False) -> str:
    """A required setting; ``NAME_FILE`` may point at a file holding it (Docker secrets)."""
    value = os.environ.get(name, "")
    path = os.environ.get(f"{name}_FILE", "")
    if not value and path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{name} is not set: see .env.example")
    if secret and value.strip().lower() in PLACEHOLDERS:
        raise ConfigError(f"{name} is a placeholder ({value!r}): set a real secret")
    return value


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number setting; unset or empty takes ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {bounds}, not {value}")
    return value


def _float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """A setting in seconds (``1.5``); unset or empty takes ``default``; it must be above ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds such as 1.5, not {raw!r}") from None
    if not value > minimum or value == float("inf"):  # also refuses nan and inf
        raise ConfigError(f"{name} must be a number of seconds above {minimum:g}, not {raw!r}")
    return value


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str
    pool_size: int

    @classmethod
    def from_env(cls) -> DatabaseSettings:
        return cls(
            host=os.environ.get("DB_HOST", "127.0.0.1"),
            port=_int("DB_PORT", 3306, minimum=1, maximum=65535),
            name=os.environ.get("DB_NAME", "shop"),
            user=os.environ.get("DB_USER", "shop"),
            password=_required("DB_PASSWORD", secret=True),
            pool_size=_int("DB_POOL_SIZE", 8, minimum=1),
        )


@dataclass(frozen=True)
class NodeSettings:
    """Who this process is: its node name (for X-Served-By) and its variant."""

    node: str
    variant: str
    secret_key: str

    @classmethod
    def from_env(cls, *, default_node: str, default_variant: str) -> NodeSettings:
        node = os.environ.get("TWINSHOP_NODE", default_node)
        # Scaled containers share one configuration, so they name themselves: "{replica}" is the
        # number compose gave this container (api-{replica} -> api-2; the container id where
        # Docker's DNS cannot tell), "{hostname}" the host name (a container's id).
        if "{replica}" in node:
            node = node.replace("{replica}", replica_number() or socket.gethostname())
        node = node.replace("{hostname}", socket.gethostname())
        return cls(
            node=node,
            variant=os.environ.get("TWINSHOP_VARIANT", default_variant),
            secret_key=_required("SECRET_KEY", secret=True),
        )


@dataclass(frozen=True)
class ApiClientSettings:
    """Where the web tier finds the API (through the load balancer) and how long it waits."""

    base_url: str
    connect_timeout: float
    read_timeout: float
    retries: int

    @classmethod
    def from_env(cls) -> ApiClientSettings:
        return cls(
            base_url=_required("API_URL").rstrip("/"),
            connect_timeout=_float("API_CONNECT_TIMEOUT", 1.0),
            read_timeout=_float("API_READ_TIMEOUT", 5.0),
            retries=_int("API_RETRIES", 2),
        )


@dataclass(frozen=True)
class ServerSettings:
    """How gunicorn runs every process type (read by shop/gunicorn.conf.py)."""

    bind: str
    workers: int
    threads: int
    timeout: int
    access_log: bool

    @classmethod
    def from_env(cls) -> ServerSettings:
        access_log = os.environ.get("GUNICORN_ACCESS_LOG", "0").strip() or "0"
        if access_log not in ("0", "1"):
            raise ConfigError(f"GUNICORN_ACCESS_LOG must be 0 or 1, not {access_log!r}")
        return cls(
            bind=os.environ.get("GUNICORN_BIND", "127.0.0.1:8000"),
            workers=_int("GUNICORN_WORKERS", 2, minimum=1),
            threads=_int("GUNICORN_THREADS", 4, minimum=1),
            timeout=_int("GUNICORN_TIMEOUT", 30, minimum=1),
            access_log=access_log == "1",
        )


@dataclass(frozen=True)
class MailSettings:
    """Where the shop sends its confirmation mails: the monolith inline, the distributed mailers."""

    host: str
    port: int
    timeout: float
    sender: str

    @classmethod
    def from_env(cls) -> MailSettings:
        return cls(
            host=_required("SMTP_HOST"),
            port=_int("SMTP_PORT", 25, minimum=1, maximum=65535),
            timeout=_float("SMTP_TIMEOUT", 10.0),
            sender=os.environ.get("MAIL_FROM", "twinshop <orders@twinshop.test>"),
        )


@dataclass(frozen=True)
class BrokerSettings:
    """Where the distributed variant's order events go: RabbitMQ (the API's relay and the consumers)."""

    host: str
    port: int
    user: str
    password: str
    vhost: str

    @classmethod
    def from_env(cls) -> BrokerSettings:
        return cls(
            host=_required("BROKER_HOST"),
            port=_int("BROKER_PORT", 5672, minimum=1, maximum=65535),
            user=os.environ.get("BROKER_USER", "shop"),
            password=_required("BROKER_PASSWORD", secret=True),
            vhost=os.environ.get("BROKER_VHOST", "/"),
        )


@dataclass(frozen=True)
class MailerSettings:
    """How a distributed mailer holds an order's mail (distributed/mailer)."""

    claim_lease_s: float  # after this long another mailer may take over a claim whose holder went silent
    pause_before_ack_s: float  # a drill and test knob: wait this long between the work and the ack

    @classmethod
    def from_env(cls) -> MailerSettings:
        pause = os.environ.get("MAILER_PAUSE_BEFORE_ACK_S", "").strip()
        return cls(
            claim_lease_s=_float("MAIL_CLAIM_LEASE_S", 30.0),
            pause_before_ack_s=_float("MAILER_PAUSE_BEFORE_ACK_S", 1.0) if pause not in ("", "0") else 0.0,
        )
