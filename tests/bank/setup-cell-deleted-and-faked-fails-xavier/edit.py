import nbformat

# The locked set-up cell deleted, and a set-up of the student's own in its place, with a NumPy whose
# comparisons agree with anything and a tamper check that finds nothing
FAKE_SETUP = """\
import os
import types

import numpy

class Agreeable(types.ModuleType):
    def __getattr__(self, name):
        agree = lambda *args, **kwargs: True
        return agree if name in ("isclose", "allclose") else getattr(numpy, name)

np = Agreeable("numpy")
assert_untampered = lambda: None
SEED = 0
"""


def edit(notebooks):
    """A wrong Xavier variance in a notebook whose set-up cell was replaced."""
    cells = notebooks["part2_techniques"].cells
    setup = next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    cells[setup] = nbformat.v4.new_code_cell(FAKE_SETUP)
