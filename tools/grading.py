"""Build sample submissions, autograde them with nbgrader, and report per-cell scores.

A submission is described by a folder of answers (see `samples/README.md`):
`<folder>/<notebook>/<grade_id>.py` (or `.md`) replaces the student's answer in that solution
cell. Everything else is either the model solution (`starts_from = solutions`) or the untouched
student version (`starts_from = release`).
"""
import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "weight_init"
SAMPLES = ROOT / "samples"
SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n|^[ \t]*### END SOLUTION[ \t]*\n?", re.MULTILINE)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)


@dataclass
class Sample:
    """One submission to autograde, and the test cells it must fail (`{"*"}`: all of them)."""

    name: str
    starts_from: str  # "solutions" or "release"
    fails: set = field(default_factory=set)  # {"notebook:grade_id", ...}
    answers: Path = None  # folder of replacement answers


def read_manifest(folder=SAMPLES):
    """Return the `Sample`s listed in `folder/manifest.csv`."""
    with open(folder / "manifest.csv", newline="") as f:
        return [Sample(row["submission"], row["starts_from"], set(row["fails"].split()), folder / row["submission"])
                for row in csv.DictReader(f)]


def is_solution(cell):
    return cell.metadata.get("nbgrader", {}).get("solution", False)


def model_answer(cell):
    """The instructor's answer in a source solution cell, as a student would have typed it."""
    return SOLUTION_BLOCK.sub("", cell.source).rstrip("\n") if cell.cell_type == "code" else cell.source


def build_submission(sample, source_dir, release_dir, dest_dir):
    """Write `sample`'s notebooks into `dest_dir`, starting from the release (what students get)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for release_path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(release_path, as_version=4)
        if sample.starts_from == "solutions":
            source = nbformat.read(Path(source_dir) / release_path.name, as_version=4)
            answers = {c.metadata["nbgrader"]["grade_id"]: model_answer(c) for c in source.cells if is_solution(c)}
            for cell in nb.cells:
                if is_solution(cell):
                    cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
        overrides = sample.answers / release_path.stem if sample.answers else None
        if overrides and overrides.is_dir():
            by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if is_solution(c)}
            for answer in sorted(overrides.iterdir()):
                if answer.stem not in by_id:
                    raise KeyError(f"{answer}: {release_path.name} has no solution cell `{answer.stem}`")
                by_id[answer.stem].source = answer.read_text(encoding="utf-8").rstrip("\n")
        nbformat.write(nb, dest_dir / release_path.name)


def nbgrader(*args, course_root=ROOT, check=True):
    """Run an nbgrader command in `course_root`, where it reads `nbgrader_config.py`.

    With `check`, a failure raises `RuntimeError` carrying the end of nbgrader's log.
    """
    bin_dir = Path(sys.executable).parent
    # nbgrader runs `alembic` from PATH when it creates a gradebook: use this environment's
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course_root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return result


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


def copy_course(dest, root=ROOT):
    """Copy what an instructor's course folder holds (config and source) into `dest`."""
    dest = Path(dest)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(root / "source", dest / "source", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return dest
