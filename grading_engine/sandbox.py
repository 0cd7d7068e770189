"""The bubblewrap sandbox that grading kernels run in.

A grading process starts one sandbox, with the zygote of `preloaded_kernels` inside it, and every
kernel it grades with is forked there. Inside, a kernel sees:

- read-only: /usr, a few files of /etc, the Python environment it runs in, this package, and the data
  shipped with the assignment (MNIST), one copy for every kernel, where `$WEIGHT_INIT_DATA` says;
- its own submission's files, copied into `/home/student/<assignment>` (its working folder and HOME)
  from a host folder that only the grading process writes (the *inbox*, bound read-only), and a
  private /tmp; both are tmpfs of a fixed size, so a submission cannot fill the grader's disk;
- no network (a network namespace of its own): it talks to the grader over jupyter_client's `ipc`
  transport, through Unix sockets in a third small tmpfs that the grading process reaches as
  `/proc/<sandbox pid>/root/...` (the `kernels` link in the sandbox's host folder);
- its own PID namespace, with limits on processes, CPU time and (grading_engine/grading_kernel.py) memory.

Nothing else of the host is there: not the course folder (source/, the gradebook, other students'
submissions), not the instructor's home, not the grader's environment variables (`kernel_environment`).

Before every kernel the zygote resets the sandbox (grading_engine/kernel_zygote.py): it kills every process
but itself, empties the writable folders and copies the next submission in. Run as root, bubblewrap
keeps the zygote as root with only the capabilities to change its user, and kernels run as a user of
their own, which cannot signal, trace or outlast it; run as another user, kernels share the zygote's
user, and a kernel that stops or kills the zygote gets the sandbox replaced (`Zygote` in
preloaded_kernels).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ENGINE = Path(__file__).resolve().parent
HOME = "/home/student"
DISK = 256 * 2**20  # bytes, each of HOME and /tmp
SOCKETS_DISK = 2**20  # the kernels' connection files and sockets
PROCESSES = 512  # per sandbox, threads included (TensorFlow starts a few dozen)
CPU_SECONDS = 900  # per kernel process: far above a whole submission's grading (about 15 s)
KERNEL_UID_BASE = 2_000_000_000  # run as root: kernels get this plus the grading process's pid
# What of the grader's environment a kernel gets: the settings grading depends on, never credentials
# (by name: prefixes such as TF_ would pass on other tools' credentials, Terraform's TF_TOKEN_* among them)
PASSED_VARIABLES = {"LANG", "TZ", "PYTHONHASHSEED", "PYTHONWARNINGS", "MPLBACKEND", "KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "WEIGHT_INIT_BUDGET", "WEIGHT_INIT_KERNEL_MEMORY",
                    "NBGRADER_EXECUTION", "WEIGHT_INIT_DATA"}
PASSED_PREFIXES = ("LC_", "JPY_")  # the locale; jupyter_client's per-kernel variables
ETC = ["/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/fonts"]  # and a passwd and group of its own
HOW_TO_FIX = ("Install bubblewrap (Debian and Ubuntu: `apt-get install bubblewrap`) on a system that allows "
              "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0). "
              "To grade without a sandbox, which lets submissions read and change everything the grader can, "
              "pass --RestartingExecute.sandbox=False to nbgrader.")


FOLDER_PREFIX = "weight-init-sandbox-"  # then the grading process's pid


def remove_abandoned_folders():
    """Remove the host folders of sandboxes whose grading process is gone without closing them
    (killed: a Dask worker lost, a grading run stopped with SIGKILL)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(folder, ignore_errors=True)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing, or cannot create its namespaces on this machine."""


def kernel_environment(env, python):
    """The environment of a sandboxed kernel: the variables in `PASSED_VARIABLES` from `env`, and a PATH
    and HOME of the sandbox's."""
    kept = {k: v for k, v in env.items() if k in PASSED_VARIABLES or k.startswith(PASSED_PREFIXES)}
    return {**kept, "PATH": f"{Path(python).parent}:/usr/bin:/bin", "HOME": HOME, "USER": "student",
            "TMPDIR": "/tmp"}


def shipped_data():
    """The folder of the assignment's shipped data that kernels read (nbgrader_config.py names it), if any."""
    folder = os.environ.get("WEIGHT_INIT_DATA", "")
    return [os.path.realpath(folder)] if os.path.isdir(folder) else []


def _namespaces():
    as_root = os.geteuid() == 0
    # As root, bubblewrap is privileged: no user namespace, so that kernels can become another user
    return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *([] if as_root else ["--unshare-user"]), "--die-with-parent", "--new-session"]


def check():
    """Raise `SandboxUnavailable`, saying how to fix it, unless bubblewrap can start a sandbox here."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(f"bubblewrap (`bwrap`) is not installed, and grading runs student code in it. {HOW_TO_FIX}")
    result = subprocess.run(["bwrap", *_namespaces(), "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here: {result.stderr.strip()}. {HOW_TO_FIX}")


def _python_folders(python):
    """The folders an interpreter needs: its environment and the installation that environment is made from."""
    out = subprocess.run([python, "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [out[0], out[1], os.path.dirname(os.path.realpath(python))]


class Sandbox:
    """A sandbox's host side: its folder (the inbox, the link to its sockets), and the bubblewrap command
    that starts a command in it."""

    def __init__(self, python):
        check()
        remove_abandoned_folders()
        # (short: the kernels' socket paths are under it, and a Unix socket's path has 107 bytes at most)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self.inbox = self.folder / "inbox"  # the next submission's files, written by the grading process only
        self.inbox.mkdir()
        self.kernels = self.folder / "kernels"  # inside: a tmpfs; outside: a link into the sandbox, once started
        self.uid = KERNEL_UID_BASE + os.getpid() if os.geteuid() == 0 else None
        # Who the kernel is, for code that asks (pwd.getpwuid): "student", not the host's users
        uid = self.uid if self.uid is not None else os.getuid()
        (self.folder / "passwd").write_text(f"root:x:0:0::/root:/bin/sh\nstudent:x:{uid}:{uid}::{HOME}:/bin/sh\n")
        (self.folder / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\n")
        self.python = python
        self.pid = None

    def workdir(self, folder):
        """Where a submission graded in host folder `folder` is, inside."""
        return f"{HOME}/{Path(folder).name}"

    def command(self, argv, info_fd):
        """bubblewrap's command line that runs `argv` in this sandbox, writing its pid to `info_fd`."""
        args = ["bwrap", *_namespaces(), "--info-fd", str(info_fd), "--chdir", "/",
                "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                "--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "0755", "--dir", "/etc"]
        for path in ETC:
            args += ["--ro-bind-try", path, path]
        args += ["--ro-bind", str(self.folder / "passwd"), "/etc/passwd", "--ro-bind", str(self.folder / "group"), "/etc/group"]
        # the writable places, each of a fixed size; folders bubblewrap makes on the way stay readable
        args += ["--perms", "0777", "--size", str(DISK), "--tmpfs", "/tmp",
                 "--perms", "0755", "--dir", "/home", "--perms", "0777", "--size", str(DISK), "--tmpfs", HOME]
        args += self._parents(self.kernels) + ["--perms", "0777", "--size", str(SOCKETS_DISK), "--tmpfs", str(self.kernels)]
        for path in sorted(set(_python_folders(self.python) + [str(ENGINE), str(self.inbox)] + shipped_data())):
            if not path.startswith("/usr/"):
                args += self._parents(path) + ["--ro-bind", path, path]
        if self.uid is not None:  # the zygote's only privilege: to run kernels as their own user
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return args + ["--", *argv]

    @staticmethod
    def _parents(path):
        """Make `path`'s parent folders inside readable by all (bubblewrap's own are its user's only)."""
        parents = [p for p in Path(path).parents if str(p) not in ("/", "/usr", "/tmp", "/home", HOME)]
        return [arg for p in reversed(parents) for arg in ("--perms", "0755", "--dir", str(p))]

    def zygote_config(self):
        """What the zygote needs to know of the sandbox to reset it and start kernels (grading_engine/kernel_zygote.py)."""
        return {"uid": self.uid, "home": HOME, "inbox": str(self.inbox), "sockets": str(self.kernels),
                "empty": ["/tmp", HOME, str(self.kernels)], "keep": [str(self.inbox), str(self.kernels), *shipped_data()],
                "processes": PROCESSES, "cpu_seconds": CPU_SECONDS}

    def started(self, info_file):
        """Record the sandbox's pid from bubblewrap's info (read from `info_file`), and link its sockets' folder."""
        self.pid = json.loads(info_file.read())["child-pid"]
        self.kernels.symlink_to(f"/proc/{self.pid}/root{self.kernels}")

    def host_pid(self, pid):
        """The pid the host knows the sandbox's process `pid` by."""
        namespace = os.stat(f"/proc/{self.pid}/ns/pid").st_ino
        for entry in os.scandir("/proc"):
            try:
                if not entry.name.isdigit() or os.stat(f"/proc/{entry.name}/ns/pid").st_ino != namespace:
                    continue
                with open(f"/proc/{entry.name}/status") as status:
                    nspid = next(line for line in status if line.startswith("NSpid:")).split()
            except (OSError, StopIteration):  # (processes come and go; others' may be closed to us)
                continue
            if int(nspid[-1]) == pid:
                return int(entry.name)
        raise ProcessLookupError(f"no process {pid} in the sandbox")

    def stage(self, folder, notebooks_from=None):
        """Put the files of host folder `folder` in the inbox, for the zygote to copy into the sandbox;
        its notebooks from folder `notebooks_from` instead, where given. nbgrader writes each graded
        notebook into `folder` (its autograded folder), hidden tests and all: a later notebook's kernel
        must find the student's own notebooks there (Part 3 reads Part 2's), never graded ones."""
        for entry in self.inbox.iterdir():  # (the folder itself stays: the sandbox has it bound)
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        # a link stays a link: inside, it points at nothing of the host's
        shutil.copytree(folder, self.inbox, symlinks=True, dirs_exist_ok=True,
                        ignore=(lambda here, names: [n for n in names if n.endswith(".ipynb")]
                                if notebooks_from and Path(here) == Path(folder) else []))
        for notebook in sorted(Path(notebooks_from).glob("*.ipynb")) if notebooks_from else []:
            if notebook.is_file() and not notebook.is_symlink():
                shutil.copyfile(notebook, self.inbox / notebook.name)
        for here, _, files in os.walk(self.inbox):  # readable by the kernels' own user
            os.chmod(here, 0o755)
            for name in files:
                path = os.path.join(here, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)

    def close(self):
        """Remove the host folder (the sandbox ends with its zygote's bubblewrap)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def verifier_command(argv, python, helpers):
    """bubblewrap's command line that runs the verifier (grading_engine/verifier/) in a sandbox of its own:
    read-only /usr, its Python environment, this package, the assignment's helper modules (the `*.py` of
    folder `helpers`, nothing else of source/) and the shipped data; a private /tmp; no network. Nothing
    of any submission, which the verifier only ever sees as data."""
    args = ["bwrap", *_namespaces(), "--chdir", "/tmp", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--dir", "/etc"]
    for path in ETC:
        args += ["--ro-bind-try", path, path]
    args += ["--size", str(DISK), "--tmpfs", "/tmp"]
    for path in sorted(set(_python_folders(python) + [str(ENGINE)] + shipped_data())):
        if not path.startswith("/usr/"):
            args += Sandbox._parents(path) + ["--ro-bind", path, path]
    args += Sandbox._parents(helpers) + ["--perms", "0755", "--dir", str(helpers)]
    for module in sorted(Path(helpers).glob("*.py")):
        args += ["--ro-bind", str(module), str(module)]
    return args + ["--", *argv]


def stop(process):
    """End a sandbox: its bubblewrap process is pid 1's parent; with it, every process inside goes."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


if __name__ == "__main__":  # python -m grading_engine.sandbox: can this machine grade in a sandbox?
    try:
        check()
    except SandboxUnavailable as error:
        sys.exit(str(error))
    print("bubblewrap can start a sandbox here")
