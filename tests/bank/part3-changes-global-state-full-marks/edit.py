import nbformat

STATE_CHANGES = '''\
# A student's experiments at the end of Part 3, changing what lives outside the notebook's names
import os
import sys
import warnings

import numpy as np
import tensorflow as tf

import lab_utils

os.environ.pop("NBGRADER_EXECUTION", None)      # "see the full run"
os.environ["WEIGHT_INIT_SEED"] = "12345"
lab_utils.current_budget = lambda: lab_utils.FULL
warnings.simplefilter("always")                 # every warning to stderr
np.seterr(all="raise")
np.allclose = lambda *args, **kwargs: True      # caught by Part 3's tamper checks had it come earlier
tf.config.run_functions_eagerly(True)           # "to debug"
sys.path.insert(0, "/nonexistent")
os.chdir("/")
deep_mlp = layer_stats = distinct_units = orthogonal_init = None
'''


def edit(notebooks):
    """Part 3 ends with a cell that changes the environment, working directory, warnings filters,
    NumPy, lab_utils and TensorFlow: graded in one kernel with Part 3, Part 4 must not notice."""
    notebooks["part3_applying"].cells.append(nbformat.v4.new_code_cell(STATE_CHANGES))
