"""The code's layering, checked from its import statements: no cycles, and each room imports only what it may.

* No module imports itself back through others (lazy imports inside functions count too).
* ``loadtests/visitors`` runs inside Locust: it may use the shared plain data (``loadtests.scenarios``,
  ``loadtests.records``) and ``shop``/``twinshop`` definitions, never the experiment around it.
* The experiment (``loadtests.harness``, ``.analysis``, ``.report``, ``.drills``) never imports Locust
  (importing it patches the whole process with gevent).
* ``twinshop``'s engines and definitions never import ``loadtests``: only the CLI, at the top, does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shop", "monolith", "distributed", "mailsink", "twinshop", "loadtests")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules (and third-party top-level names) a file imports, anywhere in it."""
    found: set[str] = set()
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                   else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = set(modules())
    return {name: imports_of(path, known) for name, path in modules().items()}


def test_no_module_imports_itself_back(graph):
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in graph:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_what_runs_inside_locust_does_not_reach_into_the_experiment(graph):
    allowed = ("loadtests.visitors", "loadtests.scenarios", "loadtests.records", "shop", "twinshop.options",
               "twinshop.state", "twinshop.topology", "loadtests")  # fmt: skip
    for name, imported in graph.items():
        if name.startswith("loadtests.visitors") or name == "loadtests.locustfile":
            project = {m for m in imported if m.split(".")[0] in PACKAGES}
            assert all(m.startswith(allowed) and m != "loadtests.harness" for m in project), (name, project)
            assert not {m for m in project if m.startswith(("loadtests.harness", "loadtests.analysis",
                                                            "loadtests.report", "loadtests.drills"))}, name


def test_the_experiment_never_imports_locust(graph):
    for name, imported in graph.items():
        if name.startswith(("loadtests.harness", "loadtests.analysis", "loadtests.report", "loadtests.drills")):
            assert not {m for m in imported if m.split(".")[0] in ("locust", "gevent")}, name


def test_the_engines_never_import_the_load_tests(graph):
    for name, imported in graph.items():
        if name.startswith("twinshop") and name != "twinshop.cli":
            assert not {m for m in imported if m.startswith("loadtests")}, name
