"""Without a Docker engine: a one-line skip on a laptop, a failure in CI (CI=true).

Run for real: a nested pytest on one container test, with a PATH where no `docker` exists.
"""

from __future__ import annotations

import os
import subprocess
import sys

from dockerhost import ROOT

ONE_CONTAINER_TEST = "tests/containers/test_images.py::test_the_monolith_box_fits_in_500_mb"


def run_without_docker(*, ci: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["PATH"] = os.path.dirname(sys.executable)  # the venv's bin/: python, no docker
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", ONE_CONTAINER_TEST, "-rsf", "-p", "no:cacheprovider", "-o", "addopts="]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_without_an_engine_the_container_tests_skip_with_one_line():
    result = run_without_docker(ci=None)
    assert result.returncode == 0, result.stdout[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert "no Docker engine: no docker command: install Debian's docker.io" in line


def test_in_ci_a_missing_engine_is_a_failure():
    result = run_without_docker(ci="true")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "CI=true but no Docker engine: no docker command: install Debian's docker.io" in result.stdout
    assert "1 error" in result.stdout.splitlines()[-1]
