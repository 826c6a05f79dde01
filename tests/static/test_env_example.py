""".env.example documents every environment variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:environ\.get|environ\[|_required|_int)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_read() -> set[str]:
    found = set()
    for folder in ("shop", "monolith", "distributed", "twinshop"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(READS.findall(path.read_text()))
    return found


def test_every_variable_is_documented():
    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    read = variables_read()
    assert {"SECRET_KEY", "DB_PASSWORD", "API_URL", "DB_PORT"} <= read  # the scan itself works
    assert read - documented == set()
