"""The shop's own Repository, run inside a container, for tests that check what HTTP calls did.

In compose the database is deliberately out of the host's reach, so the contract tests' ``repo``
fixture cannot connect to it. Instead one long-lived ``docker exec -i CONTAINER python`` runs
shop.repository.Repository next to the database (the container's own settings: DB_HOST,
DB_PASSWORD_FILE ...) and answers one JSON line per call. Same code, same SQL as on the host:
nothing is re-implemented here.
"""

from __future__ import annotations

import json
import subprocess
import threading

SERVER = r"""
import json, sys
from shop.config import DatabaseSettings
from shop.db import Database
from shop.repository import Repository

repository = Repository(Database(DatabaseSettings.from_env()))
for line in sys.stdin:
    call = json.loads(line)
    try:
        reply = {"result": getattr(repository, call["method"])(*call["args"], **call["kwargs"])}
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(reply, default=str), flush=True)
"""


class ContainerRepository:
    """Calls shop.repository.Repository methods inside ``container`` (values come back as JSON)."""

    def __init__(self, docker: str, container: str, *, user: str | None = None):
        command = [docker, "exec", "-i"] + (["--user", user] if user else []) + [container, "python", "-c", SERVER]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self._lock = threading.Lock()
        self.container = container

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            with self._lock:
                self._process.stdin.write(json.dumps({"method": method, "args": args, "kwargs": kwargs}) + "\n")
                self._process.stdin.flush()
                line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"the repository in {self.container} stopped: {self._process.stderr.read()[-2000:]}")
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"{method} in {self.container}: {reply['error']}")
            return reply["result"]

        return call

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
