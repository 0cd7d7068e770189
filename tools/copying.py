"""The copying report: students whose hand-ins look copied, for a person to judge. It reports; it never
changes a grade.

    python -m tools.copying                  # reads submitted/, writes copying_report.html and copying_report.csv
    python -m tools.copying --course DIR     # another course folder

What it lists, each with its similarity (percent) and both texts side by side:

- **pairs** of students whose written answers are near-identical (RapidFuzz token-sort ratio of the
  answers' words, `WRITTEN_SIMILARITY`) on `SEVERAL` questions or more, and **clusters** of three or more
  students linked by such pairs;
- written answers that reproduce the instructor's **model answer**, or a passage of the assignment as it
  was **published** (`course/published_assignment.md`, answers included);
- **code** cells that are the same once comments and docstrings are removed and every name is renamed in
  order of appearance (`normalise_code`), leaving aside code that is the release's as handed out or the
  model solution's, and cells too short to tell (`MIN_CODE_NODES`).

The page is static HTML with no script, students' text shown as text (escaped), and loads nothing;
the grade-by-question view links to it. The CSV has one row per finding, for a spreadsheet or a test.
"""
import argparse
import ast
import csv
import html
import io
import itertools
import os
import re
from pathlib import Path

from nbgrader.utils import is_solution
from rapidfuzz import fuzz

from course import ASSIGNMENT, ROOT
from course.questions import model_answer
from course.words import BLANK, normalise
from grade_by_question.answers import cell_texts

WRITTEN_SIMILARITY = 90  # percent: answers at least this alike count as near-identical
SEVERAL = 2  # questions on which a pair's answers must be near-identical to be listed
PUBLISHED_SIMILARITY = 90  # percent of an answer found in one passage of the published text
MIN_PASSAGE_WORDS = 12  # shorter answers and passages are too common to tell
CODE_SIMILARITY = 95  # percent, of the normalised code
MIN_CODE_NODES = 40  # AST nodes: shorter cells (`return 2.0 / fan_in`) are written alike by everyone
PUBLISHED = ROOT / "course" / "published_assignment.md"
REPORT = "copying_report"


class _Rename(ast.NodeTransformer):
    """Every name (variables, arguments, functions called) as v0, v1, ... in order of first appearance."""

    def __init__(self):
        self.names = {}

    def _name(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._name(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        node.arg, node.annotation = self._name(node.arg), None
        return node

    def visit_FunctionDef(self, node):
        body = node.body[1:] if node.body and isinstance(node.body[0], ast.Expr) and \
            isinstance(getattr(node.body[0], "value", None), ast.Constant) and isinstance(node.body[0].value.value, str) else node.body
        node.body = body or [ast.Pass()]
        node.returns = None
        self.generic_visit(node)
        return node


def normalise_code(source):
    """`source` without comments or docstrings and with its names renamed in order; (text, AST nodes), or
    None if it does not parse."""
    try:
        tree = _Rename().visit(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError):
        return None
    return ast.unparse(tree), sum(1 for _ in ast.walk(tree))


def submissions(course):
    """{student: {notebook: {grade_id: text}}} of every solution cell in `course`'s submitted/."""
    folder = Path(course) / "submitted"
    found = {}
    for student in sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink()) if folder.is_dir() else []:
        assignment = folder / student / ASSIGNMENT
        if assignment.is_symlink() or not assignment.is_dir():
            continue
        found[student] = {path.stem: cell_texts(path) for path in sorted(assignment.glob("*.ipynb"))}
    return found


def reference(course):
    """The source's solution cells: {notebook: {grade_id: (kind, model answer, release text)}}."""
    import nbformat

    result = {}
    for path in sorted((Path(course) / "source" / ASSIGNMENT).glob("*.ipynb")):
        release = cell_texts(Path(course) / "release" / ASSIGNMENT / path.name)
        result[path.stem] = {c.metadata.nbgrader["grade_id"]: (c.cell_type, model_answer(c), release.get(c.metadata.nbgrader["grade_id"], ""))
                             for c in nbformat.read(path, as_version=4).cells if is_solution(c)}
    return result


def passages(text):
    """The published text's passages (paragraphs and list items) long enough to tell, as words."""
    parts = re.split(r"\n\s*\n|\n\s*[-*] ", text)
    return [words for part in parts if len((words := normalise(part)).split()) >= MIN_PASSAGE_WORDS]


def find(course, published=PUBLISHED):
    """Every finding, as dicts: kind, students, question, similarity, texts."""
    hand_ins, cells = submissions(course), reference(course)
    published_passages = passages(Path(published).read_text(encoding="utf-8")) if Path(published).exists() else []
    findings, alike = [], {}
    for notebook, questions in cells.items():
        for question, (kind, model, release) in questions.items():
            answers = {s: nbs[notebook][question] for s, nbs in hand_ins.items() if question in nbs.get(notebook, {})}
            where = f"{notebook}/{question}"
            if kind == "markdown":
                words = {s: normalise(t) for s, t in answers.items() if normalise(t) not in BLANK}
                model_words = normalise(model)
                pasted = set()  # (answers alike because each reproduces the model answer are listed as such, not as pairs)
                for student, text in words.items():
                    similarity = fuzz.token_sort_ratio(text, model_words)
                    if similarity >= WRITTEN_SIMILARITY:
                        pasted.add(student)
                        findings.append({"kind": "model answer", "students": [student], "question": where,
                                         "similarity": round(similarity), "texts": [answers[student], model]})
                    elif len(text.split()) >= MIN_PASSAGE_WORDS and published_passages:
                        best = max(published_passages, key=lambda p: fuzz.partial_token_sort_ratio(text, p))
                        similarity = fuzz.partial_token_sort_ratio(text, best)
                        if similarity >= PUBLISHED_SIMILARITY:
                            findings.append({"kind": "published text", "students": [student], "question": where,
                                             "similarity": round(similarity), "texts": [answers[student], best]})
                for a, b in itertools.combinations(sorted(set(words) - pasted), 2):
                    similarity = fuzz.token_sort_ratio(words[a], words[b])
                    if similarity >= WRITTEN_SIMILARITY:
                        alike.setdefault((a, b), []).append((where, round(similarity), answers[a], answers[b]))
            else:
                common = {normalise_code(model), normalise_code(release)}  # what everyone may hand in alike
                code = {s: n for s, t in answers.items() if (n := normalise_code(t)) and n not in common and n[1] >= MIN_CODE_NODES}
                for a, b in itertools.combinations(sorted(code), 2):
                    similarity = fuzz.ratio(code[a][0], code[b][0])
                    if similarity >= CODE_SIMILARITY:
                        findings.append({"kind": "code", "students": [a, b], "question": where,
                                         "similarity": round(similarity), "texts": [answers[a], answers[b]]})
    pairs = {pair: found for pair, found in alike.items() if len(found) >= SEVERAL}
    for (a, b), found in sorted(pairs.items()):
        findings.append({"kind": "written pair", "students": [a, b], "question": " ".join(f[0] for f in found),
                         "similarity": min(f[1] for f in found),
                         "texts": [text for f in found for text in (f"{f[0]}:\n{f[2]}", f"{f[0]}:\n{f[3]}")]})
    for cluster in clusters(pairs):
        if len(cluster) > 2:
            findings.append({"kind": "cluster", "students": cluster, "question": "", "similarity": 0, "texts": []})
    order = ["cluster", "written pair", "code", "model answer", "published text"]
    return sorted(findings, key=lambda f: (order.index(f["kind"]), f["question"], f["students"]))


def clusters(pairs):
    """The connected groups of students that `pairs` link, each sorted."""
    links = {}
    for a, b in pairs:
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
    seen, result = set(), []
    for start in sorted(links):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            student = todo.pop()
            if student not in group:
                group.add(student)
                todo += links[student] - group
        seen |= group
        result.append(sorted(group))
    return result


def as_csv(findings):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "students", "question", "similarity"])
    for f in findings:
        writer.writerow([f["kind"], " ".join(f["students"]), f["question"], f["similarity"]])
    return out.getvalue()


STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:1em 2em;color:#1d1d1d}table{border-collapse:collapse}
td,th{vertical-align:top;padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;margin:0}
h2{font-size:17px;margin-top:1.5em}"""
EXPLAIN = {"cluster": "Students linked by near-identical written answers on several questions.",
           "written pair": f"Written answers at least {WRITTEN_SIMILARITY}% alike on {SEVERAL} questions or more.",
           "code": "Code cells that are the same once comments are removed and names renamed (not the model solution's, not the release's).",
           "model answer": f"Written answers at least {WRITTEN_SIMILARITY}% alike to the model answer.",
           "published text": f"Written answers found, at least {PUBLISHED_SIMILARITY}% alike, in a passage of the assignment as published."}


def as_html(findings, course):
    """The report as one static page: no script, nothing loaded, every student's text escaped."""
    esc = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
             f"<title>Copying report: {esc(ASSIGNMENT)}</title><style>{STYLE}</style></head><body>",
             f"<h1>Copying report: {esc(ASSIGNMENT)}</h1>",
             f"<p>{len(findings)} findings in {esc(str(Path(course).resolve() / 'submitted'))}. A finding is a reason to "
             "look, not a verdict: this report changes no grade.</p>"]
    for kind in EXPLAIN:
        of_kind = [f for f in findings if f["kind"] == kind]
        parts.append(f"<h2>{esc(kind.capitalize())} ({len(of_kind)})</h2><p>{esc(EXPLAIN[kind])}</p>")
        for f in of_kind:
            head = " and ".join(esc(s) for s in f["students"]) + (f" · {esc(f['question'])}" if f["question"] else "") + \
                (f" · {f['similarity']}%" if f["similarity"] else "")
            texts = "".join(f"<pre>{esc(t)}</pre>" for t in f["texts"])
            parts.append(f"<h3>{head}</h3>" + (f"<div class='side'>{texts}</div>" if texts else ""))
    parts.append("</body></html>")
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=ROOT, help="the course folder (default: this kit's)")
    args = parser.parse_args(argv)
    findings = find(args.course)
    (args.course / f"{REPORT}.csv").write_text(as_csv(findings), encoding="utf-8")
    (args.course / f"{REPORT}.html").write_text(as_html(findings, args.course), encoding="utf-8")
    counts = {kind: sum(f["kind"] == kind for f in findings) for kind in EXPLAIN}
    print(f"{len(findings)} findings ({', '.join(f'{n} {k}' for k, n in counts.items())}): "
          f"{os.path.relpath(args.course / f'{REPORT}.html')}")


if __name__ == "__main__":
    main()
