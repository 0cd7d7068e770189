"""notebook_pages.student_work without a browser: a notebook that nbformat finds invalid, or whose
fields are not what nbformat writes, is still shown, rebuilt from data, under a line that says so; and
what would run is named, not dropped in silence. (tests/test_grading_pages_browser.py opens the pages.)"""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

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
        "[Not shown on this page: an output of type application/x-unknown, which would run in the reader's browser:\n?]"]
    assert safe_copy(nb).cells[0].metadata == {}, "a grade id that is HTML, or tags, reached the page"
