"""Fixtures: the real variants, started by the local engine in a private state folder.

Every test talks to a real MariaDB, real gunicorn processes and (distributed) a real
HAProxy, on 127.0.0.1 with ports shifted by TWINSHOP_TEST_PORT_OFFSET (default 10000) so
the suite can run beside a student's own `twinshop up`. Teardown stops everything through
supervisord (by its pid), and wipes the state folder.

The same HTTP tests also run against the containers: tests/containers starts the compose
projects and runs test_api.py and test_pages.py again with TWINSHOP_TEST_TARGETS set (JSON:
variant -> {"url": entry URL, "db_container": container whose Python reaches the database}).
Then no local engine starts, and ``repo`` runs the shop's Repository inside that container
(the database is not reachable from the host there, on purpose).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from support import PORT_OFFSET

from shop.db import Database
from shop.repository import Repository
from twinshop.engines.local import LocalEngine
from twinshop.options import VariantOptions
from twinshop.topology import Ports

CONTAINER_TARGETS: dict[str, dict[str, str]] = json.loads(os.environ.get("TWINSHOP_TEST_TARGETS") or "{}")


def container_target(variant: str) -> dict[str, str]:
    if variant not in CONTAINER_TARGETS:
        pytest.skip(f"the {variant} variant is not among the containers under test")
    return CONTAINER_TARGETS[variant]


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
def monolith_url(request) -> str:
    if CONTAINER_TARGETS:
        return container_target("monolith")["url"]
    engine = request.getfixturevalue("engine")
    engine.up(VariantOptions("monolith"))
    return engine.entry_url("monolith")


@pytest.fixture(scope="session")
def distributed_url(request) -> str:
    if CONTAINER_TARGETS:
        return container_target("distributed")["url"]
    engine = request.getfixturevalue("engine")
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


@pytest.fixture(scope="session")
def container_repositories():
    """One Repository per container under test, running inside it (twinshop/engines/container_repository.py)."""
    from twinshop.engines.container_repository import ContainerRepository

    opened: dict[str, ContainerRepository] = {}

    def open_for(variant: str) -> ContainerRepository:
        if variant not in opened:
            opened[variant] = ContainerRepository("docker", container_target(variant)["db_container"])
        return opened[variant]

    yield open_for
    for repository in opened.values():
        repository.close()


@pytest.fixture
def repo(request, variant: str, base_url: str) -> Repository:
    """Direct access to the variant's database, to check what the HTTP calls did."""
    if CONTAINER_TARGETS:
        yield request.getfixturevalue("container_repositories")(variant)
        return
    engine = request.getfixturevalue("engine")
    database = Database(engine.db_settings(variant))
    yield Repository(database)
    database.close()
