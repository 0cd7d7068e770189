import nbformat

# Written against the verifier, having read it: the kernel publishes answers before it is asked (with
# made-up ids), answers each question with the reply a correct solution would give to the question before
# (its id), and for the questions whose id it does use, answers twice. The grader takes one reply, with
# the id of the question it asked, published while that question ran: none here.
TRICK = '''\
import base64, json, secrets, sys, types

_MIME = "application/vnd.weight-init.verifier-reply+json"
for _ in range(50):
    get_ipython().display_pub.publish({_MIME: {"id": secrets.token_hex(16), "value": 0.01}})
_last = {"id": "none"}

def _answer(text):
    request = json.loads(base64.b64decode(text))
    get_ipython().display_pub.publish({_MIME: {"id": _last["id"], "value": 0.01}})
    get_ipython().display_pub.publish({_MIME: {"id": request["id"], "value": {"handle": "h0"}}})
    get_ipython().display_pub.publish({_MIME: {"id": request["id"], "value": 0.01}})
    _last["id"] = request["id"]

sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=sys.modules["_grading_kernel"].between_notebooks, answer=_answer)
'''


def edit(notebooks):
    """A blank Part 2 with the trick in a new cell after the set-up cell."""
    notebooks["part2_techniques"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
