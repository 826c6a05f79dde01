"""Which shop a Locust run loads, and — in the web UI — a bar at the top of the page to choose it.

On the command line, ``--target monolith|distributed`` picks a variant's entry point (their
addresses default to the engine's, ``TWINSHOP_PORT_OFFSET`` honoured, and can be given with
``--monolith-url`` / ``--distributed-url``, as ``twinshop locust`` does); ``--target host`` keeps
Locust's own Host field.

In the web UI the same choice is a first-class control: :func:`install_web_ui` adds a bar above
Locust's page with the two targets and the scenarios. Choosing a target points Locust's Host at
it and resets the statistics and charts (the page reloads), so two targets never share a chart;
choosing a scenario makes the next run follow its load shape.
"""

from __future__ import annotations

import logging
from importlib import resources

from twinshop.options import VARIANTS
from twinshop.state import port_offset
from twinshop.topology import Ports

log = logging.getLogger(__name__)

HOST = "host"  # the target that keeps Locust's own Host field
URL_VARIABLES = {"monolith": "TWINSHOP_MONOLITH_URL", "distributed": "TWINSHOP_DISTRIBUTED_URL"}
BAR_SCRIPT = "target_bar.js"


def default_urls() -> dict[str, str]:
    """Each variant's entry point on this machine."""
    ports = Ports(port_offset())
    return {variant: ports.url(ports.entry(variant)) for variant in VARIANTS}


def add_arguments(parser) -> None:
    urls = default_urls()
    parser.add_argument(
        "--target",
        choices=[HOST, *VARIANTS],
        default=HOST,
        env_var="TWINSHOP_TARGET",
        include_in_web_ui=False,  # the web UI's bar chooses it
        help="Which shop to load: 'host' uses the Host field; monolith/distributed override it",
    )
    for variant in VARIANTS:
        parser.add_argument(
            f"--{variant}-url",
            default=urls[variant],
            env_var=URL_VARIABLES[variant],
            include_in_web_ui=False,
            help=f"Address of the {variant} variant's entry point, for --target {variant}",
        )


def urls_of(options) -> dict[str, str]:
    urls = default_urls()
    return {variant: getattr(options, f"{variant}_url", None) or urls[variant] for variant in VARIANTS}


def apply(environment) -> None:
    """Point the run at the chosen target (called when a run starts)."""
    options = environment.parsed_options
    target = getattr(options, "target", HOST) if options else HOST
    if target in VARIANTS:
        environment.host = urls_of(options)[target]
        log.info("target %s: %s", target, environment.host)


def current_target(environment) -> str | None:
    """The variant whose address Locust's host is (None: another address)."""
    urls = urls_of(environment.parsed_options)
    return next((variant for variant, url in urls.items() if url == (environment.host or "").rstrip("/")), None)


def install_web_ui(environment, scenarios: dict[str, str]) -> None:
    """Add the target and scenario bar to Locust's web UI (``scenarios``: name -> its stages in words)."""
    from flask import Response, jsonify, request
    from locust.runners import STATE_RUNNING, STATE_SPAWNING

    app = environment.web_ui.app
    script = resources.files("loadtests.visitors").joinpath(BAR_SCRIPT).read_text(encoding="utf-8")

    def state():
        options = environment.parsed_options
        return {
            "target": current_target(environment),
            "host": environment.host,
            "targets": urls_of(options),
            "scenario": getattr(options, "scenario", None),
            "scenarios": scenarios,
            "running": environment.runner is not None and environment.runner.state in (STATE_RUNNING, STATE_SPAWNING),
        }

    @app.route("/twinshop/choice", methods=["GET", "POST"])
    def choice():
        if request.method == "GET":
            return jsonify(state())
        body = request.get_json(silent=True) or {}
        target, scenario = body.get("target"), body.get("scenario")
        if target is not None and target not in VARIANTS:
            return jsonify({"error": "bad_target", "message": f"target must be one of {', '.join(VARIANTS)}"}), 400
        if scenario is not None and scenario not in scenarios:
            return jsonify({"error": "bad_scenario", "message": f"scenario must be one of {', '.join(scenarios)}"}), 400
        if state()["running"]:
            message = "Stop the test before changing the target or scenario."
            return jsonify({"error": "running", "message": message}), 409
        if scenario is not None:
            environment.parsed_options.scenario = scenario
        if target is not None and target != current_target(environment):
            environment.host = urls_of(environment.parsed_options)[target]
            environment.parsed_options.host = environment.host
            environment.parsed_options.target = HOST  # the bar has set the host; a run keeps it
            if environment.runner is not None:  # a new target starts new statistics and charts
                environment.runner.stats.reset_all()
                environment.runner.exceptions = {}
        return jsonify(state())

    @app.route(f"/twinshop/{BAR_SCRIPT}")
    def bar_script():
        return Response(script, mimetype="text/javascript")

    @app.after_request
    def add_the_bar(response):
        if request.path in ("/", "") and response.mimetype == "text/html" and not response.direct_passthrough:
            page = response.get_data(as_text=True)
            tag = f'<script src="./twinshop/{BAR_SCRIPT}" defer></script>'
            if tag not in page:
                response.set_data(page.replace("</head>", f"{tag}</head>", 1))
        return response
