"""A real JupyterLab in a real browser, for the tests that see the kit as students and graders do:
a `jupyter lab` server started in a folder of the test's, and Debian's Chromium driven by Playwright.
Each step saves a screenshot under `screenshots/<test>/`, for a person to look at."""
import contextlib
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

from tools.grading import ROOT, path_with_this_environment

CHROMIUM = "/usr/bin/chromium"  # Debian's package: Playwright downloads no browser of its own here
SCREENSHOTS = ROOT / "screenshots"
# As root and offline: no sandbox (it needs a user namespace per renderer), and none of the
# background connections that a closed network refuses
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@contextlib.contextmanager
def jupyter_lab(root_dir, env=None, log=None):
    """Start `jupyter lab` serving `root_dir` on a free port, with `env` as its whole environment
    (this environment's PATH first); yield its base URL with the login token."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    # JupyterLab's own settings, fresh: no question about fetching Jupyter's news over every screenshot
    settings = Path(tempfile.mkdtemp(prefix="weight-init-lab-settings-"))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {**(env if env is not None else os.environ), "PATH": path_with_this_environment(),
           "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    log = open(log or os.devnull, "w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--allow-root",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start (exit {server.poll()}); see {log.name}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
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
