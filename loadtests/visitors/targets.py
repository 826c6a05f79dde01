"""Which shop a Locust run loads: the Host field, or one of the two variants by name.

The web UI's *target* control and ``--target`` on the command line pick ``monolith`` or
``distributed``; their addresses default to the engine's (``TWINSHOP_PORT_OFFSET`` honoured)
and can be given with ``--monolith-url`` / ``--distributed-url`` (``twinshop locust`` does).
"""

from __future__ import annotations

import logging

from twinshop.options import VARIANTS
from twinshop.state import port_offset
from twinshop.topology import Ports

log = logging.getLogger(__name__)

HOST = "host"  # the target that keeps Locust's own Host field


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
        help="Which shop to load: 'host' uses the Host field; monolith/distributed override it",
    )
    for variant in VARIANTS:
        parser.add_argument(
            f"--{variant}-url",
            default=urls[variant],
            env_var=f"TWINSHOP_{variant.upper()}_URL",
            include_in_web_ui=False,
            help=f"Address of the {variant} variant's entry point, for --target {variant}",
        )


def apply(environment) -> None:
    """Point the run at the chosen target (called when a run starts)."""
    options = environment.parsed_options
    target = getattr(options, "target", HOST) if options else HOST
    if target in VARIANTS:
        environment.host = getattr(options, f"{target}_url", None) or default_urls()[target]
        log.info("target %s: %s", target, environment.host)
