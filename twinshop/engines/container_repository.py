"""The shop's own Repository, run inside a container, for whoever must read a database the host cannot reach.

In compose the database is deliberately out of the host's reach (no published port, an internal
network), so the invariant checks of ``twinshop compare`` and the contract tests cannot connect
to it. Instead one long-lived ``docker exec -i CONTAINER python`` runs shop.repository.Repository
next to the database (with the container's own settings: DB_HOST, DB_PASSWORD_FILE ...) and
answers one JSON line per call. Same code, same SQL as on the host: nothing is re-implemented.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading

from twinshop.engines.base import EngineError

# Runs inside the container. Sets and dicts with integer keys do not survive plain JSON, so
# values travel tagged: {"set": [...]} and {"dict": [[key, value], ...]}.
SERVER = r"""
import json, sys
from shop.config import DatabaseSettings
from shop.db import Database
from shop.dbadmin import DatabaseNotReady, wait_for_db
from shop.repository import Repository

def encode(value):
    if isinstance(value, (set, frozenset)):
        return {"set": [encode(v) for v in sorted(value)]}
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)

def decode(value):
    if isinstance(value, dict) and set(value) == {"set"}:
        return {decode(v) for v in value["set"]}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value

settings = DatabaseSettings.from_env()
try:
    wait_for_db(settings, timeout=float(sys.argv[1]))
except DatabaseNotReady as exc:
    print(json.dumps({"error": str(exc)}), flush=True)
    sys.exit(1)
repository = Repository(Database(settings))
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    call = json.loads(line)
    try:
        args = [decode(a) for a in call["args"]]
        kwargs = {k: decode(v) for k, v in call["kwargs"].items()}
        reply = {"result": encode(getattr(repository, call["method"])(*args, **kwargs))}
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(reply), flush=True)
"""


def encode(value):
    """A call's argument as the server reads it (sets tagged, everything else as JSON)."""
    if isinstance(value, (set, frozenset)):
        return {"set": [encode(v) for v in sorted(value)]}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value):
    """A result as the Repository returned it (sets and integer-keyed dicts restored)."""
    if isinstance(value, dict) and set(value) == {"set"}:
        return {decode(v) for v in value["set"]}
    if isinstance(value, dict) and set(value) == {"dict"}:
        return {decode(k): decode(v) for k, v in value["dict"]}
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class ContainerRepository:
    """Calls shop.repository.Repository methods inside ``container``; waits for its database first.

    Any method of the Repository can be called (the tests restock products through it); every
    failure — the database not coming up, a query error, the container going away, no answer
    within ``call_timeout`` seconds — is an :class:`EngineError` of one line.
    """

    def __init__(self, docker: str, container: str, *, user: str | None = None, wait_s: float = 30,
                 call_timeout: float = 120, runner: list[str] | None = None):  # fmt: skip
        # ``runner``: the command that runs a program in the container, when it is not `docker exec -i`
        # on this host (the swarm engine's goes through the node's engine: docker exec NODE docker exec).
        runner = runner or [docker, "exec", "-i", *(["--user", user] if user else []), container]
        command = [*runner, "python", "-c", SERVER, str(wait_s)]
        self.container, self.call_timeout = container, call_timeout
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"repository-{container}", daemon=True)
        self._reader.start()
        self._lock = threading.Lock()
        try:
            first = self._reply("connecting", timeout=wait_s + 30)
        except EngineError:
            self.close()
            raise
        if "error" in first:
            self.close()
            raise EngineError(f"the database of {container} is not ready: {first['error']}")

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put("")  # end of output: the process is gone

    def _reply(self, what: str, *, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise EngineError(f"{what} in {self.container}: no answer within {timeout:.0f} s") from None
        if not line:
            self._process.wait(timeout=10)
            tail = " ".join(self._process.stderr.read().split())[-300:]
            raise EngineError(f"the repository in {self.container} stopped ({what}): {tail or 'no message'}")
        return json.loads(line)

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            request = {"method": method, "args": [encode(a) for a in args],
                       "kwargs": {k: encode(v) for k, v in kwargs.items()}}  # fmt: skip
            with self._lock:
                try:
                    self._process.stdin.write(json.dumps(request) + "\n")
                    self._process.stdin.flush()
                except (BrokenPipeError, ValueError):
                    raise EngineError(f"the repository in {self.container} is no longer running") from None
                reply = self._reply(method, timeout=self.call_timeout)
            if "error" in reply:
                raise EngineError(f"{method} in {self.container}: {reply['error']}")
            return decode(reply["result"])

        return call

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._reader.join(timeout=5)  # it ends at the end of the output
        for stream in (self._process.stdout, self._process.stderr):
            if stream:
                stream.close()
