"""The swarm engine: the variants as Docker Swarm stacks on the cluster of ``twinshop cluster up``.

``twinshop --engine swarm`` (or ``TWINSHOP_ENGINE=swarm``) gives the stacks of
:mod:`twinshop.cluster` the other engines' verbs, names and ports: ``api-2`` is the task in slot 2
of the service ``twinshop_api`` (wherever Swarm runs it: ``X-Served-By`` says ``api-2@node-3``),
``db``, ``lb``, ``api-standby``; the monolith box is the one task of ``twinshop-monolith``.

What differs, because Swarm keeps the wanted number of tasks running by itself:

* ``kill`` of a service with one task (``db``, ``lb``, ``api-standby``, ``monolith``) scales it to
  0 and ``start`` back to 1; ``kill api-2`` stops that task's container and Swarm starts a new
  task in its slot at once (there is no "one replica down" in Swarm: the service wants N);
* ``crash`` is a SIGKILL of the task's container; Swarm's restart policy replaces it;
* ``scale`` is ``docker service scale``: the new tasks go to the nodes with the fewest;
* whole-variant CPU caps do not exist in Swarm (each task has its own limit: ``--node-cpus``);
* the node faults: ``kill_node``, ``start_node``, ``partition``, ``heal`` (the drills'
  ``kill-node:node-2@30s`` ...), and ``up`` of a running variant puts every node back first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from twinshop import topology as t
from twinshop.cluster import REPLICATED, STACKS, Cluster, Node, Task
from twinshop.engines.base import EngineBasics, EngineError, ServiceStatus, UpResult
from twinshop.engines.compose import ContainerCpu, ProcessGroup, proxy_pids
from twinshop.engines.container_repository import ContainerRepository
from twinshop.engines.order_events import OrderEvents
from twinshop.events import BrokerAdmin, Mailbox
from twinshop.options import VARIANTS, OptionsError, VariantOptions, check_variant
from twinshop.state import Home, StateError, port_offset

# Services of one task: kill = scale to 0. "mail" is in both variants (--variant picks; distributed by default).
SINGLE = ("db", "lb", "api-standby", "monolith", "broker", "mail", "sales")
BOX_PROGRAMS = {"monolith:mariadb": "mariadb", "monolith:gunicorn": "gunicorn"}
SERVICE_NAMES = ("monolith", "monolith:mariadb", "monolith:gunicorn", "db", "lb", "web-N", "api-N", "api-standby",
                 "broker", "mailer-N", "sales", "mail")  # fmt: skip
ORDER = {"monolith": 0, "db": 1, "api": 2, "api-standby": 3, "web": 4, "lb": 5, "broker": 6, "mailer": 7, "sales": 8,
         "mail": 9}  # fmt: skip
STATES = {"running": "RUNNING", "restarting": "BACKOFF", "paused": "PAUSED", "removing": "STOPPING",
          "created": "STARTING", "exited": "EXITED", "dead": "FATAL"}  # fmt: skip
NO_CLUSTER = "no Swarm cluster is up: `twinshop cluster up --nodes 3` first"


class NodeCpu(ContainerCpu):
    """A node's CPU: its container's cgroup (its engine and every task in it)."""


class SwarmEngine(EngineBasics):
    """Start, stop, inspect and reset the variants as stacks on the Swarm of ``twinshop cluster up``."""

    name = "swarm"

    def __init__(self, home: Home | None = None, ports: t.Ports | None = None):
        self.installation = home or Home.default()
        self.ports = ports or t.Ports(port_offset())
        self.cluster = Cluster(self.installation, self.ports)
        self.home = Home(self.cluster.folder)  # options.json per variant; goes with `cluster down`
        # The mail servers and the broker, published by node-1 on the usual ports.
        self.events = OrderEvents(self.ports, lambda: self.secrets().broker_password)

    # -- the cluster ---------------------------------------------------------------------------------

    def require_cluster(self) -> Node:
        """The manager, running; an EngineError naming the fix otherwise."""
        if not self.cluster.exists():
            raise EngineError(NO_CLUSTER)
        manager = self.cluster.manager()
        if self.cluster.container_states().get(manager.name) != "running":
            raise EngineError(f"{manager.name}, the Swarm's manager, is not running: `twinshop cluster down`, then "
                              "`twinshop cluster up` again")  # fmt: skip
        return manager

    def node_names(self) -> list[str]:
        return self.cluster.node_names()

    def kill_node(self, name: str) -> None:
        self.cluster.kill_node(name)

    def start_node(self, name: str) -> None:
        self.cluster.start_node(name)

    def partition(self, name: str) -> None:
        self.cluster.partition(name)

    def heal(self, name: str) -> None:
        self.cluster.heal(name)

    # -- state -----------------------------------------------------------------------------------------

    def secrets(self):
        try:
            return self.installation.secrets()
        except StateError as exc:
            raise EngineError(str(exc)) from exc

    def running(self, variant: str) -> bool:
        return self.cluster.deployed(check_variant(variant))

    def cpu_cap_problem(self) -> str | None:
        return "a Swarm limits each task's CPU (--node-cpus), not a whole variant's"

    # -- lifecycle -------------------------------------------------------------------------------------

    def up(self, options: VariantOptions, *, timeout: float = 300) -> UpResult:
        """Deploy the variant's stack (or put a running one back as it was asked: every node up and joined,
        every service at its replicas) and wait until it answers /readyz through its published port."""
        started = time.monotonic()
        try:
            options.check()
        except OptionsError as exc:
            raise EngineError(str(exc)) from exc
        if options.caps.variant:
            raise EngineError(f"cannot cap CPU on this engine: {self.cpu_cap_problem()}; start without --cpus")
        if options.access_log:
            raise EngineError("--access-log is not available with --engine swarm (see `docker service logs`)")
        variant = options.variant
        self.require_cluster()
        url = self.entry_url(variant) + "/readyz"
        if self.running(variant):
            self.refuse_other_options(options)
            if self.cluster.make_whole():  # after a drill: nodes started again, partitions healed
                self.cluster.wait_nodes_ready(deadline=started + timeout)
            self.cluster.deploy(options)  # the same stack again: services back to their replicas
            self.cluster.wait_converged(variant, url, deadline=started + timeout)
            if self.cluster.rebalance(variant, deadline=started + timeout):  # a node came back empty
                self.cluster.wait_converged(variant, url, deadline=started + timeout)
            return UpResult(variant, time.monotonic() - started, True, self.home.started_at(variant))
        try:
            self.home.save_options(options)
            self.home.mark_started(variant)
            self.cluster.deploy(options)
            self.cluster.wait_converged(variant, url, deadline=started + timeout)
        except BaseException as exc:
            problems = self.task_errors(variant)
            try:
                self.cluster.remove_stack(variant)
            except EngineError:
                pass
            self.home.options_path(variant).unlink(missing_ok=True)
            if isinstance(exc, (EngineError, OSError)):
                raise EngineError(f"{variant} did not start: {exc}{problems} (its stack is removed again)") from None
            raise
        return UpResult(variant, time.monotonic() - started, False, self.home.started_at(variant))

    def first_deploy(self, options: VariantOptions | None = None, *, timeout: float = 240) -> None:
        """The distributed shop on a cluster just made (`cluster up`); its failure is the cluster's."""
        options = options or VariantOptions("distributed")
        self.home.save_options(options)
        self.home.mark_started(options.variant)
        self.cluster.deploy(options)
        self.cluster.wait_converged(options.variant, self.entry_url(options.variant) + "/readyz",
                                    deadline=time.monotonic() + timeout)  # fmt: skip

    def task_errors(self, variant: str) -> str:
        """The first error Swarm recorded for a task of the stack (for the message of a failed start)."""
        try:
            out = self.cluster.swarm("stack", "ps", STACKS[variant], "--no-trunc", "--format",
                                     "{{.Name}}: {{.Error}}", check=False, timeout=30).stdout  # fmt: skip
        except EngineError:
            return ""
        errors = [line for line in out.splitlines() if line.strip() and not line.strip().endswith(":")]
        return f"; {errors[0]}" if errors else ""

    def down(self, variant: str | None = None, *, wipe: bool = False) -> list[str]:
        variants = [check_variant(variant)] if variant else list(VARIANTS)
        if not self.cluster.exists():
            return []
        stopped = []
        for v in variants:
            if self.running(v) or wipe:
                was = self.running(v)
                self.cluster.remove_stack(v, wipe=wipe)
                if was:
                    stopped.append(v)
            self.home.options_path(v).unlink(missing_ok=True)
        return stopped

    def scale(self, tier: str, count: int, *, timeout: float = 180) -> tuple[list[str], list[str]]:
        """`docker service scale`: Swarm puts the new tasks on the nodes with the fewest, and HAProxy finds them."""
        if tier not in REPLICATED:
            raise EngineError(f"only api, web and mailer scale, not {tier!r}")
        options = self.options("distributed")
        if options is None:
            raise EngineError("the distributed variant is not running: `twinshop up distributed --engine swarm` first")
        new = VariantOptions(**{**options.__dict__, "mailers" if tier == "mailer" else tier: count})
        try:
            new.check()
        except OptionsError as exc:
            flag = "--mailers" if tier == "mailer" else f"--{tier}"
            raise EngineError(str(exc).replace(flag, f"{tier} replicas")) from exc
        before = {task.name for task in self.cluster.containers("distributed") if task.service == tier}
        self.home.save_options(new)
        self.cluster.scale("distributed", {tier: count})
        self.cluster.wait_converged("distributed", self.entry_url("distributed") + "/readyz",
                                    deadline=time.monotonic() + timeout)  # fmt: skip
        deadline = time.monotonic() + 60  # the tasks scaled away stop within their grace period
        while len([k for k in self.cluster.containers("distributed") if k.service == tier]) > count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        after = {task.name for task in self.cluster.containers("distributed") if task.service == tier}
        return sorted(after - before, key=lambda n: (len(n), n)), sorted(before - after, key=lambda n: (len(n), n))

    # -- one service ----------------------------------------------------------------------------------

    def parse_name(self, name: str, variant: str | None = None) -> tuple[str, str, int]:
        """(variant, service, slot) of a service name; slot 0 for services of one task."""
        if name == "monolith" or name in BOX_PROGRAMS:
            return "monolith", "monolith", 0
        if name == "mail":
            return check_variant(variant or "distributed"), name, 0
        if name in ("db", "lb", "api-standby", "broker", "sales"):
            return "distributed", name, 0
        if match := re.fullmatch(r"(api|web|mailer)-([1-9]\d*)", name):
            return "distributed", match.group(1), int(match.group(2))
        raise EngineError(f"no service named {name!r} (names: {', '.join(SERVICE_NAMES)})")

    def find(self, name: str, variant: str | None = None) -> tuple[str, str, Task | None]:
        """(variant, service, its running task or None) of the service called ``name``."""
        variant, service, slot = self.parse_name(name, variant)
        self.require_cluster()
        if not self.running(variant):
            raise EngineError(f"the {variant} variant is not running: `twinshop up {variant} --engine swarm` first")
        for task in self.cluster.containers(variant):
            if task.service == service and (slot == 0 or task.slot == slot) and task.state == "running":
                return variant, service, task
        if slot:
            wanted = self.cluster.services(variant).get(service, (0, 0))[1]
            if slot > wanted:
                raise EngineError(f"no service named {name!r} in the running {variant} variant ({service} has "
                                  f"{wanted} replicas)")  # fmt: skip
        return variant, service, None

    def node_of(self, task: Task) -> Node:
        return self.cluster.node(task.node)

    def in_task(self, task: Task, *command: str, timeout: float = 120, check: bool = True):
        """A command inside a task's container (``docker exec`` in its node's engine)."""
        return self.cluster.on(self.node_of(task), "exec", task.container, *command, timeout=timeout, check=check)

    def kill(self, name: str, *, variant: str | None = None) -> None:
        variant, service, task = self.find(name, variant)
        if name in BOX_PROGRAMS:
            if task is not None:
                self.supervisorctl(task, "stop", BOX_PROGRAMS[name])
            return
        if service in SINGLE:
            self.cluster.scale(variant, {service: 0})
            self.wait_task(variant, service, 0, present=False)
            return
        if task is not None:  # a replica: Swarm starts a new task in its slot by itself
            self.cluster.on(self.node_of(task), "stop", "--time", "10", task.container, timeout=60)

    def start(self, name: str, *, variant: str | None = None) -> None:
        variant, service, task = self.find(name, variant)
        if name in BOX_PROGRAMS or (service == "monolith" and task is not None):
            if task is None:
                self.cluster.scale(variant, {service: 1})
                task = self.wait_task(variant, service, 0, present=True)
            self.wait_supervisord(task)
            self.supervisorctl(task, "start", BOX_PROGRAMS.get(name, "all"))
            return
        if service in SINGLE:
            if service == "api-standby" and not (self.home.options(variant) or VariantOptions(variant)).standby:
                raise EngineError("the distributed variant runs without the standby: `twinshop up distributed "
                                  "--standby --engine swarm`")  # fmt: skip
            self.cluster.scale(variant, {service: 1})
            self.wait_task(variant, service, 0, present=True)
        # a replica: Swarm keeps every slot running, nothing to start

    def wait_task(self, variant: str, service: str, slot: int, *, present: bool, timeout: float = 120) -> Task | None:
        deadline = time.monotonic() + timeout
        while True:
            tasks = [task for task in self.cluster.containers(variant) if task.service == service
                     and (slot == 0 or task.slot == slot) and task.state == "running"]  # fmt: skip
            if bool(tasks) == present:
                return tasks[0] if tasks else None
            if time.monotonic() > deadline:
                raise EngineError(f"{service} did not {'start' if present else 'stop'} within {timeout:.0f} s")
            time.sleep(0.5)

    def supervisorctl(self, task: Task, verb: str, program: str) -> None:
        result = self.in_task(task, "supervisorctl", verb, program, check=False)
        text = result.stdout + result.stderr
        if result.returncode != 0 and not any(h in text for h in ("not running", "already started")):
            raise EngineError(f"could not {verb} {program} in the monolith box: {text.strip().splitlines()[-1:]}")

    def wait_supervisord(self, task: Task, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.in_task(task, "supervisorctl", "pid", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise EngineError("supervisord in the monolith box does not answer")
            time.sleep(0.3)

    def crash(self, name: str, *, variant: str | None = None) -> None:
        """SIGKILL: a task's container (Swarm starts a new task), or a program of the box (supervisord restarts it)."""
        _variant, service, task = self.find(name, variant)
        if task is None:
            raise EngineError(f"{name} is not running")
        if service == "monolith":
            program = BOX_PROGRAMS.get(name, "gunicorn")
            pid = self.in_task(task, "supervisorctl", "pid", program).stdout.strip()
            if not pid.isdigit() or pid == "0":
                raise EngineError(f"{name} is not running")
            self.in_task(task, "kill", "-KILL", "--", f"-{pid}")
            return
        self.cluster.on(self.node_of(task), "kill", "--signal", "KILL", task.container, timeout=60)

    # -- inspection ---------------------------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        """One row per task of each running stack (the node it runs on in ADDRESS), and one per wanted task not
        running (STARTING: Swarm is placing it; STOPPED: its service is scaled to 0 by `kill`)."""
        rows: list[ServiceStatus] = []
        if not self.cluster.exists() or self.cluster.container_states().get(self.cluster.manager().name) != "running":
            return rows
        for variant in VARIANTS:
            services = self.cluster.services(variant)
            if not services:
                continue
            tasks = self.cluster.containers(variant)
            found: list[tuple[tuple, list[ServiceStatus]]] = []
            for task in tasks:
                found.append(((ORDER.get(task.service, 9), task.slot, task.node), [self.task_row(variant, task)]))
                if task.service == "monolith" and task.state == "running":
                    found[-1][1].extend(self.box_rows(task))
            for service, (_running, wanted) in services.items():
                if service == "init" or (service == "api-standby" and not wanted and not self.standby_wanted()):
                    continue
                for slot in range(1, wanted + 1) if service in REPLICATED else [0]:
                    if any(k.service == service and (slot == 0 or k.slot == slot) for k in tasks):
                        continue
                    name = f"{service}-{slot}" if slot else service
                    found.append(((ORDER.get(service, 9), slot, ""), [ServiceStatus(name, variant, None, "-",
                                  "STARTING" if wanted else "STOPPED", "-")]))  # fmt: skip
            for _key, group in sorted(found, key=lambda item: item[0]):
                rows += group
        return rows

    def standby_wanted(self) -> bool:
        return bool((self.home.options("distributed") or VariantOptions("distributed")).standby)

    def task_row(self, variant: str, task: Task) -> ServiceStatus:
        if task.service == "lb":
            address = f"127.0.0.1:{self.ports.lb} ({task.node})"
        elif task.service == "monolith":
            address = f"127.0.0.1:{self.ports.monolith} ({task.node})"
        else:
            port = {"db": 3306, "broker": 5672, "mail": 2525, "mailer": None, "sales": None}.get(task.service, 8000)
            where = f"{task.address}:{port}" if port else task.address
            address = f"{where} ({task.node})" if task.address else task.node
        health = "healthy" if task.health == "-" and task.state == "running" else task.health
        return ServiceStatus(task.name, variant, task.pid, address, STATES.get(task.state, "STOPPED"),
                             health if task.state == "running" else "-")  # fmt: skip

    def box_rows(self, box: Task) -> list[ServiceStatus]:
        out = self.in_task(box, "supervisorctl", "status", check=False).stdout
        rows = []
        for name, program in BOX_PROGRAMS.items():
            match = re.search(rf"^{program}\s+([A-Z]+)", out, re.M)
            state = match.group(1) if match else "STOPPED"
            rows.append(ServiceStatus(name, "monolith", None, "(inside the box)", state,
                                      box.health if state == "RUNNING" else "-"))  # fmt: skip
        return rows

    def cpu_sources(self, variant: str) -> dict:
        """Each running node's cgroup (its engine and every task in it), and Docker's port proxies on the host."""
        sources: dict = {}
        for node in self.cluster.nodes():
            pid = self.cluster.node_pid(node)
            if pid:
                sources[node.name] = NodeCpu(pid)
        ports = [self.ports.entry(variant)] + ([self.ports.stats] if variant == "distributed" else [])
        if pids := proxy_pids(ports):
            sources["docker-proxy"] = ProcessGroup(pids)
        return sources

    def facts(self) -> dict[str, str]:
        nodes = self.cluster.nodes()
        facts = {"engine": "swarm"}
        if not nodes:
            return facts
        inner = self.cluster.swarm("version", "--format", "{{.Server.Version}}", check=False).stdout.strip() or "?"
        host = self.cluster.host("version", "--format", "{{.Server.Version}}", check=False).stdout.strip() or "?"
        state = self.cluster.state() or {}
        cpus = state.get("node_cpus")
        facts.update({
            "engine": f"swarm ({len(nodes)} nodes, Docker Engine {inner} in each, on Docker Engine {host})",
            "nodes": ", ".join(n.name for n in nodes),
            "caps": (f"{cpus:g} CPUs per node" if cpus else "no CPU cap per node")
                    + f", {state.get('node_memory_mb', '?')} MiB per node",
        })  # fmt: skip
        placement = [f"{task['name']}@{task['node']}" for task in self.cluster.tasks() if task["state"] == "running"]
        if placement:
            facts["placement"] = ", ".join(placement)
        return facts

    # -- order events ---------------------------------------------------------------------------------

    def mailbox(self, variant: str) -> Mailbox:
        return self.events.mailbox(variant)

    def broker(self, variant: str) -> BrokerAdmin | None:
        return self.events.broker(variant)

    # -- data --------------------------------------------------------------------------------------------

    def database_task(self, variant: str, *, wait_s: float = 0) -> Task:
        service = "monolith" if variant == "monolith" else "db"
        deadline = time.monotonic() + wait_s
        while True:
            for task in self.cluster.containers(variant):
                if task.service == service and task.state == "running":
                    return task
            if time.monotonic() >= deadline:
                raise EngineError(f"the {variant} database is not running: `twinshop up {variant} --engine swarm` "
                                  f"(or `twinshop start {service} --engine swarm`) first")  # fmt: skip
            time.sleep(0.5)

    def reset(self, variant: str | None = None) -> list[str]:
        """Reload the seed data: `python -m shop.dbadmin reset` inside the database's task."""
        variants = [check_variant(variant)] if variant else [v for v in VARIANTS if self.running(v)]
        if not variants:
            raise EngineError("no variant is running: `twinshop up distributed --engine swarm` first")
        for v in variants:
            task = self.database_task(v)
            self.in_task(task, "python", "-m", "shop.dbadmin", "wait", "--timeout", "30", timeout=180)
            self.reset_events(v, before_db=True)
            self.in_task(task, "python", "-m", "shop.dbadmin", "reset", timeout=180)
            self.reset_events(v, before_db=False)
        return variants

    def reset_events(self, variant: str, *, before_db: bool) -> None:
        self.events.reset(variant, before_db=before_db)

    @contextmanager
    def repository(self, variant: str, *, wait_s: float = 30) -> Iterator[ContainerRepository]:
        """The shop's Repository, run inside the database's task (``docker exec`` through its node)."""
        deadline = time.monotonic() + wait_s
        task = self.database_task(variant, wait_s=wait_s)
        node = self.node_of(task)
        runner = [self.cluster.docker, "exec", "-i", node.container, "docker", "exec", "-i", task.container]
        repository = ContainerRepository(self.cluster.docker, task.container, runner=runner,
                                         wait_s=max(1.0, deadline - time.monotonic()))  # fmt: skip
        try:
            yield repository
        finally:
            repository.close()
