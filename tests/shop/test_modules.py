"""shop/ as a newcomer meets it: every module imports on its own, and no two import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SHOP = Path(__file__).resolve().parents[2] / "shop"
MODULES = sorted(f"shop.{path.stem}" for path in SHOP.glob("*.py") if path.stem != "__init__" and "." not in path.stem)


def shop_imports(module: str) -> set[str]:
    """The shop.* modules ``module`` imports, at the top or inside a function."""
    tree = ast.parse((SHOP / f"{module.removeprefix('shop.')}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shop"):
            if node.module == "shop":
                found |= {f"shop.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("shop.")}
    return found & set(MODULES)


def test_the_module_list_is_complete():
    assert {"shop.api", "shop.app", "shop.data", "shop.pages", "shop.validation", "shop.worker"} <= set(MODULES)


def test_no_import_cycle_in_shop():
    graph = {module: shop_imports(module) for module in MODULES}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path, module))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in MODULES:
        visit(module, ())


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
