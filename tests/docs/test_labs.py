"""The labs say what the shop really does: their commands are run, and their outputs compared (scripts/labs.py).

What this covers, in about two minutes:

* every ```console block of labs 01–07 that runs in seconds is **run**, in order, as a student would
  (starting from the state `make demo` leaves), on a private state folder and ports, and its output is
  compared with the text: words, status codes, node names, order numbers and line counts exactly;
  pids, clocks, dates and Server-Timing durations loosely; figures the lab gives as ranges, in range;
* the slow blocks (the comparisons of labs 03–05 and 07, the Docker builds of lab 06) are **not run**: each
  command must pass bash's syntax check, name files that exist, pass the argument parser and — for
  `twinshop compare` — the harness's own plan checks (scenario, rounds, fault targets and times);
  and the output shown must be the one `make docs-figures` recorded from its last real run;
* the Spanish and English labs hold the same blocks, commands and outputs;
* the tables generated from stored results (labs 03–05 and 07, the instructor guide) are what those results give;
* every figure the docs show exists, and every file in docs/img is made by `make docs-figures`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from support import PORT_OFFSET

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import labs  # noqa: E402


def test_both_languages_hold_the_same_blocks():
    labs.check_pairs()


def test_every_lab_command_prints_what_the_lab_shows():
    # 250 above the suite's own engine: no port of one is a port of the other, nor of a shop at any multiple
    # of 1000 (see BASE_PORTS and DEFAULT_OFFSET).
    report = labs.walk(labs.selected([]), write=False, offset=PORT_OFFSET + 250, log=lambda line: None)
    assert not report.failures, "\n\n".join(report.failures)


def test_the_tables_are_what_the_stored_results_give():
    import results

    assert not results.check_generated()


def figures_made() -> set[str]:
    """docs/img files that `make docs-figures` writes: shots of the labs and charts of their reports."""
    made = set()
    for en, _ in labs.pairs():
        for item in labs.parse(en):
            o = item.options
            if "shot" in o:
                made.add(Path(o.get("file")).name)
            for pair in (o.get("figures") or "").split():
                made.add(pair.partition(":")[2])
    return made


def test_every_figure_is_shown_and_made_by_the_regeneration():
    shown = {m for doc in (ROOT / "docs").rglob("*.md") for m in re.findall(r"img/([\w.-]+\.png)", doc.read_text())}
    on_disk = {p.name for p in (ROOT / "docs" / "img").glob("*.png")}
    made = figures_made()
    assert shown <= on_disk, f"shown but missing: {sorted(shown - on_disk)}"
    assert on_disk <= shown, f"in docs/img but shown nowhere: {sorted(on_disk - shown)}"
    assert on_disk <= made, f"not made by `make docs-figures`: {sorted(on_disk - made)}"


# -- the comparison itself: strict where it must be ---------------------------------------------------


def compare(expected: str, actual: str, options: str = "") -> str | None:
    return labs.compare(expected.split("\n"), actual.split("\n"), labs.Options.parse(options, "test"))


def test_a_changed_message_fails():
    assert compare('{"error":"database_unavailable","message":"The database is unavailable right now."}',
                   '{"error":"database_unavailable","message":"the database cannot be reached"}')  # fmt: skip


def test_pids_clocks_and_durations_vary_but_not_the_words_around_them():
    shown = "monolith  monolith  9341  127.0.0.1:8001  RUNNING  healthy\nServer-Timing: db;dur=0.84, app;dur=36.80"
    assert (
        compare(shown, "monolith monolith 123 127.0.0.1:8001 RUNNING healthy\nServer-Timing: db;dur=9, app;dur=12.5")
        is None
    )
    assert compare(shown, "monolith monolith 123 127.0.0.1:8001 STOPPED healthy\nServer-Timing: db;dur=9, app;dur=12.5")
    assert compare(shown, "monolith monolith 123 127.0.0.1:8001 RUNNING healthy\nServer-Timing: db;dur=9")


def test_a_stated_range_holds_in_the_text_and_in_reality():
    rule = 'vary="(?<=ready in )[\\d.]+(?=s)@0.5..30"'
    assert compare("up (ready in 2.7s)", "up (ready in 4.1s)", rule) is None
    assert compare("up (ready in 2.7s)", "up (ready in 41.0s)", rule)
    assert compare("up (ready in 99.0s)", "up (ready in 4.1s)", rule)  # the text outside its own range


def test_a_lab_comment_with_a_bad_rule_is_a_clear_error_naming_its_place():
    with pytest.raises(labs.LabError, match=r"lab\.md:7: vary='\(\?<=\^\[a-z\]\+ \)x' is not a regular expression"):
        labs.Options.parse('vary="(?<=^[a-z]+ )x"', "lab.md:7")  # a look-behind of no fixed width
    with pytest.raises(labs.LabError, match="lab.md:7: unknown word 'slowly'"):
        labs.Options.parse("slowly", "lab.md:7")


def test_an_ellipsis_stands_for_lines_or_text_and_nothing_else():
    assert compare("report: …/index.html\n…", "report: /x/y/index.html\ntwinshop: Not trustworthy") is None
    assert compare("start\n…\ndone", "start\na\nb\ndone") is None
    assert compare("start\n…\ndone", "start\na\nb")
    assert compare("200 api-1\n200 api-2", "200 api-2\n200 api-1", "unordered") is None
    assert compare("200 api-1\n200 api-2", "200 api-2\n503 api-1", "unordered")


@pytest.mark.parametrize(
    "typed",
    [
        "curl http://127.0.0.1:8001/x",
        "mariadb -P 3307",
        "cat .twinshop/secrets.env",
        "curl http://127.0.0.1:15673/api/queues",
        "cp .env.example .env",
        "docker run --env-file .env twinshop-monolith",
    ],
)
def test_the_runner_moves_a_students_addresses_to_its_own_and_back(typed, tmp_path):
    machine = labs.Machine(home=tmp_path / "home", offset=700, tmp=tmp_path)
    moved = machine.command(typed)
    assert moved != typed
    assert machine.output(moved) == typed
    assert not re.search(r"(?<![\w/.-])\.env(?![\w.])", moved)  # lab 06's secrets: in the private folder, not the clone


def test_status_tables_are_aligned_again_and_a_swarm_address_stays_one_cell():
    printed = "\n".join([
        "NAME   VARIANT      PID    ADDRESS                     STATE    HEALTH   DETAIL",
        "api-1  distributed  30277  10.233.2.8:8000 (node-3)    RUNNING  healthy",
        "api-2  distributed  932    10.233.2.14:8000 (node-2)   RUNNING  healthy",
    ])  # fmt: skip
    assert labs.realign_status(printed).split("\n") == [
        "NAME   VARIANT      PID    ADDRESS                    STATE    HEALTH   DETAIL",
        "api-1  distributed  30277  10.233.2.8:8000 (node-3)   RUNNING  healthy",
        "api-2  distributed  932    10.233.2.14:8000 (node-2)  RUNNING  healthy",
    ]


def test_a_slow_command_is_checked_without_its_redirections_and_a_swarm_drill_against_the_labs_cluster(tmp_path):
    machine = labs.Machine(home=tmp_path / "home", offset=700, tmp=tmp_path)
    command = labs.Command(text="twinshop build --engine compose 2> /tmp/build.log", line=1, expected=[])
    labs.check_slow(command, machine, "lab.md:1")  # `2> /tmp/build.log` is the shell's, not an argument
    good = labs.Command(text="twinshop compare --engine swarm --quick --fault kill-node:node-2@30s", line=2,
                        expected=[])  # fmt: skip
    labs.check_slow(good, machine, "lab.md:2")
    manager = labs.Command(text="twinshop compare --engine swarm --quick --fault kill-node:node-1@30s", line=3,
                           expected=[])  # fmt: skip
    with pytest.raises(labs.LabError, match="lab.md:3: .* node-1 is the manager"):
        labs.check_slow(manager, machine, "lab.md:3")
    with pytest.raises(labs.LabError, match="lab.md:4: .* there is no node 'node-7'"):
        labs.check_slow(replace(manager, text=manager.text.replace("node-1", "node-7")), machine, "lab.md:4")
