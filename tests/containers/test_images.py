"""The four images, built for real from the Dockerfiles as they are, on debian:bookworm-slim.

Each image runs Debian's own builds - the very MariaDB, HAProxy and Python the local engine
runs on this machine - and holds nothing that .dockerignore keeps out.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from dockerhost import BASE_IMAGE, IMAGES, DockerHost

pytestmark = pytest.mark.slow

MONOLITH_MAX_BYTES = 500 * 1000 * 1000


def in_image(host: DockerHost, image: str, *command: str) -> str:
    result = host.docker_cmd("run", "--rm", "--entrypoint", command[0], image, *command[1:], timeout=60)
    return result.stdout + result.stderr


def local_version(*command: str) -> str:
    program = shutil.which(command[0]) or f"/usr/sbin/{command[0]}"
    result = subprocess.run([program, *command[1:]], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def test_every_image_is_built_on_debian_bookworm_slim(docker_host: DockerHost, images):
    base_layers = docker_host.inspect(BASE_IMAGE)["RootFS"]["Layers"]
    for image in IMAGES:
        layers = docker_host.inspect(image)["RootFS"]["Layers"]
        assert layers[: len(base_layers)] == base_layers, f"{image} is not built FROM {BASE_IMAGE}"
        assert "VERSION_CODENAME=bookworm" in in_image(docker_host, image, "cat", "/etc/os-release")


def test_the_monolith_box_fits_in_500_mb(docker_host: DockerHost, images):
    size = docker_host.image_size("twinshop-monolith")
    assert size <= MONOLITH_MAX_BYTES, f"twinshop-monolith is {size / 1e6:.0f} MB"


def test_the_database_images_run_the_local_engines_mariadb(docker_host: DockerHost, images):
    version = re.compile(r"Ver (\S+)")
    local = version.search(local_version("mariadbd", "--version")).group(1)
    for image in ("twinshop-monolith", "twinshop-distributed-db"):
        found = version.search(in_image(docker_host, image, "mariadbd", "--version")).group(1)
        assert found == local, f"{image} runs MariaDB {found}, the local engine {local}"
        assert found.startswith("10.11.")


def test_the_lb_image_runs_the_local_engines_haproxy(docker_host: DockerHost, images):
    version = re.compile(r"HAProxy version (\S+)")
    local = version.search(local_version("haproxy", "-v")).group(1)
    found = version.search(in_image(docker_host, "twinshop-distributed-lb", "haproxy", "-v")).group(1)
    assert found == local and found.startswith("2.6.")


def test_the_app_images_run_debians_python_3_11_in_a_venv(docker_host: DockerHost, images):
    for image in ("twinshop-monolith", "twinshop-distributed", "twinshop-distributed-db"):
        out = in_image(
            docker_host, image, "python", "-c", "import sys, flask; print(sys.prefix, sys.base_prefix, sys.version)"
        )
        prefix, base_prefix, version = out.split(maxsplit=2)
        assert prefix == "/opt/venv" and base_prefix == "/usr" and version.startswith("3.11."), out


def test_the_images_hold_nothing_the_dockerignore_keeps_out(docker_host: DockerHost, images):
    kept_out = {
        ".git",
        ".venv",
        ".env",
        ".twinshop",
        ".hypothesis",
        ".schemathesis",
        ".pytest_cache",
        "tests",
        "reports",
    }
    for image in ("twinshop-monolith", "twinshop-distributed", "twinshop-distributed-db"):
        listing = set(in_image(docker_host, image, "ls", "-A", "/app").split())
        assert {"shop", "monolith", "distributed"} <= listing
        assert not listing & kept_out, f"{image} holds {listing & kept_out}"


def test_the_proxy_authority_given_at_build_time_is_not_kept(docker_host: DockerHost, images):
    for image in ("twinshop-monolith", "twinshop-distributed"):
        assert "build-proxy" not in in_image(
            docker_host, image, "ls", "/usr/local/share/ca-certificates", "/etc/ssl/certs"
        )


def test_the_web_and_api_image_runs_as_an_unprivileged_user(docker_host: DockerHost, images):
    assert docker_host.inspect("twinshop-distributed")["Config"]["User"] == "10001:10001"
    assert docker_host.inspect("twinshop-distributed-lb")["Config"]["User"] == "haproxy"
