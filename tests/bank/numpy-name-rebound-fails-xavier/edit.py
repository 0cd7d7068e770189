import nbformat

# Just before the Xavier test (no instructor cell between), the names the tests use are rebound: `np` to a NumPy whose comparisons agree with
# anything, and the tamper check to one that finds nothing (nothing of NumPy itself is changed)
TRICK = """\
import types

import numpy

class Agreeable(types.ModuleType):
    def __getattr__(self, name):
        agree = lambda *args, **kwargs: True
        return agree if name in ("isclose", "allclose") else getattr(numpy, name)

np = Agreeable("numpy")
assert_untampered = lambda: None
"""


def edit(notebooks):
    """A wrong Xavier variance, with one new cell before its test."""
    cells = notebooks["part2_techniques"].cells
    test = next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "xavier_variance_formula")
    cells.insert(test, nbformat.v4.new_code_cell(TRICK))
