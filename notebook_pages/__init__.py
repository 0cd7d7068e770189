"""The pages that show a graded notebook: to graders, the Formgrader's submission page
(`formgrade/submission_page.html.j2`); to students, their feedback page (`feedback/feedback_page.html.j2`).

What a student wrote or printed is data on both: `student_work.SanitizeStudentWork`, the last
preprocessor of each page, rebuilds the notebook from data only (HTML on one allow-list, nothing that
runs), and each page's Content-Security-Policy, a `<meta>` first in its head, runs only the page's own
scripts (the Formgrader's, each with a nonce made for that rendering; the feedback page has none) and
loads nothing from elsewhere. Markdown is rendered with math as MathML by `course.markdown`, so that
neither page needs MathJax from a CDN: both work offline.

The feedback page is nbgrader's, made to stand on its own offline: nbgrader's loads MathJax and inlines
all of Bootstrap 3 (117 kB a page); this one has 4 kB of style. It has an exporter of its own,
`FeedbackPageExporter`, that nbgrader_config.py gives `GenerateFeedback`: the Formgrader renders its
pages with nbgrader's `HTMLExporter`, configured for the submission page there.
"""
from pathlib import Path

from nbconvert.exporters import HTMLExporter

from notebook_pages.student_work import SanitizeStudentWork  # noqa: F401  (for nbgrader_config.py)

HERE = Path(__file__).resolve().parent


class FeedbackPageExporter(HTMLExporter):
    """nbgrader's feedback exporter (`HTMLExporter` with its "feedback" template), with this folder's page."""
