"""The rubric items applied to each written answer, in a table of their own in the course's gradebook
database (sqlite or PostgreSQL), beside nbgrader's; and the score and comment they give, written to
nbgrader's own grade and comment of that cell, the one truth the Formgrader, exports and feedback read.

Items are kept by title, so that editing an item's points or comment in source/ changes what every
answer graded with it gets (`rescore`). Each answer's mark has a version: a save that was not made
from the current version (another grader saved first) is refused, never silently overwritten.
"""
import json
import time

import sqlalchemy as sa

METADATA = sa.MetaData()
MARKS = sa.Table(
    "grade_by_question_marks", METADATA,
    sa.Column("grade_id", sa.String(128), primary_key=True),  # nbgrader's Grade.id of the answer's cell
    sa.Column("items", sa.Text, nullable=False),  # JSON list of the applied items' titles
    sa.Column("adjustment", sa.Float, nullable=False, default=0.0),  # points added by hand (may be negative)
    sa.Column("comment", sa.Text, nullable=False, default=""),  # the grader's own words, after the items'
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("grader", sa.String(128), nullable=False, default=""),
    sa.Column("updated", sa.Float, nullable=False),
)


class Conflict(Exception):
    """Another grader saved this answer since it was loaded; carries their mark."""

    def __init__(self, current):
        super().__init__("saved by another grader since you loaded it")
        self.current = current


def score(rubric, titles, adjustment, points):
    """The items' points plus the adjustment, from 0 to the question's points."""
    by_title = {item.title: item.points for item in rubric}
    return min(max(sum(by_title.get(t, 0.0) for t in titles) + adjustment, 0.0), float(points))


def feedback_comment(rubric, titles, comment):
    """What the student reads (Markdown, as nbgrader's feedback renders comments): each applied item with
    its points and comment, then the grader's own words."""
    lines = [f"- **{item.points:+g} {item.title}.** {item.comment}" for item in rubric if item.title in titles]
    return "\n".join(lines + (["", comment.strip()] if comment.strip() else []))


class Marks:
    def __init__(self, db_url):
        self.engine = sa.create_engine(db_url)
        METADATA.create_all(self.engine)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.engine.dispose()

    def read(self, grade_ids):
        """{grade_id: mark dict} for the answers that have one."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(MARKS).where(MARKS.c.grade_id.in_(list(grade_ids)))).mappings().all()
        return {row["grade_id"]: {**row, "items": json.loads(row["items"])} for row in rows}

    def save(self, grade_id, titles, adjustment, comment, version, grader=""):
        """Store a mark made from `version` (0: the answer had none); return the new mark or raise Conflict."""
        values = {"items": json.dumps(sorted(titles)), "adjustment": float(adjustment), "comment": comment,
                  "version": version + 1, "grader": grader, "updated": time.time()}
        try:
            with self.engine.begin() as conn:
                if version == 0:  # (two first saves at once: the second breaks the key, and is refused)
                    conn.execute(sa.insert(MARKS).values(grade_id=grade_id, **values))
                    done = 1
                else:
                    done = conn.execute(sa.update(MARKS).where(MARKS.c.grade_id == grade_id, MARKS.c.version == version)
                                        .values(**values)).rowcount
        except sa.exc.IntegrityError:
            done = 0
        if not done:
            raise Conflict(self.read([grade_id]).get(grade_id))
        return {"grade_id": grade_id, **values, "items": sorted(titles)}


def write_to_gradebook(gradebook, grade_id, points, comment):
    """nbgrader's manual score and comment of the answer's cell, as the Formgrader would set them."""
    grade = gradebook.find_grade_by_id(grade_id)
    grade.manual_score = points
    grade.needs_manual_grade = False
    notebook = grade.notebook
    for cell_comment in notebook.comments:
        if cell_comment.name == grade.name:
            cell_comment.manual_comment = comment
    gradebook.db.commit()
    return grade
