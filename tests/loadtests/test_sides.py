"""Which engine and ports each side of a comparison gets (no engine is started here)."""

from __future__ import annotations

import pytest

from loadtests.harness.compare import SHIFT, ComparisonError, deployments
from twinshop.engines.local import LocalEngine
from twinshop.topology import Ports


@pytest.fixture
def local(tmp_path, monkeypatch) -> LocalEngine:
    monkeypatch.setenv("TWINSHOP_PORT_OFFSET", "100")
    return LocalEngine(tmp_path, Ports(100))


def test_the_same_variant_on_both_engines_runs_the_compose_side_on_shifted_ports_and_state(local):
    for names in (["monolith@local", "monolith@compose"], ["monolith@compose", "monolith@local"]):
        sides = {d.label: d for d in deployments(local, names)}
        assert sides["monolith@local"].engine is local
        compose = sides["monolith@compose"].engine
        assert compose.ports == Ports(100 + SHIFT)
        assert compose.entry_url("monolith") == f"http://127.0.0.1:{8001 + 100 + SHIFT}"
        assert compose.project("monolith") == f"twinshop-monolith-{100 + SHIFT}"
        assert compose.home.root.name == f"compose-{100 + SHIFT}"  # not the user's own compose state


def test_different_variants_keep_the_offset_they_were_given(local):
    sides = deployments(local, ["monolith@compose", "distributed@local"])
    assert [d.engine.ports for d in sides] == [Ports(100), Ports(100)]
    assert sides[0].engine.home.root.name == "compose"
    assert [d.label for d in sides] == ["monolith@compose", "distributed@local"]
    assert [d.label for d in deployments(local, ["monolith", "distributed"])] == ["monolith", "distributed"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["monolith", "monolith@local"], "each side of a comparison must differ"),
        (["monolith@compose", "monolith@compose"], "each side of a comparison must differ"),
        (["mainframe@compose", "monolith"], "unknown variant 'mainframe'"),
        (["monolith@cloud", "monolith"], "unknown engine 'cloud'"),
        ([], "nothing to compare"),
    ],
)
def test_sides_that_cannot_be_compared_are_refused(local, names, expected):
    with pytest.raises(ComparisonError, match=expected):
        deployments(local, names)
