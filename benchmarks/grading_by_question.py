"""`make bench` section 7: grading written answers by question (grade_by_question/), on the sample class
(samples/class/, 32 students, 11 questions) and on a generated class of 300 made from it (each answer of a
sample student with small edits: typos, sentences reordered, synonyms; one in ten an exact copy).

- grading decisions per question (groups plus single answers) against answers;
- suggested rubric items that equal what a careful grader gives (samples/class/expected_rubric.csv);
- keystrokes per answer for the whole sample class, as the view's keys count them (`keys_for`);
- the time to make a question's groups for 300 answers, and to open it (the view's whole answer);
- the copying report's recall on the planted copies and its false alarms on the rest, and its time for 300.
"""
import csv
import random
import re
import shutil
import statistics
import time
from pathlib import Path

from course import ASSIGNMENT, ROOT
from course.questions import written_questions
from grade_by_question.groups import groups_for
from tools import copying
from tools.grading import CLASS, SAMPLES, Sample, build_submission, read_class

SYNONYMS = {"weights": "parameters", "large": "big", "small": "tiny", "network": "model", "because": "since",
            "training": "learning", "quickly": "fast", "important": "crucial", "units": "neurons", "each": "every"}


def keys_for(wanted, shown, full):
    """The fewest keys that give items `wanted` where `shown` are applied (suggested): 0 for none, Enter to
    confirm, f for full marks, else each item to change and Enter."""
    wanted, shown = set(wanted), set(shown)
    return 1 if not wanted or wanted == shown or wanted == full else len(wanted ^ shown) + 1


def vary(text, rng):
    """`text` as another student might hand it in after copying it: typos, sentences reordered, synonyms."""
    if not text.strip() or "YOUR ANSWER HERE" in text or rng.random() < 0.1:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    if len(sentences) > 1 and rng.random() < 0.3:
        rng.shuffle(sentences)
    words = " ".join(sentences).split(" ")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(words))
        if len(words[i]) > 3 and words[i].isalpha():
            j = rng.randrange(len(words[i]) - 1)
            words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2:]
    return " ".join(SYNONYMS.get(w, w) if rng.random() < 0.5 else w for w in words)


def questions():
    return [(path.stem, q) for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")) for q in written_questions(path)]


def sample_answers(notebook, grade_id):
    return {p.parent.parent.name: p.read_text(encoding="utf-8") for p in sorted(CLASS.glob(f"*/{notebook}/{grade_id}.md"))}


def generated(answers, count=300, seed=0):
    rng, bases = random.Random(seed), sorted(answers)
    return {f"gen-{n:03d}": vary(answers[bases[n % len(bases)]], rng) for n in range(count)}


def sample_class_table():
    """Per question: answers, decisions, suggestions equal to the expected items, keystrokes."""
    with open(CLASS / "expected_rubric.csv", newline="", encoding="utf-8") as file:
        expected = {(r["grade_id"], r["student"]): r["items"].split() for r in csv.DictReader(file)}
    rows = []
    for notebook, q in questions():
        answers = sample_answers(notebook, q.grade_id)
        full = {str(i.key) for i in q.rubric if i.points >= 1}
        suggested = {s: [str(i.key) for i in q.rubric if i.suits(t)] for s, t in answers.items()}
        found, _ = groups_for(sorted(answers.items()), {})
        grouped = {s for g in found for s in g.members}
        keys = sum(keys_for(expected[q.grade_id, s], suggested[s], full) for s in answers if s not in grouped)
        for group in found:  # one mark for all if the grader gives them all the same, else split (x) and each alone
            wanted = {tuple(sorted(expected[q.grade_id, s])) for s in group.members}
            shown = [k for k in suggested[group.members[0]] if all(k in suggested[s] for s in group.members)]
            keys += keys_for(wanted.pop(), shown, full) if len(wanted) == 1 else \
                1 + sum(keys_for(expected[q.grade_id, s], suggested[s], full) for s in group.members)
        one_by_one = sum(keys_for(expected[q.grade_id, s], [], full) for s in answers)
        rows.append((q.grade_id, len(answers), len(found) + len(answers) - len(grouped),
                     sum(sorted(suggested[s]) == sorted(expected[q.grade_id, s]) for s in answers), keys, one_by_one))
    return rows


def open_question_seconds(tmp, notebook, q, answers):
    """Seconds the view takes to answer for question `q` with `answers` ({student: text}) in a gradebook of
    its own (sqlite), each answer in an autograded notebook as autograde writes it."""
    import nbformat
    from nbgrader.api import Gradebook

    from grade_by_question.handlers import question_json

    folder = Path(tmp) / f"open-{q.grade_id}"
    url = f"sqlite:///{folder / 'gradebook.db'}"
    folder.mkdir()
    with Gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(notebook, ASSIGNMENT)
        gb.add_grade_cell(q.grade_id, notebook, ASSIGNMENT, max_score=q.points, cell_type="markdown")
        gb.add_solution_cell(q.grade_id, notebook, ASSIGNMENT)
        for student, text in answers.items():
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            cell = nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {"grade_id": q.grade_id, "solution": True}})
            nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / f"{student}.ipynb")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        page = question_json(url, q, ASSIGNMENT, notebook, lambda student: folder / f"{student}.ipynb")
        times.append(time.perf_counter() - started)
    assert len(page["answers"]) == len(answers)
    return statistics.median(times), len(page["groups"])


def copying_on(tmp, hand_ins):
    """The copying report's findings and seconds on `hand_ins` (Samples) in a course of its own."""
    course = Path(tmp) / f"copying-{len(hand_ins)}"
    for folder in ["source", "release"]:
        shutil.copytree(ROOT / folder / ASSIGNMENT, course / folder / ASSIGNMENT)
    for sample in hand_ins:
        build_submission(sample, course / "source" / ASSIGNMENT, course / "release" / ASSIGNMENT,
                         course / "submitted" / sample.name / ASSIGNMENT)
    started = time.perf_counter()
    findings = copying.find(course)
    return findings, time.perf_counter() - started


def section_7(tmp):
    print("\n7. Grading written answers by question (grade-by-question view), sample class and a generated class of 300")
    rows = sample_class_table()
    print("   question        answers  decisions  suggested = expected  keystrokes")
    for grade_id, answers, decisions, agree, keys, _ in rows:
        print(f"   {grade_id:<15} {answers:7d}  {decisions:9d}  {agree:12d} ({agree / answers:4.0%})  {keys:10d}")
    answers, decisions, agree, keys, one_by_one = (sum(r[i] for r in rows) for i in range(1, 6))
    print(f"   sample class: {decisions} decisions for {answers} answers; suggestions right for {agree} ({agree / answers:.0%}); "
          f"{keys / answers:.2f} keystrokes per answer ({one_by_one / answers:.2f} one by one, without groups or suggestions)")
    worst_groups = worst_open = 0.0
    generated_decisions, generated_answers = 0, 0
    for notebook, q in questions():
        answers = generated(sample_answers(notebook, q.grade_id))
        started = time.perf_counter()
        found, _ = groups_for(sorted(answers.items()), {})
        worst_groups = max(worst_groups, time.perf_counter() - started)
        generated_answers += len(answers)
        generated_decisions += len(found) + len(answers) - sum(len(g.members) for g in found)
        if q.grade_id == "q1_importance":
            worst_open, shown_groups = open_question_seconds(tmp, notebook, q, answers)
    print(f"   generated class: {generated_decisions / 11:.0f} decisions per question for 300 answers ({generated_decisions} "
          f"for {generated_answers}); a question's groups made in at most {worst_groups:.2f} s; Part 1 Q1 opens in "
          f"{worst_open:.2f} s ({shown_groups} groups)")
    planted = [Sample(p.name, "release", answers=p) for p in sorted((SAMPLES / "copying").iterdir()) if p.is_dir()]
    findings, seconds = copying_on(tmp, read_class() + planted)
    copiers = {p.name for p in planted}
    found_planted = [f for f in findings if set(f["students"]) & copiers]
    false_alarms = [f for f in findings if not set(f["students"]) & copiers and f["kind"] in ("written pair", "cluster", "code")]
    with open(SAMPLES / "copying" / "expected_report.csv", newline="", encoding="utf-8") as file:
        planted_expected = [r for r in csv.DictReader(file) if set(r["students"].split()) & copiers]
    print(f"   copying report: {len(found_planted)} of the {len(planted_expected)} planted findings, {len(false_alarms)} "
          f"pairs, clusters or code among the 32 honest students, in {seconds:.1f} s for {len(read_class()) + len(planted)} hand-ins")
    big = [Sample(f"gen-{n:03d}", "solutions", answers=CLASS / f"student-{n % 32 + 1:02d}") for n in range(300)]
    findings, seconds = copying_on(tmp, big)
    print(f"   copying report on 300 hand-ins made from 32 (everything is a copy): {len(findings)} findings in {seconds:.1f} s")
