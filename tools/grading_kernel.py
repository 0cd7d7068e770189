"""Run inside each kernel that nbgrader starts to grade (nbgrader_config.py passes it to
`IPKernelApp.exec_files`), before any student code. It leaves no names in the notebook's namespace.

- Caps the kernel's address space, so a runaway allocation raises MemoryError in its own cell
  instead of taking the machine down (`RestartingExecute` then restarts the kernel, since IPython
  keeps the failed cell's frames, and so the memory, alive).
- Imports `integrity` first, so the tamper checks see NumPy and builtins as they really are.
- Registers `sys.modules["_grading_kernel"].between_notebooks()`: one kernel grades all the notebooks
  of a submission (`RestartingExecute`), and this gives each notebook after the first the state a
  fresh kernel would give it.
"""


def _set_up():
    import builtins
    import gc
    import os
    import resource
    import sys
    import types
    import warnings

    from IPython import get_ipython

    if os.environ.get("WEIGHT_INIT_KERNEL_MEMORY"):  # set in nbgrader_config.py
        limit = int(os.environ["WEIGHT_INIT_KERNEL_MEMORY"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    try:
        import integrity  # noqa: F401  (beside the notebook being graded)
    except ImportError:
        pass
    import numpy

    folder, environ, path = os.getcwd(), dict(os.environ), list(sys.path)
    warning_filters, numpy_errors = list(warnings.filters), numpy.geterr()
    # what the tamper checks watch, and more: a replacement made by one notebook is not the next one's
    numpy_names, builtin_names = dict(vars(numpy)), dict(vars(builtins))

    def between_notebooks():
        """Undo what the last notebook's code changed outside its namespace and could change the
        next notebook's grade, then empty the namespace (IPython's reset) and collect the garbage."""
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(environ)  # e.g. a budget or log level set by the last notebook
        sys.path[:] = path
        warnings.resetwarnings()  # a warning on stderr would cost a test cell its points
        warnings.filters[:] = warning_filters
        numpy.seterr(**numpy_errors)
        vars(numpy).update(numpy_names)
        vars(builtins).update(builtin_names)
        # Modules imported from the submission's folder (lab_utils) are imported afresh, except
        # `integrity`, whose view of NumPy must stay the one it took at kernel start
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if name != "integrity" and os.path.dirname(os.path.abspath(file)) == folder:
                del sys.modules[name]
        if "keras" in sys.modules:  # names, seeds and graphs of the last notebook's models
            sys.modules["keras"].backend.clear_session()
        if "tensorflow" in sys.modules:
            sys.modules["tensorflow"].config.run_functions_eagerly(False)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        get_ipython().reset(new_session=True)  # (every name, the history, the execution count)
        gc.collect()

    sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=between_notebooks)


_set_up()
del _set_up
