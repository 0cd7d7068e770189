"""The student's own pinned requirements: what the notebooks and JupyterLab's Validate button need,
and nothing of the instructor's (Dask, PostgreSQL's driver, Playwright, pytest, nbval).

    python -m tools.student_requirements          # write source/weight_init/requirements.txt (make release)
    python -m tools.student_requirements --check  # exit 1 if it is not what the kit's pins give

The file is those packages and everything they pull in, at the versions the kit's `requirements.txt`
pins (so students run what the tests ran), found by walking the installed packages' declared
dependencies: on every Python the students' README names, with the extras asked for. nbgrader copies
it from `source/` into `release/` with the rest of the assignment's files.
"""
import argparse
import importlib.metadata
import sys

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course import ASSIGNMENT, ROOT

# What a student installs by name; the rest comes with them
STUDENT_NEEDS = ["jupyterlab", "nbgrader", "tensorflow", "keras", "numpy", "matplotlib", "ipywidgets"]
PYTHONS = ["3.11.0", "3.12.0", "3.13.0"]  # the students' versions, each from its first release
TARGET = ROOT / "source" / ASSIGNMENT / "requirements.txt"
HEADER = """\
# What this assignment needs, pinned: `pip install -r requirements.txt` (Python 3.11 to 3.13; see README.md).
# Generated from the course kit's pins by `make release` (tools/student_requirements.py): not edited by hand.
"""


def kit_pins(path=ROOT / "requirements.txt"):
    """{canonical name: version} of the kit's pinned environment."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def _needed(requirement, extras):
    """Does `requirement`, declared by a package installed with `extras`, apply on any students' Python?"""
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(requirement.marker.evaluate({**environment, "python_version": version.rsplit(".", 1)[0],
                                            "python_full_version": version, "extra": extra})
               for version in PYTHONS for extra in extras | {""})


def student_pins(pins, needs=STUDENT_NEEDS):
    """{canonical name: version}: `needs` and their dependencies, as pinned in `pins`."""
    found, todo = {}, [(canonicalize_name(name), frozenset()) for name in needs]
    seen = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if name not in pins:
            raise KeyError(f"{name} is needed by students but not pinned in requirements.txt")
        found[name] = pins[name]
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if _needed(requirement, extras):
                dependency = canonicalize_name(requirement.name)
                if dependency in pins:  # (one unpinned is for another platform: pip resolves it there)
                    todo.append((dependency, frozenset(requirement.extras)))
    return found


def render(pins):
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"check {TARGET.relative_to(ROOT)} instead of writing it")
    text = render(student_pins(kit_pins()))
    if not parser.parse_args(argv).check:
        TARGET.write_text(text, encoding="utf-8")
    elif TARGET.read_text(encoding="utf-8") != text:
        sys.exit(f"{TARGET.relative_to(ROOT)} is not what the kit's pins give: run `make release`")


if __name__ == "__main__":
    main()
