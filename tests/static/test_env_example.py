""".env.example documents every environment variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:environ\.get|environ\[|_required|_int|_float|env_var=)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
ASSIGNED = re.compile(r"""["'](TWINSHOP_[A-Z0-9_]+)["']""")  # e.g. the web UI's URL variables, kept in a dict


def variables_read() -> set[str]:
    found = set()
    for folder in ("shop", "monolith", "distributed", "mailsink", "twinshop", "loadtests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            found |= set(READS.findall(text))
            if folder == "loadtests":
                found |= set(ASSIGNED.findall(text))
    return found


def test_every_variable_is_documented():
    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    read = variables_read()
    assert {"SECRET_KEY", "DB_PASSWORD", "API_URL", "DB_PORT", "TWINSHOP_SCENARIO", "TWINSHOP_DISTRIBUTED_URL",
            "TWINSHOP_ENGINE"} <= read  # the scan itself works  # fmt: skip
    assert read - documented == set()
