import nbformat

# After the set-up, the names the tests use are rebound: `np` to a NumPy whose comparisons agree with
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
    """A wrong Xavier variance, with one new cell after the set-up."""
    cells = notebooks["part2_techniques"].cells
    setup = next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    cells.insert(setup + 1, nbformat.v4.new_code_cell(TRICK))
