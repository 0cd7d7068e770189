"""Autograding the sample submissions gives exactly the scores that samples/manifest.csv promises,
with several workers at once (grading_engine/cluster.py, on a LocalCluster), into a PostgreSQL
gradebook (here, a local server the test starts itself); a submission nbgrader cannot read is reported."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from kit_checks import assert_expected_scores, autograded_cells
from grading_engine.cluster import grade_class, thread_env
from tools.grading import ASSIGNMENT, cell_scores, make_course, read_manifest, submit

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


def postgres_binary(name):
    """A PostgreSQL server program, from PATH or Debian's versioned folder."""
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    return str(found) if found else None


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on a Unix socket; yields its gradebook URL."""
    if not postgres_binary("initdb"):
        pytest.fail("PostgreSQL is not installed (Debian: apt-get install postgresql); .ci/run installs it")
    # outside pytest's private temp folder, which the server's user could not enter
    folder = Path(tempfile.mkdtemp(prefix="weight-init-pg-"))
    # the server refuses to run as root: run it as the `postgres` user when we are root
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data, log = folder / "data", folder / "server.log"
    subprocess.run([*as_user, postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "grader"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
                    "-o", f"-k {folder} -p {port} -c listen_addresses=''"], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host=str(folder), port=port, user="grader", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE weight_init")  # autocommit: it cannot run in a transaction
        yield f"postgresql://grader@/weight_init?host={folder}&port={port}"
    finally:
        subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_grade_the_samples_right_into_postgresql(tmp_path, postgres):
    """Do 2 workers at once give every sample its expected scores in a PostgreSQL gradebook? (sqlite:
    tests/test_cluster.py)"""
    course = make_course(tmp_path, db_url=postgres)
    for sample in SAMPLES:
        submit(sample, course)
    started = time.perf_counter()
    grade_class([s.name for s in SAMPLES], workers=2, course_root=course, db_url=postgres, dashboard="127.0.0.1:0")
    print(f"{len(SAMPLES)} submissions with 2 workers in {time.perf_counter() - started:.0f} s")
    scores = {(r["student"], r["notebook"], r["cell"]): r for r in cell_scores(postgres)}
    for sample in SAMPLES:
        assert_expected_scores(sample, scores)


def test_a_submission_nbgrader_cannot_read_is_reported_and_the_others_graded(tmp_path):
    """Does a worker report, by student, a submission nbgrader fails on, and grade the next one?"""
    course = make_course(tmp_path)
    complete = next(s for s in SAMPLES if s.name == "complete")
    for name in ["broken-file", "complete"]:
        submit(complete, course, student=name)
    (course / "submitted" / "broken-file" / ASSIGNMENT / "part1_understanding.ipynb").write_text("{ not json")
    with pytest.raises(RuntimeError, match=r"(?s)1 of 2 submissions could not be graded: broken-file: .*NotJSONError"):
        grade_class(["broken-file", "complete"], workers=1, course_root=course, dashboard="127.0.0.1:0")
    scores = cell_scores(f"sqlite:///{course / 'gradebook.db'}")
    graded = {r["notebook"] for r in scores if r["student"] == "complete" and r["score"] is not None}
    assert graded == {"part1_understanding", "part2_techniques", "part3_applying", "part4_deep_networks"}
