import nbformat

# What students do in cells of their own: plots inline, timing, profiling, display
EXPERIMENTS = """\
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display

%timeit -n 1 -r 1 xavier_variance(784, 128)
%prun -q he_variance(784)
display({"xavier": xavier_variance(784, 128), "he": he_variance(784)})
plt.plot([xavier_variance(n, n) for n in range(1, 50)])
plt.show()
"""


def edit(notebooks):
    """Correct Parts 1 and 2, with a cell of experiments after Part 2's variance formulas."""
    cells = notebooks["part2_techniques"].cells
    formulas = next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "variance_formulas")
    cells.insert(formulas + 1, nbformat.v4.new_code_cell(EXPERIMENTS))
