"""The order events' shared definitions: the event's body, the confirmation mail (no process started)."""

from __future__ import annotations

import pytest

from shop import mail
from shop.order_events import ORDER_PLACED, MalformedEvent, event_body, parse_event

ORDER = {
    "id": 42,
    "email": "ana@example.com",
    "status": "confirmed",
    "total": "21.00",
    "created_at": "2026-12-01T10:00:00.000Z",
    "items": [
        {"product_id": 7, "name": "Blue mug", "quantity": 2, "unit_price": "3.50", "line_total": "7.00"},
        {"product_id": 9, "name": "Tea pot", "quantity": 1, "unit_price": "14.00", "line_total": "14.00"},
    ],
}


def test_an_event_carries_the_order_and_reads_back_the_same():
    body = event_body(ORDER)
    assert ORDER_PLACED in body
    assert parse_event(body.encode()) == ORDER


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an order.placed event"),
        (b'{"event": "order.cancelled", "order": {"id": 1}}', "not an order.placed event"),
        (b'{"event": "order.placed", "order": {"id": "42"}}', "no valid id"),
        (b'{"event": "order.placed", "order": {"id": 0}}', "no valid id"),
        (b'{"event": "order.placed", "order": {"id": true}}', "no valid id"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_malformed_event_is_refused_with_the_reason(body, reason):
    with pytest.raises(MalformedEvent, match=reason):
        parse_event(body)


def test_the_confirmation_mail_lists_the_lines_and_the_total_and_names_the_order():
    message = mail.confirmation_message(ORDER, sender="twinshop <orders@twinshop.test>", node="mailer-2",
                                        variant="distributed")  # fmt: skip
    assert message["To"] == "ana@example.com" and message["Subject"] == "Your twinshop order #42 is confirmed"
    assert message[mail.ORDER_HEADER] == "42" and message[mail.NODE_HEADER] == "mailer-2"
    body = message.get_content()
    assert "2 x Blue mug" in body and "1 x Tea pot" in body and "Total: $21.00" in body and "/orders/42" in body


@pytest.mark.parametrize("broken", [{**ORDER, "items": "not a list"}, {k: v for k, v in ORDER.items() if k != "total"},
                                    {**ORDER, "items": [{"name": "no quantity"}]}])  # fmt: skip
def test_an_order_the_template_cannot_render_is_a_template_failure(broken):
    with pytest.raises(mail.TemplateFailed):
        mail.confirmation_message(broken, sender="x@example.com", node="n", variant="v")
