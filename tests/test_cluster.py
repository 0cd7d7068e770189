"""Grading on a Dask cluster (grading_engine/cluster.py), on 127.0.0.1: a scheduler and two
`dask worker` processes started here grade two samples as samples/manifest.csv says, into a PostgreSQL
gradebook (a local server the test starts itself), also when one worker is killed in the middle of a
submission, and leave the gradebook as one sequential `nbgrader autograde` does; a run started again
grades only what is missing; and what comes back from a worker is data, checked before it is written."""
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from distributed import Client

from kit_checks import assert_expected_scores
from grading_engine.cluster import (UnsafeResult, checked_result_files, grade_class, graded_notebooks, read_record,
                                    record_cells, result_may_hold, store_result, time_left, to_grade)
from course import ASSIGNMENT, ROOT
from course.postgres import postgres_server
from course.nbgrader_cli import user_environment
from tools.grading import Sample, cell_scores, make_course, read_manifest, submit

# The blank and the partly wrong samples: the complete one (the longest to grade) is graded twice
# on two workers by the bank
SAMPLES = [sample for sample in read_manifest() if sample.name != "complete"]
DASK = Path(sys.executable).parent / "dask"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(logs, workers=2):
    """A scheduler and `workers` worker processes on 127.0.0.1, as an instructor would start them on
    their machines (without nannies, so that a killed worker stays dead); yields (address, workers)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**user_environment(), "PYTHONPATH": str(ROOT)}  # the kit's code, as in a worker machine's clone of it
    processes = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                   "--dashboard-address", "127.0.0.1:0"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(logs / "scheduler.log", "w"))]
    for n in range(workers):
        processes.append(subprocess.Popen([str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--no-nanny", "--name", f"worker-{n}"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=open(logs / f"worker-{n}.log", "w")))
    try:
        with Client(address, timeout=120) as client:  # all connected, so that the first tasks go to both
            client.wait_for_workers(workers, timeout=120)
        yield address, processes[1:]
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own; yields its gradebook URL."""
    with postgres_server() as url:
        yield url


def assert_same_as_sequential(course, db_url, sequential):
    """Same gradebook records and autograded files as the sequential run, student by student."""
    for sample in SAMPLES:
        assert read_record(db_url, sample.name) == \
            read_record(f"sqlite:///{sequential / 'gradebook.db'}", sample.name), f"{sample.name}'s gradebook record differs"
        files = {p.relative_to(course / "autograded" / sample.name) for p in (course / "autograded" / sample.name).rglob("*")}
        reference = {p.relative_to(sequential / "autograded" / sample.name)
                     for p in (sequential / "autograded" / sample.name).rglob("*")}
        assert files == reference, f"{sample.name}'s autograded folder differs"
    scores = {(r["student"], r["notebook"], r["cell"]): r for r in cell_scores(db_url)}
    for sample in SAMPLES:
        assert_expected_scores(sample, scores)


def test_a_cluster_grades_like_one_sequential_run_when_a_worker_dies(tmp_path, graded_samples, postgres):
    """Do two `dask worker` processes, one of them killed (SIGKILL) in the middle of a submission, give
    every sample its expected scores and a PostgreSQL gradebook the same records as a sequential
    autograde into sqlite? (One run for both: the bank grades on two workers that stay alive.)"""
    course = make_course(tmp_path / "course", db_url=postgres)
    for sample in SAMPLES:
        submit(sample, course)
    said, killed = [], []
    with dask_cluster(tmp_path) as (address, workers), Client(address) as observer:
        def say(line):
            said.append(line)
            if line.startswith("1/"):  # one submission graded: kill a worker grading another
                busy = [info["name"] for worker, info in observer.scheduler_info()["workers"].items()
                        if observer.processing().get(worker)]
                killed.append(workers[int(busy[0].rsplit("-", 1)[1])])
                os.kill(killed[0].pid, signal.SIGKILL)

        times = grade_class(course_root=course, scheduler=address, db_url=postgres, say=say)
        assert killed and killed[0].poll() == -signal.SIGKILL
    assert sorted(times) == sorted(s.name for s in SAMPLES)
    assert said[0].startswith("Dask dashboard: http://127.0.0.1:")
    assert [line.split()[0] for line in said[1:]] == [f"{n}/{len(SAMPLES)}" for n in range(1, len(SAMPLES) + 1)]
    assert said[-1].split()[1] == "[" + "#" * 30 + "]" and " 0 failed" in said[-1]
    assert_same_as_sequential(course, postgres, graded_samples)


def test_a_run_started_again_grades_only_what_is_missing(tmp_path):
    """After an interrupted run, is only the submission without autograded results graded again, and
    everyone with --force? (Both runs on one LocalCluster, as the command starts by default.)"""
    from distributed import LocalCluster

    course = make_course(tmp_path / "course")
    for name in ["graded-before", "missing"]:  # (Part 1 only: quick to grade)
        submit(Sample(name, "solutions", notebooks={"part1_understanding"}), course)
    said, scratch = [], tmp_path / "scratch"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      local_directory=scratch) as cluster:
        assert sorted(grade_class(["graded-before"], course_root=course, scheduler=cluster.scheduler_address)) == \
            ["graded-before"]
        times = grade_class(course_root=course, scheduler=cluster.scheduler_address, say=said.append)
        worker_folders = list(scratch.rglob("weight-init-*"))
    assert sorted(times) == ["missing"] and said[0] == "1 of 2 submissions are graded already (--force grades them again)"
    # the worker's course folder was in its local directory, and went with it
    assert [p.name.rsplit("-", 1)[0] for p in worker_folders] == ["weight-init-worker"]
    assert not list(scratch.rglob("weight-init-*"))
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    assert to_grade(course, db_url, say=said.append) == []
    assert to_grade(course, db_url, force=True) == ["graded-before", "missing"]
    shutil.rmtree(course / "autograded" / "missing")  # graded, but its results half written when interrupted
    assert to_grade(course, db_url, say=said.append) == ["missing"]


def tar_of(*members):
    """Tar bytes of `members`: (TarInfo, content or None)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, content in members:
            info.size = len(content or b"")
            tar.addfile(info, io.BytesIO(content) if content else None)
    return buffer.getvalue()


def member(name, content=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info, content


@pytest.fixture
def a_result(course):
    """A worker's result as grade_submission returns it, for a student with a submission in `course`:
    (student, the notebook's bytes, a record of the shape autograde writes for the course's assignment)."""
    student = "result-checks"
    submit(Sample(student, "solutions", notebooks={"part1_understanding"}), course)
    notebook = (course / "submitted" / student / ASSIGNMENT / "part1_understanding.ipynb").read_bytes()
    record = {"timestamp": None, "notebooks": {
        name: {"late_submission_penalty": 0.0, "flagged": False, "grades": {g: (1.0, False) for g in sorted(grades)},
               "comments": {c: None for c in sorted(comments)}}
        for name, (grades, comments) in record_cells(f"sqlite:///{course / 'gradebook.db'}").items()}}
    yield student, notebook, record
    shutil.rmtree(course / "submitted" / student)
    shutil.rmtree(course / "autograded" / student, ignore_errors=True)


@pytest.mark.parametrize("members, refused", [
    ([("../escaped.txt", b"x", tarfile.REGTYPE, "")], "not a plain relative path"),
    ([("/tmp/absolute.txt", b"x", tarfile.REGTYPE, "")], "not a plain relative path"),
    ([("lab_utils.py", b"", tarfile.SYMTYPE, "/etc/passwd")], "a link"),
    ([("lab_utils.py", b"", tarfile.LNKTYPE, "../../gradebook.db")], "a link"),
    ([("zero", b"", tarfile.CHRTYPE, "")], "a device, FIFO or other special file"),
    ([("pipe", b"", tarfile.FIFOTYPE, "")], "a device, FIFO or other special file"),
    ([("integrity.py", b"x" * 10**6, tarfile.REGTYPE, "")], "more than a result holds there"),
    ([("part1_understanding.ipynb", b'{"cells": "<img src=x onerror=alert(1)>"}', tarfile.REGTYPE, "")], "in the archive twice"),
    ([("part1_understanding.ipynb", b"", tarfile.DIRTYPE, ""), ("part1_understanding.ipynb/x", b"x", tarfile.REGTYPE, "")],
     "in the archive twice"),
], ids=["dot-dot", "absolute", "symlink", "hard-link", "device", "fifo", "too-large", "notebook-twice", "folder-over-a-notebook"])
def test_a_result_that_holds_what_no_result_may_is_refused_and_nothing_written(course, a_result, members, refused):
    """Does the instructor's machine refuse a worker's result with `..`, an absolute path, a link, a
    device or FIFO, a file too large, a member twice (a later one would replace the checked one), saying
    which member and why, and write nothing of it (the good notebook beside the bad member included)?"""
    student, notebook, record = a_result
    data = tar_of(member("part1_understanding.ipynb", notebook), *(member(*m) for m in members))
    with pytest.raises(UnsafeResult, match=refused):
        store_result(course, f"sqlite:///{course / 'gradebook.db'}", student,
                     {"student": student, "autograded": data, "record": record})
    assert not (course / "autograded" / student).exists(), "a refused result was partly written"
    assert not (course / "autograded" / "escaped.txt").exists()


def test_an_invalid_notebook_or_a_file_where_a_folder_goes_is_refused(course, a_result):
    student, notebook, record = a_result
    may_hold = {**result_may_hold(course, student), "notes": 10, "notes/a.txt": 10}
    with pytest.raises(UnsafeResult, match="not a valid notebook"):
        checked_result_files(tar_of(member("part1_understanding.ipynb", b'{"cells": "<img src=x onerror=alert(1)>"}')),
                             may_hold, graded_notebooks(course))
    with pytest.raises(UnsafeResult, match="'notes': a file where another member needs a folder"):
        checked_result_files(tar_of(member("notes", b"x"), member("notes/a.txt", b"y")), may_hold, graded_notebooks(course))


def test_a_well_formed_result_is_stored_and_what_no_one_handed_in_left_out(course, a_result):
    """Is a well-formed result written (its files, with their owner's read and write, and its record, read
    back the same), and a file that neither the submission nor the assignment has left out and named?"""
    student, notebook, record = a_result
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    archive = tar_of(member("part1_understanding.ipynb", notebook), member("saved_model.keras", b"weights"))
    left_out = store_result(course, db_url, student, {"student": student, "autograded": archive, "record": record})
    graded = course / "autograded" / student / ASSIGNMENT
    assert left_out == ["saved_model.keras"] and sorted(p.name for p in graded.iterdir()) == ["part1_understanding.ipynb"]
    assert (graded / "part1_understanding.ipynb").read_bytes() == notebook
    assert (graded / "part1_understanding.ipynb").stat().st_mode & 0o777 == 0o644
    assert read_record(db_url, student) == record


def test_a_result_for_another_student_or_with_a_forged_record_is_refused(course, a_result):
    """A reply that names another student than the one sent, or a record autograde would not write (a
    score that is text, one that is NaN, a notebook or a cell the assignment lacks), is refused before
    anything is written."""
    student, notebook, record = a_result
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    good = {"student": student, "autograded": tar_of(member("part1_understanding.ipynb", notebook)), "record": record}
    with pytest.raises(UnsafeResult, match="not 'result-checks', whose submission was sent"):
        store_result(course, db_url, student, {**good, "student": "someone-else"})
    part1 = record["notebooks"]["part1_understanding"]
    cell = next(iter(part1["grades"]))
    for forged in [{**part1, "grades": {**part1["grades"], cell: ("2", False)}},
                   {**part1, "grades": {**part1["grades"], cell: (float("nan"), False)}},
                   {**part1, "grades": {**part1["grades"], "no_such_cell": (1.0, False)}}]:
        with pytest.raises(UnsafeResult, match="not one that autograde writes"):
            store_result(course, db_url, student, {**good, "record": {**record, "notebooks": {**record["notebooks"],
                                                                                            "part1_understanding": forged}}})
    with pytest.raises(UnsafeResult, match="not one that autograde writes"):
        store_result(course, db_url, student, {**good, "record": {"timestamp": None, "notebooks": {}}})
    assert not (course / "autograded" / student).exists()


def test_the_time_left_leaves_out_each_workers_first_submission_once_a_later_one_is_graded():
    # 2 workers: the firsts (35 s, 33 s) also started a zygote and a verifier; later ones take about 24 s
    assert time_left([35.0], remaining=31, slots=2) == 31 * 35 / 2  # (only a first: the quickest so far)
    assert time_left([35.0, 33.0], remaining=30, slots=2) == 30 * 33 / 2
    assert time_left([35.0, 33.0, 24.0, 26.0, 22.0], remaining=27, slots=2) == 27 * 24 / 2  # (the later ones' median)
    assert time_left([], remaining=5, slots=2) == 0  # (nothing graded yet, every one failed)
