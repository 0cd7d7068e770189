"""Run inside each kernel that nbgrader starts to grade (nbgrader_config.py passes it to
`IPKernelApp.exec_files`), before any student code.

- Caps the kernel's address space, so a runaway allocation raises MemoryError in its own cell
  instead of taking the machine down (`RestartingExecute` then restarts the kernel, since IPython
  keeps the failed cell's frames, and so the memory, alive).
- Imports `integrity` first, so the tamper checks see NumPy and builtins as they really are.
"""
import os
import resource

if os.environ.get("WEIGHT_INIT_KERNEL_MEMORY"):  # set in nbgrader_config.py
    _limit = int(os.environ["WEIGHT_INIT_KERNEL_MEMORY"])
    resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))

try:
    import integrity  # noqa: F401  (beside the notebook being graded)
except ImportError:
    pass
