"""Shared by the kit's tests and nbval's notebook runs."""
import os
import shutil
from pathlib import Path

import pytest

from tools.grading import ASSIGNMENT, copy_course, nbgrader

ROOT = Path(__file__).resolve().parent

# Notebooks run by nbval train on the grading budget: the full run is what `make bench` times
os.environ["WEIGHT_INIT_BUDGET"] = "grading"


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A fresh course folder, as an instructor would have it: config, source, and a release generated there."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    nbgrader("generate_assignment", ASSIGNMENT, "--force", course_root=root)
    return root
