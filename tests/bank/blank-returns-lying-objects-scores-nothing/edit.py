import nbformat

# Written against the verifier, having read it: the functions return objects that lie about themselves,
# a float whose comparisons are all true and whose float() is what a test would want, and an ndarray
# subclass of halves whose mean, var, std, dtype checks and comparisons report a perfect draw. The verifier
# takes data only: the float subclass is no float to it (refused), and the array arrives as its numbers.
TRICK = '''\
import numpy as np

class Liar(float):
    __eq__ = __lt__ = __gt__ = __le__ = __ge__ = lambda self, other: True
    __ne__ = lambda self, other: False
    def __float__(self):
        return 0.01

class LyingArray(np.ndarray):
    def mean(self, *a, **k): return 0.0
    def var(self, *a, **k): return 0.01
    def std(self, *a, **k): return 0.1
    __eq__ = lambda self, other: np.ones(self.shape, dtype=bool)

def _lying_array(shape, *args, **kwargs):
    return np.full(tuple(shape), 0.5, dtype=np.float32).view(LyingArray)

compute_fans = lambda shape: (Liar(1), Liar(1))
xavier_variance = lambda fan_in, fan_out: Liar(0)
he_variance = lambda fan_in: Liar(0)
zeros_init = random_normal_init = xavier_normal_init = he_normal_init = xavier_uniform_init = he_uniform_init = _lying_array
'''


def edit(notebooks):
    """A blank Part 2 with the trick in a new cell after each solution cell (which would define the blank
    function again)."""
    cells = notebooks["part2_techniques"].cells
    for at in reversed([i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]):
        cells.insert(at + 1, nbformat.v4.new_code_cell(TRICK))
