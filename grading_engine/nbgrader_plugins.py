"""nbgrader preprocessors that `nbgrader_config.py` plugs in, for grading that holds up against bad input.

- `RestartingExecute`: when a cell kills the kernel (`os._exit`, a segfault), that cell gets an
  error and 0 points, the kernel restarts, the earlier cells that set up state run again, and
  grading goes on. nbgrader's own `Execute` gives up on the whole submission instead. A cell that
  runs out of memory (MemoryError under the kernel's memory cap) restarts the kernel the same way.
  It also grades all the notebooks of a submission in one kernel, reset between notebooks, instead
  of starting a kernel per notebook: a kernel start and a TensorFlow import cost about 3.5 s. The
  kernels are forked from a process that has imported Keras already (`grading_engine/preloaded_kernels.py`),
  in a bubblewrap sandbox (`grading_engine/sandbox.py`; `sandbox=False` turns it off).
  A kernel that dies while starting (a port race between workers, or a process that the last
  kernel's code left holding its ports) is started again on new ports. Test cells run in the verifier
  (grading_engine/verifier/), a process of the grader's where no student code runs, which asks the
  kernel for the notebook's names and calls its functions, with data crossing, never code.
- `RestoreInstructorCells`: puts back the instructor's locked code cells that a submission deleted.
- `ForgetDuplicateIds`: after nbgrader's `DeduplicateIds` empties the metadata of a duplicated cell
  (JupyterLab's split cell and copy-paste both duplicate it), drop that empty metadata. Left in
  place, `CheckCellMetadata` takes it for an outdated schema and aborts the whole batch.
- `ShowMarkingNotes`: below each written answer in the autograded notebook, a cell for graders with
  the model answer and marking notes from `source/`, so that the Formgrader shows them right under
  the student's answer.
- `HideHiddenTests`: feedback shows neither the hidden tests' code nor the tracebacks that would
  quote it, nor the graders' cells, nor anything printed while a hidden test ran; a failed test shows
  only its error message.
"""
import ast
import atexit
import copy
import json
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from course.questions import written_questions
from grading_engine.preloaded_kernels import GradingKernelManager, PreloadedKernelManager, SandboxedKernelManager
from grading_engine.verifier import protocol
from grading_engine.verifier.client import VerifierError, plan, stop_verifier, verifier_for

KERNEL_DIED = ("KernelDied", "the Python kernel died while running this cell (os._exit, a crash, or running out of "
               "memory), so it gets no points; the kernel was restarted and the rest of the notebook was graded")
GAVE_UP = ("KernelGaveUp", "the Python kernel died too many times in this notebook, so grading stopped before this "
           "cell: it gets no points")
CELL_TIMED_OUT = ("CellTimedOut", "this cell did not finish in time and the kernel did not answer the interrupt (an "
                  "endless loop that ignores it, or a kernel slowed to a crawl), so it gets no points; the kernel was "
                  "restarted and the rest of the notebook was graded")
# Sent to a submission's kernel before each of its notebooks but the first (see grading_engine/grading_kernel.py),
# with the folder to restore the submission's files from, in a sandbox (what the last notebook's code changed)
RESET_CODE = '__import__("sys").modules["_grading_kernel"].between_notebooks({files_from!r})'
# Sent to the kernel for each of the verifier's questions (grading_engine/grading_kernel.py answers): a small
# question in the code, a larger one then read on the stdin channel (IPython parses megabytes of code slowly)
AGENT_CODE = '__import__("sys").modules["_grading_kernel"].answer({question})'
INLINE_QUESTION = 2**16  # characters
INTERRUPT_GRACE = 10  # seconds a kernel has to stop after an interrupt
# What RestartingExecute times in each notebook (its "Phases:" line, with the crossings to the kernel, which
# are part of the verifier's test and instructor cells)
PHASES = ("kernel start", "kernel reset between notebooks", "student's and instructor's cells", "test cells, in the kernel",
          "test cells, in the verifier", "instructor's cells, in the verifier")
HIDDEN_TESTS = re.compile(r"^\s*### (BEGIN|END) HIDDEN TESTS\s*$")
# Put before the outputs of a test's hidden part: graders see where they begin, feedback leaves them out
HIDDEN_OUTPUTS_MIME = "application/vnd.weight-init.hidden-test-outputs+json"
HIDDEN_OUTPUTS = {"output_type": "display_data", "metadata": {},
                  "data": {"text/plain": "(outputs of the hidden tests, not shown in feedback)", HIDDEN_OUTPUTS_MIME: {}}}


@dataclass
class Segment:
    """A run of a test cell's lines: visible, or between the hidden-test markers."""

    hidden: bool
    first_line: int  # its first line's number in the cell
    text: str


def split_hidden_tests(source):
    """A test cell's source as its visible and hidden segments, in order; the whole cell as one hidden
    segment if its segments do not compile on their own (markers inside a block)."""
    segments, hidden, start, lines = [], False, 1, []
    for number, line in enumerate(source.splitlines(True), start=1):
        marker = HIDDEN_TESTS.match(line)
        if marker and (marker.group(1) == "BEGIN") != hidden:
            if "".join(lines).strip():
                segments.append(Segment(hidden, start, "".join(lines)))
            hidden, start, lines = not hidden, number + 1, []
        else:
            lines.append(line)
    if "".join(lines).strip():
        segments.append(Segment(hidden, start, "".join(lines)))
    try:
        for segment in segments:
            compile(segment.text, "<segment>", "exec", dont_inherit=True)
    except SyntaxError:
        return [Segment(True, 1, source)] if any(s.hidden for s in segments) else [Segment(False, 1, source)]
    return segments


def cell_role(cell):
    """"test" for an autograded test cell, "instructor" for a locked code cell of the instructor's, else None."""
    if cell.cell_type != "code" or "nbgrader" not in cell.metadata:
        return None
    if is_grade(cell) and not is_solution(cell):
        return "test"
    if cell.metadata.nbgrader.get("locked") and not is_solution(cell):
        return "instructor"
    return None


def error_output(name, message):
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def as_display_data(output):
    """An execute_result output as the display_data of the same data (which nbgrader does not score)."""
    return NotebookNode(output_type="display_data", data=output.get("data", {}), metadata=output.get("metadata", {}))


class RestartingExecute(Execute):
    """nbgrader's `Execute`, but a dead kernel or exhausted memory costs only the cell that caused it,
    and the notebooks of one submission share a kernel."""

    max_restarts = 5  # per notebook: after that, its later cells are not run and get no points
    start_attempts = 3  # per kernel start: see start_new_kernel_client

    one_kernel_per_submission = Bool(True, help=(
        "Grade all notebooks of a submission in one kernel, which grading_engine/grading_kernel.py resets to a "
        "fresh kernel's state between notebooks. False: a new kernel for every notebook, as nbgrader "
        "does.")).tag(config=True)

    preload_kernels = Bool(True, help=(
        "Fork the kernels from a process that has imported Keras and TensorFlow once "
        "(grading_engine/preloaded_kernels.py). False: start every kernel afresh, as nbgrader does.")).tag(config=True)

    sandbox = Bool(True, help=(
        "Run every grading kernel in a bubblewrap sandbox (grading_engine/sandbox.py): no access to the "
        "course folder, the network or the grader's environment; limits on disk, processes and CPU. False: "
        "kernels run with the grader's permissions, which lets a submission read the solutions or change "
        "the gradebook; only for trusted code.")).tag(config=True)

    verifier = Bool(True, help=(
        "Run every test cell in the verifier, a process of the grader's in which no student code runs "
        "(grading_engine/verifier/): the student's names reach the tests as data, and the tests' verdicts never "
        "depend on the student's process telling the truth. False: tests run in the student's kernel, as "
        "nbgrader runs them, where code in any notebook can fool them; for measurements and the kit's own "
        "checks only.")).tag(config=True)

    # (exporter, folder, kernel manager) of the submission being graded. nbgrader makes a new
    # preprocessor for every notebook, so the kernel they share lives on the class; a new exporter
    # means a new nbgrader run, so the same folder graded again gets a new kernel too
    _shared = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (nbgrader's Execute passes its kernel manager class, over any config)
        if self.sandbox and not self.preload_kernels:
            raise ValueError("The grading sandbox runs the preloaded kernels: pass --RestartingExecute.sandbox=False "
                             "with --RestartingExecute.preload_kernels=False")
        if self.sandbox:
            self.kernel_manager_class = SandboxedKernelManager
        elif self.preload_kernels:
            self.kernel_manager_class = PreloadedKernelManager
        else:
            self.kernel_manager_class = GradingKernelManager

    def preprocess(self, nb, resources=None, km=None):
        started, self._phases = time.time(), dict.fromkeys(PHASES, 0.0)
        self._killers, self._restarts, self._reset_first, self._replaying, self._gave_up = set(), 0, False, False, False
        self._folder = os.path.abspath(resources["metadata"]["path"])
        self._plan, self._verifier_cells, self._verifier_restarts = None, [], 0
        self._crossings = {"questions": 0, "bytes": 0, "seconds": 0.0, "peak_memory": 0}
        source = source_notebook(self, resources) if self.verifier and "nbgrader" in resources else None
        if source and os.path.exists(source):
            self._plan, self._helpers = plan(source), Path(source).parent
            self._start_verifier()
        self._notebooks_from = self._submitted_folder(resources)
        if km is None and self.one_kernel_per_submission:
            km = self._submission_kernel(self._folder)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._plan is not None:  # (make bench reads this line)
                self.log.info("Verifier: %(questions)d questions to the kernel, %(bytes)d bytes, %(seconds).3f s; "
                              "its peak memory %(peak_memory)d bytes", self._crossings)
            # Where this notebook's time went, with its start and end as Unix times (make bench reads this line)
            self.log.info("Phases: %s", json.dumps({"notebook": os.path.basename(resources.get("unique_key", "") or ""),
                                                    "start": started, "end": time.time(), **self._phases,
                                                    "crossings to the kernel": self._crossings["seconds"]}))
            if not self.owns_km and self.kc is not None:  # the kernel stays; this notebook's client goes
                self.kc.stop_channels()
                self.kc = None

    @contextmanager
    def _timed(self, phase):
        began = monotonic()
        try:
            yield
        finally:
            if getattr(self, "_phases", None) is not None:
                self._phases[phase] += monotonic() - began

    def start_new_kernel(self, **kwargs):
        with self._timed("kernel start"):
            return super().start_new_kernel(**kwargs)

    def start_new_kernel_client(self):
        with self._timed("kernel start"):
            return self._start_new_kernel_client()

    def _start_new_kernel_client(self):
        """nbclient's, but a kernel that dies before it is ready is started again, on new ports.
        jupyter_client chooses a kernel's ports by binding and freeing them in the grading process; a
        kernel that another worker started in the meantime can take one, and the new kernel dies with
        "Address already in use" before running any student code (jupyter_client#487)."""
        for attempt in range(1, self.start_attempts + 1):
            km = self.km
            try:
                return super().start_new_kernel_client()  # (nbclient's setup_kernel calls this one)
            except RuntimeError as error:
                # nbclient's only sign of a kernel that died, as opposed to one that hangs, is the message
                if attempt == self.start_attempts or not str(error).startswith("Kernel died"):
                    raise
            self.log.warning("The kernel died while starting; starting it again on new ports (attempt %d of %d)",
                             attempt + 1, self.start_attempts)
            # nbclient has cleaned up the dead kernel's manager for good: a new one, with new ports
            self.create_kernel_manager()
            if RestartingExecute._shared and RestartingExecute._shared[2] is km:
                RestartingExecute._shared = (*RestartingExecute._shared[:2], self.km)
            super().start_new_kernel()  # (not timed again: this start is part of the timed one around it)

    def _submission_kernel(self, folder):
        """The kernel manager for the submission in `folder`: the running one if it has graded an
        earlier notebook there in this run (to be reset first), else a new one; any other is shut down."""
        shared = RestartingExecute._shared
        if shared and shared[:2] == (self.parent, folder) and run_sync(shared[2].is_alive)():
            self._reset_first = True
            return shared[2]
        RestartingExecute.shut_down_kernel()
        RestartingExecute._shared = (self.parent, folder, self.create_kernel_manager())
        return RestartingExecute._shared[2]

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.notebooks_from = self._notebooks_from  # (a sandboxed kernel finds the student's own notebooks)
        return km

    def _submitted_folder(self, resources):
        """Where the student's notebooks of this submission are, as they handed them in."""
        info = resources.get("nbgrader", {})
        if "student" not in info or "assignment" not in info:
            return None
        coursedir = CourseDirectory(parent=self)
        folder = coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
        return folder if os.path.isdir(folder) else None

    @staticmethod
    def shut_down_kernel():
        """Shut down the kernel of the last submission graded, if it still runs."""
        if RestartingExecute._shared and run_sync(RestartingExecute._shared[2].is_alive)():
            run_sync(RestartingExecute._shared[2].shutdown_kernel)(now=True)
        RestartingExecute._shared = None

    def _reset_kernel(self):
        """Give this notebook the state of a fresh kernel; restart the kernel if the reset fails."""
        try:  # silently: not a cell of the notebook, and nothing of it goes into the notebook
            files_from = self.km.provisioner.inbox if getattr(self.km, "sandboxed", False) else None
            code = RESET_CODE.format(files_from=files_from)
            reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
            failed = reply is None or reply["content"]["status"] != "ok"
        except DeadKernelError:
            failed = True
        if failed:  # the last notebook's code broke something the reset needs: start afresh
            self.log.warning("Could not reset the kernel between notebooks; restarting it")
            self._restart_kernel()

    def _restart_kernel(self):
        """Restart the kernel on its ports, or on new ones if it dies starting there: the code that
        killed the last kernel may have left a process behind that holds them."""
        self.kc.stop_channels()
        run_sync(self.km.restart_kernel)(now=True)
        self.start_new_kernel_client()

    def preprocess_cell(self, cell, resources, index):
        if self._gave_up:  # the kernel kept dying: the rest of the notebook is graded as not run
            if cell.cell_type == "code":
                cell.outputs = [error_output(*GAVE_UP)]
            return cell, resources
        if self._reset_first:
            self._reset_first = False
            with self._timed("kernel reset between notebooks"):
                self._reset_kernel()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as error:
            self._record_death(cell, index, timed_out=isinstance(error, CellTimeoutError))
            self._restart_and_replay(index)
            return cell, self.resources
        if any(output.get("ename") == "MemoryError" for output in cell.get("outputs", [])):
            # IPython keeps the failed cell's frames, and so its memory, alive: start afresh
            self._count_restart(index)
            self._restart_and_replay(index)
        return cell, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        role, grade_id = cell_role(cell), cell.metadata.get("nbgrader", {}).get("grade_id")
        if self._plan is not None and role == "test" and grade_id in self._plan.tests:
            with self._timed("test cells, in the verifier"):
                return await self._run_test(cell, grade_id)
        started = None
        if self._plan is not None and role == "instructor" and grade_id in self._plan.instructor and not self._replaying:
            # the verifier's own copy of what the tests rely on, from source/ (the kernel's outputs are the ones
            # shown), sent first when the verifier is up, to run while the kernel runs the notebook's copy. Its
            # questions to the kernel, if any, are answered after the kernel's cell, as they would be in turn
            self._verifier_cells.append((f"<instructor cell {grade_id}>", self._plan.instructor[grade_id]))
            started = self._start_in_verifier(*self._verifier_cells[-1]) if self._verifier.ready else False
        try:
            with self._timed("test cells, in the kernel" if role == "test" else "student's and instructor's cells"):
                cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            if started is not None:
                with self._timed("instructor's cells, in the verifier"):
                    await self._in_verifier(*self._verifier_cells[-1], started=started)
        return cell

    async def _run_test(self, cell, grade_id):
        """Run test `grade_id`, from source/, in the verifier, its segments in order; its outputs are the
        verifier's, with what the student's code printed while the test called it."""
        segments = split_hidden_tests(self._plan.tests[grade_id])
        done, trouble = await self._in_verifier(f"<test {grade_id}>", self._plan.tests[grade_id], segments)
        outputs = []
        for segment in done["segments"]:
            outputs += [NotebookNode(copy.deepcopy(HIDDEN_OUTPUTS))] if segment["hidden"] else []
            outputs += [nbformat.from_dict(output) for output in segment["outputs"]]
        # nbgrader gives partial credit, or full marks if it is no number, for an execute_result output before
        # an error: the kit's tests have none, and a student's code must not add one
        cell.outputs = [as_display_data(o) if o.output_type == "execute_result" else o for o in outputs]
        self.code_cells_executed += 1  # (numbered in the notebook's order, as if the kernel had run it)
        cell.execution_count = self.code_cells_executed
        if trouble is not None:  # the kernel died or hung while the test called it: restart it (preprocess_cell)
            raise trouble
        return cell

    def _start_verifier(self):
        """This grading process's verifier (started if need be), to get a new namespace for this notebook."""
        self._verifier, self._new_notebook = verifier_for(self._helpers, self.sandbox), True
        if self._verifier.ready:  # its namespace emptied now, while the kernel is reset (a verifier that is still
            try:                  # starting gets it with the first cell: it imports Keras meanwhile)
                self._verifier.new_notebook()
                self._new_notebook = False
            except VerifierError:
                pass  # (found again at the first cell, which starts a new one)

    def _send_to_verifier(self, message):
        if self._new_notebook:
            self._new_notebook = False
            self._verifier.new_notebook()
        self._verifier.send(message)

    def _start_in_verifier(self, filename, source, segments=None):
        """Send `source` (or its `segments`) to the verifier to run; `_in_verifier(..., started=)` with what this
        returns answers its questions and gets its result."""
        segments = [{"text": s.text, "first_line": s.first_line, "hidden": s.hidden}
                    for s in (segments or [Segment(False, 1, source)])]
        try:
            self._send_to_verifier({"op": "run", "filename": filename, "segments": segments})
        except VerifierError as error:
            return error
        return True

    async def _in_verifier(self, filename, source, segments=None, started=False):
        """Run `source` (or its `segments`) in the verifier, answering its questions from the kernel until it is
        done (sent already if `started` is what `_start_in_verifier` returned). Returns its answer, and the error
        to raise for a kernel that died or hung meanwhile, if any."""
        trouble = None
        try:
            started = started or self._start_in_verifier(filename, source, segments)
            if isinstance(started, VerifierError):
                raise started
            while True:
                message = self._verifier.receive()
                if message.get("op") == "done":
                    self._crossings["peak_memory"] = max(self._crossings["peak_memory"], message.get("peak_memory", 0))
                    return message, trouble
                if trouble is not None:
                    self._verifier.send({"failed": "the kernel is being restarted", "outputs": []})
                    continue
                try:
                    reply, outputs = await self._ask_kernel(message)
                    self._verifier.send({"reply": reply, "outputs": outputs})
                except KernelTrouble as problem:
                    trouble = problem.error
                    self._verifier.send({"failed": problem.message, "outputs": problem.outputs})
        except VerifierError as error:  # (a bug of the kit's, or the machine out of memory): this cell fails
            self._verifier_restarts += 1
            if self._verifier_restarts > self.max_restarts:
                raise
            self.log.error("The verifier stopped; starting a new one with this notebook's instructor cells: %s", error)
            stop_verifier()  # (a process just killed may not look dead yet)
            self._start_verifier()
            for earlier in self._verifier_cells:  # (with the instructor cell it was running, if it was: else the
                await self._in_verifier(*earlier)  # tests would take that cell's names from the student's kernel)
            return {"op": "done", "ok": False, "segments": [{"hidden": False, "outputs": [
                error_output("VerifierError", f"{error}; the verifier was restarted")]}]}, trouble

    async def _ask_kernel(self, question):
        """Ask the kernel the verifier's `question` (a name's value, or a call); return its reply, checked to be
        the one answer to this question and under the size limit, and what the kernel printed meanwhile."""
        request, started = {**question, "id": secrets.token_hex(16)}, monotonic()
        text = json.dumps(request)
        inline = len(text) <= INLINE_QUESTION
        msg_id = self.kc.execute(AGENT_CODE.format(question=repr(text) if inline else ""), silent=True,
                                 store_history=False, allow_stdin=True)
        outputs, replies, deadline, interrupted = [], [], monotonic() + (self.timeout or 120), False
        asked = inline
        while True:
            # First the agent asks for the question on stdin (a broken one never does: then iopub says idle)
            if not asked:
                asked = await self._answer_input(msg_id, text, wait=0.2)
            else:
                await self._answer_input(msg_id, "", wait=0)
            try:
                message = await ensure_async(self.kc.get_iopub_msg(timeout=1 if asked else 0))
            except Empty:
                if not await ensure_async(self.kc.is_alive()):
                    raise KernelTrouble(DeadKernelError("Kernel died"), "the kernel died while answering", outputs) from None
                if monotonic() > deadline and interrupted:
                    raise KernelTrouble(CellTimeoutError("the kernel did not answer the interrupt"),
                                        "it did not finish, and the kernel did not answer the interrupt", outputs) from None
                if monotonic() > deadline:
                    await ensure_async(self.km.interrupt_kernel())
                    interrupted, deadline = True, monotonic() + INTERRUPT_GRACE
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "display_data" and protocol.REPLY_MIME in content.get("data", {}):
                replies.append(content["data"][protocol.REPLY_MIME])
            elif kind in ("stream", "display_data", "execute_result", "error"):
                output = nbformat.v4.output_from_msg(message)
                outputs.append(as_display_data(output) if kind == "execute_result" else output)
        if interrupted:
            raise KernelTrouble(None, f"it did not finish within {self.timeout} s, and was interrupted", outputs)
        mine = [reply for reply in replies if isinstance(reply, dict) and reply.get("id") == request["id"]]
        if len(mine) != 1:
            raise KernelTrouble(None, "the kernel gave no answer" if not mine else "the kernel gave more than one answer", outputs)
        size = len(json.dumps(mine[0]))
        if size > protocol.MAX_REPLY:
            raise KernelTrouble(None, f"its answer was over {protocol.MAX_REPLY // 2**20} MiB, the most the grader takes", outputs)
        self._crossings["questions"] += 1
        self._crossings["bytes"] += len(text) + size
        self._crossings["seconds"] += monotonic() - started
        return mine[0], outputs

    async def _answer_input(self, msg_id, text, wait):
        """Answer with `text` the kernel's request for input during question `msg_id`, if one comes within
        `wait` seconds: the question's text the first time (the agent reads it), an empty line after (a
        student's `input()`). True if answered."""
        try:
            message = await ensure_async(self.kc.stdin_channel.get_msg(timeout=wait))
        except Empty:
            return False
        if message["parent_header"].get("msg_id") == msg_id:
            self.kc.input(text)
            return True
        return False

    execute_cell = run_sync(async_execute_cell)  # (nbclient binds its own async_execute_cell in this name)

    def _count_restart(self, index):
        self._killers.add(index)
        self._restarts += 1
        if self._restarts > self.max_restarts:  # (nbgrader would drop the whole submission: grade what ran)
            self._gave_up = True
            self.log.warning("The kernel died %d times; the rest of this notebook gets no points", self._restarts)
            return
        self.log.warning("Cell %d killed the kernel or exhausted its memory; restarting it and replaying the "
                         "cells before it", index)

    def _record_death(self, cell, index, timed_out=False):
        self._count_restart(index)
        cell.outputs.append(error_output(*(CELL_TIMED_OUT if timed_out else KERNEL_DIED)))

    def _restart_and_replay(self, index):
        if self._gave_up:
            return
        self._restart_kernel()
        self._replaying = True  # (the verifier has the instructor's cells already)
        try:
            self._replay(index)
        finally:
            self._replaying = False

    def _replay(self, index):
        # Rebuild the state later cells need: every earlier code cell but tests and the cells that killed it
        for earlier in range(index):
            cell = self.nb.cells[earlier]
            if cell.cell_type != "code" or is_grade(cell) or earlier in self._killers:
                continue
            try:
                self.execute_cell(copy.deepcopy(cell), earlier, store_history=False)
            except DeadKernelError:
                self._count_restart(earlier)
                if self._gave_up:
                    return
                self._restart_kernel()
                return self._replay(index)


atexit.register(RestartingExecute.shut_down_kernel)  # the last submission's kernel


class KernelTrouble(Exception):
    """The kernel could not answer the verifier: `message` for the test, and `error` (a dead or hung kernel)
    to raise once the test is done, so that the kernel is restarted."""

    def __init__(self, error, message, outputs):
        super().__init__(message)
        self.error, self.message, self.outputs = error, message, outputs


class ForgetDuplicateIds(NbGraderPreprocessor):
    """Turn the cells that `DeduplicateIds` stripped into plain cells."""

    def preprocess_cell(self, cell, resources, index):
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


def source_notebook(preprocessor, resources):
    """The path of the source notebook (in source/) of the notebook being processed."""
    coursedir = CourseDirectory(parent=preprocessor)
    folder = coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"])
    return os.path.join(folder, f"{resources['nbgrader']['notebook']}.ipynb")


class RestoreInstructorCells(NbGraderPreprocessor):
    """Put back each locked code cell of the instructor's that the submission lacks (deleted, or its
    nbgrader metadata removed), after the cell that comes before it in the source notebook: tests run
    after the instructor's set-up, never after a student's replacement of it. (nbgrader itself restores
    the source of the locked cells that are there.)"""

    def preprocess(self, nb, resources):
        path = source_notebook(self, resources)
        if not os.path.exists(path):
            return nb, resources
        source_cells = nbformat.read(path, as_version=4).cells

        def grade_id(cell):
            return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")

        for position, cell in enumerate(source_cells):
            present = [grade_id(c) for c in nb.cells]
            if cell_role(cell) != "instructor" or grade_id(cell) in present:
                continue
            earlier = [grade_id(c) for c in source_cells[:position] if grade_id(c) in present]
            index = present.index(earlier[-1]) + 1 if earlier else 0
            restored = NotebookNode(cell_type="code", source=cell.source, outputs=[], execution_count=None,
                                    metadata={**copy.deepcopy(cell.metadata), RESTORED: True})
            nb.cells.insert(index, restored)
            self.log.warning("The submission lacks the instructor's cell %s; put it back as cell %d", grade_id(cell), index)
        return nb, resources


# Marks the cells ShowMarkingNotes adds, which feedback drops
FOR_GRADERS = "weight_init_for_graders"
RESTORED = "weight_init_restored"  # marks an instructor's cell that RestoreInstructorCells put back


class ShowMarkingNotes(NbGraderPreprocessor):
    """For graders: after each written answer, a markdown cell with the instructor's model answer,
    marking notes and rubric, read from the source notebook of the same name."""

    def preprocess(self, nb, resources):
        source = source_notebook(self, resources)
        questions = {q.grade_id: q for q in written_questions(source)} if os.path.exists(source) else {}
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            question = questions.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
            if question and cell.cell_type == "markdown":
                notes = f"\n\n**Marking notes:** {question.notes}" if question.notes else ""
                notes += "".join(f"\n\n{item.key}. **{item.points:+g} {item.title}.** {item.comment}" for item in question.rubric)
                cells.append(NotebookNode(cell_type="markdown", metadata={FOR_GRADERS: True}, attachments={},
                                          source=f"> **For graders, not shown to students. Model answer:** {question.answer}"
                                                 .replace("\n", "\n> ") + notes.replace("\n", "\n> ")))
        nb.cells = cells
        return nb, resources


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: strip hidden tests and the graders' cells; of a test's outputs, keep those of its
    visible part, each error reduced to its last line, and of its hidden part only the error, with the
    message only where it is one that the hidden test itself states (its text, the values in it short).
    What runs while a hidden test runs is the student's code as well, which can print, display or raise
    anything it finds; the hidden test's text never reaches the kernel (it arrives as bytecode)."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not cell.get("metadata", {}).get(FOR_GRADERS)]
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade(cell):
                cell.outputs = feedback_outputs(cell)
        nb, resources = ClearHiddenTests(parent=self.parent).preprocess(nb, resources)
        return nb, resources


def feedback_outputs(cell):
    """What a student's feedback shows of test cell `cell`'s outputs (see HideHiddenTests)."""
    messages = hidden_messages(cell.source)
    shown, hidden = [], False
    for output in cell.outputs:
        if HIDDEN_OUTPUTS_MIME in output.get("data", {}):
            hidden = True
        elif output.output_type == "error":
            # a traceback quotes the failing line; the message is written for students
            stated = not hidden or any(pattern.fullmatch(output.evalue) for pattern in messages)
            message = output.evalue if stated else "raised while the hidden tests ran (the message is not shown)"
            shown.append(error_output(output.ename, message))
        elif not hidden:
            shown.append(output)
    return shown


def hidden_messages(source):
    """The messages of the assertions in a test cell's hidden segments, as patterns: a string as itself,
    an f-string with each value as up to 40 characters of one line."""
    patterns = []
    for segment in split_hidden_tests(source):
        try:
            tree = ast.parse(segment.text) if segment.hidden else None
        except SyntaxError:
            continue
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
                patterns.append(re.escape(node.msg.value))
            elif isinstance(node, ast.Assert) and isinstance(node.msg, ast.JoinedStr):
                patterns.append("".join(re.escape(part.value) if isinstance(part, ast.Constant) else r"[^\n]{0,40}"
                                        for part in node.msg.values))
    return [re.compile(pattern) for pattern in patterns]
