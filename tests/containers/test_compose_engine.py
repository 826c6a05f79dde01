"""`twinshop --engine compose`: the command-line tool's verbs on real containers, then a short comparison.

The same commands and names as with the local engine — up (ports shifted by an offset), status,
kill/start (a replica, every primary: the standby takes over), crash (Docker's restart policy
brings the container back), scale, reset, locust, compare — and down leaving no container,
network or cgroup behind. The order events too: the broker, the mail servers and the consumers
in `status`, an order's mail in `twinshop mail`, the broker and a mail server killed and
started, `scale mailer`, and a comparison with a broker and mail-server drill whose invariants
check every order's mail and sales count. The tests run in file order: each starts from what
the one before left running, as a student's session would, and the comparison reuses the
running variants.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
import requests
from dockerhost import DockerHost
from support import wait_until
from testbed import ENGINE_OFFSET

from twinshop.engines.compose import ComposeEngine
from twinshop.state import Home
from twinshop.topology import Ports

pytestmark = pytest.mark.slow

TWINSHOP = [sys.executable, "-m", "twinshop.cli"]
PORTS = Ports(ENGINE_OFFSET)
MONOLITH_URL, LB_URL = PORTS.url(PORTS.monolith), PORTS.url(PORTS.lb)
PROJECTS = {"monolith": f"twinshop-monolith-{ENGINE_OFFSET}", "distributed": f"twinshop-distributed-{ENGINE_OFFSET}"}
EVENTS = {"broker", "mail", "mailer-1", "mailer-2", "sales"}
DISTRIBUTED = {"db", "lb", "web-1", "web-2", "api-1", "api-2", "api-3", "api-standby"} | EVENTS
BOX = {"monolith", "monolith:mariadb", "monolith:gunicorn"}
MONOLITH = BOX | {"mail"}  # the box, and its mail server beside it


class Cli:
    """`twinshop ... --engine compose` in a state folder and port offset of the tests' own."""

    def __init__(self, home: Path):
        self.env = {**os.environ, "TWINSHOP_HOME": str(home), "TWINSHOP_PORT_OFFSET": str(ENGINE_OFFSET)}
        self.env.pop("TWINSHOP_ENGINE", None)
        self.engine = ComposeEngine(Home(home), PORTS)

    def __call__(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([*TWINSHOP, *args, "--engine", "compose"], env=self.env, capture_output=True,
                                text=True, timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"twinshop {' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}")
        return result

    def rows(self, variant: str | None = None) -> dict[str, dict]:
        """`status --json` by service name (of one variant: both have a `mail`)."""
        rows = json.loads(self("status", "--json").stdout)
        return {row["name"]: row for row in rows if variant is None or row["variant"] == variant}

    def healthy(self, *names: str, variant: str | None = None) -> bool:
        rows = self.rows(variant)
        return all(rows.get(n, {}).get("state") == "RUNNING" and rows[n]["health"] == "healthy" for n in names)


def place_order(url: str, email: str, product: int = 11) -> dict:
    placed = requests.post(f"{url}/api/orders", json={"email": email, "items": [{"product_id": product,
                           "quantity": 1}]}, timeout=20)  # fmt: skip
    assert placed.status_code == 201, placed.text
    return placed.json()


def mailed(cli: Cli, variant: str, order: int) -> list[str]:
    """Who sent the mails of one order that the variant's mail server received (the mailbox's JSON)."""
    return [m["node"] for m in cli.engine.mailbox(variant).messages() if m["order"] == order]


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def served_by(url: str, count: int) -> Counter:
    nodes: Counter = Counter()
    with requests.Session() as session:
        for _ in range(count):
            response = session.get(url, timeout=10)
            assert response.status_code == 200, response.text[:500]
            nodes.update(response.headers["X-Served-By"].split(","))
    return nodes


@pytest.fixture(scope="module")
def cli(docker_host: DockerHost, images, tmp_path_factory) -> Cli:
    run = Cli(tmp_path_factory.mktemp("compose-home"))
    run("down", "--wipe", check=False)  # leftovers of an interrupted run of this same checkout
    yield run
    run("down", "--wipe", check=False)


@pytest.fixture(scope="module")
def budget(cli: Cli) -> float | None:
    """The CPU budget `compare` gives each variant by default: the variants start with it, so it reuses them."""
    from loadtests.harness.compare import default_budget

    return default_budget(cli.engine)


def test_up_starts_both_variants_on_the_shifted_ports(cli: Cli, budget):
    caps = ["--cpus", f"{budget:g}"] if budget else []
    started = time.monotonic()
    monolith = cli("up", "monolith", *caps)
    assert monolith.stdout.startswith(f"monolith is up at {MONOLITH_URL} (ready in ")
    distributed = cli("up", "distributed", "--standby", *caps)
    assert distributed.stdout.splitlines() == [
        distributed.stdout.splitlines()[0],
        f"HAProxy statistics: {PORTS.url(PORTS.stats)}/stats",
        f"RabbitMQ management: {PORTS.url(PORTS.broker_management)}/ (user shop; `twinshop status` shows the queues)",
        f"mailbox: {PORTS.url(PORTS.mail_page('distributed'))} (or `twinshop mail distributed`)",
    ]
    assert f"mailbox: {PORTS.url(PORTS.mail_page('monolith'))} (or `twinshop mail monolith`)" in monolith.stdout
    assert distributed.stdout.startswith(f"distributed is up at {LB_URL} (ready in ")
    assert time.monotonic() - started < 240
    assert requests.get(f"{MONOLITH_URL}/readyz", timeout=5).headers["X-Served-By"] == "monolith"
    assert requests.get(f"{LB_URL}/readyz", timeout=5).status_code == 200
    # The compose projects are named after the offset, so they never collide with an installation's own.
    for variant, project in PROJECTS.items():
        assert cli.engine.project(variant) == project
    again = cli("up", "monolith", *caps)
    assert again.stdout.startswith(f"monolith is already running at {MONOLITH_URL} (started at ")
    # Asking for other options while it runs: refused in one line, naming the way out.
    other = cli("up", "monolith", "--workers", "3", *caps, check=False)
    assert other.returncode == 1 and len(other.stderr.strip().splitlines()) == 1
    assert "already running with --workers 2" in other.stderr
    assert "twinshop down monolith --engine compose" in other.stderr


def test_status_names_every_container_as_the_local_engine_names_its_processes(cli: Cli, docker_host: DockerHost,
                                                                              budget):  # fmt: skip
    monolith, rows = cli.rows("monolith"), cli.rows("distributed")
    assert set(monolith) == MONOLITH and set(rows) == DISTRIBUTED
    for row in [*monolith.values(), *rows.values()]:
        assert (row["state"], row["health"]) == ("RUNNING", "healthy"), row
        assert psutil.pid_exists(row["pid"]), row  # the container's main process, as the host sees it
    assert monolith["monolith"]["address"] == f"127.0.0.1:{PORTS.monolith}"
    assert rows["lb"]["address"] == f"127.0.0.1:{PORTS.lb}"
    assert rows["db"]["address"].endswith(":3306") and not rows["db"]["address"].startswith("127.")
    # api-2 is the container compose numbers 2, and its pid is that container's.
    inspected = docker_host.inspect(f"{PROJECTS['distributed']}-api-2")
    assert inspected["State"]["Pid"] == rows["api-2"]["pid"]
    # The order events as the local engine shows them: the consumers by the queue they consume (their
    # consumer tag is their name: mailer-2 is the container numbered 2), the broker's queues, the mails.
    assert rows["mailer-2"]["detail"] == "consuming 'mailer'" and rows["sales"]["detail"] == "consuming 'sales'"
    assert rows["mailer-1"]["address"] == "-"
    broker = rows["broker"]["detail"]
    assert "mailer 0" in broker and "dead-letters 0" in broker and PORTS.url(PORTS.broker_management) in broker
    for variant, mail in (("monolith", monolith["mail"]), ("distributed", rows["mail"])):
        assert mail["address"] == f"127.0.0.1:{PORTS.mail_page(variant)}" and mail["detail"].endswith(" mails received")
    # The table: the same columns as the local engine's.
    table = cli("status").stdout.splitlines()
    assert table[0].split() == ["NAME", "VARIANT", "PID", "ADDRESS", "STATE", "HEALTH", "DETAIL"]
    assert len(table) == 1 + len(monolith) + len(rows)
    # Their CPU counts in their variant's (the comparison's samples), under the variant's cap when there is one.
    assert EVENTS <= set(cli.engine.cpu_sources("distributed")) and "mail" in cli.engine.cpu_sources("monolith")
    if budget:
        events = ("broker-1", "mail-1", "mailer-2", "sales-1")
        for variant, first, others in (("monolith", "monolith-1", ("mail-1",)), ("distributed", "db-1", events)):
            parent = docker_host.inspect(f"{PROJECTS[variant]}-{first}")["HostConfig"]["CgroupParent"]
            assert parent.startswith("/twinshop-") and parent.endswith(f"/{variant}"), parent
            for container in others:
                assert docker_host.inspect(f"{PROJECTS[variant]}-{container}")["HostConfig"]["CgroupParent"] == parent


def test_replicas_name_themselves_as_status_names_them(cli: Cli):
    nodes = served_by(f"{LB_URL}/products/1", 24)
    assert {"web-1", "web-2", "api-1", "api-2", "api-3"} == set(nodes), nodes
    assert served_by(f"{MONOLITH_URL}/products/1", 2) == Counter({"monolith": 2})


def test_an_order_is_mailed_and_counted_in_both_variants(cli: Cli):
    orders = {"monolith": place_order(MONOLITH_URL, "box@example.com")["id"],
              "distributed": place_order(LB_URL, "events@example.com")["id"]}  # fmt: skip
    # The monolith mails inside its checkout; the distributed variant through the outbox, the broker and a
    # mailer, which names itself as `status` names its container.
    assert mailed(cli, "monolith", orders["monolith"]) == ["monolith"]
    assert wait_until(lambda: mailed(cli, "distributed", orders["distributed"]), timeout=60)
    assert mailed(cli, "distributed", orders["distributed"])[0] in {"mailer-1", "mailer-2"}
    with cli.engine.repository("distributed") as repo:  # ... and the sales consumer counted it
        assert wait_until(lambda: orders["distributed"] in repo.sales_counted_orders(), timeout=30)
    table = cli("mail", "distributed", "--last", "3").stdout
    assert table.startswith("distributed: ") and f"({PORTS.url(PORTS.mail_page('distributed'))})" in table
    assert "events@example.com" in table and "SENT BY" in table


def test_a_mail_server_is_named_with_its_variant(cli: Cli):
    refused = cli("kill", "mail", check=False)
    assert refused.returncode == 1 and "both variants have a service named 'mail'" in refused.stderr
    stopped = cli("kill", "mail", "--variant", "monolith").stdout.strip()
    assert stopped == "mail stopped (bring it back with: twinshop start mail --variant monolith --engine compose)"
    try:
        monolith, distributed = cli.rows("monolith"), cli.rows("distributed")
        assert monolith["mail"]["state"] == "STOPPED" and distributed["mail"]["state"] == "RUNNING"
        assert monolith["monolith"]["state"] == "RUNNING"  # the mail server is not part of the box
        # The monolith's checkout needs its mail server: nothing is sold without its mail.
        refused = requests.post(f"{MONOLITH_URL}/api/orders", json={"email": "no-mail@example.com",
                                "items": [{"product_id": 12, "quantity": 1}]}, timeout=30)  # fmt: skip
        assert refused.status_code == 503 and refused.json()["error"] == "mail_unavailable", refused.text
    finally:
        cli("start", "mail", "--variant", "monolith")
    assert wait_until(lambda: cli.engine.mailbox("monolith").alive(), timeout=30)


def test_the_broker_down_the_orders_wait_in_the_outbox_and_are_mailed_once_it_is_back(cli: Cli):
    cli("kill", "broker")
    try:
        rows = cli.rows("distributed")
        assert rows["broker"]["state"] == "STOPPED"
        assert (rows["mailer-1"]["health"], rows["mailer-1"]["detail"]) == ("unhealthy", "not consuming")
        order = place_order(LB_URL, "outbox@example.com")["id"]  # the API does not need the broker to sell
        with cli.engine.repository("distributed") as repo:
            assert repo.event_progress()["unpublished"] >= 1
    finally:
        cli("start", "broker")
    assert wait_until(lambda: mailed(cli, "distributed", order), timeout=90, interval=1)
    assert wait_until(lambda: cli.healthy("broker", "mailer-1", "mailer-2", "sales", variant="distributed"),
                      timeout=60, interval=1)  # fmt: skip


def test_scale_mailer_adds_a_consumer_and_removes_it(cli: Cli):
    assert cli("scale", "mailer", "3").stdout.strip() == "mailer replicas: 3 (+mailer-3)"
    row = cli.rows("distributed")["mailer-3"]
    assert (row["health"], row["detail"]) == ("healthy", "consuming 'mailer'")
    assert cli("scale", "mailer", "2").stdout.strip() == "mailer replicas: 2 (-mailer-3)"
    assert "mailer-3" not in cli.rows("distributed")
    assert cli.engine.options("distributed").mailers == 2


def test_kill_and_start_a_replica_then_every_primary_and_the_standby_takes_over(cli: Cli):
    try:
        stopped = cli("kill", "api-1").stdout.strip()
        assert stopped == "api-1 stopped (bring it back with: twinshop start api-1 --engine compose)"
        assert cli.rows()["api-1"]["state"] == "STOPPED"
        assert wait_until(lambda: set(served_by(f"{LB_URL}/api/products/1", 9)) == {"api-2", "api-3"}, timeout=20)
        for name in ("api-2", "api-3"):
            cli("kill", name)
        assert wait_until(lambda: set(served_by(f"{LB_URL}/api/products/1", 4)) == {"api-standby"}, timeout=20)
        assert served_by(f"{LB_URL}/products/2", 3)["api-standby"] == 3  # the pages too: web -> lb -> standby
    finally:
        for name in ("api-1", "api-2", "api-3"):
            cli("start", name)
    assert wait_until(lambda: cli.healthy("api-1", "api-2", "api-3"), timeout=60)
    assert wait_until(lambda: set(served_by(f"{LB_URL}/api/products/1", 9)) == {"api-1", "api-2", "api-3"}, timeout=30)


def test_kill_and_start_a_program_of_the_box(cli: Cli):
    cli("kill", "monolith:gunicorn")
    rows = cli.rows()
    assert rows["monolith:gunicorn"]["state"] == "STOPPED" and rows["monolith:mariadb"]["state"] == "RUNNING"
    cli("start", "monolith:gunicorn")
    assert wait_until(lambda: answers(f"{MONOLITH_URL}/readyz"), timeout=60)


def test_crash_is_answered_by_the_restart_policy(cli: Cli, docker_host: DockerHost):
    container = f"{PROJECTS['distributed']}-api-2"
    before = cli.rows()["api-2"]["pid"]
    restarts = docker_host.inspect(container)["RestartCount"]
    result = cli("crash", "api-2")
    assert "Docker's restart policy restarts the container" in result.stdout

    def back() -> bool:
        row = cli.rows()["api-2"]
        return row["pid"] not in (None, before) and row["health"] == "healthy"

    assert wait_until(back, timeout=60, interval=1)
    assert docker_host.inspect(container)["RestartCount"] == restarts + 1
    # Without the right to signal the container's process (a member of the docker group, not root:
    # here root without CAP_KILL), a helper container in the host's process namespace sends the SIGKILL.
    if os.geteuid() == 0 and shutil.which("setpriv"):
        container, before = f"{PROJECTS['distributed']}-api-3", cli.rows()["api-3"]["pid"]
        restarts = docker_host.inspect(container)["RestartCount"]
        without_kill = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *TWINSHOP, "crash", "api-3", "--engine",
                        "compose"]  # fmt: skip
        crashed = subprocess.run(without_kill, env=cli.env, capture_output=True, text=True, timeout=180)
        assert crashed.returncode == 0, crashed.stderr
        assert wait_until(lambda: cli.rows()["api-3"]["pid"] not in (None, before), timeout=60, interval=1)
        assert docker_host.inspect(container)["RestartCount"] == restarts + 1
    # A program of the box: supervisord inside it restarts it, as in the local engine.
    gunicorn = cli.rows()["monolith:gunicorn"]["pid"]
    assert "supervisord restarts it" in cli("crash", "monolith:gunicorn").stdout
    assert wait_until(lambda: cli.rows()["monolith:gunicorn"]["pid"] not in (None, gunicorn), timeout=30)
    assert wait_until(lambda: cli.healthy("monolith", "monolith:gunicorn", "api-2", "api-3"), timeout=60, interval=1)


def test_scale_adds_replicas_haproxy_finds_and_removes_them_again(cli: Cli):
    assert cli("scale", "api", "4").stdout.strip() == "api replicas: 4 (+api-4)"
    assert cli.healthy("api-4")
    assert wait_until(lambda: "api-4" in served_by(f"{LB_URL}/api/products/3", 8), timeout=30)
    assert cli("scale", "api", "3").stdout.strip() == "api replicas: 3 (-api-4)"
    assert "api-4" not in cli.rows()
    refused = cli("scale", "api", "10", check=False)
    assert refused.returncode == 1 and "api replicas must be from 1 to 9" in refused.stderr


def test_reset_reloads_the_seed_in_both_variants(cli: Cli):
    for url in (MONOLITH_URL, LB_URL):
        stock = requests.get(f"{url}/api/products/7", timeout=10).json()["stock"]
        order = requests.post(f"{url}/api/orders", json={"email": "reset@example.com",
                              "items": [{"product_id": 7, "quantity": 1}]}, timeout=10)  # fmt: skip
        assert order.status_code == 201, order.text
        assert requests.get(f"{url}/api/products/7", timeout=10).json()["stock"] == stock - 1
    assert cli("reset").stdout.strip() == "seed data reloaded: monolith, distributed"
    with cli.engine.repository("monolith") as monolith, cli.engine.repository("distributed") as distributed:
        assert monolith.order_count() == distributed.order_count() == 0
        assert monolith.stock_levels() == distributed.stock_levels()
    # The order events start afresh too: no mail, nothing in the broker's queues.
    assert cli.engine.mailbox("monolith").count() == cli.engine.mailbox("distributed").count() == 0
    assert not any(q.messages for q in cli.engine.broker("distributed").queues().values())


def test_locust_web_ui_targets_the_containers(cli: Cli):
    process = subprocess.Popen([*TWINSHOP, "locust", "--engine", "compose", "--target", "monolith"], env=cli.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        first = process.stdout.readline()
        assert first.startswith(f"Locust web UI: http://127.0.0.1:{PORTS.locust}  (target {MONOLITH_URL}")
        assert wait_until(lambda: answers(PORTS.url(PORTS.locust)), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)  # by its pid: the Locust this test started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# The order events' drill: the broker down (the distributed variant's orders wait in the outbox; the monolith
# has none: skipped there), a slow mail server, then one down (the monolith's checkouts fail meanwhile).
EVENT_DRILL = "kill:broker@2s,start:broker@6s,slow:mail@8s,fast:mail@11s,kill:mail@13s,start:mail@16s"


def test_a_short_comparison_of_the_two_variants_as_containers_with_an_order_events_drill(cli: Cli, budget, tmp_path):
    # 20-s runs: each Locust process first reads the whole catalogue over HTTP while the run's clock
    # already ticks, and on a busy machine that alone took more than 12 s (a run with no data).
    out = tmp_path / "report"
    # --reruns 0: four runs and no more, however busy the machine (its verdict may then be "not trustworthy").
    result = cli("compare", "--rounds", "2", "--duration", "20", "--users", "10", "--warmup", "2", "--reruns", "0",
                 "--fault", EVENT_DRILL, "--lang", "en", "--out", str(out), check=False, timeout=900)  # fmt: skip
    # 3: written, but "not trustworthy" (a busy test machine); anything else is a failure.
    assert result.returncode in (0, 3), result.stderr[-3000:]
    assert result.stdout.strip() == f"report: {out / 'index.html'}"
    summary = json.loads((out / "summary.json").read_text())
    engine = summary["setup"]["engine"]
    assert engine["engine"].startswith("compose (Docker Engine ")
    assert "twinshop-monolith:latest (" in engine["images"] and "twinshop-distributed:latest (" in engine["images"]
    # Both variants ran as they were (the same budget): nothing was restarted for the comparison.
    assert summary["setup"]["started_for_run_s"] == {"monolith": None, "distributed": None}
    if budget:
        for variant in ("monolith", "distributed"):
            assert f"{variant}: {budget:g} CPUs for all its containers (cgroup /twinshop-" in engine["caps"]
            assert summary["setup"]["cpu_caps"][variant] == f"{budget:g} cores for the whole variant"
    for variant in ("monolith", "distributed"):
        runs = summary["variants"][variant]["runs"]
        assert len(runs) == 2
        for run in runs:
            checks = {c["name"]: c["ok"] for c in run["invariants"]["checks"]}
            assert run["invariants"]["error"] is None and all(checks.values()), run["invariants"]
            assert "stock adds up" in checks
            # The order events' checks, once their backlog drained: every order mailed once and counted once.
            assert {"every order mailed exactly once", "every order counted once in the sales figures",
                    "sales figures add up"} <= set(checks), checks  # fmt: skip
            assert run["drain"]["drained"] is True, run["drain"]
            outcomes = {e["label"]: e["outcome"] for e in run["events"]}
            assert outcomes["slow:mail@8s"] == "slow mail" and outcomes["kill:mail@13s"] == "kill mail", outcomes
            if variant == "distributed":
                assert outcomes["kill:broker@2s"] == "kill broker" and outcomes["start:broker@6s"] == "start broker"
                assert run["drain"]["dead_letters"] == 0
            else:
                assert outcomes["kill:broker@2s"].startswith("skipped: the monolith has no broker"), outcomes
            # Their CPU is the variant's: the mail server's in both, the broker's and the consumers' too here.
            assert ({"mail"} | (EVENTS if variant == "distributed" else set())) <= set(run["cpu"]), sorted(run["cpu"])
    assert summary["invariants_ok"] is True
    # Put back after the drill: every service runs and the mail servers have their usual pace again.
    assert cli.healthy(*DISTRIBUTED, variant="distributed") and cli.healthy(*MONOLITH, variant="monolith")
    assert cli.engine.mailbox("monolith").delay() == cli.engine.mailbox("distributed").delay() == 0
    page = (out / "index.html").read_text()
    assert "Engine: compose (Docker Engine" in page and "twinshop-distributed-db:latest (" in page


def test_down_leaves_no_container_network_or_cgroup(cli: Cli, docker_host: DockerHost):
    cgroup = cli.engine.cgroup("monolith").split("/")[0]
    assert cli("down").stdout.strip() == "stopped: monolith, distributed"
    for project in PROJECTS.values():
        label = f"label=com.docker.compose.project={project}"
        assert docker_host.docker_cmd("ps", "-a", "-q", "--filter", label).stdout.strip() == ""
        assert docker_host.docker_cmd("network", "ls", "-q", "--filter", label).stdout.strip() == ""
        # The data stays (as with the local engine) until --wipe.
        assert docker_host.docker_cmd("volume", "ls", "-q", "--filter", label).stdout.strip() != ""
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{cgroup}")) and not Path(f"/sys/fs/cgroup/{cgroup}").exists()
    assert cli("status").stdout.startswith("nothing is running")
    assert cli("down", "--wipe").stdout.strip() == "stopped: nothing was running; data wiped"
    for project in PROJECTS.values():
        label = f"label=com.docker.compose.project={project}"
        assert docker_host.docker_cmd("volume", "ls", "-q", "--filter", label).stdout.strip() == ""
