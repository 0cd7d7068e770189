"""Write the marking guide for the written answers: each question with its points, the model answer,
the marking notes and the rubric, taken from the source notebooks, for the graders to keep open beside the
Formgrader (which shows only the student's answer).

    python -m tools.marking_guide    # writes marking_guide.md (`make release` runs it; a test checks it is current)
"""
import re

from course import ASSIGNMENT, ROOT
from course.questions import written_questions

GUIDE = ROOT / "marking_guide.md"


def demote(markdown, levels=2):
    """`markdown` with each heading `levels` deeper, so that it sits under the guide's own headings."""
    return re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + levels, 6) + " ", markdown, flags=re.MULTILINE)


def rubric_table(rubric):
    """The rubric as a Markdown table: the key that applies each item, its points, title and comment."""
    if not rubric:
        return []
    return ["**Rubric** (a score is the sum of the items applied, from 0 to the question's points):", "",
            "| Key | Points | Item | Comment the student sees |", "|---|---|---|---|",
            *[f"| {item.key} | {item.points:+g} | {item.title} | {item.comment} |" for item in rubric], ""]


def guide():
    lines = ["# Marking guide: written answers", "",
             f"Generated from `source/{ASSIGNMENT}/` by `python -m tools.marking_guide` (`make release`); do not "
             "edit. Keep it open beside the Formgrader: for each question, the points, the model answer and "
             "what earns the points: its rubric. Never give it to students.", ""]
    for notebook in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        questions = list(written_questions(notebook))
        if not questions:
            continue
        lines += [f"## {notebook.stem} ({sum(q.points for q in questions)} points)", ""]
        for q in questions:
            lines += [demote(q.question), "", "**Model answer:**", "", q.answer, ""]
            lines += [f"**Marking notes:** {q.notes}", ""] if q.notes else []
            lines += rubric_table(q.rubric)
            lines += ["---", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    GUIDE.write_text(guide(), encoding="utf-8")
