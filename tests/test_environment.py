"""The pinned environment installs on every Python the README promises students: each version's
interpreter resolves `requirements.txt` to wheels (pip's dry run, nothing installed), as a student's
`pip install -r requirements.txt` would. The kit's own tests run on one of them (.venv), which `make`
installed from the same pins."""
import glob
import os
import re
import shutil
import subprocess
import sys

from course import ROOT

# The versions the README names for students; TensorFlow 2.21 has no wheels for 3.14 yet
SUPPORTED = ("3.11", "3.12", "3.13")


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


def test_the_pinned_environment_resolves_on_every_supported_python():
    """Does `pip install -r requirements.txt` find a wheel of every pinned package on each version? (The
    version .venv runs on installed them for real: `make` did, so it is not resolved again here.)"""
    others = [version for version in SUPPORTED if version != f"{sys.version_info.major}.{sys.version_info.minor}"]
    missing = [version for version in others if not interpreter(version)]
    assert len(others) == len(SUPPORTED) - 1, f"this run's Python is not one of {SUPPORTED}"
    assert not missing, f"no interpreter for Python {', '.join(missing)} on this machine (pyenv install {missing[0]})"
    runs = {version: subprocess.Popen(
        [interpreter(version), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
         "--quiet", "--disable-pip-version-check", "-r", str(ROOT / "requirements.txt")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for version in others}
    failures = {}
    for version, run in runs.items():
        output, _ = run.communicate(timeout=600)
        if run.returncode != 0:
            failures[version] = "\n".join(line for line in output.splitlines() if "is ignored" not in line)[-1500:]
    assert not failures, "the pins do not resolve on " + "; ".join(f"Python {v}: {e}" for v, e in failures.items())
