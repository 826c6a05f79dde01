"""Both compose files brought up for real (`up --wait`), then the same HTTP contract as on the local engine.

Plus what only the distributed containers promise: replicas named in X-Served-By, the standby
profile taking over when every `api` is stopped, `--scale api=5` found by HAProxy through
Docker's DNS, a database no one outside its network reaches, and secrets that never show in
`docker inspect`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import requests
from dockerhost import ROOT, ComposeProject, DockerHost
from support import wait_until
from testbed import LB_PORT, MONOLITH_PORT, STATS_PORT

pytestmark = pytest.mark.slow

LB_URL = f"http://127.0.0.1:{LB_PORT}"
MONOLITH_URL = f"http://127.0.0.1:{MONOLITH_PORT}"


def container(project: ComposeProject, service: str, number: int = 1) -> str:
    return f"{project.name}-{service}-{number}"


def served_by(url: str, count: int) -> Counter:
    """Who served ``count`` requests to ``url`` (each node of X-Served-By counted)."""
    nodes: Counter = Counter()
    with requests.Session() as session:
        for _ in range(count):
            response = session.get(url, timeout=10)
            assert response.status_code == 200, response.text
            nodes.update(response.headers["X-Served-By"].split(","))
    return nodes


def replica_names(project: ComposeProject, service: str) -> set[str]:
    """What the running replicas of ``service`` call themselves: "api-2" for the container <project>-api-2."""
    prefix = f"{project.name}-"
    return {row["Name"].removeprefix(prefix) for row in project.containers(service) if row["State"] == "running"}


def test_the_same_contract_suite_passes_on_both_compose_projects(docker_host, monolith_project, distributed_project):
    """tests/shop/test_api.py and tests/shop/test_pages.py, unchanged, against the containers (not the local engine)."""
    targets = {
        "monolith": {"url": MONOLITH_URL, "db_container": container(monolith_project, "monolith")},
        "distributed": {"url": LB_URL, "db_container": container(distributed_project, "db")},
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/shop/test_api.py",
        "tests/shop/test_pages.py",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    env = {**os.environ, "TWINSHOP_TEST_TARGETS": json.dumps(targets), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed > 100 and "skipped" not in summary, summary


def test_both_variants_answer_on_the_configured_host_ports(monolith_project, distributed_project):
    assert requests.get(f"{MONOLITH_URL}/readyz", timeout=5).headers["X-Served-By"] == "monolith"
    assert requests.get(f"{LB_URL}/readyz", timeout=5).status_code == 200
    stats = requests.get(f"http://127.0.0.1:{STATS_PORT}/stats;csv", timeout=5)
    assert stats.status_code == 200 and "api-slot-1" in stats.text


def test_every_replica_serves_and_names_itself_in_x_served_by(distributed_project):
    webs, apis = replica_names(distributed_project, "web"), replica_names(distributed_project, "api")
    assert webs == {"web-1", "web-2"} and apis == {"api-1", "api-2", "api-3"}
    nodes = served_by(f"{LB_URL}/products/1", 30)
    assert webs <= set(nodes), nodes
    assert apis <= set(nodes), nodes
    assert "api-standby" not in nodes  # a backup: no traffic while a primary is up


def test_the_standby_serves_when_every_api_replica_is_stopped(distributed_project):
    def api_nodes() -> set[str]:
        try:
            return set(served_by(f"{LB_URL}/api/products/1", 6))
        except (AssertionError, requests.RequestException):
            return set()

    try:
        distributed_project.run("stop", "api")
        assert wait_until(lambda: api_nodes() == {"api-standby"}, timeout=20, interval=0.5)
        # The pages too: web -> lb -> the standby.
        assert served_by(f"{LB_URL}/products/2", 4)["api-standby"] == 4
    finally:
        distributed_project.run("start", "api")
    primaries = replica_names(distributed_project, "api")
    assert wait_until(lambda: api_nodes() == primaries, timeout=30, interval=0.5)


def test_scaling_the_api_to_five_replicas_is_picked_up_by_haproxy(distributed_project):
    try:
        distributed_project.up("--scale", "api=5")
        scaled = replica_names(distributed_project, "api")
        assert len(scaled) == 5
        seen: set[str] = set()

        def all_five_served() -> bool:
            seen.update(served_by(f"{LB_URL}/api/products/3", 10))
            return scaled <= seen

        # HAProxy asks Docker's DNS every second; new slots pass 2 health checks (rise 2).
        assert wait_until(all_five_served, timeout=30, interval=0.5), (scaled, seen)
    finally:
        distributed_project.up()  # back to deploy.replicas: 3
    assert len(replica_names(distributed_project, "api")) == 3


def test_the_database_is_reachable_only_from_its_own_network(docker_host: DockerHost, distributed_project):
    db = docker_host.inspect(container(distributed_project, "db"))
    # From the host: nothing published. (root on the Docker host could still reach the
    # container's address on the bridge directly - Docker keeps that on purpose,
    # moby/moby#47356 - but no address of the host leads to it.)
    assert not db["HostConfig"]["PortBindings"]
    assert not any(db["NetworkSettings"]["Ports"].get(port) for port in db["NetworkSettings"]["Ports"])
    assert docker_host.docker_cmd("port", db["Id"]).stdout.strip() == ""
    networks = db["NetworkSettings"]["Networks"]
    assert set(networks) == {f"{distributed_project.name}_back"}
    back = json.loads(docker_host.docker_cmd("network", "inspect", f"{distributed_project.name}_back").stdout)[0]
    assert back["Internal"] is True
    # From the front network (a web replica): the name does not resolve and the address does
    # not answer.
    address = next(iter(networks.values()))["IPAddress"]
    probe = (
        "import socket\n"
        "try:\n    socket.getaddrinfo('db', 3306); print('resolves')\nexcept OSError: print('no-name')\n"
        f"try:\n    socket.create_connection(({address!r}, 3306), timeout=2); print('connects')\n"
        "except OSError: print('no-route')\n"
    )
    out = docker_host.docker_cmd("exec", container(distributed_project, "web"), "python", "-c", probe).stdout
    assert out.split() == ["no-name", "no-route"], out
    # ...while the API tier, on the back network, does reach it.
    ready = docker_host.docker_cmd(
        "exec", container(distributed_project, "api"), "python", "-m", "shop.dbadmin", "wait"
    )
    assert ready.returncode == 0


def test_no_secret_shows_in_docker_inspect(docker_host: DockerHost, monolith_project, distributed_project, secrets_env):
    for project in (monolith_project, distributed_project):
        rows = project.containers(all_states=True)
        assert rows
        for row in rows:
            inspected = docker_host.docker_cmd("inspect", row["ID"]).stdout
            for name, value in secrets_env.items():
                assert value not in inspected and json.dumps(value)[1:-1] not in inspected, (row["Name"], name)
    # They do reach the processes that need them, as files.
    api = container(distributed_project, "api")
    delivered = docker_host.docker_cmd("exec", api, "cat", "/run/secrets/db_password").stdout
    assert delivered.strip() == secrets_env["DB_PASSWORD"]
    web_secrets = docker_host.docker_cmd("exec", container(distributed_project, "web"), "ls", "/run/secrets").stdout
    assert web_secrets.split() == ["secret_key"]  # the web tier never gets the database password
