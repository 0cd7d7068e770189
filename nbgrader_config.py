"""nbgrader settings for the weight-initialization course kit: only those that differ from nbgrader's
defaults, each for a reason. nbgrader reads this file when run from the repository root."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for the kit's packages, run from any folder
from nbgrader.converters import Autograde, GenerateFeedback  # noqa: E402
from nbconvert.exporters import HTMLExporter  # noqa: E402
from nbgrader.preprocessors import DeduplicateIds, Execute, GetGrades, OverwriteCells  # noqa: E402

import nbgrader  # noqa: E402

import grading_engine  # noqa: E402
import notebook_pages  # noqa: E402
from course import ASSIGNMENT, SHIPPED_DATA, markdown  # noqa: E402
from notebook_pages import FeedbackPageExporter, SanitizeStudentWork  # noqa: E402
from grading_engine.intake import grade_without_shipped_data, guard_submissions  # noqa: E402
from grading_engine.nbgrader_plugins import (ForgetDuplicateIds, HideHiddenTests, RestartingExecute,  # noqa: E402
                                             RestoreInstructorCells, ShowMarkingNotes)

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# The course id, as the exchange and the gradebook know it
c.CourseDirectory.course_id = "weight-init"

# Parts 3 and 4 train Keras models under the grading budget, up to about 6 s per cell here; the
# default of 30 s per cell is too tight on a busy machine, while 120 s still ends a student's
# infinite loop soon enough
c.Execute.timeout = 120

# Once a notebook's last cell has run, nothing in its kernel is worth waiting for: a graceful shutdown
# of a kernel that imported TensorFlow takes about 2 s, an immediate one almost nothing
c.Execute.shutdown_kernel = "immediate"

# Grade with this environment's Python kernel, whatever kernel name a student's notebook carries
c.Execute.kernel_name = "python3"

c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",  # nbgrader's default
    # nbgrader gives a test cell 0 points if it wrote anything to stderr. TensorFlow's C++ logs write
    # straight to the process's stderr, which ipykernel would copy into whichever cell is running;
    # keep them in the grader's log instead
    "--IPKernelApp.capture_fd_output=False",
    # Before any student code: the memory cap below, and the tamper checks' view of NumPy and builtins
    # (from the grading engine in use: the sandbox shows kernels that one)
    f"--IPKernelApp.exec_files={os.path.join(os.path.dirname(grading_engine.__file__), 'grading_kernel.py')}",
]
# Address space per grading kernel (bytes): a runaway allocation raises MemoryError in its own cell,
# and two workers stay far below a 24 GiB machine's memory
os.environ.setdefault("WEIGHT_INIT_KERNEL_MEMORY", str(4 * 2**30))
# Python warnings (Keras's among them) go to stderr too; kernels that nbgrader starts inherit these
os.environ["PYTHONWARNINGS"] = "ignore"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["PYTHONHASHSEED"] = "0"  # the same submission always grades the same way

# Links, FIFOs, sockets and devices in a submission are set aside (into quarantine/), never followed or
# opened with the instructor's permissions, before nbgrader copies the submission's files
guard_submissions(Autograde)

# The shipped MNIST is read by every kernel from source/ (read-only in the sandbox), not copied into
# each student's autograded and feedback folders (11 MiB each); a student's own data/ is not taken
os.environ["WEIGHT_INIT_DATA"] = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               "source", ASSIGNMENT, SHIPPED_DATA))
grade_without_shipped_data(Autograde)

# A cell duplicated by JupyterLab's split or copy-paste becomes a plain cell instead of aborting the
# whole batch (nbgrader empties its metadata, then rejects the empty metadata as an old schema); the
# instructor's locked code cells that a submission deleted are put back, so that tests never run
# with a student's replacement of them
c.Autograde.sanitize_preprocessors = [q for p in Autograde.class_traits()["sanitize_preprocessors"].default()
                                      for q in ([p, ForgetDuplicateIds] if p is DeduplicateIds else
                                                [p, RestoreInstructorCells] if p is OverwriteCells else [p])]

# A cell that kills the kernel loses its own points, not the whole submission's; and the Formgrader
# shows graders the model answer and marking notes below each written answer
c.Autograde.autograde_preprocessors = [RestartingExecute if p is Execute else p
                                       for p in Autograde.class_traits()["autograde_preprocessors"].default()] \
    + [ShowMarkingNotes]

# Feedback shows students neither the hidden tests nor the tracebacks that would quote them; and, last,
# the notebook rebuilt from data only (below): last, since it keeps none of the marks that
# HideHiddenTests finds the graders' cells by
c.GenerateFeedback.preprocessors = [q for p in GenerateFeedback.class_traits()["preprocessors"].default()
                                    for q in ([p, HideHiddenTests] if p is GetGrades else [p])] + [SanitizeStudentWork]

# The pages that show a graded notebook (notebook_pages/): the Formgrader's submission page and the
# students' feedback page. On both, what a student wrote or printed is data: the notebook is rebuilt
# from data only (HTML on one allow-list, JavaScript and widgets replaced by a line saying what they
# were), Markdown is rendered with math as MathML (nothing fetched: both work offline), and a
# Content-Security-Policy runs only the page's own scripts. nbgrader's pages ran a written answer's
# `<img onerror>` in the grader's browser, with their login.
NBGRADER_TEMPLATES = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")
# The Formgrader renders its submission page with nbgrader's HTMLExporter (its "formgrade" template)
c.HTMLExporter.extra_template_basedirs = [str(notebook_pages.HERE), NBGRADER_TEMPLATES]
c.HTMLExporter.template_file = "submission_page.html.j2"
c.HTMLExporter.preprocessors = [SanitizeStudentWork]
# nbconvert's own preprocessors (tag and pattern removal, magics' highlighting) would come first, and
# nbconvert refuses a notebook that fails validation after any of them: an invalid notebook is shown,
# rebuilt, under a line that says so, rather than as an error page
c.HTMLExporter.default_preprocessors = []
c.HTMLExporter.filters = {"markdown2html": markdown.render}
# The feedback page extends nbgrader's "feedback" template from a folder searched before nbgrader's own,
# so that the Formgrader's "generate feedback" button, which asks for that template by name, gets it too;
# and it has an exporter of its own, each setting stated, so that none of the submission page's reaches it
c.GenerateFeedback.exporter_class = FeedbackPageExporter
c.FeedbackPageExporter.extra_template_basedirs = [str(notebook_pages.HERE), NBGRADER_TEMPLATES]
c.FeedbackPageExporter.template_file = "feedback_page.html.j2"
c.FeedbackPageExporter.preprocessors = []  # (an exporter's run before the converter's: SanitizeStudentWork is above)
c.FeedbackPageExporter.default_preprocessors = HTMLExporter.class_traits()["default_preprocessors"].default()
c.FeedbackPageExporter.filters = {"markdown2html": markdown.render}

# Courses whose students upload to Canvas or Moodle (docs/hosting.md): `nbgrader zip_collect` reads the
# file names of their "download all submissions" zip, reports and skips any other name or a notebook
# that is not the assignment's, and opens only the LMS's own zips, within limits (lms/collect.py);
# `nbgrader export --exporter=lms.export.CanvasExport` (or MoodleExport) writes the CSV each imports.
# (Named, not imported: a grading worker never loads them.)
c.ZipCollectApp.collector_plugin = "lms.collect.LmsFileNames"
c.ZipCollectApp.extractor_plugin = "lms.collect.SafeExtractor"
c.ZipCollectApp.strict = True
