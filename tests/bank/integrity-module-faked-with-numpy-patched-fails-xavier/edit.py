import nbformat

# Before the set-up imports it, the tamper check is replaced in the module table by one that finds
# nothing; then NumPy's comparisons are made to agree with anything
TRICK = """\
import sys
import types

import numpy

fake = types.ModuleType("integrity")
fake.assert_untampered = lambda: None
sys.modules["integrity"] = fake
numpy.isclose = lambda *args, **kwargs: True
numpy.allclose = lambda *args, **kwargs: True
"""


def edit(notebooks):
    """A wrong Xavier variance, with one new cell at the top: the tests run in the verifier, with its own
    NumPy and integrity check, so the wrong formula fails its tests, and nothing else does."""
    notebooks["part2_techniques"].cells.insert(1, nbformat.v4.new_code_cell(TRICK))
