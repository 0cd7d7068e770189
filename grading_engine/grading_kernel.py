"""Run inside each kernel that nbgrader starts to grade (nbgrader_config.py passes it to
`IPKernelApp.exec_files`), before any student code. It leaves no names in the notebook's namespace.

- Caps the kernel's address space, so a runaway allocation raises MemoryError in its own cell
  instead of taking the machine down (`RestartingExecute` then restarts the kernel, since IPython
  keeps the failed cell's frames, and so the memory, alive).
- Imports `integrity` first, so the tamper checks see NumPy and builtins as they really are.
- Has Keras build a model's optimizer before tracing its training step (see
  `_build_optimizers_before_tracing`), which saves a second trace of every new model.
- Registers `sys.modules["_grading_kernel"].between_notebooks()`: one kernel grades all the notebooks
  of a submission (`RestartingExecute`), and this gives each notebook after the first the state a
  fresh kernel would give it.
- Sets up the trusted runner, `sys.modules["_grading_kernel"].run_trusted()`, through which the grader
  runs every test and locked instructor cell, and which proves to the grader that the cell's own
  code ran to its end (grading_engine/cell_proofs.py); see `_trusted_runner`.
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
        import integrity  # (beside the notebook being graded)
    except ImportError:
        integrity = None
    import numpy

    _build_optimizers_before_tracing()
    folder, environ, path = os.getcwd(), dict(os.environ), list(sys.path)
    warning_filters, numpy_errors = list(warnings.filters), numpy.geterr()
    # what the tamper checks watch, and more: a replacement made by one notebook is not the next one's
    numpy_names, builtin_names = dict(vars(numpy)), dict(vars(builtins))

    def _copy_changed(source, dest):
        """Copy the files of folder `source` that are new or changed into `dest` (links as links)."""
        import shutil

        for here, _, files in os.walk(source):
            target = os.path.join(dest, os.path.relpath(here, source))
            os.makedirs(target, exist_ok=True)
            for name in files:
                old, new = os.path.join(target, name), os.lstat(os.path.join(here, name))
                if os.path.lexists(old):
                    if (os.lstat(old).st_size, os.lstat(old).st_mtime) == (new.st_size, new.st_mtime):
                        continue
                    os.remove(old)  # (nbgrader leaves its graded notebooks read-only)
                shutil.copy2(os.path.join(here, name), old, follow_symlinks=False)

    def between_notebooks(files_from=None):
        """Undo what the last notebook's code changed outside its namespace and could change the
        next notebook's grade, then empty the namespace (IPython's reset) and collect the garbage.
        In a sandbox, also restore the submission's files that the last notebook's code changed, from
        `files_from` (the sandbox's copy of the submission as staged)."""
        os.chdir(folder)
        if files_from:
            _copy_changed(files_from, folder)
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
            sys.modules["keras"].backend.clear_session(free_memory=False)  # collected below, after the reset
        if "tensorflow" in sys.modules:
            sys.modules["tensorflow"].config.run_functions_eagerly(False)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        get_ipython().reset(new_session=True)  # (every name, the history, the execution count)
        trusted.forget()
        gc.collect()

    trusted = _trusted_runner(get_ipython(), integrity, _set_up.__code__.co_filename)
    sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=between_notebooks,
                                                           run_trusted=trusted.run)


def _trusted_runner(shell, integrity, this_file):
    """The runner of the grader's requests (grading_engine/cell_proofs.py), made before any student
    code runs, from references taken now: Python's own `compile` and `exec`, the notebook's namespace,
    the module table, the integrity check. For each request it

    - restores what instructor code relies on: every module the kernel had at its start (a student's
      `sys.modules["integrity"] = ...` is undone), the integrity module's contents, and every name that
      instructor code (a locked cell, or a test) has bound so far: a test sees `np`, `check_weights` and
      `assert_untampered` as the instructor's cells left them, whatever a student's cell rebound since,
      and the functions and classes they defined with their own code, defaults and attributes;
    - compiles the code it was sent itself (hidden tests arrive compiled) and runs it: an instructor
      cell in the notebook's namespace; a test in a copy of it, so that a student's function cannot
      rebind the names the test is using, with the names the test binds copied back after;
    - for a test: runs the genuine integrity check before and after, switches tracing, profiling and
      `sys.monitoring` off before, and fails the test if any was switched on while it ran (an audit
      hook watches, which nothing can remove), or if the instructor's names, functions or classes
      changed;
    - answers with the proof of the outcome (completed, or raised), which the grader checks.

    What it calls while a request runs it took now, and in C where it matters: a Python function looks
    its globals up when called, so a student's `json.decoder = ...` or `hmac.new = ...` would reach into a
    runner that called `json.loads` or `hmac.new`; and no code may give a function new code (`__code__`),
    which the audit hook refuses. Builtins are restored before each request, and names that shadow a
    builtin in the notebook (`abs = lambda x: 0`) are not passed to the instructor's code.
    """
    import _hashlib
    import binascii
    import builtins
    import linecache
    import marshal
    import opcode
    import sys
    import types
    from importlib.util import module_from_spec, spec_from_file_location
    from pathlib import Path

    spec = spec_from_file_location("_weight_init_cell_proofs", Path(this_file).with_name("cell_proofs.py"))
    proofs = module_from_spec(spec)
    spec.loader.exec_module(proofs)  # (not in sys.modules: nothing of it for student code to find there)
    make_proof, completed, raised, proof_mime = proofs.proof, proofs.COMPLETED, proofs.RAISED, proofs.PROOF_MIME
    hmac_digest, sha256, a2b_base64, marshal_loads = _hashlib.hmac_digest, _hashlib.openssl_sha256, binascii.a2b_base64, marshal.loads
    compile_, exec_, isinstance_, type_ = builtins.compile, builtins.exec, builtins.isinstance, builtins.type
    FunctionType, CodeType = types.FunctionType, types.CodeType
    builtins_dict, builtin_names = vars(builtins), dict(vars(builtins))
    # Bytecodes that bind or delete a global name (their argument: its index in co_names)
    binding = frozenset(opcode.opmap[name] for name in ("STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"))
    extended_arg = opcode.EXTENDED_ARG
    settrace, setprofile, gettrace, getprofile = sys.settrace, sys.setprofile, sys.gettrace, sys.getprofile
    monitoring = getattr(sys, "monitoring", None)  # (Python 3.12 and later)
    monitoring_events = [getattr(monitoring.events, name) for name in dir(monitoring.events) if name.isupper()] \
        if monitoring else []
    publish = shell.display_pub.publish
    user_ns, modules, first_modules = shell.user_ns, sys.modules, dict(sys.modules)
    integrity_names = dict(vars(integrity)) if integrity else {}
    assert_untampered = integrity.assert_untampered if integrity else (lambda: None)
    key = _read_grading_key(proofs.KEY_SUFFIX)
    missing = object()
    # Events that would let code skip or rewrite a test's lines as it runs
    watched = {"sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
               "sys.monitoring.register_callback"}
    state = {"in_test": False, "seen": [], "protected": {}, "objects": {}, "test": None, "restoring": False}

    def audit(event, args):
        if state["in_test"] and event in watched:
            state["seen"].append(event)
        if event == "object.__setattr__" and args[1] == "__code__" and not state["restoring"]:
            raise RuntimeError("the grading kernel does not let code give a function new code (__code__)")

    sys.addaudithook(audit)

    def bound_names(code):
        """The global names `code` (and the functions it defines) binds or deletes, read from its bytecode
        (2 bytes an instruction since Python 3.6; `dis` would look its helpers up at call time)."""
        names, raw, prefix = set(), code.co_code, 0
        for at in range(0, len(raw), 2):
            op, argument = raw[at], raw[at + 1] | prefix
            prefix = argument << 8 if op == extended_arg else 0
            if op in binding:
                names.add(code.co_names[argument])
        for constant in code.co_consts:
            if type_(constant) is CodeType:
                names |= bound_names(constant)
        return names

    def snapshot(value):
        """What a student's code could change in place in an instructor's function or class."""
        if type_(value) is FunctionType:
            return value.__code__, value.__defaults__, value.__kwdefaults__
        if isinstance_(value, type) and value.__module__ == "__main__":
            return dict(vars(value))
        return None

    def protect(namespace, names):
        for name in names:
            value = namespace.get(name, missing)
            if value is missing or name.startswith("__"):
                continue
            state["protected"][name] = value
            saved = snapshot(value)
            if saved is not None:
                state["objects"][id(value)] = (value, saved)

    def restore():
        for name, value in builtin_names.items():
            if builtins_dict.get(name, missing) is not value and name != "_":  # (`_`: IPython's last result)
                builtins_dict[name] = value
        for name, module in first_modules.items():
            if modules.get(name) is not module:
                modules[name] = module
        if integrity:
            vars(integrity).update(integrity_names)
        for value, saved in state["objects"].values():
            if type_(value) is FunctionType:
                state["restoring"] = True
                try:
                    value.__code__, value.__defaults__, value.__kwdefaults__ = saved
                finally:
                    state["restoring"] = False
                continue
            for name, attribute in saved.items():
                if vars(value).get(name, missing) is not attribute and not name.startswith("__"):
                    type.__setattr__(value, name, attribute)
            for name in [n for n in vars(value) if n not in saved and not n.startswith("__")]:
                type.__delattr__(value, name)

    def stop_tracing():
        settrace(None)
        setprofile(None)
        for tool in range(6) if monitoring else ():
            if monitoring.get_tool(tool) is not None:
                for event in monitoring_events:
                    if event and not event & (event - 1):  # (one event at a time)
                        monitoring.register_callback(tool, event, None)
                monitoring.set_events(tool, 0)

    def tracing_on():
        return gettrace() is not None or getprofile() is not None or \
            bool(monitoring and any(monitoring.get_events(tool) for tool in range(6)))

    def compiled(request, payload):
        if request["form"] == "code":  # a hidden test, compiled by the grader
            code = marshal_loads(payload)
            if type_(code) is not CodeType:
                raise TypeError("the grader sent something that is not code")
            return code
        source, padding = payload.decode(), "\n" * (request["first_line"] - 1)
        # (for tracebacks that show the failing line)
        linecache.cache[request["filename"]] = (len(source), None, (padding + source).splitlines(True), request["filename"])
        return compile_(padding + source, request["filename"], "exec", dont_inherit=True, optimize=0)

    def shadowing(namespace):
        """The names in `namespace` that hide a builtin from code running there, but that no instructor
        code bound."""
        return [name for name in namespace if name in builtin_names and name not in state["protected"]
                and not name.startswith("__") and name != "_"]

    def run_instructor_cell(request, payload):
        user_ns.update(state["protected"])
        user_ns["__builtins__"] = builtins
        shadows = {name: user_ns.pop(name) for name in shadowing(user_ns)}
        code = compiled(request, payload)
        try:
            exec_(code, user_ns)
        finally:
            for name, value in shadows.items():  # (the student's own, for the student's cells)
                user_ns.setdefault(name, value)
            protect(user_ns, bound_names(code))

    def instructor_tools(namespace):
        """The instructor's names as a test sees them, in `namespace`: the functions the instructor's cells
        defined as copies whose global names are the test's, so that a test's helper (`check_weights`) finds
        `np` as the instructor bound it, whatever a student's cell bound to `np` since."""
        tools = dict(state["protected"])
        for name, value in state["protected"].items():
            if type_(value) is FunctionType and value.__globals__ is user_ns:
                tool = FunctionType(value.__code__, namespace, value.__name__, value.__defaults__, value.__closure__)
                tool.__kwdefaults__, tool.__qualname__ = value.__kwdefaults__, value.__qualname__
                vars(tool).update(vars(value))
                tools[name] = tool
        return tools

    def run_test(request, payload):
        __tracebackhide__ = True  # noqa: F841  (IPython leaves this frame out of tracebacks)
        if request["segment"] == 0 or state["test"] is None or state["test"][0] != request["cell"]:
            namespace = dict(user_ns)
            for name in shadowing(namespace):
                del namespace[name]
            state["test"] = (request["cell"], namespace)
        namespace = state["test"][1]
        tools = instructor_tools(namespace)
        namespace.update(tools)
        namespace["__builtins__"] = builtins
        assert_untampered()
        code = compiled(request, payload)
        own = bound_names(code)
        state["seen"].clear()
        state["in_test"] = True
        try:
            exec_(code, namespace)
        finally:
            state["in_test"] = False
            for name, value in namespace.items():  # what the test bound, for the cells after it
                if (name not in tools or name in own) and name != "__builtins__" and user_ns.get(name, missing) is not value:
                    user_ns[name] = value
        problems = []
        if state["seen"] or tracing_on():
            problems.append(f"tracing or profiling was switched on while it ran ({', '.join(sorted(set(state['seen'])))})")
        rebound = sorted(name for name, value in tools.items() if name not in own and namespace.get(name, missing) is not value)
        if rebound:
            problems.append(f"names of the instructor's cells were rebound while it ran: {', '.join(rebound)}")
        changed = sorted(getattr(value, "__name__", "?") for value, saved in state["objects"].values() if snapshot(value) != saved)
        if changed:
            problems.append(f"the instructor's functions or classes were changed while it ran: {', '.join(changed)}")
        protect(namespace, own)
        if problems:
            raise AssertionError("this test cannot be trusted: " + "; ".join(problems))
        assert_untampered()

    def run(request_text):
        """Run one request of the grader's (cell_proofs.request_code), then publish the proof of its outcome."""
        stop_tracing()  # first: a trace function of a student's cell could otherwise skip the lines below
        __tracebackhide__ = True  # noqa: F841
        request = marshal_loads(a2b_base64(request_text))
        if type_(request) is not dict or type_(request.get("payload")) is not bytes:
            raise TypeError("the grader sent something that is not a request")
        if key is None:
            raise RuntimeError("this kernel has no grading key: it was not started by the kit's grader")
        payload, outcome = request["payload"], raised
        try:
            restore()
            (run_test if request["kind"] == "test" else run_instructor_cell)(request, payload)
            outcome = completed
        finally:
            publish({proof_mime: {"nonce": request["nonce"], "outcome": outcome, "proof": make_proof(
                key, request["nonce"], sha256(payload).hexdigest(), outcome, hmac_digest)}})

    def forget():
        """A new notebook: no instructor cell of it has run yet."""
        state.update(protected={}, objects={}, test=None)

    return types.SimpleNamespace(run=run, forget=forget)


def _read_grading_key(suffix):
    """The key the grader wrote beside this kernel's connection file, read and removed before any
    student code runs; None where the kernel was not started by the kit's grader."""
    import os

    from ipykernel.kernelapp import IPKernelApp

    if not IPKernelApp.initialized():
        return None
    path = os.path.splitext(IPKernelApp.instance().abs_connection_file)[0] + suffix
    try:
        with open(path, "rb") as file:
            key = file.read()
        os.unlink(path)
    except OSError:
        return None
    return key or None


def _build_optimizers_before_tracing():
    """Keras's TensorFlow trainer creates a model's optimizer variables while it traces the model's
    first training step, and TensorFlow then traces the step a second time (tensorflow/tensorflow#48851):
    about 0.3 s for each of the 6 new models of Part 3. Building the optimizer just before, as Keras's
    JAX and PyTorch trainers do, makes it one trace; the variables and the training are the same."""
    import keras  # preloaded (grading_engine/preloaded_kernels.py); in a kernel started afresh, imported here already

    if keras.backend.backend() != "tensorflow":
        return
    try:
        from keras.src.backend.tensorflow.trainer import TensorFlowTrainer
    except ImportError:  # another Keras's layout: one trace more per model (tests/test_grading_kernel.py fails)
        return
    make_train_function = TensorFlowTrainer.make_train_function

    def build_optimizer_first(self, force=False):
        optimizer = getattr(self, "optimizer", None)
        if (self.train_function is None or force) and self.built and optimizer is not None and not optimizer.built:
            optimizer.build(self.trainable_variables)
        return make_train_function(self, force)

    TensorFlowTrainer.make_train_function = build_optimizer_first


_set_up()
del _set_up, _trusted_runner, _read_grading_key, _build_optimizers_before_tracing
