"""The web tier's wiring: it needs the API's address and sane timeouts, or it does not start."""

from __future__ import annotations

import os

import pytest
from support import start_gunicorn

from shop.config import ConfigError

WEB_APP = "distributed.web.app:create_app()"
GOOD = {"SECRET_KEY": "k" * 40, "API_URL": "http://127.0.0.1:9", "GUNICORN_BIND": "127.0.0.1:0"}


def test_web_tier_refuses_to_start_without_api_url(monkeypatch):
    from distributed.web.app import create_app

    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.delenv("API_URL", raising=False)
    with pytest.raises(ConfigError, match="API_URL"):
        create_app()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("API_URL", None, "Error: API_URL is not set: see .env.example"),
        ("API_CONNECT_TIMEOUT", "abc", "Error: API_CONNECT_TIMEOUT must be a number of seconds such as 1.5, not 'abc'"),
        ("API_READ_TIMEOUT", "0", "Error: API_READ_TIMEOUT must be a number of seconds above 0, not '0'"),
        ("API_RETRIES", "two", "Error: API_RETRIES must be a whole number, not 'two'"),
    ],
)
def test_web_gunicorn_refuses_a_bad_api_setting_in_one_line(name, value, expected):
    env = {**os.environ, **GOOD}
    env.pop(name, None)
    if value is not None:
        env[name] = value
    result = start_gunicorn(WEB_APP, env)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0
    assert lines == [expected], lines
