"""The `twinshop` command and the order events: the mailbox, the broker's queues in `status`, the mail server
that both variants have, scaling the mailers, and the broker's secret."""

from __future__ import annotations

import json

import requests
from support import wait_until
from test_cli import one_line_error, twinshop

from twinshop.state import Home


def rows(env) -> list[dict]:
    return json.loads(twinshop(env, "status", "--json").stdout)


def test_mail_lists_what_each_variant_sent(cli_env, monolith_url, distributed_url):
    ids = {}
    for variant, url in (("monolith", monolith_url), ("distributed", distributed_url)):
        placed = requests.post(f"{url}/api/orders", json={"email": "cli@example.com",
                               "items": [{"product_id": 11, "quantity": 1}]}, timeout=20)  # fmt: skip
        assert placed.status_code == 201, placed.text
        ids[variant] = placed.json()["id"]

    def mailed() -> bool:
        found = json.loads(twinshop(cli_env, "mail", "--json").stdout)
        return all(any(m["order"] == ids[v] for m in found.get(v, [])) for v in ids)

    assert wait_until(mailed, timeout=30)
    table = twinshop(cli_env, "mail", "distributed", "--last", "5").stdout
    assert table.startswith("distributed: ") and "SENT BY" in table and "mailer-" in table


def test_status_shows_the_event_services_the_queues_and_the_dead_letters(cli_env, distributed_url, monolith_url):
    found = rows(cli_env)
    by_variant = {(r["name"], r["variant"]): r for r in found}
    for name in ("broker", "mail", "mailer-1", "mailer-2", "sales"):
        assert by_variant[(name, "distributed")]["health"] == "healthy", by_variant[(name, "distributed")]
    assert by_variant[("mail", "monolith")]["health"] == "healthy"
    assert "dead-letters" in by_variant[("broker", "distributed")]["detail"]
    assert by_variant[("mailer-1", "distributed")]["detail"] == "consuming 'mailer'"
    table = twinshop(cli_env, "status").stdout
    assert "DETAIL" in table.splitlines()[0] and "mailer 0" in table or "mailer " in table


def test_a_name_both_variants_have_needs_the_variant(cli_env, monolith_url, distributed_url):
    line = one_line_error(twinshop(cli_env, "kill", "mail", check=False))
    assert "both variants have a service named 'mail'" in line and "--variant" in line
    twinshop(cli_env, "kill", "mail", "--variant", "monolith")
    try:
        by_variant = {(r["name"], r["variant"]): r for r in rows(cli_env)}
        assert by_variant[("mail", "monolith")]["state"] == "STOPPED"
        assert by_variant[("mail", "distributed")]["state"] == "RUNNING"
        assert by_variant[("monolith", "monolith")]["state"] == "RUNNING"  # the mail server is not in the box
    finally:
        twinshop(cli_env, "start", "mail", "--variant", "monolith")


def test_scale_mailer_refuses_a_count_out_of_range(cli_env, distributed_url):
    line = one_line_error(twinshop(cli_env, "scale", "mailer", "0", check=False))
    assert "mailer replicas must be from 1 to 9" in line


def test_a_secrets_file_from_before_the_broker_gets_its_broker_password(tmp_path):
    home = Home(tmp_path)
    (tmp_path / "secrets.env").write_text("SECRET_KEY=k1\nDB_PASSWORD=p1\n")
    secrets = home.secrets()
    assert (secrets.secret_key, secrets.db_password) == ("k1", "p1") and len(secrets.broker_password) == 32
    assert home.secrets().broker_password == secrets.broker_password  # generated once, then kept


def test_no_two_ports_of_the_layout_meet_for_offsets_a_multiple_of_1000_apart():
    """Two copies side by side (the tests, a student's own, the benchmarks) use offsets such as 0, 10000 and
    23000: no base port may be another one plus a multiple of 1000, or the copies would collide."""
    from twinshop import topology as t
    from twinshop.options import VariantOptions
    from twinshop.state import Secrets

    ports = t.Ports(0)
    bases = {ports.stats, ports.locust}
    for variant in ("monolith", "distributed"):
        options = VariantOptions(variant, api=9, web=9, mailers=9, standby=True)
        for service in t.build(options, ports=ports, secrets=Secrets("k", "p", "b")).services:
            bases |= set(service.all_ports())
    assert [(a, b) for a in sorted(bases) for b in sorted(bases) if a < b and (b - a) % 1000 == 0] == []
