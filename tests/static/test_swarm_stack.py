"""The Swarm stacks (swarm/stack.yaml, swarm/monolith.yaml) in step with the compose files — the same images,
commands, environment, secrets, networks, health checks and container ports — plus what Swarm on kernels
without IPVS needs (dnsrr services, host-mode ports), and what `twinshop` changes in them (the override)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from twinshop.cluster import stack_override
from twinshop.options import CpuCaps, VariantOptions

ROOT = Path(__file__).resolve().parents[2]
# Each task names itself after its slot and node in a Swarm (api-2@node-3); compose derives it from the
# container's name (api-{replica}).
SWARM_ONLY = {"TWINSHOP_NODE"}


def load(path: str) -> dict:
    return YAML(typ="safe").load((ROOT / path).read_text())


STACK, COMPOSE = load("swarm/stack.yaml")["services"], load("compose/distributed.yaml")["services"]
BOX_STACK, BOX_COMPOSE = load("swarm/monolith.yaml")["services"], load("compose/monolith.yaml")["services"]


def test_the_stacks_have_the_compose_files_services():
    assert set(STACK) == set(COMPOSE)
    assert set(BOX_STACK) == set(BOX_COMPOSE)


@pytest.mark.parametrize("variant, name", [("distributed", n) for n in sorted(COMPOSE)]
                         + [("monolith", n) for n in sorted(BOX_COMPOSE)])  # fmt: skip
def test_same_image_command_environment_secrets_networks_and_checks(variant, name):
    stack, compose = (BOX_STACK[name], BOX_COMPOSE[name]) if variant == "monolith" else (STACK[name], COMPOSE[name])
    assert stack.get("entrypoint") == compose.get("entrypoint") and stack.get("user") == compose.get("user")
    assert stack["image"] == compose["image"]
    assert stack.get("command") == compose.get("command")
    env = {k: v for k, v in (stack.get("environment") or {}).items() if k not in SWARM_ONLY}
    assert env == {k: v for k, v in (compose.get("environment") or {}).items() if k not in SWARM_ONLY}
    assert stack.get("secrets") == compose.get("secrets")
    assert stack.get("networks") == compose.get("networks")
    assert stack.get("healthcheck") == compose.get("healthcheck")
    assert stack.get("volumes") == compose.get("volumes")
    assert stack.get("stop_grace_period") == compose.get("stop_grace_period")
    assert stack["deploy"]["resources"]["limits"]["memory"] == compose["deploy"]["resources"]["limits"]["memory"]


def test_tasks_name_their_slot_and_node():
    assert STACK["api"]["environment"]["TWINSHOP_NODE"] == "api-{{.Task.Slot}}@{{.Node.Hostname}}"
    assert STACK["web"]["environment"]["TWINSHOP_NODE"] == "web-{{.Task.Slot}}@{{.Node.Hostname}}"
    assert STACK["api-standby"]["environment"]["TWINSHOP_NODE"] == "api-standby@{{.Node.Hostname}}"
    assert STACK["mailer"]["environment"]["TWINSHOP_NODE"] == "mailer-{{.Task.Slot}}@{{.Node.Hostname}}"
    assert BOX_STACK["monolith"]["environment"]["TWINSHOP_NODE"] == "monolith"


def test_swarm_without_ipvs_dnsrr_services_host_mode_ports_and_pinned_state():
    for name, service in [*STACK.items(), *BOX_STACK.items()]:
        # No virtual IP: HAProxy balances; the box reaches its mail server by the task's own address.
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
    for service in (STACK["lb"], BOX_STACK["monolith"]):
        assert {p["mode"] for p in service["ports"]} == {"host"}  # no routing mesh either
    assert {p["target"]: p["published"] for p in STACK["lb"]["ports"]} == {8000: 8000, 8404: 8404}
    assert {p["target"]: p["published"] for p in BOX_STACK["monolith"]["ports"]} == {8000: 8001}
    for pinned in ("db", "broker", "mail"):  # their data is in a volume of one node
        assert STACK[pinned]["deploy"]["placement"]["constraints"] == ["node.labels.twinshop.db == true"]
    assert STACK["lb"]["deploy"]["placement"]["constraints"] == ["node.labels.twinshop.edge == true"]
    assert BOX_STACK["monolith"]["deploy"]["placement"]["constraints"] == ["node.labels.twinshop.edge == true"]
    for name in ("api", "web", "mailer"):
        assert STACK[name]["deploy"]["placement"]["preferences"] == [{"spread": "node.id"}]
        assert STACK[name]["deploy"]["replicas"] == COMPOSE[name]["deploy"]["replicas"]
    for stack in (load("swarm/stack.yaml"), load("swarm/monolith.yaml")):
        assert all(secret["external"] for secret in stack["secrets"].values())
    networks = load("swarm/stack.yaml")["networks"]
    assert networks["back"]["internal"] and all(n["driver"] == "overlay" for n in networks.values())
    assert not any(n.get("driver_opts", {}).get("encrypted") for n in networks.values())  # no ESP here


def test_the_override_sets_replicas_standby_workers_and_the_caps_by_the_local_engines_rule():
    plain = stack_override(VariantOptions("distributed"))["services"]
    assert plain["api"]["deploy"]["replicas"] == 3 and plain["web"]["deploy"]["replicas"] == 2
    assert plain["api-standby"]["deploy"]["replicas"] == 0 and plain["mailer"]["deploy"]["replicas"] == 2
    assert {s["deploy"]["resources"]["limits"]["cpus"] for s in plain.values()} == {"0"}
    capped = stack_override(VariantOptions("distributed", api=5, standby=True, caps=CpuCaps(node=0.3, api=0.5)))
    services = capped["services"]
    assert services["api"]["deploy"]["replicas"] == 5 and services["api-standby"]["deploy"]["replicas"] == 1
    assert services["api"]["deploy"]["resources"]["limits"]["cpus"] == "0.5"
    assert services["web"]["deploy"]["resources"]["limits"]["cpus"] == "0.3"
    assert "init" not in services and capped["version"] == "3.8"
    box = stack_override(VariantOptions("monolith", workers=4))["services"]["monolith"]
    assert box["environment"] == {"GUNICORN_WORKERS": "4"}
