"""The order confirmation mail, written once: rendered from a template and sent over SMTP.

The monolith sends it inside the checkout request (:mod:`shop.order_events`); the distributed
variant's mailers send it when the order's event reaches them (:mod:`distributed.mailer`). Both
send the same message to the same kind of server (the ``mail`` service, :mod:`mailsink`), so the
work is the same and only *where* it happens differs.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from jinja2 import Environment, PackageLoader, StrictUndefined

from shop.config import MailSettings

ORDER_HEADER = "X-Twinshop-Order"  # the order a mail confirms: the invariant checks count mails by it
NODE_HEADER = "X-Twinshop-Node"  # who sent it: monolith, mailer-2, ...
VARIANT_HEADER = "X-Twinshop-Variant"

_templates: Environment | None = None


class MailUnavailable(RuntimeError):
    """The mail server cannot take the message now (down, slow, busy): worth trying again later."""


class MailRejected(RuntimeError):
    """The mail server refused the message for good (a 5xx answer): trying again will not help."""


class TemplateFailed(RuntimeError):
    """The order could not be rendered into a mail (missing or malformed fields)."""


def templates() -> Environment:
    """Plain-text templates; StrictUndefined turns a missing field into an error, not an empty line."""
    global _templates
    if _templates is None:
        _templates = Environment(
            loader=PackageLoader("shop", "templates"),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _templates


def confirmation_message(order: dict, *, sender: str, node: str, variant: str) -> EmailMessage:
    """The confirmation mail of ``order`` (the dict GET /api/orders/<id> returns); TemplateFailed if it cannot be."""
    try:
        body = templates().get_template("mail/order_confirmation.txt").render(order=order, node=node, variant=variant)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = order["email"]
        message["Subject"] = f"Your twinshop order #{int(order['id'])} is confirmed"
        message["Message-ID"] = make_msgid(domain="twinshop.test")
        message[ORDER_HEADER] = str(int(order["id"]))
        message[NODE_HEADER] = node
        message[VARIANT_HEADER] = variant
        message.set_content(body)
    except Exception as exc:  # a template or header error: the order's data cannot make a mail
        raise TemplateFailed(f"order {order.get('id') if isinstance(order, dict) else '?'}: {exc}") from exc
    return message


def send(message: EmailMessage, settings: MailSettings) -> None:
    """Hand the message to the mail server (one SMTP session, like PHP's mail() per order).

    MailUnavailable when it cannot take it now (refused, timed out, a 4xx answer); MailRejected
    when it refuses it for good (5xx).
    """
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise MailUnavailable(f"the mail server answered {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise MailRejected(f"the mail server refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailRejected(f"the mail server refused the recipient: {exc.recipients}") from exc
    except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out (TimeoutError is an OSError)
        raise MailUnavailable(f"the mail server {settings.host}:{settings.port} is unavailable: {exc}") from exc
