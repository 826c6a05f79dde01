"""Order events in the distributed variant: what the API's relay and the consumers share.

``broker`` — the RabbitMQ topology (exchange, queues, dead letters, limits), declared the same
by everyone who connects; ``relay`` — the API's outbox relay (publisher confirms);
``consumer`` — the consume loop of the mailers and the sales consumer (acknowledge after the
work, bounded retries, dead letters); ``internal`` — the API's internal endpoints they call.
"""
