"""A written question's answers across the class, as the grading page shows them: each student's text
from their autograded notebook, rendered from Markdown to HTML with math as MathML, then sanitised (the
text is the student's: nothing of it may run in the grader's browser)."""
import functools
import hashlib
import json
import os

from course.questions import written_questions


@functools.lru_cache(maxsize=64)
def _questions(source_notebook, modified):
    return {q.grade_id: q for q in written_questions(source_notebook)}


def question(source_notebook, grade_id):
    """The `WrittenQuestion` `grade_id` of a source notebook (read again when the file changes)."""
    return _questions(str(source_notebook), os.stat(source_notebook).st_mtime_ns).get(grade_id)


def all_questions(source_notebook):
    return list(_questions(str(source_notebook), os.stat(source_notebook).st_mtime_ns).values())


def answer_text(autograded_notebook, grade_id):
    """The text of the cell `grade_id` in a student's autograded notebook ("" if it is missing)."""
    try:
        stat = os.stat(autograded_notebook)
    except (OSError, TypeError):  # (None: a path the view refused)
        return ""
    return _answers(str(autograded_notebook), stat.st_mtime_ns).get(grade_id, "")


@functools.lru_cache(maxsize=4096)
def _answers(path, modified):  # (read again when the file changes)
    return cell_texts(path)


def cell_texts(path):
    """{grade_id: text} of every nbgrader cell of a notebook, {} for what is no notebook (plain JSON reading:
    nbformat's validation would cost a 300-student question seconds; a link is not followed)."""
    try:
        if os.path.islink(path):
            return {}
        with open(path, encoding="utf-8") as file:
            cells = json.load(file).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return {}
    texts = {}
    for cell in cells if isinstance(cells, list) else []:
        try:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        except AttributeError:  # (not a cell as nbformat writes one)
            continue
        if isinstance(grade_id, str) and grade_id:
            source = cell.get("source", "")
            # (a cell's text is a string or a list of them; anything else in a tampered file is no text)
            texts[grade_id] = source if isinstance(source, str) else \
                "".join(source) if isinstance(source, list) and all(isinstance(line, str) for line in source) else ""
    return texts


def anonymous_order(student_ids, salt):
    """The students in an order that hides who is who but is the same for every grader of the course."""
    return sorted(student_ids, key=lambda s: hashlib.sha256(f"{salt}:{s}".encode()).hexdigest())
