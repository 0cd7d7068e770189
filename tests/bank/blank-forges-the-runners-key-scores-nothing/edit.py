import nbformat

# The trick against the trusted runner that tests ran through before the verifier (the kit at
# dba3fab): read the runner's key from its closure and sign a proof of "completed" for every test without
# running it. It scored 15 of 15 on a blank Part 2 there. Now tests run in the verifier, which holds no key
# and takes no proof: only the values the student's functions return count.
TRICK = '''\
import sys, base64, marshal, hmac, hashlib
_runner = sys.modules["_grading_kernel"].run_trusted
_key = next(c.cell_contents for c in _runner.__closure__ if type(c.cell_contents) is bytes and len(c.cell_contents) == 32)

def _forge(text):
    request = marshal.loads(base64.b64decode(text))
    digest = hashlib.sha256(request["payload"]).hexdigest()
    proof = hmac.digest(_key, f"{request['nonce']}:{digest}:completed".encode(), "sha256").hex()
    get_ipython().display_pub.publish({"application/vnd.weight-init.cell-proof+json": {"nonce": request["nonce"], "outcome": "completed", "proof": proof}})

sys.modules["_grading_kernel"].run_trusted = _forge
'''


def edit(notebooks):
    """A blank Part 2 with the trick in a new cell after the set-up cell."""
    notebooks["part2_techniques"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
