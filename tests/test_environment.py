"""The pinned environments install on every Python the READMEs name: each version's interpreter
resolves the kit's `requirements.txt`, and the students' own `release/weight_init/requirements.txt`,
to wheels (pip's dry run, nothing installed), as `pip install -r requirements.txt` would. The kit's
tests run on one of them (.venv), and the student browser tests in an environment made from the
students' file alone (.venv-student), both installed by `make` from the same pins. The students'
floor, 3.11.2, is checked with that exact interpreter (Debian 12's)."""
import glob
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from course import ASSIGNMENT, ROOT
from tools.student_requirements import STUDENT_NEEDS, kit_pins, render, student_pins

# The versions the README names for students; TensorFlow 2.21 has no wheels for 3.14 yet
SUPPORTED = ("3.11", "3.12", "3.13")
STUDENTS = ROOT / "release" / ASSIGNMENT
STUDENT_FLOOR = "3.11.2"  # the oldest Python the students' README names, exactly
# The instructor's side, which a student's environment must not carry
INSTRUCTOR_ONLY = {"dask", "distributed", "bokeh", "playwright", "psycopg", "pytest", "nbval", "nh3", "latex2mathml"}


def interpreter(version):
    """An interpreter of `version` that runs: pyenv's newest, or `pythonX.Y` on PATH (pyenv's shim of
    that name exists for every version, but fails unless the version is pyenv's current one)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    installed = sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python"),
                       key=lambda p: [int(x) for x in re.findall(r"\d+", p.split("/versions/")[1])])
    for candidate in [*reversed(installed), shutil.which(f"python{version}")]:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def test_the_readme_names_the_supported_versions():
    """Does the README tell students the versions this test checks, and does this run use one of them?"""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {SUPPORTED[0]} to {SUPPORTED[-1]}" in readme
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SUPPORTED


def exact_interpreter(version):
    """An interpreter of exactly `version` (e.g. 3.11.2): pyenv's, or the system's `pythonX.Y`."""
    major_minor = version.rsplit(".", 1)[0]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in [f"{pyenv}/versions/{version}/bin/python", f"/usr/bin/python{major_minor}", shutil.which(f"python{major_minor}")]:
        if candidate and os.path.exists(candidate):
            found = subprocess.run([candidate, "-c", "import platform; print(platform.python_version())"],
                                   capture_output=True, text=True)
            if found.returncode == 0 and found.stdout.strip() == version:
                return candidate
    return None


def test_the_pinned_environments_resolve_on_every_supported_python():
    """Does `pip install -r requirements.txt` find a wheel of every pinned package on each version, for
    the kit and for the students (on the students' floor, 3.11.2, too)? (The version .venv and
    .venv-student run on installed them for real: `make` did, so it is not resolved again here.)"""
    others = [version for version in SUPPORTED if version != f"{sys.version_info.major}.{sys.version_info.minor}"]
    missing = [version for version in others if not interpreter(version)]
    assert len(others) == len(SUPPORTED) - 1, f"this run's Python is not one of {SUPPORTED}"
    assert not missing, f"no interpreter for Python {', '.join(missing)} on this machine (pyenv install {missing[0]})"
    floor = exact_interpreter(STUDENT_FLOOR)
    assert floor, f"no Python {STUDENT_FLOOR} on this machine (Debian 12's python3.11, or pyenv install {STUDENT_FLOOR})"
    checks = {(f"Python {version}", "the kit's"): (interpreter(version), ROOT / "requirements.txt") for version in others}
    checks.update({(f"Python {version}", "the students'"): (interpreter(version), STUDENTS / "requirements.txt")
                   for version in others})
    checks[(f"Python {STUDENT_FLOOR}", "the students'")] = (floor, STUDENTS / "requirements.txt")
    # (--break-system-packages: Debian's own Python refuses pip without it, PEP 668; a dry run changes nothing)
    runs = {check: subprocess.Popen(
        [python, "-m", "pip", "install", "--dry-run", "--break-system-packages", "--ignore-installed", "--only-binary=:all:",
         "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for check, (python, requirements) in checks.items()}
    failures = {}
    for (version, whose), run in runs.items():
        output, _ = run.communicate(timeout=600)
        if run.returncode != 0:
            failures[f"{whose} on {version}"] = "\n".join(line for line in output.splitlines() if "is ignored" not in line)[-1500:]
    assert not failures, "the pins do not resolve: " + "; ".join(f"{check}: {e}" for check, e in failures.items())


def test_the_students_requirements_are_the_kits_pins_of_what_students_need():
    """Is the students' requirements.txt what tools/student_requirements.py makes of the kit's pins
    (as `make release` wrote it), with what the notebooks and Validate need and nothing of the
    instructor's, and does every package in it declare that it runs on the students' floor?"""
    text = (STUDENTS / "requirements.txt").read_text(encoding="utf-8")
    assert text == render(student_pins(kit_pins())), "release/weight_init/requirements.txt is stale: run `make release`"
    pinned = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in text.splitlines()
              if line and not line.startswith("#")}
    assert {canonicalize_name(name) for name in STUDENT_NEEDS} <= pinned.keys()
    assert not INSTRUCTOR_ONLY & pinned.keys(), f"the students' requirements carry {INSTRUCTOR_ONLY & pinned.keys()}"
    too_new = {name: requires for name in pinned
               if (requires := importlib.metadata.metadata(name).get("Requires-Python"))
               and STUDENT_FLOOR not in SpecifierSet(requires)}
    assert not too_new, f"these pins need a newer Python than {STUDENT_FLOOR}: {too_new}"


def test_the_students_readme_names_the_floor_and_their_requirements():
    readme = (STUDENTS / "README.md").read_text(encoding="utf-8")
    assert f"Python {SUPPORTED[0]}, {SUPPORTED[1]} or {SUPPORTED[2]} ({STUDENT_FLOOR} or later" in readme
    assert "pip install -r requirements.txt" in readme
