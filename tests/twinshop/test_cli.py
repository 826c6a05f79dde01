"""The `twinshop` command as a user runs it: up, status, kill, start, reset, down, and its errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import wait_until

from shop import seed

_, PRODUCTS = seed.generate()
TWINSHOP = [sys.executable, "-m", "twinshop.cli"]


def twinshop(env, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
    result = subprocess.run([*TWINSHOP, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"twinshop {' '.join(args)} failed: {result.stderr}")
    return result


def status_rows(env) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(twinshop(env, "status", "--json").stdout)}


def ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def one_line_error(result) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinshop: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_up_twice_is_harmless_and_says_it_was_already_running(cli_env, monolith_url):
    result = twinshop(cli_env, "up", "monolith")
    assert result.stdout.startswith(f"monolith is already running at {monolith_url} (started at ")
    assert "ready in" not in result.stdout
    assert ready(monolith_url)


def test_status_lists_the_box_and_its_processes(cli_env, monolith_url):
    rows = status_rows(cli_env)
    assert {"monolith", "monolith:mariadb", "monolith:gunicorn"} <= set(rows)
    for name in ("monolith", "monolith:mariadb", "monolith:gunicorn"):
        assert rows[name]["state"] == "RUNNING" and rows[name]["health"] == "healthy"
        os.kill(rows[name]["pid"], 0)  # a live process
    assert rows["monolith"]["address"] == monolith_url.removeprefix("http://")
    table = twinshop(cli_env, "status").stdout
    assert table.splitlines()[0].split() == ["NAME", "VARIANT", "PID", "ADDRESS", "STATE", "HEALTH", "DETAIL"]


def test_kill_and_start_the_app_process(cli_env, monolith_url):
    try:
        twinshop(cli_env, "kill", "monolith:gunicorn")
        assert status_rows(cli_env)["monolith:gunicorn"]["state"] == "STOPPED"
        assert status_rows(cli_env)["monolith"]["state"] == "DEGRADED"
        with pytest.raises(requests.ConnectionError):
            requests.get(monolith_url + "/healthz", timeout=2)
    finally:
        twinshop(cli_env, "start", "monolith:gunicorn")
    assert wait_until(lambda: ready(monolith_url))


def test_database_restart_is_survived_without_restarting_the_app(cli_env, monolith_url):
    app_pid = status_rows(cli_env)["monolith:gunicorn"]["pid"]
    try:
        twinshop(cli_env, "kill", "monolith:mariadb")
        response = requests.get(monolith_url + "/api/products/1", timeout=10)
        assert response.status_code == 503
        assert response.json()["error"] == "database_unavailable"
        assert requests.get(monolith_url + "/readyz", timeout=10).status_code == 503
        page = requests.get(monolith_url + "/products/1", timeout=10)
        assert page.status_code == 503 and "Traceback" not in page.text
        assert "text/html" in page.headers["Content-Type"]
    finally:
        twinshop(cli_env, "start", "monolith:mariadb")
    assert wait_until(lambda: ready(monolith_url))
    assert requests.get(monolith_url + "/api/products/1", timeout=10).status_code == 200
    assert status_rows(cli_env)["monolith:gunicorn"]["pid"] == app_pid  # recovered by itself


def test_reset_reloads_the_seed(cli_env, monolith_url):
    product = PRODUCTS[200]
    body = {"email": "r@example.com", "items": [{"product_id": product["id"], "quantity": 1}]}
    placed = requests.post(monolith_url + "/api/orders", json=body, timeout=10)
    assert placed.status_code == 201, placed.text
    order = f"{monolith_url}/api/orders/{placed.json()['id']}"
    assert requests.get(order, timeout=10).status_code == 200
    stock_url = f"{monolith_url}/api/products/{product['id']}"
    assert requests.get(stock_url, timeout=10).json()["stock"] == product["stock"] - 1
    result = twinshop(cli_env, "reset", "monolith")
    assert result.stdout.strip() == "seed data reloaded: monolith"
    assert requests.get(stock_url, timeout=10).json()["stock"] == product["stock"]
    assert requests.get(order, timeout=10).status_code == 404


def test_down_keeps_the_data_and_up_brings_it_back(cli_env, monolith_url):
    body = {"email": "keep@example.com", "items": [{"product_id": PRODUCTS[300]["id"], "quantity": 1}]}
    placed = requests.post(monolith_url + "/api/orders", json=body, timeout=10)
    assert placed.status_code == 201, placed.text
    result = twinshop(cli_env, "down", "monolith")
    assert "stopped: monolith" in result.stdout
    assert "monolith" not in status_rows(cli_env)
    twinshop(cli_env, "up", "monolith")
    assert requests.get(f"{monolith_url}/api/orders/{placed.json()['id']}", timeout=10).status_code == 200


@pytest.mark.parametrize(
    "args, expected",
    [
        (["kill", "no-such-service"], "no service named 'no-such-service'"),
        (["start", "api-7"], "no service named 'api-7'"),
        (["up", "monolith", "--web", "2"], "belong to the distributed variant"),
        (["up", "distributed", "--workers", "3"], "belongs to the monolith"),
        (["up", "distributed", "--api", "0"], "--api must be from 1 to"),
        (["up", "monolith", "--workers", "3"], "already running"),
    ],
)
def test_bad_commands_get_a_one_line_reason(cli_env, monolith_url, args, expected):
    assert expected in one_line_error(twinshop(cli_env, *args, check=False))


def test_unknown_variant_is_refused(cli_env):
    result = twinshop(cli_env, "up", "mainframe", check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_port_already_taken_names_the_port(tmp_path):
    offset = 20000
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": str(offset)}
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 8001 + offset))
        blocker.listen()
        message = one_line_error(twinshop(env, "up", "monolith", check=False))
    assert f"port {8001 + offset}" in message and "monolith:gunicorn" in message
    assert twinshop(env, "status").stdout.startswith("nothing is running")


def test_commands_on_a_variant_that_is_not_running(tmp_path):
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": "21000"}
    assert "no variant is running" in one_line_error(twinshop(env, "reset", check=False))
    assert "nothing was running" in twinshop(env, "down").stdout


def test_access_log_logs_every_request_only_when_asked(tmp_path):
    home, offset = tmp_path / "home", 23000
    env = {**os.environ, "TWINSHOP_HOME": str(home), "TWINSHOP_PORT_OFFSET": str(offset)}
    try:
        twinshop(env, "up", "monolith", "--access-log")
        twinshop(env, "up", "distributed", "--web", "1", "--api", "1", "--access-log")
        assert requests.get(f"http://127.0.0.1:{8001 + offset}/products/17", timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{8002 + offset}/products/18", timeout=5).status_code == 200

        def logged(variant: str, program: str, text: str) -> bool:
            return text in (home / variant / "logs" / f"{program}.log").read_text()

        assert wait_until(lambda: logged("monolith", "gunicorn", '"GET /products/17 HTTP/1.1" 200'))
        assert wait_until(lambda: logged("distributed", "lb", '"GET /products/18 HTTP/1.1"'))
        assert wait_until(lambda: logged("distributed", "lb", '"GET /api/products/18 HTTP/1.1"'))  # the inner hop
        refused = twinshop(env, "up", "monolith", "--workers", "3", check=False)
        assert "running with --workers 2 --access-log" in one_line_error(refused)
    finally:
        twinshop(env, "down", "--wipe")


def test_crash_is_restarted_by_supervisord(cli_env, monolith_url):
    before = status_rows(cli_env)["monolith:gunicorn"]["pid"]
    result = twinshop(cli_env, "crash", "monolith:gunicorn")
    assert "restarts it" in result.stdout
    assert wait_until(lambda: status_rows(cli_env)["monolith:gunicorn"]["pid"] not in (None, before))
    assert wait_until(lambda: ready(monolith_url))
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)


def test_cpu_cap_puts_every_process_of_the_variant_in_a_limited_cgroup(tmp_path):
    from twinshop import cpucap
    from twinshop.state import Home

    fs, why = cpucap.detect()
    if fs is None:
        pytest.skip(f"no writable cgroups here: {why}")
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": "22000"}
    group = fs.path(Home((tmp_path / "home").resolve()).cgroup("monolith"))
    try:
        twinshop(env, "up", "monolith", "--cpus", "0.5")
        limit = (
            (group / "cpu.max").read_text().split()[0] if fs.version == 2 else (group / "cpu.cfs_quota_us").read_text()
        )
        assert int(limit) == 50_000  # 0.5 CPU of each 100 ms period
        members = {int(pid) for pid in (group / "cgroup.procs").read_text().split()}
        for row in status_rows(env).values():
            assert row["pid"] in members, row  # mariadbd, gunicorn and supervisord itself
        message = one_line_error(twinshop(env, "up", "monolith", "--cpus", "0.3", check=False))
        assert "already running with --workers 2 --cpus 0.5" in message
    finally:
        twinshop(env, "down", "--wipe")
    assert not group.exists()


@pytest.mark.parametrize("value", ["abc", "-5", "99999"])
def test_a_malformed_port_offset_is_one_line_naming_the_variable(tmp_path, value):
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home"), "TWINSHOP_PORT_OFFSET": value}
    message = one_line_error(twinshop(env, "status", check=False))
    assert "TWINSHOP_PORT_OFFSET must be a whole number" in message and repr(value) in message


@pytest.mark.parametrize(
    "args, expected",
    [
        (["compare", "--scenario", "nope"], "choose one of: quick, step, spike, soak, capacity, or scaling"),
        (["compare", "--quick", "--out", "/proc/x"], "cannot write the report to /proc/x"),
        (["compare", "--quick", "--fault", "kill:api-9@5s"], "there is no service 'api-9' (this run has api-1"),
        (["compare", "--quick", "--fault", "kill:web-3@5s"], "there is no service 'web-3'"),
        (["compare", "--quick", "--fault", "kill:api-1@99s"], "would happen after the end of the 60-second run"),
        (["compare", "--quick", "--fault", "explode:api-1@5s"], "action 'explode' is not one of"),
        (["compare", "--quick", "--rounds", "0"], "--rounds must be from 1 to"),
        (["compare", "--quick", "--reruns", "9"], "--reruns must be from 0 to 5, not 9"),
        (["compare", "--quick", "--cpus", "1", "--uncapped"], "do not go together"),
        (["compare", "--scenario", "scaling", "--fault", "kill:db@5s"], "do not go together"),
        (["compare", "--quick", "monolith", "monolith"], "each side of a comparison must differ"),
        (["compare", "--quick", "mainframe", "distributed"], "unknown variant 'mainframe'"),
        (["compare", "--quick", "monolith@cloud", "monolith"], "unknown engine 'cloud'"),
    ],
)
def test_compare_refuses_bad_requests_in_one_line_before_anything_starts(
    cli_env, monolith_url, args, expected, tmp_path
):
    before = {name: row["pid"] for name, row in status_rows(cli_env).items()}
    extra = [] if "--out" in args else ["--out", str(tmp_path / "report")]
    message = one_line_error(twinshop(cli_env, *args, *extra, check=False))
    assert expected in message, message
    assert {name: row["pid"] for name, row in status_rows(cli_env).items()} == before  # nothing restarted


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`twinshop status | head -1` as a student types it: the installed command, its stdout a pipe whose
    reader has already gone. No traceback: the shell's status for a closed pipe (128 + SIGPIPE)."""
    command = Path(sys.executable).with_name("twinshop")
    env = {**os.environ, "TWINSHOP_HOME": str(tmp_path / "home")}
    env.pop("TWINSHOP_ENGINE", None)
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([str(command), "status"], stdout=write, stderr=subprocess.PIPE, env=env, text=True,
                                timeout=60)  # fmt: skip
    finally:
        os.close(write)
    assert result.stderr == "" and result.returncode == 141, (result.returncode, result.stderr)
