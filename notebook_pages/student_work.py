"""A graded notebook made safe to show: everything a student wrote or printed is data on the page.

`safe_copy` builds the notebook anew, field by field, keeping only what nbformat defines and a page needs:
the cells' text (Markdown rendered later by `course.markdown`, raw cells shown as text), code, and of the
outputs the text, tracebacks, images (PNG, JPEG, GIF, and SVG shown as an image, which runs no script) and
HTML reduced to the allow-list of `course.markdown.clean_html`. What would run as script (JavaScript,
widget views, any other type) is replaced by a line saying what it was. Of the metadata only nbgrader's
known fields stay, checked (a grade id goes into the page's HTML as an anchor); a notebook's claims of
trust, its widget state, a cell's tags or hidden-source flags are gone. A notebook that nbformat finds
invalid is still shown, rebuilt the same way, under a line that says so.
"""
import base64
import re
import secrets
import warnings

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbformat.warnings import MissingIDFieldWarning
from traitlets import Bool

from course.markdown import clean_html, render

GRADE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}\Z")
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
BASE64 = re.compile(r"[A-Za-z0-9+/=\n]*\Z")
IMAGES = ("image/png", "image/jpeg", "image/gif")
# nbgrader's cell metadata, with the types a page may print (GetGrades adds score and comment for feedback)
NBGRADER_FIELDS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str,
                   "points": (int, float), "score": (int, float, type(None)), "comment": (str, type(None)),
                   "schema_version": int, "cell_type": str, "checksum": str}
# What some outputs are, in the words of the line that replaces them
NOT_SHOWN = {"application/javascript": "JavaScript", "text/javascript": "JavaScript",
             "application/vnd.jupyter.widget-view+json": "an ipywidgets view (it needs a live kernel)"}
SNIPPET = 300  # characters of a replaced output's content quoted as text, so that a grader sees what it tried


def _text(value):
    """A notebook's multiline string (a string, or a list of them) as one string; anything else as ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return ""


def _nbgrader(metadata):
    fields = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if not isinstance(fields, dict) or not GRADE_ID.match(str(fields.get("grade_id", ""))):
        return {}
    return {"nbgrader": {key: value for key, value in fields.items()
                         if key in NBGRADER_FIELDS and isinstance(value, NBGRADER_FIELDS[key])}}


def _fence(text):
    """A Markdown code fence longer than any run of backticks in `text`."""
    return "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)


def _as_text_block(title, text):
    fence = _fence(text)
    return f"*{title}*\n\n{fence}text\n{text}\n{fence}"


def _attachments_inlined(source, attachments):
    """Markdown `source` with `attachment:NAME` images as data: URLs (PNG, JPEG, GIF attachments only)."""
    if not isinstance(attachments, dict):
        return source

    def inline(match):
        bundle = attachments.get(match.group(1))
        for mime in IMAGES:
            data = _text(bundle.get(mime)) if isinstance(bundle, dict) else ""
            if data and BASE64.match(data):
                return f"data:{mime};base64,{data.replace(chr(10), '')}"
        return match.group(0)  # (then dropped by the allow-list: no such image)

    return re.sub(r"attachment:([^\s)\"'<>]+)", inline, source)


def _replacement(what, value=None, runs=False):
    text = _text(value) if not isinstance(value, dict) else ""
    quoted = f":\n{text[:SNIPPET]}{'...' if len(text) > SNIPPET else ''}" if text else ""
    why = "which would run in the reader's browser" if runs else "which this page does not show"
    return new_output("display_data", data={"text/plain": f"[Not shown on this page: {what}, {why}{quoted}]"})


def _display(output):
    """A display_data or execute_result output as outputs that show only data (a replacement line first
    for each part that would run)."""
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    shown, replaced, html = {}, [], None
    for mime, value in data.items():
        text = _text(value)
        if mime == "text/plain":
            shown[mime] = text
        elif mime == "text/html":
            html = clean_html(text)
        elif mime in ("text/markdown", "text/latex") and html is None:
            html = render(text)
        elif mime in IMAGES and BASE64.match(text):
            shown[mime] = text
        elif mime == "image/svg+xml":
            # an SVG in <img> runs none of its scripts and loads nothing
            shown.setdefault("text/html", f'<img alt="SVG figure" src="data:image/svg+xml;base64,'
                                          f'{base64.b64encode(text.encode()).decode()}">')
        else:
            replaced.append(_replacement(NOT_SHOWN.get(mime, f"an output of type {mime}"), value, runs=mime in NOT_SHOWN))
    if html is not None:
        shown["text/html"] = html
    sizes = {mime: {key: value for key, value in (metadata.get(mime) or {}).items()
                    if key in ("width", "height") and isinstance(value, (int, float)) and not isinstance(value, bool)}
             for mime in IMAGES if mime in shown and isinstance(metadata.get(mime), dict)}
    kept = [] if not shown else [
        new_output("execute_result", data=shown, metadata=sizes,
                   execution_count=output.get("execution_count") if isinstance(output.get("execution_count"), int) else None)
        if output.get("output_type") == "execute_result" else new_output("display_data", data=shown, metadata=sizes)]
    return replaced + kept


def _outputs(outputs):
    result = []
    for output in outputs if isinstance(outputs, list) else []:
        kind = output.get("output_type") if isinstance(output, dict) else None
        if kind == "stream":
            result.append(new_output("stream", name="stderr" if output.get("name") == "stderr" else "stdout",
                                     text=_text(output.get("text"))))
        elif kind == "error":
            traceback = output.get("traceback") if isinstance(output.get("traceback"), list) else []
            result.append(new_output("error", ename=str(output.get("ename", "")), evalue=str(output.get("evalue", "")),
                                     traceback=[line for line in traceback if isinstance(line, str)]))
        elif kind in ("display_data", "execute_result"):
            result.extend(_display(output))
        else:
            result.append(_replacement(f"an output that is not a notebook's ({str(kind)[:40]!r})"))
    return result


def _cell(cell):
    if not isinstance(cell, dict):
        return None
    kind, source, metadata = cell.get("cell_type"), _text(cell.get("source")), cell.get("metadata")
    if kind == "markdown":
        new = new_markdown_cell(_attachments_inlined(source, cell.get("attachments")), metadata=_nbgrader(metadata))
    elif kind == "code":
        count = cell.get("execution_count")
        new = new_code_cell(source, metadata=_nbgrader(metadata), outputs=_outputs(cell.get("outputs")),
                            execution_count=count if isinstance(count, int) and not isinstance(count, bool) else None)
    else:  # a raw cell (or a kind nbformat does not know), shown as the text it holds
        new = new_markdown_cell(_as_text_block(f"A {kind if kind == 'raw' else 'non-notebook'} cell, shown as text:", source))
    if isinstance(cell.get("id"), str) and CELL_ID.match(cell["id"]):
        new.id = cell["id"]
    return new


def safe_copy(nb):
    """A notebook that shows what `nb` holds as data only (see the module's docstring)."""
    cells = [new for new in map(_cell, nb.get("cells") if isinstance(nb.get("cells"), list) else []) if new is not None]
    try:
        with warnings.catch_warnings():  # (cells without ids get ids in the copy)
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nbformat.validate(nb)
    except nbformat.ValidationError as error:
        problem = str(error).strip().splitlines()[0][:300]
        cells.insert(0, new_markdown_cell(_as_text_block(
            "This notebook is not a valid Jupyter notebook; what follows is rebuilt from what could be read. "
            "nbformat says:", problem)))
    safe = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                               "language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nbformat.validate(safe)  # (built from nbformat's own constructors: a failure here is the kit's bug)
    return safe


class SanitizeStudentWork(Preprocessor):
    """The last preprocessor of every page the kit renders from a graded notebook (the Formgrader's
    submission page, the feedback page; last, since the copy keeps none of the marks that earlier ones
    find cells by): the notebook as `safe_copy` makes it, and a fresh nonce for the page's own scripts
    (`resources["csp_nonce"]`), which the submission page's Content-Security-Policy names."""

    enabled = Bool(True)  # (nbgrader registers a converter's preprocessors as they are: nbconvert's default is off)

    def preprocess(self, nb, resources):
        resources["csp_nonce"] = secrets.token_urlsafe(18)
        return safe_copy(nb), resources
