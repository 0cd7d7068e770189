"""Shared by the kit's tests and nbval's notebook runs."""
import os
import sys
from pathlib import Path

import pytest

from course import ASSIGNMENT
from course.nbgrader_cli import nbgrader
from tools.grading import make_course, read_manifest, submit

# A test that leaves a process running fails (tests/process_leaks.py); pytester tests that plugin
pytest_plugins = ["tests.process_leaks", "pytester"]

ROOT = Path(__file__).resolve().parent
# `lab_utils` is imported by the notebooks from their own folder; the tests import it from there too
sys.path.insert(0, str(ROOT / "source" / "weight_init"))

# Notebooks run by nbval train on the grading budget: the full run is what `make bench` times
os.environ["WEIGHT_INIT_BUDGET"] = "grading"


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A fresh course folder with a generated release, shared by the tests that need one."""
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def graded_samples(tmp_path_factory):
    """The sample submissions graded by one sequential `nbgrader autograde`, as `make demo` grades them:
    the cluster tests' reference, and the instructor's browser tests' course (they work on a copy)."""
    course = make_course(tmp_path_factory.mktemp("graded-samples"))
    for sample in read_manifest():
        submit(sample, course)
    run = nbgrader("autograde", ASSIGNMENT, "--force", course_root=course)
    (course / "autograde-console.txt").write_text(run.stdout + run.stderr)  # what the grader saw
    return course
