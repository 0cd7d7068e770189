import nbformat

# Every function of Part 2 ends the kernel with os._exit when a test calls it. Each test then kills the
# kernel, which is restarted; after the fifth restart the rest of the notebook is not run and gets no
# points, and the notebook is graded all the same (nbgrader's own Execute would drop the submission).
TRICK = '''\
import os

def _dies(*args, **kwargs):
    os._exit(1)

compute_fans = zeros_init = random_normal_init = xavier_variance = he_variance = _dies
xavier_normal_init = he_normal_init = xavier_uniform_init = he_uniform_init = _dies
'''


def edit(notebooks):
    """A blank Part 2 with the trick after each solution cell (which would define the blank function again)."""
    cells = notebooks["part2_techniques"].cells
    for at in reversed([i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]):
        cells.insert(at + 1, nbformat.v4.new_code_cell(TRICK))
