"""Order events against a real RabbitMQ and a real SMTP sink: mail and sales figures on both variants,
the outbox while the broker is down, at-least-once delivery with idempotent consumers, competing
mailers, bad messages parked in the dead-letter queue, and a full queue pushing back to the outbox.

Every wait is bounded; every test starts again what it stopped (the ``events_running`` fixture).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pika
import pytest
import requests
from support import wait_until

from shop import seed
from shop.db import Database
from shop.repository import Repository
from twinshop.events import Unreachable

_, PRODUCTS = seed.generate()
EVENT_SERVICES = ("broker", "mail", "mailer-1", "mailer-2", "sales")


@pytest.fixture
def events_running(engine, monolith_url, distributed_url):
    """Both variants with every order-event service running and consuming, before and after the test."""

    def restore():
        for name in EVENT_SERVICES:
            engine.start(name, variant="distributed")
        engine.start("mail", variant="monolith")
        assert wait_until(lambda: not engine.events_not_ready("distributed"), timeout=60), engine.events_not_ready(
            "distributed"
        )
        assert wait_until(lambda: not engine.events_not_ready("monolith"), timeout=30)

    restore()
    yield engine
    restore()


@pytest.fixture
def repo_of(engine):
    opened = []

    def open_for(variant: str) -> Repository:
        database = Database(engine.db_settings(variant))
        opened.append(database)
        return Repository(database)

    yield open_for
    for database in opened:
        database.close()


def product_for(repo: Repository, n: int) -> int:
    """A seeded product, restocked so the test owns its stock."""
    product = PRODUCTS[(n * 97) % len(PRODUCTS)]
    repo.restock(product_id=product["id"], stock=1000)
    return product["id"]


def place(url: str, product_id: int, quantity: int = 1) -> requests.Response:
    email = f"t{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "items": [{"product_id": product_id, "quantity": quantity}]}
    return requests.post(f"{url}/api/orders", json=body, timeout=20)


def mails_for(engine, variant: str, order_id: int) -> list[dict]:
    try:
        return [m for m in engine.mailbox(variant).messages() if m["order"] == order_id]
    except Unreachable:
        return []


def queue(engine, name: str):
    return engine.broker("distributed").queues()[name]


def drained(engine) -> bool:
    try:
        states = engine.broker("distributed").queues()
    except Unreachable:
        return False
    return states["mailer"].messages == 0 and states["sales"].messages == 0


def broker_channel(engine):
    """A channel to the test engine's broker (as the shop's own user)."""
    params = pika.ConnectionParameters(
        host="127.0.0.1",
        port=engine.ports.broker,
        credentials=pika.PlainCredentials("shop", engine.secrets().broker_password),
    )
    connection = pika.BlockingConnection(params)
    return connection, connection.channel()


@pytest.mark.parametrize("variant", ["monolith", "distributed"])
def test_an_order_is_mailed_once_and_counted_in_the_sales_figures(events_running, repo_of, variant):
    engine = events_running
    url = engine.entry_url(variant)
    repo = repo_of(variant)
    product_id = product_for(repo, 1)
    category = next(p for p in PRODUCTS if p["id"] == product_id)["category_id"]
    units_before = repo.category_sales().get(category, (0, 0, "0.00"))[1]
    placed = place(url, product_id, quantity=3)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert wait_until(lambda: mails_for(engine, variant, order["id"]), timeout=30)
    assert wait_until(lambda: order["id"] in repo.sales_counted_orders(), timeout=30)
    (message,) = mails_for(engine, variant, order["id"])
    assert message["to"] == [order["email"]]
    assert message["node"] == ("monolith" if variant == "monolith" else message["node"])
    assert message["variant"] == variant
    raw = requests.get(f"{engine.mailbox(variant).url}/api/messages/{message['id']}", timeout=5).text
    assert f"Order #{order['id']} is confirmed" in raw and f"Total: ${order['total']}" in raw
    assert order["items"][0]["name"] in raw
    assert repo.mail_states()[order["id"]] == "sent"
    assert repo.category_sales()[category][1] == units_before + 3
    catalogue = requests.get(f"{url}/api/categories", timeout=10).json()["items"]
    assert sum(c["sales"]["units"] for c in catalogue) >= 3
    page = requests.get(f"{url}/", timeout=10).text
    assert 'id="best-sellers"' in page and "sold" in page


def test_the_monolith_checkout_fails_whole_while_its_mail_server_is_down(events_running, repo_of):
    engine = events_running
    url = engine.entry_url("monolith")
    repo = repo_of("monolith")
    product_id = product_for(repo, 2)
    orders_before, stock_before = repo.order_count(), repo.stock_levels()[product_id]
    engine.kill("mail", variant="monolith")
    response = place(url, product_id)
    assert response.status_code == 503
    assert response.json()["error"] == "mail_unavailable"
    assert repo.order_count() == orders_before and repo.stock_levels()[product_id] == stock_before  # nothing half done
    engine.start("mail", variant="monolith")
    assert wait_until(lambda: not engine.events_not_ready("monolith"), timeout=30)
    assert place(url, product_id).status_code == 201


def test_the_distributed_checkout_does_not_wait_for_the_mail_server(events_running, repo_of):
    engine = events_running
    url = engine.entry_url("distributed")
    product_id = product_for(repo_of("distributed"), 3)
    engine.kill("mail", variant="distributed")
    placed = [place(url, product_id) for _ in range(3)]
    assert [r.status_code for r in placed] == [201] * 3
    ids = [r.json()["id"] for r in placed]
    # The mailers hold or queue the events while the mail server is away: the backlog.
    assert wait_until(lambda: queue(engine, "mailer").messages >= 1, timeout=20)
    assert not any(mails_for(engine, "distributed", i) for i in ids)
    engine.start("mail", variant="distributed")
    assert wait_until(lambda: all(mails_for(engine, "distributed", i) for i in ids), timeout=30)
    assert wait_until(lambda: drained(engine), timeout=30)
    assert all(len(mails_for(engine, "distributed", i)) == 1 for i in ids)


def test_an_order_placed_while_the_broker_is_stopped_is_mailed_after_it_restarts(events_running, repo_of):
    engine = events_running
    url = engine.entry_url("distributed")
    repo = repo_of("distributed")
    product_id = product_for(repo, 4)
    engine.kill("broker")
    response = place(url, product_id)
    assert response.status_code == 201, response.text  # the checkout does not need the broker
    order_id = response.json()["id"]
    assert repo.unpublished_event_count() >= 1  # the event waits in the outbox
    engine.start("broker")
    assert wait_until(lambda: mails_for(engine, "distributed", order_id), timeout=60)
    assert wait_until(lambda: order_id in repo.sales_counted_orders(), timeout=30)
    assert wait_until(lambda: repo.unpublished_event_count() == 0, timeout=30)
    assert wait_until(lambda: drained(engine), timeout=30)
    assert len(mails_for(engine, "distributed", order_id)) == 1


def test_a_mailer_killed_between_its_work_and_its_ack_sends_no_second_mail(events_running, repo_of):
    """The mail is sent and recorded, then the mailer dies before acknowledging: the broker delivers the
    message again, and the next mailer sees the record and sends nothing."""
    engine = events_running
    url = engine.entry_url("distributed")
    product_id = product_for(repo_of("distributed"), 5)
    for name in ("mailer-1", "mailer-2"):
        engine.kill(name)
    mailer = engine.topology("distributed").get("mailer-1")
    env = {**os.environ, **mailer.env, "TWINSHOP_NODE": "mailer-slow", "MAILER_PAUSE_BEFORE_ACK_S": "60"}
    slow = subprocess.Popen([sys.executable, "-m", "distributed.mailer"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        assert wait_until(lambda: "mailer-slow" in engine.broker("distributed").consumer_tags(), timeout=30)
        order_id = place(url, product_id).json()["id"]
        assert wait_until(lambda: mails_for(engine, "distributed", order_id), timeout=30)
        assert wait_until(lambda: repo_of("distributed").mail_states().get(order_id) == "sent", timeout=10)
        # sent and recorded, not acknowledged yet (the broker's figures are at most a second old)
        assert wait_until(lambda: queue(engine, "mailer").unacked == 1, timeout=5)
    finally:
        os.killpg(slow.pid, signal.SIGKILL)  # dies holding the message: no ack, no clean goodbye
        slow.wait(timeout=10)
    engine.start("mailer-1")
    assert wait_until(lambda: drained(engine), timeout=60)  # redelivered to mailer-1, acknowledged
    assert len(mails_for(engine, "distributed", order_id)) == 1
    log = (engine.logs("distributed") / "mailer-1.log").read_text()
    assert f"order {order_id} was already mailed: nothing sent" in log


def test_scaling_the_mailers_spreads_the_work(events_running, repo_of):
    engine = events_running
    url = engine.entry_url("distributed")
    product_id = product_for(repo_of("distributed"), 6)
    added, _ = engine.scale("mailer", 3)
    try:
        assert added == ["mailer-3"]
        assert wait_until(lambda: "mailer-3" in engine.broker("distributed").consumer_tags(), timeout=30)
        ids = [place(url, product_id).json()["id"] for _ in range(12)]
        assert wait_until(lambda: all(mails_for(engine, "distributed", i) for i in ids), timeout=60)
        senders = {m["node"] for m in engine.mailbox("distributed").messages() if m["order"] in ids}
        assert len(senders) >= 2, senders  # competing consumers: the queue hands messages to each in turn
        assert all(len(mails_for(engine, "distributed", i)) == 1 for i in ids)
    finally:
        _, removed = engine.scale("mailer", 2)
    assert removed == ["mailer-3"]


def test_bad_messages_are_retried_a_bounded_number_of_times_then_dead_lettered(events_running, repo_of):
    engine = events_running
    url = engine.entry_url("distributed")
    admin = engine.broker("distributed")
    admin.purge("dead-letters")
    # An order whose own event we take away, to send it a broken one instead (a template error).
    engine.kill("mailer-1")
    engine.kill("mailer-2")
    order = place(url, product_for(repo_of("distributed"), 7)).json()
    assert wait_until(lambda: queue(engine, "mailer").messages == 1, timeout=20)
    admin.purge("mailer")
    broken = {"event": "order.placed", "order": {**order, "items": "not a list of lines"}}
    unknown = {"event": "order.placed", "order": {**order, "id": 999_999}}
    connection, channel = broker_channel(engine)
    try:
        for body in (b"this is not JSON", json.dumps(unknown).encode(), json.dumps(broken).encode()):
            channel.basic_publish("shop.events", "order.placed", body, pika.BasicProperties(delivery_mode=2))
    finally:
        connection.close()
    engine.start("mailer-1")
    engine.start("mailer-2")
    # malformed and unknown: dead-lettered by the mailers and by the sales consumer; broken: by the mailers
    # only (the sales consumer counts the real order from the database, which is fine).
    assert wait_until(lambda: queue(engine, "dead-letters").messages == 5, timeout=60), queue(engine, "dead-letters")
    assert wait_until(lambda: drained(engine), timeout=30)
    connection, channel = broker_channel(engine)
    try:
        reasons = set()
        for _ in range(5):
            method, properties, _body = channel.basic_get("dead-letters", auto_ack=True)
            reasons.add((properties.headers["x-first-death-queue"], properties.headers["x-first-death-reason"]))
        assert reasons == {("mailer", "delivery_limit"), ("sales", "delivery_limit")}
        # The real event, sent again: the claim the broken one released lets it through, once.
        good = {"event": "order.placed", "order": order}
        channel.basic_publish("shop.events", "order.placed", json.dumps(good).encode())
    finally:
        connection.close()
    assert wait_until(lambda: mails_for(engine, "distributed", order["id"]), timeout=30)
    assert wait_until(lambda: drained(engine), timeout=30)
    assert len(mails_for(engine, "distributed", order["id"])) == 1
    # The broker's figures are at most a second old: `twinshop status` shows the dead letters taken away.
    assert wait_until(lambda: queue(engine, "dead-letters").messages == 0, timeout=5)
    status = {row.name: row for row in engine.status() if row.variant == "distributed"}
    assert "dead-letters 0" in status["broker"].detail


def test_a_full_queue_refuses_new_events_and_the_outbox_keeps_them(events_running, repo_of):
    """Past a queue's length limit (x-overflow: reject-publish) the broker nacks the relay's publish: the
    event stays in the outbox, and goes out once there is room. Nothing lost; duplicates do no harm."""
    engine = events_running
    url = engine.entry_url("distributed")
    repo = repo_of("distributed")
    product_id = product_for(repo, 8)
    connection, channel = broker_channel(engine)
    arguments = {"x-queue-type": "quorum", "x-max-length": 1, "x-overflow": "reject-publish"}
    channel.queue_declare("test-overflow", durable=True, arguments=arguments)
    channel.queue_bind("test-overflow", "shop.events", routing_key="order.placed")
    try:
        ids = [place(url, product_id).json()["id"] for _ in range(5)]
        assert wait_until(lambda: repo.unpublished_event_count() >= 1, timeout=20)  # refused: kept
        assert wait_until(lambda: repo.unpublished_event_count() >= 1, timeout=3)  # ... and still kept
    finally:
        channel.queue_delete("test-overflow")
        connection.close()
    assert wait_until(lambda: repo.unpublished_event_count() == 0, timeout=30)
    assert wait_until(lambda: all(mails_for(engine, "distributed", i) for i in ids), timeout=30)
    assert wait_until(lambda: drained(engine), timeout=30)
    assert all(len(mails_for(engine, "distributed", i)) == 1 for i in ids)
    assert set(ids) <= repo.sales_counted_orders()


def test_the_internal_endpoints_answer_only_the_consumers(distributed_url):
    response = requests.post(f"{distributed_url}/api/internal/orders/1/sales", timeout=10)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    forged = requests.post(f"{distributed_url}/api/internal/orders/1/sales", timeout=10,
                           headers={"Authorization": "Bearer not-the-token"})  # fmt: skip
    assert forged.status_code == 404


def test_reset_empties_the_queues_the_mailbox_and_the_sales_figures(events_running, repo_of):
    engine = events_running
    for variant in ("monolith", "distributed"):
        assert place(engine.entry_url(variant), product_for(repo_of(variant), 9)).status_code == 201
    assert wait_until(lambda: drained(engine), timeout=30)
    engine.reset()
    for variant in ("monolith", "distributed"):
        repo = repo_of(variant)
        assert engine.mailbox(variant).count() == 0
        assert repo.order_count() == 0 and repo.category_sales() == {} and repo.mail_states() == {}
    # The management API's counts are sampled (every 5 s by default): they may show the purged messages for
    # a few seconds more; nothing publishes again (the outbox was reset too), so they must reach 0.
    broker = engine.broker("distributed")
    emptied = ("mailer", "sales", "dead-letters")
    assert wait_until(lambda: all(broker.queues()[q].messages == 0 for q in emptied), timeout=15), broker.queues()
