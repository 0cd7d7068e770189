"""Grading kernels forked from a process that has imported TensorFlow already.

Every submission is graded in a fresh kernel, and Parts 3 and 4 import Keras and TensorFlow in it:
about 3 s of CPU, a tenth of a submission's grading. `PreloadedKernelManager` (the kernel manager
of `RestartingExecute` in grading_engine/nbgrader_plugins.py) starts, once per grading process, a *zygote*
(`grading_engine/kernel_zygote.py`): a Python process that imports NumPy and Keras (with TensorFlow and
Matplotlib) and waits. Each kernel is then a fork of the zygote that runs
`python -m ipykernel_launcher ...` exactly as jupyter_client would have started it: same Python,
arguments, working directory and environment, in a session of its own; only the imports are done
already. Nothing of a submission reaches the zygote, so every submission starts from the same state.

Forking is safe because the zygote runs no TensorFlow operation: TensorFlow starts its thread pools
at the first one, in the kernel. A zygote serves kernels of one Python and one environment; a kernel
with another gets a new zygote, and a kernel the zygote cannot start is started the usual way, with
a warning in the log.

`SandboxedKernelManager` (the default of `RestartingExecute`) starts the zygote in a bubblewrap
sandbox (grading_engine/sandbox.py) and has it reset the sandbox before every kernel; its kernels
are never started the usual way, which would be outside the sandbox: a zygote that fails is
replaced by a new sandbox once, and then the kernel start fails.
"""
import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from grading_engine.sandbox import Sandbox, kernel_environment, stop

ZYGOTE = Path(__file__).with_name("kernel_zygote.py")
# Seconds the zygote has to answer: its imports take about 3 s, a reset well under one
READY_TIMEOUT, RESET_TIMEOUT, FORK_TIMEOUT = 300, 60, 60


class ZygoteError(RuntimeError):
    """The zygote could not start a kernel."""


class Zygote:
    """A running zygote for kernels of one Python and environment, in a sandbox of its own or not."""

    def __init__(self, python, env, sandboxed=False):
        self.key = _zygote_key(python, env, sandboxed)
        self.sandbox = Sandbox(python) if sandboxed else None
        read_fd, write_fd = os.pipe()
        argv, pass_fds = [python, str(ZYGOTE), str(write_fd)], [write_fd]
        if self.sandbox:
            info_read, info_write = os.pipe()  # bubblewrap writes the sandbox's pid there
            argv = self.sandbox.command(argv + [json.dumps(self.sandbox.zygote_config())], info_write)
            pass_fds.append(info_write)
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env, pass_fds=pass_fds, text=True)
        os.close(write_fd)
        self.replies = os.fdopen(read_fd)
        self.lock = threading.Lock()
        try:
            if self.sandbox:
                os.close(info_write)
                with os.fdopen(info_read) as info:
                    self.sandbox.started(info)
            if self._reply(READY_TIMEOUT).strip() != "ready":
                raise ZygoteError(f"the zygote exited while importing (exit code {self.process.poll()})")
        except (ValueError, KeyError, ZygoteError) as error:
            self.close()
            raise ZygoteError(f"the zygote did not start: {error}") from None

    def _reply(self, timeout):
        # (one request, one reply line: nothing is ever left in the file's buffer between replies)
        if not select.select([self.replies], [], [], timeout)[0]:
            raise ZygoteError(f"the zygote did not answer within {timeout} s")
        return self.replies.readline()

    def _ask(self, request, timeout):
        with self.lock:
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
            except OSError as error:
                raise ZygoteError(f"the zygote is gone ({error})") from None
            return self._reply(timeout)

    def reset(self, folder, notebooks_from=None):
        """In a sandbox: end every process of the last kernel's, empty what it could write, and bring in
        the submission in host folder `folder` (the kernel's working folder), its notebooks from
        `notebooks_from` where given (`Sandbox.stage`)."""
        self.sandbox.stage(folder, notebooks_from)
        reply = self._ask({"reset": True, "workdir": self.sandbox.workdir(folder)}, RESET_TIMEOUT)
        if reply.strip() != "ok":
            raise ZygoteError(f"the sandbox could not be reset: {reply.strip() or 'the zygote is gone'}")

    def fork(self, argv, cwd, env):
        """Start a kernel; return its pid (as this process sees it)."""
        if self.sandbox:
            cwd = self.sandbox.workdir(cwd)
        reply = self._ask({"argv": argv, "cwd": cwd, "env": env}, FORK_TIMEOUT)
        if not reply.strip().isdigit():
            raise ZygoteError(f"the zygote is gone (exit code {self.process.poll()})")
        return self.sandbox.host_pid(int(reply)) if self.sandbox else int(reply)

    def close(self):
        with contextlib.suppress(OSError):  # (a dead zygote's pipe may still hold a request)
            self.process.stdin.close()  # the zygote ends; the kernels it started are not its to end
        if self.sandbox:  # ... except in a sandbox, which ends with everything in it
            stop(self.process)
            self.sandbox.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.replies.close()


def _zygote_key(python, env, sandboxed):
    # jupyter_client's per-kernel variables (JPY_SESSION_NAME, ...) don't change what the zygote imports
    return python, tuple(sorted((k, v) for k, v in env.items() if not k.startswith("JPY_"))), sandboxed


_zygote = None  # this process's zygote: one at a time


def zygote_for(python, env, sandboxed=False):
    """This process's zygote for kernels of `python` and `env`, started if need be."""
    global _zygote
    if _zygote is None or _zygote.key != _zygote_key(python, env, sandboxed) or _zygote.process.poll() is not None:
        stop_zygote()
        _zygote = Zygote(python, env, sandboxed)
    return _zygote


def fork_kernel(cmd, cwd, env):
    """Start the kernel `cmd` (`python -m ipykernel_launcher ...`) from a zygote; return its pid."""
    return zygote_for(cmd[0], env).fork(cmd[3:], cwd, env)


def stop_zygote():
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


class ForkedKernel:
    """What jupyter_client's provisioner needs of a `subprocess.Popen`, for a kernel that the zygote
    forked: it is the zygote's child, not ours, and the zygote reaps it as soon as it ends, which
    frees its pid for the next process. So the kernel is held by a pidfd, which refers to that process
    only: once it has ended, a signal meant for it can never reach another process given its pid."""

    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # (gone already)
            self._pidfd = None
            self.returncode = -signal.SIGKILL

    def poll(self):
        # a pidfd becomes readable when its process ends
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL  # its real exit code went to the zygote
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def _is_python_kernel(cmd):
    return len(cmd) > 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]


class ForkingProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, but Python kernels come from the zygote; for a kernel manager with
    `sandboxed` set, a zygote in a sandbox (grading_engine/sandbox.py), reset before every kernel."""

    _zygote = None  # the sandboxed zygote this kernel comes from

    async def pre_launch(self, **kwargs):
        km = self.parent
        if not km.sandboxed:
            return await super().pre_launch(**kwargs)
        python = km.format_kernel_cmd()[0]
        env = kernel_environment(kwargs.get("env") or os.environ, python)
        folder = os.path.abspath(kwargs.get("cwd") or os.getcwd())
        try:
            self._zygote = zygote_for(python, env, sandboxed=True)
            self._zygote.reset(folder, km.notebooks_from)
        except ZygoteError as error:  # (a kernel may have stopped or killed it): a new sandbox, once
            self.log.warning("Replacing the grading sandbox: %s", error)
            stop_zygote()
            self._zygote = zygote_for(python, env, sandboxed=True)
            self._zygote.reset(folder, km.notebooks_from)
        # The connection file and the sockets: in the sandbox's own folder for them, which has the same
        # path inside and out (outside, a link into the sandbox)
        km.connection_file = str(self._zygote.sandbox.kernels / f"kernel-{km.kernel_id}.json")
        km.ip = km.connection_file.removesuffix(".json") + "-ipc"
        kwargs = await super().pre_launch(**kwargs)
        if self._zygote.sandbox.uid is not None:  # jupyter_client wrote it for its own user only
            os.chown(km.connection_file, self._zygote.sandbox.uid, self._zygote.sandbox.uid)
        return kwargs

    @property
    def inbox(self):
        """The sandbox's copy of the submission as it was staged: the kernel restores its folder from it
        between notebooks."""
        return str(self._zygote.sandbox.inbox)

    async def send_signal(self, signum):
        if isinstance(self.process, ForkedKernel):  # its process group only while it leads it: never a stale pgid
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pgid, signum)
            return
        await super().send_signal(signum)

    async def launch_kernel(self, cmd, **kwargs):
        if not _is_python_kernel(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = os.path.abspath(kwargs.get("cwd") or os.getcwd())
        env = dict(kwargs.get("env") or os.environ)
        if self._zygote is not None:  # sandboxed: never the usual way, which would run outside it
            pid = self._zygote.fork(cmd[3:], cwd, kernel_environment(env, cmd[0]))
        else:
            try:
                pid = fork_kernel(cmd, cwd, env)
            except (OSError, ZygoteError) as error:
                self.log.warning("Starting the kernel the usual way: %s", error)
                stop_zygote()
                return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedKernel(pid)
        self.pid = self.pgid = pid  # the kernel leads its own session
        self.cwd = cwd
        return self.connection_info


class GradingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, with the folder whose notebooks a sandboxed kernel finds beside it
    (`notebooks_from`)."""

    provisioner_class = LocalProvisioner
    sandboxed = False
    notebooks_from = None

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:  # (a restart keeps the provisioner it has)
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = self.provisioner_class(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                      parent=self)
        return await super()._async_pre_start_kernel(**kw)


class PreloadedKernelManager(GradingKernelManager):
    """The grading kernel manager, with Python kernels forked from a zygote."""

    provisioner_class = ForkingProvisioner


class SandboxedKernelManager(PreloadedKernelManager):
    """Kernels forked from a zygote in a bubblewrap sandbox; they talk to the grader over Unix sockets
    (the sandbox has no network), which also ends the race for TCP ports between workers."""

    sandboxed = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"


atexit.register(stop_zygote)
