"""Grade a class on a Dask cluster, from the instructor's machine.

    python -m grading_engine.cluster                                 # a LocalCluster here, one worker per core
    python -m grading_engine.cluster --workers 2 --students alice bob
    python -m grading_engine.cluster --scheduler tcp://HOST:8786      # a cluster of `dask worker` processes
    python -m grading_engine.cluster --force                         # everyone again, not only who is missing

The instructor's machine (the client) sends each submission in `submitted/` to a worker, files and
all: no shared file system. A worker grades it in a course folder of its own (the course's config,
source and engine, sent once, and a gradebook of its own) with nbgrader's API, as
`nbgrader autograde --student=ID` would: the preloaded kernels, the sandbox, nbgrader's start-up paid
once per worker. It sends back the autograded folder and the gradebook's record of the submission.
Only the client writes the course's `autograded/` and gradebook (sqlite or PostgreSQL), once per
submission, so that they end as a sequential `nbgrader autograde` would leave them, and feedback can
be made on the client for everyone.

Faults: Dask grades again elsewhere a submission whose worker died; a submission nbgrader cannot
grade is reported with the end of its log while the others go on; an interrupted run, started
again, grades only the submissions missing from `autograded/` or the gradebook.
"""
import argparse
import contextlib
import functools
import hashlib
import io
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import types
import warnings
from pathlib import Path

from course import ASSIGNMENT, ROOT, SHIPPED_DATA
from course.nbgrader_cli import nbgrader, path_with_this_environment
from grading_engine.intake import QUARANTINE, make_submission_safe
from grading_engine.nbgrader_plugins import RestartingExecute

# What a worker needs of the course, besides the submission: sent to each worker once
COURSE_FILES = ["nbgrader_config.py", "source", "course", "grading_engine", "notebook_pages"]  # (the config imports it)


def thread_env(workers, cores=None):
    """Environment variables that give each of `workers` grading processes on a machine its share of
    the cores: TensorFlow, oneDNN and BLAS in its kernels would otherwise each take them all."""
    share = str(max(1, (cores or os.cpu_count() or 1) // workers))
    return {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": share,
            "OPENBLAS_NUM_THREADS": share, "MKL_NUM_THREADS": share}


def peak_child_memory_mb():
    """The largest resident set of any finished descendant process so far (a grading kernel, in practice)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def pack(folder, names=None):
    """A folder's files (or only `names` in it) as the bytes of an uncompressed tar (MNIST is compressed already)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names if names is not None else sorted(os.listdir(folder)):
            tar.add(Path(folder) / name, arcname=name,
                    filter=lambda info: None if "__pycache__" in info.name or ".ipynb_checkpoints" in info.name else info)
    return buffer.getvalue()


def pack_submission(folder):
    """A submission's files as a worker gets them: without the student's copy of the shipped data,
    which grading does not take (11 MiB less to send)."""
    return pack(folder, [name for name in sorted(os.listdir(folder)) if name != SHIPPED_DATA])


def unpack(data, folder):
    """Replace `folder` with the files of tar bytes `data` (links and paths outside it refused): what a
    worker gets from the instructor's machine. What comes back goes through `store_result`."""
    shutil.rmtree(folder, ignore_errors=True)
    Path(folder).mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")


# ---- on a worker ----

_courses = {}  # this worker process's course folders, by the name of the Variable that holds their files


def _make_course(files, under=None):
    """A course folder for this worker in folder `under`, from the course's files (tar bytes): its
    gradebook gets the assignment from `nbgrader generate_assignment`, as the instructor's did. Under
    the worker's local directory, which Dask removes when the worker closes (and purges when the next
    worker starts on the machine, if this one was killed): in /tmp, a grading server would keep 25 MiB
    of every worker of every run."""
    folder = Path(tempfile.mkdtemp(prefix="weight-init-worker-", dir=under))
    unpack(files, folder)
    nbgrader("generate_assignment", ASSIGNMENT, "--force", course_root=folder)
    return folder


@functools.cache
def _nbgrader_api(course, options):
    """This worker's nbgrader, configured by the course's nbgrader_config.py and `options`."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader

    os.chdir(course)  # where nbgrader finds nbgrader_config.py (a worker has one thread and one course)
    app = NbGrader()
    app.initialize(list(options))
    if str(Path(course) / "nbgrader_config.py") not in app.loaded_config_files:
        raise RuntimeError(f"nbgrader could not load {course}/nbgrader_config.py")  # (it logs and carries on)
    return NbGraderAPI(app.coursedir, parent=app)


def grade_submission(student, submission, course, env, options=()):
    """On a worker: autograde `student`'s submission (tar bytes of submitted/<student>/weight_init)
    in this worker's `course` folder, with kernels' environment variables `env`. Return a dict:
    student, seconds, and either `error` (the end of nbgrader's log) or `autograded` (tar bytes) and
    `record` (the gradebook's)."""
    started = time.perf_counter()
    quiet_nbgrader_api()
    os.environ.update(env, PATH=path_with_this_environment())
    # Dask's nanny sets this for its workers' memory; inherited by kernels, glibc would hand memory back
    # to the system after every large free, which slows TensorFlow and NumPy (the sandbox drops it anyway)
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    for kind in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course / kind / student, ignore_errors=True)
    unpack(submission, course / "submitted" / student / ASSIGNMENT)
    try:
        result = _nbgrader_api(course, tuple(options)).autograde(ASSIGNMENT, student, force=True, create=True)
        # nbgrader's log says what went wrong; its exception only says to read the log
        error = None if result["success"] else (result.get("log") or result.get("error", "nbgrader failed"))[-3000:]
    except Exception as exception:  # noqa: BLE001  (reported with the student; the others go on)
        error = f"{type(exception).__name__}: {exception}"
    finally:
        RestartingExecute.shut_down_kernel()  # it would live on until the next student's first notebook
    done = {"student": student, "seconds": time.perf_counter() - started}
    if error:
        return {**done, "error": error}
    return {**done, "autograded": pack(course / "autograded" / student / ASSIGNMENT),
            "record": read_record(f"sqlite:///{course / 'gradebook.db'}", student)}


def quiet_nbgrader_api():
    """nbgrader's API, unlike its command line, has SQLAlchemy warn three times per submission about
    objects "not in session" (the scores are written all the same: the tests read them back), and
    nbformat warn of every notebook written without cell ids; neither is the grader's to act on."""
    from nbformat.warnings import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def read_record(db_url, student):
    """What autograde wrote to the gradebook about `student`'s submission."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return {"timestamp": submission.timestamp, "notebooks": {
            notebook.name: {"late_submission_penalty": notebook.late_submission_penalty, "flagged": notebook.flagged,
                            "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in notebook.grades},
                            "comments": {c.name: c.auto_comment for c in notebook.comments}}
            for notebook in submission.notebooks}}


# ---- on the instructor's machine ----

def write_record(db_url, student, record):
    """Write a worker's record of `student`'s submission into the course's gradebook, as autograde would
    have (manual scores already given stay)."""
    from nbgrader.api import Comment, Grade, Gradebook, MissingEntry, SubmittedNotebook
    from sqlalchemy.orm import joinedload, selectinload

    quiet_nbgrader_api()
    with Gradebook(db_url) as gb:
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        submission = gb.update_or_create_submission(ASSIGNMENT, student, timestamp=record["timestamp"])
        # The notebooks, their grades and comments and the cells that name them, in four queries: loaded
        # one by one, as the ORM would, they took about 80 queries a submission, which bounded how many
        # workers one instructor's machine could keep up with
        notebooks = (gb.db.query(SubmittedNotebook).filter(SubmittedNotebook.assignment_id == submission.id)
                     .options(joinedload(SubmittedNotebook.notebook),
                              selectinload(SubmittedNotebook.grades).joinedload(Grade.cell),
                              selectinload(SubmittedNotebook.comments).joinedload(Comment.cell)).all())
        for notebook in notebooks:
            saved = record["notebooks"][notebook.name]
            notebook.late_submission_penalty, notebook.flagged = saved["late_submission_penalty"], saved["flagged"]
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = saved["grades"][grade.name]
            for comment in notebook.comments:
                comment.auto_comment = saved["comments"][comment.name]
        gb.db.commit()


class UnsafeResult(Exception):
    """A worker's result that the instructor's machine does not write: it says which member, and why."""


NOTEBOOK_BYTES = 32 * 2**20  # a graded notebook at most (a complete submission's four: about 0.44 MiB)


def graded_notebooks(course):
    return {notebook.name for notebook in (course / "source" / ASSIGNMENT).glob("*.ipynb")}


def result_may_hold(course, student):
    """{path in the autograded folder: its largest size}: what nbgrader writes there, the notebooks it
    graded (one per source notebook), the assignment's own files as source/ has them, and the student's
    other files as they were handed in (the shipped data left out, as grading leaves it out)."""
    sizes = dict.fromkeys(graded_notebooks(course), NOTEBOOK_BYTES)
    for folder in (course / "source" / ASSIGNMENT, course / "submitted" / student / ASSIGNMENT):
        for path in folder.rglob("*") if folder.is_dir() else ():
            name = path.relative_to(folder).as_posix()
            if path.is_file() and not path.is_symlink() and name.split("/")[0] != SHIPPED_DATA:
                sizes[name] = max(sizes.get(name, 0), path.stat().st_size)
    return sizes


def checked_result_files(data, may_hold, notebooks):
    """({relative path: (bytes, permissions)}, [names left out]) of a worker's autograded folder (tar bytes
    `data`), every member checked first. Refused (UnsafeResult, naming the member and why): a member that
    is not a regular file or a folder, not a plain relative path (`..`, an absolute path), there twice, a
    file where another member needs a folder, a file larger than `may_hold` allows there, or one of the
    graded `notebooks` that nbformat does not read as valid. Left out, not written: a regular file that
    `may_hold` does not name (what a kernel run without the sandbox wrote in its working folder)."""
    import nbformat

    folders = {"/".join(name.split("/")[:end]) for name in may_hold for end in range(1, name.count("/") + 1)}
    files, left_out, seen = {}, [], set()
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data))
    except tarfile.TarError as error:
        raise UnsafeResult(f"not a tar archive ({error})") from None
    with archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if not name or name.startswith("/") or "\\" in name or "\0" in name or \
                    any(part in ("", ".", "..") for part in name.split("/")):
                raise UnsafeResult(f"{member.name!r}: not a plain relative path")
            if name in seen:
                raise UnsafeResult(f"{name!r}: in the archive twice")
            seen.add(name)
            if member.isdir():
                if name not in folders:
                    raise UnsafeResult(f"{name!r}: a folder no autograded submission has")
                continue
            if not member.isfile():
                kind = "a link" if member.issym() or member.islnk() else "a device, FIFO or other special file"
                raise UnsafeResult(f"{name!r}: {kind}, where a result holds only files and folders")
            if name not in may_hold:
                left_out.append(name)
                continue
            if member.size > may_hold[name]:
                raise UnsafeResult(f"{name!r}: {member.size} bytes, more than a result holds there")
            # (owner's read and write always, as the folder's other files have them; nothing else added)
            files[name] = (archive.extractfile(member).read(), member.mode & 0o755 | 0o600)
    clash = sorted(name for name in files if any(other.startswith(name + "/") for other in files))
    if clash:
        raise UnsafeResult(f"{clash[0]!r}: a file where another member needs a folder")
    for name in notebooks & files.keys():
        try:
            nbformat.validate(nbformat.reads(files[name][0].decode("utf-8"), as_version=4))
        except Exception as error:  # noqa: BLE001  (any way of not being a notebook)
            raise UnsafeResult(f"{name!r}: not a valid notebook ({str(error).splitlines()[0][:200]})") from None
    return files, left_out


def store_result(course, db_url, student, result, cells=None):
    """Write a worker's result for `student` (whom the instructor's machine sent it) into the course:
    the autograded folder, then the gradebook's record (what a run started again checks for, so written
    last), once the whole of it has passed the checks. Raise UnsafeResult, and write nothing, for a reply
    about another student, an archive that `checked_result_files` refuses, or a record that is not one
    autograde writes for this gradebook's assignment (`cells`: its record_cells, read once per run by
    the caller that stores many). Return the files left out."""
    if result.get("student") != student:
        raise UnsafeResult(f"the result names {result.get('student')!r}, not {student!r}, whose submission was sent")
    files, left_out = checked_result_files(result["autograded"], result_may_hold(course, student), graded_notebooks(course))
    check_record(result.get("record"), cells or record_cells(db_url))
    folder = course / "autograded" / student / ASSIGNMENT
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, (content, mode) in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
        (folder / name).chmod(mode)
    write_record(db_url, student, result["record"])
    return left_out


def record_cells(db_url):
    """{notebook: (names of its graded cells, names of its commented cells)}, as the gradebook's
    assignment defines them: what a record of a submission to it holds (nbgrader's add_submission)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {notebook.name: ({c.name for c in notebook.grade_cells} | {c.name for c in notebook.task_cells},
                                {c.name for c in notebook.solution_cells} | {c.name for c in notebook.task_cells})
                for notebook in gb.find_assignment(ASSIGNMENT).notebooks}


def check_record(record, cells):
    """Raise UnsafeResult unless `record` is one that `read_record` gives for an assignment of `cells`
    (record_cells): a timestamp, and for each of its notebooks finite numbers and flags for exactly its
    graded cells and text for exactly its commented ones."""
    import datetime
    import math

    def number(value):
        return value is None or isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    try:
        notebooks = record["notebooks"]
        good = isinstance(record["timestamp"], (type(None), str, datetime.datetime)) and notebooks.keys() == cells.keys() \
            and all(number(saved["late_submission_penalty"]) and isinstance(saved["flagged"], bool)
                    and saved["grades"].keys() == cells[name][0] and saved["comments"].keys() == cells[name][1]
                    and all(number(score) and isinstance(manual, bool) for score, manual in saved["grades"].values())
                    and all(comment is None or isinstance(comment, str) for comment in saved["comments"].values())
                    for name, saved in notebooks.items())
    except (KeyError, TypeError, ValueError, AttributeError):
        good = False
    if not good:
        raise UnsafeResult("its gradebook record is not one that autograde writes for this assignment")


def recorded_students(db_url):
    """The students with a submission in the gradebook, in one query (a gradebook opened per student
    would cost a class of thousands minutes at start-up)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            return {submission.student.id for submission in gb.assignment_submissions(ASSIGNMENT)}
        except MissingEntry:
            return set()


def to_grade(course, db_url, students=None, force=False, say=print):
    """The students to grade: `students` (default: everyone in submitted/), less those graded already
    unless `force`. Their submissions are made safe first (grading_engine/intake.py): a link or a special
    file is never packed, sent or followed."""
    log = types.SimpleNamespace(warning=lambda message, *args: say(message % args))
    for folder in sorted((course / "submitted").iterdir()):
        if not students or folder.name in students:
            make_submission_safe(course / "submitted", folder.name, ASSIGNMENT, course / QUARANTINE, log)
    everyone = students or sorted(p.name for p in (course / "submitted").iterdir() if (p / ASSIGNMENT).is_dir())
    if force:
        todo = list(everyone)
    else:  # graded: an autograded folder and a record in the gradebook
        recorded = recorded_students(db_url)
        todo = [s for s in everyone if s not in recorded or not (course / "autograded" / s / ASSIGNMENT).is_dir()]
    if len(todo) < len(everyone):
        say(f"{len(everyone) - len(todo)} of {len(everyone)} submissions are graded already (--force grades them again)")
    return todo


@contextlib.contextmanager
def start_client(scheduler=None, workers=None, dashboard="127.0.0.1:8787"):
    """A Dask client of the cluster at `scheduler`, or of a LocalCluster of `workers` processes here
    (its dashboard, which names the students, on this machine's loopback only), closed on exit: the
    LocalCluster too, which a client given it does not close (its worker processes, each with a
    sandboxed zygote, would outlive the run)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    workers = workers or os.cpu_count() or 1
    # one thread per worker: a worker grades one submission at a time, in its own kernel
    # (TensorFlow's C++ start-up lines, which workers would print as they import it, are not the grader's either)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard,
                      env={"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}) as cluster, \
            Client(cluster) as client:
        yield client


def workers_per_host(client):
    """{host: number of Dask workers on it}, to share each machine's cores between its workers."""
    hosts = {}
    for worker in client.scheduler_info(n_workers=-1)["workers"].values():
        hosts[worker["host"]] = hosts.get(worker["host"], 0) + 1
    return hosts


def grade_class(students=None, course_root=ROOT, db_url=None, scheduler=None, workers=None, force=False,
                options=(), dashboard="127.0.0.1:8787", say=print):
    """Autograde `students` (default: everyone in submitted/ not graded yet, or everyone with `force`)
    on a Dask cluster; write the results into `course_root`. Return {student: seconds}; raise
    RuntimeError naming each submission that could not be graded, after grading all the others."""
    from distributed import Variable, as_completed

    course = Path(course_root).resolve()
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    todo = to_grade(course, db_url, students, force, say)
    times, failures = {}, {}
    if not todo:
        return times
    cells = record_cells(db_url)  # (what every record must hold: read once, not per result)
    with start_client(scheduler, workers, dashboard) as client:
        say(f"Dask dashboard: {client.dashboard_link}")
        client.wait_for_workers(1)
        # The course's files, once: a worker fetches them when it first needs them (a Variable, not a
        # dependency of the tasks, which would keep every task on the workers that hold them)
        bundle = pack(course, COURSE_FILES)
        course_files = Variable(f"weight-init-course-{hashlib.sha256(bundle).hexdigest()}", client=client)
        course_files.set(client.scatter(bundle, hash=False, broadcast=True))
        hosts = workers_per_host(client)
        waiting, futures, in_flight = iter(todo), {}, as_completed()

        def submit_more():
            # Two submissions per worker thread in flight: each carries its files, and ten thousand at
            # once would sit in the scheduler's memory
            while in_flight.count() < 2 * max(1, sum(client.nthreads().values())):
                student = next(waiting, None)
                if student is None:
                    return
                future = client.submit(_grade_on_worker, student, pack_submission(course / "submitted" / student / ASSIGNMENT),
                                       course_files.name, hosts, tuple(options), pure=False)
                futures[future] = student
                in_flight.add(future)

        submit_more()
        slots = max(1, sum(client.nthreads().values()))
        for done, future in enumerate(in_flight, start=1):
            student = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001  (Dask gave up on it: its workers kept dying)
                failures[student] = f"{type(error).__name__}: {error}"
            else:
                if "error" in result:
                    failures[student] = result["error"]
                else:
                    try:
                        left_out = store_result(course, db_url, student, result, cells)
                        times[student] = result["seconds"]
                        if left_out:
                            say(f"{student}: left out of the result, as files neither handed in nor the assignment's: "
                                + ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else ""))
                    except (UnsafeResult, OSError) as refused:
                        failures[student] = f"its result was refused: {refused}"
            submit_more()
            left = time_left(list(times.values()), len(todo) - done, slots)
            bar = "#" * (30 * done // len(todo))
            say(f"{done}/{len(todo)} [{bar:<30}] {len(failures)} failed, {about(left)} left; "
                f"{student}: {'FAILED' if student in failures else 'graded'}")
        course_files.delete()  # (the workers may go: nothing they hold is needed any more)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(todo)} submissions could not be graded: "
                           + "\n".join(f"{student}: {error}" for student, error in failures.items()))
    return times


def time_left(seconds, remaining, slots):
    """Seconds until `remaining` more submissions are graded on `slots` worker threads, from the grading times
    (`seconds`, in the order they came) of those graded so far. The first on each worker also started its
    zygote and verifier, so once a later one is graded the first `slots` are left out; until then the quickest
    stands for them all (the first estimate overshot 3x when it was the time elapsed per submission graded)."""
    later = seconds[slots:]
    typical = statistics.median(later) if later else min(seconds, default=0)
    return remaining * typical / slots


def about(seconds):
    return "under a minute" if seconds < 60 else f"about {seconds / 60:.0f} min"


def _grade_on_worker(student, submission, course_files, hosts, options):
    """The task a worker runs: `grade_submission`, with the course's files from the Variable named
    `course_files`, and the kernels' share of this machine's cores."""
    from distributed import Variable, get_worker

    if course_files not in _courses:
        _courses[course_files] = _make_course(Variable(course_files).get().result(), get_worker().local_directory)
    here = hosts.get(get_worker().address.split("://")[-1].rsplit(":", 1)[0], 1)
    return grade_submission(student, submission, _courses[course_files], thread_env(here), options)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="a Dask scheduler's address, e.g. tcp://HOST:8786 (default: a LocalCluster here)")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    parser.add_argument("--students", nargs="*", help="student ids (default: every folder in submitted/)")
    parser.add_argument("--force", action="store_true", help="grade again the submissions graded already")
    parser.add_argument("--db", help="gradebook URL, e.g. postgresql://user@host/db (default: gradebook.db)")
    parser.add_argument("--course", type=Path, default=ROOT, help="the course folder (default: this repository)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        times = grade_class(args.students, args.course, args.db, args.scheduler, args.workers, args.force)
    except RuntimeError as error:
        sys.exit(str(error))
    total = time.perf_counter() - started
    if times:
        print(f"{len(times)} submissions graded in {total:.1f} s, {len(times) / total * 60:.1f} per minute, "
              f"peak process memory {peak_child_memory_mb():.0f} MB")


if __name__ == "__main__":
    # Through the module's own name: Dask pickles the functions of __main__ by value, and every task
    # would then come with empty caches of its own (a course folder and an nbgrader per submission)
    from grading_engine.cluster import main as run

    run()
