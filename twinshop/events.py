"""Clients of the order-event services, for the engines, the CLI and the harness: RabbitMQ's management
HTTP API (queue depths, consume rates, consumers, dead letters) and the mail sink's mailbox.

Both speak plain HTTP on addresses the engine gives (the local engine's loopback ports, or the
containers' published ones), so the same code reads either deployment.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

QUEUE_COLUMNS = ("name,messages,messages_ready,messages_unacknowledged,consumers,message_stats.publish,"
                 "message_stats.ack,message_stats.deliver_get,message_stats.redeliver")  # fmt: skip


class Unreachable(RuntimeError):
    """The service did not answer (stopped, starting, or the address is wrong)."""


def _request(url: str, *, method: str = "GET", body: dict | None = None, auth: tuple[str, str] | None = None,
             timeout: float = 3.0) -> object:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our own http:// addresses
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            text = response.read()
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"{method} {url}: HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise Unreachable(f"{method} {url}: {exc}") from exc
    return json.loads(text) if text else None


@dataclass(frozen=True)
class QueueState:
    """One queue at one moment; the counters are cumulative since the broker started."""

    name: str
    messages: int  # waiting + delivered but not acknowledged yet
    ready: int
    unacked: int
    consumers: int
    published: int
    acked: int
    delivered: int
    redelivered: int


class BrokerAdmin:
    """RabbitMQ's management HTTP API (the same data as its web UI)."""

    def __init__(self, url: str, *, user: str, password: str, vhost: str = "/"):
        self.url, self.auth, self.vhost = url.rstrip("/"), (user, password), vhost

    @property
    def ui(self) -> str:
        return self.url + "/"

    def _get(self, path: str, timeout: float = 3.0) -> object:
        return _request(self.url + path, auth=self.auth, timeout=timeout)

    def _vhost(self) -> str:
        return urllib.parse.quote(self.vhost, safe="")

    def queues(self, timeout: float = 3.0) -> dict[str, QueueState]:
        rows = self._get(f"/api/queues/{self._vhost()}?columns={QUEUE_COLUMNS}", timeout=timeout) or []
        result = {}
        for row in rows:
            stats = row.get("message_stats") or {}
            result[row["name"]] = QueueState(
                name=row["name"],
                messages=int(row.get("messages") or 0),
                ready=int(row.get("messages_ready") or 0),
                unacked=int(row.get("messages_unacknowledged") or 0),
                consumers=int(row.get("consumers") or 0),
                published=int(stats.get("publish") or 0),
                acked=int(stats.get("ack") or 0),
                delivered=int(stats.get("deliver_get") or 0),
                redelivered=int(stats.get("redeliver") or 0),
            )
        return result

    def consumer_tags(self) -> dict[str, str]:
        """Consumer tag -> the queue it consumes (our consumers use their node name as the tag)."""
        rows = self._get(f"/api/consumers/{self._vhost()}") or []
        return {row["consumer_tag"]: row["queue"]["name"] for row in rows}

    def purge(self, queue: str) -> None:
        _request(f"{self.url}/api/queues/{self._vhost()}/{urllib.parse.quote(queue, safe='')}/contents",
                 method="DELETE", auth=self.auth)  # fmt: skip

    def alive(self) -> bool:
        try:
            self._get("/api/overview", timeout=1.0)
            return True
        except Unreachable:
            return False


class Mailbox:
    """The mail sink's HTTP side: what it received, emptying it, and its delay (a slow mail server)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def messages(self, since: int = 0, timeout: float = 10.0) -> list[dict]:
        query = f"?since={since}" if since else ""
        return (_request(f"{self.url}/api/messages{query}", timeout=timeout) or {}).get("items", [])

    def stats(self, timeout: float = 2.0) -> dict:
        return _request(f"{self.url}/api/stats", timeout=timeout) or {}

    def count(self, timeout: float = 2.0) -> int:
        return int(self.stats(timeout).get("received", 0))

    def clear(self) -> int:
        return int((_request(f"{self.url}/api/messages", method="DELETE") or {}).get("deleted", 0))

    def set_delay(self, seconds: float) -> None:
        _request(f"{self.url}/api/settings", method="PUT", body={"delay_s": seconds})

    def delay(self) -> float:
        return float(self.stats().get("delay_s", 0.0))
