"""Tamper checks for the test cells: did code in the notebook replace what the tests rely on?

Every test cell starts with `assert_untampered()`. It fails, and the test with it, if a NumPy
function or a Python builtin that the tests use is no longer the one this module saw when the
notebook's first cell imported it, or no longer behaves like it (which also catches a replacement
made before that import). Student code is free to use NumPy and Python as it likes; it just cannot
redefine them.

It guards the tests where they run in your own kernel, when you run the notebook or press Validate,
against an accidental redefinition. When the course grades your work, the tests run elsewhere, in a
process of the grader's, and take only the values your functions return; there this check always
passes.
"""
import builtins

import numpy as np

NUMPY_NAMES = ("abs", "all", "allclose", "any", "array_equal", "asarray", "count_nonzero", "diff", "isclose",
               "isfinite", "max", "mean", "ndindex", "shape", "sqrt", "std", "unique", "var", "zeros_like")
BUILTIN_NAMES = ("abs", "all", "any", "float", "int", "isinstance", "len", "max", "min", "set", "sorted", "sum",
                 "tuple", "type", "AssertionError")

_ORIGINALS = {("numpy", name): getattr(np, name) for name in NUMPY_NAMES}
_ORIGINALS.update({("builtins", name): getattr(builtins, name) for name in BUILTIN_NAMES})


def _behaves():
    """Spot checks of behaviour: a replacement made before this module was imported still fails them."""
    checks = {
        "numpy.isclose": lambda: not np.isclose(1.0, 2.0) and np.isclose(1.0, 1.0 + 1e-12),
        "numpy.allclose": lambda: not np.allclose([1.0, 2.0], [1.0, 3.0]),
        "numpy.array_equal": lambda: not np.array_equal([1, 2], [1, 3]),
        "numpy.var": lambda: np.var(np.array([0.0, 2.0])) == 1.0,
        "numpy.all": lambda: not np.all(np.array([True, False])),
        "builtins.abs": lambda: abs(-2.5) == 2.5,
        "builtins.all": lambda: not all([True, False]),
        "builtins.isinstance": lambda: not isinstance(1, str),
    }
    broken = []
    for name, check in checks.items():
        try:
            if not check():
                broken.append(name)
        except Exception:  # noqa: BLE001  (a replacement that raises is as broken as one that lies)
            broken.append(name)
    return broken


def assert_untampered():
    """Raise AssertionError if NumPy or builtins functions that the tests use were replaced."""
    replaced = [f"{module}.{name}" for (module, name), original in _ORIGINALS.items()
                if getattr(np if module == "numpy" else builtins, name, None) is not original]
    replaced += [name for name in _behaves() if name not in replaced]
    if replaced:
        raise AssertionError(f"code in this notebook replaced {', '.join(sorted(replaced))}; the tests cannot "
                             "trust them, so this test fails. Remove the code that redefines them.")
