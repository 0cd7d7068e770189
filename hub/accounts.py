"""What the hub's users stand on: system users with private homes, nbgrader's exchange, the course folder
in the grader account's home, and each user's Jupyter settings. Run as root, again at every start: each
step leaves what is already right as it is, and a course's gradebook and submissions are never touched.

The operating system, not the hub, keeps the course apart: every home is 0700, so a student reads neither
another student's files nor the course folder (the gradebook, submitted/, autograded/), which lies in the
home of `grader-weight-init`, the account that runs the Formgrader; the exchange's inbound folder is one
that students write into but cannot list (nbgrader creates it so)."""
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course import ASSIGNMENT, ROOT

COURSE = "weight-init"  # the course id, as in nbgrader_config.py
GRADER = f"grader-{COURSE}"  # the course's own account, as nbgrader's docs name it: owns the course folder
INSTRUCTOR, TA = "instructor", "ta"
STUDENTS = ("student1", "student2", "student3")
GROUP = "weight-init-hub"  # every account above; used only to let them through to the kit's environment
ENVIRONMENT = Path(sys.prefix)  # the kit's Python environment: every server and kernel on the hub runs it
DEFAULT_ROOT = Path("/srv/weight-init-hub")
PROXY = Path(__file__).parent / "node_modules" / ".bin" / "configurable-http-proxy"  # (npm ci in hub/, by make)
ACCOUNT_COMMENT = "weight-init hub account"  # how the hub knows the accounts it made from anyone else's

# What a student's (and the instructor's and TA's own) server leaves out: the Formgrader and the views
# beside it live in the course's service only, where the course folder is
NOT_FOR_STUDENTS = {
    "server": ["nbgrader.server_extensions.formgrader", "grade_by_question", "nbgrader.server_extensions.course_list"],
    "lab": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list"],
}


class HubSetupError(Exception):
    """The machine does not allow what the hub needs; the message says what to do."""


@dataclass(frozen=True)
class Hub:
    """Where one hub keeps its things, under `root`."""
    root: Path

    @property
    def exchange(self):
        return self.root / "exchange"

    @property
    def state(self):
        """JupyterHub's database and cookie secret: root's alone."""
        return self.root / "jupyterhub"

    def home(self, user):
        return self.root / "home" / user

    @property
    def course(self):
        return self.home(GRADER) / COURSE

    @property
    def users(self):
        return (INSTRUCTOR, TA, *STUDENTS, GRADER)


def prepare(hub, log=print):
    """Everything the hub needs, made or checked; raises HubSetupError with what to do when it cannot."""
    if os.geteuid() != 0:
        raise HubSetupError(
            "The hub's users are system users, so that the operating system keeps students out of each other's\n"
            "files and the gradebook; creating them needs root. Run it as root (sudo make hub). On a machine\n"
            "where you cannot, see docs/hosting.md for a hub whose spawner runs each user in a container.")
    for folder in (hub.root, hub.root / "home"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    hub.state.mkdir(exist_ok=True)
    hub.state.chmod(0o700)
    let_through_to_the_kit(log)
    for user in hub.users:
        _account(user, hub.home(user), log)
    try:
        _as_user(STUDENTS[0], "import nbgrader, grading_engine")
    except HubSetupError as error:
        raise HubSetupError(f"The hub's users cannot run the kit's environment ({ENVIRONMENT}): they need to read "
                            f"it, the kit and {sys.base_prefix} (chmod -R o+rX; clone with umask 022):\n{error}") from None
    # nbgrader's exchange: everyone writes, only the owner of an entry removes it (sticky); nbgrader makes
    # the course's inbound folder inside it write-only for students when the course first releases
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)
    _course_folder(hub, log)
    for user in hub.users:
        _settings(hub, user)


def run_as(user, command, cwd, check=True, **kwargs):
    """Run `command` as `user` in `cwd`, with their home and the kit's environment, as their server would."""
    entry = pwd.getpwnam(user)
    env = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "PATH": server_path(), "LANG": "C.UTF-8"}
    return subprocess.run(command, cwd=cwd, env=env, user=entry.pw_uid, group=entry.pw_gid,
                          extra_groups=os.getgrouplist(user, entry.pw_gid), check=check, **kwargs)


def server_path():
    """PATH for the hub's servers and nbgrader's commands: the kit's environment first (nbgrader runs
    `alembic` from PATH when it creates a gradebook)."""
    return os.pathsep.join([str(ENVIRONMENT / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])


def _account(user, home, log):
    if not _exists(pwd.getpwnam, user):
        _run("useradd", "--home-dir", str(home), "--no-create-home", "--shell", "/bin/bash",
             "--user-group", "--groups", GROUP, "--comment", ACCOUNT_COMMENT, user)
        log(f"   created the system user {user}")
    elif pwd.getpwnam(user).pw_gecos != ACCOUNT_COMMENT:  # someone's real account: never changed
        raise HubSetupError(f"This machine already has a user `{user}` that the hub did not make; the hub "
                            f"uses accounts of its own (instructor, ta, student1-3, {GRADER}). Try it on "
                            "another machine or in a container.")
    elif pwd.getpwnam(user).pw_dir != str(home):  # (a hub in another folder used the account before)
        _run("usermod", "--home", str(home), user)
    if GROUP not in [g.gr_name for g in grp.getgrall() if user in g.gr_mem]:
        _run("usermod", "--append", "--groups", GROUP, user)
    home.mkdir(exist_ok=True)
    os.chown(home, *_ids(user))
    home.chmod(0o700)


def let_through_to_the_kit(log=print):
    """The hub's group may pass to the kit (its packages, MNIST), its environment and the Python that
    environment was made from."""
    if not _exists(grp.getgrnam, GROUP):
        _run("groupadd", "--system", GROUP)
    for folder in (ROOT, ENVIRONMENT, Path(sys.base_prefix)):
        _reach(folder, log)


def _reach(folder, log):
    """Let the hub's users through to `folder` (the kit's environment, its packages and data): a parent
    folder that others cannot pass (a home of 0700, /root) gets passage, and nothing more, for the hub's
    group alone, with an ACL."""
    folder = folder.resolve()
    for parent in reversed(folder.parents):
        if parent.stat().st_mode & stat.S_IXOTH:
            continue
        if shutil.which("getfacl") and f"group:{GROUP}:--x" in _run("getfacl", "--omit-header", str(parent)).stdout:
            continue
        if not shutil.which("setfacl"):
            raise HubSetupError(f"The hub's users cannot reach {folder}: {parent} is closed to others. "
                                "Install `acl` (apt-get install acl) or move the kit to a folder others can read.")
        _run("setfacl", "--modify", f"group:{GROUP}:x", str(parent))
        log(f"   let the hub's users pass through {parent} to {folder} "
            f"(undo: setfacl --remove group:{GROUP} {parent})")


def _course_folder(hub, log):
    """The course folder as the instructor's repository is, less what the Formgrader writes: settings and
    source/ refreshed from the kit; the gradebook, submissions and feedback kept. Written by the course's
    account itself, as every file in a home here: root never writes where a user could have put a link."""
    course = hub.course
    _as_user(GRADER, COPY_COURSE, str(ROOT), str(course), ASSIGNMENT)
    if not (course / "release" / ASSIGNMENT).is_dir():
        log(f"   generating the student version in {course}/release")
        result = run_as(GRADER, ["nbgrader", "generate_assignment", ASSIGNMENT], cwd=course, check=False,
                        capture_output=True, text=True)
        if result.returncode != 0:
            raise HubSetupError(f"nbgrader generate_assignment failed in {course}:\n{result.stderr[-3000:]}")


COPY_COURSE = """
import shutil, sys
from pathlib import Path
kit, course, assignment = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
course.mkdir(exist_ok=True)
shutil.copy(kit / "nbgrader_config.py", course / "nbgrader_config.py")
shutil.rmtree(course / "source" / assignment, ignore_errors=True)
shutil.copytree(kit / "source" / assignment, course / "source" / assignment,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
"""


def _settings(hub, user):
    """Each user's Jupyter settings in their home: the course and the exchange for nbgrader, and for
    everyone but the course's account, the Formgrader left out. Written by the user (a link they put in
    their ~/.jupyter leads only where they may write themselves)."""
    jupyter = hub.home(user) / ".jupyter"
    files = {"nbgrader_config.py": "c = get_config()  # noqa: F821\n"
                                   f"c.Exchange.root = {str(hub.exchange)!r}\n"
                                   f"c.CourseDirectory.course_id = {COURSE!r}\n"
                                   + (f"c.CourseDirectory.root = {str(hub.course)!r}\n" if user == GRADER else ""),
             # offline: JupyterLab does not ask to fetch Jupyter's news
             "lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                 json.dumps({"fetchNews": "false"})}
    if user != GRADER:
        files["jupyter_server_config.json"] = json.dumps(
            {"ServerApp": {"jpserver_extensions": {name: False for name in NOT_FOR_STUDENTS["server"]}}}, indent=1)
        files["labconfig/page_config.json"] = json.dumps(
            {"disabledExtensions": {name: True for name in NOT_FOR_STUDENTS["lab"]}}, indent=1)
    _as_user(user, WRITE_FILES, json.dumps({str(jupyter / name): text + "\n" for name, text in files.items()}))


WRITE_FILES = """
import json, os, sys
for path, text in json.loads(sys.argv[1]).items():
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(text)
"""


def _as_user(user, code, *args):
    """Run Python `code` as `user`, with `args`; a failure stops the hub with its message."""
    try:
        result = run_as(user, [str(ENVIRONMENT / "bin" / "python"), "-c", code, *args], cwd="/", check=False,
                        capture_output=True, text=True)
    except OSError as error:
        raise HubSetupError(f"{user} cannot run the kit's Python: {error}") from None
    if result.returncode != 0:
        raise HubSetupError(f"preparing the files of {user} failed:\n{result.stderr[-2000:]}")


def _ids(user):
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


def _run(*command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise HubSetupError(f"`{' '.join(command)}` failed: {result.stderr.strip()}"
                            + ("\n(a process of that user still runs: is another hub on this machine using its accounts? "
                               "Stop it first)" if command[0] == "usermod" and result.returncode == 8 else ""))
    return result
