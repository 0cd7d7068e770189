"""What a source notebook holds besides the student's version: solution blocks, hidden tests, and for
each written question its model answer, the marking notes and the rubric for graders.

A written answer's source cell holds the model answer, then optionally `*Marking notes:*` (guidance for
graders), then `*Rubric:*` and a numbered list of rubric items, one per line, each with its points
(signed: a deduction is negative), a short title for graders and the comment the student sees:

    *Rubric:*
    1. **+1 Symmetry.** You explain that units which start equal get equal updates and stay equal.
    2. **-1 Std for variance.** You give the variance as the standard deviation.

An item's number is the key that applies it in the grading view; its title names it there and in the
gradebook, so changing an item's points or comment changes it for every answer it was applied to.

Below an item, optional lines say what an answer that earns it says, for the grading view to suggest the
item (a grader always confirms): `*Matches:*` and comma-separated terms, of which the answer must hold one
(several such lines: one of each); `*Unless:*` and terms, of which it must hold none. A term is words
(case aside; `*` ends a word's stem, as in `vanish*`) or a regular expression between slashes:

    1. **+1 Symmetry.** You explain that units which start equal get equal updates and stay equal.
       *Matches:* symmetr*, same update*, identical, /learn(s)? the same/
"""
import re
from dataclasses import dataclass, replace

import nbformat
from nbgrader.utils import is_grade, is_solution

SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n|^[ \t]*### END SOLUTION[ \t]*\n?", re.MULTILINE)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)
# In a written answer's source cell, the instructor's notes for graders follow the model answer
MARKING_NOTES = re.compile(r"^\*Marking notes:\*\s*", re.MULTILINE)
RUBRIC = re.compile(r"^\*Rubric:\*\s*$", re.MULTILINE)
RUBRIC_ITEM = re.compile(r"^(\d)\.\s+\*\*([+\-\u2212]\d+(?:\.\d+)?)\s+(.+?)\.\*\*\s+(\S.*)$")
SUGGESTION_LINE = re.compile(r"^\*(Matches|Unless):\*\s*(\S.*)$")


def model_answer(cell):
    """The instructor's answer in a source solution cell, as a student would have typed it (without
    the marking notes)."""
    if cell.cell_type == "code":
        return SOLUTION_BLOCK.sub("", cell.source).rstrip("\n")
    return RUBRIC.split(MARKING_NOTES.split(cell.source, maxsplit=1)[0], maxsplit=1)[0].strip()


@dataclass(frozen=True)
class RubricItem:
    key: int  # 1 to 9: the key that applies it
    points: float  # negative for a deduction
    title: str  # for graders: what the item stands for
    comment: str  # for the student, in their feedback
    matches: tuple = ()  # regular expressions, one per `*Matches:*` line: an answer the item suits holds each
    unless: str = ""  # a regular expression an answer the item suits does not hold ("": none)

    def suits(self, text):
        """Whether `text` says what the item's `*Matches:*` lines ask (False for an item without them)."""
        return bool(self.matches) and all(re.search(m, text, re.IGNORECASE) for m in self.matches) \
            and not (self.unless and re.search(self.unless, text, re.IGNORECASE))


def terms_pattern(terms, where):
    """The regular expression of a `*Matches:*` line's comma-separated terms (see the module's docstring)."""
    patterns = []
    # (a comma inside a /regular expression/ is part of it)
    for term in filter(None, (t.strip() for t in re.findall(r"\s*(/(?:\\.|[^/\\])+/|[^,]+)", terms))):
        if len(term) > 2 and term.startswith("/") and term.endswith("/"):
            pattern = term[1:-1]
        else:
            words = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else r"\b") for w in term.split()]
            pattern = r"\b" + r"\s+".join(words)
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{where}: {term!r} is not a term: {error}") from None
        patterns.append(pattern)
    return "|".join(f"(?:{p})" for p in patterns)


def parse_rubric(text, where="a rubric"):
    """The `RubricItem`s of the numbered list `text`; a line that is not an item is an error, naming `where`."""
    items = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        suggestion = SUGGESTION_LINE.match(line)
        if suggestion and items:
            kind, terms = suggestion.groups()
            last, pattern = items[-1], terms_pattern(terms, where)
            items[-1] = replace(last, matches=last.matches + (pattern,)) if kind == "Matches" else \
                replace(last, unless="|".join(filter(None, [last.unless, pattern])))
            continue
        match = RUBRIC_ITEM.match(line)
        if not match:
            raise ValueError(f"{where}: not a rubric item (`1. **+1 Title.** Comment for the student`): {line!r}")
        key, points, title, comment = match.groups()
        items.append(RubricItem(int(key), float(points.replace("\u2212", "-")), title, comment))
    keys = [item.key for item in items]
    if keys != list(range(1, len(items) + 1)):
        raise ValueError(f"{where}: rubric items must be numbered 1, 2, 3, ... (at most 9), found {keys}")
    if len({item.title for item in items}) < len(items):
        raise ValueError(f"{where}: two rubric items have the same title")
    return tuple(items)


@dataclass
class WrittenQuestion:
    grade_id: str
    question: str  # the markdown cell just before the answer
    points: float
    answer: str  # the instructor's model answer
    notes: str  # guidance for graders ("" if the answer has no marking notes)
    rubric: tuple = ()  # its `RubricItem`s


def written_questions(notebook):
    """The `WrittenQuestion`s of a source notebook, in order."""
    cells = nbformat.read(notebook, as_version=4).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and is_solution(cell) and is_grade(cell):
            question = next(c.source for c in reversed(cells[:index]) if c.cell_type == "markdown")
            grade_id = cell.metadata.nbgrader["grade_id"]
            rest, *rubric = RUBRIC.split(cell.source, maxsplit=1)
            notes = MARKING_NOTES.split(rest, maxsplit=1)[1:] or [""]
            yield WrittenQuestion(grade_id, question, cell.metadata.nbgrader["points"], model_answer(cell),
                                  notes[0].strip(), parse_rubric(rubric[0], f"{notebook}, {grade_id}") if rubric else ())
