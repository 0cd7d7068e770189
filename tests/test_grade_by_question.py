"""The grader's chair: the sample class's written answers graded by question in a real browser, with the
keyboard only (grade_by_question/). Part 1's first question for all 32 students, with the rubric items
that samples/class/expected_rubric.csv names; then the gradebook holds exactly those scores and the
items' comments; an item whose points change in source/ re-scores every answer graded with it after a
confirmation that says how many; the student's feedback shows the items; a second grader's stale save
is refused, not written over the first. The marks' table and its writes to nbgrader's gradebook are also
checked on a PostgreSQL gradebook (a server the test starts), without a browser."""
import contextlib
import csv
import json
import re
import urllib.error
import urllib.request

import nbformat
import pytest

from browser import browser, jupyter_lab  # noqa: F401  (`browser` is a fixture)
from course import ASSIGNMENT
from course.nbgrader_cli import nbgrader
from course.postgres import postgres_server
from course.questions import RubricItem, written_questions
from grade_by_question.marks import Conflict, Marks, feedback_comment, score, write_to_gradebook
from grading_engine.cluster import grade_class
from tools.grading import CLASS, make_course, read_class, submit

NOTEBOOK, QUESTION = "part1_understanding", "q1_importance"


def expected():
    with open(CLASS / "expected_rubric.csv", newline="", encoding="utf-8") as file:
        return {r["student"]: r for r in csv.DictReader(file) if r["notebook"] == NOTEBOOK and r["grade_id"] == QUESTION}


@pytest.fixture(scope="module")
def class_course(tmp_path_factory):
    """The sample class's Part 1 autograded, and a Jupyter server on it. (Its code is left as the release
    has it, so that its tests fail at once: only the written answers matter here.)"""
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    for student in read_class(notebooks=[NOTEBOOK], starts_from="release"):
        submit(student, course)
    grade_class(course_root=course, workers=2, dashboard="127.0.0.1:0")
    with jupyter_lab(course, log=tmp_path_factory.mktemp("logs") / "jupyter.log") as lab:
        yield course, lab


def gradebook_marks(course):
    """{student: (manual score, manual comment)} of the question's cell."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        result = {}
        for nb in gb.notebook_submissions(NOTEBOOK, ASSIGNMENT):
            grade = next(g for g in nb.grades if g.name == QUESTION)
            comment = next(c for c in nb.comments if c.name == QUESTION)
            result[nb.student.id] = (grade.manual_score, comment.manual_comment)
        return result


def rubric(course):
    return next(q for q in written_questions(course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb") if q.grade_id == QUESTION).rubric


def gradebook_state(course):
    """{student: (manual score, manual comment, needs manual grade)} of the question's cell."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {nb.student.id: (g.manual_score, c.manual_comment, g.needs_manual_grade)
                for nb in gb.notebook_submissions(NOTEBOOK, ASSIGNMENT)
                for g in nb.grades if g.name == QUESTION for c in nb.comments if c.name == QUESTION}


def answer_ids(course):
    """{student: nbgrader's id of their answer to the question}"""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {nb.student.id: g.id for nb in gb.notebook_submissions(NOTEBOOK, ASSIGNMENT) for g in nb.grades if g.name == QUESTION}


def presses_for(wanted, shown, full):
    """The fewest keys that give `wanted` items when `shown` ones are applied (suggested): Enter confirms, f gives
    full marks, 0 none, else each item to change, then Enter."""
    wanted, shown = set(wanted), set(shown)
    return ["0"] if not wanted else ["Enter"] if wanted == shown else ["f"] if wanted == full else sorted(wanted ^ shown) + ["Enter"]


def test_a_question_graded_for_the_class_with_the_keyboard(browser, class_course):
    """The class's Part 1 Q1, keyboard only: the blank answers as one group graded 0 with one key (and none of
    them opened alone), undone and done again; the two identical answers (the model answer, pasted) as a group
    graded with items, then one of them changed alone; then every other answer in turn. The gradebook ends
    with exactly the expected scores and the items' comments."""
    course, lab = class_course
    page, want = browser.page, expected()
    page.goto(f"{lab.url}/login?next=/grade-by-question/")
    page.fill("input#password_input", lab.token)
    page.click("button#login_submit")
    page.wait_for_selector(f"tr.row:has-text('{NOTEBOOK}')")
    browser.screenshot("questions")
    page.click(f"tr[data-key='{NOTEBOOK}/{QUESTION}']")
    page.wait_for_selector("#answer-title:has-text('Group: 2 blank answers')")
    assert "32 of 32 answers left" in page.inner_text("#progress"), page.inner_text("#progress")
    assert "student-" not in page.inner_text("main#grading"), "names are shown before the grader asks"
    items = rubric(course)
    full = {str(i.key) for i in items if i.points >= 1}
    blank = [s for s, r in want.items() if "blank" in r["why"].lower()]
    assert len(blank) == 2, blank
    before = gradebook_state(course)
    browser.screenshot("the blank answers as one group")
    page.keyboard.press("n")  # names shown, so that the test knows whose answer it grades
    keys, titles, confirmed = 1, [], []

    # The blank group: one key grades both 0; u puts back what the gradebook had; 0 again
    page.keyboard.press("0")
    keys += 1
    page.wait_for_selector("#answer-title:has-text('Group: 2 identical answers')")
    assert "1 of 2 groups" in page.inner_text("#progress") and "30 of 32 answers left" in page.inner_text("#progress")
    assert all(gradebook_state(course)[s][:2] == (0.0, "") for s in blank), gradebook_state(course)
    page.keyboard.press("u")
    page.wait_for_selector("#status:has-text('Undone')")
    page.wait_for_selector("#answer-title:has-text('Group: 2 blank answers')")
    assert all(gradebook_state(course)[s] == before[s] for s in blank), (gradebook_state(course), before)
    page.keyboard.press("0")
    page.wait_for_selector("#answer-title:has-text('Group: 2 identical answers')")
    assert all(gradebook_state(course)[s][0] == 0.0 for s in blank)

    # The identical group (the model answer, pasted twice): full marks for both in one save, with the items'
    # comments; then one of them opened and changed alone, and put back
    pasted = [s for s, r in want.items() if "model answer" in r["why"].lower()]
    assert len(pasted) == 2 and all(set(want[s]["items"].split()) == full for s in pasted), pasted
    browser.screenshot("the identical answers as one group")
    page.keyboard.press("f")
    keys += 1
    page.wait_for_selector("#status:has-text('Saved 2 answers of the group: 2 each')")
    state = gradebook_state(course)
    assert {state[s][0] for s in pasted} == {2.0} and all(i.comment in state[s][1] for s in pasted for i in items if i.points >= 1), state
    page.wait_for_selector("#answer-title:has-text('Answer ')")
    first_single = page.inner_text("#answer-title")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#answer-title:has-text('Group: 2 identical answers')")
    page.keyboard.press("o")
    page.wait_for_selector("#answer-title:has-text('student-')")
    alone = re.search(r"student-\d+", page.inner_text("#answer-title")).group(0)
    assert alone in pasted and "alone" in page.inner_text("#note")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status:has-text('Saved answer')")
    state = gradebook_state(course)
    assert state[alone][0] == 1.0 and [state[s][0] for s in pasted if s != alone] == [2.0], state
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_function("() => /^Saved answer \\d+: 2$/.test(document.querySelector('#status').textContent)")
    page.keyboard.press("o")
    page.wait_for_selector("#answer-title:has-text('Group: 2 identical answers')")
    page.keyboard.press("Enter")  # (not counted: where the grader already was)
    page.wait_for_selector(f"#answer-title:has-text('{first_single}')")

    page.wait_for_selector("#answer-title:has-text('student-')")
    for number in range(28):
        title = page.inner_text("#answer-title")
        titles.append(title)
        assert title.startswith("Answer "), title
        student = re.search(r"student-\d+", title).group(0)
        shown = [k.strip() for k in page.locator("#rubric li.applied .key").all_inner_texts()]
        presses = presses_for(want[student]["items"].split(), shown, full)
        if presses == ["Enter"] and set(shown) not in ({*full}, set()):
            confirmed.append(student)  # a partial mark suggested, confirmed with one key
            if len(confirmed) == 1:
                assert page.locator("#answer mark").count(), "the words that suggested the items are not marked"
                browser.screenshot("items suggested, their words marked: Enter confirms")
        if number == 5:
            browser.screenshot("an answer with items applied, before saving")
        for key in presses:
            page.keyboard.press(key)
        keys += len(presses)
        if number < 27:
            page.wait_for_function("t => document.querySelector('#answer-title').textContent !== t", arg=title)
    page.wait_for_selector("#progress:has-text('0 of 32 answers left')")
    browser.screenshot("the last answer graded")
    assert not any(s in t for s in blank for t in titles), "a blank answer was opened on its own"
    marks = gradebook_marks(course)
    by_key = {str(i.key): i for i in items}
    for student, row in want.items():
        score, comment = marks[student]
        assert score == float(row["score"]), f"{student}: {score}, expected {row['score']}"
        for key in row["items"].split():
            assert by_key[key].comment in comment, f"{student}: the comment lacks item {key}'s"
    print(f"{keys} keystrokes for {len(want)} answers: {keys / len(want):.2f} per answer; {len(confirmed)} partial "
          "marks suggested and confirmed with Enter")
    assert keys / len(want) <= 1.25 and confirmed
    with Marks(f"sqlite:///{course / 'gradebook.db'}") as saved:  # the marks table says what was suggested
        ids = answer_ids(course)
        mark = saved.read([ids[confirmed[0]]])[ids[confirmed[0]]]
        assert mark["suggested"] and json.loads(mark["suggested"]) == mark["items"] and mark["items"], mark

    # Formulas render as MathML, from the server, with nothing fetched: Q3's rubric has one
    page.keyboard.press("q")
    page.click(f"tr[data-key='{NOTEBOOK}/q3_variance']")
    page.wait_for_selector("#rubric math")
    assert "$" not in page.inner_text("#rubric"), page.inner_text("#rubric")
    browser.screenshot("a rubric with formulas")
    page.goto(f"{lab.url}/grade-by-question/#{NOTEBOOK}/{QUESTION}")
    page.wait_for_selector("#answer-title")

    # The rubric changes in source/: item 2 is worth half a point less; the view says how many answers
    # that concerns, and re-scores them once the grader confirms
    source = course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == QUESTION)
    cell.source = cell.source.replace(f"2. **+1 {by_key['2'].title}.**", f"2. **+0.5 {by_key['2'].title}.**")
    nbformat.write(nb, source)
    concerned = [s for s, r in want.items() if "2" in r["items"].split()]
    page.reload()
    page.wait_for_selector("#stale:not([hidden])")
    assert page.inner_text("#stale").startswith(f"{len(concerned)} answers"), page.inner_text("#stale")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.keyboard.press("r")
    page.wait_for_selector("#status:has-text('Rescored')")
    browser.screenshot("rescored after the rubric changed")
    assert dialogs and f"Rescore {len(concerned)} answers" in dialogs[0]
    points = {**{key: item.points for key, item in by_key.items()}, "2": by_key["2"].points - 0.5}
    marks = gradebook_marks(course)
    for student in concerned:
        score = min(max(sum(points[key] for key in want[student]["items"].split()), 0), 2)
        assert marks[student][0] == score, f"{student}: {marks[student][0]}, expected {score} after the change"

    # What the student sees: the items applied, with their points and comments, in their feedback
    student = concerned[0]
    nbgrader("generate_feedback", ASSIGNMENT, f"--student={student}", "--force", course_root=course)
    feedback = (course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    assert f"+0.5 {by_key['2'].title}" in feedback and "You name a concrete failure" in feedback


def test_a_second_graders_stale_save_is_refused(class_course):
    """Two graders load the same answer; the first saves; the second's save, made from the old version,
    gets 409 and the first grader's mark, and the gradebook keeps the first's score. (And the API names
    the students only when asked.)"""
    course, lab = class_course
    base = f"{lab.url}/grade-by-question/api/questions/{NOTEBOOK}/{QUESTION}"

    def call(method, url, body=None):
        request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    status, question = call("GET", base)
    assert status == 200 and not {"student", "name"} & set(question["answers"][0]), "the API names students unasked"
    status, question = call("GET", f"{base}?names=1")
    answer = question["answers"][0]
    titles = [i["title"] for i in question["rubric"]]
    first = call("PUT", f"{base}/answers/{answer['grade_id']}", {"items": titles[:1], "version": answer["version"]})
    second = call("PUT", f"{base}/answers/{answer['grade_id']}", {"items": [], "version": answer["version"]})
    assert first[0] == 200 and second[0] == 409, (first, second)
    assert second[1]["current"]["items"] == titles[:1]
    assert gradebook_marks(course)[answer["student"]][0] == first[1]["score"]


@pytest.fixture(params=["sqlite", "postgresql"])
def one_answer_gradebook(request, tmp_path):
    """A gradebook (sqlite, or a PostgreSQL server of its own) holding one submitted written answer, as
    autograde leaves it (built with nbgrader's API: nothing here needs a notebook run); yields (url, id)."""
    from nbgrader.api import Gradebook

    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'gradebook.db'}" if request.param == "sqlite" else stack.enter_context(postgres_server())
        with Gradebook(url) as gb:
            gb.add_assignment(ASSIGNMENT)
            gb.add_notebook(NOTEBOOK, ASSIGNMENT)
            gb.add_grade_cell(QUESTION, NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="markdown")
            gb.add_solution_cell(QUESTION, NOTEBOOK, ASSIGNMENT)
            gb.add_student("student-01")
            gb.add_submission(ASSIGNMENT, "student-01")
            grade_id = gb.find_grade(QUESTION, NOTEBOOK, ASSIGNMENT, "student-01").id
        yield url, grade_id


def test_marks_are_versioned_and_reach_nbgraders_gradebook(one_answer_gradebook):
    """In either database: is a save made from a version another grader has saved over refused (with
    their mark), also for two first saves at once; and do the score and the items' comments land in
    nbgrader's own grade and comment of the cell?"""
    from nbgrader.api import Gradebook

    url, answer = one_answer_gradebook
    rubric = [RubricItem(1, 1.0, "Names the failure", "You name it."), RubricItem(2, 1.0, "Explains why", "You say why."),
              RubricItem(3, -0.5, "Variance as std", "That is the standard deviation.")]
    with Marks(url) as marks:
        first = marks.save(answer, ["Names the failure"], 0, "", version=0, grader="ta-1")
        with pytest.raises(Conflict) as refused:  # a second grader's first save of the same answer
            marks.save(answer, [], 0, "", version=0, grader="ta-2")
        assert refused.value.current["items"] == ["Names the failure"] and refused.value.current["grader"] == "ta-1"
        second = marks.save(answer, ["Names the failure", "Explains why", "Variance as std"], 0.25, "Well argued.",
                            version=first["version"], grader="ta-1")
        with pytest.raises(Conflict):  # made from the first version, which is gone
            marks.save(answer, [], 0, "", version=first["version"], grader="ta-2")
        assert marks.read([answer])[answer]["version"] == second["version"] == 2
    points = score(rubric, second["items"], second["adjustment"], 2)
    assert points == 1.75
    with Gradebook(url) as gb:
        write_to_gradebook(gb, answer, points, feedback_comment(rubric, second["items"], second["comment"]))
    with Gradebook(url) as gb:  # read back by a gradebook of its own, as the Formgrader and export would
        grade = gb.find_grade(QUESTION, NOTEBOOK, ASSIGNMENT, "student-01")
        comment = gb.find_comment(QUESTION, NOTEBOOK, ASSIGNMENT, "student-01")
        assert (grade.score, grade.needs_manual_grade) == (1.75, False)
        assert comment.comment.splitlines() == ["- **+1 Names the failure.** You name it.", "- **+1 Explains why.** You say why.",
                                                "- **-0.5 Variance as std.** That is the standard deviation.", "", "Well argued."]


@pytest.mark.parametrize("path", [f"api/questions/{NOTEBOOK}/{QUESTION}?assignment=..%2F..%2F..%2Fetc",
                                  "api/questions?assignment=..%2Fsource", f"api/questions/part9_unknown/{QUESTION}"])
def test_names_in_the_url_are_checked_against_the_gradebook(class_course, path):
    """Does the view answer 404 for an assignment or notebook the gradebook does not know, before either
    name reaches a path?"""
    _, lab = class_course
    request = urllib.request.Request(f"{lab.url}/grade-by-question/{path}", headers={"Authorization": f"token {lab.token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert (refused.value.code, refused.value.reason) == (404, "Not in the gradebook"), path


def test_groups_blank_identical_and_near_answers():
    """Which answers does the view put together, and what do graders' decisions change? Blank (empty, spaces, the
    placeholder in any case), identical once Markdown, case and punctuation are set aside, and near-identical
    (reordered sentences, a typo) proposed; a short answer alike to another is not; an answer taken out stays
    out, one graded with a group stays in it, and one whose text changed since leaves it."""
    from grade_by_question.groups import groups_for, text_hash

    long = "With zero init every hidden unit computes the same output and gets the same gradient, so they stay equal forever."
    reordered = "They stay equal forever. With zero init every hidden unit computes the same output and gets the same gradiant, so"
    answers = [("a", ""), ("b", "  \n"), ("c", "YOUR ANSWER HERE"), ("d", "*your answer here*"),
               ("e", long), ("f", f"**{long.upper()}**"), ("g", reordered), ("h", "He for ReLU."), ("i", "He for tanh."),
               ("j", "Something else entirely, about learning rates and how Adam adapts them per parameter.")]
    found, left = groups_for(answers, {})
    assert [(g.kind, g.members, g.proposed) for g in found] == [
        ("blank", ["a", "b", "c", "d"], False), ("near", ["e", "f", "g"], True)], found
    assert left == []
    # identical answers alone (no near one) make an identical group
    found, _ = groups_for([a for a in answers if a[0] != "g"], {})
    assert [(g.kind, g.members) for g in found] == [("blank", ["a", "b", "c", "d"]), ("identical", ["e", "f"])]

    near = found_key = groups_for(answers, {})[0][1].key
    decisions = {"c": {"how": "single", "key": "", "text_hash": text_hash("YOUR ANSWER HERE")},  # taken out
                 "e": {"how": "member", "key": found_key, "text_hash": text_hash(long)},  # accepted with the group
                 "g": {"how": "member", "key": near, "text_hash": text_hash("an earlier text")}}  # changed since
    found, left = groups_for(answers, decisions)
    assert [(g.kind, g.members, g.proposed) for g in found] == [
        ("blank", ["a", "b", "d"], False), ("near", ["e", "f"], False)], found
    assert left == ["g"]


@pytest.fixture(params=["sqlite", "postgresql"])
def gradebook_url(request, tmp_path):
    with contextlib.ExitStack() as stack:
        yield f"sqlite:///{tmp_path / 'gradebook.db'}" if request.param == "sqlite" else stack.enter_context(postgres_server())


def test_a_group_is_saved_whole_or_not_at_all(gradebook_url):
    """`marks.apply`, in either database: several answers' marks and decisions in one transaction; when one
    answer was saved by another grader meanwhile, none of them changes, and the conflict names that answer;
    clearing a mark puts back nbgrader's score and comment."""
    from nbgrader.api import Gradebook

    from grade_by_question.marks import apply

    url = gradebook_url
    items = (RubricItem(1, 1.0, "Names the failure", "You name it."),)
    with Gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        gb.add_grade_cell(QUESTION, NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="markdown")
        gb.add_solution_cell(QUESTION, NOTEBOOK, ASSIGNMENT)
        ids = []
        for student in ["student-01", "student-02"]:
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            ids.append(gb.find_grade(QUESTION, NOTEBOOK, ASSIGNMENT, student).id)
    with Marks(url) as marks:
        marks.save(ids[1], [], 0, "", version=0, grader="ta-2")  # the second answer, saved by another grader
    decision = {"how": "member", "key": "same-x", "text_hash": "h"}
    group = [{"grade_id": i, "version": 0, "mark": {"items": ["Names the failure"]}, "decision": decision} for i in ids]
    with Gradebook(url) as gb:
        with pytest.raises(Conflict) as refused:
            apply(gb, group, items, 2)
    assert set(refused.value.current) == {ids[1]}
    with Gradebook(url) as gb, Marks(url) as marks:
        assert gb.find_grade_by_id(ids[0]).manual_score is None and marks.read([ids[0]]) == {} and marks.read_groups(ids) == {}
    group[1]["version"] = 1
    with Gradebook(url) as gb:
        done = apply(gb, group, items, 2)
    assert [done[i]["score"] for i in ids] == [1.0, 1.0]
    with Gradebook(url) as gb, Marks(url) as marks:
        assert [gb.find_grade_by_id(i).manual_score for i in ids] == [1.0, 1.0]
        assert {d["key"] for d in marks.read_groups(ids).values()} == {"same-x"}
    with Gradebook(url) as gb:  # undone: the first answer as autograde left it
        apply(gb, [{"grade_id": ids[0], "version": 1, "mark": None, "score": None, "feedback": None, "decision": None}], items, 2)
    with Gradebook(url) as gb, Marks(url) as marks:
        grade = gb.find_grade_by_id(ids[0])
        assert (grade.manual_score, grade.needs_manual_grade) == (None, True) and set(marks.read_groups(ids)) == {ids[1]}


def test_the_view_links_the_copying_report(class_course):
    """The view serves the course's copying report once `python -m tools.copying` has written it (404 before),
    with a policy under which nothing on it runs."""
    import subprocess
    import sys

    from course import ROOT
    from course.nbgrader_cli import user_environment

    course, lab = class_course
    url = f"{lab.url}/grade-by-question/copying"
    request = urllib.request.Request(url, headers={"Authorization": f"token {lab.token}"})
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request, timeout=30)
    assert missing.value.code == 404
    subprocess.run([sys.executable, "-m", "tools.copying", "--course", str(course)], cwd=ROOT, env=user_environment(),
                   check=True, capture_output=True, timeout=300)
    with urllib.request.urlopen(request, timeout=30) as response:
        page, policy = response.read().decode(), response.headers["Content-Security-Policy"]
    assert "<h1>Copying report" in page and policy.startswith("default-src 'none'") and "script" not in policy


def test_a_marks_table_from_before_suggestions_gains_the_column(tmp_path):
    """A course graded before suggestions were recorded keeps its marks: the table gains `suggested`."""
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE grade_by_question_marks (grade_id VARCHAR(128) PRIMARY KEY, items TEXT NOT NULL, "
                             "adjustment FLOAT NOT NULL, comment TEXT NOT NULL, version INTEGER NOT NULL, "
                             "grader VARCHAR(128) NOT NULL, updated FLOAT NOT NULL)"))
        conn.execute(sa.text("INSERT INTO grade_by_question_marks VALUES ('a', '[\"X\"]', 0, '', 1, 'ta', 0)"))
    engine.dispose()
    with Marks(url) as marks:
        assert marks.read(["a"])["a"]["items"] == ["X"]
        assert marks.save("a", ["X"], 0, "", version=1, suggested=["X"])["suggested"] == '["X"]'


@pytest.fixture(scope="module")
def copies_course(tmp_path_factory):
    """The planted copies of samples/copying/ (Part 1 only), autograded, and a Jupyter server on them: their
    answers to Part 1's first question make one proposed group of three near-identical answers."""
    from tools.grading import SAMPLES, Sample

    course = make_course(tmp_path_factory.mktemp("copies") / "course")
    for folder in sorted((SAMPLES / "copying").iterdir()):
        if folder.is_dir():
            submit(Sample(folder.name, "release", answers=folder, notebooks={NOTEBOOK}), course)
    grade_class(course_root=course, workers=2, dashboard="127.0.0.1:0")
    with jupyter_lab(course, log=tmp_path_factory.mktemp("logs") / "jupyter.log") as lab:
        yield course, lab


def go_to(page, title, most=5):
    """Press j (next, nothing saved) until the entry titled `title` shows."""
    for _ in range(most):
        if title in page.inner_text("#answer-title"):
            return
        before = page.inner_text("#answer-title")
        page.keyboard.press("j")
        page.wait_for_function("t => document.querySelector('#answer-title').textContent !== t", arg=before)
    assert title in page.inner_text("#answer-title"), page.inner_text("#answer-title")


def test_a_proposed_group_split_undone_and_accepted(browser, copies_course):
    """Keyboard only: three near-identical answers come as a proposed group, each shown in full; x splits it
    into single answers, u puts the proposal back, with its suggested items applied again; Enter confirms
    them, which accepts the group (kept in the gradebook's database), and every member gets the mark in
    nbgrader's gradebook."""
    from grade_by_question.marks import Marks

    course, lab = copies_course
    page = browser.page
    page.goto(f"{lab.url}/login?next=/grade-by-question/%23{NOTEBOOK}/{QUESTION}")
    page.fill("input#password_input", lab.token)
    page.click("button#login_submit")
    page.wait_for_selector("#answer-title:has-text('Group: 1 blank answer ')")  # (own-work's) first, then the proposal
    go_to(page, "Proposed group: 3 near-identical answers")
    assert page.locator("#answer .member").count() == 3, "a proposed group's answers are not all shown"
    browser.screenshot("a proposed group of near-identical answers")
    page.keyboard.press("x")
    page.wait_for_selector("#status:has-text('Split: 3 answers')")
    assert "Proposed group" not in page.inner_text("#answer-title")
    page.keyboard.press("u")
    page.wait_for_selector("#status:has-text('Undone')")
    page.wait_for_selector("#answer-title:has-text('Proposed group: 3 near-identical answers')")
    assert "suggested: Enter confirms" in page.inner_text("#score") and page.locator("#rubric li.applied").count() == 2
    page.keyboard.press("Enter")  # the suggested items, confirmed for the three
    page.wait_for_selector("#status:has-text('Saved 3 answers of the group: 2 each')")
    page.reload()
    page.wait_for_selector("#answer-title:has-text('Group: 1 blank answer ')")
    go_to(page, "Group: 3 near-identical answers")
    browser.screenshot("the group, accepted and graded")
    state = gradebook_state(course)
    assert sorted(s for s, (score, _, _) in state.items() if score == 2.0) == ["copier-a", "copier-b", "copier-c"], state
    with Marks(f"sqlite:///{course / 'gradebook.db'}") as marks:
        decisions = marks.read_groups(answer_ids(course).values())
    assert len(decisions) == 3 and {d["how"] for d in decisions.values()} == {"member"}, decisions
