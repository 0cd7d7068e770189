"""The zygote of `grading_engine.preloaded_kernels`: a Python process that imports what grading kernels import,
then forks one kernel per request. Standard library only, so that a kernel holds no module of the
kit's beyond a plain kernel's.

    python grading_engine/kernel_zygote.py REPLY_FD    # started by `grading_engine.preloaded_kernels.Zygote`
"""
import gc
import json
import os
import signal
import sys

# What the notebooks import, the slow part of a grading kernel's start-up; Keras imports TensorFlow
# and Matplotlib. Not ipykernel: it reads the kernel's environment when imported
PRELOAD = ("numpy", "keras")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def serve(reply_fd):
    """Import `PRELOAD`, then fork a kernel for every request read from stdin and reply with its pid.

    A request is one JSON line: {"argv": [...], "cwd": ..., "env": {...}}, argv being what follows
    `python -m ipykernel_launcher`. Ends when stdin closes (the grading process has gone).
    """
    import importlib

    # ipykernel would set this before any user code; Matplotlib, which Keras imports, reads it at import
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in PRELOAD:
        importlib.import_module(module)
    # Kernels share these objects' memory until they write to it; the garbage collector writes to every
    # object it tracks, so keep them out of its sight (what gc.freeze is for)
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)  # kernels that ended: gone at once, their CPU time counted
    with os.fdopen(reply_fd, "w") as replies:
        replies.write("ready\n")
        replies.flush()
        for line in sys.stdin:
            pid = os.fork()
            if pid == 0:
                _become_kernel(json.loads(line), reply_fd)
            replies.write(f"{pid}\n")
            replies.flush()


def _reap(signum, frame):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_kernel(request, reply_fd):
    """In the forked child: turn into `python -m ipykernel_launcher ARGV` started in `cwd` with `env`."""
    import atexit
    import runpy

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own process group, as jupyter_client starts kernels, so signals reach only it
        os.close(reply_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # not the zygote's request pipe
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"], JPY_PARENT_PID=str(os.getppid()))  # the kernel ends with its parent
        # `python -m` puts the working directory first, then PYTHONPATH made absolute from there (the
        # zygote's sys.path starts with this file's folder, then PYTHONPATH made absolute from its own)
        pythonpath = os.environ.get("PYTHONPATH")
        entries = [os.path.abspath(entry) for entry in pythonpath.split(os.pathsep)] if pythonpath else []
        sys.path[: 1 + len(entries)] = [os.getcwd(), *entries]
        sys.argv = ["-m", *request["argv"]]  # run_module puts the launcher's path first
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except BaseException:  # noqa: BLE001  (reported like an uncaught error in a kernel)
        import traceback

        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()  # what a kernel does when it exits: remove its connection file, ...
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # never back into the zygote's loop


if __name__ == "__main__":
    serve(int(sys.argv[1]))
