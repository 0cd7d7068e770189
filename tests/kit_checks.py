"""Checks shared by the kit's tests: what the source notebooks hold, and what a grading must give."""
import re

import nbformat
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT
from course.questions import HIDDEN_BLOCK

SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT
NOTEBOOKS = sorted(p.name for p in SOURCE.glob("*.ipynb"))
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def autograded_cells():
    """(notebook, grade_id) -> points of every autograded test cell in the source notebooks."""
    cells = {}
    for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_grade(cell) and not is_solution(cell):
                cells[(path.stem, cell.metadata.nbgrader["grade_id"])] = cell.metadata.nbgrader["points"]
    return cells


def assert_expected_scores(sample, scores):
    """Fail with every cell of `sample`'s submitted notebooks whose score differs from the expected one."""
    wrong = []
    for (notebook, cell), points in autograded_cells().items():
        if not sample.submits(notebook):
            continue
        row = scores.get((sample.name, notebook, cell))
        expected = sample.expected_score(notebook, cell, points)
        # a cell left for manual grading (nbgrader's answer to a deleted test cell) has no points yet
        awarded = row and (row["score"] or 0)
        if row is None or awarded != expected:
            wrong.append(f"{notebook}:{cell} scored {row and row['score']}, expected {expected}")
    assert not wrong, f"submission `{sample.name}`: " + "; ".join(wrong)


def secret_lines(notebook, kinds=("answers", "hidden tests")):
    """Lines of model answers and hidden tests that appear nowhere else in the source notebook."""
    nb = nbformat.read(SOURCE / notebook, as_version=4)
    secret, public = set(), []
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution") and cell.cell_type == "markdown":
            if "answers" in kinds:
                secret.update(cell.source.splitlines())  # the whole written answer is the model answer
            continue
        regions = (SOLUTION_REGION.findall(cell.source) if "answers" in kinds else []) + \
                  (HIDDEN_BLOCK.findall(cell.source) if "hidden tests" in kinds else [])
        for region in regions:
            secret.update(region.splitlines())
        public.append(HIDDEN_BLOCK.sub("", SOLUTION_REGION.sub("", cell.source)))
    public_lines = {line.strip() for text in public for line in text.splitlines()}
    return {line.strip() for line in secret if len(line.strip()) > 3 and line.strip() not in public_lines
            and not line.strip().startswith("###")}


def released_text(path):
    """What a student sees in a file: for a notebook, its cells' sources and outputs as plain text."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    return "\n".join([cell.source for cell in nb.cells] + [str(output) for cell in nb.cells for output in cell.get("outputs", [])])


def outputs_text(path):
    """Everything a notebook's cells printed or raised, as text."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(output.get("text", "") or f"{output.get('ename', '')}: {output.get('evalue', '')}"
                     for cell in nb.cells for output in cell.get("outputs", []))
