"""tests/process_leaks.py, the plugin that fails a test which leaves a process running, run on tests
that leak on purpose in a pytest of their own: each leak is caught, named and killed, and what a
module fixture runs for its tests is theirs until the fixture ends."""
import sys

from course import ROOT

LEAKY_TESTS = '''
import os, subprocess, sys, time
import pytest

SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"]

def test_leaves_a_child():
    subprocess.Popen(SLEEP + ["left-by-a-child"])

def test_leaves_a_detached_grandchild():
    # double fork and a session of its own: reparented to pytest (the subreaper), not to init
    middle = os.fork()
    if middle == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, SLEEP + ["left-detached"])
        os._exit(0)
    os.waitpid(middle, 0)

def test_stops_what_it_starts():
    process = subprocess.Popen(SLEEP + ["stopped-in-time"])
    process.terminate()
    process.wait()

@pytest.fixture(scope="module")
def server():
    process = subprocess.Popen(SLEEP + ["module-server"])
    yield process
    if os.environ.get("FORGET_THE_SERVER") != "1":
        process.terminate()
        process.wait()

def test_uses_the_server(server):
    assert server.poll() is None

def test_uses_the_server_again(server):
    assert server.poll() is None
'''


def run_leaky_tests(pytester, monkeypatch, forget_the_server):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("FORGET_THE_SERVER", "1" if forget_the_server else "0")
    monkeypatch.setenv("PROCESS_LEAKS_GRACE_SECONDS", "1")
    return pytester.runpytest_subprocess("-p", "tests.process_leaks", "-p", "no:cacheprovider")


def test_leaks_fail_the_test_that_made_them(pytester, monkeypatch):
    """Do a child and a detached grandchild left running fail their tests, naming each, while a test that
    stops its process and the tests sharing a module fixture's server pass?"""
    result = run_leaky_tests(pytester, monkeypatch, forget_the_server=False)
    result.assert_outcomes(passed=5, errors=2)
    result.stdout.fnmatch_lines(["*test_leaves_a_child left 1 process(es) running*", "*sleep(300)* left-by-a-child*"])
    result.stdout.fnmatch_lines(["*test_leaves_a_detached_grandchild left 1 process(es) running*", "*left-detached*"])
    assert "stopped-in-time" not in result.stdout.str() and "module-server" not in result.stdout.str()


def test_a_module_fixture_that_does_not_stop_its_process_fails_the_last_test(pytester, monkeypatch):
    """Is a module fixture's process that outlives the fixture charged to the test it was torn down after?"""
    result = run_leaky_tests(pytester, monkeypatch, forget_the_server=True)
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines(["*test_uses_the_server_again left 1 process(es) running*", "*module-server*"])
