"""Everything a student wrote or printed is data on every page a grader or a student opens, in a real
browser: the Formgrader's submission page, the grade-by-question view and the feedback page, for a
submission that carries every payload we know (tests/bank/html-and-script-run-nowhere-full-marks: a
`<script>`, `<img onerror>`, `<svg onload>`, `<iframe srcdoc>`, `javascript:` and `data:` links, a meta
refresh, `<base>`, `<form>`, a `<style>` that hides the score boxes, CSS `url()`, MathJax macros, a raw
HTML cell, HTML in cell tags and attachment names, JavaScript, SVG, Markdown and widget outputs, a
notebook that claims trust). Each payload that runs adds its name to the page's `__xss` and requests
`/xss-ran/<name>`, or requests xss.invalid: the tests fail on any of these, and on any request that
leaves the page's server; and the same page must still show the plots, tables and math a grader needs.
The payloads are live: on a page rendered as nbgrader and nbconvert do by default, they run."""
import pytest

from browser import browser, jupyter_lab  # noqa: F401  (`browser` is a fixture)
from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from tools.grading import make_course, read_manifest, submit

STUDENT, NOTEBOOK = "html-and-script-run-nowhere-full-marks", "part1_understanding"
ENTRY = next(e for e in read_manifest(ROOT / "tests" / "bank", "expected_scores.csv") if e.name == STUDENT)
# What a grader must still see: the student's table and bold Markdown and a line saying what was not run
# (in the outputs), the raw cell's text (as text), and the answer's formula and the plots (below)
VISIBLE = {".output_area": ["table-cell-visible", "bold-markdown-output", "Not shown on this page: JavaScript"],
           ".text_cell_render": ["raw-cell-visible"]}


@pytest.fixture(scope="module")
def payload_course(tmp_path_factory):
    """A course with the payload submission autograded and its feedback generated, served by JupyterLab."""
    course = make_course(tmp_path_factory.mktemp("payloads") / "course")
    submit(ENTRY, course)
    for command in ("autograde", "generate_feedback"):
        run = nbgrader(command, ASSIGNMENT, "--force", course_root=course)
        assert run.returncode == 0, run.stderr[-3000:]
    with jupyter_lab(course, log=tmp_path_factory.mktemp("logs") / "jupyter.log") as lab:
        yield course, lab


def watch(page):
    """Every URL the page (and any frame in it) requests, from now on."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def ran(page, requests, origin):
    """What of the payloads ran or called out: their names (from the markers, and from the requests they
    made, which outlast a page that a payload navigated away), and the requests that left `origin`."""
    page.wait_for_timeout(1500)  # a meta refresh, an image's error, a script's fetch: all well within this
    names = set(page.evaluate("window.__xss || []")) | {url.rsplit("/xss-ran/", 1)[1] for url in requests if "/xss-ran/" in url}
    return {"payloads that ran": sorted(names),
            "requests elsewhere": [url for url in requests if not url.startswith((origin, "data:"))]}


# Where a page shows what the student wrote or printed: cells' text, code and outputs (nbgrader's score
# boxes and comment fields, which its script styles, sit outside them)
STUDENTS_PART = [".text_cell_render", ".input_area", ".output_area"]


def assert_data_only(page, requests, origin, region):
    """Nothing ran, nothing called out, and the student's part of `region` holds no element or attribute
    that runs, sends or restyles (each checked in the DOM, beyond the markers): links only to the web, a
    mail address or an anchor, sources only data: URLs."""
    outcome = ran(page, requests, origin)
    assert not any(outcome.values()), f"a student's payload ran on {page.url}: {outcome}"
    parts = [f"{region} {part} *" for part in STUDENTS_PART] if region != "#answer" else ["#answer *"]
    live = page.evaluate("""parts => Array.from(document.querySelectorAll(parts.join(', '))).filter(e =>
        ['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'FORM', 'BASE', 'META', 'STYLE', 'LINK', 'svg'].includes(e.tagName) ||
        Array.from(e.attributes).some(a => a.name.startsWith('on') || a.name === 'style' ||
          ['src', 'srcset', 'poster', 'action', 'formaction', 'xlink:href', 'background'].includes(a.name) && !a.value.startsWith('data:') ||
          a.name === 'href' && !/^(https?:|mailto:|#)/i.test(a.value))
      ).map(e => e.outerHTML.slice(0, 120))""", parts)
    assert page.locator(", ".join(parts)).count() > 20, f"the student's part of {page.url} was not found: the check would prove nothing"
    assert not live, f"elements that could run or send, in the student's part of {page.url}: {live}"


def assert_visible(page, region):
    for where, expected in VISIBLE.items():
        text = "\n".join(page.locator(f"{region} {where}").all_inner_texts())
        missing = [words for words in expected if words not in text]
        assert not missing, f"{page.url} no longer shows {missing} in {where}"
    for selector in [f"{region} math", f"{region} img[src^='data:image/png']", f"{region} img[src^='data:image/svg+xml']"]:
        assert page.locator(selector).count() > 0, f"{page.url} shows no {selector}"
        assert page.locator(selector).first.is_visible(), f"{selector} is hidden on {page.url}"


def log_in(page, lab, path):
    page.goto(f"{lab.url}/login?next={path}")
    page.fill("input#password_input", lab.token)
    page.click("button#login_submit")


def test_the_formgrader_submission_page_runs_none_of_it(browser, payload_course):
    """Does the Formgrader's page of the payload submission run nothing, keep its score boxes visible
    and working, and show the formula, table, plots and what was left out?"""
    course, lab = payload_course
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT).id
    page = browser.page
    requests, refused = watch(page), []
    # (the student's content is sanitised, so the policy should have nothing to refuse: a refusal here is
    # the page's own script or style, broken by the policy)
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    log_in(page, lab, f"/formgrader/submissions/{submission}/")
    page.wait_for_selector("input.score#q1_importance")
    browser.screenshot("submission page")
    assert_data_only(page, requests, lab.url, region="#notebook-container")
    assert page.url.startswith(f"{lab.url}/formgrader/submissions/{submission}"), f"the page navigated to {page.url}"
    assert page.locator("input.score#q1_importance").is_visible(), "a student's style hid the score box"
    assert_visible(page, "#notebook-container")
    page.locator(".output_area:has-text('table-cell-visible')").scroll_into_view_if_needed()
    browser.screenshot("the student's outputs")
    # the page's own scripts still work: the score saves, the name toggles
    page.fill("input.score#q1_importance", "2")
    page.press("input.score#q1_importance", "Tab")
    page.locator("span.glyphicon-eye-open.name-hidden").click()
    page.wait_for_selector(f"a.name-shown:has-text('{STUDENT}')")
    page.wait_for_timeout(700)  # (the Formgrader scrolls to the focused box in 500 ms)
    browser.screenshot("score typed, name shown")
    for _ in range(20):
        if grade(course, "q1_importance") == 2:
            break
        page.wait_for_timeout(500)
    assert grade(course, "q1_importance") == 2, "the typed score did not reach the gradebook"
    assert not refused, f"the page's policy refused its own script or style: {refused[:3]}"


def grade(course, cell):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT)
        return next(g.manual_score for g in notebook.grades if g.name == cell)


def test_the_grade_by_question_view_runs_none_of_it(browser, payload_course):
    """Does the grade-by-question view show the payload answers as text, with their math, and run nothing?"""
    _, lab = payload_course
    page = browser.page
    requests = watch(page)
    log_in(page, lab, "/grade-by-question/")
    for question in ["q2_challenges", "q1_importance"]:  # (Q1's payloads are HTML, Q2's math macros)
        page.goto(f"{lab.url}/grade-by-question/")
        page.click(f"tr[data-key='{NOTEBOOK}/{question}']")
        page.wait_for_selector("#answer-title:has-text('Answer 1 of 1')")
        browser.screenshot(f"{question} answer")
        assert_data_only(page, requests, lab.url, region="#answer")
        assert page.locator("#answer math").count() > 0, f"{question}: the answer's formula is not shown as math"
    assert "onerror" in page.inner_text("#answer") or question != "q1_importance", "Q1's payloads should show as the text they are"


def test_the_feedback_page_runs_none_of_it(browser, payload_course):
    """Does the student's feedback page, opened from disk as a student does, run nothing, fetch nothing,
    and still show what the Formgrader shows?"""
    course, _ = payload_course
    path = course / "feedback" / STUDENT / ASSIGNMENT / f"{NOTEBOOK}.html"
    page = browser.page
    requests = watch(page)
    page.goto(path.as_uri())
    browser.screenshot("feedback page")
    assert_data_only(page, requests, path.as_uri(), region="#notebook-container")
    assert_visible(page, "#notebook-container")


def test_the_payloads_run_on_pages_rendered_as_nbconvert_does_by_default(browser, payload_course, tmp_path):
    """Are the payloads live? The same autograded notebook, rendered by nbconvert's HTMLExporter with its
    defaults (as nbgrader's pages were), opened in the same browser: its markers must appear, so that the
    tests above, which see none, prove something."""
    from nbconvert import HTMLExporter

    course, _ = payload_course
    page_html, _ = HTMLExporter(template_name="classic").from_filename(
        str(course / "autograded" / STUDENT / ASSIGNMENT / f"{NOTEBOOK}.ipynb"))
    path = tmp_path / "stock.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.page
    requests = watch(page)
    page.goto(path.as_uri())
    outcome = ran(page, requests, path.as_uri())
    browser.screenshot("stock page")
    # (with the CDN's jQuery unreachable, the JavaScript output fails before its payload: it did not run)
    live = {"script", "img-onerror", "svg-onload", "html-output-img", "markdown-output", "meta-refresh"}
    assert live <= set(outcome["payloads that ran"]), f"payloads that should run on a stock page did not: {outcome}"
