"""The mail server both variants send their order confirmations to: a sink that keeps every message.

Run with ``python -m mailsink`` (settings in :mod:`mailsink.server`). A stand-in for a real mail
server (Postfix, a provider's SMTP relay): it speaks real SMTP (aiosmtpd), keeps each message
it accepts as a file, shows the mailbox on a web page and as JSON, and can be made slow on
purpose, to see what a slow dependency does to each variant.
"""
