"""The sales consumer: counts every order in the per-category sales figures the catalogue shows.

Run with ``python -m distributed.sales``. It consumes the ``sales`` queue — a second subscriber
of the same ``order.placed`` events the mailers get (publish-subscribe: each queue bound to the
exchange receives its own copy). For each event it asks the API to count the order
(``POST /api/internal/orders/<id>/sales``); the API adds the order's lines to ``category_sales``
and records "order N counted" in one transaction, so a redelivered event counts nothing twice.
"""
