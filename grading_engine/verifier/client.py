"""The grader's side of the verifier: the process it starts, and which cells that process runs.

`verifier_for()` gives the grading process its verifier (grading_engine/verifier/process.py), started
once and kept for every submission it grades, in a bubblewrap sandbox of its own that sees none of the
submission's files (`sandbox.verifier_command`). `plan()` reads a source notebook and says which cells run
there: every test, and the instructor's locked cells whose names the tests use (their set-up, helpers,
data), found from the names each cell binds and reads. The cells' text always comes from `source/`, never
from the submission, so nothing a student wrote, in a cell or in its metadata, runs in the verifier.
"""
import ast
import atexit
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grading_engine import sandbox
from grading_engine.verifier import protocol

ENGINE = Path(__file__).resolve().parent.parent
START_TIMEOUT = 300  # seconds: the verifier imports Keras, about 3 s


class VerifierError(RuntimeError):
    """The verifier did not start, or stopped."""


@dataclass
class Plan:
    """Of a notebook, by grade id: the tests' sources, and the sources of the instructor cells they need."""

    tests: dict = field(default_factory=dict)
    instructor: dict = field(default_factory=dict)


def plan(source_path):
    """Which cells of the source notebook at `source_path` the verifier runs (see the module's doc)."""
    from grading_engine.nbgrader_plugins import cell_role

    result, locked = Plan(), []
    for cell in nbformat.read(source_path, as_version=4).cells:
        role, grade_id = cell_role(cell), cell.metadata.get("nbgrader", {}).get("grade_id")
        if role == "test":
            result.tests[grade_id] = cell.source
        elif role == "instructor":
            locked.append((grade_id, cell.source))
    needed = set().union(*(read_names(source) for source in result.tests.values()))
    while True:  # an instructor cell is needed if it binds a name that a test, or a needed cell, reads
        more = [(g, s) for g, s in locked if g not in result.instructor and bound_names(s) & needed]
        if not more:
            return result
        for grade_id, source in more:
            result.instructor[grade_id] = source
            needed |= read_names(source)


def _tree(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def bound_names(source, anywhere=False):
    """The names a cell binds at its top level (assignments, definitions, imports, loop and `with` targets,
    also inside its `if`, `for` and `try` blocks); with `anywhere`, inside its functions too."""
    names = set()

    def visit(node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg) and anywhere:
            names.add(node.arg)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if not anywhere:
                return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_tree(source))
    return names


def read_names(source):
    """The names a cell reads that it never binds itself (anywhere in it)."""
    read = {node.id for node in ast.walk(_tree(source)) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return read - bound_names(source, anywhere=True)


class Verifier:
    """A running verifier process, and the frames to and from it."""

    def __init__(self, helpers, sandboxed=True):
        self.key = (str(helpers), sandboxed, _environment_key())
        python = sys.executable
        env = {**sandbox.kernel_environment(os.environ, python), "PYTHONPATH": str(ENGINE.parent),
               "WEIGHT_INIT_HELPERS": str(helpers), "MPLBACKEND": "Agg", "HOME": "/tmp"}  # (Keras's and Matplotlib's caches)
        if "WEIGHT_INIT_SEED" in os.environ:
            env["WEIGHT_INIT_SEED"] = os.environ["WEIGHT_INIT_SEED"]
        argv = [python, "-m", "grading_engine.verifier.process"]
        if sandboxed:
            sandbox.check()  # (SandboxUnavailable says how to fix it)
            argv = sandbox.verifier_command(argv, python, helpers)
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd="/")
        self.ready = False  # (it imports Keras while the grader starts the kernel: waited for at first use)
        self.owed = 0  # answers to `new_notebook` not read yet

    def _wait_until_ready(self):
        self.ready = True
        ready = self._receive_within(START_TIMEOUT)
        if ready.get("op") != "ready":
            self.close()
            raise VerifierError(f"the verifier did not start: {ready}")

    def _receive_within(self, timeout):
        timer = threading.Timer(timeout, self.process.kill)
        timer.start()
        try:
            return self.receive()
        finally:
            timer.cancel()

    def send(self, message):
        if not self.ready:
            self._wait_until_ready()
        try:
            protocol.write_frame(self.process.stdin, message)
        except OSError as error:
            raise VerifierError(f"the verifier has stopped ({error})") from None

    def new_notebook(self):
        """Give the verifier an empty namespace; its answer is read, and dropped, before the next one."""
        self.send({"op": "notebook"})
        self.owed += 1

    def receive(self):
        try:
            while self.owed:
                self.owed -= 1
                protocol.read_frame(self.process.stdout)
            return protocol.read_frame(self.process.stdout)
        except (EOFError, OSError, ValueError) as error:
            raise VerifierError(f"the verifier has stopped (exit code {self.process.poll()}): {error}") from None

    def alive(self):
        return self.process.poll() is None

    def close(self):
        # Killed, not asked to exit: it keeps nothing, and Python's exit with TensorFlow loaded takes 1 to 2 s,
        # the end of every `nbgrader autograde` (its sandbox dies with it: bwrap's --die-with-parent)
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _environment_key():
    # what the verifier's behaviour depends on: the budget (NBGRADER_EXECUTION) and the tests' seed
    return tuple(os.environ.get(name) for name in ("NBGRADER_EXECUTION", "WEIGHT_INIT_BUDGET", "WEIGHT_INIT_SEED",
                                                   "WEIGHT_INIT_DATA"))


_verifier = None  # this grading process's verifier: one at a time


def verifier_for(helpers, sandboxed=True):
    """This process's verifier, for an assignment whose helpers (`integrity.py`, `lab_utils.py`) are in
    folder `helpers`; started if need be."""
    global _verifier
    key = (str(helpers), sandboxed, _environment_key())
    if _verifier is None or _verifier.key != key or not _verifier.alive():
        stop_verifier()
        _verifier = Verifier(helpers, sandboxed)
    return _verifier


def stop_verifier():
    global _verifier
    if _verifier is not None:
        _verifier.close()
        _verifier = None


atexit.register(stop_verifier)
