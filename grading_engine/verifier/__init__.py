"""The verifier: where the tests decide, in a process of the grader's in which no student code runs.

- `process`: the verifier's process, which runs the tests and the instructor's cells they need, and
  asks the student's kernel for the notebook's names through the grader.
- `protocol`: what crosses between the two, data only: numbers, strings, arrays as `.npy` without
  pickle, Keras models as descriptions built anew on the reading side, handles for functions.
- `client`: the grader's side: starting the verifier (in a sandbox of its own) and which cells it runs.

The kernel's side of the questions is `grading_engine/grading_kernel.py`; `nbgrader_plugins.RestartingExecute`
relays between them.
"""
