"""A pytest plugin: a test that leaves a process running fails, naming the process.

pytest becomes a *child subreaper* (Linux's PR_SET_CHILD_SUBREAPER), so that a process that
detaches itself (double fork, setsid) is reparented to pytest instead of init, and stays in view as
one of pytest's descendants. Around each test the plugin takes the descendants that were not there
before the test's setup began; what the test's fixtures of a wider scope (module, session) started
while being set up belongs to them, and must be gone once they are torn down. Anything else still
running a few seconds after the test's teardown is a leak: the test gets an error that lists it,
and the processes are killed so that the next tests start clean.

    pytest -p tests.process_leaks     # conftest.py loads it for the kit's suite
"""
import ctypes
import multiprocessing.resource_tracker
import os
import signal
import time

import pytest

PR_SET_CHILD_SUBREAPER = 36
# A process told to stop (a server, a browser) may take a moment to go; the plugin's own test waits less
GRACE_SECONDS = float(os.environ.get("PROCESS_LEAKS_GRACE_SECONDS", 5))

_owned = {}  # higher-scoped fixture definition -> the processes it started while being set up
_released = {}  # processes of such fixtures torn down since the current test began: must go too
_before = pytest.StashKey()


def processes():
    """{(pid, start time): command line} of this process's living descendants (zombies left out)."""
    parents, started = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()  # (the command name may hold spaces)
        except OSError:  # gone meanwhile
            continue
        if fields[0] in "ZX":
            continue
        parents.setdefault(int(fields[1]), []).append(int(name))
        started[int(name)] = int(fields[19])
    found, todo = {}, [os.getpid()]
    while todo:
        for child in parents.get(todo.pop(), []):
            found[(child, started[child])] = _command_line(child)
            todo.append(child)
    return found


def _command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()[:300] or f"[pid {pid}]"
    except OSError:
        return f"[pid {pid}]"


def _left_running(before, seconds):
    """Descendants started since `before` (a set of keys) and not kept by a fixture still set up, or
    kept by one torn down since, that are still running after up to `seconds` of waiting for them to
    go. Looked for anew each time: a process on its way out may still start another."""
    deadline = time.monotonic() + seconds
    while True:
        kept = {key for owned in _owned.values() for key in owned}
        left = {key: command for key, command in processes().items()
                if (key not in before and key not in kept) or key in _released}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _kill(leaked):
    for pid, _ in leaked:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def pytest_configure(config):
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed: detached processes would escape the check")
    # multiprocessing's resource tracker serves this process until it exits, whichever test first starts
    # a process with it (a Dask LocalCluster does): started now, it is not taken for that test's leak
    multiprocessing.resource_tracker.ensure_running()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope == "function":
        return (yield)
    before = processes()
    try:
        return (yield)
    finally:
        _owned[fixturedef] = {key: command for key, command in processes().items() if key not in before}


def pytest_fixture_post_finalizer(fixturedef, request):
    _released.update(_owned.pop(fixturedef, {}))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[_before] = set(processes())
    try:
        return (yield)
    finally:
        if not isinstance(item, pytest.Function) and item.parent not in _owned:
            # an item of another plugin (nbval's notebook cells): what its file's set-up started (a
            # kernel for the whole notebook) belongs to the file until the file is torn down
            _owned[item.parent] = {key: command for key, command in processes().items() if key not in item.stash[_before]}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    if not isinstance(item, pytest.Function) and (nextitem is None or nextitem.parent is not item.parent):
        _released.update(_owned.pop(item.parent, {}))
    leaked = _left_running(item.stash.get(_before, set()), GRACE_SECONDS)
    _released.clear()
    if leaked:
        _kill(leaked)
        raise pytest.fail.Exception(
            f"{item.nodeid} left {len(leaked)} process(es) running (killed now):\n"
            + "\n".join(f"  pid {pid}: {command}" for (pid, _), command in sorted(leaked.items())), pytrace=False)
    return result
