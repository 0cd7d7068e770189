"""The kit's main job, end to end, in this repository as the course folder:

1. regenerate the student version, `release/`, from `source/`;
2. write the sample submissions (`samples/`) into `submitted/`;
3. autograde them into `autograded/`;
4. print the grade table, and write `grades.csv` (totals, `nbgrader export`) and
   `grades_by_cell.csv` (every student's score on every cell).

    python -m tools.demo        # what `make demo` runs
"""
import shutil
import sys
import time

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from tools import report
from tools.grading import build_submission, read_manifest


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


def main():
    samples = read_manifest()
    db_url = f"sqlite:///{ROOT / 'gradebook.db'}"
    step("Generating the student version: nbgrader generate_assignment -> release/")
    forget_samples(samples, db_url)
    nbgrader("generate_assignment", ASSIGNMENT, "--force")

    step("Writing the sample submissions into submitted/")
    for sample in samples:
        dest = ROOT / "submitted" / sample.name / ASSIGNMENT
        shutil.rmtree(dest, ignore_errors=True)
        build_submission(sample, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, dest)
        print(f"   {sample.name}")

    step("Autograding: nbgrader autograde -> autograded/")
    started = time.perf_counter()
    nbgrader("autograde", ASSIGNMENT, "--force")
    print(f"   {len(samples)} submissions in {time.perf_counter() - started:.0f} s")

    step("Grades: nbgrader export -> grades.csv (totals); python -m tools.report -> grades_by_cell.csv")
    nbgrader("export", "--to", "grades.csv")
    report.main(["--db", db_url])
    print("Written answers await grading by question, with the rubric: start `jupyter lab` here and open\n"
          "/grade-by-question on it (or the Formgrader tab, one student at a time); marking_guide.md holds each\n"
          "question's model answer and rubric.")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:  # an nbgrader command failed: its log says why
        sys.exit(str(error))
