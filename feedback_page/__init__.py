"""The students' feedback page: nbgrader's, made to stand on its own offline (`feedback/feedback_page.html.j2`).

nbgrader's page loads MathJax from a CDN, so an offline student saw their formulas as raw LaTeX, and
inlines all of Bootstrap 3 (117 kB a page). Here Markdown is rendered with math as MathML
(`course.markdown`), which the browser draws itself, and the page has 4 kB of style.

An exporter of its own, `FeedbackPageExporter`, that nbgrader_config.py gives `GenerateFeedback`:
the same settings on nbgrader's `HTMLExporter` would also reach the Formgrader's grading pages, which
render notebooks with it.
"""
from pathlib import Path

from nbconvert.exporters import HTMLExporter

HERE = Path(__file__).resolve().parent


class FeedbackPageExporter(HTMLExporter):
    """nbgrader's feedback exporter (`HTMLExporter` with its "feedback" template), with this folder's page."""
