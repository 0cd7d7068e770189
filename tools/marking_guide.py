"""Write the marking guide for the written answers: each question with its points, the model answer
and the marking notes, taken from the source notebooks, for the graders to keep open beside the
Formgrader (which shows only the student's answer).

    python -m tools.marking_guide    # writes marking_guide.md (`make release` runs it; a test checks it is current)
"""
import re
from dataclasses import dataclass

import nbformat
from nbgrader.utils import is_grade, is_solution

from tools.grading import ASSIGNMENT, MARKING_NOTES, ROOT, model_answer

GUIDE = ROOT / "marking_guide.md"


@dataclass
class WrittenQuestion:
    grade_id: str
    question: str  # the markdown cell just before the answer
    points: float
    answer: str  # the instructor's model answer
    notes: str  # what earns the points ("" if the answer has no marking notes)


def written_questions(notebook):
    """The `WrittenQuestion`s of a source notebook, in order."""
    cells = nbformat.read(notebook, as_version=4).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and is_solution(cell) and is_grade(cell):
            question = next(c.source for c in reversed(cells[:index]) if c.cell_type == "markdown")
            notes = MARKING_NOTES.split(cell.source, maxsplit=1)[1:] or [""]
            yield WrittenQuestion(cell.metadata.nbgrader["grade_id"], question, cell.metadata.nbgrader["points"],
                                  model_answer(cell), notes[0].strip())


def demote(markdown, levels=2):
    """`markdown` with each heading `levels` deeper, so that it sits under the guide's own headings."""
    return re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + levels, 6) + " ", markdown, flags=re.MULTILINE)


def guide():
    lines = ["# Marking guide: written answers", "",
             f"Generated from `source/{ASSIGNMENT}/` by `python -m tools.marking_guide` (`make release`); do not "
             "edit. Keep it open beside the Formgrader: for each question, the points, the model answer and "
             "what earns the points. Never give it to students.", ""]
    for notebook in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        questions = list(written_questions(notebook))
        if not questions:
            continue
        lines += [f"## {notebook.stem} ({sum(q.points for q in questions)} points)", ""]
        for q in questions:
            lines += [demote(q.question), "", "**Model answer:**", "", q.answer, ""]
            lines += [f"**Marking notes:** {q.notes}", ""] if q.notes else []
            lines += ["---", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    GUIDE.write_text(guide(), encoding="utf-8")
