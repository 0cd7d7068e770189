"""Write the sample zips of samples/lms/, as Canvas and Moodle download a class's uploads of Part 1 (the
complete, partly-wrong and blank samples' notebooks), with the names that must be reported and skipped:

    python -m tools.lms_samples      # `make release` runs it; a test checks they are current

Canvas: a student on time, one late who uploaded twice (`-1`), one blank, a file that is not a notebook, a
notebook that is not the assignment's, and a name that is not Canvas's. Moodle: one student as a file, one
in a folder ("Download submissions in folders"), and a name that is not Moodle's.
"""
import tempfile
import zipfile
from pathlib import Path

from course import ASSIGNMENT, ROOT
from tools.grading import SAMPLES, read_manifest, build_submission

LMS = SAMPLES / "lms"
NOTEBOOK = "part1_understanding.ipynb"
CANVAS = {"smithjane_1042_88123_": "complete", "doejohn_LATE_1043_88124_": "partly-wrong", "leeamy_1044_88125_": "blank"}
MOODLE = {"Jane Smith_2001_assignsubmission_file_": "complete", "Omar Haddad_2002_assignsubmission_file_/": "partly-wrong"}


def part1(sample):
    with tempfile.TemporaryDirectory() as folder:
        build_submission(sample, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, Path(folder))
        return (Path(folder) / NOTEBOOK).read_bytes()


def write(path, members):
    """A zip whose bytes depend on its members only (fixed dates, sorted)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members.items()):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 1, 12, 0, 0)), data, zipfile.ZIP_DEFLATED)


def main(folder=LMS):
    samples = {s.name: s for s in read_manifest()}
    notebooks = {name: part1(sample) for name, sample in samples.items()}
    folder.mkdir(exist_ok=True)
    canvas = {prefix + (NOTEBOOK.replace(".ipynb", "-1.ipynb") if "LATE" in prefix else NOTEBOOK): notebooks[sample]
              for prefix, sample in CANVAS.items()}
    canvas["smithjane_1042_88123_notes.txt"] = b"my notes\n"
    canvas["leeamy_1044_88125_part9_extra.ipynb"] = notebooks["complete"]
    canvas["part1_understanding.ipynb"] = notebooks["complete"]
    write(folder / "canvas_submissions.zip", canvas)
    moodle = {prefix + NOTEBOOK: notebooks[sample] for prefix, sample in MOODLE.items()}
    moodle["Jane Smith part1.ipynb"] = notebooks["complete"]
    write(folder / "moodle_submissions.zip", moodle)


if __name__ == "__main__":
    main()
