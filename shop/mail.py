"""The order confirmation mail, written once: rendered from a template and sent over SMTP.

The monolith sends it inside the checkout request (:mod:`shop.order_events`); the distributed
variant's mailers send it when the order's event reaches them (:mod:`distributed.mailer`). Both
send the same message to the same kind of server (the ``mail`` service, :mod:`mailsink`), so the
work is the same and only *where* it happens differs.
"""

from __future__ import annotations

import email.utils
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
        message["To"] = to_header(order["email"])
        message["Subject"] = f"Your twinshop order #{int(order['id'])} is confirmed"
        message["Message-ID"] = make_msgid(domain="twinshop.test")
        message[ORDER_HEADER] = str(int(order["id"]))
        message[NODE_HEADER] = node
        message[VARIANT_HEADER] = variant
        message.set_content(body)
    except Exception as exc:  # a template or header error: the order's data cannot make a mail
        raise TemplateFailed(f"order {order.get('id') if isinstance(order, dict) else '?'}: {exc}") from exc
    return message


def to_header(address: str) -> str:
    """The To: header for an address the shop accepted. The shop accepts more than RFC 5322's
    syntax (``a:b;c@d.e`` parses as a group): such an address goes in the envelope only, as mail
    servers do for Bcc."""
    probe = EmailMessage()
    try:
        probe["To"] = address
        if [a.addr_spec for a in probe["To"].addresses] == [address]:
            return address
    except Exception:  # noqa: S110 - any parse error means: not a header-safe address
        pass
    return "undisclosed-recipients:;"


def send(message: EmailMessage, settings: MailSettings, *, recipient: str) -> None:
    """Hand the message to the mail server for ``recipient`` (one SMTP session, like PHP's mail() per order).

    The recipient goes in the envelope exactly as the customer gave it (``RCPT TO:<...>``), in UTF-8
    where the server offers SMTPUTF8. MailUnavailable when the server cannot take the mail now
    (refused, timed out, a 4xx answer); MailRejected when it refuses it for good (5xx).
    """
    data = message.as_bytes(policy=message.policy.clone(utf8=True))
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            options = ["BODY=8BITMIME"] + (["SMTPUTF8"] if smtp.has_extn("smtputf8") else [])
            code, reply = smtp.mail(email.utils.parseaddr(settings.sender)[1] or settings.sender, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, settings.sender)
            code, reply = smtp.docmd("RCPT", f"TO:<{recipient}>")
            if code not in (250, 251):
                raise smtplib.SMTPResponseException(code, reply)
            code, reply = smtp.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise MailUnavailable(f"the mail server answered {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise MailRejected(f"the mail server refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailRejected(f"the mail server refused the recipient: {exc.recipients}") from exc
    except UnicodeEncodeError as exc:  # an address in another script, to a server without SMTPUTF8
        raise MailRejected(f"the mail server cannot take this address: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out (TimeoutError is an OSError)
        raise MailUnavailable(f"the mail server {settings.host}:{settings.port} is unavailable: {exc}") from exc
