"""Grade written answers by question, with the rubric: a page of the instructor's Jupyter server, beside
nbgrader's Formgrader, at /grade-by-question.

Pick a question; see its prompt, the model answer and the rubric (from source/, course.questions); then
every student's answer in turn, rendered as Markdown with math (MathML, nothing fetched). Keys 1-9 apply
rubric items, `f` gives full marks and `0` no credit (each saves and moves on), Enter saves and moves on.
Scores and comments go to nbgrader's gradebook (`marks.py`), so the Formgrader, exports and feedback agree.

    handlers.py    the page and its JSON API (tornado, under the server's authentication)
    answers.py     a question's answers: from the gradebook and the autograded notebooks, rendered safely
    marks.py       the rubric items applied to each answer, kept beside nbgrader's tables; scores from them
    static/        the page: plain HTML, CSS and JavaScript, no build step
"""


def _jupyter_server_extension_points():
    return [{"module": "grade_by_question"}]


def _load_jupyter_server_extension(server_app):
    from grade_by_question.handlers import add_handlers

    add_handlers(server_app.web_app)
    server_app.log.info("Grade by question: %s", "/grade-by-question")
