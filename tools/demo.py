"""The kit's main job, end to end, in this repository as the course folder:

1. regenerate the student version, `release/`, from `source/`;
2. write the sample submissions (`samples/`) into `submitted/`, and autograde them into `autograded/`
   with `nbgrader autograde`;
3. write the sample class (`samples/class/`: 32 students, the model solution's code and each student's
   own written answers) into `submitted/`, and autograde it on a Dask LocalCluster, one worker per core
   (`python -m grading_engine.cluster`), so that its 352 written answers wait to be graded by question;
4. print the grade table, and write `grades.csv` (totals, `nbgrader export`) and
   `grades_by_cell.csv` (every student's score on every cell);
5. write the copying report, `copying_report.html` (`python -m tools.copying`): the class's pasted model
   answers.

    python -m tools.demo        # what `make demo` runs
"""
import shutil
import sys
import time

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from grading_engine.cluster import grade_class
from tools import copying, report
from tools.grading import build_submission, cell_scores, read_class, read_manifest


def step(message):
    print(f"\n== {message}", flush=True)


def forget_samples(samples, db_url):
    """Remove the sample students from the gradebook: nbgrader refuses to regenerate an assignment
    whose cells changed while submissions to it exist."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        for sample in samples:
            try:
                gb.remove_student(sample.name)
            except MissingEntry:
                pass


def write_submissions(samples, quiet=False):
    for sample in samples:
        dest = ROOT / "submitted" / sample.name / ASSIGNMENT
        shutil.rmtree(dest, ignore_errors=True)
        build_submission(sample, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, dest)
        if not quiet:
            print(f"   {sample.name}")


def main():
    samples, students = read_manifest(), read_class()
    db_url = f"sqlite:///{ROOT / 'gradebook.db'}"
    step("Generating the student version: nbgrader generate_assignment -> release/")
    forget_samples(samples + students, db_url)
    nbgrader("generate_assignment", ASSIGNMENT, "--force")

    step("Writing the sample submissions into submitted/")
    for student in students:  # (written again below, after nbgrader autograde, which grades all it finds)
        shutil.rmtree(ROOT / "submitted" / student.name, ignore_errors=True)
    write_submissions(samples)

    step("Autograding them: nbgrader autograde -> autograded/")
    started = time.perf_counter()
    nbgrader("autograde", ASSIGNMENT, "--force")
    print(f"   {len(samples)} submissions in {time.perf_counter() - started:.0f} s")

    step(f"Writing the sample class ({len(students)} students' written answers, samples/class/) into submitted/, "
         "and autograding it on a Dask LocalCluster: python -m grading_engine.cluster")
    write_submissions(students, quiet=True)
    started = time.perf_counter()
    grade_class([s.name for s in students], force=True, dashboard="127.0.0.1:0",
                say=lambda line: print(f"   {line}", flush=True))
    print(f"   {len(students)} submissions in {time.perf_counter() - started:.0f} s")

    step("Grades: nbgrader export -> grades.csv (totals); python -m tools.report -> grades_by_cell.csv")
    nbgrader("export", "--to", "grades.csv")
    report.main(["--db", db_url])
    step("Looking for copying: python -m tools.copying -> copying_report.html")
    copying.main([])
    pending = sum(r["kind"] == "written" and r["score"] is None for r in cell_scores(db_url))
    print(f"\n{pending} written answers await grading by question, with the rubric: "
          "start `jupyter lab` here and open\n/grade-by-question on it (or the Formgrader tab, one student at a time); "
          "marking_guide.md holds each\nquestion's model answer and rubric.")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:  # an nbgrader command failed: its log says why
        sys.exit(str(error))
