import nbformat

# Written against the verifier, having read it: the kernel's agent answers questions with replies of
# 80 MiB (over the 64 MiB the grader takes), a string and then an array, then one of a gigabyte, which
# takes the kernel past its memory cap (it dies, and is restarted with the cells before the test: this
# cell again), in turns. Each costs only the test that asked; a kernel that keeps dying costs the rest
# of its notebook.
TRICK = '''\
import base64, json, sys, types

_MIME = "application/vnd.weight-init.verifier-reply+json"
_sent = []

def _answer(text):
    request = json.loads(base64.b64decode(text))
    _sent.append(1)
    huge = ["0" * (80 * 2**20), {"array": "A" * (80 * 2**20)}, "0" * 2**30][len(_sent) - 1] if len(_sent) <= 3 else None
    get_ipython().display_pub.publish({_MIME: {"id": request["id"], "value": huge}})

sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=sys.modules["_grading_kernel"].between_notebooks, answer=_answer)
'''


def edit(notebooks):
    """A blank Part 2 with the trick in a new cell after the set-up cell."""
    notebooks["part2_techniques"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
