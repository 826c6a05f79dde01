"""Fixtures for the container tests: a real Docker engine, the four images, the compose projects.

Where no engine runs and none can be started (a laptop without root), every test here is
skipped with one line saying why; with CI=true that is a failure instead. Everything the tests
create is named after TWINSHOP_TEST_PORT_OFFSET (so two checkouts do not collide) and removed
by that name or id at the end; the images (and debian:bookworm-slim) are kept as a build cache,
and a dockerd the tests started is stopped by its pid.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
from dockerhost import IMAGES, ROOT, ComposeProject, DockerHost, EngineUnavailable
from testbed import (
    BROKER_UI_PORT,
    FIGURES,
    LB_PORT,
    MAIL_PORT,
    MONOLITH_MAIL_PORT,
    MONOLITH_PORT,
    PREFIX,
    STATS_PORT,
)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("container figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def docker_host():
    try:
        host = DockerHost.obtain()
    except EngineUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no Docker engine: {exc}", pytrace=False)
        pytest.skip(f"no Docker engine: {exc}")
    yield host
    host.close()


@pytest.fixture(scope="session")
def images(docker_host: DockerHost) -> dict[str, float]:
    """Build the four images (debian:bookworm-slim first, made from Debian's archive if need be)."""
    started = time.monotonic()
    docker_host.ensure_base_image()
    FIGURES["base image ready in"] = f"{time.monotonic() - started:.0f} s"
    for image in IMAGES:
        seconds = docker_host.build(image)
        size = docker_host.image_size(image)
        FIGURES[f"build {image}"] = f"{seconds:.0f} s, {size / 1e6:.0f} MB"
    return dict(docker_host.build_seconds)


@pytest.fixture(scope="session")
def secrets_env() -> dict[str, str]:
    # A quote and a backslash in the password: the account SQL must quote it right.
    return {"SECRET_KEY": secrets.token_hex(32), "DB_PASSWORD": "pw'" + secrets.token_hex(12) + "\\x",
            "BROKER_PASSWORD": secrets.token_hex(16)}  # fmt: skip


@pytest.fixture(scope="session")
def env_file(tmp_path_factory, secrets_env: dict[str, str]) -> Path:
    """An .env as the README has users write it (cp .env.example .env, real secrets), ports shifted."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    lines = [f"{key}='{value}'" if "'" not in value else f'{key}="{value}"' for key, value in secrets_env.items()]
    lines += [
        f"TWINSHOP_MONOLITH_PORT={MONOLITH_PORT}",
        f"TWINSHOP_LB_PORT={LB_PORT}",
        f"TWINSHOP_STATS_PORT={STATS_PORT}",
        f"TWINSHOP_BROKER_UI_PORT={BROKER_UI_PORT}",
        f"TWINSHOP_MAIL_PORT={MAIL_PORT}",
        f"TWINSHOP_MONOLITH_MAIL_PORT={MONOLITH_MAIL_PORT}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# Module scope: the containers go away once their tests are done, so they do not take CPU from
# the local engine's timing-sensitive tests later in the same session.
def bring_up(project: ComposeProject, label: str) -> ComposeProject:
    project.down()  # leftovers of an interrupted run of this same checkout
    seconds = project.up()
    FIGURES[f"up --wait {label}"] = f"{seconds:.1f} s"
    return project


@pytest.fixture(scope="module")
def monolith_project(docker_host, images, env_file) -> ComposeProject:
    project = ComposeProject(docker_host, ROOT / "compose" / "monolith.yaml", f"{PREFIX}-monolith", env_file)
    yield bring_up(project, "monolith")
    project.down()


@pytest.fixture(scope="module")
def distributed_project(docker_host, images, env_file) -> ComposeProject:
    project = ComposeProject(
        docker_host, ROOT / "compose" / "distributed.yaml", f"{PREFIX}-distributed", env_file, profiles=("standby",)
    )
    yield bring_up(project, "distributed (with the standby)")
    project.down()
