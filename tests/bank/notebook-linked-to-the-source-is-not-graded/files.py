import os


def make_files(folder):
    """Part 1 handed in as a link to the instructor's own notebook, solutions and hidden tests and all."""
    os.symlink("../../../source/weight_init/part1_understanding.ipynb", os.path.join(folder, "part1_understanding.ipynb"))
