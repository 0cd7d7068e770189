"""The student's chair, in a real browser: a copy of the release outside the repository (no
`nbgrader_config.py` above it, none of the instructor's settings in the environment), opened in
JupyterLab with nbgrader's extension from an environment made of the release's own
requirements.txt alone (.venv-student, which `make test` installs), each notebook run top to bottom
on the full budget as a student runs it, then checked with the Validate button, as the student
would; and Part 4's explorer, played with."""
import os
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser import browser, jupyter_lab, kernel_pid  # noqa: F401  (`browser` is a fixture)
from course import ASSIGNMENT, ROOT
from tools.grading import build_submission, read_manifest

RELEASE = ROOT / "release" / ASSIGNMENT
STUDENT_ENVIRONMENT = ROOT / ".venv-student"  # from release/weight_init/requirements.txt alone (the Makefile)
NOTEBOOKS = sorted(path.stem for path in RELEASE.glob("*.ipynb"))
SAMPLES = {sample.name: sample for sample in read_manifest()}
KERNEL_READY_S = 60  # a kernel starts in a few seconds; one not ready within a minute will not be
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# On the full budget, each model's training says which initializer it starts from, epoch by epoch
PROGRESS = {"part3_applying": ["Training with Zeros:", "Training with your he_normal_init:", "Epoch 5/5"],
            "part4_deep_networks": ["SGD, 30 layers, from GlorotNormal:", "Adam, 30 layers, from HeNormal:", "Epoch 2/2"]}


def student_folder(dest, sample):
    """What a student has: the released folder (data and helpers included) outside the repository,
    with `sample`'s answers typed in."""
    shutil.copytree(RELEASE, dest / ASSIGNMENT, ignore=shutil.ignore_patterns("*.ipynb"))
    build_submission(sample, ROOT / "source" / ASSIGNMENT, RELEASE, dest / ASSIGNMENT)
    assert not any((parent / "nbgrader_config.py").exists() for parent in [dest, *dest.parents])
    return dest


def student_environment(home):
    """This machine's environment without anything the kit's tests or nbgrader's config set, nor
    pytest's own variables: with PYTEST_CURRENT_TEST set, ipykernel would not copy what the kernel
    writes to its stderr file descriptor into the cells, and the test would miss TensorFlow's logs."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WEIGHT_INIT_", "NBGRADER_", "JUPYTER", "TF_", "PYTHON", "PYTEST", "VIRTUAL_ENV"))}
    # nor the kit's environment's programs (make puts them first in PATH): only the students' own
    kits = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(folder for folder in env.get("PATH", "").split(os.pathsep) if folder != kits)
    return {**env, "PATH": path, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}


def students_jupyter_lab(folder, home):
    """JupyterLab on `folder`, from the students' environment, in a student's environment variables."""
    if not (STUDENT_ENVIRONMENT / ".installed").exists():
        pytest.fail(f"{STUDENT_ENVIRONMENT} is missing: `make test` installs it from release/weight_init/requirements.txt")
    return jupyter_lab(folder, env=student_environment(home), log=home / "jupyter.log", environment=STUDENT_ENVIRONMENT)


def open_notebook(browser, lab, path):
    """Open `path` alone (`reset` forgets the tabs of earlier visits) and wait until its kernel is ready:
    the server's session for the notebook has a kernel that has answered, and JupyterLab's status bar
    shows it idle. Return the kernel's `KernelWatch`."""
    browser.page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")
    deadline = time.monotonic() + KERNEL_READY_S
    while True:
        session = lab.session(path)
        if session and session["kernel"]["execution_state"] == "idle" and "| Idle" in browser.page.inner_text(".jp-StatusBar-Widget"):
            return KernelWatch(lab, path, session["kernel"]["id"])
        if (session and session["kernel"]["execution_state"] == "dead") or time.monotonic() > deadline:
            browser.screenshot(f"{path} kernel not ready")
            pytest.fail(f"{path}: the kernel was not ready {KERNEL_READY_S} s after opening the notebook\n{lab.diagnosis()}")
        time.sleep(0.5)


class KernelWatch:
    """A notebook's kernel, as the server knows it and as a process: a test fails as soon as it dies or
    is restarted (its cells would never finish), with the server's log, where the kernel writes its stderr."""

    def __init__(self, lab, path, kernel_id):
        self.lab, self.path, self.kernel_id = lab, path, kernel_id
        self.pid = kernel_pid(kernel_id)

    def check(self):
        state = next((k["execution_state"] for k in self.lab.api("kernels") if k["id"] == self.kernel_id), "gone")
        pid = kernel_pid(self.kernel_id)
        if state in ("dead", "gone") or pid != self.pid:
            pytest.fail(f"{self.path}: the kernel died or was restarted (the server says {state}; its process was "
                        f"{self.pid}, now {pid})\n{self.lab.diagnosis()}")


def run_all_cells(browser, kernel, timeout_s=600):
    """Run > Run All Cells, as a student clicks it, and wait until no cell is queued or running, checking
    the kernel every few seconds."""
    page = browser.page
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
                    const idle = document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
                    return idle && prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p));
                }""", timeout=3000, polling=500)
            return
        except PlaywrightTimeout:
            kernel.check()
            if time.monotonic() > deadline:
                browser.screenshot("run all cells timed out")
                pytest.fail(f"{kernel.path}: cells still running {timeout_s} s after Run All Cells\n{kernel.lab.diagnosis()}")


def validate(browser):
    """Click Validate and return the text of nbgrader's "Validation Results" dialog, closing it."""
    page = browser.page
    page.click(".validate-button")
    dialog = page.wait_for_selector('.jp-Dialog:has-text("Validation Results")', timeout=300_000)
    text = dialog.inner_text()
    browser.screenshot("validation results")
    page.click('.jp-Dialog button:has-text("Ok")')
    return text


def stderr_outputs(browser):
    return [element.text_content()[:300] for element in browser.page.query_selector_all(STDERR)]


@pytest.fixture(scope="module")
def student_server(tmp_path_factory):
    """JupyterLab on the student's folder of model solutions, in a student's environment."""
    home = tmp_path_factory.mktemp("student-home")
    folder = student_folder(tmp_path_factory.mktemp("student"), SAMPLES["complete"])
    with students_jupyter_lab(folder, home) as lab:
        yield lab


@pytest.fixture
def student_lab(student_server):
    """The student's JupyterLab, left with no kernel running once the test is done (as a student who
    closes each notebook before the next; four kernels with TensorFlow would hold gigabytes)."""
    yield student_server
    student_server.shut_down_kernels()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_correct_notebook_runs_without_stderr_and_validates(browser, student_lab, notebook):
    """Run every cell of the model solution in the browser: no stderr output anywhere, and Validate says Success."""
    kernel = open_notebook(browser, student_lab, f"{ASSIGNMENT}/{notebook}.ipynb")
    browser.screenshot(f"{notebook} opened")
    python = Path(f"/proc/{kernel.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    assert python.startswith(f"{STUDENT_ENVIRONMENT}/"), f"{notebook}: the kernel runs {python}, not the students' environment"
    run_all_cells(browser, kernel)
    browser.screenshot(f"{notebook} after run all")
    assert not stderr_outputs(browser), f"{notebook}: cells show stderr output: {stderr_outputs(browser)}"
    if notebook in PROGRESS:
        progress = browser.page.locator('.jp-OutputArea-output:has-text("Epoch 1/")').first
        progress.scroll_into_view_if_needed()
        browser.screenshot(f"{notebook} training progress")
        shown = browser.page.text_content(".jp-Notebook")
        assert all(line in shown for line in PROGRESS[notebook]), f"{notebook}: no progress lines {PROGRESS[notebook]}"
    if notebook == "part4_deep_networks":
        play_with_the_explorer(browser)
    result = validate(browser)
    assert "Success! Your notebook passes all the tests." in result, f"{notebook}: Validate said {result[:1500]}"


def play_with_the_explorer(browser):
    """In Part 4's explorer, drag the depth slider's handle to the left and pick tanh from the menu, as a
    student would: is the figure drawn anew each time, with no message instead?"""
    page = browser.page
    explorer = page.locator(".widget-vbox").filter(has=page.locator(".explorer-figure")).first
    explorer.scroll_into_view_if_needed()
    picture, message = explorer.locator(".explorer-figure"), explorer.locator(".explorer-message")
    depth = explorer.locator(".widget-readout").first
    assert picture.get_attribute("src"), "the explorer shows no figure"
    assert depth.text_content().strip() == "30"
    browser.screenshot("explorer at depth 30")
    for change, act in [("dragging the depth slider", lambda: _drag(page, explorer.locator(".noUi-handle").first, -60)),
                        ("picking tanh", lambda: explorer.locator(".widget-dropdown select").first.select_option("tanh"))]:
        before = picture.get_attribute("src")
        act()
        page.wait_for_function("([element, before]) => element.getAttribute('src') !== before",
                               arg=[picture.element_handle(), before], timeout=30_000)
        browser.screenshot(f"explorer after {change}")
        assert not message.text_content().strip(), f"after {change} the explorer says {message.text_content()!r}"
    moved = int(depth.text_content())
    assert moved < 30, f"the depth slider reads {moved} after its handle was dragged to the left"


def _drag(page, handle, dx):
    """Press the mouse on `handle`, move it `dx` pixels sideways in steps, and let go."""
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=10)
    page.mouse.up()


@pytest.fixture(scope="module")
def struggling_server(tmp_path_factory):
    """JupyterLab on a student's folder holding the blank release and the partly wrong answers."""
    home = tmp_path_factory.mktemp("struggling-home")
    folder = tmp_path_factory.mktemp("struggling")
    student_folder(folder / "blank", SAMPLES["blank"])
    student_folder(folder / "partly-wrong", SAMPLES["partly-wrong"])
    with students_jupyter_lab(folder, home) as lab:
        yield lab


@pytest.fixture
def struggling_lab(struggling_server):
    yield struggling_server
    struggling_server.shut_down_kernels()


@pytest.mark.parametrize("student, notebook, expected", [
    ("blank", "part2_techniques", ["NotImplementedError", "Check compute_fans on dense kernels"]),
    ("partly-wrong", "part2_techniques", ["xavier_variance(100, 100) should be 0.01, not 0.005"]),
])
def test_validate_names_the_failing_tests(browser, struggling_lab, student, notebook, expected):
    """Does Validate, on a blank or a wrong notebook, list the failing tests with their messages?"""
    open_notebook(browser, struggling_lab, f"{student}/{ASSIGNMENT}/{notebook}.ipynb")
    result = validate(browser)
    assert "VALIDATION FAILED" in result or "The following cell failed" in result, result[:1500]
    for message in expected:
        assert message in result, f"Validate did not show {message!r}: {result[:1500]}"
