import nbformat

# Written against the trusted runner, having read it: the runner parsed its requests with `json.loads` and
# `base64.b64decode`, references it took at its start, so this gives those very functions new code. The
# new `loads` marks each test's payload as source; the new `b64decode` returns bytes whose digest is the
# real payload's but whose text is `pass`, so the genuine runner would run `pass` and sign a true proof.
# The runner now parses with C functions (marshal, binascii), and no code may set a function's __code__.
TRICK = '''\
import sys, json, base64, types

class _Payload(bytes):
    def decode(self, *args, **kwargs):
        return "pass\\n"

def _copy(f):
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__ = f.__kwdefaults__
    return g

json.__dict__["_real_loads"] = _copy(json.loads)
base64.__dict__["_real_b64decode"] = _copy(base64.b64decode)
base64.__dict__["_Payload"] = _Payload
json.__dict__["_sys"] = base64.__dict__["_sys"] = sys

def _loads(s, *, cls=None, object_hook=None, parse_float=None, parse_int=None, parse_constant=None, object_pairs_hook=None, **kw):
    result = _real_loads(s, cls=cls, object_hook=object_hook, parse_float=parse_float, parse_int=parse_int,
                         parse_constant=parse_constant, object_pairs_hook=object_pairs_hook, **kw)
    if type(result) is dict and result.get("kind") == "test" and _sys._getframe(1).f_code.co_name == "run":
        result["form"] = "source"
        result["first_line"] = 1
    return result

def _b64decode(s, altchars=None, validate=False):
    raw = _real_b64decode(s, altchars, validate)
    frame = _sys._getframe(1)
    if frame.f_code.co_name == "run" and frame.f_locals.get("request", {}).get("kind") == "test":
        return _Payload(raw)
    return raw

json.loads.__code__ = _loads.__code__
base64.b64decode.__code__ = _b64decode.__code__
'''


def edit(notebooks):
    """A blank Part 1 with the trick in a new cell after the set-up cell."""
    notebooks["part1_understanding"].cells.insert(2, nbformat.v4.new_code_cell(TRICK))
