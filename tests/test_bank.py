"""The submission bank (tests/bank/): wrong formulas, broken code and tampering, each graded as it deserves.

Every submission in `tests/bank/expected_scores.csv` is autograded in one `nbgrader autograde` run;
each autograded cell of the notebooks it submits must get full marks, or no points where the table
lists it (0, or left for manual grading, as nbgrader does with a deleted test cell).

The run takes place on a grading machine as an attacker would wish it: a server on 127.0.0.1 that
hands out answers, an SSH key in the grader's home and a token in its environment. The bank's
attacks on the grader (ATTACKS) must fail inside the kernel, in the sandbox (grading_engine/sandbox.py).
"""
import html
import re

import nbformat
import pytest

from attacks import ATTACKS, SECRETS, attempt_lines, grade_in_hostile_world
from kit_checks import assert_expected_scores, outputs_text, secret_lines
from tools.grading import ASSIGNMENT, ROOT, cell_scores, make_course, nbgrader, read_manifest, submit

BANK = read_manifest(ROOT / "tests" / "bank", "expected_scores.csv")
@pytest.fixture(scope="module")
def bank_run(tmp_path_factory):
    """A course folder of its own after one autograde run over all the bank's submissions."""
    root = make_course(tmp_path_factory.mktemp("bank"))
    for entry in BANK:
        submit(entry, root)
    return grade_in_hostile_world(root, tmp_path_factory.mktemp("grader-home"))


@pytest.fixture(scope="module")
def graded_bank(bank_run):
    return bank_run.root


@pytest.fixture(scope="module")
def bank_scores(graded_bank):
    return {(r["student"], r["notebook"], r["cell"]): r for r in cell_scores(f"sqlite:///{graded_bank / 'gradebook.db'}")}


@pytest.mark.parametrize("entry", BANK, ids=[e.name for e in BANK])
def test_bank_submission_gets_exactly_its_expected_scores(bank_scores, entry):
    """Does each bank submission score full marks, or 0 where the table says, on every cell it submitted?"""
    assert_expected_scores(entry, bank_scores)


def test_same_submission_grades_identically(bank_scores):
    """Do three gradings of the same complete submission give identical per-cell scores?"""
    runs = [{key[1:]: row["score"] for key, row in bank_scores.items() if key[0] == f"complete-run-{n}"} for n in (1, 2, 3)]
    assert runs[0] and runs[0] == runs[1] == runs[2]


def test_a_dead_kernel_costs_only_its_own_cells(graded_bank):
    """Is the kernel restarted after `os._exit`, with the cells after the crash still run?"""
    path = graded_bank / "autograded" / "kernel-dies-fails-gradient-tests" / ASSIGNMENT / "part1_understanding.ipynb"
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(path, as_version=4).cells}
    killed = cells["first_layer_gradient_matches_numeric"]
    assert any(o.get("ename") == "KernelDied" for o in killed.outputs), "the crashing cell should say the kernel died"
    # a cell that never ran would score full marks all the same: check that the last one really ran
    assert cells["simulated_variance_matches_formula"].execution_count is not None, "grading stopped at the crash"


def visible_text(page):
    """The text a student reads in an HTML page: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize("student", ["xavier-variance-uses-sum-fails-xavier", "numpy-monkeypatched-fails-later-tests"])
def test_feedback_shows_no_hidden_test(graded_bank, student):
    """Does the feedback a student gets hide the hidden tests' code and the graders' notes, while keeping the tests' messages?"""
    nbgrader("generate_feedback", ASSIGNMENT, "--force", f"--student={student}", course_root=graded_bank)
    pages = {path.stem: visible_text(path.read_text(encoding="utf-8"))
             for path in (graded_bank / "feedback" / student / ASSIGNMENT).glob("*.html")}
    assert "part2_techniques" in pages, f"no feedback for Part 2 was generated for {student}"
    for notebook, page in pages.items():
        hidden = secret_lines(f"{notebook}.ipynb", kinds=("hidden tests",))
        leaked = sorted(line for line in hidden if line in page)
        assert not leaked, f"feedback for {student} shows hidden test lines of {notebook}, e.g. {leaked[:3]}"
        assert "For graders" not in page, f"feedback for {student} shows the graders' marking notes in {notebook}"
    # what the student can act on stays: the failed test's message
    expected = "xavier_variance(100, 100) should be 0.01" if student.startswith("xavier") else "the tests cannot trust them"
    assert expected in pages["part2_techniques"], f"the feedback for {student} lost the failure message"


def test_grading_budget_trains_quietly(graded_bank):
    """Do Parts 3 and 4 train without progress lines under nbgrader (the full budget prints them)?"""
    for notebook in ["part3_applying", "part4_deep_networks"]:
        path = graded_bank / "autograded" / "complete-run-1" / ASSIGNMENT / f"{notebook}.ipynb"
        cells = nbformat.read(path, as_version=4).cells
        printed = "\n".join(output.get("text", "") for cell in cells for output in cell.get("outputs", []))
        assert "budget:" in printed, f"{notebook} printed nothing: the check below would prove nothing"
        for progress in ["Epoch ", "Training with", "layers, from"]:
            assert progress not in printed, f"{notebook} printed training progress ({progress!r}) under nbgrader"


@pytest.mark.parametrize("entry", ATTACKS)
def test_attack_fails_inside_the_sandbox(bank_run, entry):
    """Does each attack on the grader fail where it runs, in the kernel (its score is checked above)?"""
    lines = attempt_lines(bank_run.root, entry)
    assert len(lines) == 1, f"{entry} printed {lines}: its attack did not run"
    if entry.startswith("leaves-a-background-process"):
        assert lines[0].startswith("ATTEMPT started"), lines
        assert not bank_run.left_behind, f"processes of {entry} outlived grading: {bank_run.left_behind}"
        return
    assert lines[0].startswith("ATTEMPT blocked"), f"{entry}: {lines[0]}"
    if entry.startswith("writes-the-gradebook"):
        import sqlite3

        with sqlite3.connect(bank_run.root / "gradebook.db") as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "written_by_a_submission" not in tables
    if entry.startswith("connects-to"):
        assert bank_run.connections == 0, "a submission reached the server on 127.0.0.1"
    if entry.startswith("fills-the-disk"):  # stopped by the sandbox's tmpfs sizes, not by the host's disk
        written = int(re.search(r"wrote (\d+) MiB", lines[0]).group(1))
        assert "No space left" in lines[0] and written <= 3 * 256, lines[0]
    if entry.startswith("fork-bomb"):
        assert "Resource temporarily unavailable" in lines[0], lines[0]
    if entry.startswith("reads-ssh-keys"):
        text = outputs_text(bank_run.root / "autograded" / entry / ASSIGNMENT / "part1_understanding.ipynb")
        leaked = [name for name, secret in SECRETS.items() if secret in text]
        assert not leaked, f"the autograded notebook (and so the feedback) shows the grader's {leaked}"
