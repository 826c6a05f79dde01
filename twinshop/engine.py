"""The local engine: each variant as real processes on 127.0.0.1, under supervisord.

Same commands, configuration and topology as the containers (see compose/), so a laptop
without Docker — and the tests and benchmarks — run exactly what the students deploy.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import xmlrpc.client
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from shop.config import DatabaseSettings
from shop.dbadmin import DatabaseNotReady, init_db, reset_db, wait_for_db
from twinshop import cpucap
from twinshop import topology as t
from twinshop.supervisor import Supervisor, SupervisorError, render_config


class EngineError(RuntimeError):
    """A failure the user can act on; the CLI prints it as one line."""


@dataclass
class ServiceStatus:
    name: str
    variant: str
    pid: int | None
    address: str
    state: str
    health: str


@dataclass
class Options:
    """How a variant was asked to run (kept beside its state so `up` twice can compare)."""

    web: int = t.DEFAULT_WEB_REPLICAS
    api: int = t.DEFAULT_API_REPLICAS
    standby: bool = False
    workers: int = 2
    cpus: float | None = None  # CPU cap for the whole variant (all its processes together)
    node_cpus: float | None = None  # CPU cap for each service (distributed nodes)
    api_cpus: float | None = None  # CPU cap for each API replica only (the scaling lab)
    access_log: bool = False  # a log line per request at the entry point (costs CPU: off for comparisons)


def default_home() -> Path:
    return Path(os.environ.get("TWINSHOP_HOME") or (t.PROJECT_ROOT / ".twinshop")).resolve()


def find_program(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not found:
        package = {"haproxy": "haproxy"}.get(name, "mariadb-server")
        raise EngineError(f"{name} not found: install Debian's {package} package (`make demo` does it)")
    return found


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
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


class Engine:
    """Start, stop, inspect and reset the variants on this machine."""

    def __init__(self, home: Path | None = None, ports: t.Ports | None = None):
        self.home = Path(home).resolve() if home else default_home()
        self.ports = ports or t.Ports(t.port_offset())

    # -- state ----------------------------------------------------------------------------

    def state_dir(self, variant: str) -> Path:
        return self.home / variant

    def supervisor(self, variant: str) -> Supervisor:
        return Supervisor(self.state_dir(variant))

    def secrets(self) -> dict[str, str]:
        """SECRET_KEY and DB_PASSWORD, generated once per installation, kept in the state folder."""
        path = self.home / "secrets.env"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            values = {"SECRET_KEY": secrets.token_hex(32), "DB_PASSWORD": secrets.token_hex(16)}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("".join(f"{k}={v}\n" for k, v in values.items()))
        values = {}
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip():
                values[key.strip()] = value.strip()
        missing = {"SECRET_KEY", "DB_PASSWORD"} - {k for k, v in values.items() if v}
        if missing:
            raise EngineError(f"{path} lacks {', '.join(sorted(missing))}: delete it to generate new secrets")
        return values

    def options(self, variant: str) -> Options | None:
        path = self.state_dir(variant) / "options.json"
        try:
            return Options(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def db_settings(self, variant: str) -> DatabaseSettings:
        port = self.ports.monolith_db if variant == "monolith" else self.ports.distributed_db
        return DatabaseSettings(
            host="127.0.0.1",
            port=port,
            name="shop",
            user="shop",
            password=self.secrets()["DB_PASSWORD"],
            pool_size=2,
        )

    def entry_url(self, variant: str) -> str:
        check_variant(variant)
        return f"http://127.0.0.1:{self.ports.monolith if variant == 'monolith' else self.ports.lb}"

    # -- topology -------------------------------------------------------------------------

    def topology(self, variant: str, options: Options | None = None) -> t.Topology:
        check_variant(variant)
        options = options or self.options(variant) or Options()
        state = self.state_dir(variant)
        s = self.secrets()
        db_port = self.ports.monolith_db if variant == "monolith" else self.ports.distributed_db
        db = t.mariadb_service(
            name="monolith:mariadb" if variant == "monolith" else "db",
            variant=variant,
            port=db_port,
            datadir=state / "mariadb" / "data",
            socket=state / "mariadb" / "mariadbd.sock",
            init_file=state / "mariadb" / "init.sql",
            run_as_root=os.geteuid() == 0,
        )
        db.command[0] = find_program("mariadbd")
        database_env = t.db_env(port=db_port, secrets=s)
        if variant == "monolith":
            app = t.Service(
                name="monolith:gunicorn",
                variant=variant,
                kind="app",
                command=t.gunicorn_command(t.APP_MONOLITH),
                port=self.ports.monolith,
                env={
                    **t.app_env(node="monolith", variant=variant, bind_port=self.ports.monolith, secrets=s),
                    **database_env,
                    "GUNICORN_WORKERS": str(options.workers),
                    "GUNICORN_ACCESS_LOG": "1" if options.access_log else "0",
                },
                health_path="/healthz",
                priority=20,
            )
            return t.Topology(variant, [db, app], self.entry_url(variant))
        services = [db]
        api_names = [f"api-{n}" for n in range(1, options.api + 1)] + (["api-standby"] if options.standby else [])
        for name in api_names:
            port = self.ports.api_standby if name == "api-standby" else self.ports.api(int(name.split("-")[1]))
            services.append(
                t.Service(
                    name=name,
                    variant=variant,
                    kind="api-standby" if name == "api-standby" else "api",
                    command=t.gunicorn_command(t.APP_API),
                    port=port,
                    env={
                        **t.app_env(node=name, variant=variant, bind_port=port, secrets=s),
                        **database_env,
                        "GUNICORN_WORKERS": "1",
                    },
                    health_path="/healthz",
                    priority=20,
                )
            )
        for n in range(1, options.web + 1):
            port = self.ports.web(n)
            services.append(
                t.Service(
                    name=f"web-{n}",
                    variant=variant,
                    kind="web",
                    command=t.gunicorn_command(t.APP_WEB),
                    port=port,
                    env={
                        **t.app_env(node=f"web-{n}", variant=variant, bind_port=port, secrets=s),
                        # The web tier reaches the API through the load balancer, like in compose.
                        "API_URL": f"http://127.0.0.1:{self.ports.lb}",
                        "GUNICORN_WORKERS": "1",
                    },
                    health_path="/healthz",
                    priority=30,
                )
            )
        services.append(
            t.Service(
                name="lb",
                variant=variant,
                kind="lb",
                command=[find_program("haproxy"), "-W", "-db", "-f", str(state / "haproxy.cfg")],
                port=self.ports.lb,
                health_path="/healthz",
                priority=40,
            )
        )
        for service in services:
            # --api-cpus caps each API replica (the standby too) and wins over --node-cpus there.
            is_api = service.kind in ("api", "api-standby")
            cap = (options.api_cpus or options.node_cpus) if is_api else options.node_cpus
            if cap:
                service.command = cpucap.wrap(
                    service.command,
                    cgroup=f"{self.cgroup(variant)}/{service.program}",
                    cpus=cap,
                )
        return t.Topology(variant, services, self.entry_url(variant))

    def haproxy_config(self, topo: t.Topology, *, access_log: bool = False) -> str:
        from distributed.lb.render import render_haproxy

        def servers(kind: str) -> list[tuple[str, str]]:
            return [(s.name, s.address) for s in topo.services if s.kind == kind]

        standby = servers("api-standby")
        return render_haproxy(
            mode="local",
            admin_socket=str(self.state_dir(topo.variant) / "haproxy.sock"),
            listen_port=self.ports.lb,
            stats_port=self.ports.stats,
            web_servers=servers("web"),
            api_servers=servers("api"),
            standby=standby[0] if standby else None,
            access_log=access_log,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def up(
        self,
        variant: str,
        *,
        web: int | None = None,
        api: int | None = None,
        standby: bool = False,
        workers: int | None = None,
        cpus: float | None = None,
        node_cpus: float | None = None,
        api_cpus: float | None = None,
        access_log: bool = False,
        timeout: float = 60,
    ) -> float:
        """Start a variant (or make sure it runs); return the seconds it took to answer /readyz."""
        started = time.monotonic()
        check_variant(variant)
        running = self.supervisor(variant).running()
        # Asked-for values win; otherwise a running variant keeps what it has, a new one gets defaults.
        previous = (self.options(variant) if running else None) or Options()
        options = Options(
            web=web if web is not None else previous.web,
            api=api if api is not None else previous.api,
            standby=standby or previous.standby,
            workers=workers if workers is not None else previous.workers,
            cpus=cpus if cpus is not None else previous.cpus,
            node_cpus=node_cpus if node_cpus is not None else previous.node_cpus,
            api_cpus=api_cpus if api_cpus is not None else previous.api_cpus,
            access_log=access_log or previous.access_log,
        )
        for label, value in (("--web", options.web), ("--api", options.api)):
            if not 1 <= value <= t.MAX_REPLICAS:
                raise EngineError(f"{label} must be from 1 to {t.MAX_REPLICAS}, not {value}")
        if not 1 <= options.workers <= 32:
            raise EngineError(f"--workers must be from 1 to 32, not {options.workers}")
        caps = (("--cpus", options.cpus), ("--node-cpus", options.node_cpus), ("--api-cpus", options.api_cpus))
        for label, value in caps:
            if value is not None and not 0.05 <= value <= (os.cpu_count() or 1):
                raise EngineError(f"{label} must be from 0.05 to {os.cpu_count()} (this machine's cores), not {value}")
        if any(value for _, value in caps) and cpucap.detect()[0] is None:
            raise EngineError(f"cannot cap CPU on this machine: {cpucap.detect()[1]}; start without --cpus")
        sup = self.supervisor(variant)
        if sup.running():
            if options != previous:
                raise EngineError(
                    f"the {variant} variant is already running with {describe(variant, previous)}; "
                    f"run `twinshop down {variant}`, then `twinshop up {variant} {describe(variant, options)}`"
                )
            self._start_all(variant)
        else:
            topo = self.topology(variant, options)
            self._check_ports(topo)
            self._prepare(topo, options)
            try:
                sup.start(prefix=self._variant_cap_prefix(variant, options))
            except SupervisorError as exc:
                raise EngineError(str(exc)) from exc
        self._wait_ready(variant, deadline=started + timeout)
        return time.monotonic() - started

    def cgroup(self, variant: str) -> str:
        """This installation's cgroup for a variant, relative to the cpu hierarchy."""
        import hashlib

        tag = hashlib.sha256(str(self.home).encode()).hexdigest()[:8]
        return f"twinshop-{tag}/{variant}"

    def _variant_cap_prefix(self, variant: str, options: Options) -> list[str]:
        if not (options.cpus or options.node_cpus):
            return []
        return cpucap.wrap([], cgroup=self.cgroup(variant), cpus=options.cpus)

    def _check_ports(self, topo: t.Topology) -> None:
        ports = [(s.port, s.name) for s in topo.services]
        if topo.variant == "distributed":
            ports.append((self.ports.stats, "lb (statistics page)"))
        for port, name in ports:
            if port_in_use(port):
                raise EngineError(
                    f"port {port} on 127.0.0.1 is already in use (needed by {name}): stop what uses it"
                    " or set TWINSHOP_PORT_OFFSET"
                )

    def _prepare(self, topo: t.Topology, options: Options) -> None:
        state = self.state_dir(topo.variant)
        (state / "logs").mkdir(parents=True, exist_ok=True)
        mariadb = state / "mariadb"
        datadir = mariadb / "data"
        if not (datadir / "mysql").is_dir():
            self._install_mariadb(datadir)
        password = self.secrets()["DB_PASSWORD"]
        init = mariadb / "init.sql"
        # Run by mariadbd at every start: the database and its user exist, with this password.
        init.write_text(
            "CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
            + "".join(
                f"CREATE USER IF NOT EXISTS 'shop'@'{host}' IDENTIFIED BY '{password}';\n"
                f"ALTER USER 'shop'@'{host}' IDENTIFIED BY '{password}';\n"
                f"GRANT ALL PRIVILEGES ON shop.* TO 'shop'@'{host}';\n"
                for host in ("127.0.0.1", "localhost")
            )
        )
        init.chmod(0o600)
        if topo.variant == "distributed":
            (state / "haproxy.cfg").write_text(self.haproxy_config(topo, access_log=options.access_log))
        group = "monolith" if topo.variant == "monolith" else None
        (state / "supervisord.conf").write_text(
            render_config(variant=topo.variant, state_dir=state, services=topo.services, group=group)
        )
        (state / "options.json").write_text(json.dumps(asdict(options)))

    def _install_mariadb(self, datadir: Path) -> None:
        datadir.mkdir(parents=True, exist_ok=True)
        command = [
            find_program("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            shutil.rmtree(datadir, ignore_errors=True)
            raise EngineError(f"mariadb-install-db failed: {' / '.join(tail)}")

    def _wait_ready(self, variant: str, *, deadline: float) -> None:
        try:
            wait_for_db(self.db_settings(variant), timeout=max(1.0, deadline - time.monotonic()))
            init_db(self.db_settings(variant))
        except DatabaseNotReady as exc:
            raise EngineError(f"{variant}: {exc} (see {self.state_dir(variant) / 'logs'})") from exc
        url = self.entry_url(variant) + "/readyz"
        sup = self.supervisor(variant)
        while time.monotonic() < deadline:
            # Ready: the entry point answers and supervisord counts every process as started.
            if http_status(url) == 200 and all(p["statename"] == "RUNNING" for p in sup.processes()):
                return
            time.sleep(0.1)
        raise EngineError(
            f"{variant} did not answer {url} in time (see the logs in {self.state_dir(variant) / 'logs'})"
        )

    def _start_all(self, variant: str) -> None:
        try:
            self.supervisor(variant).rpc().startAllProcesses(True)
        except xmlrpc.client.Fault as exc:
            raise EngineError(f"could not start the {variant} processes: {exc.faultString}") from exc

    def running_variants(self) -> list[str]:
        return [v for v in t.VARIANTS if self.supervisor(v).running()]

    def down(self, variant: str | None = None, *, wipe: bool = False) -> list[str]:
        """Stop a variant (or both); with wipe, delete its data too. Returns what was stopped."""
        variants = [check_variant(variant)] if variant else list(t.VARIANTS)
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
                fs.remove(self.cgroup(v))
                fs.remove(self.cgroup(v).split("/")[0])  # only goes once both variants are gone
            if wipe:
                shutil.rmtree(self.state_dir(v), ignore_errors=True)
        return stopped

    def scale(self, kind: str, count: int, *, timeout: float = 30) -> tuple[list[str], list[str]]:
        """Change the number of API or web replicas of the running distributed variant, live.

        New replicas start and pass their health check before HAProxy (reloaded without
        dropping connections) sends them traffic; removed ones leave HAProxy first, then stop.
        Returns (added, removed) service names.
        """
        if kind not in ("api", "web"):
            raise EngineError(f"only api and web scale, not {kind!r}")
        if not 1 <= count <= t.MAX_REPLICAS:
            raise EngineError(f"{kind} replicas must be from 1 to {t.MAX_REPLICAS}, not {count}")
        variant = "distributed"
        sup = self.supervisor(variant)
        options = self.options(variant)
        if not sup.running() or options is None:
            raise EngineError("the distributed variant is not running: `twinshop up distributed` first")
        new_options = replace(options, **{kind: count})
        old, new = self.topology(variant, options), self.topology(variant, new_options)
        old_names, new_names = {s.name for s in old.services}, {s.name for s in new.services}
        added = [s for s in new.services if s.name not in old_names]
        removed = [s for s in old.services if s.name not in new_names]
        for service in added:
            if port_in_use(service.port):
                raise EngineError(f"port {service.port} on 127.0.0.1 is already in use (needed by {service.name})")
        state = self.state_dir(variant)
        rpc = sup.rpc()
        (state / "supervisord.conf").write_text(render_config(variant=variant, state_dir=state, services=new.services))
        (state / "options.json").write_text(json.dumps(asdict(new_options)))
        rpc.reloadConfig()
        for service in added:
            rpc.addProcessGroup(service.program)
        deadline = time.monotonic() + timeout
        for service in added:
            while http_status(f"http://{service.address}{service.health_path}") != 200 or (
                rpc.getProcessInfo(service.program_path)["statename"] != "RUNNING"
            ):
                if time.monotonic() > deadline:
                    raise EngineError(f"{service.name} did not become healthy (see {state / 'logs'})")
                time.sleep(0.1)
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

    # -- one service ----------------------------------------------------------------------

    def find_service(self, name: str) -> t.Service:
        for variant in t.VARIANTS:
            if name == "monolith" and variant == "monolith":
                continue
            if self.options(variant) is None:
                continue
            for service in self.topology(variant).services:
                if service.name == name:
                    return service
        known = [
            "monolith",
            "monolith:mariadb",
            "monolith:gunicorn",
            "db",
            "lb",
            "web-N",
            "api-N",
            "api-standby",
        ]
        raise EngineError(f"no service named {name!r} in a started variant (names: {', '.join(known)})")

    def _rpc_for(self, name: str):
        variant = "monolith" if name == "monolith" else self.find_service(name).variant
        sup = self.supervisor(variant)
        if not sup.running():
            raise EngineError(f"the {variant} variant is not running: `twinshop up {variant}` first")
        return sup.rpc(), variant

    def kill(self, name: str) -> None:
        """Stop one service (or the whole monolith box) and keep it stopped until `start`."""
        self._control(name, "stop", harmless="NOT_RUNNING")

    def start(self, name: str) -> None:
        """Start a stopped service (or the whole monolith box) again; waits until it runs."""
        self._control(name, "start", harmless="ALREADY_STARTED")

    def _control(self, name: str, verb: str, *, harmless: str) -> None:
        rpc, _ = self._rpc_for(name)
        try:
            if name == "monolith":
                getattr(rpc, f"{verb}ProcessGroup")("monolith", True)
            else:
                getattr(rpc, f"{verb}Process")(self.find_service(name).program_path, True)
        except xmlrpc.client.Fault as exc:
            if harmless not in exc.faultString:
                raise EngineError(f"could not {verb} {name}: {exc.faultString}") from exc

    def crash(self, name: str) -> None:
        """SIGKILL one service (its whole process group: a gunicorn master and its workers), as a
        crash would; supervisord, like a container's restart policy, starts it again by itself."""
        rpc, _ = self._rpc_for(name)
        target = "monolith:gunicorn" if name == "monolith" else self.find_service(name).program_path
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
        return {s.name: s.pid for s in self.status() if s.variant == variant and s.pid and s.name != "monolith"}

    # -- inspection -----------------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        rows: list[ServiceStatus] = []
        for variant in t.VARIANTS:
            sup = self.supervisor(variant)
            if not sup.running():
                continue
            infos = {
                info["group"] + ":" + info["name"] if info["group"] != info["name"] else info["name"]: info
                for info in sup.processes()
            }
            topo = self.topology(variant)
            if variant == "monolith":
                states = [infos.get(s.name, {}).get("statename", "UNKNOWN") for s in topo.services]
                box_state = (
                    "RUNNING"
                    if all(x == "RUNNING" for x in states)
                    else ("STOPPED" if all(x in ("STOPPED", "EXITED", "FATAL") for x in states) else "DEGRADED")
                )
                rows.append(
                    ServiceStatus(
                        "monolith",
                        variant,
                        sup.pid(),
                        f"127.0.0.1:{self.ports.monolith}",
                        box_state,
                        health(http_status(topo.entry_url + "/readyz")),
                    )
                )
            for service in topo.services:
                info = infos.get(service.name, {})
                state = info.get("statename", "UNKNOWN")
                if state != "RUNNING":
                    verdict = "-"
                elif service.kind == "db":
                    verdict = "healthy" if tcp_open(service.port) else "unhealthy"
                else:
                    verdict = health(http_status(f"http://{service.address}{service.health_path}"))
                rows.append(
                    ServiceStatus(service.name, variant, info.get("pid") or None, service.address, state, verdict)
                )
        return rows

    # -- data -----------------------------------------------------------------------------

    def reset(self, variant: str | None = None) -> list[str]:
        """Reload the seed data on a variant (or every running one)."""
        variants = [check_variant(variant)] if variant else self.running_variants()
        if not variants:
            raise EngineError("no variant is running: `twinshop up monolith` or `twinshop up distributed` first")
        for v in variants:
            settings = self.db_settings(v)
            if not tcp_open(settings.port):
                raise EngineError(f"the {v} database is not running: `twinshop up {v}` (or `twinshop start ...`) first")
            try:
                wait_for_db(settings, timeout=10)
                reset_db(settings)
            except DatabaseNotReady as exc:
                raise EngineError(str(exc)) from exc
        return variants


def health(status: int | None) -> str:
    return "healthy" if status == 200 else "unhealthy" if status is not None else "unreachable"


def check_variant(variant: str) -> str:
    if variant not in t.VARIANTS:
        raise EngineError(f"unknown variant {variant!r}: choose monolith or distributed")
    return variant


def describe(variant: str, options: Options) -> str:
    """The options as the `twinshop up` flags that give them (only the variant's own)."""
    if variant == "monolith":
        text = f"--workers {options.workers}"
    else:
        text = f"--web {options.web} --api {options.api}" + (" --standby" if options.standby else "")
    for flag, value in (("--cpus", options.cpus), ("--node-cpus", options.node_cpus), ("--api-cpus", options.api_cpus)):
        if value:
            text += f" {flag} {value:g}"
    return text + (" --access-log" if options.access_log else "")
