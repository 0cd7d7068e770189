"""The verifier (grading_engine/verifier/): what crosses between it and a student's kernel is data only,
which cells it runs, how a test is split into its visible and hidden parts, what feedback may show of a
hidden test; and the bank's tricks on the grading machinery are real: with the tests run in the student's
kernel instead (`--RestartingExecute.verifier=False`) they earn points that tests/test_bank.py shows they
do not earn with the verifier."""
import base64
import copy
import io

import keras
import nbformat
import numpy as np
import pytest
from traitlets.config import Config

import grading_engine.preloaded_kernels as preloaded

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from grading_engine.nbgrader_plugins import RestartingExecute, hidden_messages, split_hidden_tests
from grading_engine.verifier import protocol
from grading_engine.verifier.client import plan, stop_verifier
from kit_checks import SOURCE, autograded_cells
from tools.grading import cell_scores, make_course, read_manifest, submit


BANK = {entry.name: entry for entry in read_manifest(ROOT / "tests" / "bank", "expected_scores.csv")}
# Bank entries that fool nbgrader's own way of running tests in the student's kernel, each alone
TRICKS = ["blank-with-input-transformer-scores-nothing", "blank-with-ast-transformer-scores-nothing",
          "blank-with-run-cell-replaced-scores-nothing", "blank-with-result-before-every-error-scores-nothing",
          "blank-with-replies-faked-scores-nothing", "integrity-module-faked-with-numpy-patched-fails-xavier",
          "numpy-name-rebound-fails-xavier", "test-helper-redefined-fails-normal-inits",
          "setup-cell-deleted-and-faked-fails-xavier"]
TEST = '''\
"""A test"""
x = 1
### BEGIN HIDDEN TESTS
assert x == 1, "x should be 1"
assert x != 2, f"x is {x}, not 2"
### END HIDDEN TESTS
assert x
'''
# A cell that kills the verifier, as only code outside the grading sandbox could (the tests grade without it)
KILL_THE_VERIFIER = ("import os, signal\n"
                     "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
                     "    try:\n"
                     "        if b'grading_engine.verifier.process' in open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0'):\n"
                     "            os.kill(int(pid), signal.SIGKILL)\n"
                     "    except OSError:\n"
                     "        pass\n")


def no_handles(function):
    raise AssertionError(f"no function should need a handle here: {function}")


def round_trip(value):
    return protocol.decode(protocol.encode(value, no_handles), lambda tag, body: pytest.fail(f"a {tag} in plain data"))


def test_plain_values_cross_as_themselves():
    value = {"a": [1, 2.5, None, True, "text"], (3, "b"): (np.float32(0.5), np.int64(7)), "nan": float("nan")}
    back = round_trip(value)
    assert back["a"] == [1, 2.5, None, True, "text"] and type(back["a"][0]) is int and type(back[(3, "b")]) is tuple
    assert type(back[(3, "b")][0]) is np.float32 and type(back[(3, "b")][1]) is np.int64
    assert np.isnan(back["nan"])
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(round_trip(array), array) and round_trip(array).dtype == np.float32


def test_what_a_student_object_says_of_itself_does_not_cross():
    class Liar(float):
        __eq__ = lambda self, other: True  # noqa: E731

    with pytest.raises(protocol.NotData, match="Liar"):
        protocol.encode(Liar(0.0), no_handles)

    class LyingArray(np.ndarray):
        def var(self, *args, **kwargs):
            return 0.01

    back = round_trip(np.zeros(4).view(LyingArray))
    assert type(back) is np.ndarray and back.var() == 0.0


def test_a_pickle_never_reaches_pickle():
    class Payload:
        def __reduce__(self):
            return (pytest.fail, ("unpickled",))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(protocol.NotData, match="pickle"):
        protocol.decode({"array": base64.b64encode(buffer.getvalue()).decode()}, None)
    with pytest.raises(protocol.NotData, match="not numbers"):
        protocol.encode(np.array(["a"], dtype=object), no_handles)


@pytest.mark.parametrize("tree, message", [
    ({"pickle": "gASV"}, "tagged 'pickle'"), ([1, 2], "a list where a tagged value"), ({"dict": [[{"list": []}, 1]]}, "key"),
    ({"initializer": {"kind": "keras.src.Lambda", "config": {}}}, "initializer"),
    ({"model": {"input_shape": [4], "layers": [{"kind": "Lambda", "function": "print"}], "weights": []}}, "Lambda"),
    ({"model": {"input_shape": [4], "layers": [{"kind": "Dense", "units": 2, "activation": "os.system"}], "weights": []}}, "activation"),
    ({"model": {"input_shape": [4], "layers": [{"kind": "Dense", "units": 2, "activation": "relu"}], "weights": []}}, "weights"),
])
def test_what_the_verifier_does_not_know_is_refused(tree, message):
    with pytest.raises(protocol.NotData, match=message):
        protocol.decode(tree, lambda tag, body: None)
    nested = {"list": []}
    for _ in range(protocol.MAX_DEPTH + 5):
        nested = {"list": [nested]}
    with pytest.raises(protocol.NotData, match="deep"):
        protocol.decode(nested, None)


def test_a_keras_model_crosses_as_a_description_and_is_built_anew():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=4)
    built = round_trip(model)
    assert built is not model and type(built) is keras.Sequential and tuple(built.input_shape) == (None, 28, 28)
    assert [type(layer).__name__ for layer in built.layers] == ["Flatten", "Dense", "Dense"]
    assert [layer.activation.__name__ for layer in built.layers[1:]] == ["relu", "softmax"]
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    assert np.allclose(built.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(built.optimizer, keras.optimizers.SGD) and np.isclose(float(built.optimizer.learning_rate), 0.05)
    assert built.loss == "categorical_crossentropy" and built.steps_per_execution == 4
    initializer = round_trip(keras.initializers.RandomNormal(stddev=0.2, seed=3))
    assert isinstance(initializer, keras.initializers.RandomNormal) and initializer.stddev == 0.2


def test_the_verifier_runs_the_instructor_cells_the_tests_need_and_no_others():
    part1, part4 = plan(SOURCE / "part1_understanding.ipynb"), plan(SOURCE / "part4_deep_networks.ipynb")
    assert set(part1.instructor) == {"setup"} and "first_layer_gradient_matches_numeric" in part1.tests
    assert set(part4.instructor) == {"setup", "data", "helpers"}  # not the explorer, nor LSUV's optional check
    assert "### BEGIN HIDDEN TESTS" in part4.tests["layer_stats_values"]  # (from source/, hidden tests and all)


def test_a_test_is_split_into_its_visible_and_hidden_parts():
    segments = split_hidden_tests(TEST)
    assert [(s.hidden, s.first_line) for s in segments] == [(False, 1), (True, 4), (False, 7)]
    assert segments[1].text == 'assert x == 1, "x should be 1"\nassert x != 2, f"x is {x}, not 2"\n'
    # markers inside a block: the parts would not compile alone, so the whole cell is one hidden part
    nested = "for i in range(2):\n    ### BEGIN HIDDEN TESTS\n    assert i < 2\n    ### END HIDDEN TESTS\n"
    assert [(s.hidden, s.first_line, s.text) for s in split_hidden_tests(nested)] == [(True, 1, nested)]


def test_feedback_shows_only_messages_a_hidden_test_states():
    patterns = hidden_messages(TEST)
    assert any(p.fullmatch("x should be 1") for p in patterns)
    assert any(p.fullmatch("x is 3, not 2") for p in patterns)
    assert not any(p.fullmatch("x is 3\nprint('a hidden line'), not 2") for p in patterns)  # a value of two lines
    assert not any(p.fullmatch("assert x == 1") for p in patterns)


def test_the_tricks_earn_points_with_the_tests_in_the_kernel(tmp_path):
    """With the verifier off (tests run in the student's kernel, as nbgrader runs them), does each trick
    score above what the same submission earns with it (the bank's expected scores), that is, are the
    attacks that test_bank.py sees fail real?"""
    root = make_course(tmp_path / "course")
    for name in TRICKS:
        submit(BANK[name], root)
    nbgrader("autograde", ASSIGNMENT, "--force", "--Execute.timeout=30", "--RestartingExecute.verifier=False",
             course_root=root)
    scores = cell_scores(f"sqlite:///{root / 'gradebook.db'}")
    for name in TRICKS:
        entry = BANK[name]
        earned = sum(r["score"] or 0 for r in scores if r["student"] == name)
        deserved = sum(entry.expected_score(notebook, cell, points) for (notebook, cell), points in autograded_cells().items()
                       if entry.submits(notebook))
        assert earned > deserved, f"{name}: {earned} points with the tests in the kernel, {deserved} with the verifier: the trick is not real"


def nbgrader_cell(kind, grade_id, source):
    """A code cell of a source notebook: "locked" (the instructor's), "solution" or "test" (1 point)."""
    flags = {"locked": {"locked": True, "solution": False, "grade": False},
             "solution": {"locked": False, "solution": True, "grade": False},
             "test": {"locked": True, "solution": False, "grade": True, "points": 1}}[kind]
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "schema_version": 3, **flags}})


def test_a_verifier_that_stops_costs_one_test_and_is_started_again(tmp_path):
    """A verifier that dies mid-notebook (here a kernel outside the sandbox kills it, as only one outside the
    sandbox could) costs the test that finds it gone; a new one gets the notebook's instructor cells again,
    and the later tests pass."""
    cells = [nbgrader_cell("locked", "setup", "K = 3"), nbgrader_cell("solution", "f", "def f(x):\n    return K * x"),
             nbgrader_cell("test", "first", "assert f(2) == 6"), nbformat.v4.new_code_cell(KILL_THE_VERIFIER),
             nbgrader_cell("test", "second", "assert f(3) == 9"), nbgrader_cell("test", "third", "assert f(4) == K * 4")]
    errors = {grade_id: [name for name, _ in found] for grade_id, found in grade_cells(tmp_path, cells).items()}
    assert errors == {"first": [], "second": ["VerifierError"], "third": []}


def test_a_model_the_kernel_returned_goes_back_by_its_ref_while_unchanged(tmp_path):
    """A model the kernel returned, given back to a student's function as it came, reaches the function as the
    kernel's own model (no weights resent, nothing built again); changed in the verifier, it goes whole. A
    function that trains it sends the new weights back, and then the kernel's copy is again the verifier's. A
    kernel restarted since (here by a cell that kills it) no longer holds it, whatever it has kept since: it says
    so, and the model goes whole."""
    student = ("import keras\nmade = []\n\n"
               "def make():\n"
               "    made.append(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer='ones')]))\n"
               "    return made[-1]\n\n"
               "def is_kept(model):\n    return any(model is m for m in made)\n\n"
               "def bump(model):\n    model.set_weights([w + 1 for w in model.get_weights()])\n    return True\n\n"
               "def bias(model):\n    return model.get_weights()[1]\n")
    cells = [nbgrader_cell("locked", "setup", "import numpy as np"), nbgrader_cell("solution", "f", student),
             nbgrader_cell("test", "kept", "m, k = make(), make()\nassert is_kept(m) and is_kept(k)\nassert bump(m) and is_kept(m)\n"
                                           "assert np.allclose(m.get_weights()[1], 1), m.get_weights()\n"
                                           "m.set_weights([w * 0 for w in m.get_weights()])\nassert not is_kept(m)"),
             nbformat.v4.new_code_cell("import os\nos._exit(1)"),
             # (the new kernel has kept two models when k is sent: a ref used again would name one of them)
             nbgrader_cell("test", "forgotten", "n, o = make(), make()\nassert not is_kept(k)  # (k's ref is from before the restart)\n"
                                                "assert np.array_equal(bias(k), [0, 0]) and is_kept(n) and is_kept(o)")]
    assert grade_cells(tmp_path, cells) == {"kept": [], "forgotten": []}


def grade_cells(tmp_path, cells):
    """Grade a notebook of `cells` (its source and the submission alike) with the verifier, without the
    sandbox; return each test cell's errors as (name, message)."""
    source = tmp_path / "course" / "source" / "a"
    source.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), source / "nb.ipynb")
    (source / "helpers.py").write_text("")
    folder = tmp_path / "graded"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=copy.deepcopy(cells))
    grader = RestartingExecute(timeout=60, kernel_name="python3", sandbox=False,  # (nbgrader_config.py's agent, below)
                               extra_arguments=[f"--IPKernelApp.exec_files={ROOT / 'grading_engine' / 'grading_kernel.py'}"],
                               config=Config({"CourseDirectory": {"root": str(tmp_path / "course")}}))
    try:
        grader.preprocess(nb, {"metadata": {"path": str(folder)}, "nbgrader": {"assignment": "a", "notebook": "nb", "student": "s"}})
    finally:
        RestartingExecute.shut_down_kernel()
        stop_verifier()
        preloaded.stop_zygote()
    return {c.metadata["nbgrader"]["grade_id"]: [(o.ename, o.evalue) for o in c.outputs if o.output_type == "error"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_an_instructor_cell_the_verifier_runs_meanwhile_sees_the_kernel_after_the_cell(tmp_path):
    """The verifier runs its copy of an instructor cell while the kernel runs the notebook's; a student's name
    that the cell reads is answered from the kernel after its cell has run, as if the two ran in turn."""
    # the kernel's x is 2 after the cell (1 before it), so the verifier's copy makes y 4 (3 from before it)
    cells = [nbgrader_cell("locked", "setup", "import numpy as np"), nbgrader_cell("solution", "f", "x = 1"),
             nbgrader_cell("locked", "next", "import time\ntime.sleep(1)  # (the kernel is busy when asked)\n"
                                             "x = x + 1\ny = x + 1"),
             nbgrader_cell("test", "after", "assert y == 4, y")]
    assert grade_cells(tmp_path, cells) == {"after": []}


def test_an_instructor_cell_the_verifier_missed_is_run_again_in_the_new_one(tmp_path):
    """A verifier found stopped at an instructor cell (killed from outside its sandbox just before): the new one
    runs that cell too, so a test reads the instructor's K, never the student's kernel's."""
    cells = [nbgrader_cell("locked", "setup", "import numpy as np"), nbgrader_cell("test", "first", "assert np.pi > 3"),
             nbformat.v4.new_code_cell(KILL_THE_VERIFIER), nbgrader_cell("locked", "constants", "K = 3"),
             nbgrader_cell("solution", "f", "K = 99"), nbgrader_cell("test", "uses_k", "assert K == 3, K")]
    assert grade_cells(tmp_path, cells) == {"first": [], "uses_k": []}
