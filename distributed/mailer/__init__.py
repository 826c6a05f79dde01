"""The mailers: competing consumers of the ``mailer`` queue that send each order's confirmation mail.

Run with ``python -m distributed.mailer`` (``mailer-1..N`` on the local engine, ``--scale mailer=N``
in compose). Each message is an ``order.placed`` event carrying the order (shop/order_events.py).
For each one, a mailer:

1. asks the API to **claim** the order's mail (``POST /api/internal/orders/<id>/mail/claim``):
   ``sent`` → the mail already went out (a redelivery, or a duplicate event): acknowledge, send
   nothing; ``busy`` → another mailer is sending it right now: wait and ask again; ``claimed`` → go on;
2. renders the mail from the same template as the monolith (shop/mail.py) and sends it over SMTP to
   the ``mail`` service — retrying while the mail server is down, holding the message meanwhile;
3. tells the API the mail was **sent**, and only then acknowledges the message.

So a mailer killed after step 3 and before the acknowledgement sends nothing the second time. The
one window left is between the SMTP server accepting the mail (step 2) and the API recording it
(step 3): a mailer that dies exactly there sends that mail again when the message is redelivered
(after its own restart at once, or once the claim's lease of ``MAIL_CLAIM_LEASE_S`` has passed
for another mailer). No protocol closes that window against a plain SMTP server: the send and the
record are two systems that cannot commit together. The claim makes it one instant wide.
"""
