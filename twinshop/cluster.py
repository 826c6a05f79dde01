"""A Docker Swarm of several engines on this one machine: ``twinshop cluster up|down|status``.

Each node is a Docker engine in a container of its own ("Docker in Docker", the image
``swarm/node/Dockerfile``), on a private bridge network of the host's Docker: as far as Swarm
can tell, separate machines. ``up`` builds the node image, starts the nodes, forms the Swarm
(node-1 the manager, the others workers joined with its token), copies the shop's images into
each node (``docker save | docker load``: there is no registry) and deploys ``swarm/stack.yaml``.
Everything it creates carries the label ``org.twinshop.cluster=<name>`` and is removed by id by
``down``; a failed ``up`` removes what it had made before saying why, in one line.

The nodes are reached with ``docker exec <node> docker ...``: the Docker command inside the node
talks to that node's engine, as it would on a real machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

from twinshop import topology as t
from twinshop.engines.base import EngineError
from twinshop.state import PROJECT_ROOT, Home, StateError, port_offset

NODE_IMAGE = "twinshop-swarm-node:latest"
NODE_DOCKERFILE = PROJECT_ROOT / "swarm" / "node"
STACK_FILE = PROJECT_ROOT / "swarm" / "stack.yaml"
STACK = "twinshop"  # the stack's name in the Swarm: services twinshop_api, twinshop_web, ...
LABEL = "org.twinshop.cluster"
APP_IMAGE = "twinshop-distributed:latest"
EDGE_IMAGES = ("twinshop-distributed-db:latest", "twinshop-distributed-lb:latest")  # only node-1 runs them
SECRETS = {"db_password": "twinshop_db_password", "secret_key": "twinshop_secret_key"}
MAX_NODES = 9  # HAProxy has 9 server slots per tier: more nodes than that would add nothing to see
# What one node needs, on top of what is free: memory for its engine and its share of the shop
# (node-1 holds MariaDB), disk for the images loaded into it.
NODE_MEMORY_DEFAULT = 1024  # MiB, the cap of each node container (--node-memory)
NODE_MEMORY_MINIMUM = 384
NODE_DISK_MB = 1500
# Swarm's own networks inside the nodes, from ranges that the host's networks do not use.
SWARM_ADDRESS_POOL = "10.233.0.0/16"
# How often a worker reports to the manager; a node that misses a few heartbeats is Down and
# its tasks are scheduled elsewhere (Swarm's default is 5 s: ~15 s to notice a dead node).
HEARTBEAT = "2s"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def run(command: Sequence[str], *, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """A command, its output captured; with ``check``, an EngineError of its last line of error."""
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`{' '.join(command[:5])} ...` did not finish within {timeout:.0f} s") from None
    if check and result.returncode != 0:
        raise EngineError(_last_line(result.stderr or result.stdout))
    return result


def find_docker() -> str:
    """The docker command, its daemon answering, or an EngineError naming the fix."""
    from twinshop.engines.compose import Docker, endpoint

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


def room_problem(nodes: int, memory_mb: int, *, available_mb: float, free_disk_mb: float) -> str | None:
    """Why ``nodes`` nodes of ``memory_mb`` each do not fit here (None: they do)."""
    if memory_mb < NODE_MEMORY_MINIMUM:
        return f"--node-memory {memory_mb} is too little for a node (at least {NODE_MEMORY_MINIMUM} MiB)"
    need = nodes * memory_mb
    if need > available_mb:
        fit = int(available_mb // memory_mb)
        return (f"not enough memory for {nodes} nodes of {memory_mb} MiB ({need / 1024:.1f} GiB; "
                f"{available_mb / 1024:.1f} GiB available): use --nodes {max(1, fit)} or a smaller --node-memory"
                if fit >= 1 else
                f"not enough memory for one node of {memory_mb} MiB ({available_mb / 1024:.1f} GiB available): "
                "close other programs or use a smaller --node-memory")  # fmt: skip
    disk = nodes * NODE_DISK_MB
    if disk > free_disk_mb:
        return (f"not enough disk for {nodes} nodes: about {disk / 1024:.1f} GiB needed for their images, "
                f"{free_disk_mb / 1024:.1f} GiB free where Docker keeps its data: free some space or use fewer nodes")
    return None


@dataclass(frozen=True)
class Node:
    """One node: its name in the Swarm (node-2), its container on the host, and its address."""

    name: str
    container: str  # the node container's id
    address: str  # on the cluster's private network


class Cluster:
    """The Swarm on this machine: ``up``, ``down``, ``status``, and the node-level faults."""

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
        return run([self.docker, *args], timeout=timeout, check=check, **kwargs)

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
        container = node.container if isinstance(node, Node) else node
        interactive = ["-i"] if stdin is not None else []
        return run([self.docker, "exec", *interactive, container, "docker", *args], timeout=timeout, check=check,
                   input=stdin)  # fmt: skip

    def swarm(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """A docker command on the manager (node-1): the Swarm's own view."""
        return self.on(self.manager(), *args, **kwargs)

    # -- up ----------------------------------------------------------------------------------------

    def check_request(self, nodes: int, memory_mb: int) -> None:
        """Refuse, before anything is made, what cannot work: the counts, the room, the ports."""
        if not 1 <= nodes <= MAX_NODES:
            raise EngineError(f"--nodes must be from 1 to {MAX_NODES}, not {nodes}")
        docker = self.docker
        root = run([docker, "info", "--format", "{{.DockerRootDir}}"], timeout=30).stdout.strip() or "/var/lib/docker"
        try:
            free_disk = shutil.disk_usage(root).free / 2**20
        except OSError:  # the daemon's folder is not ours to see (a remote daemon): trust it
            free_disk = float("inf")
        problem = room_problem(nodes, memory_mb, available_mb=psutil.virtual_memory().available / 2**20,
                               free_disk_mb=free_disk)  # fmt: skip
        if problem:
            raise EngineError(problem)
        from twinshop.engines.local import port_in_use

        for port, what in ((self.ports.lb, "the shop's entry point"), (self.ports.stats, "the statistics page")):
            if port_in_use(port):
                raise EngineError(f"port {port} on 127.0.0.1 is already in use (needed by {what}): stop what uses "
                                  "it or set TWINSHOP_PORT_OFFSET")  # fmt: skip
        missing = [i for i in (APP_IMAGE, *EDGE_IMAGES) if self.host("image", "inspect", i, check=False).returncode]
        if missing:
            raise EngineError(f"the image {missing[0]} is not built yet: run `twinshop build distributed "
                              "--engine compose`")  # fmt: skip

    def up(self, nodes: int = 3, *, node_cpus: float | None = None, memory_mb: int = NODE_MEMORY_DEFAULT,
           say: Callable[[str], None] = lambda line: None, timeout: float = 300) -> float:  # fmt: skip
        """Make the cluster and deploy the shop on it; seconds it took. Nothing is left behind on failure."""
        started = time.monotonic()
        if self.exists():
            have = len(self.nodes())
            raise EngineError(f"a cluster of {have} node{'s' if have > 1 else ''} is already up ({self.name}): "
                              "`twinshop cluster down` first")  # fmt: skip
        if node_cpus is not None and not 0.1 <= node_cpus <= (os.cpu_count() or 1):
            raise EngineError(f"--node-cpus must be from 0.1 to {os.cpu_count() or 1} (the machine's cores)")
        self.check_request(nodes, memory_mb)
        self.remove_leftovers()  # of an earlier up that was killed before it could clean up
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            say("building the node image (Debian's docker.io) ...")
            self.host("build", "--quiet", "--label", f"{LABEL}=image", "-t", NODE_IMAGE, str(NODE_DOCKERFILE),
                      timeout=900)  # fmt: skip
            say(f"starting {nodes} node{'s' if nodes > 1 else ''} ...")
            self.host("network", "create", "--label", f"{LABEL}={self.name}", self.name)
            made = self.start_nodes(nodes, node_cpus=node_cpus, memory_mb=memory_mb)
            self.save({"name": self.name, "nodes": [n.__dict__ for n in made], "node_cpus": node_cpus,
                       "node_memory_mb": memory_mb, "created_at": time.time()})  # fmt: skip
            self.wait_engines(made, deadline=started + 90)
            say("forming the Swarm and loading the images into the nodes ...")
            with ThreadPoolExecutor(max_workers=2) as pool:
                images = pool.submit(self.load_images, made)
                self.form_swarm(made)
                images.result()
            say("deploying the stack (swarm/stack.yaml) ...")
            self.deploy()
            self.wait_deployed(deadline=started + timeout)
        except BaseException as exc:
            self.remove()
            if isinstance(exc, (EngineError, OSError, StateError)):
                raise EngineError(f"the cluster did not come up: {exc} (everything it made is removed again)") from None
            raise
        return time.monotonic() - started

    def start_nodes(self, count: int, *, node_cpus: float | None, memory_mb: int) -> list[Node]:
        made = []
        for i in range(1, count + 1):
            name = f"node-{i}"
            container = f"{self.name}-{name}"
            volume = f"{container}-docker"
            self.host("volume", "create", "--label", f"{LABEL}={self.name}", volume)
            publish = []
            if i == 1:  # the edge node: the lb task publishes 8000 and 8404 on it (mode: host)
                publish = ["-p", f"127.0.0.1:{self.ports.lb}:8000", "-p", f"127.0.0.1:{self.ports.stats}:8404"]
            # What --privileged would give (some kernels refuse it): every capability but
            # CAP_SYS_RESOURCE, no seccomp or AppArmor confinement, every device, its own cgroups.
            cid = self.host(
                "run", "--detach", "--name", container, "--hostname", name, "--label", f"{LABEL}={self.name}",
                "--network", self.name, *publish,
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--cgroupns", "private", "--device-cgroup-rule", "a *:* rwm",
                "--memory", f"{memory_mb}m", *(["--cpus", f"{node_cpus:g}"] if node_cpus else []),
                "--volume", f"{volume}:/var/lib/docker", NODE_IMAGE,
            ).stdout.strip()  # fmt: skip
            address = self.host("inspect", "--format",
                                f"{{{{(index .NetworkSettings.Networks \"{self.name}\").IPAddress}}}}",
                                cid).stdout.strip()  # fmt: skip
            made.append(Node(name, cid, address))
        return made

    def wait_engines(self, nodes: Sequence[Node], *, deadline: float) -> None:
        for node in nodes:
            while self.on(node, "info", "--format", "{{.ServerVersion}}", check=False, timeout=30).returncode != 0:
                if time.monotonic() > deadline:
                    logs = self.host("logs", "--tail", "3", node.container, check=False)
                    raise EngineError(f"the engine of {node.name} did not start: {_last_line(logs.stderr)}")
                time.sleep(0.5)

    def form_swarm(self, nodes: Sequence[Node]) -> None:
        manager = nodes[0]
        self.on(manager, "swarm", "init", "--advertise-addr", manager.address, "--default-addr-pool",
                SWARM_ADDRESS_POOL, "--dispatcher-heartbeat", HEARTBEAT, "--task-history-limit", "2")  # fmt: skip
        token = self.on(manager, "swarm", "join-token", "--quiet", "worker").stdout.strip()

        def join(node: Node) -> None:
            result = self.on(node, "swarm", "join", "--token", token, "--advertise-addr", node.address,
                             f"{manager.address}:2377", check=False, timeout=90)  # fmt: skip
            if result.returncode != 0:
                raise EngineError(f"{node.name} could not join the Swarm: {_last_line(result.stderr)}")

        with ThreadPoolExecutor(max_workers=max(1, len(nodes) - 1)) as pool:
            for future in [pool.submit(join, node) for node in nodes[1:]]:
                future.result()
        self.on(manager, "node", "update", "--label-add", "twinshop.db=true", "--label-add", "twinshop.edge=true",
                "node-1")  # fmt: skip

    def load_images(self, nodes: Sequence[Node]) -> None:
        """Copy the shop's images into each node: the application everywhere, db and lb into node-1."""
        folder = Path(tempfile.mkdtemp(prefix="images-", dir=self.folder))
        try:
            app, edge = folder / "app.tar", folder / "edge.tar"
            with ThreadPoolExecutor(max_workers=2) as pool:
                for future in [pool.submit(self.host, "save", "-o", str(app), APP_IMAGE, timeout=600),
                               pool.submit(self.host, "save", "-o", str(edge), *EDGE_IMAGES, timeout=600)]:
                    future.result()  # fmt: skip

            def load(node: Node, archive: Path) -> None:
                with archive.open("rb") as data:
                    result = subprocess.run([self.docker, "exec", "-i", node.container, "docker", "load", "--quiet"],
                                            stdin=data, capture_output=True, text=True, timeout=600)  # fmt: skip
                if result.returncode != 0:
                    raise EngineError(f"loading {archive.name} into {node.name} failed: {_last_line(result.stderr)}")

            jobs = [(nodes[0], edge)] + [(node, app) for node in nodes]
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                for future in [pool.submit(load, node, archive) for node, archive in jobs]:
                    future.result()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def deploy(self) -> None:
        """The secrets (the ones the local engine generated) and the stack, through the manager."""
        secrets = self.installation.secrets()
        values = {"db_password": secrets.db_password, "secret_key": secrets.secret_key}
        existing = set(self.swarm("secret", "ls", "--format", "{{.Name}}").stdout.split())
        for key, name in SECRETS.items():
            if name not in existing:
                self.swarm("secret", "create", name, "-", stdin=values[key])
        self.swarm("stack", "deploy", "--resolve-image", "never", "--prune", "-c", "-", STACK,
                   stdin=STACK_FILE.read_text(), timeout=180)  # fmt: skip

    def services(self) -> dict[str, tuple[int, int]]:
        """Service (api, web, ...) -> (running tasks, wanted), as `docker service ls` counts them."""
        out = self.swarm("service", "ls", "--filter", f"label=com.docker.stack.namespace={STACK}",
                         "--format", "{{.Name}} {{.Replicas}}", timeout=30).stdout  # fmt: skip
        found = {}
        for line in out.splitlines():
            name, _, replicas = line.partition(" ")
            match = re.match(r"(\d+)/(\d+)", replicas)
            if match:
                found[name.removeprefix(f"{STACK}_")] = (int(match.group(1)), int(match.group(2)))
        return found

    def wait_deployed(self, *, deadline: float) -> None:
        """Until every service runs its tasks and the shop answers /readyz through the load balancer."""
        from twinshop.engines.local import http_status

        url = self.ports.url(self.ports.lb) + "/readyz"
        while True:
            services = self.services()
            short = {s: r for s, r in services.items() if s != "init" and r[0] < r[1]}
            if services and not short and http_status(url) == 200:
                return
            if time.monotonic() > deadline:
                waiting = ", ".join(f"{s} {r[0]}/{r[1]}" for s, r in short.items()) or f"{url} (not 200)"
                raise EngineError(f"the stack did not come up in time (waiting for {waiting})")
            time.sleep(1)

    def save(self, state: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(state, indent=2) + "\n")

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
            removed.append(f"{len(containers)} node{'s' if len(containers) > 1 else ''}")
        if volumes := self.labelled("volume"):
            self.host("volume", "rm", "--force", *volumes, timeout=300)
        if networks := self.labelled("network"):
            self.host("network", "rm", *networks, timeout=60)
            removed.append("its network")
        shutil.rmtree(self.folder, ignore_errors=True)
        return removed

    def remove_leftovers(self) -> None:
        if self.labelled("container") or self.labelled("volume") or self.labelled("network"):
            self.remove()

    def down(self) -> list[str]:
        return self.remove()

    # -- status ------------------------------------------------------------------------------------

    def node_rows(self) -> list[dict]:
        """One dict per node: name, role, state (ready/down), availability, address, container state."""
        nodes = self.nodes()
        containers = {}
        if nodes:
            inspected = json.loads(self.host("inspect", *[n.container for n in nodes], check=False).stdout or "[]")
            containers = {c["Id"]: c["State"]["Status"] for c in inspected}
        swarm = {}
        if nodes and containers.get(nodes[0].container) == "running":
            out = self.swarm("node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}",
                             check=False, timeout=30).stdout  # fmt: skip
            for line in out.splitlines():
                host, status, availability, manager = (line.split("|") + ["", "", ""])[:4]
                swarm[host] = (status.lower(), availability.lower(), "manager" if manager else "worker")
        rows = []
        for node in nodes:
            status, availability, role = swarm.get(node.name, ("unknown", "-", "manager" if node == nodes[0] else "worker"))
            rows.append({"name": node.name, "role": role, "state": status, "availability": availability,
                         "address": node.address, "container": containers.get(node.container, "removed")})  # fmt: skip
        return rows

    def tasks(self) -> list[dict]:
        """The tasks Swarm wants running now: name (api-2), service, slot, node, state, error."""
        fmt = "{{.Name}}|{{.Node}}|{{.CurrentState}}|{{.DesiredState}}|{{.Error}}"
        out = self.swarm("stack", "ps", STACK, "--no-trunc", "--filter", "desired-state=running", "--format", fmt,
                         check=False, timeout=30).stdout  # fmt: skip
        rows = []
        for line in out.splitlines():
            name, node, current, _desired, error = (line.split("|") + [""] * 4)[:5]
            service, _, slot = name.removeprefix(f"{STACK}_").partition(".")
            if service == "init":
                continue
            task = f"{service}-{slot}" if service in ("api", "web") else service
            rows.append({"name": task, "service": service, "slot": int(slot) if slot.isdigit() else 0,
                         "node": node, "state": current.split(" ")[0].lower(), "since": current, "error": error})  # fmt: skip
        return sorted(rows, key=lambda r: (r["service"], r["slot"]))

    # -- node faults -------------------------------------------------------------------------------

    def kill_node(self, name: str) -> None:
        """The whole node dies at once (SIGKILL of its engine and every task in it), as in a power cut."""
        node = self.node(name)
        if node == self.nodes()[0]:
            raise EngineError("node-1 is the manager and holds the load balancer and the database: kill node-2 "
                              "or another worker")  # fmt: skip
        self.host("kill", node.container)

    def start_node(self, name: str) -> None:
        """Power the node on again: its engine starts and rejoins the Swarm by itself."""
        node = self.node(name)
        self.host("start", node.container)

    def partition(self, name: str) -> None:
        """Cut the node off the cluster's network (its engine and tasks keep running, unreachable)."""
        node = self.node(name)
        if node == self.nodes()[0]:
            raise EngineError("node-1 is the manager: partition node-2 or another worker")
        for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
            run([self.docker, "exec", node.container, "iptables", "-I", chain, "1", flag, "eth0", "-m", "comment",
                 "--comment", "twinshop-partition", "-j", "DROP"], timeout=30)  # fmt: skip

    def heal(self, name: str) -> None:
        """Undo a partition: remove the node's DROP rules."""
        node = self.node(name)
        for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
            rule = [chain, flag, "eth0", "-m", "comment", "--comment", "twinshop-partition", "-j", "DROP"]
            while run([self.docker, "exec", node.container, "iptables", "-D", *rule], check=False,
                      timeout=30).returncode == 0:  # fmt: skip
                pass
