"""A Docker Swarm of several engines on this one machine: ``twinshop cluster up|down|status``.

Each node is a Docker engine in a container of its own ("Docker in Docker", the image
``swarm/node/Dockerfile``), on a private bridge network of the host's Docker: as far as Swarm
can tell, separate machines. ``up`` builds the node image, starts the nodes, forms the Swarm
(node-1 the manager, the others workers joined with its token), copies the shop's images into
each node (``docker save | docker load``: there is no registry) and deploys ``swarm/stack.yaml``.
Everything it creates on the host carries the label ``org.twinshop.cluster=<name>`` and is removed
by id by ``down``; a failed ``up`` removes what it had made before saying why, in one line.

The nodes are reached with ``docker exec <node> docker ...``: the Docker command inside the node
talks to that node's engine, as it would on a real machine. The stacks (the distributed shop,
and the monolith box when a comparison asks for it) are deployed through the manager, node-1;
:class:`twinshop.engines.swarm.SwarmEngine` gives them the other engines' verbs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

from twinshop import topology as t
from twinshop.engines.base import EngineError
from twinshop.engines.compose import Docker, endpoint, last_line, run_command
from twinshop.options import VariantOptions
from twinshop.state import PROJECT_ROOT, Home, StateError, port_offset

NODE_IMAGE = "twinshop-swarm-node:latest"
NODE_DOCKERFILE = PROJECT_ROOT / "swarm" / "node"
LABEL = "org.twinshop.cluster"
# The two stacks: the distributed shop (services twinshop_api, twinshop_web, ...) and the monolith
# box (twinshop-monolith_monolith), each from its own file in swarm/.
STACKS = {"distributed": "twinshop", "monolith": "twinshop-monolith"}
STACK_FILES = {variant: PROJECT_ROOT / "swarm" / f"{'stack' if variant == 'distributed' else variant}.yaml"
               for variant in STACKS}
APP_IMAGE = "twinshop-distributed:latest"
# Only node-1 runs them: the database, the load balancer and the broker.
EDGE_IMAGES = ("twinshop-distributed-db:latest", "twinshop-distributed-lb:latest", "twinshop-distributed-broker:latest")
MONOLITH_IMAGE = "twinshop-monolith:latest"  # loaded into node-1 when the monolith is asked for
SECRETS = {"db_password": "twinshop_db_password", "secret_key": "twinshop_secret_key",
           "broker_password": "twinshop_broker_password"}
MAX_NODES = 9  # HAProxy has 9 server slots per tier: more nodes than that would add nothing to see
# What one node needs, on top of what is free: memory for its engine and its share of the shop,
# disk for the images loaded into it. node-1, the "edge" node, also holds MariaDB, HAProxy, RabbitMQ,
# the mail server and (in comparisons) the monolith box: it gets more.
NODE_MEMORY_DEFAULT = 1024  # MiB, the cap of each node container (--node-memory)
NODE_MEMORY_MINIMUM = 384
EDGE_EXTRA_MB = 1536
NODE_DISK_MB = 1500
# The cluster's own bridge network on the host: a /24 from this range, fixed addresses for the
# nodes (a node started again after `kill-node` keeps the address the Swarm knows it by).
SUBNET_RANGE = (10, 230)
# Swarm's own networks inside the nodes, from ranges that the host's networks do not use.
SWARM_ADDRESS_POOL = "10.233.0.0/16"
# How often a worker reports to the manager; a node that misses a few heartbeats is Down and
# its tasks are scheduled elsewhere (Swarm's default is 5 s: ~15 s to notice a dead node).
HEARTBEAT = "2s"
# The ports the shop's stacks publish on node-1 (mode: host) -> the host's 127.0.0.1 ports.
NODE_PORTS = {"lb": 8000, "stats": 8404, "monolith": 8001, "monolith_mail": 8025, "mail": 8026, "broker_ui": 15673}
PARTITION_COMMENT = "twinshop-partition"
REPLICATED = ("api", "web", "mailer")  # services of N tasks, named by slot: api-2, mailer-1


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def find_docker() -> str:
    """The docker command, its daemon answering, or an EngineError naming the fix."""
    docker = shutil.which("docker")
    if not docker:
        raise EngineError("no `docker` command here: install Docker (Debian, Ubuntu: `sudo apt-get install docker.io`)")
    try:
        info = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise EngineError("the Docker daemon does not answer (`docker info` waited 30 s): restart it") from None
    if info.returncode != 0 or not info.stdout.strip():
        raise EngineError(Docker.daemon_problem(info.stderr, endpoint(docker)))
    return docker


def node_memory(index: int, memory_mb: int) -> int:
    """The memory cap of node ``index`` (1-based): node-1 holds the database, HAProxy and the monolith too."""
    return memory_mb + (EDGE_EXTRA_MB if index == 1 else 0)


def room_problem(nodes: int, memory_mb: int, *, available_mb: float, free_disk_mb: float) -> str | None:
    """Why ``nodes`` nodes of ``memory_mb`` each do not fit here (None: they do)."""
    if memory_mb < NODE_MEMORY_MINIMUM:
        return f"--node-memory {memory_mb} is too little for a node (at least {NODE_MEMORY_MINIMUM} MiB)"
    need = sum(node_memory(i, memory_mb) for i in range(1, nodes + 1))
    if need > available_mb:
        fit = max((n for n in range(1, nodes) if sum(node_memory(i, memory_mb) for i in range(1, n + 1))
                   <= available_mb), default=0)  # fmt: skip
        return (f"not enough memory for {nodes} nodes of {memory_mb} MiB ({need / 1024:.1f} GiB with node-1's "
                f"extra {EDGE_EXTRA_MB} MiB; {available_mb / 1024:.1f} GiB available): use --nodes {fit} or a "
                "smaller --node-memory"
                if fit >= 1 else
                f"not enough memory for one node of {memory_mb} MiB (node-1 needs {need / 1024:.1f} GiB, "
                f"{available_mb / 1024:.1f} GiB available): close other programs or use a smaller "
                "--node-memory")  # fmt: skip
    disk = nodes * NODE_DISK_MB
    if disk > free_disk_mb:
        return (f"not enough disk for {nodes} nodes: about {disk / 1024:.1f} GiB needed for their images, "
                f"{free_disk_mb / 1024:.1f} GiB free where Docker keeps its data: free some space or use fewer nodes")
    return None


def stack_override(options: VariantOptions) -> dict:
    """What the options change in the committed stack file (a second compose file for `docker stack deploy`).

    Replicas of api and web, the standby on or off, the workers of the monolith, and the CPU caps by
    the local engine's rule: ``--node-cpus``/``--api-cpus`` become each task's limit; without them
    no task has a CPU limit of its own ("0"), as with the other engines.
    """
    services: dict[str, dict] = {}
    if options.variant == "monolith":
        services["monolith"] = {"environment": {"GUNICORN_WORKERS": str(options.workers)},
                                "deploy": {"resources": {"limits": {"cpus": "0"}}}}  # fmt: skip
    else:
        replicas = {"api": options.api, "web": options.web, "api-standby": 1 if options.standby else 0,
                    "mailer": options.mailers}  # fmt: skip
        for service in ("db", "lb", "web", "api", "api-standby", "broker", "mail", "mailer", "sales"):
            cap = options.caps.for_service(service)
            spec: dict = {"deploy": {"resources": {"limits": {"cpus": f"{cap:g}" if cap else "0"}}}}
            if service in replicas:
                spec["deploy"]["replicas"] = replicas[service]
            services[service] = spec
    return {"version": "3.8", "services": services}


@dataclass(frozen=True)
class Node:
    """One node: its name in the Swarm (node-2), its container on the host, and its address."""

    name: str
    container: str  # the node container's id
    address: str  # on the cluster's private network


@dataclass(frozen=True)
class Task:
    """One running container of a stack, as the node running it sees it."""

    name: str  # api-2, web-1, db, lb, api-standby, monolith
    service: str  # api, web, db, ...
    slot: int
    node: str
    container: str  # its id inside the node
    pid: int | None  # its main process, as the host sees it
    address: str | None  # on the overlay network the load balancer reaches it by
    health: str  # healthy | unhealthy | starting | - (no check)
    state: str  # running, restarting, exited, ...


class Cluster:
    """The Swarm on this machine: ``up``, ``down``, ``status``, the stacks, and the node-level faults."""

    def __init__(self, home: Home | None = None, ports: t.Ports | None = None):
        self.installation = home or Home.default()
        self.ports = ports or t.Ports(port_offset())
        suffix = f"-{self.ports.offset}" if self.ports.offset else ""
        self.name = f"twinshop-swarm{suffix}"  # prefixes every container, volume and network it makes
        self.folder = self.installation.root / f"swarm{suffix}"
        self._docker: str | None = None

    # -- the host's Docker and the state file ------------------------------------------------------

    @property
    def docker(self) -> str:
        if self._docker is None:
            self._docker = find_docker()
        return self._docker

    def host(self, *args: str, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """A docker command on the host's engine."""
        return run_command([self.docker, *args], timeout=timeout, check=check, **kwargs)

    @property
    def state_path(self) -> Path:
        return self.folder / "cluster.json"

    def state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def nodes(self) -> list[Node]:
        """The nodes as ``up`` made them (running or not); [] when there is no cluster."""
        state = self.state() or {}
        return [Node(**n) for n in state.get("nodes", [])]

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes()]

    def node(self, name: str) -> Node:
        nodes = self.nodes()
        if not nodes:
            raise EngineError("no cluster is up: `twinshop cluster up --nodes 3` first")
        for node in nodes:
            if node.name == name:
                return node
        raise EngineError(f"no node {name!r} in the cluster (it has {', '.join(n.name for n in nodes)})")

    def exists(self) -> bool:
        return bool(self.nodes())

    def manager(self) -> Node:
        nodes = self.nodes()
        if not nodes:
            raise EngineError("no cluster is up: `twinshop cluster up --nodes 3` first")
        return nodes[0]

    def on(self, node: Node | str, *args: str, timeout: float = 120, check: bool = True,
           stdin: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        """A docker command on one node's engine (the docker command inside the node)."""
        return self.inside(node, "docker", *args, timeout=timeout, check=check, stdin=stdin)

    def inside(self, node: Node | str, *command: str, timeout: float = 120, check: bool = True,
               stdin: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        """Any command inside a node container."""
        container = node.container if isinstance(node, Node) else node
        interactive = ["-i"] if stdin is not None else []
        return run_command([self.docker, "exec", *interactive, container, *command], timeout=timeout, check=check,
                   input=stdin)  # fmt: skip

    def swarm(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """A docker command on the manager (node-1): the Swarm's own view."""
        return self.on(self.manager(), *args, **kwargs)

    def container_states(self) -> dict[str, str]:
        """Node name -> its container's state on the host (running, exited, removed)."""
        nodes = self.nodes()
        if not nodes:
            return {}
        inspected = json.loads(self.host("inspect", *[n.container for n in nodes], check=False).stdout or "[]")
        states = {c["Id"]: c["State"]["Status"] for c in inspected}
        return {n.name: states.get(n.container, "removed") for n in nodes}

    # -- up ----------------------------------------------------------------------------------------

    def host_ports(self) -> dict[str, int]:
        """What node-1 publishes on the host's loopback: the engines' usual ports (shifted by the offset)."""
        return {"lb": self.ports.lb, "stats": self.ports.stats, "monolith": self.ports.monolith,
                "monolith_mail": self.ports.mail_page("monolith"), "mail": self.ports.mail_page("distributed"),
                "broker_ui": self.ports.broker_management}  # fmt: skip

    def check_request(self, nodes: int, memory_mb: int, node_cpus: float | None) -> None:
        """Refuse, before anything is made, what cannot work: the counts, the room, the ports, the images."""
        if not 1 <= nodes <= MAX_NODES:
            raise EngineError(f"--nodes must be from 1 to {MAX_NODES}, not {nodes}")
        cores = os.cpu_count() or 1
        if node_cpus is not None and not 0.1 <= node_cpus <= cores:
            raise EngineError(f"--node-cpus must be from 0.1 to {cores} (the machine's cores), not {node_cpus:g}")
        if memory_mb < NODE_MEMORY_MINIMUM:  # before asking Docker anything
            raise EngineError(room_problem(nodes, memory_mb, available_mb=0, free_disk_mb=0))
        docker = self.docker
        root = run_command([docker, "info", "--format", "{{.DockerRootDir}}"], timeout=30).stdout.strip()
        root = root or "/var/lib/docker"
        try:
            free_disk = shutil.disk_usage(root).free / 2**20
        except OSError:  # the daemon's folder is not ours to see (a remote daemon): trust it
            free_disk = float("inf")
        problem = room_problem(nodes, memory_mb, available_mb=psutil.virtual_memory().available / 2**20,
                               free_disk_mb=free_disk)  # fmt: skip
        if problem:
            raise EngineError(problem)
        from twinshop.engines.local import port_in_use

        for name, port in self.host_ports().items():
            what = {"lb": "the shop's entry point", "stats": "the statistics page", "monolith": "the monolith",
                    "monolith_mail": "the monolith's mailbox", "mail": "the mailbox", "broker_ui": "RabbitMQ's "
                    "management UI"}[name]  # fmt: skip
            if port_in_use(port):
                raise EngineError(f"port {port} on 127.0.0.1 is already in use (needed by {what}): stop what uses "
                                  "it or set TWINSHOP_PORT_OFFSET")  # fmt: skip
        missing = [i for i in (APP_IMAGE, *EDGE_IMAGES) if self.host("image", "inspect", i, check=False).returncode]
        if missing:
            raise EngineError(f"the image {missing[0]} is not built yet: run `twinshop build distributed "
                              "--engine compose`")  # fmt: skip

    def up(self, nodes: int = 3, *, node_cpus: float | None = None, memory_mb: int = NODE_MEMORY_DEFAULT,
           say: Callable[[str], None] = lambda line: None, timeout: float = 300,
           deploy: Callable[[], None] | None = None) -> float:  # fmt: skip
        """Make the cluster (and, with ``deploy``, put the shop on it); seconds it took.

        Nothing is left behind on failure, nor on Ctrl-C: every container, volume and network made
        so far is removed by its label before the error leaves.
        """
        started = time.monotonic()
        if self.exists():
            have = len(self.nodes())
            raise EngineError(f"a cluster of {plural(have, 'node')} is already up ({self.name}): "
                              "`twinshop cluster down` first")  # fmt: skip
        self.check_request(nodes, memory_mb, node_cpus)
        self.remove_leftovers()  # of an earlier up that was killed before it could clean up
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            say("building the node image (Debian's docker.io) ...")
            self.build_node_image()
            say(f"starting {plural(nodes, 'node')} ...")
            subnet = self.create_network()
            made = self.start_nodes(nodes, subnet=subnet, node_cpus=node_cpus, memory_mb=memory_mb)
            self.save({"name": self.name, "nodes": [n.__dict__ for n in made], "node_cpus": node_cpus,
                       "node_memory_mb": memory_mb, "subnet": subnet, "created_at": time.time()})  # fmt: skip
            self.wait_engines(made, deadline=time.monotonic() + 60)
            say("forming the Swarm and loading the images into the nodes ...")
            with ThreadPoolExecutor(max_workers=2) as pool:
                images = pool.submit(self.load_images, {made[0]: (APP_IMAGE, *EDGE_IMAGES),
                                                        **{n: (APP_IMAGE,) for n in made[1:]}})  # fmt: skip
                self.form_swarm(made)
                images.result()
            if deploy is not None:
                say("deploying the stack (swarm/stack.yaml) ...")
                deploy()
        except BaseException as exc:
            self.remove()
            if isinstance(exc, (EngineError, OSError, StateError)):
                raise EngineError(f"the cluster did not come up: {exc} (everything it made is removed again)") from None
            raise
        return time.monotonic() - started

    def build_node_image(self) -> None:
        """`docker build` of swarm/node (cached after the first time); an older build it replaces is removed."""
        before = self.host("image", "inspect", "--format", "{{.Id}}", NODE_IMAGE, check=False).stdout.strip()
        self.host("build", "--quiet", "--label", f"{LABEL}=image", "-t", NODE_IMAGE, str(NODE_DOCKERFILE),
                  timeout=900)  # fmt: skip
        after = self.host("image", "inspect", "--format", "{{.Id}}", NODE_IMAGE, check=False).stdout.strip()
        if before and before != after:
            self.host("image", "rm", before, check=False)  # nameless now; kept only while a node still uses it

    def create_network(self) -> str:
        """The cluster's bridge network, on a /24 no other network of the host's Docker uses; its subnet."""
        start = int(hashlib.sha256(self.name.encode()).hexdigest(), 16) % 256
        last = ""
        for i in range(24):
            subnet = f"{SUBNET_RANGE[0]}.{SUBNET_RANGE[1]}.{(start + i) % 256}.0/24"
            result = self.host("network", "create", "--label", f"{LABEL}={self.name}", "--subnet", subnet, self.name,
                               check=False)  # fmt: skip
            if result.returncode == 0:
                return subnet
            last = last_line(result.stderr)
            if "overlap" not in last.lower():
                break
        raise EngineError(f"could not create the cluster's network {self.name}: {last}")

    def start_nodes(self, count: int, *, subnet: str, node_cpus: float | None, memory_mb: int) -> list[Node]:
        prefix = subnet.rsplit(".", 1)[0]
        made = []
        for i in range(1, count + 1):
            name = f"node-{i}"
            container = f"{self.name}-{name}"
            volume = f"{container}-docker"
            self.host("volume", "create", "--label", f"{LABEL}={self.name}", volume)
            publish = []
            if i == 1:  # the edge node: the stacks publish their ports on it (mode: host)
                publish = [f"--publish=127.0.0.1:{host}:{NODE_PORTS[name]}" for name, host in self.host_ports().items()]
            address = f"{prefix}.{10 + i}"
            # What --privileged would give (some kernels refuse it): every capability but
            # CAP_SYS_RESOURCE, no seccomp or AppArmor confinement, every device, its own cgroups.
            cid = self.host(
                "run", "--detach", "--name", container, "--hostname", name, "--label", f"{LABEL}={self.name}",
                "--network", self.name, "--ip", address, *publish,
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--cgroupns", "private", "--device-cgroup-rule", "a *:* rwm",
                "--memory", f"{node_memory(i, memory_mb)}m", *(["--cpus", f"{node_cpus:g}"] if node_cpus else []),
                "--volume", f"{volume}:/var/lib/docker", NODE_IMAGE,
            ).stdout.strip()  # fmt: skip
            made.append(Node(name, cid, address))
        return made

    def wait_engines(self, nodes: Sequence[Node], *, deadline: float) -> None:
        for node in nodes:
            while self.on(node, "info", "--format", "{{.ServerVersion}}", check=False, timeout=30).returncode != 0:
                if time.monotonic() > deadline:
                    logs = self.host("logs", "--tail", "3", node.container, check=False)
                    raise EngineError(f"the engine of {node.name} did not start: {last_line(logs.stderr)}")
                time.sleep(0.3)

    def form_swarm(self, nodes: Sequence[Node]) -> None:
        manager = nodes[0]
        self.on(manager, "swarm", "init", "--advertise-addr", manager.address, "--default-addr-pool",
                SWARM_ADDRESS_POOL, "--dispatcher-heartbeat", HEARTBEAT, "--task-history-limit", "2")  # fmt: skip
        token = self.on(manager, "swarm", "join-token", "--quiet", "worker").stdout.strip()

        def join(node: Node) -> None:
            result = self.on(node, "swarm", "join", "--token", token, "--advertise-addr", node.address,
                             f"{manager.address}:2377", check=False, timeout=90)  # fmt: skip
            if result.returncode != 0:
                raise EngineError(f"{node.name} could not join the Swarm at {manager.address}:2377 "
                                  f"({last_line(result.stderr)}): check that TCP 2377 and 7946 and UDP 7946 and "
                                  "4789 pass between the nodes")  # fmt: skip

        if len(nodes) > 1:
            with ThreadPoolExecutor(max_workers=len(nodes) - 1) as pool:
                for future in [pool.submit(join, node) for node in nodes[1:]]:
                    future.result()
        self.on(manager, "node", "update", "--label-add", "twinshop.db=true", "--label-add", "twinshop.edge=true",
                manager.name)  # fmt: skip

    def load_images(self, wanted: dict[Node, Sequence[str]]) -> None:
        """Copy images into nodes: ``docker save`` on the host piped into ``docker load`` in each node, every
        node at the same time (no archive on disk: the load starts with the first bytes of the save)."""

        def load(node: Node, images: Sequence[str]) -> None:
            save = subprocess.Popen([self.docker, "save", *images], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                result = subprocess.run([self.docker, "exec", "-i", node.container, "docker", "load", "--quiet"],
                                        stdin=save.stdout, capture_output=True, text=True, timeout=600)  # fmt: skip
            except subprocess.TimeoutExpired:
                raise EngineError(f"loading images into {node.name} did not finish within 600 s") from None
            finally:
                save.stdout.close()
                saved = save.wait(timeout=60)
            if saved != 0:
                raise EngineError(f"`docker save {' '.join(images)}` failed: {last_line(save.stderr.read().decode())}")
            if result.returncode != 0:
                raise EngineError(f"loading images into {node.name} failed: {last_line(result.stderr)}")

        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
            for future in [pool.submit(load, node, images) for node, images in wanted.items()]:
                future.result()

    def ensure_images(self, node: Node, images: Sequence[str]) -> None:
        """Load the images that ``node`` lacks (or holds in another version than the host's)."""
        missing = []
        for image in images:
            here = self.host("image", "inspect", "--format", "{{.Id}}", image, check=False)
            if here.returncode != 0:
                raise EngineError(f"the image {image} is not built yet: run `twinshop build --engine compose`")
            there = self.on(node, "image", "inspect", "--format", "{{.Id}}", image, check=False)
            if there.returncode != 0 or there.stdout.strip() != here.stdout.strip():
                missing.append(image)
        if missing:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.load_images({node: tuple(missing)})

    def save(self, state: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(state, indent=2) + "\n")

    # -- the stacks --------------------------------------------------------------------------------

    def put(self, node: Node, path: str, text: str) -> None:
        """Write a file inside a node (the stack files the manager deploys)."""
        self.inside(node, "sh", "-c", f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}'", stdin=text, timeout=30)

    def deploy(self, options: VariantOptions) -> None:
        """The secrets (the ones the local engine generated) and the variant's stack, through the manager."""
        manager = self.manager()
        if options.variant == "monolith":
            self.ensure_images(manager, (MONOLITH_IMAGE,))
        secrets = self.installation.secrets()
        values = {"db_password": secrets.db_password, "secret_key": secrets.secret_key,
                  "broker_password": secrets.broker_password}
        existing = set(self.swarm("secret", "ls", "--format", "{{.Name}}").stdout.split())
        for key, name in SECRETS.items():
            if name not in existing:
                self.swarm("secret", "create", name, "-", stdin=values[key])
        stack = STACKS[options.variant]
        folder = f"/twinshop/{stack}"
        self.put(manager, f"{folder}/stack.yaml", STACK_FILES[options.variant].read_text())
        self.put(manager, f"{folder}/override.json", json.dumps(stack_override(options), indent=2) + "\n")
        self.swarm("stack", "deploy", "--resolve-image", "never", "--prune", "-c", f"{folder}/stack.yaml", "-c",
                   f"{folder}/override.json", stack, timeout=180)  # fmt: skip

    def services(self, variant: str) -> dict[str, tuple[int, int]]:
        """Service (api, web, ...) -> (running tasks, wanted), as `docker service ls` counts them."""
        stack = STACKS[variant]
        out = self.swarm("service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
                         "--format", "{{.Name}} {{.Replicas}}", timeout=30).stdout  # fmt: skip
        found = {}
        for line in out.splitlines():
            name, _, replicas = line.partition(" ")
            match = re.match(r"(\d+)/(\d+)", replicas)
            if match:
                found[name.removeprefix(f"{stack}_")] = (int(match.group(1)), int(match.group(2)))
        return found

    def deployed(self, variant: str) -> bool:
        if not self.exists() or self.container_states().get(self.manager().name) != "running":
            return False
        try:
            return bool(self.services(variant))
        except EngineError:
            return False

    def scale(self, variant: str, wanted: dict[str, int], *, timeout: float = 180) -> None:
        """`docker service scale` (waits until the tasks run; new ones go where the fewest are)."""
        stack = STACKS[variant]
        pairs = [f"{stack}_{service}={count}" for service, count in wanted.items()]
        self.swarm("service", "scale", "--detach", *pairs, timeout=timeout)

    def wait_converged(self, variant: str, url: str, *, deadline: float) -> None:
        """Until every service runs its tasks and ``url`` answers 200."""
        from twinshop.engines.local import http_status

        while True:
            services = self.services(variant)
            short = {s: r for s, r in services.items() if s != "init" and r[0] < r[1]}
            if services and not short and http_status(url) == 200:
                return
            if time.monotonic() > deadline:
                waiting = ", ".join(f"{s} {r[0]}/{r[1]}" for s, r in short.items()) or f"{url} (not 200)"
                raise EngineError(f"the stack did not come up in time (waiting for {waiting}; see "
                                  "`twinshop cluster status`)")  # fmt: skip
            time.sleep(1)

    def spread(self, variant: str) -> dict[str, dict[str, list[Task]]]:
        """Replicated service (api, web) -> ready node -> its running tasks there."""
        ready = [r["name"] for r in self.node_rows() if r["state"] == "ready"]
        found: dict[str, dict[str, list[Task]]] = {}
        for task in self.containers(variant):
            if task.service in ("api", "web") and task.state == "running" and task.node in ready:
                found.setdefault(task.service, {n: [] for n in ready})[task.node].append(task)
        return found

    def uneven(self, variant: str) -> list[str]:
        """The replicated services whose running tasks are not spread evenly over the ready nodes: Swarm
        never moves a running task, so a node that comes back after a failure stays empty."""
        return sorted(service for service, per_node in self.spread(variant).items()
                      if max(map(len, per_node.values())) - min(map(len, per_node.values())) > 1)  # fmt: skip

    def rebalance(self, variant: str, *, deadline: float) -> list[str]:
        """Spread the tasks evenly again: stop one task on the fullest node at a time; Swarm starts its
        replacement by the spread preference, on the emptiest node. Returns the tasks moved."""
        moved = []
        while uneven := self.uneven(variant):
            per_node = self.spread(variant)[uneven[0]]
            task = max(max(per_node.values(), key=len), key=lambda k: k.slot)
            self.on(self.node(task.node), "stop", "--time", "10", task.container, timeout=60)
            moved.append(task.name)
            while not any(k.slot == task.slot and k.service == task.service and k.health in ("healthy", "-")
                          for tasks in self.spread(variant).get(task.service, {}).values() for k in tasks):  # fmt: skip
                if time.monotonic() > deadline:
                    raise EngineError(f"{task.name} did not start again on another node in time")
                time.sleep(0.5)
        return moved

    def remove_stack(self, variant: str, *, wipe: bool = False, timeout: float = 120) -> None:
        """`docker stack rm`, then wait until its containers are gone from every running node (and its volumes)."""
        stack = STACKS[variant]
        self.swarm("stack", "rm", stack, check=False, timeout=60)
        running = [n for n in self.nodes() if self.container_states().get(n.name) == "running"]
        deadline = time.monotonic() + timeout
        for node in running:
            while self.on(node, "ps", "--all", "--quiet", "--filter", f"label=com.docker.stack.namespace={stack}",
                          check=False, timeout=30).stdout.strip():  # fmt: skip
                if time.monotonic() > deadline:
                    raise EngineError(f"the {variant} stack's containers did not stop within {timeout:.0f} s")
                time.sleep(0.5)
        # The stack's networks go once their last task is gone; then its volumes (the data) may go too.
        if wipe:
            for node in running:
                volumes = self.on(node, "volume", "ls", "--quiet", "--filter",
                                  f"label=com.docker.stack.namespace={stack}", check=False).stdout.split()  # fmt: skip
                if volumes:
                    self.on(node, "volume", "rm", "--force", *volumes, check=False, timeout=60)

    # -- down --------------------------------------------------------------------------------------

    def labelled(self, kind: str) -> list[str]:
        """Ids of the host's containers, volumes or networks that carry this cluster's label."""
        command = {"container": ["ps", "--all", "--quiet", "--no-trunc"], "volume": ["volume", "ls", "--quiet"],
                   "network": ["network", "ls", "--quiet", "--no-trunc"]}[kind]  # fmt: skip
        return self.host(*command, "--filter", f"label={LABEL}={self.name}", timeout=60).stdout.split()

    def remove(self) -> list[str]:
        """Remove every container, volume and network of this cluster (by its label), and its state."""
        removed = []
        if containers := self.labelled("container"):
            self.host("rm", "--force", "--volumes", *containers, timeout=300)
            removed.append(plural(len(containers), "node"))
        if volumes := self.labelled("volume"):
            self.host("volume", "rm", "--force", *volumes, timeout=300)
            removed.append(plural(len(volumes), "volume"))
        if networks := self.labelled("network"):
            self.host("network", "rm", *networks, timeout=60)
            removed.append("its network")
        shutil.rmtree(self.folder, ignore_errors=True)
        return removed

    def remove_leftovers(self) -> None:
        if self.labelled("container") or self.labelled("volume") or self.labelled("network"):
            self.remove()

    def down(self) -> list[str]:
        """Remove the cluster (by its label: also what a killed `up` left); [] when there is none."""
        if not self.exists():
            try:
                find_docker()
            except EngineError:
                return []  # no Docker here: nothing of ours can exist
        return self.remove()

    # -- status ------------------------------------------------------------------------------------

    def node_rows(self) -> list[dict]:
        """One dict per node: name, role, state (ready/down), availability, address, container state."""
        nodes = self.nodes()
        containers = self.container_states()
        swarm = {}
        if nodes and containers.get(nodes[0].name) == "running":
            out = self.swarm("node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}",
                             check=False, timeout=30).stdout  # fmt: skip
            for line in out.splitlines():
                host, status, availability, manager = (line.split("|") + ["", "", ""])[:4]
                swarm[host] = (status.lower(), availability.lower(), "manager" if manager else "worker")
        rows = []
        for node in nodes:
            role = "manager" if node == nodes[0] else "worker"
            status, availability, role = swarm.get(node.name, ("unknown", "-", role))
            if containers.get(node.name) == "running" and self.partitioned(node):
                status += " (partitioned)"
            rows.append({"name": node.name, "role": role, "state": status, "availability": availability,
                         "address": node.address, "container": containers.get(node.name, "removed")})  # fmt: skip
        return rows

    def tasks(self) -> list[dict]:
        """The tasks Swarm wants running now, of every stack: name (api-2), service, slot, node, state, error."""
        fmt = "{{.Name}}|{{.Node}}|{{.CurrentState}}|{{.DesiredState}}|{{.Error}}"
        rows = []
        for variant, stack in STACKS.items():
            out = self.swarm("stack", "ps", stack, "--no-trunc", "--filter", "desired-state=running", "--format", fmt,
                             check=False, timeout=30).stdout  # fmt: skip
            for line in out.splitlines():
                name, node, current, _desired, error = (line.split("|") + [""] * 4)[:5]
                service, _, slot = name.removeprefix(f"{stack}_").partition(".")
                if service == "init":
                    continue
                task = f"{service}-{slot}" if service in REPLICATED else service
                rows.append({"name": task, "variant": variant, "service": service,
                             "slot": int(slot) if slot.isdigit() else 0, "node": node,
                             "state": current.split(" ")[0].lower(), "since": current, "error": error})  # fmt: skip
        return sorted(rows, key=lambda r: (r["variant"], r["service"], r["slot"]))

    def containers(self, variant: str) -> list[Task]:
        """The stack's containers on every running node (asked of all nodes at once), with the host's pids."""
        stack = STACKS[variant]
        states = self.container_states()
        nodes = [n for n in self.nodes() if states.get(n.name) == "running"]
        # One `docker exec` per node: the ids of the stack's containers, then `docker inspect` of them.
        script = (f"ids=$(docker ps --quiet --no-trunc --filter label=com.docker.stack.namespace={stack}); "
                  "if [ -n \"$ids\" ]; then docker inspect $ids; else echo '[]'; fi")  # fmt: skip

        def ask(node: Node) -> list[Task]:
            result = self.inside(node, "sh", "-c", script, check=False, timeout=30)
            try:
                inspected = json.loads(result.stdout or "[]")
            except ValueError:
                return []
            host_pids = self.host_pids(node) if inspected else {}
            found = []
            for c in inspected:
                labels = c["Config"].get("Labels") or {}
                service = labels.get("com.docker.swarm.service.name", "").removeprefix(f"{stack}_")
                if not service or service == "init":
                    continue
                slot_text = c["Name"].lstrip("/").split(".")[1] if c["Name"].count(".") >= 2 else "0"
                slot = int(slot_text) if slot_text.isdigit() else 0
                networks = c["NetworkSettings"].get("Networks") or {}
                address = next((n.get("IPAddress") for name, n in sorted(networks.items(), key=lambda i:
                                not i[0].endswith("_front")) if n.get("IPAddress")), None)  # fmt: skip
                health = (c["State"].get("Health") or {}).get("Status") or "-"
                pid = c["State"].get("Pid") or None
                found.append(Task(f"{service}-{slot}" if service in REPLICATED else service, service, slot,
                                  node.name, c["Id"], host_pids.get(pid) if pid else None, address, health,
                                  c["State"].get("Status", "?")))  # fmt: skip
            return found

        if not nodes:
            return []
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return [task for tasks in pool.map(ask, nodes) for task in tasks]

    def host_pids(self, node: Node) -> dict[int, int]:
        """Pid in the node's namespace -> pid on the host, for every process in the node container."""
        found = {}
        inspected = self.host("inspect", "--format", "{{.State.Pid}}", node.container, check=False).stdout.strip()
        if not inspected.isdigit() or inspected == "0":
            return found
        try:
            processes = psutil.Process(int(inspected)).children(recursive=True)
        except psutil.Error:
            return found
        for process in processes:
            try:
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("NSpid:"):
                        levels = line.split()[1:]
                        if len(levels) >= 2:
                            found[int(levels[1])] = process.pid  # [host, node, (task)]
            except (OSError, ValueError):
                continue
        return found

    def node_pid(self, node: Node) -> int | None:
        pid = self.host("inspect", "--format", "{{.State.Pid}}", node.container, check=False).stdout.strip()
        return int(pid) if pid.isdigit() and pid != "0" else None

    # -- node faults -------------------------------------------------------------------------------

    def worker(self, name: str, what: str) -> Node:
        node = self.node(name)
        if node == self.manager():
            others = [n.name for n in self.nodes()[1:]]
            hint = f"{what} {others[0]} or another worker" if others else "a cluster of one node has no worker"
            raise EngineError(f"{node.name} is the manager and holds the load balancer and the database: {hint}")
        return node

    def kill_node(self, name: str) -> None:
        """The whole node dies at once (SIGKILL of its engine and every task in it), as in a power cut."""
        node = self.worker(name, "kill-node")
        self.host("kill", node.container, check=False)

    def start_node(self, name: str) -> None:
        """Power the node on again: its engine starts and rejoins the Swarm by itself."""
        node = self.node(name)
        if self.container_states().get(node.name) != "running":
            self.host("start", node.container)
        self.wait_engines([node], deadline=time.monotonic() + 60)

    def partition(self, name: str) -> None:
        """Cut the node off the cluster's network (its engine and tasks keep running, unreachable)."""
        node = self.worker(name, "partition")
        for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
            self.inside(node, "iptables", "-I", chain, "1", flag, "eth0", "-m", "comment", "--comment",
                        PARTITION_COMMENT, "-j", "DROP", timeout=30)  # fmt: skip

    def heal(self, name: str) -> None:
        """Undo a partition: remove the node's DROP rules."""
        node = self.node(name)
        for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
            rule = [chain, flag, "eth0", "-m", "comment", "--comment", PARTITION_COMMENT, "-j", "DROP"]
            while self.inside(node, "iptables", "-D", *rule, check=False, timeout=30).returncode == 0:
                pass

    def partitioned(self, node: Node) -> bool:
        rules = self.inside(node, "iptables", "-S", "INPUT", check=False, timeout=30).stdout
        return PARTITION_COMMENT in rules

    def make_whole(self) -> list[str]:
        """Every node running and connected again (after a drill); the nodes it had to start or heal."""
        fixed = []
        for node in self.nodes():
            if self.container_states().get(node.name) != "running":
                self.start_node(node.name)
                fixed.append(node.name)
            elif self.partitioned(node):
                self.heal(node.name)
                fixed.append(node.name)
        return fixed

    def wait_nodes_ready(self, *, deadline: float) -> None:
        """Until the manager sees every node Ready."""
        while True:
            rows = self.node_rows()
            if rows and all(r["state"] == "ready" for r in rows):
                return
            if time.monotonic() > deadline:
                late = ", ".join(f"{r['name']} {r['state']}" for r in rows if r["state"] != "ready")
                raise EngineError(f"the nodes are not all ready again ({late})")
            time.sleep(0.5)
