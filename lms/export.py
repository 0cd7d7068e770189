"""`nbgrader export` as the CSV an LMS imports into its gradebook, one row per student of the gradebook
(0 for a student who handed nothing in), the score after any late penalty.

    nbgrader export --exporter=lms.export.CanvasExport --to=canvas_grades.csv
    nbgrader export --exporter=lms.export.MoodleExport --to=moodle_grades.csv

- Canvas (Grades, Import): `Student`, `ID` (the Canvas user id, the student id zip_collect gave), `SIS User
  ID`, `SIS Login ID`, `Section`, then one column per assignment, named as in Canvas (`assignment_columns`).
- Moodle (the assignment's "Upload grading worksheet"): `Identifier` (`Participant <id>`), `Full name`,
  `Grade`, `Maximum Grade`; one assignment per worksheet.
"""
import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import ExportPlugin
from traitlets import Dict


def scores(gradebook, assignments, students):
    """{(student id, assignment): score} for every student and the `assignments` asked for (all if empty)."""
    result = {}
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
                result[student.id, assignment.name] = max(submission.score - (submission.late_submission_penalty or 0), 0)
            except MissingEntry:
                result[student.id, assignment.name] = 0.0
    return result


def full_name(student):
    return " ".join(filter(None, [student.first_name, student.last_name])) or student.id


class CanvasExport(ExportPlugin):
    assignment_columns = Dict({}, help="Canvas's column for each nbgrader assignment, as Canvas names it in its "
                                       "gradebook export, e.g. {'weight_init': 'Weight initialization (4521)'}; "
                                       "default: the assignment's name").tag(config=True)

    def export(self, gradebook):
        found = scores(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student])
        assignments = sorted({a for _, a in found})
        with open(self.to or "canvas_grades.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] +
                            [self.assignment_columns.get(a, a) for a in assignments])
            writer.writerow(["Points Possible", "", "", "", ""] + [gradebook.find_assignment(a).max_score for a in assignments])
            for student in gradebook.students:
                if any((student.id, a) in found for a in assignments):
                    writer.writerow([full_name(student), student.id, "", "", ""] + [f"{found[student.id, a]:g}" for a in assignments])
        self.log.info("Canvas grades for %d assignments written to %s", len(assignments), self.to or "canvas_grades.csv")


class MoodleExport(ExportPlugin):
    def export(self, gradebook):
        found = scores(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student])
        assignments = sorted({a for _, a in found})
        if len(assignments) != 1:
            raise ValueError(f"a Moodle grading worksheet holds one assignment: pass --assignment (found {assignments})")
        maximum = gradebook.find_assignment(assignments[0]).max_score
        with open(self.to or "moodle_grades.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["Identifier", "Full name", "Grade", "Maximum Grade"])
            for student in gradebook.students:
                if (student.id, assignments[0]) in found:
                    writer.writerow([f"Participant {student.id}", full_name(student), f"{found[student.id, assignments[0]]:g}", f"{maximum:g}"])
        self.log.info("Moodle grading worksheet for %s written to %s", assignments[0], self.to or "moodle_grades.csv")
