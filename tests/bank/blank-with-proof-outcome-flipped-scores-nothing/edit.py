import nbformat

# Written against the trusted runner, having read it: every test really runs and fails, and the trick
# turns the proof of "raised" into one of "completed". `hmac.new`, which the proof function looked up
# when called, signs "completed" instead; a display hook rewrites the outcome the runner publishes; and
# a wrapper around the runner swallows the test's error, so the cell's reply says it succeeded. The
# runner now signs with OpenSSL's HMAC taken at its start, and a rewritten outcome fails its proof.
TRICK = '''\
import sys, types, hmac
_real_hmac_new = hmac.new

def _hmac_new(key, msg=None, digestmod=""):
    if isinstance(msg, bytes) and msg.endswith(b":raised"):
        msg = msg[: -len(b"raised")] + b"completed"
    return _real_hmac_new(key, msg, digestmod)

hmac.new = _hmac_new
hmac.digest = lambda key, msg, digest: _hmac_new(key, msg, digest).digest()
_MIME = "application/vnd.weight-init.cell-proof+json"

def _flip(msg):
    data = msg.get("content", {}).get("data", {})
    if _MIME in data and data[_MIME].get("outcome") == "raised":
        data[_MIME]["outcome"] = "completed"
    return msg

get_ipython().display_pub.register_hook(_flip)
_gk = sys.modules["_grading_kernel"]

def _swallowing_run(text, _run=_gk.run_trusted):
    try:
        _run(text)
    except BaseException:
        pass

sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=_gk.between_notebooks, run_trusted=_swallowing_run)
'''


def edit(notebooks):
    """A blank Part 1 with the trick in a new cell after the set-up cell."""
    notebooks["part1_understanding"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
