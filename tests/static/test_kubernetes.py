"""The Kubernetes manifests (k8s/): valid for the Kubernetes API offline (kubernetes-validate --strict),
their HAProxy configuration the current rendition, and in step with compose/distributed.yaml — a workload
for every service, with the same images, commands, environment, ports, secret files, volumes, CPU and
memory limits, replicas and health checks — so a cluster runs what the containers run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from distributed.lb.render import COMPOSE_SLOTS, kubernetes_configmap, render_kubernetes

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
# Set per pod in Kubernetes (from the downward API), derived from the hostname in compose.
K8S_ONLY = {"TWINSHOP_NODE"}


def documents(path: Path) -> list[dict]:
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d]


def workloads() -> dict[str, dict]:
    """name -> the pod template's first container, for every Deployment, StatefulSet and Job."""
    found = {}
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
                pod = doc["spec"]["template"]["spec"]
                found[doc["metadata"]["name"]] = {"doc": doc, "container": pod["containers"][0]}
    return found


def secret_files(workload: dict) -> set[str]:
    """The files of the shop's Secret a workload's pod receives (every key, or the items it names)."""
    every = set(documents(K8S / "secrets.example.yaml")[0]["stringData"])
    files = set()
    for volume in workload["doc"]["spec"]["template"]["spec"].get("volumes", []):
        if volume.get("secret", {}).get("secretName") == "twinshop-secrets":
            files |= {i["key"] for i in volume["secret"]["items"]} if "items" in volume["secret"] else every
    return files


def container_port(container: dict, port: int | str) -> int:
    """A probe's port, by number or by the container port's name."""
    return port if isinstance(port, int) else next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def cpus(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def compose_services() -> dict:
    return YAML(typ="safe").load((ROOT / "compose" / "distributed.yaml").read_text())["services"]


def test_every_manifest_is_valid_for_the_kubernetes_api_offline():
    result = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet",
                             *map(str, MANIFESTS)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_kustomization_applies_every_manifest_but_the_example_secret():
    listed = set(YAML(typ="safe").load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"secrets.example.yaml"}


def test_the_lb_config_is_the_current_kubernetes_rendition_and_haproxy_accepts_it(tmp_path: Path):
    fix = "python -m distributed.lb.render kubernetes > k8s/lb-config.yaml"
    assert (K8S / "lb-config.yaml").read_text() == kubernetes_configmap(), f"out of date: {fix}"
    (tmp_path / "haproxy.cfg").write_text(render_kubernetes())
    check = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    config = documents(K8S / "lb-config.yaml")[0]["data"]["haproxy.cfg"]
    assert "server-template api-slot- 1-9 api.twinshop.svc.cluster.local:8000 check" in config
    assert "server api-standby api-standby.twinshop.svc.cluster.local:8000 check backup" in config


def test_every_compose_service_is_a_workload_and_nothing_else_is():
    assert set(workloads()) == set(compose_services())


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_each_workload_runs_what_compose_runs(name: str):
    service = compose_services()[name]
    container = workloads()[name]["container"]
    assert container["image"] == service["image"]
    if "command" in service:
        assert container["command"] == service["command"]
    compose_env = set((service.get("environment") or {}).keys())
    if service.get("command", ["gunicorn"])[0] != "gunicorn":  # compose's init shares the API's variables
        compose_env = {name for name in compose_env if not name.startswith("GUNICORN_")}
    k8s_env = {e["name"] for e in container.get("env", [])}
    assert k8s_env - K8S_ONLY == compose_env - {"TWINSHOP_NODE"}, (name, k8s_env ^ compose_env)
    for e in container.get("env", []):
        if "value" in e and e["name"] in (service.get("environment") or {}):
            assert e["value"] == str(service["environment"][e["name"]]), (name, e["name"])


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_each_workload_is_capped_as_compose_caps_it_and_runs_as_many_replicas(name: str):
    service, workload = compose_services()[name], workloads()[name]
    resources = workload["container"]["resources"]
    assert {"requests", "limits"} <= set(resources), name
    limits = service["deploy"]["resources"]["limits"]
    assert cpus(resources["limits"]["cpu"]) == float(limits["cpus"]), name
    assert resources["limits"]["memory"] == limits["memory"].replace("M", "Mi"), name
    if workload["doc"]["kind"] != "Job":
        assert workload["doc"]["spec"]["replicas"] == service.get("deploy", {}).get("replicas", 1), name


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_each_pod_gets_the_secret_files_its_compose_service_gets(name: str):
    wanted = {s["source"] if isinstance(s, dict) else s for s in compose_services()[name].get("secrets", [])}
    assert secret_files(workloads()[name]) == wanted, name


def test_the_example_secret_holds_every_secret_compose_declares():
    secret = documents(K8S / "secrets.example.yaml")[0]
    compose = YAML(typ="safe").load((ROOT / "compose" / "distributed.yaml").read_text())
    assert set(secret["stringData"]) == set(compose["secrets"])


def test_app_pods_listen_where_compose_containers_do_and_are_probed_on_health_and_readiness():
    for name in ("api", "api-standby", "web"):
        container = workloads()[name]["container"]
        bind = next(e["value"] for e in container["env"] if e["name"] == "GUNICORN_BIND")
        assert container["ports"][0]["containerPort"] == int(bind.rsplit(":", 1)[1]) == 8000
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"requests", "limits"} <= set(container["resources"])


def test_the_api_scales_automatically_within_haproxys_slots_and_keeps_two_replicas_through_disruptions():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in documents(K8S / "api.yaml")}
    hpa = docs[("HorizontalPodAutoscaler", "api")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "api" and hpa["maxReplicas"] == COMPOSE_SLOTS
    assert hpa["minReplicas"] == compose_services()["api"]["deploy"]["replicas"]
    assert docs[("PodDisruptionBudget", "api")]["spec"]["minAvailable"] == 2
    assert docs[("Service", "api")]["spec"]["clusterIP"] == "None"  # headless: HAProxy sees every pod


def test_the_consumers_are_ready_by_composes_own_health_check_and_never_restarted_by_a_probe():
    # Not restarted: while the broker is down a consumer reconnects by itself (compose only marks it unhealthy).
    for name in ("mailer", "sales"):
        container = workloads()[name]["container"]
        assert container["readinessProbe"]["exec"]["command"] == compose_services()[name]["healthcheck"]["test"][1:]
        assert "livenessProbe" not in container and "ports" not in container, name


def test_the_mail_server_and_the_broker_are_probed_as_compose_checks_them():
    mail = workloads()["mail"]["container"]
    check = " ".join(compose_services()["mail"]["healthcheck"]["test"])
    for probe in (mail["readinessProbe"], mail["livenessProbe"]):
        port = container_port(mail, probe["httpGet"]["port"])
        assert f"http://127.0.0.1:{port}{probe['httpGet']['path']}" in check
    # The broker has no healthcheck in compose: the image's own, an AMQP connection.
    image_check = (ROOT / "distributed" / "broker" / "Dockerfile").read_text()
    broker = workloads()["broker"]["container"]
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert f"/dev/tcp/127.0.0.1/{container_port(broker, broker[kind]['tcpSocket']['port'])}" in image_check


@pytest.mark.parametrize("name", ["broker", "mail"])
def test_the_events_services_serve_the_ports_compose_uses_and_keep_their_volumes(name: str):
    service, workload = compose_services()[name], workloads()[name]
    docs = {(d["kind"], d["metadata"]["name"]): d for d in documents(K8S / f"{name}.yaml")}
    served = {p["targetPort"] for p in docs[("Service", name)]["spec"]["ports"]}
    assert served == {p["containerPort"] for p in workload["container"]["ports"]}
    assert {int(p.rsplit(":", 1)[1]) for p in service["ports"]} <= served  # what compose publishes on the host
    # Every port the others reach it on, from their environment in compose (BROKER_PORT, SMTP_PORT).
    reached = {"broker": ("BROKER_HOST", "BROKER_PORT"), "mail": ("SMTP_HOST", "SMTP_PORT")}[name]
    for other in compose_services().values():
        environment = other.get("environment") or {}
        if environment.get(reached[0]) == name:
            assert int(environment[reached[1]]) in served, (name, reached[1])
    volume, target = service["volumes"][0].split(":")
    mounts = {m["name"]: m["mountPath"] for m in workload["container"]["volumeMounts"]}
    pod = workload["doc"]["spec"]["template"]["spec"]
    claims = {t["metadata"]["name"] for t in workload["doc"]["spec"].get("volumeClaimTemplates", [])}
    claims |= {v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert [mounts[c] for c in claims] == [target], (name, volume)


def test_only_the_events_network_reaches_the_broker_and_the_mail_server():
    policy = {d["metadata"]["name"]: d for d in documents(K8S / "broker.yaml")}["events-network-only"]["spec"]
    on_events = {name for name, s in compose_services().items() if "events" in s.get("networks", [])}
    assert set(policy["podSelector"]["matchExpressions"][0]["values"]) == {"broker", "mail"}
    assert set(policy["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"]) == on_events


def test_the_database_keeps_its_volume_and_only_the_api_tier_may_reach_it():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in documents(K8S / "db.yaml")}
    claim = docs[("StatefulSet", "db")]["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    allowed = docs[("NetworkPolicy", "db-from-the-api-only")]["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert set(allowed["matchExpressions"][0]["values"]) == {"api", "api-standby", "init"}


def test_no_secret_value_is_committed_outside_the_placeholder_example():
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] == "Secret":
                assert path.name == "secrets.example.yaml"
                assert set(doc["stringData"].values()) == {"change-me"}  # refused by the shop: a placeholder
