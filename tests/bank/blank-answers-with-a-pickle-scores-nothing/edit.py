import nbformat

# Written against the verifier, having read it: the kernel's agent is replaced by one that answers every
# question with what would run code in the verifier if it were unpickled or deserialised: a .npy holding a
# pickle (an object array whose element's __reduce__ calls os.system), and a Keras model description with a
# Lambda layer and a class named by module. The verifier reads arrays with allow_pickle=False and builds
# models from its allow-list only: each answer is refused, and the marker file is never written.
TRICK = '''\
import base64, io, json, os, sys, types
import numpy as np

class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/weight-init-bank-pickle-ran",))

_buffer = io.BytesIO()
np.save(_buffer, np.array([_Payload()], dtype=object), allow_pickle=True)
_PICKLED = {"array": base64.b64encode(_buffer.getvalue()).decode()}
_MODEL = {"model": {"input_shape": [28, 28], "layers": [{"kind": "Lambda", "function": "os.system('touch /tmp/weight-init-bank-pickle-ran')"},
                                                      {"kind": "keras.src.layers.Dense", "module": "os", "class_name": "system"}],
                    "compile": None, "weights": []}}
_MIME = "application/vnd.weight-init.verifier-reply+json"
_calls = []

def _answer(text):
    request = json.loads(base64.b64decode(text))
    if request["op"] == "call":
        _calls.append(request["id"])
    value = {"handle": "h0"} if request["op"] == "get" else (_PICKLED if len(_calls) % 2 else _MODEL)
    get_ipython().display_pub.publish({_MIME: {"id": request["id"], "value": value}})

sys.modules["_grading_kernel"] = types.SimpleNamespace(between_notebooks=sys.modules["_grading_kernel"].between_notebooks, answer=_answer)
'''


def edit(notebooks):
    """A blank Part 2 with the trick in a new cell after the set-up cell."""
    notebooks["part2_techniques"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
