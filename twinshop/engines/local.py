"""The local engine: each variant as real processes on 127.0.0.1, under one supervisord per variant.

Same commands, configuration and topology as the containers (see compose/), so a laptop
without Docker — and the tests and benchmarks — run exactly what the students deploy.
supervisord is driven over XML-RPC (never through pids guessed by name); CPU caps are Linux
cgroups (:mod:`twinshop.cpucap`), like ``docker run --cpus``.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import shutil
import signal
import socket
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psutil

from shop.config import DatabaseSettings
from shop.db import Database
from shop.dbadmin import DatabaseNotReady, init_db, reset_db, wait_for_db
from shop.repository import Repository
from twinshop import cpucap, mariadb, rabbitmq
from twinshop import topology as t
from twinshop.engines.base import CpuReading, EngineBasics, EngineError, ServiceStatus, UpResult
from twinshop.engines.order_events import OrderEvents
from twinshop.events import BrokerAdmin, Mailbox
from twinshop.options import VARIANTS, OptionsError, VariantOptions, check_variant
from twinshop.programs import SetupError, find_program
from twinshop.state import Home, StateError, port_offset
from twinshop.supervisor import Program, Supervisor, SupervisorError, bin_path, render_config

MONOLITH_BOX = t.BOX  # the box as a whole: `twinshop kill monolith` stops every process in it
in_box = t.in_box


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status code a GET of ``url`` answers (None: no answer at all)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own http:// URLs
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def health(status: int | None) -> str:
    return "healthy" if status == 200 else "unhealthy" if status is not None else "unreachable"


class ProcessTree:
    """A service's CPU, read from the kernel's counters of its main process and (by default) every child."""

    def __init__(self, pid: int, *, children: bool = True):
        self.pid, self.children = pid, children
        self._last: dict[int, float] = {}
        self._started = False

    def _processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *(root.children(recursive=True) if self.children else [])]
        except psutil.Error:
            return []

    @staticmethod
    def seconds_of(process: psutil.Process) -> float | None:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system

    def total_seconds(self) -> float | None:
        """CPU seconds the tree's processes have used so far (None when the main process is gone)."""
        processes = self._processes()
        used = [self.seconds_of(p) for p in processes]
        return sum(u for u in used if u is not None) if processes else None

    def read(self) -> CpuReading | None:
        seen: dict[int, float] = {}
        parts: dict[str, float] = {}
        processes = self._processes()
        if not processes:
            return None
        total = 0.0
        for process in processes:
            seconds = self.seconds_of(process)
            if seconds is None:
                continue
            # A process born since the last reading counts from zero; one we saw counts its delta.
            used = max(0.0, seconds - self._last.get(process.pid, 0.0)) if self._started else 0.0
            seen[process.pid] = seconds
            total += used
            if process.pid != self.pid:
                parts[f"pid {process.pid}"] = used
        self._last, self._started = seen, True
        return CpuReading(total, parts)


class LocalEngine(EngineBasics):
    """Start, stop, inspect and reset the variants on this machine."""

    name = "local"

    def __init__(self, home: Home | Path | None = None, ports: t.Ports | None = None):
        self.home = home if isinstance(home, Home) else Home(Path(home).resolve()) if home else Home.default()
        self.ports = ports or t.Ports(port_offset())
        self.events = OrderEvents(self.ports, lambda: self.secrets().broker_password)

    # -- state ----------------------------------------------------------------------------

    def supervisor(self, variant: str) -> Supervisor:
        return Supervisor(self.home.variant_dir(variant))

    def running(self, variant: str) -> bool:
        return self.supervisor(variant).running()

    def secrets(self):
        try:
            return self.home.secrets()
        except StateError as exc:
            raise EngineError(str(exc)) from exc

    def db_settings(self, variant: str) -> DatabaseSettings:
        return DatabaseSettings(
            host="127.0.0.1",
            port=self.ports.db(variant),
            name="shop",
            user="shop",
            password=self.secrets().db_password,
            pool_size=2,
        )

    @contextmanager
    def repository(self, variant: str, *, wait_s: float = 30) -> Iterator[Repository]:
        """The shop's Repository on the variant's database (published on 127.0.0.1 for this)."""
        settings = self.db_settings(variant)
        try:
            wait_for_db(settings, timeout=wait_s)
        except DatabaseNotReady as exc:
            raise EngineError(str(exc)) from exc
        database = Database(settings)
        try:
            yield Repository(database)
        finally:
            database.close()

    def logs(self, variant: str) -> Path:
        return self.home.variant_dir(variant) / "logs"

    def facts(self) -> dict[str, str]:
        return {"engine": "local (processes under supervisord)", "platform": platform.platform()}

    def cpu_cap_problem(self) -> str | None:
        fs, reason = cpucap.detect()
        return None if fs is not None else reason

    # -- rendering the topology as supervisord programs --------------------------------------

    def programs(self, topo: t.Topology) -> list[Program]:
        state = self.home.variant_dir(topo.variant)
        programs = []
        for service in topo.services:
            env = service.env
            if service.kind == "db":
                command = mariadb.server_command(folder=state / "mariadb", port=service.port)
            elif service.kind == "lb":
                command = [find_program("haproxy"), "-W", "-db", "-f", str(state / "haproxy.cfg")]
            elif service.kind == "broker":
                # Its own epmd first, as a program of its own (see twinshop/rabbitmq.py).
                programs.append(Program("epmd", rabbitmq.epmd_command(service.ports["epmd"]), {},
                                        service.priority - 1, 5))  # fmt: skip
                command, env = rabbitmq.server_command(state / "broker", service)
            elif service.module:
                command = [bin_path("python"), "-m", service.module]
                if service.kind == "mail":
                    env = {**env, "MAIL_STORE": str(state / "mail")}
            else:
                command = [bin_path("gunicorn"), "-c", str(t.GUNICORN_CONF), service.app]
            if service.cpus:
                command = cpucap.wrap(command, cgroup=f"{self.home.cgroup(topo.variant)}/{service.program}",
                                      cpus=service.cpus)  # fmt: skip
            programs.append(Program(service.program, command, env, service.priority, service.stop_wait))
        return programs

    def haproxy_config(self, topo: t.Topology, *, access_log: bool = False) -> str:
        from distributed.lb.render import render_haproxy

        def servers(*kinds: str) -> list[tuple[str, str]]:
            return [(s.name, s.address) for s in topo.of_kind(*kinds)]

        standby = servers("api-standby")
        return render_haproxy(
            mode="local",
            admin_socket=str(self.home.variant_dir(topo.variant) / "haproxy.sock"),
            listen_port=self.ports.lb,
            stats_port=self.ports.stats,
            web_servers=servers("web"),
            api_servers=servers("api"),
            standby=standby[0] if standby else None,
            access_log=access_log,
        )

    def _write_configs(self, topo: t.Topology, options: VariantOptions) -> None:
        state = self.home.variant_dir(topo.variant)
        if topo.variant == "distributed":
            (state / "haproxy.cfg").write_text(self.haproxy_config(topo, access_log=options.access_log))
            rabbitmq.prepare(state / "broker", topo.get("broker"))
        (state / "mail").mkdir(parents=True, exist_ok=True)
        (state / "supervisord.conf").write_text(self._supervisord_config(topo))
        self.home.save_options(options)

    # -- lifecycle ------------------------------------------------------------------------

    def up(self, options: VariantOptions, *, timeout: float = 60) -> UpResult:
        """Start a variant (or make sure it runs as asked); return how long it took to answer /readyz."""
        started = time.monotonic()
        try:
            options.check()
        except OptionsError as exc:
            raise EngineError(str(exc)) from exc
        variant = options.variant
        if options.caps.any and (problem := self.cpu_cap_problem()):
            raise EngineError(f"cannot cap CPU on this machine: {problem}; start without --cpus")
        sup = self.supervisor(variant)
        already = sup.running()
        if already:
            self.refuse_other_options(options)
            self._start_all(variant)
        else:
            try:
                topo = self.topology(variant, options)
                self._check_ports(topo)
                state = self.home.variant_dir(variant)
                (state / "logs").mkdir(parents=True, exist_ok=True)
                mariadb.prepare(state / "mariadb", self.db_settings(variant))
                self._write_configs(topo, options)
                prefix = cpucap.wrap([], cgroup=self.home.cgroup(variant), cpus=options.caps.variant)
                sup.start(prefix=prefix if options.caps.any else None)
            except (SupervisorError, SetupError) as exc:
                raise EngineError(str(exc)) from exc
            self.home.mark_started(variant)
        self._wait_ready(variant, deadline=started + timeout)
        return UpResult(variant, time.monotonic() - started, already, self.home.started_at(variant))

    def _supervisord_config(self, topo: t.Topology) -> str:
        """The monolith's box is one supervisord group (`twinshop kill monolith`); its mail server is not in it."""
        state = self.home.variant_dir(topo.variant)
        if topo.variant == "monolith":
            members = [s.program for s in topo.services if in_box(s)]
            return render_config(variant=topo.variant, state_dir=state, programs=self.programs(topo),
                                 group=MONOLITH_BOX, members=members)  # fmt: skip
        return render_config(variant=topo.variant, state_dir=state, programs=self.programs(topo))

    def _check_ports(self, topo: t.Topology) -> None:
        ports = [(port, s.name) for s in topo.services for port in s.all_ports()]
        if topo.variant == "distributed":
            ports.append((self.ports.stats, "lb (statistics page)"))
        for port, name in ports:
            if port_in_use(port):
                raise EngineError(
                    f"port {port} on 127.0.0.1 is already in use (needed by {name}): stop what uses it"
                    " or set TWINSHOP_PORT_OFFSET"
                )

    def _wait_ready(self, variant: str, *, deadline: float) -> None:
        try:
            wait_for_db(self.db_settings(variant), timeout=max(1.0, deadline - time.monotonic()))
            init_db(self.db_settings(variant))
        except DatabaseNotReady as exc:
            raise EngineError(f"{variant}: {exc} (see {self.logs(variant)})") from exc
        url = self.entry_url(variant) + "/readyz"
        sup = self.supervisor(variant)
        waiting: list[str] = []
        while time.monotonic() < deadline:
            # Ready: the entry point answers, supervisord counts every process as started and, in the
            # distributed variant, HAProxy sends traffic to every replica (its health checks passed).
            # The order events too: the mail server answers and, in the distributed variant, the broker
            # answers and every consumer is consuming its queue.
            if (
                http_status(url) == 200
                and all(p["statename"] == "RUNNING" for p in sup.processes())
                and (variant == "monolith" or not self.servers_down())
            ):
                waiting = self.events_not_ready(variant)
                if not waiting:
                    return
            time.sleep(0.1)
        detail = f"; not ready: {', '.join(waiting)}" if waiting else ""
        raise EngineError(f"{variant} did not answer {url} in time{detail} (see the logs in {self.logs(variant)})")

    def events_not_ready(self, variant: str) -> list[str]:
        """The order-event services that do not answer yet: mail, broker, consumers not consuming."""
        return self.events.not_ready(self.topology(variant))

    def servers_down(self) -> list[str]:
        """The replicas HAProxy does not send traffic to (its statistics, as CSV); all of them if it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.ports.url(self.ports.stats)}/stats;csv", timeout=2) as response:  # noqa: S310
                rows = csv.DictReader(io.StringIO(response.read().decode().lstrip("# ")))
                return [row["svname"] for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")
                        and row["pxname"] not in ("stats",) and not row["status"].startswith("UP")]  # fmt: skip
        except (OSError, ValueError, KeyError):
            return ["lb"]

    def _start_all(self, variant: str) -> None:
        try:
            self.supervisor(variant).rpc().startAllProcesses(True)
        except xmlrpc.client.Fault as exc:
            raise EngineError(f"could not start the {variant} processes: {exc.faultString}") from exc

    def down(self, variant: str | None = None, *, wipe: bool = False) -> list[str]:
        """Stop a variant (or both); with wipe, delete its data too. Returns what was stopped."""
        variants = [check_variant(variant)] if variant else list(VARIANTS)
        stopped = []
        for v in variants:
            sup = self.supervisor(v)
            if sup.running():
                try:
                    sup.shutdown()
                except SupervisorError as exc:
                    raise EngineError(str(exc)) from exc
                stopped.append(v)
            fs = cpucap.detect()[0]
            if fs is not None:
                fs.remove(self.home.cgroup(v))
                fs.remove(self.home.cgroup(v).split("/")[0])  # only goes once both variants are gone
            if wipe:
                shutil.rmtree(self.home.variant_dir(v), ignore_errors=True)
        return stopped

    def scale(self, tier: str, count: int, *, timeout: float = 30) -> tuple[list[str], list[str]]:
        """Change the number of API, web or mailer replicas of the running distributed variant, live.

        New replicas start and pass their health check before HAProxy (reloaded without
        dropping connections) sends them traffic; removed ones leave HAProxy first, then stop.
        New mailers count once they consume the mailer queue; a removed mailer stops after its
        current message (one it had not acknowledged goes back to the queue for the others).
        """
        if tier not in t.SCALABLE:
            raise EngineError(f"only api and web replicas and mailers scale, not {tier!r}")
        variant = "distributed"
        sup = self.supervisor(variant)
        options = self.options(variant)
        if options is None:
            raise EngineError("the distributed variant is not running: `twinshop up distributed` first")
        new_options = replace(options, **{t.SCALABLE[tier]: count})
        try:
            new_options.check()
        except OptionsError as exc:
            raise EngineError(str(exc).replace(f"--{t.SCALABLE[tier]}", f"{tier} replicas")) from exc
        old, new = self.topology(variant, options), self.topology(variant, new_options)
        added = [s for s in new.services if s.name not in old.names()]
        removed = [s for s in old.services if s.name not in new.names()]
        for service in added:
            if port_in_use(service.port):
                raise EngineError(f"port {service.port} on 127.0.0.1 is already in use (needed by {service.name})")
        rpc = sup.rpc()
        state = self.home.variant_dir(variant)
        (state / "supervisord.conf").write_text(self._supervisord_config(new))
        self.home.save_options(new_options)
        rpc.reloadConfig()
        for service in added:
            rpc.addProcessGroup(service.program)
        deadline = time.monotonic() + timeout
        for service in added:
            while not self._healthy_now(service) or rpc.getProcessInfo(service.name)["statename"] != "RUNNING":
                if time.monotonic() > deadline:
                    raise EngineError(f"{service.name} did not become healthy (see {self.logs(variant)})")
                time.sleep(0.1)
        if tier in ("api", "web"):
            (state / "haproxy.cfg").write_text(self.haproxy_config(new, access_log=new_options.access_log))
            rpc.signalProcess("lb", "USR2")  # haproxy -W: a new worker takes over, the old one drains
            if removed:
                time.sleep(1.5)  # let the old worker finish the requests it had sent to them
        for service in removed:
            try:
                rpc.stopProcess(service.program, True)
            except xmlrpc.client.Fault as exc:
                if "NOT_RUNNING" not in exc.faultString:
                    raise
            rpc.removeProcessGroup(service.program)
        return [s.name for s in added], [s.name for s in removed]

    def _healthy_now(self, service: t.Service) -> bool:
        if service.kind in t.CONSUMER_KINDS:
            return self.events.consuming(service)
        if service.health_path is None:
            return tcp_open(service.port)
        return http_status(f"http://{service.address}{service.health_path}") == 200

    # -- one service ----------------------------------------------------------------------

    def find_service(self, name: str, variant: str | None = None) -> t.Service:
        """The service called ``name`` in a started variant; ``variant`` decides where both have one (mail)."""
        found = []
        for v in [check_variant(variant)] if variant else VARIANTS:
            if name == MONOLITH_BOX or self.home.options(v) is None:
                continue
            found += [s for s in self.topology(v).services if s.name == name]
        if len(found) > 1:
            raise EngineError(f"both variants have a service named {name!r}: add --variant monolith or "
                              "--variant distributed")  # fmt: skip
        if not found:
            raise EngineError(f"no service named {name!r} in a started variant (names: {', '.join(t.SERVICE_NAMES)})")
        return found[0]

    def _rpc_for(self, name: str, variant: str | None = None):
        variant = "monolith" if name == MONOLITH_BOX else self.find_service(name, variant).variant
        sup = self.supervisor(variant)
        if not sup.running():
            raise EngineError(f"the {variant} variant is not running: `twinshop up {variant}` first")
        return sup.rpc()

    def kill(self, name: str, *, variant: str | None = None) -> None:
        """Stop one service (or the whole monolith box) and keep it stopped until `start`."""
        self._control(name, "stop", harmless="NOT_RUNNING", variant=variant)

    def start(self, name: str, *, variant: str | None = None) -> None:
        """Start a stopped service (or the whole monolith box) again; waits until it runs."""
        self._control(name, "start", harmless="ALREADY_STARTED", variant=variant)

    def _control(self, name: str, verb: str, *, harmless: str, variant: str | None = None) -> None:
        rpc = self._rpc_for(name, variant)
        try:
            if name == MONOLITH_BOX:
                getattr(rpc, f"{verb}ProcessGroup")("monolith", True)
            else:
                getattr(rpc, f"{verb}Process")(self.find_service(name, variant).name, True)
        except xmlrpc.client.Fault as exc:
            if harmless not in exc.faultString:
                raise EngineError(f"could not {verb} {name}: {exc.faultString}") from exc

    def crash(self, name: str, *, variant: str | None = None) -> None:
        """SIGKILL one service (its whole process group: a gunicorn master and its workers), as a
        crash would; supervisord, like a container's restart policy, starts it again by itself."""
        rpc = self._rpc_for(name, variant)
        target = "monolith:gunicorn" if name == MONOLITH_BOX else self.find_service(name, variant).name
        try:
            pid = rpc.getProcessInfo(target)["pid"]
        except xmlrpc.client.Fault as exc:
            raise EngineError(f"could not crash {name}: {exc.faultString}") from exc
        if not pid:
            raise EngineError(f"{name} is not running")
        try:
            os.killpg(pid, signal.SIGKILL)  # supervisord makes every program a process-group leader
        except ProcessLookupError:
            pass

    def pids(self, variant: str) -> dict[str, int]:
        """Service name -> pid of its main process (gunicorn master, mariadbd, haproxy master)."""
        return {s.name: s.pid for s in self.status() if s.variant == variant and s.pid and s.name != MONOLITH_BOX}

    def cpu_sources(self, variant: str) -> dict[str, ProcessTree]:
        """Each service's process tree, and supervisord itself (it relays the services' logs)."""
        sources = {name: ProcessTree(pid) for name, pid in self.pids(variant).items()}
        supervisord = self.supervisor(variant).pid()
        if supervisord:
            sources["supervisord"] = ProcessTree(supervisord, children=False)
        return sources

    # -- inspection -----------------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        rows: list[ServiceStatus] = []
        for variant in VARIANTS:
            sup = self.supervisor(variant)
            if not sup.running():
                continue
            infos = {
                info["group"] + ":" + info["name"] if info["group"] != info["name"] else info["name"]: info
                for info in sup.processes()
            }
            topo = self.topology(variant)
            view = self.events.view(variant)
            if variant == "monolith":
                states = [infos.get(s.name, {}).get("statename", "UNKNOWN") for s in topo.services if in_box(s)]
                box_state = (
                    "RUNNING"
                    if all(x == "RUNNING" for x in states)
                    else ("STOPPED" if all(x in ("STOPPED", "EXITED", "FATAL") for x in states) else "DEGRADED")
                )
                readiness = health(http_status(topo.entry_url + "/readyz"))
                address = f"127.0.0.1:{self.ports.monolith}"
                rows.append(ServiceStatus(MONOLITH_BOX, variant, sup.pid(), address, box_state, readiness))
            for service in topo.services:
                info = infos.get(service.name, {})
                state = info.get("statename", "UNKNOWN")
                running = state == "RUNNING"
                if not running or service.kind in t.CONSUMER_KINDS:
                    verdict = "-"  # a consumer's health: whether it consumes its queue (below)
                elif service.health_path is None:
                    verdict = "healthy" if tcp_open(service.port) else "unhealthy"
                else:
                    verdict = health(http_status(f"http://{service.address}{service.health_path}"))
                verdict, detail = self.events.describe(service, running=running, health=verdict, view=view)
                rows.append(ServiceStatus(service.name, variant, info.get("pid") or None, service.address, state,
                                          verdict, detail))  # fmt: skip
        return rows

    # -- order events ---------------------------------------------------------------------

    def mailbox(self, variant: str) -> Mailbox:
        return self.events.mailbox(variant)

    def broker(self, variant: str) -> BrokerAdmin | None:
        return self.events.broker(variant)

    # -- data -----------------------------------------------------------------------------

    def reset(self, variant: str | None = None) -> list[str]:
        """Reload the seed data on a variant (or every running one)."""
        variants = [check_variant(variant)] if variant else [v for v in VARIANTS if self.running(v)]
        if not variants:
            raise EngineError("no variant is running: `twinshop up monolith` or `twinshop up distributed` first")
        for v in variants:
            settings = self.db_settings(v)
            if not tcp_open(settings.port):
                raise EngineError(f"the {v} database is not running: `twinshop up {v}` (or `twinshop start ...`) first")
            self.events.reset(v, before_db=True)
            try:
                wait_for_db(settings, timeout=10)
                reset_db(settings)
            except DatabaseNotReady as exc:
                raise EngineError(str(exc)) from exc
            self.events.reset(v, before_db=False)
        return variants
