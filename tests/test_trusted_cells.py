"""The grader's trusted runner (grading_engine/cell_proofs.py and grading_kernel.py): its proofs, the way it
splits a test into visible and hidden parts, the messages feedback may show of a hidden test; and the
bank's tricks on the grading machinery are real: with the runner turned off
(`--RestartingExecute.trusted_runner=False`) they earn points that tests/test_bank.py shows they do
not earn with it."""
import secrets

from grading_engine import cell_proofs
from grading_engine.nbgrader_plugins import hidden_messages, split_hidden_tests
from kit_checks import autograded_cells
from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from tools.grading import cell_scores, make_course, read_manifest, submit

BANK = {entry.name: entry for entry in read_manifest(ROOT / "tests" / "bank", "expected_scores.csv")}
# Bank entries that fool nbgrader's own way of running cells, each alone
TRICKS = ["blank-with-input-transformer-scores-nothing", "blank-with-ast-transformer-scores-nothing",
          "blank-with-run-cell-replaced-scores-nothing", "blank-with-result-before-every-error-scores-nothing",
          "blank-with-replies-faked-scores-nothing", "integrity-module-faked-with-numpy-patched-fails-part2",
          "numpy-name-rebound-fails-xavier", "test-helper-redefined-fails-normal-inits",
          "setup-cell-deleted-and-faked-fails-xavier"]
TEST = '''\
"""A test"""
x = 1
### BEGIN HIDDEN TESTS
assert x == 1, "x should be 1"
assert x != 2, f"x is {x}, not 2"
### END HIDDEN TESTS
assert x
'''


def test_a_proof_holds_only_for_its_key_nonce_code_and_outcome():
    key, nonce, code = secrets.token_bytes(32), secrets.token_hex(16), cell_proofs.digest(b"x = 1")
    answer = {"nonce": nonce, "outcome": "completed", "proof": cell_proofs.proof(key, nonce, code, "completed")}
    assert cell_proofs.verified_outcome(key, nonce, code, [answer]) == "completed"
    assert cell_proofs.verified_outcome(secrets.token_bytes(32), nonce, code, [answer]) is None
    assert cell_proofs.verified_outcome(key, secrets.token_hex(16), code, [answer]) is None
    assert cell_proofs.verified_outcome(key, nonce, cell_proofs.digest(b"pass"), [answer]) is None
    assert cell_proofs.verified_outcome(key, nonce, code, [{**answer, "outcome": "raised"}]) is None
    assert cell_proofs.verified_outcome(key, nonce, code, ["completed", {}, None]) is None


def test_a_test_is_split_into_its_visible_and_hidden_parts():
    segments = split_hidden_tests(TEST)
    assert [(s.hidden, s.first_line) for s in segments] == [(False, 1), (True, 4), (False, 7)]
    assert segments[1].text == 'assert x == 1, "x should be 1"\nassert x != 2, f"x is {x}, not 2"\n'
    # markers inside a block: the parts would not compile alone, so the whole cell is one hidden part
    nested = "for i in range(2):\n    ### BEGIN HIDDEN TESTS\n    assert i < 2\n    ### END HIDDEN TESTS\n"
    assert [(s.hidden, s.first_line, s.text) for s in split_hidden_tests(nested)] == [(True, 1, nested)]


def test_feedback_shows_only_messages_a_hidden_test_states():
    patterns = hidden_messages(TEST)
    assert any(p.fullmatch("x should be 1") for p in patterns)
    assert any(p.fullmatch("x is 3, not 2") for p in patterns)
    assert not any(p.fullmatch("x is 3\nprint('a hidden line'), not 2") for p in patterns)  # a value of two lines
    assert not any(p.fullmatch("assert x == 1") for p in patterns)


def test_the_tricks_earn_points_without_the_trusted_runner(tmp_path):
    """With the runner off, does each trick score above what the same submission earns with it (the
    bank's expected scores), that is, are the attacks that test_bank.py sees fail real?"""
    root = make_course(tmp_path / "course")
    for name in TRICKS:
        submit(BANK[name], root)
    nbgrader("autograde", ASSIGNMENT, "--force", "--Execute.timeout=30", "--RestartingExecute.trusted_runner=False",
             course_root=root)
    scores = cell_scores(f"sqlite:///{root / 'gradebook.db'}")
    for name in TRICKS:
        entry = BANK[name]
        earned = sum(r["score"] or 0 for r in scores if r["student"] == name)
        deserved = sum(entry.expected_score(notebook, cell, points) for (notebook, cell), points in autograded_cells().items()
                       if entry.submits(notebook))
        assert earned > deserved, f"{name}: {earned} points without the trusted runner, {deserved} with it: the trick is not real"
