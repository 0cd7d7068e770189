"""The student version: generated from source/, in sync, free of solutions, and failing every test when blank."""
from pathlib import Path

import nbformat
import pytest

from kit_checks import NOTEBOOKS, RELEASE, SOURCE, released_text, secret_lines
from course import ASSIGNMENT
from course.nbgrader_cli import nbgrader
from tools.notebooks import normalize, serialize


def files_under(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def test_release_is_in_sync_with_source(course):
    """Is the committed release/ byte for byte what nbgrader generates from source/ now?"""
    fresh, committed = files_under(course / "release" / ASSIGNMENT), files_under(RELEASE)
    stale = sorted(str(name) for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert not stale, f"release/ is out of date in {stale}: run `make release` and commit the result"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_source_notebooks_are_normalized(notebook):
    """Is each source notebook stored with normalized metadata and only the outputs nbval checks?"""
    text = (SOURCE / notebook).read_text(encoding="utf-8")
    assert serialize(normalize(nbformat.reads(text, as_version=4))) == text, \
        f"{notebook} is not normalized: run `make release` (or `python -m tools.notebooks normalize`)"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_holds_no_solution_or_hidden_test(notebook):
    """Does no line of a model answer or hidden test reach any file of the student version?"""
    secrets = secret_lines(notebook)
    assert len(secrets) > 10, f"found only {len(secrets)} secret lines in {notebook}; the check would prove nothing"
    released = "\n".join(released_text(path) for path in RELEASE.rglob("*") if path.suffix in {".ipynb", ".py", ".md"})
    leaked = sorted(line for line in secrets if line in released)
    assert not leaked, f"{notebook}: the student version contains {len(leaked)} secret lines, e.g. {leaked[:3]}"
    for marker in ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Marking notes", "Rubric:"]:
        assert marker not in released, f"the student version contains `{marker}`"


# (That the solutions pass every test, hidden ones included, is checked by test_seeds.py under nbgrader's
# execution, by the bank's three gradings of the model solution, and by the student browser tests'
# Validate button, on the solutions in a student's folder)
def validate(course, folder, *flags):
    paths = [str(Path(folder) / ASSIGNMENT / notebook) for notebook in NOTEBOOKS]
    result = nbgrader("validate", *flags, *paths, course_root=course, check=False)
    return result.stdout + result.stderr


def test_blank_release_fails_every_test(course):
    """Does every autograded test fail on the blank student version (nbgrader validate --invert)?"""
    output = validate(course, course / "release", "--invert")
    assert output.count("Success! The notebook does not pass any tests.") == len(NOTEBOOKS), output[-3000:]


def test_marking_guide_is_in_sync_with_source():
    """Does marking_guide.md hold every written question of source/, with its model answer and notes, as generated now?"""
    from tools.marking_guide import GUIDE, guide

    written = [(nb, c) for nb in NOTEBOOKS for c in nbformat.read(SOURCE / nb, as_version=4).cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert len(written) == GUIDE.read_text(encoding="utf-8").count("**Model answer:**") == 11
    assert GUIDE.read_text(encoding="utf-8") == guide(), "marking_guide.md is out of date: run `make release` and commit it"
