"""A course run from an LMS: the sample zips of samples/lms/ (Canvas's and Moodle's "download all
submissions") collected by `nbgrader zip_collect` with the kit's settings, every name that is not a
submission reported and skipped, the students autograded in the sandbox, and the grades exported as the
CSV each LMS imports."""
import csv
import shutil

from course import ASSIGNMENT
from course.nbgrader_cli import nbgrader
from tools.grading import SAMPLES, make_course


def collect(course, zip_name):
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    shutil.rmtree(course / "downloaded", ignore_errors=True)
    archive.mkdir(parents=True)
    shutil.copy(SAMPLES / "lms" / zip_name, archive)
    return nbgrader("zip_collect", ASSIGNMENT, "--force", course_root=course).stderr


def totals(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def test_canvas_and_moodle_zips_collected_graded_and_exported(tmp_path):
    course = make_course(tmp_path / "course")

    log = collect(course, "canvas_submissions.zip")
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["1042", "1043", "1044"], log
    for student in ["1042", "1043", "1044"]:  # (the late one uploaded twice: its file was renamed -1)
        assert [p.name for p in (submitted / student / ASSIGNMENT).glob("*.ipynb")] == ["part1_understanding.ipynb"]
    for skipped in ["smithjane_1042_88123_notes.txt", "part9_extra.ipynb", "extracted/canvas_submissions/part1_understanding.ipynb"]:
        assert skipped in log, f"{skipped} was not reported: {log}"
    assert "3 files collected, 3 files skipped" in log, log

    nbgrader("autograde", ASSIGNMENT, course_root=course)
    graded = totals(course)
    assert graded["1042"] > graded["1043"] > graded["1044"] == 0, graded  # complete, partly wrong, blank
    nbgrader("export", "--exporter=lms.export.CanvasExport", "--to=canvas.csv", course_root=course)
    with open(course / "canvas.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT] and rows[1][0] == "Points Possible"
    assert {r[1]: float(r[5]) for r in rows[2:]} == graded

    log = collect(course, "moodle_submissions.zip")
    assert (submitted / "2001" / ASSIGNMENT / "part1_understanding.ipynb").is_file()  # a file of its own
    assert (submitted / "2002" / ASSIGNMENT / "part1_understanding.ipynb").is_file()  # in a folder
    assert "Jane Smith part1.ipynb" in log and "2 files collected, 1 files skipped" in log, log
    nbgrader("autograde", ASSIGNMENT, "--student=200*", course_root=course)
    nbgrader("export", "--exporter=lms.export.MoodleExport", f"--assignment={ASSIGNMENT}", "--to=moodle.csv", course_root=course)
    with open(course / "moodle.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    graded = totals(course)
    assert {r["Identifier"]: float(r["Grade"]) for r in rows} == {f"Participant {s}": score for s, score in graded.items()}
    assert graded["2001"] == graded["1042"] and graded["2002"] == graded["1043"]


def test_the_sample_zips_are_current(tmp_path):
    """samples/lms/ holds what tools.lms_samples makes from the release as it is (`make release` runs it)."""
    from tools.lms_samples import main

    main(tmp_path)
    for name in ["canvas_submissions.zip", "moodle_submissions.zip"]:
        assert (tmp_path / name).read_bytes() == (SAMPLES / "lms" / name).read_bytes(), f"{name} is stale: run make release"
