"""Run inside each kernel that nbgrader starts to grade (nbgrader_config.py passes it to
`IPKernelApp.exec_files`), before any student code. It leaves no names in the notebook's namespace.

- Caps the kernel's address space, so a runaway allocation raises MemoryError in its own cell
  instead of taking the machine down (`RestartingExecute` then restarts the kernel, since IPython
  keeps the failed cell's frames, and so the memory, alive).
- Has Keras build a model's optimizer before tracing its training step (see
  `_build_optimizers_before_tracing`), which saves a second trace of every new model.
- Registers `sys.modules["_grading_kernel"].between_notebooks()`: one kernel grades all the notebooks
  of a submission (`RestartingExecute`), and this gives each notebook after the first the state a
  fresh kernel would give it.
- Registers `sys.modules["_grading_kernel"].answer()`, through which the verifier, where the tests run
  (grading_engine/verifier/), asks for the notebook's names and calls its functions, as data.
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

    import numpy

    _build_optimizers_before_tracing()
    folder, environ, path = os.getcwd(), dict(os.environ), list(sys.path)
    warning_filters, numpy_errors = list(warnings.filters), numpy.geterr()
    # a replacement made by one notebook is not the next one's
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
        # Modules imported from the submission's folder (lab_utils, integrity) are imported afresh
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if os.path.dirname(os.path.abspath(file)) == folder:
                del sys.modules[name]
        if "keras" in sys.modules:  # names, seeds and graphs of the last notebook's models
            sys.modules["keras"].backend.clear_session(free_memory=False)  # collected below, after the reset
        if "tensorflow" in sys.modules:
            sys.modules["tensorflow"].config.run_functions_eagerly(False)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        get_ipython().reset(new_session=True)  # (every name, the history, the execution count)
        agent.forget()
        gc.collect()

    agent = _verifier_agent(get_ipython(), _set_up.__code__.co_filename)
    sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=between_notebooks, answer=agent.answer)


def _verifier_agent(shell, this_file):
    """The kernel's side of the verifier's questions (grading_engine/verifier/): what a name of the
    notebook holds, and the result of calling one of its functions, as data (protocol.py, loaded by path
    and kept out of `sys.modules`). Nothing here is trusted: a student's code can replace all of it, and
    then only its own answers suffer, since the verifier takes data only and checks every value."""
    import itertools
    import json
    import os
    import types
    from importlib.util import module_from_spec, spec_from_file_location
    from pathlib import Path

    spec = spec_from_file_location("_weight_init_protocol", Path(this_file).with_name("verifier") / "protocol.py")
    protocol = module_from_spec(spec)
    spec.loader.exec_module(protocol)
    publish, user_ns, handles, kept = shell.display_pub.publish, shell.user_ns, {}, {}
    raw_input = shell.kernel.raw_input if getattr(shell, "kernel", None) else input

    def handle_for(function):
        handles[f"h{len(handles)}"] = function
        return {"handle": f"h{len(handles) - 1}"}

    numbers = itertools.count()

    def model_tree(model):  # a model returned is kept, for the verifier to send back by its ref
        # (a ref names one model for good, not reused after `forget` or by a restarted kernel: a model the
        # verifier still holds from before, as a trainer it keeps for every submission, is "forgotten")
        ref = f"m{next(numbers)}-{os.urandom(6).hex()}"
        kept[ref] = model
        return {"model": protocol.describe_model(model, ref=ref)}

    class Forgotten(Exception):
        """The verifier sent a model by a ref this kernel does not hold (it was restarted since)."""

    def resolve(tag, body):
        if tag == "kept_model":
            if body not in kept:
                raise Forgotten
            return kept[body]
        if tag == "handle":
            if body not in handles:
                raise protocol.NotData(f"an unknown handle {str(body)[:40]}")
            return handles[body]
        import keras  # a function of the verifier's, used as an initializer: it fills in the weights itself

        def stand_in(shape, dtype=None):
            return keras.ops.full(tuple(shape), protocol.CALLBACK_FILL, dtype=dtype or "float32")
        return stand_in

    def answer(text=None):
        """Answer one question of the verifier's (JSON) with a display_data output: `text`, or, for a large one
        (a training set), read from the grader through Jupyter's stdin channel, so that IPython parses no
        megabytes of code."""
        request = json.loads(raw_input() if text is None else text)
        reply = {"id": request["id"]}
        try:
            if request["op"] == "get":
                if request["name"] not in user_ns:
                    reply["missing"] = True
                    return publish({protocol.REPLY_MIME: reply})
                value, models, given = user_ns[request["name"]], [], []
            else:
                function = resolve("handle", request["handle"])
                args, kwargs = protocol.decode(request["args"], resolve), protocol.decode(request["kwargs"], resolve)
                models = protocol.models_in((args, kwargs))
                given = [model.get_weights() for model in models]
                value = function(*args, **kwargs)
        except Forgotten:
            return publish({protocol.REPLY_MIME: {"id": request["id"], "forgotten": True}})
        except (Exception, SystemExit) as error:  # noqa: BLE001  (the student's error is the answer)
            return publish({protocol.REPLY_MIME: {"id": request["id"], "raised": type(error).__name__, "message": str(error)[:2000]}})
        try:
            reply["value"] = protocol.encode(value, handle_for, model_tree=model_tree)
            # each model's weights after the call, or None where they are the ones it was given (most
            # calls only read a model: megabytes not sent back)
            reply["updated"] = [None if protocol.same_arrays(before, after) else [protocol.array_text(w) for w in after]
                                for before, after in zip(given, (model.get_weights() for model in models))]
        except (Exception, SystemExit) as error:  # noqa: BLE001
            reply = {"id": request["id"], "unsendable": f"{type(error).__name__}: {str(error)[:2000]}"}
        if len(json.dumps(reply)) > protocol.MAX_REPLY:
            reply = {"id": request["id"], "unsendable": f"a result over {protocol.MAX_REPLY // 2**20} MiB, the most the grader takes"}
        publish({protocol.REPLY_MIME: reply})

    def forget():
        handles.clear()
        kept.clear()

    return types.SimpleNamespace(answer=answer, forget=forget)


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
del _set_up, _verifier_agent, _build_optimizers_before_tracing
