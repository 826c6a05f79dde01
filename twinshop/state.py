"""The local engine's state folder (``.twinshop/`` by default): generated secrets and one folder per variant.

Each variant's folder holds its MariaDB data, logs, generated configurations (supervisord,
HAProxy) and ``options.json`` — how it was started, so that ``twinshop up`` twice can tell
whether the second call asks for something else.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from twinshop.options import VariantOptions, check_variant

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder (the project is installed in editable mode: ``pip install -e``)."""


MAX_PORT_OFFSET = 49000  # the highest default port (15673, RabbitMQ's management UI) plus this stays a valid TCP port


class StateError(RuntimeError):
    """The state folder holds something unusable; the message says what to delete."""


@dataclass(frozen=True)
class Secrets:
    secret_key: str
    db_password: str
    broker_password: str = ""  # RabbitMQ's password for the shop (empty: a broker cannot start, and says so)


GENERATED = {"SECRET_KEY": 32, "DB_PASSWORD": 16, "BROKER_PASSWORD": 16}  # secret -> random bytes (hex)


def port_offset() -> int:
    """TWINSHOP_PORT_OFFSET shifts every port (the tests use it to run beside a user's copy)."""
    raw = os.environ.get("TWINSHOP_PORT_OFFSET", "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_PORT_OFFSET:
        raise StateError(f"TWINSHOP_PORT_OFFSET must be a whole number from 0 to {MAX_PORT_OFFSET}, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Home:
    """Where one installation keeps its state."""

    root: Path

    @classmethod
    def default(cls) -> Home:
        return cls(Path(os.environ.get("TWINSHOP_HOME") or (PROJECT_ROOT / ".twinshop")).resolve())

    def variant_dir(self, variant: str) -> Path:
        return self.root / check_variant(variant)

    def secrets(self) -> Secrets:
        """SECRET_KEY, DB_PASSWORD and BROKER_PASSWORD, generated once per installation, kept in ``secrets.env``.

        A secret added by a later version (BROKER_PASSWORD) is generated and appended the first time
        it is asked for; the others are never changed.
        """
        path = self.root / "secrets.env"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            values = {name: secrets.token_hex(size) for name, size in GENERATED.items()}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("".join(f"{k}={v}\n" for k, v in values.items()))
        values = self._read_secrets(path)
        missing = {"SECRET_KEY", "DB_PASSWORD"} - {k for k, v in values.items() if v}
        if missing:
            raise StateError(f"{path} lacks {', '.join(sorted(missing))}: delete it to generate new secrets")
        added = {name: secrets.token_hex(size) for name, size in GENERATED.items() if not values.get(name)}
        if added:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(f"{k}={v}\n" for k, v in added.items()))
            values = self._read_secrets(path)
        return Secrets(secret_key=values["SECRET_KEY"], db_password=values["DB_PASSWORD"],
                       broker_password=values["BROKER_PASSWORD"])  # fmt: skip

    @staticmethod
    def _read_secrets(path: Path) -> dict[str, str]:
        values = {}
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip():
                values[key.strip()] = value.strip()
        return values

    def options_path(self, variant: str) -> Path:
        return self.variant_dir(variant) / "options.json"

    def options(self, variant: str) -> VariantOptions | None:
        """How the variant was last started (None: never, or the file is unreadable)."""
        try:
            return VariantOptions.from_json(self.options_path(variant).read_text())
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save_options(self, options: VariantOptions) -> None:
        path = self.options_path(options.variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(options.to_json())

    def mark_started(self, variant: str) -> None:
        (self.variant_dir(variant) / "started_at").write_text(f"{time.time():.3f}\n")

    def started_at(self, variant: str) -> float | None:
        """When the variant was last started (unix time), or None."""
        try:
            return float((self.variant_dir(variant) / "started_at").read_text().strip())
        except (OSError, ValueError):
            return None

    def cgroup(self, name: str) -> str:
        """This installation's cgroup for a variant (or any group of processes), relative to the cpu hierarchy."""
        tag = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return f"twinshop-{tag}/{name}"
