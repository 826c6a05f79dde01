"""The Locust web UI command: the same locustfile, pointed at either variant from the browser.

``twinshop locust`` runs :func:`command`; ``python -m loadtests.webui --target distributed``
does the same without the CLI. The UI listens on http://127.0.0.1:8089 and its start form
offers, besides the Host field, a "target" drop-down (host / monolith / distributed) that
switches the shop under test, and a "scenario" drop-down (quick, step, spike, soak). The
class picker (``--class-picker``) lets a student run only some user classes, or pick the
"Default" shape and type a user count by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from loadtests.scenarios import MEASURED_SCENARIOS

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
PROJECT_ROOT = LOCUSTFILE.parent.parent
DEFAULT_URLS = {"monolith": "http://127.0.0.1:8001", "distributed": "http://127.0.0.1:8002"}
DEFAULT_WEB_PORT = 8089


def command(
    target_url: str | None = None,
    scenario: str = "quick",
    *,
    monolith_url: str | None = None,
    distributed_url: str | None = None,
    web_port: int = DEFAULT_WEB_PORT,
    class_picker: bool = True,
    python: str | None = None,
) -> list[str]:
    """The command that opens the Locust web UI on 127.0.0.1:``web_port``.

    ``target_url`` pre-fills the Host field (the variant the UI starts with); the "target"
    drop-down in the UI switches to ``monolith_url`` or ``distributed_url`` (give the engine's
    entry URLs when it runs with a port offset).
    """
    if scenario not in MEASURED_SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of: {', '.join(MEASURED_SCENARIOS)}")
    cmd = [
        python or sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--web-host", "127.0.0.1",
        "--web-port", str(web_port),
        "--scenario", scenario,
        "--monolith-url", monolith_url or DEFAULT_URLS["monolith"],
        "--distributed-url", distributed_url or DEFAULT_URLS["distributed"],
    ]  # fmt: skip
    if target_url:
        cmd += ["--host", target_url]
    if class_picker:
        cmd.append("--class-picker")
    return cmd


def environment() -> dict[str, str]:
    """Environment for the command: the project importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Open the Locust web UI against a twinshop variant.")
    parser.add_argument("--target", choices=list(DEFAULT_URLS), default="monolith")
    parser.add_argument("--scenario", choices=list(MEASURED_SCENARIOS), default="quick")
    parser.add_argument("--web-port", type=int, default=DEFAULT_WEB_PORT)
    args = parser.parse_args(argv)
    cmd = command(DEFAULT_URLS[args.target], args.scenario, web_port=args.web_port)
    print(f"Locust web UI: http://127.0.0.1:{args.web_port}  (Ctrl-C to stop)", flush=True)
    os.execvpe(cmd[0], cmd, environment())  # noqa: S606 - replaces this process with Locust


if __name__ == "__main__":
    main()
