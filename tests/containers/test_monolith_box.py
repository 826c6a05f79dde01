"""The Docker practice on the monolith box: `docker run -p`, `docker ps`, `docker exec`, `docker stop`.

The commands of the header of monolith/Dockerfile, run for real on the built image.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from dockerhost import DockerHost
from support import wait_until
from testbed import BOX_PORT, PREFIX, wait_for_http

pytestmark = pytest.mark.slow

IMAGE = "twinshop-monolith"
NAME = f"{PREFIX}-box"
VOLUME = f"{PREFIX}-box-data"
NETWORK = f"{PREFIX}-box-net"  # the box and its mail server, as a LAMP server and the mail server beside it
MAIL = f"{PREFIX}-box-mail"
URL = f"http://127.0.0.1:{BOX_PORT}"
STOP_GRACE = 90


def run_box(host: DockerHost, secrets_env: dict[str, str]) -> str:
    """`docker run -d --name ... -p 127.0.0.1:PORT:8000 -v VOLUME:/var/lib/mysql -e ...`; returns the id."""
    environment = [arg for key, value in secrets_env.items() for arg in ("-e", f"{key}={value}")]
    result = host.docker_cmd(
        "run", "--detach", "--name", NAME, "--publish", f"127.0.0.1:{BOX_PORT}:8000", "--network", NETWORK,
        "--volume", f"{VOLUME}:/var/lib/mysql", *environment, "-e", f"SMTP_HOST={MAIL}", "-e", "SMTP_PORT=2525",
        IMAGE,
    )  # fmt: skip
    return result.stdout.strip()


def run_mail(host: DockerHost) -> str:
    """The mail server the box's checkout sends to (compose/monolith.yaml's `mail`): same image, another command."""
    result = host.docker_cmd(
        "run", "--detach", "--name", MAIL, "--network", NETWORK, "--entrypoint", "python", "--user", "10001:10001",
        "-e", "MAIL_SMTP_BIND=0.0.0.0:2525", "-e", "MAIL_HTTP_BIND=0.0.0.0:8025",
        "-e", "MAIL_STORE=/tmp/twinshop-mail", IMAGE, "-m", "mailsink",
    )  # fmt: skip
    return result.stdout.strip()


def remove(host: DockerHost, container_id: str) -> None:
    host.docker_cmd("rm", "--force", "--volumes", container_id, check=False)


@pytest.fixture(scope="module")
def box(docker_host: DockerHost, images, secrets_env):
    """The box running from a fresh named volume; removed by id, its volume by name, at the end."""
    for leftover in (NAME, MAIL):
        docker_host.docker_cmd("rm", "--force", leftover, check=False)
    docker_host.docker_cmd("volume", "rm", VOLUME, check=False)
    docker_host.docker_cmd("network", "rm", NETWORK, check=False)
    network = docker_host.docker_cmd("network", "create", NETWORK).stdout.strip()
    mail = run_mail(docker_host)
    state = {"id": run_box(docker_host, secrets_env)}
    try:
        logs = docker_host.docker_cmd("logs", NAME, check=False).stderr[-3000:]
        assert wait_for_http(f"{URL}/readyz", timeout=90), logs
        yield state
    finally:
        remove(docker_host, state["id"])
        remove(docker_host, mail)
        docker_host.docker_cmd("volume", "rm", VOLUME, check=False)
        docker_host.docker_cmd("network", "rm", network, check=False)


def test_the_box_answers_readyz_on_the_published_port(box):
    response = requests.get(f"{URL}/readyz", timeout=5)
    assert response.status_code == 200 and response.headers["X-Served-By"] == "monolith"


def test_docker_ps_shows_the_box_healthy(docker_host: DockerHost, box):
    def healthy() -> bool:
        out = docker_host.docker_cmd("ps", "--filter", f"id={box['id']}", "--format", "{{.Status}}").stdout
        return "(healthy)" in out

    # The first health check runs 10 s after the start (the Dockerfile's --interval).
    assert wait_until(healthy, timeout=40, interval=1)
    ports = docker_host.docker_cmd("ps", "--filter", f"id={box['id']}", "--format", "{{.Ports}}").stdout
    assert f"127.0.0.1:{BOX_PORT}->8000/tcp" in ports and "3306" not in ports


def test_supervisorctl_lists_the_boxs_programs(docker_host: DockerHost, box):
    status = docker_host.docker_cmd("exec", box["id"], "supervisorctl", "status").stdout
    programs = dict(line.split()[:2] for line in status.splitlines() if line.strip())
    assert programs == {"mariadb": "RUNNING", "gunicorn": "RUNNING"}, status
    # gunicorn runs as the unprivileged user, MariaDB as mysql: nothing of the shop as root.
    users = docker_host.docker_cmd("exec", box["id"], "ps", "-eo", "user=,comm=", check=False)
    if users.returncode == 0:  # procps is not in the slim image; skip the detail when absent
        assert "root gunicorn" not in users.stdout


def test_orders_survive_a_clean_stop_and_a_new_container_on_the_same_volume(docker_host: DockerHost, box, secrets_env):
    placed = requests.post(
        f"{URL}/api/orders", json={"email": "ana@example.com", "items": [{"product_id": 7, "quantity": 2}]}, timeout=10
    )
    assert placed.status_code == 201, placed.text
    # Its confirmation went to the mail server beside the box (asked from inside it: its page is not published).
    read = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8025/api/messages').read().decode())"
    mailbox = docker_host.docker_cmd("exec", MAIL, "python", "-c", read).stdout
    assert any(m["order"] == placed.json()["id"] for m in json.loads(mailbox)["items"]), mailbox

    started = time.monotonic()
    docker_host.docker_cmd("stop", "--time", str(STOP_GRACE), box["id"], timeout=STOP_GRACE + 30)
    stopped_in = time.monotonic() - started
    state = docker_host.inspect(box["id"])["State"]
    logs = docker_host.docker_cmd("logs", box["id"]).stdout + docker_host.docker_cmd("logs", box["id"]).stderr
    # Not killed: supervisord stopped gunicorn, then MariaDB shut InnoDB down cleanly.
    assert stopped_in < STOP_GRACE and state["ExitCode"] == 0 and not state["OOMKilled"], (stopped_in, state)
    assert "Shutdown completed; log sequence number" in logs and "mariadbd: Shutdown complete" in logs

    docker_host.docker_cmd("rm", box["id"])
    box["id"] = run_box(docker_host, secrets_env)
    assert wait_for_http(f"{URL}/readyz", timeout=90)
    again = requests.get(f"{URL}/api/orders/{placed.json()['id']}", timeout=10)
    assert again.status_code == 200 and again.json() == placed.json()
    logs = docker_host.docker_cmd("logs", box["id"]).stdout
    assert "creating MariaDB's system tables" not in logs  # the volume's database, not a new one
    assert not re.search(r"InnoDB: .*crash recovery", docker_host.docker_cmd("logs", box["id"]).stderr)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"DB_PASSWORD": "a-real-password"}, "SECRET_KEY is not set: see .env.example"),
        ({"SECRET_KEY": "change-me", "DB_PASSWORD": "a-real-password"}, "SECRET_KEY is a placeholder"),
        ({"SECRET_KEY": "a-real-key-of-some-length"}, "DB_PASSWORD is not set: see .env.example"),
        ({"SECRET_KEY": "a-real-key-of-some-length", "DB_PASSWORD": "change-me"}, "DB_PASSWORD is a placeholder"),
    ],
    ids=["no-secret-key", "placeholder-secret-key", "no-db-password", "placeholder-db-password"],
)
def test_the_box_refuses_to_start_without_real_secrets(docker_host: DockerHost, images, environment, message):
    arguments = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
    result = docker_host.docker_cmd("run", "--rm", *arguments, IMAGE, check=False, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("entrypoint: refusing to start: ") and message in lines[0], lines


def test_the_database_image_refuses_a_placeholder_password(docker_host: DockerHost, images):
    result = docker_host.docker_cmd(
        "run", "--rm", "-e", "DB_PASSWORD=change-me", "twinshop-distributed-db", check=False, timeout=60
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "entrypoint: refusing to start: DB_PASSWORD is a placeholder ('change-me'): set a real secret"
    )
