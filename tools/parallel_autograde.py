"""Autograde a class with several workers at once, on one machine or, with PostgreSQL, on several.

    python -m tools.parallel_autograde --workers 2                      # every student in submitted/
    python -m tools.parallel_autograde --workers 2 --students alice bob
    python -m tools.parallel_autograde --workers 8 --db postgresql://grader@dbhost/weight_init

Each worker takes the next ungraded student and runs `nbgrader autograde weight_init --student=ID`.
Workers split the machine's cores between them: TensorFlow, oneDNN and BLAS in each kernel get
`cores // workers` threads, so that the workers don't fight over the cores.

nbgrader's default sqlite gradebook takes one writer at a time; the workers' writes are short and
sqlite makes them wait their turn, which is fine on one machine. To grade one class from several
machines, point every machine's workers at one PostgreSQL database with `--db` (nbgrader's
`CourseDirectory.db_url`), after creating the assignment there once with
`nbgrader generate_assignment weight_init --CourseDirectory.db_url=URL`.
"""
import argparse
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.grading import ASSIGNMENT, ROOT, nbgrader


def thread_env(workers, cores=None):
    """Environment variables that give each worker's kernel its share of the cores."""
    share = str(max(1, (cores or os.cpu_count() or 1) // workers))
    return {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": share,
            "OPENBLAS_NUM_THREADS": share, "MKL_NUM_THREADS": share}


def autograde_class(students, workers=1, course_root=ROOT, db_url=None):
    """Autograde `students` with `workers` at once; return {student: seconds} and raise on failures."""
    env = thread_env(workers)
    args = [f"--CourseDirectory.db_url={db_url}"] if db_url else []

    def grade(student):
        started = time.perf_counter()
        nbgrader("autograde", ASSIGNMENT, f"--student={student}", "--force", *args, course_root=course_root, env=env)
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=workers) as pool:  # each thread drives one nbgrader process
        futures = {student: pool.submit(grade, student) for student in students}
    times, failures = {}, {}
    for student, future in futures.items():
        try:
            times[student] = future.result()
        except RuntimeError as error:  # the others are graded all the same
            failures[student] = str(error)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(students)} submissions could not be graded: "
                           + "\n".join(f"{student}: {error}" for student, error in failures.items()))
    return times


def peak_child_memory_mb():
    """The largest resident set of any finished child process so far (a grading kernel, in practice)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--students", nargs="*", help="student ids (default: every folder in submitted/)")
    parser.add_argument("--db", help="gradebook URL, e.g. postgresql://user@host/db (default: gradebook.db)")
    parser.add_argument("--course", type=Path, default=ROOT, help="the course folder (default: this repository)")
    args = parser.parse_args(argv)
    submitted = args.course / "submitted"
    students = args.students or sorted(p.name for p in submitted.iterdir() if (p / ASSIGNMENT).is_dir())
    started = time.perf_counter()
    try:
        autograde_class(students, args.workers, course_root=args.course, db_url=args.db)
    except RuntimeError as error:
        sys.exit(str(error))
    total = time.perf_counter() - started
    print(f"{len(students)} submissions, {args.workers} workers: {total:.1f} s, "
          f"{len(students) / total * 60:.1f} per minute, peak process memory {peak_child_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
