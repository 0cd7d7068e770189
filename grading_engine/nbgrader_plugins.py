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
  kernel's code left holding its ports) is started again on new ports. Test cells and the
  instructor's locked cells run through the kernel's trusted runner, and a test earns its points
  only with the runner's proof that its own code ran to its end (grading_engine/cell_proofs.py).
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
import marshal
import os
import re
import secrets
from dataclasses import dataclass

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from course.questions import written_questions
from grading_engine import cell_proofs
from grading_engine.preloaded_kernels import GradingKernelManager, PreloadedKernelManager, SandboxedKernelManager

KERNEL_DIED = ("KernelDied", "the Python kernel died while running this cell (os._exit, a crash, or running out of "
               "memory), so it gets no points; the kernel was restarted and the rest of the notebook was graded")
CELL_TIMED_OUT = ("CellTimedOut", "this cell did not finish in time and the kernel did not answer the interrupt (an "
                  "endless loop that ignores it, or a kernel slowed to a crawl), so it gets no points; the kernel was "
                  "restarted and the rest of the notebook was graded")
# Sent to a submission's kernel before each of its notebooks but the first (see grading_engine/grading_kernel.py),
# with the folder to restore the submission's files from, in a sandbox (what the last notebook's code changed)
RESET_CODE = '__import__("sys").modules["_grading_kernel"].between_notebooks({files_from!r})'
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


def trusted_role(cell):
    """"test" for an autograded test cell, "instructor" for a locked code cell of the instructor's, else None:
    the cells the grader runs through the kernel's trusted runner."""
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

    max_restarts = 5  # per notebook: a notebook that keeps dying is given up on, as nbgrader would
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

    trusted_runner = Bool(True, help=(
        "Run test cells and the instructor's locked cells through the grading kernel's trusted runner, and give a "
        "test its points only with the runner's proof that its own code ran to its end, unchanged "
        "(grading_engine/cell_proofs.py). False: cells run as nbgrader runs them, which code in any notebook can "
        "fool; for measurements only.")).tag(config=True)

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
        self._killers, self._restarts, self._reset_first, self._untrusted = set(), 0, False, None
        self._folder = os.path.abspath(resources["metadata"]["path"])
        self._notebooks_from = self._submitted_folder(resources)
        if km is None and self.one_kernel_per_submission:
            km = self._submission_kernel(self._folder)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if not self.owns_km and self.kc is not None:  # the kernel stays; this notebook's client goes
                self.kc.stop_channels()
                self.kc = None

    def start_new_kernel_client(self):
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
            self.start_new_kernel()

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
        if self._reset_first:
            self._reset_first = False
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
        role = trusted_role(cell) if self.trusted_runner else None
        if role is None:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        return await self._execute_trusted(cell, cell_index, role)

    async def _execute_trusted(self, cell, cell_index, role):
        """Run a test or instructor cell through the kernel's trusted runner, segment by segment (a
        hidden test's as bytecode), and check the runner's proof of each (grading_engine/cell_proofs.py).
        A test without the proof of a completed run gets an error first in its outputs, and so no
        points; a test after an instructor cell whose run is not proven, too."""
        key = getattr(self.km, "grading_key", None)
        grade_id = cell.metadata.nbgrader.get("grade_id", f"cell {cell_index}")
        segments = split_hidden_tests(cell.source) if role == "test" else [Segment(False, 1, cell.source)]
        source, outputs, outcome = cell.source, [], None
        try:
            for number, segment in enumerate(segments):
                if segment.hidden:
                    padded = "\n" * (segment.first_line - 1) + segment.text
                    form, payload = "code", marshal.dumps(compile(padded, f"<hidden tests of {grade_id}>", "exec",
                                                                  dont_inherit=True, optimize=0))
                else:
                    form, payload = "source", segment.text.encode()
                nonce = secrets.token_hex(16)
                cell.source = cell_proofs.request_code({
                    "kind": role, "cell": grade_id, "segment": number, "nonce": nonce, "form": form,
                    "payload": payload, "filename": f"<{role} {grade_id}>",
                    "first_line": segment.first_line})
                await super().async_execute_cell(cell, cell_index, store_history=number == 0)
                answers = [o.data[cell_proofs.PROOF_MIME] for o in cell.outputs if cell_proofs.PROOF_MIME in o.get("data", {})]
                outputs += [NotebookNode(HIDDEN_OUTPUTS)] if segment.hidden else []
                outputs += [o for o in cell.outputs if cell_proofs.PROOF_MIME not in o.get("data", {})]
                outcome = cell_proofs.verified_outcome(key, nonce, cell_proofs.digest(payload), answers) if key else None
                if outcome != cell_proofs.COMPLETED:
                    break
        finally:
            cell.source = source
        if role == "test":
            # nbgrader gives partial credit, or full marks if it is no number, for an execute_result output
            # before an error: the kit's tests have none, and a student's code must not add one
            outputs = [as_display_data(o) if o.output_type == "execute_result" else o for o in outputs]
            if self._untrusted:
                outputs.insert(0, error_output("UnverifiedTest", self._untrusted))
            elif outcome is None:
                outputs.insert(0, error_output("UnverifiedTest", (
                    "the grading kernel gave no proof that this test's own code ran to its end, unchanged: code in "
                    "the notebook changed how cells run or report, so this test gets no points")))
            elif outcome == cell_proofs.RAISED and not any(o.output_type == "error" for o in outputs):
                outputs.insert(0, error_output("TestFailed", "this test raised an error, which code in the notebook kept from being shown"))
        elif outcome is None and self._untrusted is None:
            self._untrusted = (f"the instructor's cell `{grade_id}` before this test did not run unchanged in the "
                               "grading kernel (code in the notebook changed how cells run), so this test gets no points")
        cell.outputs = outputs
        return cell

    execute_cell = run_sync(async_execute_cell)  # (nbclient binds its own async_execute_cell in this name)

    def _count_restart(self, index):
        self._killers.add(index)
        self._restarts += 1
        if self._restarts > self.max_restarts:
            raise DeadKernelError(f"the kernel needed {self._restarts} restarts; giving up on this notebook")
        self.log.warning("Cell %d killed the kernel or exhausted its memory; restarting it and replaying the "
                         "cells before it", index)

    def _record_death(self, cell, index, timed_out=False):
        self._count_restart(index)
        cell.outputs.append(error_output(*(CELL_TIMED_OUT if timed_out else KERNEL_DIED)))

    def _restart_and_replay(self, index):
        self._restart_kernel()
        # Rebuild the state later cells need: every earlier code cell but tests and the cells that killed it
        for earlier in range(index):
            cell = self.nb.cells[earlier]
            if cell.cell_type != "code" or is_grade(cell) or earlier in self._killers:
                continue
            try:
                self.execute_cell(copy.deepcopy(cell), earlier, store_history=False)
            except DeadKernelError:
                self._count_restart(earlier)
                return self._restart_and_replay(index)


atexit.register(RestartingExecute.shut_down_kernel)  # the last submission's kernel


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
            if trusted_role(cell) != "instructor" or grade_id(cell) in present:
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
