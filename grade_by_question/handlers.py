"""The grading page and its JSON API, on the Jupyter server that runs nbgrader's Formgrader (whose
course settings it uses: the course folder, the gradebook URL)."""
import functools
import json
import os
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from nbgrader.api import Gradebook, MissingEntry
from tornado import web

from course.markdown import render
from course.words import normalise
from grade_by_question import answers, groups
from grade_by_question.marks import Conflict, Marks, apply, feedback_comment, score, write_to_gradebook

STATIC = Path(__file__).with_name("static")
PREFIX = "/grade-by-question"
# The page runs nothing but its own script, loads nothing from elsewhere, and shows student text as data
POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
         "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
UNKNOWN = "Not in the gradebook"  # (the reason of a 404 for an assignment or notebook named in the URL)


class Base(JupyterHandler):
    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Content-Security-Policy", POLICY)

    @property
    def coursedir(self):
        """nbgrader's course settings as the Formgrader loaded them (nbgrader_config.py), loaded once."""
        if "grade_by_question_coursedir" not in self.settings:
            formgrader = self.settings.get("nbgrader_formgrader")
            if formgrader is None:
                raise web.HTTPError(503, "nbgrader's Formgrader is not enabled on this server")
            formgrader.coursedir._load_config(formgrader.load_config())
            self.settings["grade_by_question_coursedir"] = formgrader.coursedir
        return self.settings["grade_by_question_coursedir"]

    def write_json(self, value, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))

    def source_notebook(self, notebook):
        """The source notebook named in the URL, once the gradebook knows it as one of the assignment's."""
        assignment = self.assignment
        with Gradebook(self.coursedir.db_url) as gb:
            try:
                gb.find_notebook(notebook, assignment)
            except MissingEntry:
                raise web.HTTPError(404, f"the gradebook has no notebook {notebook} in {assignment}", reason=UNKNOWN) from None
        path = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"
        if not path.is_file():
            raise web.HTTPError(404, f"no source notebook {notebook}")
        return path

    def autograded_notebook(self, student, notebook):
        """A student's autograded notebook, or None: a student id comes from the gradebook, and still may
        not lead out of autograded/ (an id such as `..` would)."""
        root = Path(self.coursedir.format_path(self.coursedir.autograded_directory, ".", ".")).resolve()
        path = Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment)) / f"{notebook}.ipynb"
        return path if path.resolve().is_relative_to(root) else None

    def question_answer(self, gb, answer_id, notebook, grade_id):
        """nbgrader's grade `answer_id`, once it is an answer to question `grade_id` of `notebook`, and its text."""
        try:
            grade = gb.find_grade_by_id(str(answer_id))
        except MissingEntry:
            raise web.HTTPError(404) from None
        if grade.name != grade_id or grade.notebook.notebook.name != notebook:
            raise web.HTTPError(400, "that answer is not one of this question's")
        return grade, answers.answer_text(self.autograded_notebook(grade.notebook.student.id, notebook), grade_id)

    def written_question(self, notebook, grade_id):
        """The question `grade_id` of a source notebook, as source/ holds it now (rubric included)."""
        q = answers.question(self.source_notebook(notebook), grade_id)
        if q is None:
            raise web.HTTPError(404, f"no written question {grade_id} in {notebook}")
        return q

    @functools.cached_property  # (a handler serves one request)
    def assignment(self):
        """The assignment asked for (`?assignment=`, default weight_init), once the gradebook knows it: its
        name goes into paths."""
        name = self.get_argument("assignment", None) or os.environ.get("WEIGHT_INIT_ASSIGNMENT", "weight_init")
        with Gradebook(self.coursedir.db_url) as gb:
            try:
                gb.find_assignment(name)
            except MissingEntry:
                raise web.HTTPError(404, f"the gradebook has no assignment {name!r}", reason=UNKNOWN) from None
        return name


def suggested(rubric, text):
    """The titles of the rubric items whose `*Matches:*` lines `text` meets (course.questions)."""
    return [item.title for item in rubric if item.suits(text)]


class Page(Base):
    @web.authenticated
    def get(self, name="index.html"):
        if name not in {"index.html", "view.js", "view.css"}:
            raise web.HTTPError(404)
        self.set_header("Content-Type", {"html": "text/html", "js": "text/javascript", "css": "text/css"}[name.rsplit(".", 1)[1]])
        self.set_header("Cache-Control", "no-store")
        self.xsrf_token  # noqa: B018  (sets the _xsrf cookie that the page sends back with its changes)
        self.finish((STATIC / name).read_bytes())


class CopyingReport(Base):
    @web.authenticated
    def get(self):
        """The course's copying report (`python -m tools.copying`), as that command wrote it: a page without
        script, whose students' text is escaped; served with a policy that runs nothing either."""
        path = Path(self.coursedir.root) / "copying_report.html"
        if not path.is_file() or path.is_symlink():
            raise web.HTTPError(404, "no copying report yet: run `python -m tools.copying` in the course folder",
                                reason="No copying report yet")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'")
        self.set_header("Content-Type", "text/html")
        self.set_header("Cache-Control", "no-store")
        self.finish(path.read_bytes())


class Questions(Base):
    @web.authenticated
    def get(self):
        """Every written question of the assignment, with how many of its answers are graded."""
        coursedir, result = self.coursedir, []
        source = Path(coursedir.format_path(coursedir.source_directory, ".", self.assignment))
        with Gradebook(coursedir.db_url) as gb:
            for path in sorted(source.glob("*.ipynb")):
                questions = answers.all_questions(path)
                if not questions:
                    continue
                try:
                    submissions = gb.notebook_submissions(path.stem, self.assignment)
                except MissingEntry:
                    submissions = []
                for q in questions:
                    grades = [g for nb in submissions for g in nb.grades if g.name == q.grade_id]
                    result.append({"notebook": path.stem, "grade_id": q.grade_id, "title": q.question.splitlines()[0].lstrip("# "),
                                   "points": q.points, "answers": len(grades),
                                   "graded": sum(g.manual_score is not None for g in grades)})
        self.write_json(result)


class Question(Base):
    @web.authenticated
    def get(self, notebook, grade_id):
        """A question: prompt, model answer, rubric, every answer with its mark, in anonymous order, and the
        groups of alike answers (grade_by_question/groups.py); who wrote each answer only with `?names=1`
        (what the page fetches when the grader asks), so that anonymous grading does not rest on the grader
        not looking at the page's data."""
        q = self.written_question(notebook, grade_id)
        self.write_json(question_json(self.coursedir.db_url, q, self.assignment, notebook,
                                      lambda student: self.autograded_notebook(student, notebook),
                                      with_names=self.get_argument("names", "0") == "1"))


def question_json(db_url, q, assignment, notebook, autograded, with_names=False):
    """What the view shows of question `q` (a `WrittenQuestion` of `notebook`): prompt, model answer, rubric,
    each answer (read from `autograded(student)`'s notebook) with its mark and suggested items, and the groups."""
    grade_id = q.grade_id
    with Gradebook(db_url) as gb:
        rows = []
        for nb in gb.notebook_submissions(notebook, assignment):
            grade = next((g for g in nb.grades if g.name == grade_id), None)
            if grade is None:
                continue
            student = nb.student.id
            name = " ".join(filter(None, [nb.student.first_name, nb.student.last_name])) or student
            comment = next((c.manual_comment for c in nb.comments if c.name == grade_id), None)
            rows.append({"grade_id": grade.id, "student": student, "name": name,
                         "text": answers.answer_text(autograded(student), grade_id),
                         "manual_score": grade.manual_score, "manual_comment": comment or "", "feedback": comment})
    with Marks(db_url) as marks:
        saved = marks.read([r["grade_id"] for r in rows])
        decisions = marks.read_groups([r["grade_id"] for r in rows])
    order = answers.anonymous_order([r["student"] for r in rows], f"{assignment}/{notebook}/{grade_id}")
    position = {student: index for index, student in enumerate(order)}
    rows.sort(key=lambda r: position[r["student"]])
    found, left = groups.groups_for([(r["grade_id"], r["text"]) for r in rows], decisions)
    group_of = {answer: g.key for g in found for answer in g.members}
    model_words = normalise(q.answer)  # (an answer that is the model answer, word for word, says so)
    result = []
    for number, row in enumerate(rows, 1):
        mark = saved.get(row["grade_id"])
        # graded with an item whose points or comment changed in source/ since
        stale = mark is not None and row["manual_score"] is not None and (
            abs(score(q.rubric, mark["items"], mark["adjustment"], q.points) - row["manual_score"]) > 1e-9
            or feedback_comment(q.rubric, mark["items"], mark["comment"]) != row["manual_comment"])
        result.append({
            "grade_id": row["grade_id"], "number": number,
            **({"student": row["student"], "name": row["name"]} if with_names else {}),
            "html": render(row["text"]), "words": (words := normalise(row["text"])),
            "is_model_answer": bool(model_words) and words == model_words,
            "suggested": suggested(q.rubric, row["text"]),
            "group": group_of.get(row["grade_id"]), "left_group": row["grade_id"] in left,
            "score": row["manual_score"], "feedback": row["feedback"], "items": mark["items"] if mark else [],
            "adjustment": mark["adjustment"] if mark else 0.0, "comment": mark["comment"] if mark else "",
            "version": mark["version"] if mark else 0, "stale": stale})
    return {
        "notebook": notebook, "grade_id": grade_id, "points": q.points,
        "prompt": render(q.question), "model_answer": render(q.answer),
        "notes": render(q.notes) if q.notes else "",
        "rubric": [{"key": i.key, "points": i.points, "title": i.title, "comment": render(i.comment),
                    "highlight": "|".join(i.matches)} for i in q.rubric],
        "answers": result, "groups": [g.as_json() for g in found]}


class Mark(Base):
    @web.authenticated
    def put(self, notebook, grade_id, answer_id):
        """Save the items, adjustment and comment of one answer; 409 if another grader saved it first."""
        coursedir, body = self.coursedir, json.loads(self.request.body or b"{}")
        q = self.written_question(notebook, grade_id)
        titles = [t for t in body.get("items", []) if t in {i.title for i in q.rubric}]
        adjustment, comment = float(body.get("adjustment", 0.0)), str(body.get("comment", ""))
        with Gradebook(coursedir.db_url) as gb:
            _, text = self.question_answer(gb, answer_id, notebook, grade_id)
            with Marks(coursedir.db_url) as marks:
                try:
                    mark = marks.save(answer_id, titles, adjustment, comment, int(body.get("version", 0)),
                                      grader=getattr(self.current_user, "username", ""), suggested=suggested(q.rubric, text))
                except Conflict as conflict:
                    return self.write_json({"conflict": True, "current": conflict.current}, status=409)
            points = score(q.rubric, titles, adjustment, q.points)
            write_to_gradebook(gb, answer_id, points, feedback_comment(q.rubric, titles, comment))
        self.write_json({**mark, "score": points})


class BatchMarks(Base):
    @web.authenticated
    def post(self, notebook, grade_id):
        """Change several answers of this question in one transaction: a group graded at once, answers taken out
        of a group, or an undo (`marks.apply`). 409 with the current marks if one was saved meanwhile."""
        coursedir, body = self.coursedir, json.loads(self.request.body or b"{}")
        q = self.written_question(notebook, grade_id)
        titles = {i.title for i in q.rubric}
        changes = []
        with Marks(coursedir.db_url):  # (creates the kit's tables, for a course's first mark, before sqlite is read)
            pass
        with Gradebook(coursedir.db_url) as gb:
            for change in body.get("changes", []):
                # (the text the grader sees now: what the items were suggested for, and decided on)
                grade, text = self.question_answer(gb, change.get("grade_id"), notebook, grade_id)
                clean = {"grade_id": grade.id, "version": int(change.get("version", 0))}
                if "mark" in change:
                    mark = change["mark"]
                    clean["mark"] = None if mark is None else {
                        "items": [t for t in mark.get("items", []) if t in titles],
                        "adjustment": float(mark.get("adjustment", 0.0)), "comment": str(mark.get("comment", ""))}
                    if mark is None:  # (an undo: nbgrader's score and comment as they were)
                        clean["score"] = None if change.get("score") is None else min(max(float(change["score"]), 0.0), float(q.points))
                        clean["feedback"] = None if change.get("feedback") is None else str(change["feedback"])
                if clean.get("mark") is not None:
                    clean["suggested"] = suggested(q.rubric, text)
                if "decision" in change:
                    decision = change["decision"]
                    if decision is not None and decision.get("how") not in ("member", "single"):
                        raise web.HTTPError(400, "a decision is `member` of a group or `single`")
                    clean["decision"] = None if decision is None else {
                        "how": decision["how"], "key": str(decision.get("key", ""))[:64], "text_hash": groups.text_hash(text)}
                changes.append(clean)
            try:
                done = apply(gb, changes, q.rubric, q.points, grader=getattr(self.current_user, "username", ""))
            except Conflict as conflict:
                return self.write_json({"conflict": True, "current": conflict.current}, status=409)
        self.write_json({"marks": done})


class Rescore(Base):
    @web.authenticated
    def post(self, notebook, grade_id):
        """Give every answer graded with the rubric its score and comment under the rubric as it is now."""
        coursedir = self.coursedir
        q = self.written_question(notebook, grade_id)
        changed = 0
        with Gradebook(coursedir.db_url) as gb:
            ids = [g.id for nb in gb.notebook_submissions(notebook, self.assignment) for g in nb.grades if g.name == grade_id]
            with Marks(coursedir.db_url) as marks:
                saved = marks.read(ids)
            for answer_id, mark in saved.items():
                points = score(q.rubric, mark["items"], mark["adjustment"], q.points)
                grade = gb.find_grade_by_id(answer_id)
                text = feedback_comment(q.rubric, mark["items"], mark["comment"])
                if grade.manual_score != points or any(c.name == grade.name and c.manual_comment != text for c in grade.notebook.comments):
                    write_to_gradebook(gb, answer_id, points, text)
                    changed += 1
        self.write_json({"rescored": changed})


def add_handlers(web_app):
    base = url_path_join(web_app.settings["base_url"], PREFIX)
    question = r"/api/questions/(?P<notebook>[\w-]+)/(?P<grade_id>[\w-]+)"
    web_app.add_handlers(".*$", [
        (base, Page), (base + "/", Page), (base + r"/(?P<name>view\.(?:js|css))", Page),
        (base + "/copying", CopyingReport),
        (base + "/api/questions", Questions),
        (base + question, Question),
        (base + question + r"/answers/(?P<answer_id>[\w-]+)", Mark),
        (base + question + "/marks", BatchMarks),
        (base + question + "/rescore", Rescore),
    ])
