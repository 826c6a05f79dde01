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


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


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
            port=_int("DB_PORT", 3306),
            name=os.environ.get("DB_NAME", "shop"),
            user=os.environ.get("DB_USER", "shop"),
            password=_required("DB_PASSWORD", secret=True),
            pool_size=_int("DB_POOL_SIZE", 8),
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
            connect_timeout=float(os.environ.get("API_CONNECT_TIMEOUT", "1.0")),
            read_timeout=float(os.environ.get("API_READ_TIMEOUT", "5.0")),
            retries=_int("API_RETRIES", 2),
        )
