import base64

import nbformat

# Every way we know for a student's answer or output to run script in the grader's browser (the
# Formgrader, the grade-by-question view, the feedback page). Each payload, if it ran, would add its
# name to the top window's __xss and request /xss-ran/<name> from the Jupyter server, or request
# xss.invalid: tests/test_grading_pages_browser.py fails on either.
MARK = "(window.top.__xss = window.top.__xss || []).push(`{0}`); fetch(`/xss-ran/{0}`)"  # (no quotes to escape)

OUTPUTS = f'''\
from IPython.display import HTML, SVG, Javascript, Markdown, display
import matplotlib.pyplot as plt

display(HTML("""<table class="payloads"><tr><th>initializer</th><th>variance</th></tr>
<tr><td>table-cell-visible</td><td>0.01</td></tr></table>
<img src="x" onerror="{MARK.format('html-output-img')}">
<script>{MARK.format('html-output-script')}</script>
<iframe src="javascript:{MARK.format('html-output-iframe')}"></iframe>
<object data="data:text/html,<script>{MARK.format('html-output-object')}</script>"></object>
<a href="data:text/html,<script>{MARK.format('html-output-data-link')}</script>">a data: link</a>
<a href="/api/contents">a link into the grader's server</a>
<div class="nbgrader_cell panel panel-primary">a fake score box</div>"""))
display(Javascript("{MARK.format('javascript-output')}"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20" onload="{MARK.format('svg-output')}">'
            '<script>{MARK.format('svg-output-script')}</script><rect width="60" height="20" fill="teal"/></svg>'))
display(Markdown("<img src=x onerror=\\"{MARK.format('markdown-output')}\\"> and **bold-markdown-output**"))
display({{"application/vnd.jupyter.widget-view+json": {{"model_id": "0123", "version_major": 2, "version_minor": 0}},
          "text/plain": "IntSlider(value=0)"}}, raw=True)
display({{"text/html": "<b>bad metadata</b>"}},
        metadata={{"text/html": {{"isolated": True}}, "filenames": {{"image/png": "javascript:{MARK.format('filenames')}"}}}}, raw=True)
plt.figure(figsize=(2, 1.5)); plt.plot([0, 1], [1, 0]); plt.title("plot-visible"); plt.show()
'''
TINY_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc00000030101005d7fdcd90000000049454e44ae426082")).decode()


def edit(notebooks):
    """The model solution of Part 1, with payloads in its written answers (the .md files beside this
    one) and in cells of the student's own: outputs of every kind, a Markdown cell turned into a raw
    HTML cell, HTML in cell metadata and in an attachment's name, and a notebook that claims trust."""
    nb = notebooks["part1_understanding"]
    cells = nb.cells
    after = next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "sum_of_products")
    raw = nbformat.v4.new_raw_cell(f'<img src="x" onerror="{MARK.format("raw-cell")}"><b>raw-cell-visible</b>')
    raw.metadata["raw_mimetype"] = "text/html"
    raw.metadata["format"] = "text/html"
    tagged = nbformat.v4.new_markdown_cell("A note with an attached image: ![diagram](attachment:diagram.png) "
                                           f"and one whose name is HTML: ![x](attachment:x\"><img src=x onerror=\"{MARK.format('attachment-name')}\">.png)")
    tagged.attachments = {"diagram.png": {"image/png": TINY_PNG},
                          f'x"><img src=x onerror="{MARK.format("attachment-name")}">.png': {"image/png": TINY_PNG}}
    tagged.metadata["tags"] = [f'"><img src=x onerror="{MARK.format("cell-tag")}">']
    tagged.metadata["jupyter"] = {"source_hidden": True}
    cells[after + 1:after + 1] = [nbformat.v4.new_code_cell(OUTPUTS), raw, tagged]
    nb.metadata["trusted"] = True
    nb.metadata["signature"] = "sha256:" + "0" * 64
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0, "x": f"</script><script>{MARK.format('widget-state')}</script>"}}
