"""The sample manifest names real cells, workers share the cores, and a submission nbgrader cannot read
is reported while the others are graded. (The samples graded on a cluster, into PostgreSQL too:
tests/test_cluster.py.)"""
import pytest

from course import ASSIGNMENT
from grading_engine.cluster import grade_class, thread_env
from kit_checks import autograded_cells
from tools.grading import Sample, cell_scores, make_course, read_manifest, submit

SAMPLES = read_manifest()


def test_manifest_names_real_cells():
    """Does every cell the manifest expects to fail exist, so that a typo cannot pass silently?"""
    known = {f"{notebook}:{cell}" for notebook, cell in autograded_cells()} | {"*"}
    for sample in SAMPLES:
        assert sample.fails <= known, f"{sample.name}: unknown cells {sorted(sample.fails - known)} in samples/manifest.csv"


def test_workers_share_the_cores():
    """Does each of 2 workers on 2 cores get one thread for TensorFlow and BLAS, not two?"""
    env = thread_env(workers=2, cores=2)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    assert thread_env(workers=1, cores=2)["TF_NUM_INTRAOP_THREADS"] == "2"


def test_a_submission_nbgrader_cannot_read_is_reported_and_the_others_graded(tmp_path):
    """Does a worker report, by student, a submission nbgrader fails on, and grade the next one?"""
    course = make_course(tmp_path)
    complete = Sample("complete", "solutions", notebooks={"part1_understanding"})  # (quick to grade)
    for name in ["broken-file", "complete"]:
        submit(complete, course, student=name)
    (course / "submitted" / "broken-file" / ASSIGNMENT / "part1_understanding.ipynb").write_text("{ not json")
    with pytest.raises(RuntimeError, match=r"(?s)1 of 2 submissions could not be graded: broken-file: .*NotJSONError"):
        grade_class(["broken-file", "complete"], workers=1, course_root=course, dashboard="127.0.0.1:0")
    scores = cell_scores(f"sqlite:///{course / 'gradebook.db'}")
    graded = [r for r in scores if r["student"] == "complete" and r["notebook"] == "part1_understanding" and r["kind"] == "autograded"]
    assert graded and all(r["score"] == r["max_score"] for r in graded), graded


def test_the_graders_console_shows_no_tensorflow_start_up_lines(graded_samples):
    """Does `nbgrader autograde` print nbgrader's own log only, not the C++ lines TensorFlow writes to
    descriptor 2 when the zygote imports it (oneDNN, CUDA), which would come with every grading run?"""
    console = (graded_samples / "autograde-console.txt").read_text()
    assert "[AutogradeApp | INFO]" in console, "the console was not captured"
    for line in ["oneDNN custom operations", "cuda drivers", "absl::InitializeLog"]:
        assert line not in console, f"the grader's console shows TensorFlow's start-up line {line!r}"
