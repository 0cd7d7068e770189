"""How the grader knows that an instructor's cell ran in the grading kernel, unchanged and to its end,
although the student's code in that kernel can rewrite everything that runs and reports a cell
(IPython's input and AST transformers, the shell's methods, exception handlers, display hooks).

The grading process (`RestartingExecute`, outside the kernel) holds a random key per kernel, and
writes it in a file beside the kernel's connection file just before the kernel starts; the kernel
reads it and removes the file before any student code runs (grading_engine/grading_kernel.py).
For each test cell and each locked instructor cell, the grader sends the kernel a request instead
of the cell's source: the code to run (a hidden test's as compiled bytecode, so that its text never
enters the kernel), a fresh nonce, and the cell's name. The kernel's trusted runner, set up before
any student code, compiles and runs that code itself, bypassing IPython's machinery, and answers
with a proof: an HMAC, with the key, of the nonce, the digest of the code it was sent and the
outcome (`completed`, or `raised`). The grader checks the proof. A student's code cannot make one
without the key: a test earns its points only with the proof of a completed run.

The request reaches the runner as base64 of `marshal` bytes, and the proof is made with OpenSSL's
HMAC: C functions that the runner takes at its start, which no student code can rewrite (a Python
function's globals, and with them `json.loads` or `hmac.new`, a student's cell can change). Grader and
kernel run the same Python, as the hidden tests' bytecode needs anyway.

Standard library only: the grading kernel loads this file too.
"""
import base64
import hashlib
import hmac
import marshal

PROOF_MIME = "application/vnd.weight-init.cell-proof+json"  # the runner's answer, a display_data output
KEY_SUFFIX = ".grading-key"  # beside the connection file: kernel-<id>.json -> kernel-<id>.grading-key
COMPLETED, RAISED = "completed", "raised"


def digest(payload):
    """The digest of the code (bytes) that the grader sent."""
    return hashlib.sha256(payload).hexdigest()


def proof(key, nonce, payload_digest, outcome, hmac_digest=hmac.digest):
    """The proof of `outcome`; the runner passes the C function it took at its start as `hmac_digest`."""
    return hmac_digest(key, f"{nonce}:{payload_digest}:{outcome}".encode(), "sha256").hex()


def verified_outcome(key, nonce, payload_digest, answers):
    """The outcome that one of `answers` (the runner's proof messages) proves for this request, or None."""
    for answer in answers:
        outcome = answer.get("outcome") if isinstance(answer, dict) else None
        if outcome in (COMPLETED, RAISED) and answer.get("nonce") == nonce and \
                hmac.compare_digest(str(answer.get("proof")), proof(key, nonce, payload_digest, outcome)):
            return outcome
    return None


def request_code(request):
    """The one line the grader sends to run `request` (a dict of strings, numbers and the payload's
    bytes) with the trusted runner."""
    return f'__import__("sys").modules["_grading_kernel"].run_trusted({base64.b64encode(marshal.dumps(request)).decode()!r})'
