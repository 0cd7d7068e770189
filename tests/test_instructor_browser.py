"""The instructor's and the graders' chair, in a real browser: after the demo's submissions are
autograded, the Formgrader lists them, opens one with the model answer and marking notes below each
written answer, and a score typed for a written answer reaches the gradebook; the marking guide shows
every question's model answer, marking notes and rubric in JupyterLab."""
import shutil

import pytest

from browser import browser, jupyter_lab  # noqa: F401  (`browser` is a fixture)
from course import ASSIGNMENT, ROOT
from tools.grading import read_manifest

SAMPLES = read_manifest()


@pytest.fixture(scope="module")
def graded_course(graded_samples, tmp_path_factory):
    """A course folder as the instructor's is after `make demo`: the samples autograded, the guide at hand
    (a copy: the Formgrader writes to its gradebook)."""
    course = tmp_path_factory.mktemp("instructor") / "course"
    shutil.copytree(graded_samples, course, symlinks=True)
    shutil.copy(ROOT / "marking_guide.md", course / "marking_guide.md")
    # the server's log outside the course folder, so that the file browser lists only what an instructor has
    with jupyter_lab(course, log=tmp_path_factory.mktemp("logs") / "jupyter.log") as lab:
        yield course, lab.url, lab.token


def test_formgrader_lists_opens_and_records_a_manual_grade(browser, graded_course):
    """Does the Formgrader list the demo's submissions, open one with the marking notes beside the answers,
    and save a typed score to the gradebook?"""
    course, url, token = graded_course
    page = browser.page
    # The Formgrader's pages call its API with the login cookie only (JupyterLab sends the token itself)
    page.goto(f"{url}/login?next=/formgrader/manage_submissions/{ASSIGNMENT}")
    page.fill("input#password_input", token)
    page.click("button#login_submit")
    page.wait_for_selector("text=partly-wrong")
    browser.screenshot("submissions listed")
    listed = page.inner_text("body")
    assert all(sample.name in listed for sample in SAMPLES), listed[:2000]

    page.goto(f"{url}/formgrader/gradebook/{ASSIGNMENT}/part1_understanding")
    page.click('a[href*="/formgrader/submissions/"] >> nth=0')
    page.wait_for_selector("input.score#q1_importance")
    # below the student's answer, for the grader: the model answer and the rubric (ShowMarkingNotes)
    notes = page.locator('blockquote:has-text("For graders, not shown to students")').first
    notes.scroll_into_view_if_needed()
    browser.screenshot("submission opened, marking notes below the answer")
    assert "+1 Learning depends on it." in notes.inner_text() and "A concrete failure" in notes.inner_text(), notes.inner_text()
    page.fill("input.score#q1_importance", "1.5")
    page.press("input.score#q1_importance", "Tab")  # the Formgrader saves a score when it changes
    for _ in range(20):
        page.wait_for_timeout(500)
        if 1.5 in manual_scores(course, "part1_understanding", "q1_importance"):
            break
    browser.screenshot("manual score typed")
    assert 1.5 in manual_scores(course, "part1_understanding", "q1_importance"), "the typed score did not reach the gradebook"


def manual_scores(course, notebook, cell):
    """The manual scores the gradebook holds for `cell` of `notebook`, one per submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return [grade.manual_score for submission in gradebook.notebook_submissions(notebook, ASSIGNMENT)
                for grade in submission.grades if grade.name == cell]


def test_marking_guide_shows_model_answers_and_notes(browser, graded_course):
    """Does the marking guide, opened in JupyterLab as a Markdown preview, show a question's answer, notes and rubric?"""
    _, url, token = graded_course
    page = browser.page
    page.goto(f"{url}/lab?reset&token={token}")
    page.wait_for_selector('.jp-DirListing-item:has-text("marking_guide.md")', timeout=120_000)
    page.locator('.jp-DirListing-item:has-text("marking_guide.md")').click(button="right")
    page.hover('.lm-Menu-itemLabel:text-is("Open With")')
    page.get_by_role("menuitem", name="Markdown Preview").click()
    rendered = page.wait_for_selector('.jp-RenderedMarkdown:has-text("Marking guide")')
    page.wait_for_selector('.jp-RenderedMarkdown h4:has-text("Q1: Why initialize carefully?")')
    browser.screenshot("marking guide")
    text = rendered.inner_text()
    for expected in ["part4_deep_networks", "Model answer", "Marking notes", "Comment the student sees", "Learning depends on it"]:
        assert expected in text, f"the marking guide does not show {expected!r}"
