"""`nbgrader zip_collect` for an LMS's "download all submissions" zip.

The file names, as each LMS writes them into its zip:

- **Canvas**: `<name>_<user id>_<submission id>_<file name>`, with `LATE_` after the name for a late
  submission (`smithjane_LATE_1042_88123_part1_understanding.ipynb`); a file uploaded again is renamed
  `<file name>-1`, `-2`, ... The student id is the Canvas user id.
- **Moodle** (File submissions): `<full name>_<participant id>_assignsubmission_file_<file name>`, or with
  "Download submissions in folders" a folder `<full name>_<participant id>_assignsubmission_file_` holding
  the files (`Jane Smith_1042_assignsubmission_file_/part1_understanding.ipynb`). The student id is the
  participant id.

A file whose name fits neither, or whose notebook is not one of the assignment's, is reported and skipped
(`ZipCollectApp.strict`); the rest of the zip is collected. `SafeExtractor` opens only the LMS's own
zips, within limits, and never an archive inside them: a student's upload is a file, not a folder tree.
"""
import functools
import os
import re
import shutil
import zipfile

from traitlets import Int
from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin

CANVAS = re.compile(r"^(?P<name>[^_/]+)_(?P<late>LATE_)?(?P<student_id>\d+)_(?P<submission>\d+)_(?P<file_id>.+)$")
MOODLE = re.compile(r"^(?P<name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_file_(?P<file_id>.*)$")
RESUBMITTED = re.compile(r"^(?P<stem>.+?)(?:-\d+| \(\d+\))(?P<ext>\.ipynb)$")  # Canvas's -1, a browser's (1)


class LmsFileNames(FileNameCollectorPlugin):
    """The student and the notebook from a Canvas or Moodle file name (see the module's docstring)."""

    def collect(self, submitted_file):
        extracted = self.parent._format_collect_path(self.parent.extracted_directory)
        relative = os.path.relpath(submitted_file, extracted)
        parts = relative.split(os.sep)
        name, folder = parts[-1], parts[-2] if len(parts) > 1 else ""
        found = CANVAS.match(name) or MOODLE.match(name)
        if not found and folder:  # Moodle's folders: the student in the folder's name, the file as uploaded
            folder_match = MOODLE.match(folder)
            found = folder_match and not folder_match.group("file_id") and folder_match
            file_id = name
        else:
            file_id = found and found.group("file_id")
        if not found or not file_id:
            self.log.warning("Not collected: %s is not named as Canvas or Moodle name a submitted file", relative)
            return None
        if os.path.splitext(file_id)[1] not in self.valid_ext:
            self.log.warning("Not collected: %s is not a notebook", relative)
            return None
        resubmitted = RESUBMITTED.match(file_id)
        released = self._released
        if file_id not in released and resubmitted and resubmitted["stem"] + resubmitted["ext"] in released:
            file_id = resubmitted["stem"] + resubmitted["ext"]
        return {"student_id": found.group("student_id"), "file_id": file_id}

    @functools.cached_property
    def _released(self):
        """The release's file names (listed once per collection, not once per file)."""
        coursedir = self.parent.coursedir
        folder = coursedir.format_path(coursedir.release_directory, ".", coursedir.assignment_id)
        return set(os.listdir(folder)) if os.path.isdir(folder) else set()


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor, but each zip is opened within limits (members, bytes) and an archive inside it
    is copied as a file, never opened. A zip over a limit is reported and skipped whole."""

    max_members = Int(20000, help="The most files one zip may hold").tag(config=True)
    max_bytes = Int(4 * 2**30, help="The most bytes one zip may expand to").tag(config=True)

    def extract(self, archive_path, extracted_path):
        for root, _, files in os.walk(archive_path):
            for filename in sorted(files):
                path = os.path.join(root, filename)
                if os.path.islink(path):
                    self.log.warning("Not extracted: %s is a link", path)
                    continue
                if not zipfile.is_zipfile(path):
                    os.makedirs(extracted_path, exist_ok=True)
                    shutil.copy(path, os.path.join(extracted_path, filename))
                    continue
                with zipfile.ZipFile(path) as archive:
                    members = archive.infolist()
                    size = sum(m.file_size for m in members)
                    if len(members) > self.max_members or size > self.max_bytes:
                        self.log.error("Not extracted: %s holds %d files, %d bytes (limits %d, %d)", path, len(members),
                                       size, self.max_members, self.max_bytes)
                        continue
                    destination = os.path.join(extracted_path, os.path.splitext(filename)[0])
                    self.log.info("Extracting %s to %s", path, destination)
                    archive.extractall(destination)  # (zipfile drops absolute paths and `..`, and makes no links)
