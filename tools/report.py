"""The instructor's per-cell report, which `nbgrader export` (totals only) does not give.

    python -m tools.report                      # the repository's gradebook.db
    python -m tools.report --db postgresql://... --out grades_by_cell.csv

Writes every student's score on every graded cell as CSV (written answers awaiting manual grading
have an empty score), and prints the per-notebook grade table and the cells the class failed most.
"""
import argparse
from pathlib import Path

from course import ASSIGNMENT, ROOT
from tools.grading import cell_scores, failure_summary, grade_table, write_cell_scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'gradebook.db'}", help="the gradebook's database URL")
    parser.add_argument("--assignment", default=ASSIGNMENT)
    parser.add_argument("--out", type=Path, default=ROOT / "grades_by_cell.csv")
    parser.add_argument("--top", type=int, default=10, help="how many of the most failed cells to list")
    args = parser.parse_args(argv)
    rows = cell_scores(args.db, args.assignment)
    write_cell_scores(rows, args.out)
    print(grade_table(rows))
    print()
    print(failure_summary(rows, args.top))
    print(f"\nWrote {args.out} ({len(rows)} rows: one per student and graded cell)")


if __name__ == "__main__":
    main()
