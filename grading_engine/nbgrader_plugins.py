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
  kernel's code left holding its ports) is started again on new ports.
- `ForgetDuplicateIds`: after nbgrader's `DeduplicateIds` empties the metadata of a duplicated cell
  (JupyterLab's split cell and copy-paste both duplicate it), drop that empty metadata. Left in
  place, `CheckCellMetadata` takes it for an outdated schema and aborts the whole batch.
- `ShowMarkingNotes`: below each written answer in the autograded notebook, a cell for graders with
  the model answer and marking notes from `source/`, so that the Formgrader shows them right under
  the student's answer.
- `HideHiddenTests`: feedback shows neither the hidden tests' code nor the tracebacks that would
  quote it, nor the graders' cells; a failed test shows only its error message.
"""
import atexit
import copy
import os

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade

from tools.marking_guide import written_questions

from grading_engine.preloaded_kernels import PreloadedKernelManager, SandboxedKernelManager

KERNEL_DIED = ("KernelDied", "the Python kernel died while running this cell (os._exit, a crash, or running out of "
               "memory), so it gets no points; the kernel was restarted and the rest of the notebook was graded")
# Sent to a submission's kernel before each of its notebooks but the first (see grading_engine/grading_kernel.py),
# with the folder to copy the submission's files from again in a sandbox (nbgrader has added the last notebook graded)
RESET_CODE = '__import__("sys").modules["_grading_kernel"].between_notebooks({files_from!r})'


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

    def preprocess(self, nb, resources=None, km=None):
        self._killers, self._restarts, self._reset_first = set(), 0, False
        self._folder = os.path.abspath(resources["metadata"]["path"])
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

    @staticmethod
    def shut_down_kernel():
        """Shut down the kernel of the last submission graded, if it still runs."""
        if RestartingExecute._shared and run_sync(RestartingExecute._shared[2].is_alive)():
            run_sync(RestartingExecute._shared[2].shutdown_kernel)(now=True)
        RestartingExecute._shared = None

    def _reset_kernel(self):
        """Give this notebook the state of a fresh kernel; restart the kernel if the reset fails."""
        try:  # silently: not a cell of the notebook, and nothing of it goes into the notebook
            files_from = self.km.provisioner.stage(self._folder) if getattr(self.km, "sandboxed", False) else None
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
        except DeadKernelError:
            self._record_death(cell, index)
            self._restart_and_replay(index)
            return cell, self.resources
        if any(output.get("ename") == "MemoryError" for output in cell.get("outputs", [])):
            # IPython keeps the failed cell's frames, and so its memory, alive: start afresh
            self._count_restart(index)
            self._restart_and_replay(index)
        return cell, resources

    def _count_restart(self, index):
        self._killers.add(index)
        self._restarts += 1
        if self._restarts > self.max_restarts:
            raise DeadKernelError(f"the kernel needed {self._restarts} restarts; giving up on this notebook")
        self.log.warning("Cell %d killed the kernel or exhausted its memory; restarting it and replaying the "
                         "cells before it", index)

    def _record_death(self, cell, index):
        self._count_restart(index)
        cell.outputs.append(NotebookNode(output_type="error", ename=KERNEL_DIED[0], evalue=KERNEL_DIED[1],
                                         traceback=[f"{KERNEL_DIED[0]}: {KERNEL_DIED[1]}"]))

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


# Marks the cells ShowMarkingNotes adds, which feedback drops
FOR_GRADERS = "weight_init_for_graders"


class ShowMarkingNotes(NbGraderPreprocessor):
    """For graders: after each written answer, a markdown cell with the instructor's model answer and
    marking notes, read from the source notebook of the same name."""

    def preprocess(self, nb, resources):
        coursedir = CourseDirectory(parent=self)
        source = os.path.join(coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"]),
                              f"{resources['nbgrader']['notebook']}.ipynb")
        questions = {q.grade_id: q for q in written_questions(source)} if os.path.exists(source) else {}
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            question = questions.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
            if question and cell.cell_type == "markdown":
                notes = f"\n\n**Marking notes:** {question.notes}" if question.notes else ""
                cells.append(NotebookNode(cell_type="markdown", metadata={FOR_GRADERS: True}, attachments={},
                                          source=f"> **For graders, not shown to students. Model answer:** {question.answer}"
                                                 .replace("\n", "\n> ") + notes.replace("\n", "\n> ")))
        nb.cells = cells
        return nb, resources


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: strip hidden tests and the graders' cells, and reduce every test cell's traceback
    to its last line."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not cell.get("metadata", {}).get(FOR_GRADERS)]
        nb, resources = ClearHiddenTests(parent=self.parent).preprocess(nb, resources)
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell):
                continue
            for output in cell.outputs:
                if output.output_type == "error":
                    # a traceback quotes the failing line, which may be hidden; the message is written for students
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return nb, resources
