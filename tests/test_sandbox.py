"""The grading sandbox (grading_engine/sandbox.py) from outside: the bank's attacks on the grader
succeed without it (so their failure in tests/test_bank.py is the sandbox's doing), and autograde
refuses to grade where it cannot start one."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from attacks import ATTACKS, attempt_lines, background_processes, grade_in_hostile_world
from course import ASSIGNMENT, ROOT
from tools.grading import Sample, make_course, read_manifest, submit

# The attacks that do this machine no harm when they succeed (not the fork bomb, not the disk filler)
HARMLESS = [name for name in ATTACKS if not name.startswith(("fork-bomb", "fills-the-disk"))]


def test_the_attacks_succeed_without_the_sandbox(tmp_path):
    """With the sandbox turned off by the instructor's explicit flag, do the bank's attacks get what they want?"""
    root = make_course(tmp_path / "course")
    bank = {entry.name: entry for entry in read_manifest(ROOT / "tests" / "bank", "expected_scores.csv")}
    for name in HARMLESS:
        submit(bank[name], root)
    submit(Sample("complete-run-1", "solutions", notebooks={"part1_understanding"}), root)  # the friend copied from
    try:
        run = grade_in_hostile_world(root, tmp_path / "home", "--RestartingExecute.sandbox=False")
    finally:
        for pid in background_processes():
            os.kill(pid, signal.SIGKILL)
    for name in HARMLESS:
        lines = attempt_lines(root, name)
        expected = "ATTEMPT started" if name.startswith("leaves-a-background-process") else "ATTEMPT succeeded"
        assert len(lines) == 1 and lines[0].startswith(expected), f"{name}: {lines}"
    assert run.connections == 1 and run.left_behind


def test_autograde_refuses_without_bubblewrap(tmp_path):
    """On a machine without bubblewrap, does autograde grade nothing and say how to fix it?"""
    root = make_course(tmp_path / "course")
    submit(Sample("complete", "solutions", notebooks={"part1_understanding"}), root)
    bin_folder = Path(sys.executable).parent
    result = subprocess.run([str(bin_folder / "nbgrader"), "autograde", ASSIGNMENT], cwd=root, capture_output=True,
                            text=True, env={**os.environ, "PATH": str(bin_folder)})  # no /usr/bin/bwrap
    assert result.returncode != 0
    assert "bubblewrap (`bwrap`) is not installed" in result.stderr and "apt-get install bubblewrap" in result.stderr
    assert "--RestartingExecute.sandbox=False" in result.stderr
    assert not (root / "autograded" / "complete" / ASSIGNMENT).exists(), "a submission was graded without the sandbox"


def test_a_stopped_zygote_gets_the_sandbox_replaced(tmp_path, monkeypatch):
    """A kernel running as the zygote's user could stop or kill it: is the sandbox then replaced, the
    old one ended, and the next submission graded in the new one?"""
    import nbformat

    import grading_engine.preloaded_kernels as preloaded
    from grading_engine.nbgrader_plugins import RestartingExecute

    def grade(folder):
        folder.mkdir()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; print(os.getcwd())")])
        RestartingExecute(timeout=60, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(folder)}})
        RestartingExecute.shut_down_kernel()
        return nb.cells[0].outputs[0].text

    monkeypatch.setattr(preloaded, "RESET_TIMEOUT", 3)
    try:
        assert grade(tmp_path / "first") == "/home/student/first\n"
        old = preloaded._zygote
        os.kill(old.sandbox.host_pid(2), signal.SIGSTOP)  # the zygote: pid 2, after bubblewrap's init
        assert grade(tmp_path / "second") == "/home/student/second\n"
        assert preloaded._zygote is not old and old.process.poll() is not None
        assert not old.sandbox.folder.exists()
    finally:
        preloaded.stop_zygote()


def test_a_killed_grading_process_leaves_no_sandbox_folder_behind(tmp_path, monkeypatch):
    """Are the host folders of sandboxes whose grading process died (SIGKILL: no chance to close them)
    removed when the next sandbox starts, and those of living ones kept?"""
    import tempfile

    from grading_engine import sandbox

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    abandoned, alive = tmp_path / f"weight-init-sandbox-{gone.pid}-x1", tmp_path / f"weight-init-sandbox-{os.getpid()}-x2"
    for folder in (abandoned, alive):
        (folder / "inbox").mkdir(parents=True)
    new = sandbox.Sandbox(sys.executable)
    try:
        assert not abandoned.exists() and alive.exists() and new.folder.parent == tmp_path
    finally:
        new.close()


def test_a_reset_by_a_grader_that_is_not_root_leaves_the_mounts_under_tmp_alone():
    """Graded by a user that is not root (the hub's course account), kernels run as that user, so the folders
    bubblewrap makes on the way to its read-only mounts are theirs; with the kit under /tmp, the reset that
    empties /tmp between kernels walked into the engine's mount and failed ("Read-only file system"). The
    reset, run as `nobody` in such a sandbox: what a kernel wrote goes, the mount and the folders leading to
    it stay."""
    zygote = (ROOT / "grading_engine" / "kernel_zygote.py").read_text()
    outside = Path(tempfile.mkdtemp(prefix="weight-init-mount-"))
    try:
        outside.chmod(0o755)
        engine = outside / "kit" / "grading_engine"
        engine.mkdir(parents=True)
        (engine / "module.py").write_text("# the engine\n")
        script = zygote.replace('if __name__ == "__main__":', "if False:") + f"""
os.makedirs("/tmp/written/by/a/kernel")
open("/tmp/written/by/a/kernel/notes", "w").write("x")
open("/tmp/scratch", "w").write("x")
_empty("/tmp", keep=[])
print(sorted(os.listdir("/tmp")), sorted(os.listdir({str(outside)!r})), os.path.exists({str(engine / "module.py")!r}))
"""
        sandbox = ["bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                   "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
                   "--tmpfs", "/tmp", "--dir", str(outside), "--dir", str(engine.parent), "--ro-bind", str(engine), str(engine),
                   "--", "/usr/bin/python3", "-"]
        result = subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--", *sandbox], input=script, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin"}, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == f"[{outside.name!r}] ['kit'] True", result.stdout
    finally:
        shutil.rmtree(outside)
