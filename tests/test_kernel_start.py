"""A grading kernel that dies before it is ready, because another process took one of the ports that
jupyter_client chose for it (two workers start kernels at the same moment), is started again on new
ports, and the submission is graded; one that keeps dying is given up on with nbclient's error. The
same holds for a kernel restarted after a cell killed it, when that cell left a process holding its ports.
All outside the sandbox (`--RestartingExecute.sandbox=False`): kernels in the sandbox use no ports."""
import contextlib
import os
import signal
import socket

import nbformat
import pytest
from jupyter_client.connect import LocalPortCache

import grading_engine.preloaded_kernels as preloaded
from grading_engine.nbgrader_plugins import RestartingExecute


@pytest.fixture
def taken_port():
    """A port that another process holds (here, this one): a kernel told to bind it dies starting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture(autouse=True)
def no_kernel_left():
    yield
    RestartingExecute.shut_down_kernel()
    preloaded.stop_zygote()


def hand_out(monkeypatch, taken_port, times):
    """Have jupyter_client's port cache give `taken_port` as the shell port of the next `times` kernels;
    return the list of ports asked for, five per kernel start."""
    choose = LocalPortCache.find_available_port
    calls = []

    def find_available_port(self, ip):
        calls.append(ip)
        return taken_port if len(calls) % 5 == 1 and len(calls) <= 5 * times else choose(self, ip)

    monkeypatch.setattr(LocalPortCache, "find_available_port", find_available_port)
    return calls


def grade(folder, *codes):
    """Grade a notebook of one code cell per `codes` in `folder` with the kit's Execute; return its cells."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in codes])
    # (outside the sandbox, whose kernels talk over Unix sockets instead of ports)
    RestartingExecute(timeout=60, kernel_name="python3", sandbox=False).preprocess(nb, {"metadata": {"path": str(folder)}})
    return nb.cells


def test_a_kernel_that_dies_starting_is_started_again_on_new_ports(tmp_path, monkeypatch, taken_port):
    calls = hand_out(monkeypatch, taken_port, times=1)
    cells = grade(tmp_path, "print(6 * 7)")
    assert [o.get("text") for o in cells[0].outputs] == ["42\n"]
    assert len(calls) == 10, "not started exactly twice"


def test_a_kernel_that_keeps_dying_is_given_up_on(tmp_path, monkeypatch, taken_port):
    calls = hand_out(monkeypatch, taken_port, times=RestartingExecute.start_attempts)
    with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
        grade(tmp_path, "print(6 * 7)")
    assert len(calls) == 5 * RestartingExecute.start_attempts


# A submission's cell that leaves behind a process of its own holding the kernel's ports (a fork
# inherits the kernel's sockets), then kills the kernel: a restart on the same ports would die
KILL_THE_KERNEL_KEEPING_ITS_PORTS = """
import os, time
holder = os.fork()
if holder == 0:
    os.setsid()  # out of the kernel's process group, which jupyter_client kills
    time.sleep(60)
    os._exit(0)
with open("holder.pid", "w") as file:
    file.write(str(holder))
os._exit(1)
"""


def test_a_kernel_restarted_where_its_ports_are_still_taken_gets_new_ones(tmp_path):
    try:
        cells = grade(tmp_path, "x = 6", KILL_THE_KERNEL_KEEPING_ITS_PORTS, "print(x * 7)")
    finally:
        holder = tmp_path / "holder.pid"
        if holder.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(holder.read_text()), signal.SIGKILL)
    assert holder.exists(), "the cell did not run"
    assert cells[1].outputs[-1].ename == "KernelDied"
    assert [o.get("text") for o in cells[2].outputs] == ["42\n"]  # the earlier cell replayed, then this one
