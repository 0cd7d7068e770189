"""The course on a JupyterHub (`python -m hub`, what `make hub` runs; docs/hosting.md), the whole round
in Chromium, each person in a browser of their own: the instructor releases weight_init in the
Formgrader; a student logs in, fetches it in the Assignments tab, writes an answer, runs and Validates the
notebook in their own server and submits; the instructor sets the due date; a second student submits
late; the instructor collects and autogrades both (the kit's grading engine, in its sandbox, in the
course's service); the TA grades the written answer in the grade-by-question view; the instructor
generates and releases feedback; the student fetches it and opens its page. Then what the hub must keep
apart: a student's server has no Formgrader, the course's service and another student's server refuse a
student, and the operating system keeps a student out of another's files, the exchange's inbound folder
and the course folder. Last, Ctrl-C stops everything the hub started.

The hub's users are system users of this machine (instructor, ta, student1-3, grader-weight-init); the
test makes them, as `make hub` does, with homes in a folder of its own."""
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from dateutil.parser import parse as parse_date

from browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from course import ASSIGNMENT
from course.nbgrader_cli import path_with_this_environment, user_environment
from hub.accounts import (ACCOUNT_COMMENT, COURSE, GROUP, STUDENTS, Hub, HubSetupError, _account, _settings,
                          let_through_to_the_kit, run_as)

FIRST, LATE = STUDENTS[0], STUDENTS[1]
NOTEBOOK, QUESTION = "part1_understanding", "q1_importance"
ANSWER = ("A network learns only if its signals neither vanish nor explode through the layers; the initial "
          "weights set their scale, so a poor choice stalls training before it starts.")
SERVICE = f"/services/{COURSE}"
NO_RESPONSE = "You did not provide a response"


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class RunningHub:
    url: str
    password: str
    hub: Hub
    process: subprocess.Popen
    log: Path
    started_s: float = 0.0  # from `python -m hub` to the hub answering
    first_page_s: float = 0.0  # from a student's login to their JupyterLab

    def log_tail(self, lines=80):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_hub():
    """`python -m hub` in a folder of its own, on free ports, in a process group of its own (as a terminal
    runs `make hub`), answering at /hub/api. On the way out, stopped with what Ctrl-C sends if the test has
    not, anything of its users' left killed, its folder removed."""
    root = Path(tempfile.mkdtemp(prefix="weight-init-hub-"))
    root.chmod(0o755)  # (the users' homes are inside)
    port, hub_port, proxy_port, service_port = free_ports(4)
    password = secrets.token_urlsafe(12)
    log = root.parent / f"{root.name}.log"
    env = {**user_environment(), "PATH": path_with_this_environment()}
    launched = time.monotonic()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", f"--password={password}", f"--root={root}", f"--port={port}",
             f"--hub-port={hub_port}", f"--proxy-port={proxy_port}", f"--service-port={service_port}"],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            # as a shell starts a background job: SIGINT ignored (the hub must still stop on Ctrl-C)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    running = RunningHub(f"http://127.0.0.1:{port}", password, Hub(root), process, log)
    try:
        deadline = launched + 300
        while not ("JupyterHub is now running" in log.read_text(errors="replace") and _answers(f"{running.url}/hub/api")):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the hub did not start (exit {process.poll()}):\n{running.log_tail()}")
            time.sleep(1)
        running.started_s = time.monotonic() - launched
        yield running
    finally:
        if process.poll() is None:
            _stop(process)
        for pid in _processes_of(running.hub):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
        log.unlink(missing_ok=True)


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(process, timeout=90):
    """What Ctrl-C does in a terminal: SIGINT to the whole foreground process group."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _processes_of(hub):
    """Pids of processes running as one of the hub's users, or from its folder (zombies left out)."""
    uids = {pwd.getpwnam(user).pw_uid for user in hub.users}
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        # (a zombie has ended: one whose parent, the hub, ended first waits for pytest, a subreaper, to reap it)
        if state not in "ZX" and (uid in uids or str(hub.root).encode() in cmdline):
            found.append(int(pid))
    return found


class Person:
    """One person's browser (a context of their own: their own hub login), logged in, with numbered
    screenshots under screenshots/test_hub/."""

    shots = 0

    def __init__(self, chromium, running, user, next_path):
        self.user, self.running = user, running
        self.page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(f"{running.url}/hub/login?next={next_path}")
        self.page.fill("input#username_input", user)
        self.page.fill("input#password_input", running.password)
        self.page.click("#login_submit")

    def wait(self, selector, **kwargs):
        """The element, or a failure with a screenshot and the end of the hub's log (its servers' too)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            return self.page.wait_for_selector(selector, **kwargs)
        except PlaywrightTimeout:
            self.screenshot(f"waited in vain for {selector[:40]}")
            pytest.fail(f"{self.user}: no {selector} at {self.page.url}\n{self.running.log_tail()}")

    def screenshot(self, step):
        Person.shots += 1
        folder = SCREENSHOTS / "test_hub"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        self.page.screenshot(path=str(folder / f"{Person.shots:02d}-{self.user}-{name}.png"))

    # The Formgrader's buttons answer in a dialog: success or error, with nbgrader's log
    def formgrader_action(self, selector, what):
        self.page.click(selector)
        dialog = self.wait("#success-modal, #error-modal", timeout=600_000)
        text = dialog.inner_text()
        self.screenshot(what)
        assert dialog.get_attribute("id") == "success-modal", f"{what}: {text[:3000]}\n{self.running.log_tail()}"
        self.page.click("#success-modal button:has-text('OK')")
        self.wait("#success-modal", state="detached")
        return text

    # A student's JupyterLab
    def assignments_tab(self):
        page = self.page
        self.wait(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        if not page.locator("#released_assignments_list").is_visible():
            page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
        self.wait("#released_assignments_list")

    def fetch(self):
        page = self.page
        self.assignments_tab()
        page.click(f"#released_assignments_list .list_item:has-text('{ASSIGNMENT}') button:has-text('Fetch')")
        self.wait(f"#fetched_assignments_list .list_item:has-text('{ASSIGNMENT}')")
        self.screenshot("fetched")

    def validate(self):
        """Validate in the notebook's toolbar: the dialog's text."""
        self.page.click(".validate-button")
        dialog = self.wait(".jp-Dialog:has-text('Validation Results')", timeout=300_000)
        text = dialog.inner_text()
        self.screenshot("validated")
        self.page.click(".jp-Dialog button:has-text('Ok')")
        return text

    def submit(self):
        page = self.page
        self.assignments_tab()
        page.click(f"#fetched_assignments_list .list_item:has-text('{ASSIGNMENT}') button:has-text('Submit')")
        self.wait(f"#submitted_assignments_list .list_item:has-text('{ASSIGNMENT}')")
        self.screenshot("submitted")


def test_the_course_on_a_hub():
    """The round, then what the hub keeps apart, then Ctrl-C (the module's docstring says each step)."""
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS / "test_hub", ignore_errors=True)
    with running_hub() as running, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            started = time.monotonic()
            the_round(chromium, running)
            print(f"the round in the browser: {time.monotonic() - started:.0f} s; the hub answered "
                  f"{running.started_s:.0f} s after `python -m hub`; a student's JupyterLab "
                  f"{running.first_page_s:.0f} s after their login")
            students_are_kept_out(chromium, running)
        finally:
            chromium.close()
        ctrl_c_stops_the_hub_and_everything_it_started(running)


def the_round(chromium, running):
    """Release, fetch, Validate, submit, a late submission, collect, autograde, grade by question, feedback."""
    hub = running.hub
    course = hub.course
    # The instructor releases the assignment in the Formgrader (the course's service)
    instructor = Person(chromium, running, "instructor", f"{SERVICE}/formgrader/manage_assignments")
    instructor.wait(f"tr:has-text('{ASSIGNMENT}') .glyphicon-cloud-upload")
    instructor.formgrader_action(f"tr:has-text('{ASSIGNMENT}') .glyphicon-cloud-upload", "released")

    # A student fetches it, answers Part 1's first question, runs the notebook, Validates, submits
    login = time.monotonic()
    first = Person(chromium, running, FIRST, f"/hub/spawn/{FIRST}")
    first.wait(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    running.first_page_s = time.monotonic() - login
    first.fetch()
    page = first.page
    page.goto(f"{running.url}/user/{FIRST}/lab/tree/{ASSIGNMENT}/{NOTEBOOK}.ipynb")
    first.wait(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    unanswered = first.validate().count(NO_RESPONSE)
    # the first answer cell (its whole text the placeholder), into edit mode as a student does
    answer = page.locator(".jp-MarkdownCell").filter(
        has=page.locator(".jp-RenderedMarkdown", has_text=re.compile(r"^\s*YOUR ANSWER HERE\s*$"))).first
    answer.scroll_into_view_if_needed()
    answer.click()
    page.keyboard.press("Enter")
    first.wait(".jp-MarkdownCell.jp-mod-active .cm-editor.cm-focused")
    page.keyboard.press("Control+a")
    page.keyboard.type(ANSWER)
    page.keyboard.press("Shift+Enter")
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.keyboard.press("Control+s")
    first.wait(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    first.wait(".jp-StatusBar-Widget:has-text('Saving completed')")
    assert ANSWER in _answer_on_disk(hub.home(FIRST) / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), "the typed answer is not in the saved notebook's answer cell"
    # Validate sees the answer: one question fewer without a response (the rest of Part 1 is left undone)
    assert first.validate().count(NO_RESPONSE) == unanswered - 1 > 0, unanswered
    first.submit()

    # The due date passes just after the first submission: the instructor sets it in the Formgrader
    stamps = _wait_for(lambda: sorted((hub.exchange / COURSE / "inbound").glob(f"{FIRST}+{ASSIGNMENT}+*/timestamp.txt")))
    due = (parse_date(stamps[0].read_text()) + timedelta(seconds=1)).astimezone(timezone.utc).replace(microsecond=0)
    instructor.page.click(f"tr:has-text('{ASSIGNMENT}') .glyphicon-pencil")
    instructor.page.fill("input.modal-duedate", due.strftime("%Y-%m-%dT%H:%M:%S"))
    instructor.page.fill("input.modal-timezone", "UTC")
    instructor.page.click("#edit-assignment-modal button.save")
    instructor.wait("#edit-assignment-modal", state="detached")
    instructor.screenshot("due date set")
    while datetime.now(timezone.utc) <= due:
        time.sleep(0.2)

    # A second student submits late, without changing anything
    late = Person(chromium, running, LATE, f"/hub/spawn/{LATE}")
    late.fetch()
    late.submit()

    # The instructor collects and autogrades both in the Formgrader
    instructor.page.goto(f"{running.url}{SERVICE}/formgrader/manage_assignments")
    instructor.formgrader_action(f"tr:has-text('{ASSIGNMENT}') .glyphicon-cloud-download", "collected")
    instructor.page.goto(f"{running.url}{SERVICE}/formgrader/manage_submissions/{ASSIGNMENT}")
    for student in (FIRST, LATE):
        instructor.formgrader_action(f"tr:has-text('{student}') .glyphicon-flash", f"autograded {student}")
    assert running.log.read_text(errors="replace").count("Verifier:") >= 8, "autograde did not run the kit's grading engine"
    lateness = _lateness(course)
    assert lateness[LATE] > 0 and lateness[FIRST] == 0, lateness

    # The TA grades the written answer by question: the blank one (the late student's) as a group
    # with one key, the first student's with full marks
    ta = Person(chromium, running, "ta", f"{SERVICE}/grade-by-question/")
    ta.page.click(f"tr[data-key='{NOTEBOOK}/{QUESTION}']")
    ta.wait("#answer-title:has-text('blank')")
    ta.screenshot("grade by question")
    ta.page.keyboard.press("0")
    ta.wait("#answer-title:text-matches('^Answer [0-9]')")
    assert "neither vanish nor explode" in ta.page.inner_text("main#grading")
    ta.page.keyboard.press("f")
    ta.wait("#status:has-text('Saved')")
    ta.screenshot("graded")
    scores = _manual_scores(course)
    assert scores[LATE] == 0 and scores[FIRST] > 0, scores

    # Feedback: generated and released by the instructor, fetched and opened by the student
    instructor.page.goto(f"{running.url}{SERVICE}/formgrader/manage_assignments")
    instructor.formgrader_action(f"tr:has-text('{ASSIGNMENT}') .glyphicon-comment", "feedback generated")
    instructor.formgrader_action(f"tr:has-text('{ASSIGNMENT}') .glyphicon-envelope", "feedback released")
    page = first.page
    page.goto(f"{running.url}/user/{FIRST}/lab")
    first.assignments_tab()
    page.click(f"#submitted_assignments_list .list_item:has-text('{ASSIGNMENT}') button:has-text('Fetch Feedback')")
    feedback = _wait_for(lambda: sorted((hub.home(FIRST) / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK}.html")))
    relative = feedback[-1].relative_to(hub.home(FIRST))
    page.goto(f"{running.url}/user/{FIRST}/files/{relative}")
    first.wait("text=neither vanish nor explode")
    first.screenshot("feedback page")
    assert "Written response (Score: 2.0 / 2.0)" in page.inner_text("body"), "the TA's mark is not on the feedback page"


def students_are_kept_out(chromium, running):
    """A student's login opens neither the Formgrader (not in their server, and the course's service
    refuses them) nor another student's server; the operating system refuses them another student's
    files, the exchange's inbound folder and the course folder with its gradebook."""
    hub = running.hub
    student = Person(chromium, running, FIRST, f"/hub/spawn/{FIRST}")
    student.wait(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    student.page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    menu = student.page.inner_text(".lm-Menu-content")
    assert "Formgrader" not in menu and "Assignment List" in menu, menu
    for path, what in [(f"/user/{FIRST}/formgrader", "the Formgrader in their own server"),
                       (f"/user/{FIRST}/grade-by-question/", "the grade-by-question view in their own server"),
                       (f"{SERVICE}/formgrader", "the course's Formgrader"),
                       (f"{SERVICE}/grade-by-question/api/questions", "the course's grade-by-question view"),
                       (f"/user/{LATE}/api/contents", "another student's server")]:
        response = student.page.goto(f"{running.url}{path}")
        student.screenshot(f"refused {what}")
        assert response.status in (403, 404), f"{FIRST} opened {what}: {response.status} {student.page.url}"
    for path, what in [(hub.home(LATE), "another student's home"),
                       (hub.exchange / COURSE / "inbound", "the exchange's inbound folder"),
                       (hub.course, "the course folder"),
                       (hub.course / "gradebook.db", "the gradebook")]:
        result = run_as(FIRST, ["ls", str(path)], cwd="/", check=False, capture_output=True, text=True)
        assert result.returncode != 0 and "Permission denied" in result.stderr, f"{FIRST} can read {what}: {result.stdout[:500]}"


def ctrl_c_stops_the_hub_and_everything_it_started(running):
    """SIGINT to the hub's process group stops the hub and all it started, on SIGINT itself: JupyterHub
    sends its servers SIGTERM only after 30 s, which a server that ignores SIGINT waits for."""
    assert _processes_of(running.hub), "the hub's servers were not running before Ctrl-C"
    started = time.monotonic()
    _stop(running.process)
    stopped_s = time.monotonic() - started
    assert stopped_s < 20, f"the hub took {stopped_s:.0f} s to stop: a server of its ignored SIGINT\n{running.log_tail()}"
    time.sleep(2)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200] for pid in _processes_of(running.hub)
            if Path(f"/proc/{pid}").exists()}
    assert running.process.returncode is not None and not left, f"still running after Ctrl-C: {left}\n{running.log_tail()}"


def test_an_account_the_hub_did_not_make_is_never_changed(tmp_path):
    """A machine's own user named like one of the hub's (a real `ta`) stops the hub with a message; its
    home stays as it was."""
    name = f"wi-probe-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", name], check=True)
    try:
        with pytest.raises(HubSetupError, match="did not make"):
            _account(name, tmp_path / name, log=print)
        assert pwd.getpwnam(name).pw_dir == "/nonexistent"
    finally:
        subprocess.run(["userdel", name], check=True)


def test_a_link_in_a_students_settings_leads_root_nowhere():
    """A student replaced a settings file in their ~/.jupyter with a link to a file of root's, then waits for
    the hub to start again as root: the hub writes their settings as them, so the link leads nowhere (the
    hub stops, saying why) and root's file is as it was."""
    name = f"wi-probe-{secrets.token_hex(3)}"
    let_through_to_the_kit()
    subprocess.run(["useradd", "--no-create-home", "--comment", ACCOUNT_COMMENT, "--groups", GROUP, name], check=True)
    root = Path(tempfile.mkdtemp(prefix="weight-init-hub-"))
    root.chmod(0o755)
    target = root / "roots-own-file"
    target.write_text("root's own\n")
    try:
        hub = Hub(root)
        settings = hub.home(name) / ".jupyter"
        settings.mkdir(parents=True)
        entry = pwd.getpwnam(name)
        for folder in (hub.home(name), settings):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        (settings / "jupyter_server_config.json").symlink_to(target)
        os.lchown(settings / "jupyter_server_config.json", entry.pw_uid, entry.pw_gid)
        with pytest.raises(HubSetupError, match="Permission denied"):
            _settings(hub, name)
        assert target.read_text() == "root's own\n" and target.stat().st_uid == 0
    finally:
        subprocess.run(["userdel", name], check=True)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(find, timeout=60):
    deadline = time.monotonic() + timeout
    while not (found := find()):
        if time.monotonic() > deadline:
            pytest.fail("waited in vain")
        time.sleep(0.5)
    return found


def _answer_on_disk(path):
    """The text of the question's answer cell in the notebook at `path`."""
    cells = nbformat.read(path, as_version=4).cells
    return next(cell.source for cell in cells if cell.metadata.get("nbgrader", {}).get("grade_id") == QUESTION)


def _lateness(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.total_seconds_late for s in gb.assignment_submissions(ASSIGNMENT)}


def _manual_scores(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {nb.student.id: g.manual_score for nb in gb.notebook_submissions(NOTEBOOK, ASSIGNMENT)
                for g in nb.grades if g.name == QUESTION}
