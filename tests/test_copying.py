"""The copying report (`python -m tools.copying`) on the sample class and the planted copies of
samples/copying/: exactly the findings expected_report.csv lists (every planted copy found, no honest pair of
the class), and a page that shows the students' text as text and runs nothing."""
import csv
import subprocess
import sys
from html.parser import HTMLParser

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import user_environment
from tools.grading import SAMPLES, Sample, build_submission, read_class

PLANTED = SAMPLES / "copying"


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


def test_the_report_finds_the_planted_copies_and_nothing_else(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for folder in ["source", "release"]:
        (course / folder).symlink_to(ROOT / folder)
    hand_ins = read_class() + [Sample(p.name, "release", answers=p) for p in sorted(PLANTED.iterdir()) if p.is_dir()]
    for sample in hand_ins:
        build_submission(sample, course / "source" / ASSIGNMENT, course / "release" / ASSIGNMENT,
                         course / "submitted" / sample.name / ASSIGNMENT)
    (course / "submitted" / "student-99").symlink_to(course / "submitted" / "copier-a")  # a link is never read
    done = subprocess.run([sys.executable, "-m", "tools.copying", "--course", str(course)], cwd=ROOT, env=user_environment(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(course / "copying_report.csv", newline="", encoding="utf-8") as got, \
            open(PLANTED / "expected_report.csv", newline="", encoding="utf-8") as want:
        assert list(csv.DictReader(got)) == list(csv.DictReader(want))
    page = (course / "copying_report.html").read_text(encoding="utf-8")
    elements = _Elements()
    elements.feed(page)
    assert elements.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "pre"}, elements.tags
    assert not {a for a in elements.attributes if a.startswith("on")} and "default-src 'none'" in page
    assert "&lt;img src=x onerror=" in page, "a student's HTML is not shown as text"
