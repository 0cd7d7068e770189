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

from tools.grading import (ASSIGNMENT, ROOT, build_submission, cell_scores, grade_table, nbgrader, read_manifest,
                           write_cell_scores)


def step(message):
    print(f"\n== {message}", flush=True)


def main():
    step("Generating the student version: nbgrader generate_assignment -> release/")
    nbgrader("generate_assignment", ASSIGNMENT, "--force")

    step("Writing the sample submissions into submitted/")
    samples = read_manifest()
    for sample in samples:
        dest = ROOT / "submitted" / sample.name / ASSIGNMENT
        shutil.rmtree(dest, ignore_errors=True)
        build_submission(sample, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, dest)
        print(f"   {sample.name}")

    step("Autograding: nbgrader autograde -> autograded/")
    started = time.perf_counter()
    nbgrader("autograde", ASSIGNMENT, "--force")
    print(f"   {len(samples)} submissions in {time.perf_counter() - started:.0f} s")

    step("Grades")
    nbgrader("export", "--to", "grades.csv")
    rows = cell_scores(f"sqlite:///{ROOT / 'gradebook.db'}")
    write_cell_scores(rows, ROOT / "grades_by_cell.csv")
    print(grade_table(rows))
    print("\nWrote grades.csv (totals per student) and grades_by_cell.csv (every cell). Written answers await "
          "manual grading: nbgrader formgrader, or the Formgrader tab in JupyterLab.")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:  # an nbgrader command failed: its log says why
        sys.exit(str(error))
