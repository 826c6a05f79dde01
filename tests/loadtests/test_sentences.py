"""'What the numbers say' follows the data: each branch of the sentence choice on crafted outcomes.

Every case builds rounds whose figures are known (tests/loadtests/crafted.py) and checks which
statements the report makes — and which it must not make.
"""

from __future__ import annotations

import crafted

from loadtests.analysis.run import DISTURBED_PERCENT, LOAD_GENERATOR_LIMIT
from loadtests.report import sentences
from loadtests.report.words import Words
from loadtests.scenarios import get_scenario

EN, ES = Words("en"), Words("es")


def rounds(variant: str, latencies, **kwargs):
    return [crafted.run(variant, r, latency_ms=lat, **kwargs) for r, lat in enumerate(latencies, start=1)]


def say(c, w=EN) -> str:
    return "\n".join(sentences.summary(c, w))


def test_a_clear_latency_difference_names_the_faster_variant_and_quotes_server_timing():
    c = crafted.comparison(rounds("monolith", (10, 11, 12)), rounds("distributed", (25, 26, 27)))
    text = say(c)
    assert "The monolith was faster: p95" in text and "in every round" in text
    assert "No clear difference in latency" not in text
    assert "Server-Timing shows where much of that time goes" in text  # api;dur explains most of the gap
    assert "Throughput (successful requests): no clear difference" in text
    assert "throughput was set by the users, not by the shops" in text  # 47 % of the budget, fast answers
    assert sentences.verdict(c, EN).startswith("Trustworthy")


def test_a_reversed_result_is_told_as_it_is_and_claims_no_cause():
    # the distributed variant faster: Server-Timing must not be offered as the cause of "its extra time"
    c = crafted.comparison(rounds("monolith", (30, 31, 32)), rounds("distributed", (10, 11, 12)))
    text = say(c)
    assert "The distributed variant was faster" in text
    assert "Server-Timing" not in text and "extra time" not in text


def test_overlapping_rounds_say_plainly_there_is_no_clear_difference():
    c = crafted.comparison(rounds("monolith", (10, 14, 18)), rounds("distributed", (12, 16, 20)))
    text = say(c)
    assert "No clear difference in latency at this load" in text and "varied by up to" in text
    assert "was faster" not in text and "Server-Timing" not in text


def test_one_round_calls_nothing_clear_and_says_why():
    c = crafted.comparison(rounds("monolith", (10,)), rounds("distributed", (30,)))
    assert "With one round per variant no difference can be called clear" in say(c)
    assert "was faster" not in say(c)
    assert any("One round per variant" in note for note in sentences.caveats(c, EN))


def test_when_a_variant_was_down_availability_leads_and_latency_leaves_refusals_out():
    # the monolith refuses every request after 15 s of a 30-s run: a 1-ms "answer" must not make it look fast
    mono = [crafted.run("monolith", r, latency_ms=10, down_from=15) for r in (1, 2, 3)]
    dist = rounds("distributed", (20, 21, 22))
    c = crafted.comparison(mono, dist)
    lines = sentences.summary(c, EN)
    assert lines[1].startswith("Availability differed clearly: the distributed variant answered more requests")
    text = "\n".join(lines)
    assert "requests got no answer at all" in text and "left out of every latency figure" in text
    assert "both served what the users asked for" not in text and "set by the users" not in text
    p95 = c.variant("monolith").spread("p95")
    assert p95.median > 10  # the answered requests only: 5-15 ms, not the 1-ms refusals
    assert "The monolith served" not in text or "successful" in text


def test_a_saturated_variant_is_called_saturated_with_its_share_of_the_budget():
    c = crafted.comparison(rounds("monolith", (10, 11, 12), services_cpu=146.0),
                           rounds("distributed", (20, 21, 22), services_cpu=80.0))  # fmt: skip
    text = say(c)
    assert "The monolith was saturated: the monolith used 97 % of its 1.5-core budget" in text
    assert "The distributed variant was not saturated" in text
    assert "set by the users" not in text


def test_an_uncapped_run_does_not_pretend_to_know_saturation():
    c = crafted.comparison(rounds("monolith", (10, 11, 12), budget=None), rounds("distributed", (20, 21, 22),
                           budget=None), budget=None)  # fmt: skip
    text = say(c)
    assert "cannot be read from a budget" in text and "saturated (" not in text
    assert any("uncapped" in note for note in sentences.caveats(c, EN))


def test_slow_answers_are_not_called_demand_limited():
    # mean latency far above a tenth of the users' pause: the closed loop slowed the users down
    c = crafted.comparison(rounds("monolith", (300, 305, 310)), rounds("distributed", (300, 302, 308)))
    text = say(c)
    assert "set by the users" not in text and "slow the users down" in text


def test_a_disturbed_run_makes_the_verdict_untrustworthy_with_the_measured_share():
    busy = [crafted.run("monolith", 1, others_cpu=DISTURBED_PERCENT + 40), crafted.run("monolith", 2)]
    c = crafted.comparison(busy, rounds("distributed", (20, 21)))
    verdict = sentences.verdict(c, EN)
    assert not c.trustworthy
    assert verdict.startswith("Not trustworthy: other programs used up to 65 % of a core during round 1 of the "
                              "monolith, even after measuring again 2 times")  # fmt: skip


def test_a_starved_load_generator_makes_the_verdict_untrustworthy():
    c = crafted.comparison(rounds("monolith", (10, 11)), [crafted.run("distributed", 1, locust_cpu=LOAD_GENERATOR_LIMIT
                           + 8), crafted.run("distributed", 2)])  # fmt: skip
    assert "the load generator reached 98 % of a core during round 1 of the distributed variant" in sentences.verdict(
        c, EN
    )


def test_a_rerun_is_reported_in_a_trustworthy_verdict():
    disturbed = crafted.run("distributed", 2, attempt=1, others_cpu=60)
    c = crafted.comparison(rounds("monolith", (10, 11)), rounds("distributed", (20, 21)),
                           discarded={"distributed": [disturbed]})  # fmt: skip
    assert c.trustworthy
    assert "Disturbed runs were measured again: round 2 of the distributed variant." in sentences.verdict(c, EN)


def test_failures_without_an_outage_are_counted_after_the_latency():
    c = crafted.comparison(rounds("monolith", (10, 11, 12)), rounds("distributed", (25, 26, 27), failures_every=300))
    lines = sentences.summary(c, EN)
    failures = next(i for i, line in enumerate(lines) if "failed requests out of" in line)
    latency = next(i for i, line in enumerate(lines) if "was faster" in line)
    assert latency < failures
    assert not any(line.startswith("Availability differed") for line in lines)


def test_the_spanish_report_uses_the_decimal_comma_and_spanish_words():
    c = crafted.comparison(rounds("monolith", (10, 11, 12)), rounds("distributed", (25, 26, 27)))
    text = say(c, ES)
    assert "El monolito fue más rápido" in text and "en todas las rondas" in text
    assert "19,6 pet/s" in text or "19,5 pet/s" in text
    assert "The monolith" not in text
    assert sentences.verdict(c, ES).startswith("Confiable")


def test_a_capacity_search_reports_each_variants_capacity():
    scenario = get_scenario("capacity", duration_s=40)  # 10 steps of 4 s
    mono = [crafted.run("monolith", r, latency_ms=20, scenario=scenario) for r in (1, 2)]
    dist = [crafted.run("distributed", r, latency_ms=400, scenario=scenario) for r in (1, 2)]
    c = crafted.comparison(mono, dist, scenario=scenario)
    text = say(c)
    assert "Capacity of the distributed variant (p95 ≤ 250 ms and at most 1 % failures): 0 users" in text
    assert "Capacity of the monolith" in text and "is at least that" in text  # no step of the monolith missed
