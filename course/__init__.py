"""What the instructor's commands (`tools/`), the grading engine (`grading_engine/`), the benchmarks and
the tests all need, below all of them: where the course is, running nbgrader in it (`course.nbgrader_cli`),
and what its source notebooks hold for graders (`course.questions`). Nothing here imports from above."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "weight_init"
# The folder of data shipped with the assignment (MNIST), in source/ and release/: grading reads it from
# source/ alone, read-only, and neither copies it into results nor takes a student's own copy
SHIPPED_DATA = "data"
