"""Build sample submissions, autograde them with nbgrader, and report per-cell scores.

A submission is described by a folder of answers (see `samples/README.md`):
`<folder>/<notebook>/<grade_id>.py` (or `.md`) replaces the student's answer in that solution
cell, an optional `<folder>/edit.py` changes the notebooks in other ways (tampering), and an optional
`<folder>/files.py` adds files to the submission's folder (links, FIFOs: what a folder cannot hold in
git). Everything else is either the model solution (`starts_from = solutions`) or the untouched
student version (`starts_from = release`).
"""
import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_solution

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from course.questions import model_answer

SAMPLES = ROOT / "samples"
CLASS = SAMPLES / "class"  # 32 students' written answers (samples/class/README.md)


@dataclass
class Sample:
    """One submission to autograde, and the test cells it must fail (`{"*"}`: all of them)."""

    name: str
    starts_from: str  # "solutions" or "release"
    fails: set = field(default_factory=set)  # {"notebook:grade_id", ...}
    answers: Path = None  # folder of replacement answers
    notebooks: set = field(default_factory=lambda: {"*"})  # the notebooks submitted (by name), or all

    def submits(self, notebook):
        return "*" in self.notebooks or notebook in self.notebooks

    def expected_score(self, notebook, cell, points):
        return 0 if "*" in self.fails or f"{notebook}:{cell}" in self.fails else points


def read_manifest(folder=SAMPLES, table="manifest.csv"):
    """Return the `Sample`s listed in `folder/table` (a `notebooks` column is optional)."""
    with open(folder / table, newline="") as f:
        return [Sample(row["submission"], row["starts_from"], set(row["fails"].split()), folder / row["submission"],
                       set((row.get("notebooks") or "*").split())) for row in csv.DictReader(f)]


def read_class(folder=CLASS, notebooks=("*",), starts_from="solutions"):
    """The sample class: one `Sample` per student folder, the model solution's code (or the release's,
    `starts_from="release"`) with that student's written answers (`notebooks`: the notebooks each hands
    in, by name, or all)."""
    return [Sample(path.name, starts_from, answers=path, notebooks=set(notebooks))
            for path in sorted(folder.iterdir()) if path.is_dir()]


def build_submission(sample, source_dir, release_dir, dest_dir):
    """Write `sample`'s notebooks into `dest_dir`, starting from the release (what students get).

    Answers replace solution cells; then `edit.py` in the sample's folder, if any, may change the
    notebooks in any other way (its `edit(notebooks)` gets a dict of name -> notebook), and `files.py`
    adds entries to `dest_dir` (its `make_files(folder)`).
    """
    notebooks = {path.stem: nbformat.read(path, as_version=4) for path in sorted(Path(release_dir).glob("*.ipynb"))}
    for name, nb in notebooks.items():
        if sample.starts_from == "solutions":
            source = nbformat.read(Path(source_dir) / f"{name}.ipynb", as_version=4)
            answers = {c.metadata["nbgrader"]["grade_id"]: model_answer(c) for c in source.cells if is_solution(c)}
            for cell in nb.cells:
                if is_solution(cell):
                    cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
        overrides = sample.answers / name if sample.answers else None
        if overrides and overrides.is_dir():
            by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if is_solution(c)}
            for answer in sorted(overrides.iterdir()):
                if answer.stem not in by_id:
                    raise KeyError(f"{answer}: {name}.ipynb has no solution cell `{answer.stem}`")
                by_id[answer.stem].source = answer.read_text(encoding="utf-8").rstrip("\n")
    if edit := _sample_script(sample, "edit.py", "edit"):
        edit(notebooks)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        if sample.submits(name):
            nbformat.write(nb, dest_dir / f"{name}.ipynb")
    if make_files := _sample_script(sample, "files.py", "make_files"):
        make_files(dest_dir)


def _sample_script(sample, filename, function):
    """The function `function` of the script `filename` in `sample`'s folder, or None if it has none."""
    script = sample.answers / filename if sample.answers else None
    if not script or not script.exists():
        return None
    namespace = {}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), namespace)
    return namespace[function]


def submit(sample, course, student=None):
    """Write `sample`'s notebooks into `course` as nbgrader's collect would: in
    `submitted/<student>/weight_init/` (student: the sample's name), from that course's source and release."""
    build_submission(sample, Path(course) / "source" / ASSIGNMENT, Path(course) / "release" / ASSIGNMENT,
                     Path(course) / "submitted" / (student or sample.name) / ASSIGNMENT)


def cell_scores(db_url, assignment=ASSIGNMENT):
    """Return one dict per student and graded cell: student, notebook, cell, kind, score, max_score.

    `score` is None for a written answer that awaits manual grading.
    """
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    pending = grade.needs_manual_grade and grade.manual_score is None
                    rows.append({
                        "student": submission.student.id,
                        "notebook": notebook.name,
                        "cell": grade.name,
                        "kind": "written" if grade.cell_type == "markdown" else "autograded",
                        "score": None if pending else grade.score,
                        "max_score": grade.max_score,
                    })
    return sorted(rows, key=lambda r: (r["student"], r["notebook"]))


def write_cell_scores(rows, path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "notebook", "cell", "kind", "score", "max_score"])
        writer.writeheader()
        writer.writerows(rows)


def grade_table(rows):
    """A text table: per student, the autograded points of each notebook and the written points pending."""
    notebooks = sorted({r["notebook"] for r in rows})
    students = sorted({r["student"] for r in rows})
    lines = [f"{'student':<16}" + "".join(f"{n:>22}" for n in notebooks) + f"{'autograded':>13}{'written (manual)':>18}"]
    for student in students:
        mine = [r for r in rows if r["student"] == student]
        cells, auto, auto_max = [], 0.0, 0.0
        for notebook in notebooks:
            graded = [r for r in mine if r["notebook"] == notebook and r["kind"] == "autograded"]
            got, out_of = sum(r["score"] or 0 for r in graded), sum(r["max_score"] for r in graded)
            cells.append(f"{got:g} / {out_of:g}")
            auto, auto_max = auto + got, auto_max + out_of
        written = [r for r in mine if r["kind"] == "written"]
        pending = sum(r["max_score"] for r in written if r["score"] is None)
        lines.append(f"{student:<16}" + "".join(f"{c:>22}" for c in cells) + f"{f'{auto:g} / {auto_max:g}':>13}"
                     + f"{f'{pending:g} pts pending':>18}")
    return "\n".join(lines)


def failure_summary(rows, top=10):
    """A text list of the autograded cells most students lost points on."""
    cells = {}
    for row in rows:
        if row["kind"] == "autograded":
            failed, total = cells.get((row["notebook"], row["cell"]), (0, 0))
            cells[(row["notebook"], row["cell"])] = (failed + ((row["score"] or 0) < row["max_score"]), total + 1)
    ranked = sorted(((failed, total, key) for key, (failed, total) in cells.items() if failed), key=lambda x: (-x[0], x[2]))
    if not ranked:
        return "Every student got full marks on every autograded cell."
    return "\n".join(["Autograded cells the class lost points on, most often first:"] +
                     [f"{failed:4d} of {total:<4d} {notebook}:{cell}" for failed, total, (notebook, cell) in ranked[:top]])


def make_course(dest, root=ROOT, db_url=None):
    """Set up a course folder in `dest` as an instructor's would be: the config and its plugins, the
    source, and a release generated there, which also sets up the gradebook (sqlite in `dest`, or
    `db_url`)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ["source", "course", "grading_engine", "notebook_pages", "lms"]:
        shutil.copytree(root / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    nbgrader("generate_assignment", ASSIGNMENT, "--force", *([f"--CourseDirectory.db_url={db_url}"] if db_url else []),
             course_root=dest)
    return dest
