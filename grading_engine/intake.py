"""What of a submission the grader may touch: regular files and folders, nothing else.

nbgrader reads and copies a submission's files with the instructor's permissions, following links:
a `notes.txt -> ../../../gradebook.db` in `submitted/` would put the gradebook into the autograded
folder (and so into the sandbox), a notebook linked to `source/` would be graded as the student's,
a link to `/dev/zero` would fill the disk, and a FIFO would hang the batch. Before nbgrader looks at
a submission (`guard_submissions`, which nbgrader_config.py applies to nbgrader's Autograde; the
cluster's client calls `make_submission_safe` itself), every entry that is not a regular file or a folder, a
student or assignment folder that is a link included, is moved, never opened, into
`quarantine/<student>/<assignment>/`, keeping its path, and the log says what it was. The submission
is graded without it; nothing is lost.
"""
import functools
import glob
import os
import stat
from pathlib import Path

from course import SHIPPED_DATA

QUARANTINE = "quarantine"  # beside submitted/, in the course folder


def kind_of(path):
    """What the entry at `path` is, in words, if it is neither a regular file nor a folder; else None."""
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return f"a symbolic link to {os.readlink(path)}"
    return {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}.get(stat.S_IFMT(mode), "a special file")


def _move_aside(path, target):
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    while os.path.lexists(target):  # (set aside before: keep both)
        target = target.with_name(target.name + "~")
    os.rename(path, target)  # renames the entry itself: a link is not followed, a FIFO not opened
    return target


def set_aside_unsafe_entries(folder, quarantine, log):
    """Move each entry under `folder` that is not a regular file or a folder into `quarantine`, at the
    same relative path; the whole `folder` if it is such an entry itself. Return the [(path, kind)] moved."""
    moved = []
    kind = kind_of(folder) if os.path.lexists(folder) else None
    if kind:
        moved.append((str(folder), kind, _move_aside(folder, quarantine)))
    else:
        for here, folders, files in os.walk(folder):  # (os.walk follows no link)
            for name in folders + files:
                path = os.path.join(here, name)
                kind = kind_of(path)
                if kind:
                    moved.append((path, kind, _move_aside(path, Path(quarantine) / os.path.relpath(path, folder))))
            folders[:] = [name for name in folders if os.path.isdir(os.path.join(here, name))
                          and not os.path.islink(os.path.join(here, name))]
    for path, kind, target in moved:
        log.warning("Not grading %s: it is %s, which the grader never follows or opens; moved to %s", path, kind, target)
    return [(path, kind) for path, kind, _ in moved]


def make_submission_safe(submitted, student, assignment, quarantine, log):
    """Set aside what is unsafe of `student`'s submission of `assignment` in folder `submitted`: the
    student's or the submission's folder itself if it is a link, else each unsafe entry in it, into
    `quarantine/<student>/`. Return the [(path, kind)] set aside."""
    student_folder = os.path.join(submitted, student)
    if kind_of(student_folder):
        return set_aside_unsafe_entries(student_folder, os.path.join(quarantine, student), log)
    return set_aside_unsafe_entries(os.path.join(student_folder, assignment),
                                    os.path.join(quarantine, student, assignment), log)


def guard_submissions(converter_class):
    """Make nbgrader's `converter_class` (Autograde) set aside the unsafe entries of every submission it
    is about to grade, before it looks for the submissions' notebooks."""
    init_notebooks = converter_class.init_notebooks

    @functools.wraps(init_notebooks)
    def init_notebooks_of_safe_submissions(self):
        coursedir = self.coursedir
        submitted = coursedir.format_path(coursedir.submitted_directory, ".", ".")
        quarantine = os.path.join(os.path.abspath(coursedir.root), QUARANTINE)
        for student_folder in sorted(glob.glob(os.path.join(submitted, coursedir.student_id))):
            student = os.path.basename(student_folder)
            for submission in sorted(glob.glob(os.path.join(glob.escape(student_folder), coursedir.assignment_id))) \
                    if not kind_of(student_folder) else [os.path.join(student_folder, coursedir.assignment_id)]:
                make_submission_safe(submitted, student, os.path.basename(submission), quarantine, self.log)
        return init_notebooks(self)

    converter_class.init_notebooks = init_notebooks_of_safe_submissions
    return converter_class


def grade_without_shipped_data(converter_class, folder=SHIPPED_DATA):
    """Make nbgrader's `converter_class` (Autograde) copy neither the shipped data (`folder`, from
    source/) nor a student's own copy of it into the autograded folder: kernels read the one read-only
    copy in source/ (nbgrader_config.py names it), and a result holds only what the student handed in
    and what grading wrote. (nbgrader skips what matches `CourseDirectory.ignore`, by name, in both
    copies; the release, made with that list as it is, keeps its data.)"""
    init_assignment = converter_class.init_assignment

    @functools.wraps(init_assignment)
    def init_assignment_without_shipped_data(self, assignment_id, student_id):
        ignore = list(self.coursedir.ignore)
        self.coursedir.ignore = [*ignore, folder]
        try:
            return init_assignment(self, assignment_id, student_id)
        finally:
            self.coursedir.ignore = ignore

    converter_class.init_assignment = init_assignment_without_shipped_data
