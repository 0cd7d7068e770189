"""The rubric items applied to each written answer, in a table of their own in the course's gradebook
database (sqlite or PostgreSQL), beside nbgrader's; and the score and comment they give, written to
nbgrader's own grade and comment of that cell, the one truth the Formgrader, exports and feedback read.

Items are kept by title, so that editing an item's points or comment in source/ changes what every
answer graded with it gets (`rescore`). Each answer's mark has a version: a save that was not made
from the current version (another grader saved first) is refused, never silently overwritten.

`GROUPS` keeps the graders' decisions on answer groups (grade_by_question/groups.py); `apply` writes
the marks of many answers (a group graded at once, or an undo) and their decisions in one transaction.
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
    # which rubric items were suggested to the grader (JSON list of titles; "" if none were)
    sa.Column("suggested", sa.Text, nullable=False, default=""),
)
GROUPS = sa.Table(
    "grade_by_question_groups", METADATA,
    sa.Column("answer", sa.String(128), primary_key=True),  # nbgrader's Grade.id of the answer's cell
    sa.Column("how", sa.String(16), nullable=False),  # "member" (graded with group `key`) or "single" (taken out)
    sa.Column("key", sa.String(64), nullable=False, default=""),
    sa.Column("text_hash", sa.String(64), nullable=False),  # of the text the decision was made on
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


def _values(titles, adjustment, comment, version, grader, updated, suggested):
    """A mark's row (but its grade_id) as the table stores it."""
    return {"items": json.dumps(sorted(titles)), "adjustment": float(adjustment), "comment": str(comment),
            "version": version + 1, "grader": grader, "updated": updated,
            "suggested": "" if suggested is None else json.dumps(sorted(suggested))}


def _as_mark(row):
    """A row of the table as a mark dict: its items a list."""
    return {**row, "items": json.loads(row["items"])}


class Marks:
    def __init__(self, db_url):
        self.engine = sa.create_engine(db_url)
        METADATA.create_all(self.engine)
        with self.engine.begin() as conn:  # (a marks table made before suggestions were recorded)
            if "suggested" not in {c["name"] for c in sa.inspect(conn).get_columns(MARKS.name)}:
                conn.execute(sa.text(f"ALTER TABLE {MARKS.name} ADD COLUMN suggested TEXT NOT NULL DEFAULT ''"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.engine.dispose()

    def read(self, grade_ids):
        """{grade_id: mark dict} for the answers that have one."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(MARKS).where(MARKS.c.grade_id.in_(list(grade_ids)))).mappings().all()
        return {row["grade_id"]: _as_mark(row) for row in rows}

    def read_groups(self, grade_ids):
        """{grade_id: decision dict} (`GROUPS`) for the answers that have one."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(GROUPS).where(GROUPS.c.answer.in_(list(grade_ids)))).mappings().all()
        return {row["answer"]: dict(row) for row in rows}

    def save(self, grade_id, titles, adjustment, comment, version, grader="", suggested=None):
        """Store a mark made from `version` (0: the answer had none); return the new mark or raise Conflict.
        `suggested`: the titles of the items the view suggested, if it did."""
        values = _values(titles, adjustment, comment, version, grader, time.time(), suggested)
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


def apply(gradebook, changes, rubric, points, grader=""):
    """Write the marks of several answers and the graders' group decisions on them in one transaction of the
    gradebook's session: all of them, or none if one answer's mark is not at the version it was changed from.

    Each change: `grade_id`, `version` (of the mark it was made from; 0 for none), then optionally `mark`
    (items, adjustment, comment; None clears it: nbgrader's score and comment become `score` and
    `feedback`, as they were before the mark), `suggested` (item titles) and `decision` (how, key,
    text_hash; None removes it). Returns {grade_id: new mark or None}; raises Conflict with
    {grade_id: current mark} for the answers saved meanwhile.
    """
    session, now, result, conflicts = gradebook.db, time.time(), {}, {}
    try:
        for change in changes:
            answer, version = change["grade_id"], int(change.get("version", 0))
            if "mark" in change:
                # (as in Marks.save: a mark changes only from the version it was made from; a race after this check
                # is caught by the version in the update's condition, or by the key for two first saves)
                if (session.execute(sa.select(MARKS.c.version).where(MARKS.c.grade_id == answer)).scalar() or 0) != version:
                    conflicts[answer] = None
                    continue
                mark, at_version = change["mark"], (MARKS.c.grade_id == answer) & (MARKS.c.version == version)
                if mark is None:
                    session.execute(sa.delete(MARKS).where(at_version))
                    _write(gradebook, answer, change.get("score"), change.get("feedback"))
                    result[answer] = None
                else:
                    titles = sorted(mark.get("items", []))
                    values = _values(titles, mark.get("adjustment", 0.0), mark.get("comment", ""), version, grader, now,
                                     change.get("suggested"))
                    if version == 0:
                        session.execute(sa.insert(MARKS).values(grade_id=answer, **values))
                    elif not session.execute(sa.update(MARKS).where(at_version).values(**values)).rowcount:
                        conflicts[answer] = None
                        continue
                    points_given = score(rubric, titles, values["adjustment"], points)
                    _write(gradebook, answer, points_given, feedback_comment(rubric, titles, values["comment"]))
                    result[answer] = {"grade_id": answer, **values, "items": titles, "score": points_given}
            if "decision" in change:
                session.execute(sa.delete(GROUPS).where(GROUPS.c.answer == answer))
                if change["decision"] is not None:
                    decision = change["decision"]
                    session.execute(sa.insert(GROUPS).values(answer=answer, how=decision["how"], key=decision.get("key", ""),
                                                             text_hash=decision["text_hash"], grader=grader, updated=now))
        if conflicts:
            session.rollback()
        else:
            session.commit()
    except sa.exc.IntegrityError:  # (another grader's first save of one of these answers came first)
        session.rollback()
        conflicts = {change["grade_id"]: None for change in changes if "mark" in change}
    except BaseException:
        session.rollback()
        raise
    if conflicts:  # the marks as they are now, for the grader to see
        current = session.execute(sa.select(MARKS).where(MARKS.c.grade_id.in_(list(conflicts)))).mappings().all()
        raise Conflict({**conflicts, **{row["grade_id"]: _as_mark(row) for row in current}})
    return result


def write_to_gradebook(gradebook, grade_id, points, comment):
    """nbgrader's manual score and comment of the answer's cell, as the Formgrader would set them."""
    grade = _write(gradebook, grade_id, points, comment)
    gradebook.db.commit()
    return grade


def _write(gradebook, grade_id, points, comment):
    """(uncommitted) `points` None: not graded by hand, as autograde leaves a written answer (which needs
    grading by hand unless autograde scored it: nbgrader gives an answer left as the release had it 0)."""
    grade = gradebook.find_grade_by_id(grade_id)
    grade.manual_score = points
    grade.needs_manual_grade = points is None and grade.auto_score is None
    for cell_comment in grade.notebook.comments:
        if cell_comment.name == grade.name:
            cell_comment.manual_comment = comment
    return grade
