"""The mail sink as both variants use it: real SMTP in, the mailbox as JSON out, a delay on demand, and a
mailbox that survives a restart of the server (a real process on its own ports)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import wait_until

from shop import mail
from shop.config import MailSettings
from twinshop.events import Mailbox, Unreachable

OFFSET = int(os.environ.get("TWINSHOP_TEST_PORT_OFFSET", "10000"))
SMTP_PORT, HTTP_PORT = 2599 + OFFSET, 8099 + OFFSET
ORDER = {"id": 5, "email": "bo@example.com", "total": "3.00",
         "items": [{"name": "Pen", "quantity": 3, "unit_price": "1.00", "line_total": "3.00"}]}  # fmt: skip


def start(store: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "MAIL_STORE": str(store), "MAIL_SMTP_BIND": f"127.0.0.1:{SMTP_PORT}",
                   "MAIL_HTTP_BIND": f"127.0.0.1:{HTTP_PORT}", **env}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "mailsink"], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert wait_until(lambda: healthy(), timeout=20), process.stdout.read() if process.poll() is not None else ""
    return process


def healthy() -> bool:
    try:
        Mailbox(f"http://127.0.0.1:{HTTP_PORT}").count(timeout=0.5)
        return True
    except Unreachable:
        return False


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture
def sink(tmp_path):
    process = start(tmp_path / "mail")
    yield Mailbox(f"http://127.0.0.1:{HTTP_PORT}"), tmp_path / "mail"
    if process.poll() is None:
        stop(process)


def send(order: dict = ORDER, node: str = "monolith") -> None:
    message = mail.confirmation_message(order, sender="orders@twinshop.test", node=node, variant="monolith")
    mail.send(message, MailSettings("127.0.0.1", SMTP_PORT, 10.0, "orders@twinshop.test"), recipient=order["email"])


def test_a_mail_sent_over_smtp_is_listed_with_its_order_and_sender(sink):
    mailbox, _ = sink
    send()
    (item,) = mailbox.messages()
    assert item["order"] == 5 and item["to"] == ["bo@example.com"] and item["node"] == "monolith"
    assert item["subject"] == "Your twinshop order #5 is confirmed"


def test_the_delay_makes_the_sender_wait_and_can_be_changed_live(sink):
    mailbox, _ = sink
    mailbox.set_delay(0.6)
    started = time.monotonic()
    send()
    assert time.monotonic() - started >= 0.6
    mailbox.set_delay(0)
    assert mailbox.delay() == 0


def test_the_mailbox_survives_a_restart_and_empties_on_demand(tmp_path):
    process = start(tmp_path / "mail")
    mailbox = Mailbox(f"http://127.0.0.1:{HTTP_PORT}")
    send()
    send({**ORDER, "id": 6})
    stop(process)
    with pytest.raises(mail.MailUnavailable):  # down: the sender is told to try again later
        send()
    process = start(tmp_path / "mail")
    try:
        assert [m["order"] for m in mailbox.messages()] == [5, 6]
        assert mailbox.clear() == 2 and mailbox.count() == 0
        send({**ORDER, "id": 7})
        assert [m["id"] for m in mailbox.messages()] == [3]  # numbers are never reused
    finally:
        stop(process)


@pytest.mark.parametrize("name, value, message", [("MAIL_DELAY_S", "slow", "MAIL_DELAY_S must be a number"),
                                                  ("MAIL_SMTP_BIND", "nowhere", "MAIL_SMTP_BIND must be HOST:PORT"),
                                                  ("MAIL_STORE", "", "MAIL_STORE is not set")])  # fmt: skip
def test_a_bad_setting_stops_it_with_one_line_naming_the_variable(tmp_path, name, value, message):
    env = {**os.environ, "MAIL_STORE": str(tmp_path), name: value}
    result = subprocess.run([sys.executable, "-m", "mailsink"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"Error: {message}") and "Traceback" not in result.stderr
