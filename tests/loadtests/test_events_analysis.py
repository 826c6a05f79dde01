"""The order events in the analysis and the report, on crafted runs: the backlog, its drain after an event,
the mail-outage target on both variants, the sentences in both languages, the charts and the table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from crafted import START, comparison, run

from loadtests.analysis import events
from loadtests.analysis.run import analyse
from loadtests.drills import RunEvent, parse, resolve
from loadtests.harness.invariants import Drain
from loadtests.records import RequestRecord
from loadtests.report import render, sentences
from loadtests.report.words import Words

KILL = RunEvent("kill:mail@10s", "kill", "mail", 10.0, 10.0, services=("mail",))
START_MAIL = RunEvent("start:mail@20s", "start", "mail", 20.0, 20.0, services=("mail",))


def event_samples(variant: str, *, seconds: int = 34) -> list[tuple[float, str, float]]:
    """One order a second; the distributed mailers stop at 10 s and catch up from 20 s, 5 a second."""
    samples = []
    mailed = 0
    for t in range(seconds):
        orders = min(t, 29)
        if variant == "monolith" or t < 10:
            mailed = orders
        elif t >= 20:
            mailed = min(orders, mailed + 5)
        samples += [(t + 0.2, "db:orders", orders), (t + 0.2, "db:mailed", mailed), (t + 0.2, "db:counted", orders),
                    (t + 0.2, "db:unpublished", 0), (t + 0.2, "mail:received", mailed)]  # fmt: skip
        if variant == "distributed":
            samples += [(t + 0.2, "queue:mailer:messages", orders - mailed), (t + 0.2, "queue:mailer:acked", mailed),
                        (t + 0.2, "queue:sales:messages", 0), (t + 0.2, "queue:sales:acked", orders),
                        (t + 0.2, "queue:dead-letters:messages", 1 if t > 25 else 0)]  # fmt: skip
    return samples


def checkouts(variant: str) -> list[RequestRecord]:
    """A checkout every second; the monolith's fail while its mail server is down (10-20 s)."""
    found = []
    for t in range(30):
        down = variant == "monolith" and 10 <= t < 20
        monolith = variant == "monolith"
        found.append(RequestRecord(START + t + 0.3, "POST", "/checkout", 40.0 if monolith else 12.0, not down,
                                   503 if down else 303, "monolith" if monolith else "web-1,api-1",
                                   "mail;dur=25.00" if monolith else "", order_id=None if down else t + 1))
    return found


def with_events(variant: str):
    base = run(variant)
    m = replace(base.m, records=sorted(base.m.records + checkouts(variant), key=lambda r: r.timestamp),
                events=[KILL, START_MAIL], event_samples=event_samples(variant),
                drain=Drain(2.5, True, "", 1 if variant == "distributed" else None))  # fmt: skip
    return analyse(m)


def test_the_backlog_grows_while_the_mailers_cannot_work_and_drains_after_the_mail_server_returns():
    analysis = with_events("distributed")
    backlog = analysis.order_events.backlog
    assert backlog.peak == 10 and backlog.peak_at_s == 19
    # 10 left at 20 s, mailed 5 a second while 1 more comes each second: 2 left at 21 s, within the margin
    assert backlog.event == "start:mail@20s" and backlog.drain_s == pytest.approx(1.0)
    assert backlog.dead_letters == 1
    es = analysis.order_events.series
    assert es.has_broker and es.queues["mailer"][15] == 6 and es.consumed["mailer"][21] == 5


def test_the_monolith_never_has_a_backlog():
    analysis = with_events("monolith")
    assert analysis.order_events.backlog.peak == 0 and not analysis.order_events.series.has_broker


def test_the_mail_outage_target_is_met_by_the_distributed_variant_and_shown_for_comparison_on_the_monolith():
    (distributed,) = [t for t in with_events("distributed").targets if t.name == events.MAIL_OUTAGE]
    assert distributed.met is True and "0 of 10 checkouts failed" in distributed.measured
    assert "drained 1 s after start:mail@20s" in distributed.measured
    (monolith,) = [t for t in with_events("monolith").targets if t.name == events.MAIL_OUTAGE]
    assert monolith.met is None and "10 of 10 checkouts failed" in monolith.measured


def test_a_backlog_that_does_not_drain_in_time_misses_the_target():
    base = run("distributed")
    slow = [(t, label, value) for t, label, value in event_samples("distributed", seconds=60)]
    # mailers that never catch up: db:mailed frozen at 9 after 10 s
    slow = [(t, label, 9 if label == "db:mailed" and t > 10 else value) for t, label, value in slow]
    analysis = analyse(replace(base.m, records=base.m.records + checkouts("distributed"), events=[KILL, START_MAIL],
                               event_samples=slow))  # fmt: skip
    (target,) = [t for t in analysis.targets if t.name == events.MAIL_OUTAGE]
    assert target.met is False and "had not drained" in target.measured


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_report_tells_the_events_story_in_both_languages(tmp_path: Path, lang: str):
    c = comparison([with_events("monolith")], [with_events("distributed")], fault_spec="kill:mail@10s,start:mail@20s")
    w = Words(lang)
    lines = " ".join(sentences.events_sentences(c, w))
    if lang == "en":
        assert "The distributed variant's mail backlog grew to 10 orders" in lines
        assert "drained 1 s after start:mail@20s" in lines and "1 messages were dead-lettered" in lines
        assert "The monolith mailed and counted every order inside its checkout" in lines
        assert "(of which the SMTP round trip: 25 ms on average" in lines
    else:
        assert "El atraso de correos de la variante distribuida llegó a 10 pedidos" in lines
        assert "El monolito envió el correo y contó cada pedido dentro de su checkout" in lines
    index = render.write(tmp_path, c, lang=lang)
    page = index.read_text()
    assert 'id="events"' in page
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"events_backlog", "queue_depth", "consume_rate"} <= set(summary["charts"])
    assert summary["charts"]["events_backlog"]["markers"]  # the fault events are drawn on it
    run_data = summary["variants"]["distributed"]["runs"][0]
    assert run_data["order_events"]["backlog"]["peak"] == 10 and run_data["drain"]["seconds"] == 2.5
    assert (tmp_path / "data" / "events.csv").read_text().count("queue:mailer:messages") == 34


@pytest.mark.parametrize(
    "spec, monolith, distributed",
    [
        ("kill:mail@1s", ("kill", ("mail",), None), ("kill", ("mail",), None)),
        ("slow:mail@1s", ("slow", ("mail",), None), ("slow", ("mail",), None)),
        ("fast:mail@1s", ("fast", ("mail",), None), ("fast", ("mail",), None)),
        ("kill:broker@1s", ("kill", (), "skip"), ("kill", ("broker",), None)),
        ("kill:mailer-1@1s", ("kill", (), "skip"), ("kill", ("mailer-1",), None)),
        ("crash:sales@1s", ("crash", (), "skip"), ("crash", ("sales",), None)),
    ],
)
def test_order_event_faults_map_onto_both_variants(spec, monolith, distributed):
    event = parse(spec)[0]
    for variant, expected in (("monolith", monolith), ("distributed", distributed)):
        action, services, skipped = resolve(event, variant, api_replicas=3)
        assert (action, services) == expected[:2]
        assert (skipped is not None) == (expected[2] == "skip")
    _, _, reason = resolve(parse("kill:broker@1s")[0], "monolith", api_replicas=3)
    assert "mails and counts inline" in reason


def test_slow_and_fast_take_only_the_mail_server():
    from loadtests.drills import FaultSpecError

    with pytest.raises(FaultSpecError, match="takes the target mail"):
        parse("slow:api-1@1s")


def test_a_backlog_that_grows_only_after_the_event_drains_after_its_peak_not_at_the_event():
    """kill-node at 30 s: the backlog is still normal at 30 s, grows to 20 at 36 s (the dead node's mailer), is
    back at 45 s. The drain is measured after the peak: 15 s after the event, not "0 s"."""
    level = [0.0] * 36 + [20.0, 15.0, 12.0, 9.0, 7.0, 5.0, 4.0, 3.0, 2.5, 0.0] + [0.0] * 14
    series = SimpleNamespace(backlog_mail=level, queues={})
    kill = SimpleNamespace(happened=True, applied_s=30.0, action="kill-node", label="kill-node:node-2@30s")
    found = events.backlog(series, [kill])
    assert (found.peak, found.peak_at_s, found.event) == (20, 36.0, "kill-node:node-2@30s")
    assert found.drained_at_s == 45.0 and found.drain_s == pytest.approx(15.0)


def test_the_brokers_processes_are_not_called_imbalanced_workers():
    from loadtests.analysis.run import worker_shares

    cpu = {"broker/pid 1": {"mean": 90.0}, "broker/pid 2": {"mean": 0.1},
           "monolith:gunicorn/pid 3": {"mean": 40.0}, "monolith:gunicorn/pid 4": {"mean": 10.0}}  # fmt: skip
    assert worker_shares(cpu) == {"monolith:gunicorn": {"pid 3": 0.8, "pid 4": 0.2}}
