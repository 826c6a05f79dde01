"""Settings come only from the environment; a missing, placeholder or malformed one stops start-up
with one line naming the variable - in the settings module and in the real gunicorn process."""

from __future__ import annotations

import os
import socket

import pytest
from support import start_gunicorn

from shop.config import ApiClientSettings, ConfigError, DatabaseSettings, NodeSettings, ServerSettings
from shop.replica import in_docker_network

GOOD_SECRETS = {"SECRET_KEY": "k" * 40, "DB_PASSWORD": "p" * 20, "GUNICORN_BIND": "127.0.0.1:0"}


@pytest.mark.parametrize("value", ["", "change-me", "dev", "  Secret "])
def test_placeholder_or_missing_secret_key_is_refused(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", value)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        NodeSettings.from_env(default_node="monolith", default_variant="monolith")


def test_missing_db_password_names_the_variable(monkeypatch):
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    monkeypatch.delenv("DB_PASSWORD_FILE", raising=False)
    with pytest.raises(ConfigError, match="DB_PASSWORD is not set"):
        DatabaseSettings.from_env()


def test_secret_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "pw").write_text("s3cr3t-value\n")
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    monkeypatch.setenv("DB_PASSWORD_FILE", str(tmp_path / "pw"))
    assert DatabaseSettings.from_env().password == "s3cr3t-value"
    monkeypatch.setenv("DB_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="DB_PASSWORD_FILE"):
        DatabaseSettings.from_env()


def test_bad_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "x" * 20)
    monkeypatch.setenv("DB_PORT", "three")
    with pytest.raises(ConfigError, match="DB_PORT"):
        DatabaseSettings.from_env()


def test_node_name_may_use_the_hostname(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TWINSHOP_NODE", "api-{hostname}")
    node = NodeSettings.from_env(default_node="api", default_variant="distributed").node
    assert node.startswith("api-") and "{" not in node


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DB_PORT", "70000", "DB_PORT must be from 1 to 65535, not 70000"),
        ("DB_POOL_SIZE", "abc", "DB_POOL_SIZE must be a whole number, not 'abc'"),
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be at least 1, not 0"),
    ],
)
def test_malformed_database_setting_names_the_variable(monkeypatch, name, value, reason):
    monkeypatch.setenv("DB_PASSWORD", "x" * 20)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        DatabaseSettings.from_env()
    assert str(error.value) == reason


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1,5"])
def test_a_timeout_must_be_a_positive_number_of_seconds(monkeypatch, value):
    monkeypatch.setenv("API_URL", "http://lb:8000")
    monkeypatch.setenv("API_READ_TIMEOUT", value)
    with pytest.raises(ConfigError, match=r"^API_READ_TIMEOUT must be a number of seconds"):
        ApiClientSettings.from_env()


def test_timeouts_and_retries_are_read(monkeypatch):
    monkeypatch.setenv("API_URL", "http://lb:8000/")
    monkeypatch.setenv("API_CONNECT_TIMEOUT", "0.25")
    monkeypatch.setenv("API_READ_TIMEOUT", " 7 ")
    monkeypatch.setenv("API_RETRIES", "0")
    assert ApiClientSettings.from_env() == ApiClientSettings("http://lb:8000", 0.25, 7.0, 0)
    monkeypatch.setenv("API_RETRIES", "-1")
    with pytest.raises(ConfigError, match="API_RETRIES must be at least 0, not -1"):
        ApiClientSettings.from_env()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GUNICORN_WORKERS", "abc"),
        ("GUNICORN_WORKERS", "0"),
        ("GUNICORN_THREADS", "four"),
        ("GUNICORN_TIMEOUT", "1.5"),
        ("GUNICORN_ACCESS_LOG", "yes"),
    ],
)
def test_malformed_server_setting_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        ServerSettings.from_env()


def one_line_refusal(result) -> str:
    """The only line a refused start prints: no traceback, no gunicorn banner."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0, lines
    assert "Traceback" not in result.stderr and len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("app", "name", "value"),
    [
        ("monolith.app:create_app()", "GUNICORN_WORKERS", "abc"),
        ("monolith.app:create_app()", "GUNICORN_THREADS", "0"),
        ("monolith.app:create_app()", "DB_POOL_SIZE", "abc"),
        ("monolith.app:create_app()", "SECRET_KEY", "change-me"),
        ("distributed.api.app:create_app()", "DB_PORT", "three"),
    ],
)
def test_gunicorn_refuses_a_malformed_setting_in_one_line(app, name, value):
    result = start_gunicorn(app, {**os.environ, **GOOD_SECRETS, name: value})
    line = one_line_refusal(result)
    assert line.startswith(f"Error: {name} ") and value in line, line


def test_outside_docker_a_replica_number_falls_back_to_the_hostname(monkeypatch):
    # Docker's DNS is not this machine's resolver, so the number cannot be known: the host
    # name stands in (inside compose the container tests see api-1, api-2 ... instead).
    if in_docker_network():
        pytest.skip("these tests run inside a Docker container: its DNS does know a name")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TWINSHOP_NODE", "api-{replica}")
    node = NodeSettings.from_env(default_node="api", default_variant="distributed").node
    assert node == f"api-{socket.gethostname()}"
