"""The grading machine as an attacker would wish it, and what the bank's attacks on the grader left
(tests/bank/, the entries in ATTACKS): shared by tests/test_bank.py (with the sandbox) and
tests/test_sandbox.py (without)."""
import os
import socketserver
import threading
from types import SimpleNamespace

import pytest

from grading_engine.cluster import grade_class
from kit_checks import outputs_text
from course import ASSIGNMENT
from course.nbgrader_cli import nbgrader, user_environment

TIMEOUT = 30  # per cell: the bank's infinite loop waits for it; Part 3's slowest cell takes under 10 s
# Entries that attack the grader, each printing "ATTEMPT succeeded: ..." or "ATTEMPT blocked: ..." in Part 1
ATTACKS = ["reads-instructor-solutions-fails-formula", "reads-another-students-submission-fails-formula",
           "writes-the-gradebook-full-marks", "connects-to-a-local-server-fails-formula",
           "leaves-a-background-process-full-marks", "fork-bomb-full-marks", "fills-the-disk-full-marks",
           "reads-ssh-keys-and-secrets-full-marks"]
SERVER_PORT = 47613  # where the local-server entry connects
BACKGROUND_MARK = "weight-init-bank-background-process"  # in the command line of the background entry's process
SECRETS = {"ssh key": "-----BEGIN OPENSSH PRIVATE KEY----- bank-ssh-key-7f3a", "token": "bank-api-token-c91d"}


class AnswerServer(socketserver.ThreadingTCPServer):
    """A server on 127.0.0.1 that sends Part 1's formula to whoever connects, and counts them."""

    allow_reuse_address = daemon_threads = True

    def __init__(self):
        self.connections = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(handler):
                self.connections += 1
                handler.wfile.write(b"def sum_of_products_variance(n, var_w, var_x): return n * var_w * var_x\n")

        super().__init__(("127.0.0.1", SERVER_PORT), Handler)


def background_processes():
    """Pids of processes left by the background entry, anywhere on this machine."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if BACKGROUND_MARK.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                found.append(int(pid))
        except OSError:
            pass
    return found


def grade_in_hostile_world(root, home, *options, workers=None):
    """Autograde every submission in course `root` with the answer server running and the grader's
    secrets in place: with one `nbgrader autograde`, or with `workers` local Dask workers
    (grading_engine/cluster.py), which the bank uses to grade its many submissions side by side. Return
    what the attacks could have left (server connections, background processes) and the grading's log."""
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SECRETS["ssh key"])
    secrets = {"HOME": str(home), "GRADER_API_TOKEN": SECRETS["token"]}
    with AnswerServer() as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        if workers is None:
            log = nbgrader("autograde", ASSIGNMENT, "--force", f"--Execute.timeout={TIMEOUT}", *options, course_root=root,
                           env=secrets).stderr
        else:
            said = []
            with pytest.MonkeyPatch.context() as patch:  # what the worker processes start with
                for name, value in {**secrets, **user_environment()}.items():
                    patch.setenv(name, value)
                for name in [name for name in os.environ if name.startswith("PYTEST_")]:
                    patch.delenv(name)
                grade_class(course_root=root, workers=workers, options=(f"--Execute.timeout={TIMEOUT}", *options),
                            dashboard="127.0.0.1:0", say=said.append)
            log = "\n".join(said)
        server.shutdown()
    return SimpleNamespace(root=root, connections=server.connections, left_behind=background_processes(), log=log)


def attempt_lines(root, entry):
    """The ATTEMPT lines an attack entry printed in its autograded Part 1."""
    text = outputs_text(root / "autograded" / entry / ASSIGNMENT / "part1_understanding.ipynb")
    return [line for line in text.splitlines() if line.startswith("ATTEMPT")]
