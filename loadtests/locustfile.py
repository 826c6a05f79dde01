"""The twinshop load test: the same visitors and load shapes against the monolith or the distributed shop.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8001                 # web UI, monolith
    locust -f loadtests/locustfile.py --target distributed                          # web UI, distributed
    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8002 \\
        --scenario quick --raw-csv out/raw.csv --csv out/locust --csv-full-history

Custom parameters (also shown in the web UI's start form): ``--scenario`` (quick, step,
spike, soak), ``--scenario-duration`` and ``--peak-users`` (stretch a scenario), ``--seed``
(the base of every user's random choices) and ``--target`` (monolith / distributed: sets the
host from ``--monolith-url`` / ``--distributed-url``, so the UI can switch variants). Each
one also reads an environment variable, ``TWINSHOP_<NAME>``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

# Locust imports this file by its path: make the repository's packages importable from any folder.
if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locust import events  # noqa: E402
from locust.runners import MasterRunner, WorkerRunner  # noqa: E402

from loadtests.scenarios import LOCUST_DEFAULT, SCENARIOS  # noqa: E402
from loadtests.visitors import catalogue, recorder, targets, users  # noqa: E402
from loadtests.visitors.shapes import ScenarioShape, scenario_from_options  # noqa: E402, F401
from loadtests.visitors.users import ApiClient, Browser, Recommender, Searcher, Shopper  # noqa: E402, F401

log = logging.getLogger("twinshop.loadtest")

WEB_UI_SCENARIOS = ("quick", "step", "spike", "soak", "capacity")  # what a person picks in the web UI


@events.init_command_line_parser.add_listener
def add_twinshop_arguments(parser) -> None:
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default=LOCUST_DEFAULT,
        env_var="TWINSHOP_SCENARIO",
        include_in_web_ui=False,  # the web UI's bar chooses it (loadtests/visitors/targets.py)
        help="Load shape to run: quick (60 s), step (5 min), spike (4 min), soak (20 min), warmup, "
        "scaling (API clients asking for recommendations without pausing)",
    )
    parser.add_argument(
        "--scenario-duration",
        type=float,
        default=0.0,
        env_var="TWINSHOP_SCENARIO_DURATION",
        help="Stretch or squeeze the scenario to this many seconds (0: its own length)",
    )
    parser.add_argument(
        "--peak-users",
        type=int,
        default=0,
        env_var="TWINSHOP_PEAK_USERS",
        help="Scale the scenario's user counts so that its peak is this many users (0: as designed)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=users.DEFAULT_SEED,
        env_var="TWINSHOP_SEED",
        help="Base seed of every user's random choices: the same seed makes the same requests",
    )
    targets.add_arguments(parser)
    parser.add_argument(
        "--raw-csv",
        default="",
        env_var="TWINSHOP_RAW_CSV",
        include_in_web_ui=False,
        help="Write every request (time, name, method, ms, success, status, X-Served-By) to this CSV",
    )


@events.init.add_listener
def start_recording(environment, **_kwargs) -> None:
    options = environment.parsed_options
    recorder.install(environment, getattr(options, "raw_csv", "") if options else "")
    if environment.web_ui is not None:
        targets.install_web_ui(environment, {name: SCENARIOS[name].describe() for name in WEB_UI_SCENARIOS})


@events.test_start.add_listener
def prepare_run(environment, **_kwargs) -> None:
    """Point at the chosen target, learn the catalogue, and note what this run is (for the report)."""
    targets.apply(environment)
    if not environment.host:
        log.error("no host: give --host, or choose --target monolith / distributed")
        return
    users.new_run()
    if not isinstance(environment.runner, MasterRunner):  # a master (--processes N) makes no requests
        try:
            catalogue.catalogue_for(environment.host, refresh=True)
        except Exception as exc:  # the users will fail visibly; say why once, in plain words
            log.error("could not read the catalogue from %s/api/products: %s", environment.host, exc)
    if isinstance(environment.runner, WorkerRunner):
        return  # the master runs the shape and says when the stages start
    if environment.shape_class is not None:
        environment.shape_class.reset_time()  # the stages start now, not before the catalogue was read
    write_run_meta(environment)


def write_run_meta(environment) -> None:
    """``<raw>.meta.json``: when the run started and which stages it runs, for the harness."""
    options = environment.parsed_options
    raw = getattr(options, "raw_csv", "") if options else ""
    if not raw:
        return
    scenario = scenario_from_options(options)
    meta = {
        "start_time": time.time(),
        "host": environment.host,
        "scenario": scenario.name,
        "duration_s": scenario.duration_s,
        "stages": [[s.until_s, s.users, s.spawn_rate] for s in scenario.stages],
        "steady_users": scenario.steady_users,
        "settle_s": scenario.settle_s,
        "seed": users.base_seed(environment),
        "shape": type(environment.shape_class).__name__ if environment.shape_class else None,
        "pid": os.getpid(),
    }
    path = Path(raw)
    path.with_name(f"{path.stem}.meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
