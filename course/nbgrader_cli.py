"""Running nbgrader's commands in a course folder as an instructor would, from this Python environment."""
import os
import subprocess
import sys
from pathlib import Path

from course import ROOT


def path_with_this_environment():
    """PATH with this Python environment's bin folder first: nbgrader runs `alembic` from PATH when it
    creates a gradebook, and must find this environment's. The same PATH however often it is called:
    the kernels' environment is part of what their preloaded zygote is kept for, and a PATH that grew
    with every submission started a new zygote (TensorFlow imported again) for every one."""
    here = str(Path(sys.executable).parent)
    rest = [folder for folder in os.environ.get("PATH", "").split(os.pathsep) if folder and folder != here]
    return os.pathsep.join([here, *rest])


def user_environment():
    """This process's environment without a test runner's variables: nbgrader and its kernels started
    from the kit's tests must see what they see when an instructor starts them (with
    PYTEST_CURRENT_TEST set, ipykernel stops copying what a kernel writes to its stderr into the cells)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def nbgrader(*args, course_root=ROOT, check=True, env=None):
    """Run an nbgrader command in `course_root`, where it reads `nbgrader_config.py`, with `env`
    added to the environment (`user_environment`'s). With `check`, a failure raises `RuntimeError`
    carrying the end of nbgrader's log.
    """
    env = {**user_environment(), **(env or {}), "PATH": path_with_this_environment()}
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course_root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    if "Exception while loading config file" in result.stderr:  # nbgrader logs it and carries on without it
        raise RuntimeError(f"nbgrader could not load {course_root}/nbgrader_config.py:\n{result.stderr[-3000:]}")
    return result
