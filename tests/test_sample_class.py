"""The sample class (samples/class/): 32 students' written answers, and beside them the rubric items a
careful grader applies to each (`expected_rubric.csv`), which the grading tests compare the gradebook
with. Here: that file is complete and consistent with the rubrics in source/, so that a rubric edited
in source/ cannot leave it silently wrong."""
import csv

from course import ASSIGNMENT, ROOT
from course.questions import written_questions
from tools.grading import CLASS
QUESTIONS = {(nb.stem, q.grade_id): q for nb in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
             for q in written_questions(nb)}
PLACEHOLDER = "YOUR ANSWER HERE"  # what the release's written answer cells hold


def expected_rows():
    with open(CLASS / "expected_rubric.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def rubric_score(question, keys):
    """The score of the rubric items `keys`: their points summed, from 0 to the question's points."""
    points = {item.key: item.points for item in question.rubric}
    return min(max(sum(points[key] for key in keys), 0), question.points)


def test_every_written_question_has_a_rubric():
    assert len(QUESTIONS) == 11
    for (notebook, grade_id), question in QUESTIONS.items():
        full = sum(item.points for item in question.rubric if item.points >= 1)
        assert full == question.points, f"{notebook}:{grade_id}: its full items add up to {full}, not {question.points}"


def test_every_student_answers_every_question_once_in_the_table():
    students = sorted(p.name for p in CLASS.iterdir() if p.is_dir())
    assert len(students) >= 30
    rows = expected_rows()
    assert sorted((r["student"], r["notebook"], r["grade_id"]) for r in rows) == \
        sorted((s, notebook, grade_id) for s in students for notebook, grade_id in QUESTIONS)
    for student in students:
        for notebook, grade_id in QUESTIONS:
            assert (CLASS / student / notebook / f"{grade_id}.md").is_file(), f"{student} has no answer to {grade_id}"


def test_expected_items_exist_and_add_up():
    """Does each row apply only items of its question's rubric, once each, with their sum as its score,
    none to a blank answer, and full marks to the model answer pasted?"""
    problems = []
    for row in expected_rows():
        where = f"{row['student']} {row['notebook']}:{row['grade_id']}"
        question = QUESTIONS[(row["notebook"], row["grade_id"])]
        keys = [int(key) for key in row["items"].split()]
        known = {item.key for item in question.rubric}
        if not set(keys) <= known or len(set(keys)) < len(keys):
            problems.append(f"{where}: keys {keys}, the rubric has {sorted(known)}")
            continue
        if float(row["score"]) != rubric_score(question, keys):
            problems.append(f"{where}: score {row['score']}, its items give {rubric_score(question, keys):g}")
        answer = (CLASS / row["student"] / row["notebook"] / f"{row['grade_id']}.md").read_text(encoding="utf-8").strip()
        if answer == PLACEHOLDER and keys:
            problems.append(f"{where}: a blank answer with items")
        if answer == question.answer and float(row["score"]) != question.points:
            problems.append(f"{where}: the model answer, pasted, gets {row['score']} of {question.points:g}")
    assert not problems, f"{len(problems)} problems: " + "; ".join(problems[:10])
