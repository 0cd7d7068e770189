"""The zygote of `grading_engine.preloaded_kernels`: a Python process that imports what grading kernels import,
then forks one kernel per request. Standard library only, so that a kernel holds no module of the
kit's beyond a plain kernel's.

    python grading_engine/kernel_zygote.py REPLY_FD [SANDBOX]   # started by `grading_engine.preloaded_kernels.Zygote`

SANDBOX (JSON, `Sandbox.zygote_config` in grading_engine/sandbox.py): the zygote runs in a sandbox,
resets it when asked, and starts kernels with its limits and user.
"""
import contextlib
import gc
import json
import os
import resource
import shutil
import signal
import sys
import time

# What the notebooks import, the slow part of a grading kernel's start-up; Keras imports TensorFlow
# and Matplotlib. Not ipykernel: it reads the kernel's environment when imported
PRELOAD = ("numpy", "keras")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def serve(reply_fd, sandbox=None):
    """Import `PRELOAD`, then fork a kernel for every request read from stdin and reply with its pid.

    A request is one JSON line: {"argv": [...], "cwd": ..., "env": {...}}, argv being what follows
    `python -m ipykernel_launcher`; or, in a sandbox, {"reset": true, "workdir": ...}, answered "ok" or with what went
    wrong. Ends when stdin closes (the grading process has gone).
    """
    if sandbox:
        _not_traceable()

    # ipykernel would set this before any user code; Matplotlib, which Keras imports, reads it at import
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    _import_quietly(PRELOAD)
    # Kernels share these objects' memory until they write to it; the garbage collector writes to every
    # object it tracks, so keep them out of its sight (what gc.freeze is for)
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)  # kernels that ended: gone at once, their CPU time counted
    with os.fdopen(reply_fd, "w") as replies:
        replies.write("ready\n")
        replies.flush()
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("reset"):
                replies.write(_reset(sandbox, request["workdir"]) + "\n")
                replies.flush()
                continue
            pid = os.fork()
            if pid == 0:
                _become_kernel(request, reply_fd, sandbox)
            replies.write(f"{pid}\n")
            replies.flush()


def _import_quietly(modules):
    """Import `modules` with descriptor 2 on a temporary file: TensorFlow's C++ core writes its start-up
    lines there ("oneDNN custom operations are on", "Could not find cuda drivers"), which the grader's
    console (`make demo`, a cluster's workers) would show for every zygote. If an import fails, what it
    wrote comes with the error. Kernels get the zygote's descriptor 2 as it was."""
    import importlib
    import tempfile

    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            for module in modules:
                importlib.import_module(module)
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _not_traceable():
    """Make this process non-dumpable: a process of the same user then cannot trace it or open its
    memory or file descriptors through /proc (kernels forked from it become dumpable again)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def _reset(sandbox, workdir):
    """Between kernels: kill every process in the sandbox but this one, empty the folders they could
    write, and copy the next submission from the inbox into its working folder. Kernels running as a
    user of their own are killed and cleaned up after by a child of that user."""
    if sandbox["uid"] is None:
        try:
            _clean(sandbox, workdir)
        except Exception as error:  # noqa: BLE001  (the grading process replaces the sandbox)
            return f"error {type(error).__name__}: {error}"
        return "ok"
    read_fd, write_fd = os.pipe()
    if os.fork() == 0:
        message = "error: the reset failed"
        try:
            os.close(read_fd)
            _become_user(sandbox["uid"])
            _clean(sandbox, workdir)
            message = "ok"
        except BaseException as error:  # noqa: BLE001
            message = f"error {type(error).__name__}: {error}"
        finally:
            os.write(write_fd, message.encode())
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as answer:
        return answer.read() or "error: the reset process died"


def _clean(sandbox, workdir):
    deadline = time.monotonic() + 10
    # kill(-1): every process this one may signal, but itself and the sandbox's init; then wait for them
    # to be gone (a killed process stays until its parent, the zygote or init, reaps it)
    while _same_user_processes():
        if time.monotonic() > deadline:
            raise RuntimeError("processes of the last kernel are still there 10 s after SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        time.sleep(0.005)
    for folder in sandbox["empty"]:
        _empty(folder, keep=sandbox["keep"])
    shutil.copytree(sandbox["inbox"], workdir, symlinks=True)


def _same_user_processes():
    """The sandbox's processes of this one's user, but itself and init."""
    me, uid = os.getpid(), os.getuid()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            with contextlib.suppress(FileNotFoundError):
                if os.stat(f"/proc/{name}").st_uid == uid:  # (a non-dumpable process's is root's: not one of these)
                    found.append(int(name))
    return found


def _empty(folder, keep):
    """Remove everything of this user's in `folder` but the paths in `keep` (and the folders on the way
    to them). What is another user's stays: kernels running as a user of their own cannot change what
    the zygote wrote (~/.cache/matplotlib, as it imported). What is mounted from outside stays too (the
    engine, Python, the data, read-only): a grader that is not root runs the kernels as itself, and the
    folders bubblewrap made on the way to those mounts (a kit under /tmp) are then its own."""
    device = os.lstat(folder).st_dev
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        info = os.lstat(path)
        if path in keep or info.st_uid != os.getuid() or info.st_dev != device:
            continue
        if any(k.startswith(path + "/") for k in keep):
            _empty(path, keep)
        else:
            _remove(path, device)


def _remove(path, device):
    """Remove `path` and what it holds on `device`; a folder that holds a mount, however deep (one
    bubblewrap made on the way to it, never a submission's), stays, with the mount. Whether it went."""
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)  # (a submission may have taken away its own permissions)
        kept = [child for child in (os.path.join(path, entry) for entry in os.listdir(path))
                if os.lstat(child).st_dev != device or not _remove(child, device)]
        if kept:
            return False
        os.rmdir(path)
    else:
        os.unlink(path)
    return True


def _become_user(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _reap(signum, frame):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_kernel(request, reply_fd, sandbox=None):
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
        if sandbox:
            if sandbox["uid"] is not None:
                _become_user(sandbox["uid"])
            resource.setrlimit(resource.RLIMIT_NPROC, (sandbox["processes"], sandbox["processes"]))
            resource.setrlimit(resource.RLIMIT_CPU, (sandbox["cpu_seconds"], sandbox["cpu_seconds"]))
            import ctypes

            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, 1: a process like any other
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
    serve(int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) > 2 else None)
