"""The Server-Timing header: written by every process, read back by the web tier and the load tests."""

from __future__ import annotations

import pytest

from shop.served import parse_server_timing, server_timing_header


def test_what_is_written_reads_back():
    header = server_timing_header({"db": 1.234, "api": 3.0, "app": 5})
    assert header == "db;dur=1.23, api;dur=3.00, app;dur=5.00"
    assert parse_server_timing(header) == {"db": 1.23, "api": 3.0, "app": 5.0}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ("db;dur=0", {"db": 0.0}),  # as HAProxy's own answers write it
        ('db;desc="query";dur=2.5, cache;desc="hit"', {"db": 2.5}),
        ("db;dur=x, app;dur=4", {"app": 4.0}),
        ("  db ; dur=1 ,app;dur=2", {"db": 1.0, "app": 2.0}),
        (";dur=3, db", {}),
    ],
)
def test_other_servers_headers_are_read_tolerantly(header, expected):
    assert parse_server_timing(header) == expected
