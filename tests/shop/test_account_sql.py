"""The one SQL that creates the shop's database and user (shop.dbadmin.account_sql).

The box, the distributed db container and the local engine all run it; the container tests run
it for real with a password holding a quote and a backslash. Here: its exact form.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shop.config import DatabaseSettings
from shop.dbadmin import LOCAL_HOSTS, account_sql

ROOT = Path(__file__).resolve().parent.parent


def settings(password: str = "s3cret", name: str = "shop", user: str = "shop") -> DatabaseSettings:
    return DatabaseSettings(host="127.0.0.1", port=3306, name=name, user=user, password=password, pool_size=1)


def test_creates_the_database_then_each_account_with_its_grant():
    lines = account_sql(settings(), hosts=["%", "localhost"]).splitlines()
    assert lines == [
        "CREATE DATABASE IF NOT EXISTS `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;",
        "CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY 's3cret';",
        "ALTER USER 'shop'@'%' IDENTIFIED BY 's3cret';",
        "GRANT ALL PRIVILEGES ON `shop`.* TO 'shop'@'%';",
        "CREATE USER IF NOT EXISTS 'shop'@'localhost' IDENTIFIED BY 's3cret';",
        "ALTER USER 'shop'@'localhost' IDENTIFIED BY 's3cret';",
        "GRANT ALL PRIVILEGES ON `shop`.* TO 'shop'@'localhost';",
    ]


def test_the_default_hosts_are_the_machines_own():
    assert LOCAL_HOSTS == ("127.0.0.1", "localhost")
    assert "'shop'@'127.0.0.1'" in account_sql(settings()) and "'%'" not in account_sql(settings())


def test_any_password_stays_one_quoted_literal_on_one_line():
    sql = account_sql(settings(password="a'b\\c\nd\re\0f"), hosts=["localhost"])
    assert len(sql.splitlines()) == 4  # --init-file: one statement per line
    assert "IDENTIFIED BY 'a\\'b\\\\c\\nd\\re\\0f';" in sql


def test_odd_names_are_quoted_as_identifiers_and_strings():
    sql = account_sql(settings(name="sh`op", user="o'neil"), hosts=["localhost"])
    assert "`sh``op`" in sql and "'o\\'neil'@'localhost'" in sql


def test_an_account_needs_a_host():
    with pytest.raises(ValueError, match="at least one host"):
        account_sql(settings(), hosts=[])


def test_the_command_prints_it_and_refuses_a_placeholder_password():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    command = [sys.executable, "-m", "shop.dbadmin", "account-sql", "--host", "%", "--host", "localhost"]
    ok = subprocess.run(command, cwd=ROOT, env={**env, "DB_PASSWORD": "pw"}, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == account_sql(settings(password="pw"), hosts=["%", "localhost"])
    refused = subprocess.run(command, cwd=ROOT, env={**env, "DB_PASSWORD": "change-me"}, capture_output=True, text=True)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip() == "dbadmin: DB_PASSWORD is a placeholder ('change-me'): set a real secret"
