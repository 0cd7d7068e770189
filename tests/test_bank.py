"""The submission bank (tests/bank/): wrong formulas, broken code and tampering, each graded as it deserves.

Every submission in `tests/bank/expected_scores.csv` is autograded in one run on two local Dask workers
(grading_engine/cluster.py: nbgrader's own autograde in each, side by side);
each autograded cell of the notebooks it submits must get full marks, or no points where the table
lists it (0, or left for manual grading, as nbgrader does with a deleted test cell).

The run takes place on a grading machine as an attacker would wish it: a server on 127.0.0.1 that
hands out answers, an SSH key in the grader's home and a token in its environment. The bank's
attacks on the grader (ATTACKS) must fail inside the kernel, in the sandbox (grading_engine/sandbox.py).
"""
import html
import re
from html.parser import HTMLParser

import nbformat
import pytest

from attacks import ATTACKS, SECRETS, attempt_lines, grade_in_hostile_world
from kit_checks import assert_expected_scores, outputs_text, secret_lines
from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from grading_engine.cluster import pack
from tools.grading import cell_scores, make_course, read_manifest, submit

BANK = read_manifest(ROOT / "tests" / "bank", "expected_scores.csv")
@pytest.fixture(scope="module")
def bank_run(tmp_path_factory):
    """A course folder of its own after one autograde run over all the bank's submissions."""
    root = make_course(tmp_path_factory.mktemp("bank"))
    for entry in BANK:
        submit(entry, root)
    return grade_in_hostile_world(root, tmp_path_factory.mktemp("grader-home"), workers=2)


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
    """Do two gradings of the same complete submission, side by side on the two workers, give identical
    per-cell scores?"""
    runs = [{key[1:]: row["score"] for key, row in bank_scores.items() if key[0] == f"complete-run-{n}"} for n in (1, 2)]
    assert runs[0] and runs[0] == runs[1]


def test_a_dead_kernel_costs_only_its_own_cells(graded_bank):
    """Is the kernel restarted after `os._exit`, with the cells after the crash still run?"""
    path = graded_bank / "autograded" / "kernel-dies-fails-gradient-tests" / ASSIGNMENT / "part1_understanding.ipynb"
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(path, as_version=4).cells}
    killed = cells["first_layer_gradient_matches_numeric"]
    assert any(o.get("ename") == "KernelDied" for o in killed.outputs), "the crashing cell should say the kernel died"
    # a cell that never ran would score full marks all the same: check that the last one really ran (in the
    # verifier, which calls the student's function, and so the restarted kernel)
    assert cells["simulated_variance_matches_formula"].execution_count is not None, "grading stopped at the crash"


def visible_text(page):
    """The text a student reads in an HTML page: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def feedback(graded_bank):
    """{(student, notebook): the text a student reads in its feedback page}, for the whole bank."""
    nbgrader("generate_feedback", ASSIGNMENT, "--force", course_root=graded_bank)
    return {(path.parts[-3], path.stem): visible_text(path.read_text(encoding="utf-8"))
            for path in (graded_bank / "feedback").glob(f"*/{ASSIGNMENT}/*.html")}


def test_feedback_never_shows_a_hidden_test(feedback):
    """Does no feedback page of any bank submission hold a line of a hidden test or the graders' notes,
    whatever the submission's code printed, displayed or raised (entries that print the cells calling
    them, everything in the kernel's memory and history, or raise with their callers' source)?"""
    students = {student for student, _ in feedback}
    assert students == {entry.name for entry in BANK}, f"feedback is missing for {sorted({e.name for e in BANK} - students)}"
    leaks = {}
    for (student, notebook), page in feedback.items():
        # (a line that is in the model solution too may be the student's own: a complete submission has it)
        hidden = secret_lines(f"{notebook}.ipynb", kinds=("hidden tests",)) - secret_lines(f"{notebook}.ipynb", kinds=("answers",))
        assert len(hidden) > 3, f"{notebook} has only {len(hidden)} hidden lines: the check would prove nothing"
        leaked = sorted(line for line in hidden if line in page)
        if leaked:
            leaks[f"{student}/{notebook}"] = leaked[:2]
        assert "For graders" not in page, f"feedback for {student} shows the graders' marking notes in {notebook}"
    assert not leaks, f"feedback shows hidden test lines: {leaks}"


def test_feedback_pages_load_nothing_and_show_math_as_mathml(graded_bank, feedback):
    """Does every feedback page stand on its own offline (feedback_page/): no script, stylesheet or
    font to fetch, not nbgrader's MathJax from a CDN, and the formulas of the Markdown, the students'
    answers among them, as MathML that the browser draws itself, whichever delimiters they use?"""
    pages = {path: path.read_text(encoding="utf-8") for path in (graded_bank / "feedback").glob(f"*/{ASSIGNMENT}/*.html")}
    assert len(pages) == len(feedback)
    for path, page in pages.items():
        fetched = fetches(page)
        assert not fetched, f"{path} would fetch {fetched[:3]}"
    complete = pages[graded_bank / "feedback" / "complete-run-1" / ASSIGNMENT / "part2_techniques.html"]
    assert complete.count("<math") > 10, "the complete submission's Part 2 feedback shows no formula as MathML"
    # the model answers write \\( \\frac{...} \\) and $...$; neither is left as LaTeX for a script to typeset
    text = feedback[("complete-run-1", "part2_techniques")]
    assert "\\frac" not in text and "$" not in text, "a formula of Part 2's feedback is still LaTeX"


class _Fetches(HTMLParser):
    """What an HTML page's markup would load (not its text: a student's answer may quote `url("http:...")`,
    which the page shows as text): script, link, frame and object elements, an element's remote source,
    and `@import` or a remote `url(` in a style element or attribute."""
    REMOTE_CSS = re.compile(r"@import|url\(\s*['\"]?\s*(?:https?:)?//", re.IGNORECASE)

    def __init__(self):
        super().__init__()
        self.found, self.in_style = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "link", "iframe", "frame", "object", "embed"):
            self.found.append(f"<{tag}>")
        if self.REMOTE_CSS.search(attrs.get("style") or ""):
            self.found.append(f"<{tag} style={attrs['style']!r}>")
        if tag != "a" and re.match(r"\s*(?:https?:)?//", attrs.get("src") or attrs.get("href") or ""):
            self.found.append(f"<{tag} {attrs.get('src') or attrs.get('href')}>")
        self.in_style = tag == "style"

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if self.in_style and self.REMOTE_CSS.search(data):
            self.found.append(f"<style>{data[:80]}")


def fetches(page):
    parser = _Fetches()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("student, notebook, message", [
    ("xavier-variance-uses-sum-fails-xavier", "part2_techniques", "xavier_variance(100, 100) should be 0.01"),
    # NumPy patched in the kernel: the verifier's NumPy checks the wrong formula all the same
    ("numpy-monkeypatched-fails-xavier", "part2_techniques", "xavier_variance(100, 100) should be 0.01, not 0.005"),
    # a hidden test's own message, with the values in it
    ("orthogonal-without-sign-correction-fails-orthogonal", "part4_deep_networks",
     "orthogonal_init is not uniform over orthogonal matrices (the traces of 4 draws"),
    ("error-message-carries-the-callers-source-fails-fans", "part2_techniques", "ValueError: raised while the hidden tests ran"),
])
def test_feedback_keeps_the_messages_a_student_can_act_on(feedback, student, notebook, message):
    """Does feedback still say why a test failed: a visible test's message, a hidden test's own message,
    and for an error raised by the student's code inside a hidden test, its type only?"""
    assert message in feedback[(student, notebook)], f"the feedback for {student} lost the failure message {message!r}"


def test_links_and_special_files_are_set_aside_never_followed(bank_run):
    """Are a submission's links, FIFO, socket and device moved to quarantine/ (not followed, opened or
    copied), named in the log, the submission graded without them, and the batch not hung?"""
    quarantine = bank_run.root / "quarantine"
    links = quarantine / "links-to-solutions-and-gradebook-fail-part2" / ASSIGNMENT
    assert sorted(p.name for p in links.iterdir()) == ["grades.txt", "notes.txt"] and (links / "notes.txt").is_symlink()
    special = quarantine / "special-files-set-aside-full-marks" / ASSIGNMENT
    assert {"timestamp.txt", "kernel.sock", "zeros.bin", "data/etc", "data/null"} <= \
        {str(p.relative_to(special)) for p in special.rglob("*")}
    notebook = quarantine / "notebook-linked-to-the-source-is-not-graded" / ASSIGNMENT / "part1_understanding.ipynb"
    assert notebook.is_symlink()
    assert "a FIFO (named pipe)" in bank_run.log and "a symbolic link to ../../../gradebook.db" in bank_run.log
    for student in ["links-to-solutions-and-gradebook-fail-part2", "special-files-set-aside-full-marks"]:
        graded = bank_run.root / "autograded" / student / ASSIGNMENT
        assert not any(p.is_symlink() or not (p.is_file() or p.is_dir()) for p in graded.rglob("*")), \
            f"an unsafe entry of {student} reached its autograded folder"
    printed = outputs_text(bank_run.root / "autograded" / "links-to-solutions-and-gradebook-fail-part2" / ASSIGNMENT
                           / "part2_techniques.ipynb")
    assert "ATTEMPT blocked" in printed and "ATTEMPT succeeded" not in printed, printed[:500]
    linked = "notebook-linked-to-the-source-is-not-graded"
    assert not (bank_run.root / "autograded" / linked / ASSIGNMENT / "part1_understanding.ipynb").exists()
    assert not any(r["score"] for r in cell_scores(f"sqlite:///{bank_run.root / 'gradebook.db'}")
                   if r["student"] == linked and r["notebook"] == "part1_understanding"), "the linked notebook earned points"


def test_grading_budget_trains_quietly(graded_bank):
    """Do Parts 3 and 4 train without progress lines under nbgrader (the full budget prints them)?"""
    for notebook in ["part3_applying", "part4_deep_networks"]:
        path = graded_bank / "autograded" / "complete-run-1" / ASSIGNMENT / f"{notebook}.ipynb"
        cells = nbformat.read(path, as_version=4).cells
        printed = "\n".join(output.get("text", "") for cell in cells for output in cell.get("outputs", []))
        assert "budget:" in printed, f"{notebook} printed nothing: the check below would prove nothing"
        for progress in ["Epoch ", "Training with", "layers, from"]:
            assert progress not in printed, f"{notebook} printed training progress ({progress!r}) under nbgrader"


def folder_bytes(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_results_hold_only_what_was_handed_in_and_what_grading_wrote(bank_run, feedback):
    """Is every bank student's autograded and feedback folder free of the shipped data and under 1 MiB,
    the cluster's result of a complete submission under 0.5 MiB, and a student's own 11 MiB
    `data/mnist.npz` left in submitted/ only?"""
    sizes = {}
    for kind in ["autograded", "feedback"]:
        for folder in sorted((bank_run.root / kind).glob(f"*/{ASSIGNMENT}")):
            assert not (folder / "data").exists(), f"{folder} holds a copy of the shipped data"
            sizes[f"{kind}/{folder.parent.name}"] = folder_bytes(folder)
    assert len(sizes) == 2 * len(BANK), f"{len(sizes)} result folders for {len(BANK)} submissions"
    large = {name: size for name, size in sizes.items() if size >= 2**20}
    assert not large, f"results too large: {large}"
    complete = bank_run.root / "autograded" / "complete-run-1" / ASSIGNMENT
    assert len(pack(complete)) < 2**19, f"a complete submission's cluster result is {len(pack(complete))} bytes"
    own = bank_run.root / "submitted" / "hands-in-its-own-damaged-mnist-full-marks" / ASSIGNMENT / "data" / "mnist.npz"
    assert own.stat().st_size == 11 * 2**20, "the student's own copy should stay where they handed it in"


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
