"""notebook_pages.student_work without a browser: a notebook that nbformat finds invalid, or whose
fields are not what nbformat writes, is still shown, rebuilt from data, under a line that says so; and
what would run is named, not dropped in silence. (tests/test_grading_pages_browser.py opens the pages.)"""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course import ASSIGNMENT, ROOT
from course.markdown import clean_html, render
from notebook_pages.student_work import safe_copy


def test_an_invalid_notebook_is_shown_rebuilt_under_a_line_that_says_so():
    nb = new_notebook(cells=[new_markdown_cell("**my answer**"), new_code_cell("x = 1")])
    nb.cells[1].execution_count = "<img src=x onerror=alert(1)>"  # a string where nbformat wants a number
    nb.cells[1].outputs = [{"output_type": "display_data", "data": {"text/html": "<b>ok</b><script>x()</script>"},
                            "metadata": "not a dict"}]
    nb.cells.append({"cell_type": "<svg onload=alert(1)>", "source": ["<b>", "text</b>"], "metadata": {}})
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": "</script><script>alert(1)</script>"}}
    safe = safe_copy(nb)
    nbformat.validate(safe)
    assert safe.cells[0].source.startswith("*This notebook is not a valid Jupyter notebook;")
    assert safe.cells[1].source == "**my answer**"
    assert safe.cells[2].execution_count is None
    assert safe.cells[2].outputs[0].data == {"text/html": "<b>ok</b>"} and safe.cells[2].outputs[0].metadata == {}
    assert safe.cells[3].cell_type == "markdown" and "<b>text</b>" in safe.cells[3].source and "```" in safe.cells[3].source
    assert "widgets" not in safe.metadata


def test_what_would_run_is_named_and_quoted_as_text():
    javascript = "fetch('/api/contents')"
    nb = new_notebook(cells=[new_code_cell("x", outputs=[
        new_output("display_data", data={"application/javascript": javascript, "text/plain": "<Javascript object>"}),
        new_output("display_data", data={"application/x-unknown": "?"})])])
    nb.cells[0].metadata.update(nbgrader={"grade_id": '"><script>', "points": 1}, tags=['"><img onerror=x>'])
    outputs = safe_copy(nb).cells[0].outputs
    assert [o.data.get("text/plain", "") for o in outputs] == [
        f"[Not shown on this page: JavaScript, which would run in the reader's browser:\n{javascript}]",
        "<Javascript object>",
        "[Not shown on this page: an output of type application/x-unknown, which this page does not show:\n?]"]
    assert safe_copy(nb).cells[0].metadata == {}, "a grade id that is HTML, or tags, reached the page"


def test_markup_inside_math_is_text_and_the_answer_goes_on():
    """latex2mathml copies \\text{...} as it is: markup there must stay text, and an unclosed <style> in it
    must not swallow the rest of the answer (found by a red team); math's own < and > stay relations."""
    link, style = render(r"$\text{<a/href=https://x.invalid>y</a>}$"), render(r"$\text{<style>}$ and the rest of my answer")
    assert "<a" not in link and "x.invalid" in link
    assert "the rest of my answer" in style and "<style" not in style
    assert "<mo>&lt;</mo>" in render("$a < b$")
    svg = clean_html("<math><mi><svg><menclose><a xlink:title=t>x</a></menclose></svg><img src=x onerror=alert(1)></mi></math>")
    assert "menclose" not in svg and "xlink" not in svg and "onerror" not in svg, f"an SVG inside MathML's text kept its children: {svg}"
    assert render("answer \ud800") == "<p>answer ?</p>\n", "a lone surrogate should not break the page"


def test_the_formgrader_shows_an_invalid_notebook_rebuilt_not_an_error_page():
    """The Formgrader's exporter, configured by nbgrader_config.py as nbgrader's Formgrader loads it: an
    invalid notebook (an output that is a number) becomes the page with its line, not a validation error."""
    from nbconvert import HTMLExporter
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.HTMLExporter.template_name = "formgrade"  # (what nbgrader's Formgrader adds)
    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [1]
    resources = {"assignment_id": ASSIGNMENT, "notebook_id": "part1_understanding", "submission_id": "0", "index": 0,
                 "total": 1, "base_url": "", "student": "s", "last_name": None, "first_name": None, "notebook_path": "p"}
    page, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    assert "This notebook is not a valid Jupyter notebook" in page
    assert "script-src 'nonce-" in page and page.count("<script nonce=") >= 10
