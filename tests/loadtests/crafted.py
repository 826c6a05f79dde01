"""Crafted runs for the analysis and report tests: synthetic measurements whose numbers are known.

``run()`` builds one round of one variant (records, users, CPU samples) with a chosen latency,
failure pattern and CPU use; ``comparison()`` puts rounds of two variants together as the
harness would. Nothing here starts a process.
"""

from __future__ import annotations

import random

from loadtests.analysis.rounds import Comparison, Setup, VariantRounds
from loadtests.analysis.run import LOCUST, MACHINE, OTHERS, STEAL, Measurement, RunAnalysis, analyse
from loadtests.records import RequestRecord
from loadtests.scenarios import get_scenario
from twinshop.options import CpuCaps

START = 1_700_000_000.0
ENDPOINTS = ("/", "/products/[id]", "/search?q=[word]", "/api/products/[id]")
SCENARIO = get_scenario("quick", duration_s=30, peak_users=10)
MACHINE_FACTS = {"logical_cores": 2, "physical_cores": 2, "memory_gb": 4, "load_average_1m": 0.5,
                 "platform": "test", "python": "3.11"}  # fmt: skip


def run(
    variant: str,
    round: int = 1,
    *,
    latency_ms: float = 10.0,
    requests_per_user_s: int = 2,
    failures_every: int = 0,
    unanswered_every: int = 0,
    served_by: str | None = None,
    services_cpu: float = 70.0,
    others_cpu: float = 5.0,
    locust_cpu: float = 8.0,
    budget: float | None = 1.5,
    attempt: int = 1,
    scenario=SCENARIO,
    down_from: float | None = None,
) -> RunAnalysis:
    """One analysed run: each user makes ``requests_per_user_s`` requests per second, every answer takes
    between 0.5 and 1.5 × ``latency_ms``; every n-th request fails with a 503 (``failures_every``) or gets no
    answer at all (``unanswered_every``), and with ``down_from`` every request after that second is refused."""
    rng = random.Random(f"{variant}:{round}:{attempt}")
    served = served_by or ("monolith" if variant == "monolith" else "web-{0},api-{0}")
    seconds = range(int(scenario.duration_s) + 1)
    users = [(float(t), min(scenario.steady_users, scenario.planned_users(t))) for t in seconds]
    records = []
    n = 0
    for t, count in users[:-1]:
        for _ in range(count * requests_per_user_s):
            n += 1
            refused = (unanswered_every and n % unanswered_every == 0) or (down_from is not None and t >= down_from)
            failed = bool(failures_every and n % failures_every == 0)
            status = 0 if refused else 503 if failed else 200
            records.append(
                RequestRecord(
                    timestamp=START + t + rng.random() * 0.5,
                    method="GET",
                    name=rng.choice(ENDPOINTS),
                    response_time_ms=1.0 if refused else latency_ms * (0.5 + rng.random()),
                    success=status == 200,
                    status=status,
                    served_by="" if refused else served.format(n % 2 + 1),
                    server_timing="" if refused else f"db;dur={latency_ms / 3:.2f}, api;dur={latency_ms / 2:.2f}",
                    error="connection refused" if refused else "status 503" if failed else "",
                )
            )
    cpu = []
    for t in range(0, int(scenario.duration_s) + 1):
        cpu += [(t + 0.01, "db", services_cpu * 0.4), (t + 0.01, "app", services_cpu * 0.6),
                (t + 0.01, LOCUST, locust_cpu), (t + 0.01, OTHERS, others_cpu), (t + 0.01, STEAL, 0.0),
                (t + 0.01, MACHINE, services_cpu + locust_cpu + others_cpu)]  # fmt: skip
    return analyse(
        Measurement(
            variant=variant,
            round=round,
            attempt=attempt,
            url="http://127.0.0.1:8001" if variant == "monolith" else "http://127.0.0.1:8002",
            scenario=scenario,
            start_time=START,
            records=sorted(records, key=lambda r: r.timestamp),
            users=users,
            cpu=cpu,
            cpu_budget=budget,
        )
    )


def comparison(
    monolith: list[RunAnalysis],
    distributed: list[RunAnalysis],
    *,
    budget: float | None = 1.5,
    fault_spec: str | None = None,
    discarded: dict[str, list[RunAnalysis]] | None = None,
    scenario=SCENARIO,
) -> Comparison:
    discarded = discarded or {}
    setup = Setup(
        scenario=scenario,
        rounds=max(len(monolith), len(distributed)),
        seed=1,
        warmup_s=8,
        reset=True,
        caps={"monolith": CpuCaps(variant=budget), "distributed": CpuCaps(variant=budget)},
        machine=MACHINE_FACTS,
        engine={"engine": "local (test)"},
        locust_version="test",
        fault_spec=fault_spec,
        max_reruns=2,
    )
    return Comparison(
        setup=setup,
        variants=[VariantRounds("monolith", monolith, discarded.get("monolith", [])),
                  VariantRounds("distributed", distributed, discarded.get("distributed", []))],
        created="2026-12-01 12:00:00 UTC",
    )  # fmt: skip
