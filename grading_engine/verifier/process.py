"""The verifier's process: where every test cell runs, and no student code ever does.

It holds the instructor's side of a notebook: the instructor's cells that the tests rely on, the tests
themselves (visible and hidden), the assignment's own helpers (`integrity`, `lab_utils`, read from
`source/`, never from the submission) and its own NumPy, Keras and MNIST. When a test uses a name that
the notebook's code defines and the instructor's does not (`xavier_variance`, `results`), the verifier
asks the student's kernel for it, through the grader: a value comes back as data, a function as a
`StudentFunction`, which the test calls like the function, its arguments and result crossing as data
(grading_engine/verifier/protocol.py). A Keras model comes back as a description that the verifier
builds into a model of its own; the training tests train that model here, on the verifier's data.

It talks to the grader (grading_engine/verifier/client.py) in frames on its standard input and output:

- `{"op": "notebook"}`: a new notebook, an empty namespace;
- `{"op": "run", "filename", "segments": [{"text", "first_line", "hidden"}, ...]}`: run a cell's segments
  in order, stopping at the first that raises; answered `{"op": "done", "segments": [{"hidden",
  "outputs"}, ...], "ok"}`, its outputs as nbformat's (streams, figures as PNG, the error);
- while a cell runs, it asks `{"op": "get", "name"}` or `{"op": "call", "handle", "args", "kwargs"}`, and
  the grader answers `{"reply": <the kernel's reply>, "outputs": [...]}` (what the student's code printed
  meanwhile) or `{"failed": "<why>", "outputs": [...]}`.
"""
import base64
import builtins
import io
import linecache
import os
import resource
import sys
import traceback

from grading_engine.verifier import protocol

HERE = {os.path.abspath(__file__), os.path.abspath(protocol.__file__)}


class StudentCodeError(Exception):
    """A student's function raised, returned what the protocol does not carry, or never answered."""


def student_error(kind, message):
    """The error a student's function raised, under its own type's name ("NotImplementedError"), which the
    test's outputs and the student's feedback show; a StudentCodeError all the same."""
    kind = kind if isinstance(kind, str) and kind.isidentifier() and len(kind) <= 60 else "StudentCodeError"
    return type(kind, (StudentCodeError,), {})(message)


class StudentFunction:
    """A function that stays in the student's kernel: calling it sends the arguments there as data and
    returns its result as data."""

    def __init__(self, verifier, handle, name):
        self._verifier, self._handle, self.__name__ = verifier, handle, name

    def __repr__(self):
        return f"<the student's function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        callbacks = []

        def handle_for(function):
            if isinstance(function, StudentFunction):
                return {"handle": function._handle}
            callbacks.append(function)  # a function of the verifier's (an initializer the instructor wraps)
            return {"callback": len(callbacks) - 1}

        sent = protocol.models_in((args, kwargs))
        refs = {id(model): protocol.kept_ref(model) for model in sent}  # (None: the model goes whole)
        reply = self._verifier.ask(self._request(args, kwargs, handle_for, callbacks, refs), self.__name__)
        if "forgotten" in reply and any(refs.values()):  # the kernel was restarted since it sent them: whole
            refs = {}
            reply = self._verifier.ask(self._request(args, kwargs, handle_for, callbacks, refs), self.__name__)
        if "forgotten" in reply:
            raise StudentCodeError(f"{self.__name__}: the kernel said it did not keep a model it was never sent by name")
        result = self._verifier.value(reply, f"{self.__name__}")
        updated = reply.get("updated", [])
        try:  # the weights of the models it was given, after the call (it may have trained them)
            if type(updated) is not list or len(updated) != len(sent):
                raise protocol.NotData("not one list of weights for each model it was given")
            for model, weights in zip(sent, updated):
                if weights is None:  # unchanged, says the kernel: the model keeps the weights it was sent with
                    continue         # (as if the kernel had sent those back: nothing a kernel could not do before)
                if type(weights) is not list:
                    raise protocol.NotData("weights that are not a list")
                weights = [protocol.array_from_text(w) for w in weights]
                model.set_weights(weights)
                if refs.get(id(model)):
                    protocol.kernel_now_holds(model, weights)
            for model in protocol.models_in(result) if callbacks else ():
                protocol.fill_from_callback(model, callbacks[0])
        except (protocol.NotData, ValueError) as error:
            raise StudentCodeError(f"{self.__name__}: the kernel sent back {error}") from None
        return result

    def _request(self, args, kwargs, handle_for, callbacks, refs):
        def model_tree(model):  # a model still as the kernel sent it goes by its ref, any other whole
            ref = refs.get(id(model))
            return {"kept_model": ref} if ref is not None else {"model": protocol.describe_model(model)}

        callbacks.clear()
        try:
            request = {"op": "call", "handle": self._handle,
                       "args": protocol.encode(list(args), handle_for, model_tree=model_tree),
                       "kwargs": protocol.encode(dict(kwargs), handle_for, model_tree=model_tree)}
        except protocol.NotData as error:
            raise TypeError(f"{self.__name__} cannot be given {error} by the verifier") from None
        if len(callbacks) > 1:
            raise TypeError(f"{self.__name__} can be given one function of the verifier's at most")
        return request


class Namespace(dict):
    """A notebook's namespace in the verifier: the instructor's names, and, for any other name that is
    not a builtin, what the student's kernel holds under it (fetched once per cell run)."""

    def __init__(self, verifier):
        super().__init__()
        self._verifier = verifier

    def __missing__(self, name):
        if name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)  # (Python then looks in builtins)
        fetched = self._verifier.fetched
        if name not in fetched:
            fetched[name] = self._verifier.fetch(name)
        return fetched[name]


class Output(io.TextIOBase):
    """sys.stdout or sys.stderr while a cell runs: text into the cell's outputs."""

    def __init__(self, verifier, name):
        self._verifier, self._name = verifier, name

    def writable(self):
        return True

    def write(self, text):
        self._verifier.stream(self._name, text)
        return len(text)


class Verifier:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.namespace, self.fetched, self.outputs = Namespace(self), {}, []

    # ----- the student's kernel, through the grader

    def ask(self, request, name):
        protocol.write_frame(self.writer, request)
        answer = protocol.read_frame(self.reader)
        self.outputs.extend(answer.get("outputs", []))
        if "failed" in answer:
            raise StudentCodeError(f"{name}: {answer['failed']}")
        reply = answer.get("reply")
        if type(reply) is not dict:
            raise StudentCodeError(f"{name}: the kernel's reply is not data")
        if "raised" in reply:
            raise student_error(reply["raised"], f"{str(reply.get('message', ''))[:2000]} (raised by {name})".lstrip())
        if "unsendable" in reply:
            raise StudentCodeError(f"{name} returned what the kernel could not send as data ({str(reply['unsendable'])[:2000]})")
        return reply

    def value(self, reply, name):
        def resolve(tag, body):
            if tag != "handle" or type(body) is not str:
                raise protocol.NotData(f"a {tag} from the kernel")
            return StudentFunction(self, body, f"the function that {name} returned")

        try:
            return protocol.decode(reply.get("value"), resolve)
        except (protocol.NotData, RecursionError) as error:
            raise StudentCodeError(f"{name} returned {error}, which is not data the grader takes "
                                   "(numbers, strings, arrays, lists, tuples, dicts, Keras models)") from None

    def fetch(self, name):
        reply = self.ask({"op": "get", "name": name}, name)
        if reply.get("missing"):
            raise KeyError(name)
        tree = reply.get("value")
        if type(tree) is dict and list(tree) == ["handle"] and type(tree["handle"]) is str:
            return StudentFunction(self, tree["handle"], name)
        return self.value(reply, name)

    # ----- cells

    def stream(self, name, text):
        if self.outputs and self.outputs[-1].get("output_type") == "stream" and self.outputs[-1]["name"] == name:
            self.outputs[-1]["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def show_figures(self):
        """Every open figure as a PNG output, as the notebook's inline backend shows it, then closed."""
        if "matplotlib.pyplot" not in sys.modules:
            return
        plt = sys.modules["matplotlib.pyplot"]
        for number in plt.get_fignums():
            figure = plt.figure(number)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", bbox_inches="tight")
            self.outputs.append({"output_type": "display_data", "metadata": {}, "data": {
                "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": repr(figure)}})
        plt.close("all")

    def run(self, filename, segments):
        results, ok = [], True
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Output(self, "stdout"), Output(self, "stderr")
        try:
            for segment in segments:
                self.outputs = []
                source = "\n" * (segment["first_line"] - 1) + segment["text"]
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                try:
                    exec(compile(source, filename, "exec", dont_inherit=True), self.namespace)
                except BaseException as error:  # noqa: BLE001  (a test's failure is its outcome)
                    if isinstance(error, KeyboardInterrupt):
                        raise
                    self.outputs.append(error_output(error))
                    ok = False
                self.show_figures()
                results.append({"hidden": segment["hidden"], "outputs": self.outputs})
                if not ok:
                    break
        finally:
            sys.stdout, sys.stderr = saved
            self.fetched, self.outputs = {}, []
        return {"op": "done", "segments": results, "ok": ok,
                "peak_memory": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}  # (bytes, for make bench)

    def serve(self):
        protocol.write_frame(self.writer, {"op": "ready"})
        while True:
            try:
                request = protocol.read_frame(self.reader)
            except EOFError:
                return
            if request["op"] == "notebook":
                self.namespace = Namespace(self)
                protocol.forget_kernel_models()  # (the kernel's refs are for its last notebook)
                if "keras" in sys.modules:  # the last notebook's models and layer names
                    sys.modules["keras"].backend.clear_session(free_memory=True)
                protocol.write_frame(self.writer, {"op": "done", "segments": [], "ok": True})
            elif request["op"] == "run":
                protocol.write_frame(self.writer, self.run(request["filename"], request["segments"]))


def error_output(error):
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if os.path.abspath(frame.filename) not in HERE]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(error), error)]
    return {"output_type": "error", "ename": type(error).__name__, "evalue": str(error),
            "traceback": [line.rstrip("\n") for line in lines]}


def main():
    # Frames go out on a copy of descriptor 1; descriptor 1 itself then points at 2 (the grader's log), so
    # that whatever a library prints cannot break a frame
    writer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    reader = os.fdopen(0, "rb")
    sys.path.insert(0, os.environ["WEIGHT_INIT_HELPERS"])  # the assignment's integrity and lab_utils, from source/
    os.environ.setdefault("MPLBACKEND", "Agg")
    log, nowhere = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, 2)  # (TensorFlow's C++ start-up lines)
    try:
        import keras  # noqa: F401
        import matplotlib.pyplot  # noqa: F401
    finally:
        os.dup2(log, 2)
        os.close(log)
        os.close(nowhere)

    Verifier(reader, writer).serve()


if __name__ == "__main__":
    main()
