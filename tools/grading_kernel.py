"""Run inside each kernel that nbgrader starts to grade (nbgrader_config.py passes it to
`IPKernelApp.exec_files`), before any student code.

- Caps the kernel's address space, so a runaway allocation raises MemoryError in its own cell
  instead of taking the machine down.
  (`RestartingExecute` then restarts the kernel, since the failed cell's frames may still hold
  the memory.)
- Imports `integrity` first, so the tamper checks see NumPy and builtins as they really are.
"""
import os
import resource

_limit = int(os.environ.get("WEIGHT_INIT_KERNEL_MEMORY", str(4 * 2**30)))
resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))

try:
    import integrity  # noqa: F401  (beside the notebook being graded)
except ImportError:
    pass
