"""What a source notebook holds besides the student's version: solution blocks, hidden tests, and for
each written question its model answer and the marking notes for graders."""
import re
from dataclasses import dataclass

import nbformat
from nbgrader.utils import is_grade, is_solution

SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n|^[ \t]*### END SOLUTION[ \t]*\n?", re.MULTILINE)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)
# In a written answer's source cell, the instructor's notes for graders follow the model answer
MARKING_NOTES = re.compile(r"^\*Marking notes:\*\s*", re.MULTILINE)


def model_answer(cell):
    """The instructor's answer in a source solution cell, as a student would have typed it (without
    the marking notes)."""
    if cell.cell_type == "code":
        return SOLUTION_BLOCK.sub("", cell.source).rstrip("\n")
    return MARKING_NOTES.split(cell.source, maxsplit=1)[0].strip()


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
