"""The kit's process pool for grading a class, before grading_engine/cluster.py replaced it: kept as
`make bench`'s baseline for class throughput, as benchmarks/assignment_original.py is for training.

    python -m benchmarks.pool_autograde --workers 2 --course COURSE --students alice bob

Each worker is a process that loads nbgrader and the course's `nbgrader_config.py` once, then grades
the students it is handed one after another, as `nbgrader autograde weight_init --student=ID` would
(through nbgrader's own Python API). The kernels of each worker get `cores // workers` threads.
"""
import argparse
import functools
import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sqlalchemy.exc import SAWarning

from grading_engine.cluster import peak_child_memory_mb, thread_env
from grading_engine.nbgrader_plugins import RestartingExecute
from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import path_with_this_environment


def _start_worker(course_root, env):
    """Set up a worker process: the environment its kernels inherit, and the course folder, where
    nbgrader finds nbgrader_config.py."""
    os.environ.update(env, PATH=path_with_this_environment())
    os.chdir(course_root)
    # nbgrader's API, unlike its command line, has SQLAlchemy warn three times per submission about
    # objects "not in session"; the scores are written all the same (the tests read them back)
    warnings.filterwarnings("ignore", category=SAWarning)


@functools.cache
def _nbgrader_api(db_url, options=()):
    """This worker's nbgrader, configured by the course's nbgrader_config.py and `options` (nbgrader
    command-line options), made on first use."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader()
    app.initialize(([f"--CourseDirectory.db_url={db_url}"] if db_url else []) + list(options))
    config = os.path.abspath("nbgrader_config.py")
    if config not in app.loaded_config_files:  # nbgrader logs a broken config and carries on without it
        raise RuntimeError(f"nbgrader could not load {config}")
    return NbGraderAPI(app.coursedir, parent=app)


def _grade(student, db_url, options=()):
    """Autograde one student in this worker; return (seconds, None), or (seconds, what went wrong)."""
    started = time.perf_counter()
    try:
        result = _nbgrader_api(db_url, options).autograde(ASSIGNMENT, student, force=True, create=True)
        # nbgrader's log says what went wrong; its exception only says to read the log
        error = None if result["success"] else (result.get("log") or result.get("error", "nbgrader failed"))[-3000:]
    except Exception as exception:  # noqa: BLE001  (reported with the student; the others go on)
        error = f"{type(exception).__name__}: {exception}"
    finally:
        RestartingExecute.shut_down_kernel()  # it would live on until the next student's first notebook
    return time.perf_counter() - started, error


def autograde_class(students, workers=1, course_root=ROOT, db_url=None, options=()):
    """Autograde `students` with `workers` at once; return {student: seconds} and raise on failures.
    `options`: nbgrader command-line options for every worker, e.g. ("--Execute.timeout=60",)."""
    times, failures = {}, {}
    unfinished = _grade_in_pool(students, workers, course_root, db_url, options, times, failures)
    # A worker process died (nbgrader itself, not a kernel: nbgrader survives those), and every
    # submission not yet graded went with it. Grade those one by one, each in a worker of its own,
    # so that only the submission that kills its worker is lost
    for student in unfinished:
        if _grade_in_pool([student], 1, course_root, db_url, options, times, failures):
            failures[student] = "the worker process grading it died"
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(students)} submissions could not be graded: "
                           + "\n".join(f"{student}: {error}" for student, error in failures.items()))
    return times


def _grade_in_pool(students, workers, course_root, db_url, options, times, failures):
    """Grade `students` with `workers` worker processes, filling in `times` and `failures`; return
    the students left ungraded because a worker process died."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or sockets inherited
    unfinished = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(str(course_root), thread_env(workers))) as pool:
        futures = {student: pool.submit(_grade, student, db_url, tuple(options)) for student in students}
        for student, future in futures.items():
            try:
                times[student], error = future.result()
            except BrokenProcessPool:
                unfinished.append(student)
                continue
            if error:
                failures[student] = error  # the others are graded all the same
    return unfinished


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
