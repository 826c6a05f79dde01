"""`twinshop cluster` and `--engine swarm` on a real Docker Swarm of three engines on this machine.

One cluster for the whole file, brought up by the command a student types (`twinshop cluster up
--nodes 3`, ~90 s from built images), then, in file order as a student's session would: tasks on
every node answer through the load balancer; `scale` spreads new tasks over the nodes; killing a
node keeps the shop answering (few failures) while its tasks start again on the other nodes, and no
accepted order is lost; a partitioned node's tasks are replaced; the monolith's box sells and mails on
node-1; `cluster down` leaves nothing. An `up` interrupted half-way removes what it made. The file stays
within about five minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from support import wait_until
from testbed import FIGURES, PORT_OFFSET

from twinshop.cluster import LABEL
from twinshop.engines.swarm import SwarmEngine
from twinshop.state import Home
from twinshop.topology import Ports

pytestmark = pytest.mark.slow

TWINSHOP = [sys.executable, "-m", "twinshop.cli"]
SWARM_OFFSET = PORT_OFFSET + 900  # beside the compose files' (+500) and the compose engine's (+700, +800)
INTERRUPTED_OFFSET = PORT_OFFSET + 950
PORTS = Ports(SWARM_OFFSET)
LB_URL = PORTS.url(PORTS.lb)
NAME = f"twinshop-swarm-{SWARM_OFFSET}"


class Cli:
    """`twinshop ...` in a state folder and port offset of the tests' own."""

    def __init__(self, home: Path, offset: int = SWARM_OFFSET):
        self.env = {**os.environ, "TWINSHOP_HOME": str(home), "TWINSHOP_PORT_OFFSET": str(offset)}
        self.env.pop("TWINSHOP_ENGINE", None)
        self.engine = SwarmEngine(Home(home), Ports(offset))

    def __call__(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([*TWINSHOP, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"twinshop {' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}")
        return result

    def status(self) -> dict:
        return json.loads(self("cluster", "status", "--json").stdout)

    def placement(self, service: str) -> Counter:
        """Node -> running tasks of the service there."""
        return Counter(t["node"] for t in self.status()["tasks"] if t["service"] == service and t["state"] == "running")


def labelled(docker: str, name: str) -> list[str]:
    """Every container, volume and network on the host that carries the cluster's label."""
    found = []
    for command in (["ps", "--all", "--quiet"], ["volume", "ls", "--quiet"], ["network", "ls", "--quiet"]):
        found += subprocess.run([docker, *command, "--filter", f"label={LABEL}={name}"], capture_output=True,
                                text=True, timeout=60).stdout.split()  # fmt: skip
    return found


def remove_by_label(docker: str, name: str) -> None:
    """The fixture's last resort: whatever still carries the label, removed by id."""
    ids = subprocess.run([docker, "ps", "--all", "--quiet", "--filter", f"label={LABEL}={name}"], capture_output=True,
                         text=True, timeout=60).stdout.split()  # fmt: skip
    if ids:
        subprocess.run([docker, "rm", "--force", "--volumes", *ids], capture_output=True, timeout=300)
    for kind in ("volume", "network"):
        ids = subprocess.run([docker, kind, "ls", "--quiet", "--filter", f"label={LABEL}={name}"],
                             capture_output=True, text=True, timeout=60).stdout.split()  # fmt: skip
        if ids:
            subprocess.run([docker, kind, "rm", *ids], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def cli(docker_host, images, tmp_path_factory) -> Cli:
    run = Cli(tmp_path_factory.mktemp("swarm-home"))
    remove_by_label(docker_host.docker, NAME)  # leftovers of an interrupted run of this same checkout
    started = time.monotonic()
    result = run("cluster", "up", "--nodes", "3", timeout=400)
    FIGURES["twinshop cluster up --nodes 3"] = f"{time.monotonic() - started:.0f} s"
    run.up_output = result.stdout
    yield run
    run("cluster", "down", check=False)
    remove_by_label(docker_host.docker, NAME)


def served_by(count: int) -> Counter:
    nodes: Counter = Counter()
    with requests.Session() as session:
        for _ in range(count):
            response = session.get(f"{LB_URL}/", timeout=10)
            assert response.status_code == 200, response.text[:300]
            nodes.update(response.headers["X-Served-By"].split(","))
    return nodes


class Load:
    """Light traffic through the load balancer in a thread: pages, and an order every few requests."""

    def __init__(self):
        self.ok = self.failed = 0
        self.orders: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            i = 0
            while not self._stop.is_set():
                i += 1
                try:
                    if i % 5 == 0:
                        order = {"email": "swarm@example.org", "items": [{"product_id": 1 + i % 50, "quantity": 1}]}
                        response = session.post(f"{LB_URL}/api/orders", timeout=10, json=order)
                        if response.status_code == 201:
                            self.orders.append(response.json()["id"])
                    else:
                        response = session.get(f"{LB_URL}/products/{1 + i % 100}", timeout=10)
                    good = response.status_code in (200, 201, 409)
                except requests.RequestException:
                    good = False
                self.ok, self.failed = self.ok + good, self.failed + (not good)
                time.sleep(0.05)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def failure_share(self) -> float:
        return self.failed / max(1, self.ok + self.failed)


def test_cluster_up_spreads_the_shop_over_three_nodes_and_every_task_answers(cli: Cli):
    first = cli.up_output.splitlines()[0]
    assert first.startswith(f"cluster up: 3 nodes, the shop at {LB_URL} (ready in "), cli.up_output
    seconds = int(first.rsplit("ready in ", 1)[1].rstrip("s)"))
    assert seconds <= 150  # ~85 s here from built images; the target (≤ 90 s) is benchmarks/swarm.py's
    status = cli.status()
    assert [(n["name"], n["state"], n["container"]) for n in status["nodes"]] == [
        ("node-1", "ready", "running"), ("node-2", "ready", "running"), ("node-3", "ready", "running")]  # fmt: skip
    tasks = {t["name"]: t["node"] for t in status["tasks"] if t["state"] == "running"}
    assert tasks["db"] == tasks["lb"] == "node-1"  # pinned: the data volume and the published ports
    assert len({tasks["api-1"], tasks["api-2"], tasks["api-3"]}) == 3  # one API task per node before any second
    assert tasks["web-1"] != tasks["web-2"]
    # Every task answers through the load balancer, and names the node it runs on.
    nodes = served_by(30)
    wanted = {f"{name}@{node}" for name, node in tasks.items() if name.startswith(("api-", "web-"))}
    assert wanted <= set(nodes), nodes
    # The same names through the engine's status.
    rows = {r["name"]: r for r in json.loads(cli("status", "--json", "--engine", "swarm").stdout)}
    assert {n for n, r in rows.items() if r["state"] == "RUNNING"} == set(tasks)
    assert all(f"({tasks[n]})" in r["address"] for n, r in rows.items())


def test_scale_spreads_the_new_tasks_over_the_nodes(cli: Cli):
    result = cli("scale", "api", "6", "--engine", "swarm")
    assert result.stdout.strip() == "api replicas: 6 (+api-4, +api-5, +api-6)"
    assert sorted(cli.placement("api").values()) == [2, 2, 2]
    assert {n.partition("@")[0] for n in served_by(30) if n.startswith("api-")} >= {f"api-{i}" for i in range(1, 7)}
    assert cli("scale", "api", "3", "--engine", "swarm").stdout.startswith("api replicas: 3 (-")
    assert sum(cli.placement("api").values()) == 3


def moved_off(cli: Cli, node: str, before: dict[str, str]) -> bool:
    """Every api/web task that ran on ``node`` runs (healthy) on another node now."""
    gone = [name for name, where in before.items() if where == node]
    now = {t["name"]: t["node"] for t in cli.status()["tasks"] if t["state"] == "running"}
    rows = {r.name: r for r in cli.engine.status()}
    return all(now.get(name) not in (None, node) and rows[name].health == "healthy" for name in gone)


def busiest_worker(tasks: dict[str, str]) -> str:
    """The worker node (not node-1, the manager) running the most api/web tasks."""
    counts = Counter(node for name, node in tasks.items() if name.startswith(("api-", "web-")) and node != "node-1")
    assert counts, tasks
    return counts.most_common(1)[0][0]


def test_killing_a_node_keeps_the_shop_answering_and_its_tasks_move(cli: Cli):
    before = {t["name"]: t["node"] for t in cli.status()["tasks"] if t["state"] == "running"}
    victim = busiest_worker(before)
    with Load() as load:
        time.sleep(3)
        killed = time.monotonic()
        cli.engine.kill_node(victim)
        assert wait_until(lambda: moved_off(cli, victim, before), timeout=60, interval=1)
        moved = time.monotonic() - killed
        time.sleep(2)
    FIGURES[f"swarm: {victim} killed -> its tasks healthy elsewhere"] = f"{moved:.0f} s"
    FIGURES[f"swarm: failed requests while {victim} died"] = f"{load.failed} of {load.ok + load.failed}"
    assert load.failure_share <= 0.05, (load.ok, load.failed)
    states = {n["name"]: (n["state"], n["container"]) for n in cli.status()["nodes"]}
    assert states[victim] == ("down", "exited")
    # No accepted order is lost, none doubled: the database holds every one the clients saw accepted.
    assert load.orders
    with cli.engine.repository("distributed") as repository:
        assert repository.orders_exist(set(load.orders)) == set(load.orders)
        assert repository.duplicate_idempotency_keys() == []
    # Powered on again, it rejoins by itself (empty: Swarm moves no running task; `twinshop up` would).
    cli.engine.start_node(victim)
    cli.engine.cluster.wait_nodes_ready(deadline=time.monotonic() + 60)


def test_a_partitioned_nodes_tasks_are_replaced_and_it_heals(cli: Cli):
    before = {t["name"]: t["node"] for t in cli.status()["tasks"] if t["state"] == "running"}
    victim = busiest_worker(before)
    cut = time.monotonic()
    cli.engine.partition(victim)
    assert wait_until(lambda: moved_off(cli, victim, before), timeout=90, interval=1)
    FIGURES[f"swarm: {victim} cut off -> its tasks healthy elsewhere"] = f"{time.monotonic() - cut:.0f} s"
    assert [n["state"] for n in cli.status()["nodes"] if n["name"] == victim] == ["down (partitioned)"]
    assert served_by(10)  # the shop answers meanwhile
    cli.engine.heal(victim)
    cli.engine.cluster.wait_nodes_ready(deadline=time.monotonic() + 60)


def test_the_monolith_box_on_the_swarm_sells_and_mails_each_order(cli: Cli):
    """The box as a stack of its own (what `compare --engine swarm` measures the shop against): its checkout
    finds its mail server by name - no virtual IP on this kernel, so every service is dnsrr - and an order is
    accepted at once, its confirmation in the box's mailbox."""
    cli("up", "monolith", "--engine", "swarm", timeout=400)
    url = cli.engine.entry_url("monolith")
    started = time.monotonic()
    order = requests.post(f"{url}/api/orders", timeout=30,
                          json={"email": "box@example.org", "items": [{"product_id": 3, "quantity": 1}]})  # fmt: skip
    assert order.status_code == 201 and time.monotonic() - started < 5, (order.status_code, order.text[:300])
    mailbox = cli.engine.mailbox("monolith")
    assert wait_until(lambda: any(m["order"] == order.json()["id"] for m in mailbox.messages()), timeout=20)
    assert cli("down", "monolith", "--engine", "swarm").stdout.strip() == "stopped: monolith"


def test_cluster_down_removes_everything_it_made(cli: Cli, docker_host):
    result = cli("cluster", "down")
    assert result.stdout.startswith("cluster removed: 3 nodes")
    assert labelled(docker_host.docker, NAME) == []
    assert cli("cluster", "status").stdout.startswith("no cluster is up")
    refused = cli("up", "distributed", "--engine", "swarm", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == (
        "twinshop: no Swarm cluster is up: `twinshop cluster up --nodes 3` first")


def test_an_interrupted_cluster_up_leaves_nothing_behind(docker_host, images, tmp_path):
    """Ctrl-C while the nodes start: whatever was made is removed before the command ends."""
    name = f"twinshop-swarm-{INTERRUPTED_OFFSET}"
    run = Cli(tmp_path / "home", INTERRUPTED_OFFSET)
    remove_by_label(docker_host.docker, name)
    process = subprocess.Popen([*TWINSHOP, "cluster", "up", "--nodes", "2"], env=run.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert wait_until(lambda: len(labelled(docker_host.docker, name)) >= 2, timeout=90, interval=0.3)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=120)
        assert process.returncode != 0 and "interrupted" in err
        assert labelled(docker_host.docker, name) == []
        assert not (tmp_path / "home" / f"swarm-{INTERRUPTED_OFFSET}").exists()
    finally:
        if process.poll() is None:
            process.kill()
        remove_by_label(docker_host.docker, name)
