"""`twinshop cluster` refusing what cannot work, in one line, before it makes anything — no Docker engine needed.

The counts and the room are checked before Docker is asked anything; a node that cannot join the Swarm
fails the whole `up`, which removes what it had made (here with the Docker commands replaced by fakes;
tests/containers/test_swarm.py interrupts a real one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twinshop.cluster import Cluster, Node, room_problem
from twinshop.engines.base import EngineError
from twinshop.state import Home
from twinshop.topology import Ports

TWINSHOP = [sys.executable, "-m", "twinshop.cli"]


def cli(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": "15970"}
    env.pop("TWINSHOP_ENGINE", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([*TWINSHOP, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("nodes", ["0", "10", "-1"])
def test_a_count_of_nodes_that_cannot_be_is_refused_before_docker_is_asked(tmp_path, nodes):
    result = cli(tmp_path, "cluster", "up", "--nodes", nodes, path=str(Path(sys.executable).parent))
    assert result.returncode == 1
    assert result.stderr == f"twinshop: --nodes must be from 1 to 9, not {nodes}\n"


def test_without_docker_cluster_up_says_what_to_install(tmp_path):
    # Only the venv's programs on the PATH: no docker command at all.
    result = cli(tmp_path, "cluster", "up", "--nodes", "3", path=str(Path(sys.executable).parent))
    assert result.returncode == 1
    assert result.stderr == ("twinshop: no `docker` command here: install Docker (Debian, Ubuntu: "
                             "`sudo apt-get install docker.io`)\n")  # fmt: skip


def test_without_a_cluster_the_swarm_engine_says_how_to_make_one(tmp_path):
    result = cli(tmp_path, "up", "distributed", "--engine", "swarm")
    assert result.returncode == 1
    assert result.stderr == "twinshop: no Swarm cluster is up: `twinshop cluster up --nodes 3` first\n"
    assert cli(tmp_path, "cluster", "status").stdout == "no cluster is up (start one: twinshop cluster up --nodes 3)\n"
    assert cli(tmp_path, "cluster", "down").stdout.strip() in ("no cluster was up", "cluster removed: ")
    assert cli(tmp_path, "status", "--engine", "swarm").stdout.startswith("nothing is running")
    fault = cli(tmp_path, "compare", "--quick", "--fault", "kill-node:node-2@30s")
    assert fault.returncode == 1
    assert "node faults need the distributed variant on a Swarm: `twinshop cluster up --nodes 3`, then --engine " \
           "swarm" in fault.stderr and len(fault.stderr.splitlines()) == 1  # fmt: skip


def test_memory_and_disk_are_checked_for_every_node():
    assert room_problem(3, 1024, available_mb=20_000, free_disk_mb=50_000) is None
    # node-1 also holds the database, the broker and the monolith: it needs 1536 MiB more.
    assert room_problem(3, 1024, available_mb=3_600, free_disk_mb=50_000) == (
        "not enough memory for 3 nodes of 1024 MiB (4.5 GiB with node-1's extra 1536 MiB; 3.5 GiB available): "
        "use --nodes 2 or a smaller --node-memory")
    assert "not enough memory for one node of 1024 MiB" in room_problem(3, 1024, available_mb=1_500,
                                                                        free_disk_mb=50_000)  # fmt: skip
    assert room_problem(3, 200, available_mb=20_000, free_disk_mb=50_000) == (
        "--node-memory 200 is too little for a node (at least 384 MiB)")
    assert room_problem(3, 1024, available_mb=20_000, free_disk_mb=2_000).startswith(
        "not enough disk for 3 nodes: about 4.4 GiB needed")


def test_too_much_memory_is_refused_before_anything_is_made(tmp_path):
    result = cli(tmp_path, "cluster", "up", "--nodes", "9", "--node-memory", "900000")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(("twinshop: not enough memory for 9 nodes of 900000 MiB",
                                     "twinshop: not enough memory for one node", "twinshop: no `docker`",
                                     "twinshop: the Docker daemon", "twinshop: no permission"))  # fmt: skip


class Fake(Cluster):
    """A cluster whose Docker commands are recorded, node-3's `swarm join` failing."""

    def __init__(self, home: Path):
        super().__init__(Home(home), Ports(15980))
        self._docker = "docker"
        self.removed = False

    def check_request(self, nodes, memory_mb, node_cpus):
        pass

    def remove_leftovers(self):
        pass

    def host(self, *args, **kwargs):
        return subprocess.CompletedProcess(args, 0, "", "")

    def create_network(self):
        return "10.230.1.0/24"

    def start_nodes(self, count, **kwargs):
        return [Node(f"node-{i}", f"id{i}", f"10.230.1.{10 + i}") for i in range(1, count + 1)]

    def wait_engines(self, nodes, *, deadline):
        pass

    def load_images(self, wanted):
        pass

    def on(self, node, *args, **kwargs):
        if args[:2] == ("swarm", "join") and node.name == "node-3":
            return subprocess.CompletedProcess(args, 1, "", "Error response from daemon: Timeout was reached "
                                               "before node joined.\n")  # fmt: skip
        return subprocess.CompletedProcess(args, 0, "token\n", "")

    def remove(self):
        self.removed = True
        return []


def test_a_node_that_cannot_join_fails_the_whole_up_which_removes_what_it_made(tmp_path):
    cluster = Fake(tmp_path)
    with pytest.raises(EngineError) as info:
        cluster.up(3, deploy=lambda: pytest.fail("deployed on a cluster with a node missing"))
    assert str(info.value) == (
        "the cluster did not come up: node-3 could not join the Swarm at 10.230.1.11:2377 (Error response from "
        "daemon: Timeout was reached before node joined.): check that TCP 2377 and 7946 and UDP 7946 and 4789 pass "
        "between the nodes (everything it made is removed again)")
    assert cluster.removed
