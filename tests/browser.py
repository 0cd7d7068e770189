"""A real JupyterLab in a real browser, for the tests that see the kit as students and graders do:
a `jupyter lab` server started in a folder of the test's, and Debian's Chromium driven by Playwright.
Each step saves a screenshot under `screenshots/<test>/`, for a person to look at."""
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from course import ROOT
from course.nbgrader_cli import path_with_this_environment, user_environment

CHROMIUM = "/usr/bin/chromium"  # Debian's package: Playwright downloads no browser of its own here
SCREENSHOTS = ROOT / "screenshots"
# As root and offline: no sandbox (it needs a user namespace per renderer), and none of the
# background connections that a closed network refuses
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


class Lab:
    """A running `jupyter lab`: its address and token, its REST API, and what to say when it fails."""

    def __init__(self, url, token, log):
        self.url, self.token, self.log = url, token, Path(log)

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def session(self, path):
        """The server's session for the notebook at `path` (relative to its root), or None."""
        return next((s for s in self.api("sessions") if s["path"] == path), None)

    def shut_down_kernels(self):
        """End every session and its kernel: a browser test leaves no kernel running."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def diagnosis(self, lines=60):
        """What a failing browser test should show: the server's sessions and kernels (with whether each
        kernel's process still runs) and the end of its log, where kernels write their own stderr."""
        try:
            kernels = [{**kernel, "process": _kernel_process(kernel["id"])} for kernel in self.api("kernels")]
            state = f"sessions: {self.api('sessions')}\nkernels: {kernels}"
        except OSError as error:
            state = f"the server does not answer: {error}"
        log = self.log.read_text(errors="replace").splitlines()[-lines:] if self.log.exists() else ["(no log)"]
        return f"{state}\nend of {self.log}:\n" + "\n".join(log)


def kernel_pid(kernel_id):
    """The pid of the kernel process started with kernel `kernel_id`'s connection file, or None."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if f"kernel-{kernel_id}.json".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
        except OSError:
            continue
    return None


def _kernel_process(kernel_id):
    pid = kernel_pid(kernel_id)
    if pid is None:
        return "gone"
    try:
        return f"pid {pid}, " + next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                                     if line.startswith("State:"))
    except (OSError, StopIteration):
        return f"pid {pid}, gone since"


@contextlib.contextmanager
def jupyter_lab(root_dir, log, env=None, environment=None):
    """Start `jupyter lab` serving `root_dir` on a free port, from the Python environment `environment`
    (a virtual environment's folder; default: this one), with `env` as its whole environment (that
    environment's bin folder first in PATH), its output (and its kernels') in `log`; yield a `Lab`.
    On the way out, every kernel it runs is shut down and the server stopped."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    # JupyterLab's own settings, fresh: no question about fetching Jupyter's news over every screenshot
    settings = Path(tempfile.mkdtemp(prefix="weight-init-lab-settings-"))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = env if env is not None else user_environment()
    if environment:  # its programs first: the server, and the kernels it starts, run that environment's Python
        bin_dir = Path(environment) / "bin"
        env = {**env, "PATH": os.pathsep.join([str(bin_dir), *[p for p in env.get("PATH", "").split(os.pathsep) if p]]),
               "VIRTUAL_ENV": str(environment)}
    else:
        bin_dir, env = Path(sys.executable).parent, {**env, "PATH": path_with_this_environment()}
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    output = open(log, "w")
    server = subprocess.Popen(
        [str(bin_dir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--allow-root",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root_dir, env=env, stdout=output, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                lab.api("status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start (exit {server.poll()}):\n{lab.diagnosis()}")
                time.sleep(0.5)
        yield lab
    finally:
        with contextlib.suppress(OSError):
            lab.shut_down_kernels()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        output.close()
        shutil.rmtree(settings, ignore_errors=True)


class Browser:
    """One Chromium page, and numbered screenshots of it in `folder`."""

    def __init__(self, page, folder):
        self.page, self.folder, self.shots = page, folder, 0

    def screenshot(self, step):
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def browser(request):
    """A Chromium page (1400 x 1000); screenshots go to `screenshots/<test name>/`, emptied first."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test installs it)")
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            yield Browser(page, folder)
        finally:
            chromium.close()
    print(f"screenshots: {folder}")
