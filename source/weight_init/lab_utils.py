"""Helpers shared by the weight_init notebooks: the shipped MNIST and the training budget.

Importing this module has no side effects: it imports neither TensorFlow nor
Keras, seeds nothing and reads no file. The notebooks set their seeds themselves.

- `load_mnist()` -> `(x_train, y_train), (x_test, y_test)`, uint8, as Keras's
  `mnist.load_data()` returns them, read from `data/mnist.npz` beside this file
  (under grading: from the grader's one read-only copy, `$WEIGHT_INIT_DATA/mnist.npz`)
  and verified (checksums and class counts) before first use; `train_samples` and
  `test_samples` ask for the first images only.
- `load_from_notebook(notebook, *names)` -> functions defined in another notebook
  (Part 3 takes your `he_normal_init` from Part 2 this way).
- `current_budget()` -> the `Budget` Parts 3 and 4 train on: the assignment's
  full run, or a smaller one while nbgrader executes the notebook.
- `Retrainer(model)` -> trains one compiled Keras model again and again from
  fresh weights, so that Keras compiles its training step only once;
  `retrainer_for(model)` -> the one this process made before for a model of the
  same kind, or a new one.
- `quiet_tensorflow_start()` -> a context for importing Keras and TensorFlow
  without the log lines TensorFlow's C++ core writes to stderr as it starts.
"""
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Grading reads one shared, read-only copy instead of one per student's folder
MNIST_PATH = Path(os.environ.get("WEIGHT_INIT_DATA") or Path(__file__).resolve().parent / "data") / "mnist.npz"
_verified_mnist = {}  # (path, size, mtime) -> arrays: decompressing and checking take ~0.3 s a time

# sha256 of each array's bytes (C order), so the check does not depend on zip metadata
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
MNIST_LABEL_COUNTS = {
    "y_train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "y_test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}


class CorruptDataError(ValueError):
    """The MNIST file exists but is not the one the kit ships."""


def verify_mnist(arrays):
    """Raise `CorruptDataError` unless `arrays` (name -> array) is exactly the shipped MNIST.

    Shapes and class counts are checked first, since they say more about what went wrong.
    """
    for name, shape in MNIST_SHAPES.items():
        if name not in arrays:
            raise CorruptDataError(f"MNIST is missing the array `{name}`")
        if arrays[name].dtype != np.uint8 or arrays[name].shape != shape:
            raise CorruptDataError(f"MNIST `{name}` is {arrays[name].dtype} {arrays[name].shape}, expected uint8 {shape}")
    for name, expected in MNIST_LABEL_COUNTS.items():
        counts = tuple(np.bincount(arrays[name], minlength=10).tolist())
        if counts != expected:
            raise CorruptDataError(f"MNIST `{name}` has class counts {counts}, expected {expected}")
    for name, expected in MNIST_SHA256.items():
        digest = hashlib.sha256(np.ascontiguousarray(arrays[name]).tobytes()).hexdigest()
        if digest != expected:
            raise CorruptDataError(f"MNIST `{name}` has checksum {digest[:12]}..., expected {expected[:12]}...")


def load_mnist(path=MNIST_PATH, *, train_samples=None, test_samples=None):
    """Return `(x_train, y_train), (x_test, y_test)` of MNIST as uint8 arrays: the first
    `train_samples` training and `test_samples` test images (None: all of them).

    Reads the file shipped with the assignment and verifies it, once per kernel; every call returns
    arrays of its own. If the file is missing, falls back to `keras.datasets.mnist.load_data()`,
    which downloads.
    """
    path = Path(path)
    if path.exists():
        arrays = _verified_arrays(path)
    else:
        print(f"MNIST file {path} not found; falling back to keras.datasets.mnist.load_data(), "
              "which needs internet access. Restore the file from the course repository to work offline.")
        import keras  # only here: the module itself stays free of TensorFlow

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    # copies (of only what is asked for): what one caller does to its arrays, the next caller never sees
    train, test = slice(train_samples), slice(test_samples)
    return ((arrays["x_train"][train].copy(), arrays["y_train"][train].copy()),
            (arrays["x_test"][test].copy(), arrays["y_test"][test].copy()))


def _verified_arrays(path):
    """The arrays of the MNIST file `path`, decompressed and verified once per kernel."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)  # a file replaced since is read again
    if key not in _verified_mnist:
        with np.load(path) as npz:
            arrays = {name: npz[name] for name in npz.files}
        try:
            verify_mnist(arrays)
        except CorruptDataError as error:
            raise CorruptDataError(f"{path} is damaged ({error}). Restore it from the course repository, "
                                   "or rebuild it with `python -m tools.prepare_mnist`.") from None
        _verified_mnist[key] = arrays
    return _verified_mnist[key]


def load_from_notebook(notebook, *names):
    """Run the code cells of `notebook`, but not its tests, and return the objects `names`.

    Part 3 uses a function written in Part 2 this way, without copying it. The cells run in a fresh
    namespace with their printed output discarded. A cell that raises is skipped; a name that ends
    up undefined raises `NameError` listing those errors. Returns one object for one name, else a tuple.
    """
    from IPython.core.inputtransformer2 import TransformerManager  # turns %magics into plain Python

    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    namespace, errors = {"__name__": Path(notebook).stem}, []
    for number, cell in enumerate(cells, start=1):
        if cell["cell_type"] != "code" or cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            code = compile(TransformerManager().transform_cell(source), f"<{notebook}, cell {number}>", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)
        except Exception as error:  # noqa: BLE001  (a broken cell must not hide the others)
            errors.append(f"cell {number}: {type(error).__name__}: {error}")
    missing = [name for name in names if name not in namespace]
    if missing:
        raise NameError(f"{', '.join(missing)} not defined by {notebook}; save it after running its cells. "
                        f"Errors in its cells: {errors or 'none'}")
    objects = tuple(namespace[name] for name in names)
    return objects[0] if len(objects) == 1 else objects


@dataclass(frozen=True)
class Budget:
    """How much Parts 3 and 4 train.

    Part 3: the first `train_samples` training and `test_samples` test images (None: all of them),
    for `epochs` epochs. Part 4: the 30-layer networks train on the first `deep_train_samples`
    images for `deep_epochs` epochs, once per (optimizer, depth) in `depth_runs`.
    """

    name: str
    train_samples: "int | None"
    test_samples: "int | None"
    epochs: int
    verbose: int = 2  # Keras's `fit(verbose=...)`: 2 prints a line per epoch, 0 nothing
    figure_dpi: "int | None" = None  # Part 4's figures (None: Matplotlib's own, 100)
    batch_size: int = 32
    validation_split: float = 0.2
    deep_train_samples: int = 12_000
    deep_epochs: int = 2
    depth_runs: tuple = (("SGD", 30), ("Adam", 30), ("SGD", 5))


# The assignment's experiment as written; Part 4 as Glorot & Bengio (2010) and He et al. (2015) ran it
FULL = Budget("full", train_samples=None, test_samples=None, epochs=5)
# Small enough to grade a class quickly, large enough that He and Glorot still beat zero init by far,
# and that a 30-layer ReLU network still trains from He init and stalls from Glorot init under SGD
# (and quiet: a grader reads no progress lines; and lean: Part 4's figures at 60 dpi, which halves the
# bytes of each student's graded notebook and feedback page)
GRADING = Budget("grading", train_samples=3000, test_samples=2000, epochs=1, verbose=0, deep_epochs=1,
                 depth_runs=(("SGD", 30),), figure_dpi=60)


def current_budget():
    """`GRADING` while nbgrader executes the notebook (autograde, or Validate in JupyterLab)
    or when `WEIGHT_INIT_BUDGET=grading`; otherwise `FULL`."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("WEIGHT_INIT_BUDGET") == "grading":
        return GRADING
    return FULL


class Retrainer:
    """Train one compiled Keras model several times, each time from the weights you give it and a
    fresh optimizer state: the same as compiling a new model each time, but Keras traces the model's
    training step (seconds for a deep network) only once, on the first `fit`, or never if the model
    has been trained before."""

    def __init__(self, model):
        self.model = model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise TypeError(f"Retrainer needs a compiled Keras model; got {type(model).__name__} without an optimizer "
                            "(call model.compile first)")
        if optimizer.built:  # it has trained: a new optimizer of the same config has the fresh state
            optimizer = type(optimizer).from_config(optimizer.get_config())
        # Built before the first `fit`, the optimizer's variables are not created while Keras traces
        # the training step, which TensorFlow would then trace a second time
        optimizer.build(model.trainable_variables)
        self._fresh_optimizer = [variable.numpy() for variable in optimizer.variables]

    def restart(self, weights):
        """Set the model's weights to `weights` (as `get_weights()` returns them), reset the
        optimizer (step count, momentum) and return the model, ready to `fit`."""
        self.model.set_weights(weights)
        for variable, value in zip(self.model.optimizer.variables, self._fresh_optimizer):
            variable.assign(value)
        return self.model


_retrainers = {}  # what `retrainer_for` made: {the kind of model: Retrainer}, the most recently used last
MAX_RETRAINERS = 8


def retrainer_for(model):
    """A `Retrainer` for models of `model`'s kind: the one made before in this process for a
    `keras.Sequential` with the same layers (kinds, units, activations, every setting but names and
    initializers) and the same compile settings, or else a new one for `model`. `restart` it before
    each `fit`: its model is shared with any earlier `retrainer_for` of the same kind. A process that
    trains the same networks over and over (the grader's, for every submission) traces each training
    step once."""
    kind = _kind_of(model)
    if kind is None:
        return Retrainer(model)
    if kind not in _retrainers:
        _retrainers[kind] = Retrainer(model)
        while len(_retrainers) > MAX_RETRAINERS:
            del _retrainers[next(iter(_retrainers))]
    _retrainers[kind] = _retrainers.pop(kind)  # (now the most recently used)
    return _retrainers[kind]


def _kind_of(model):
    """A text that two models share if and only if one can train as the other from the same weights:
    the class, input shape, each layer's settings and the compile settings, without names and
    initializers (the weights are set anyway); None for a model it cannot say that of."""
    import keras

    def settings(config, leave_out=("name",)):  # (names are made unique; a dtype policy's "name" is a setting)
        return {k: v for k, v in config.items() if k not in leave_out}

    def compile_settings(config):
        optimizer = config.get("optimizer")
        if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
            return {**config, "optimizer": {**optimizer, "config": settings(optimizer["config"])}}
        return config

    # (a functional model's layers could be wired in other ways: only Sequential's order says it all)
    if type(model) is not keras.Sequential or getattr(model, "optimizer", None) is None:
        return None
    try:
        layers = [(type(layer).__name__, settings(layer.get_config(), ("name", "kernel_initializer", "bias_initializer")))
                  for layer in model.layers]
        return json.dumps([str(model.input_shape), layers, compile_settings(model.get_compile_config())], sort_keys=True)
    except (TypeError, ValueError, AttributeError, NotImplementedError):  # a setting that is not plain data
        return None


# TensorFlow's C++ core logs to the process's stderr (file descriptor 2), not through Python, and
# Jupyter shows whatever reaches that descriptor as red stderr output in the running cell, which
# nbgrader's Validate reports as a failure. What TensorFlow 2.21 writes, and when:
# - while it is imported, before its logging is set up, so that `TF_CPP_MIN_LOG_LEVEL` does not
#   apply: "oneDNN custom operations are on" and "Could not find cuda drivers" (no GPU), each once
#   per TensorFlow library that logs it, on this kit's test machines;
# - when it first looks for devices, at its first operation: "failed call to cuInit" (an error-level
#   line on a machine with CUDA's runtime library but no driver), or, on a GPU machine, the devices
#   it found (not yet seen on one).
# After that it logs only what `TF_CPP_MIN_LOG_LEVEL` lets through: from level 2 on, errors only.
TENSORFLOW_LOG = Path(tempfile.gettempdir()) / f"weight_init-tensorflow-{os.getuid() if hasattr(os, 'getuid') else os.getpid()}.log"


@contextlib.contextmanager
def quiet_tensorflow_start(log_path=TENSORFLOW_LOG):
    """Import Keras and TensorFlow inside this context: what TensorFlow writes to stderr while it
    loads and finds its devices goes to `log_path` instead of the notebook.

    On entry, sets `TF_CPP_MIN_LOG_LEVEL=2` (unless set) so that later info and warning lines are
    not written either; on exit, makes TensorFlow find its devices (if it was imported) and points
    stderr back where it was. Python's own warnings and errors are not affected.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(2)
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 2)
            try:
                yield log_path
                if "tensorflow" in sys.modules:
                    sys.modules["tensorflow"].config.list_logical_devices()  # finds the devices, once per process
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
