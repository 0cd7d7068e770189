"""The grading engine: how the kit runs nbgrader's autograde on untrusted submissions, fast.

- `nbgrader_plugins`: the preprocessors `nbgrader_config.py` plugs into nbgrader (restart after a
  crash, one kernel per submission, marking notes for graders, feedback without hidden tests).
- `preloaded_kernels`, `kernel_zygote`: grading kernels forked from a process that has imported Keras.
- `sandbox`: the bubblewrap sandbox that process and its kernels run in, away from the course folder,
  the network and the grader's secrets.
- `verifier`: where the tests decide, in a process of the grader's where no student code runs; the
  student's names reach it as data.
- `grading_kernel`: runs first in every grading kernel (memory cap, reset between notebooks, the agent
  that answers the verifier).
- `cluster`: grades a class on a Dask cluster, several workers on one machine or many machines.

The instructor's commands (the demo, reports, the marking guide) live in `tools/`, above this package;
what both need (the course's layout, running nbgrader, the written questions) in `course/`, below both.
"""
