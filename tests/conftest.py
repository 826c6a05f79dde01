"""Fixtures: the real variants, started by the local engine in a private state folder.

Every test talks to a real MariaDB, real gunicorn processes and (distributed) a real
HAProxy, on 127.0.0.1 with ports shifted by TWINSHOP_TEST_PORT_OFFSET (default 10000) so
the suite can run beside a student's own `twinshop up`. Teardown stops everything through
supervisord (by its pid), and wipes the state folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from shop.db import Database
from shop.repository import Repository
from twinshop.engines.local import LocalEngine
from twinshop.options import VariantOptions
from twinshop.topology import Ports

PORT_OFFSET = int(os.environ.get("TWINSHOP_TEST_PORT_OFFSET", "10000"))


@pytest.fixture(scope="session")
def engine_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def engine(engine_home: Path):
    eng = LocalEngine(home=engine_home, ports=Ports(PORT_OFFSET))
    yield eng
    eng.down(wipe=True)


@pytest.fixture(scope="session")
def cli_env(engine: LocalEngine) -> dict[str, str]:
    """Environment for running the `twinshop` command against the test engine."""
    return {**os.environ, "TWINSHOP_HOME": str(engine.home.root), "TWINSHOP_PORT_OFFSET": str(PORT_OFFSET)}


@pytest.fixture(scope="session")
def monolith_url(engine: LocalEngine) -> str:
    engine.up(VariantOptions("monolith"))
    return engine.entry_url("monolith")


@pytest.fixture(scope="session")
def distributed_url(engine: LocalEngine) -> str:
    engine.up(VariantOptions("distributed", standby=True))
    return engine.entry_url("distributed")


@pytest.fixture(params=["monolith", "distributed"])
def variant(request) -> str:
    return request.param


@pytest.fixture
def base_url(request, variant: str) -> str:
    """The entry URL of the running variant under test (parametrised over both)."""
    return request.getfixturevalue(f"{variant}_url")


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def repo(engine: LocalEngine, variant: str, base_url: str) -> Repository:
    """Direct access to the variant's database, to check what the HTTP calls did."""
    database = Database(engine.db_settings(variant))
    yield Repository(database)
    database.close()
