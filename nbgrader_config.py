"""nbgrader settings for the weight-initialization course kit: only those that differ from nbgrader's
defaults, each for a reason. nbgrader reads this file when run from the repository root."""
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# The course id, as the exchange and the gradebook know it
c.CourseDirectory.course_id = "weight-init"

# Part 3 trains eight small Keras models under the grading budget, well under a minute in all; the
# default of 30 s per cell is too tight on a busy 2-core machine, while 120 s still ends a student's
# infinite loop soon enough
c.Execute.timeout = 120

# Grade with this environment's Python kernel, whatever kernel name a student's notebook carries
c.Execute.kernel_name = "python3"

# nbgrader gives a test cell 0 points if the cell wrote anything to stderr. TensorFlow's C++ logs
# write straight to the process's stderr, which ipykernel copies into whichever cell is running;
# keep them in the grader's log instead (the history file setting is nbgrader's default)
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.capture_fd_output=False"]
# Python warnings (Keras's among them) go to stderr too: kernels that nbgrader starts inherit these
os.environ["PYTHONWARNINGS"] = "ignore"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
