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
"""
import atexit
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

ZYGOTE = Path(__file__).with_name("kernel_zygote.py")


class ZygoteError(RuntimeError):
    """The zygote could not start a kernel."""


class Zygote:
    """A running zygote for kernels of one Python and environment."""

    def __init__(self, python, env):
        self.key = _zygote_key(python, env)
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen([python, str(ZYGOTE), str(write_fd)], stdin=subprocess.PIPE,
                                        env=env, pass_fds=(write_fd,), text=True)
        os.close(write_fd)
        self.replies = os.fdopen(read_fd)
        self.lock = threading.Lock()
        if self.replies.readline().strip() != "ready":
            self.close()
            raise ZygoteError(f"the zygote exited while importing (exit code {self.process.wait()})")

    def fork(self, argv, cwd, env):
        """Start a kernel; return its pid."""
        with self.lock:
            try:
                self.process.stdin.write(json.dumps({"argv": argv, "cwd": cwd, "env": env}) + "\n")
                self.process.stdin.flush()
                reply = self.replies.readline()
            except OSError as error:
                raise ZygoteError(f"the zygote is gone ({error})") from None
        if not reply.strip().isdigit():
            raise ZygoteError(f"the zygote is gone (exit code {self.process.poll()})")
        return int(reply)

    def close(self):
        with contextlib.suppress(OSError):  # (a dead zygote's pipe may still hold a request)
            self.process.stdin.close()  # the zygote ends; the kernels it started are not its to end
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.replies.close()


def _zygote_key(python, env):
    # jupyter_client's per-kernel variables (JPY_SESSION_NAME, ...) don't change what the zygote imports
    return python, tuple(sorted((k, v) for k, v in env.items() if not k.startswith("JPY_")))


_zygote = None  # this process's zygote: one at a time


def fork_kernel(cmd, cwd, env):
    """Start the kernel `cmd` (`python -m ipykernel_launcher ...`) from a zygote; return its pid."""
    global _zygote
    if _zygote is None or _zygote.key != _zygote_key(cmd[0], env) or _zygote.process.poll() is not None:
        stop_zygote()
        _zygote = Zygote(cmd[0], env)
    return _zygote.fork(cmd[3:], cwd, env)


def stop_zygote():
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


class ForkedKernel:
    """What jupyter_client's provisioner needs of a `subprocess.Popen`, for a kernel that the zygote
    forked: it is the zygote's child, not ours, and the zygote reaps it as soon as it ends."""

    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL  # its real exit code went to the zygote
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
            os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def _is_python_kernel(cmd):
    return len(cmd) > 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]


class ForkingProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, but Python kernels come from the zygote."""

    async def launch_kernel(self, cmd, **kwargs):
        if not _is_python_kernel(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = os.path.abspath(kwargs.get("cwd") or os.getcwd())
        env = dict(kwargs.get("env") or os.environ)
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


class PreloadedKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, with Python kernels forked from a zygote."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:  # (a restart keeps the provisioner it has)
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkingProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                  parent=self)
        return await super()._async_pre_start_kernel(**kw)


atexit.register(stop_zygote)
