"""The ways to run a variant's topology; :func:`open_engine` picks one (``--engine`` or ``TWINSHOP_ENGINE``):
local processes, Docker Compose containers, or stacks on the Docker Swarm of ``twinshop cluster up``."""

from __future__ import annotations

import os

from twinshop.engines.base import Engine, EngineError
from twinshop.topology import Ports

ENGINES = ("local", "compose", "swarm")


def open_engine(name: str | None = None, ports: Ports | None = None) -> Engine:
    """The engine called ``name`` (default: TWINSHOP_ENGINE, else local) on ``ports`` (default: the offset's)."""
    name = name or os.environ.get("TWINSHOP_ENGINE") or "local"
    if name == "local":
        from twinshop.engines.local import LocalEngine

        return LocalEngine(ports=ports)
    if name == "compose":
        from twinshop.engines.compose import ComposeEngine

        return ComposeEngine(ports=ports)
    if name == "swarm":
        from twinshop.engines.swarm import SwarmEngine

        return SwarmEngine(ports=ports)
    raise EngineError(f"unknown engine {name!r}: choose {' or '.join(ENGINES)}")
