"""The compose files and the local engine describe the same topology (so they cannot drift).

Same services, same entry points, same gunicorn settings file, same environment variables
(secrets arrive as NAME_FILE in compose), same MariaDB configuration, same default replicas
and ports. The engine's topology is built for real here (no processes are started).
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from twinshop import topology as t
from twinshop.engines.local import LocalEngine
from twinshop.options import DEFAULT_API_REPLICAS, DEFAULT_MAILERS, DEFAULT_WEB_REPLICAS, VARIANTS, VariantOptions
from twinshop.state import Secrets

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"SECRET_KEY", "DB_PASSWORD", "BROKER_PASSWORD"}
# Set per process by the engine; compose derives them (hostname) or publishes ports instead.
ENGINE_ONLY = {"TWINSHOP_NODE", "GUNICORN_BIND", "DB_HOST", "DB_PORT", "API_URL", "BROKER_HOST", "BROKER_PORT",
               "SMTP_HOST", "SMTP_PORT", "MAIL_SMTP_BIND", "MAIL_HTTP_BIND"}  # fmt: skip


def compose(name: str) -> dict:
    return YAML(typ="safe").load((ROOT / "compose" / name).read_text())


@pytest.fixture(scope="module")
def engine_topology() -> dict[str, t.Topology]:
    secrets = Secrets("key", "password", "broker-password")
    return {v: t.build(VariantOptions(v), ports=t.Ports(), secrets=secrets) for v in VARIANTS}


def local_programs(topology: t.Topology):
    """How the local engine runs the topology (its supervisord programs)."""
    return LocalEngine(home=Path("/nonexistent/twinshop-sync-test")).programs(topology)


def env_names(environment: dict) -> set[str]:
    """Compose variable names, with NAME_FILE secrets counted as NAME."""
    return {k.removesuffix("_FILE") if k.removesuffix("_FILE") in SECRETS else k for k in environment}


def test_distributed_services_match(engine_topology):
    services = compose("distributed.yaml")["services"]
    kinds = {s.kind for s in engine_topology["distributed"].services} | {"api-standby"}
    assert kinds <= set(services), kinds - set(services)
    assert services["web"]["deploy"]["replicas"] == DEFAULT_WEB_REPLICAS
    assert services["api"]["deploy"]["replicas"] == DEFAULT_API_REPLICAS
    assert services["api-standby"]["profiles"] == ["standby"]
    assert services["mailer"]["deploy"]["replicas"] == DEFAULT_MAILERS


@pytest.mark.parametrize(
    "kind, module", [("mailer", t.MODULE_MAILER), ("sales", t.MODULE_SALES), ("mail", t.MODULE_MAIL)]
)
def test_the_order_event_services_run_the_same_module_and_variables(engine_topology, kind, module):
    service = compose("distributed.yaml")["services"][kind]
    engine_service = next(s for s in engine_topology["distributed"].services if s.kind == kind)
    assert service["command"] == ["python", "-m", module] and engine_service.module == module
    program = next(p for p in local_programs(engine_topology["distributed"]) if p.name == engine_service.program)
    assert program.command[1:] == ["-m", module]
    assert env_names(service["environment"]) - ENGINE_ONLY - {"MAIL_STORE"} == set(engine_service.env) - ENGINE_ONLY


def test_the_api_and_the_consumers_reach_the_broker_and_the_mail_server(engine_topology):
    services = compose("distributed.yaml")["services"]
    for kind in ("api", "mailer", "sales"):
        assert services[kind]["environment"]["BROKER_HOST"] == "broker" and "events" in services[kind]["networks"]
    assert services["mailer"]["environment"]["SMTP_HOST"] == "mail"
    assert services["mailer"]["environment"]["API_URL"].startswith("http://lb:")
    assert "events" not in services["web"]["networks"]  # the web tier cannot reach the broker
    topology = engine_topology["distributed"]
    broker = topology.get("broker")
    assert all(s.env["BROKER_PORT"] == str(broker.port) for s in topology.of_kind("api", "mailer", "sales"))
    mail = topology.get("mail")
    assert all(s.env["SMTP_PORT"] == str(mail.ports["smtp"]) for s in topology.of_kind("mailer"))
    monolith = compose("monolith.yaml")["services"]
    assert monolith["monolith"]["environment"]["SMTP_HOST"] == "mail"
    assert monolith["mail"]["command"] == ["python", "-m", t.MODULE_MAIL]


@pytest.mark.parametrize("kind, app_path", [("api", t.APP_API), ("web", t.APP_WEB), ("api-standby", t.APP_API)])
def test_app_services_run_the_same_command_and_variables(engine_topology, kind, app_path):
    service = compose("distributed.yaml")["services"][kind]
    engine_service = next(
        s
        for s in engine_topology["distributed"].services
        if s.kind == kind or (kind == "api-standby" and s.kind == "api")
    )
    assert service["command"][-1] == app_path == engine_service.app
    assert service["command"][:3] == ["gunicorn", "-c", str(t.GUNICORN_CONF.relative_to(ROOT))]
    program = next(p for p in local_programs(engine_topology["distributed"]) if p.name == engine_service.program)
    assert program.command[1:] == ["-c", str(t.GUNICORN_CONF), app_path]
    assert env_names(service["environment"]) - ENGINE_ONLY == set(engine_service.env) - ENGINE_ONLY
    for name in ("TWINSHOP_VARIANT", "GUNICORN_WORKERS", "DB_NAME", "DB_USER"):
        if name in engine_service.env:
            assert str(service["environment"][name]) == engine_service.env[name], name


def test_web_reaches_the_api_through_the_load_balancer(engine_topology):
    service = compose("distributed.yaml")["services"]["web"]
    web = next(s for s in engine_topology["distributed"].services if s.kind == "web")
    lb = next(s for s in engine_topology["distributed"].services if s.kind == "lb")
    assert service["environment"]["API_URL"].startswith("http://lb:")
    assert web.env["API_URL"] == f"http://127.0.0.1:{lb.port}"


def test_the_database_is_reachable_only_from_the_back_network():
    document = compose("distributed.yaml")
    db = document["services"]["db"]
    assert "ports" not in db
    assert db["networks"] == ["back"]
    assert document["networks"]["back"].get("internal") is True
    assert "back" not in document["services"]["web"]["networks"]
    assert "back" not in document["services"]["lb"]["networks"]


def test_both_databases_use_the_shared_mariadb_config(engine_topology):
    db = compose("distributed.yaml")["services"]["db"]
    assert db["build"]["dockerfile"] == "distributed/db/Dockerfile"
    assert '"--defaults-file=/app/shop/mariadb.cnf"' in (ROOT / "distributed" / "db" / "Dockerfile").read_text()
    for variant in VARIANTS:
        mariadb = next(p for p in local_programs(engine_topology[variant]) if p.name in ("db", "mariadb"))
        assert mariadb.command[1] == f"--defaults-file={t.MARIADB_CNF}"
    box = configparser.ConfigParser(interpolation=None)
    box.read(ROOT / "monolith" / "supervisord.conf")
    assert "--defaults-file=/app/shop/mariadb.cnf" in box["program:mariadb"]["command"]


@pytest.mark.parametrize("offset", [0, 1000])
def test_lb_and_published_ports_match_the_engines_ports(offset: int):
    """The compose files' host ports, set from the engine's ports for an offset, are those ports."""
    from test_static import compose_config, published_ports

    ports = t.Ports(offset)
    distributed = compose_config(
        "distributed.yaml", TWINSHOP_LB_PORT=str(ports.lb), TWINSHOP_STATS_PORT=str(ports.stats)
    )
    assert published_ports(distributed, "lb") == [("127.0.0.1", ports.lb, 8000), ("127.0.0.1", ports.stats, 8404)]
    monolith = compose_config("monolith.yaml", TWINSHOP_MONOLITH_PORT=str(ports.monolith))
    assert published_ports(monolith, "monolith") == [("127.0.0.1", ports.monolith, 8000)]
    if offset == 0:  # the defaults written in the files are the contract's addresses
        assert published_ports(compose_config("monolith.yaml"), "monolith")[0][1] == ports.monolith
        assert [p[1] for p in published_ports(compose_config("distributed.yaml"), "lb")] == [ports.lb, ports.stats]


def test_the_monolith_box_runs_the_same_processes(engine_topology):
    box = configparser.ConfigParser(interpolation=None)
    box.read(ROOT / "monolith" / "supervisord.conf")
    programs = {section.removeprefix("program:") for section in box.sections() if section.startswith("program:")}
    # The box's own processes; its mail server runs beside it (a service of its own in compose too).
    assert programs == {s.program for s in engine_topology["monolith"].services if s.name.startswith("monolith:")}
    assert t.APP_MONOLITH in box["program:gunicorn"]["command"]
    assert "shop/gunicorn.conf.py" in box["program:gunicorn"]["command"]
    gunicorn = next(s for s in engine_topology["monolith"].services if s.program == "gunicorn")
    monolith = compose("monolith.yaml")["services"]["monolith"]
    assert str(monolith["environment"]["GUNICORN_WORKERS"]) == gunicorn.env["GUNICORN_WORKERS"]
