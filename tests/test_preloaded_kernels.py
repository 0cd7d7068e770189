"""A kernel forked from the zygote (grading_engine/preloaded_kernels.py) starts as jupyter_client's own launch
would start it, only with Keras imported already; kernels from one zygote share nothing; and a kernel
the zygote cannot start is started the usual way."""
import json

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

import grading_engine.preloaded_kernels as preloaded
from grading_engine.preloaded_kernels import PreloadedKernelManager
from grading_engine.verifier.client import stop_verifier

# What a kernel looks like from inside, as far as a notebook can tell
DESCRIBE = """
import json, os, sys
import matplotlib.pyplot as plt
plt.plot([0, 1])
plt.show()
print(json.dumps({
    "cwd": os.getcwd(), "path": sys.path, "argv": sys.argv[1:2] + sys.argv[3:], "executable": sys.executable,
    "env": {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"},
    "own process group": os.getpgid(0) == os.getpid(), "backend": plt.get_backend(),
    "ends with its parent": get_ipython().kernel.parent.poller is not None,
}))
print("keras imported before the notebook:", "keras" in sys.modules)
"""


def run(code, kernel_manager_class, folder):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=kernel_manager_class,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb.cells[0].outputs


def printed(outputs):
    return "".join(output.text for output in outputs if output.get("name") == "stdout")


@pytest.fixture(autouse=True)
def fresh_zygote():
    preloaded.stop_zygote()
    yield
    preloaded.stop_zygote()
    stop_verifier()  # (grading a submission in this process starts the verifier too)


def test_a_preloaded_kernel_starts_as_a_plain_one(tmp_path, monkeypatch):
    """Same working directory, sys.path (PYTHONPATH made absolute from it), arguments, environment,
    process group and plotting as a kernel that jupyter_client starts itself; Keras already there."""
    monkeypatch.setenv("PYTHONPATH", "relative/folder")
    seen = {}
    for manager in (AsyncKernelManager, PreloadedKernelManager):
        outputs = run(DESCRIBE, manager, tmp_path)
        assert any("image/png" in output.get("data", {}) for output in outputs), f"{manager.__name__}: no inline plot"
        description, keras_line = printed(outputs).strip().split("\n")
        seen[manager] = json.loads(description), keras_line
    (plain, plain_keras), (forked, forked_keras) = seen[AsyncKernelManager], seen[PreloadedKernelManager]
    assert forked == plain
    assert str(tmp_path / "relative" / "folder") in forked["path"]
    assert (plain_keras, forked_keras) == ("keras imported before the notebook: False", "keras imported before the notebook: True")


def test_kernels_from_one_zygote_share_nothing(tmp_path):
    """What one kernel changes in NumPy and Keras, the next kernel forked from the same zygote never sees."""
    tamper = "import keras, numpy\nkeras.config.set_floatx('float16')\nnumpy.pi = 3\nprint(numpy.pi)"
    look = "import keras, numpy, os\nprint(keras.config.floatx(), numpy.pi, os.getppid())"
    assert printed(run(tamper, PreloadedKernelManager, tmp_path)).strip() == "3"
    floatx, pi, zygote_pid = printed(run(look, PreloadedKernelManager, tmp_path)).split()
    assert (floatx, float(pi)) == ("float32", 3.141592653589793)
    assert int(zygote_pid) == preloaded._zygote.process.pid, "the second kernel was not forked from the same zygote"


def test_a_kernel_the_zygote_cannot_start_is_started_the_usual_way(tmp_path, monkeypatch):
    monkeypatch.setattr(preloaded, "ZYGOTE", tmp_path / "missing_zygote.py")
    assert printed(run("import sys\nprint('keras' in sys.modules)", PreloadedKernelManager, tmp_path)).strip() == "False"
    assert preloaded._zygote is None


def test_a_worker_keeps_its_zygote_from_one_submission_to_the_next(tmp_path):
    """Does a grading process (a cluster worker) fork the next submission's kernel from the zygote it
    started for the first, out of the sandbox too? (There, a PATH that grew with every submission once
    changed the kernels' environment, and with it the zygote, every time: TensorFlow imported again
    for each submission, and the unsandboxed rows of `make bench` slower than the sandbox's. In the
    sandbox, kernels get a PATH of the sandbox's own.)"""
    import os

    from grading_engine.cluster import COURSE_FILES, _make_course, grade_submission, pack, thread_env
    from tools.grading import Sample, make_course, submit

    course = make_course(tmp_path / "course")
    students = ["first", "second"]
    for student in students:  # (Part 1 only: quick to grade)
        submit(Sample(student, "solutions", notebooks={"part1_understanding"}), course)
    worker = _make_course(pack(course, COURSE_FILES), tmp_path)
    environment, zygotes = dict(os.environ), []
    try:
        for student in students:
            result = grade_submission(student, pack(course / "submitted" / student / "weight_init"), worker,
                                      thread_env(1), ["--RestartingExecute.sandbox=False"])
            assert "error" not in result, result["error"]
            zygotes.append(preloaded._zygote.process.pid)
    finally:
        os.environ.clear()
        os.environ.update(environment)  # (grade_submission sets the kernels' variables in its process)
    assert zygotes == zygotes[:1] * len(students), f"a new zygote for a later submission: {zygotes}"
