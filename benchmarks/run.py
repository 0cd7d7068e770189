"""`make bench`: the kit's speed, measured side by side in one run on this machine.

1. The assignment's Part 3 code as written (`benchmarks/assignment_original.py`) against the kit's
   Part 3 notebook on the full budget (same data, epochs, batch size, optimizer), as a ratio, with
   both runs' test accuracies.
2. Autograding one complete submission (all notebooks, kernel starts included), in three grading
   processes that take turns, one submission each per round: kernels forked from a preloaded zygote
   in the sandbox (the kit's way), the same without the sandbox, and kernels started afresh; and as
   one `nbgrader autograde` command, alternating: the kit's way, the same with the tests run in the
   kernel instead of the verifier (grading_engine/verifier/), and nbgrader's kernel per notebook; the
   verifier's crossings (questions to the kernel, bytes, seconds) and its peak memory.
3. Class throughput on the same 20 submissions: `grading_engine.cluster` on a LocalCluster of 1 and
   of 2 workers, and the process pool it replaced (`benchmarks/pool_autograde.py`) with 2.
4. Peak memory of a worker's largest process.
5. Results: the disk a graded student takes, the bytes a cluster result carries, how many results
   the instructor's machine writes per second (autograded folder and gradebook, sqlite and PostgreSQL),
   the scheduler's cost per task, and what these allow on many machines.
6. Part 4's explorer: how long a change of one of its controls takes to redraw (target: under 1 s).
7. Grading written answers by question: decisions, suggestions and keystrokes on the sample class, and a
   generated class of 300 (groups, opening a question, the copying report): benchmarks/grading_by_question.py.

    python -m benchmarks.run               # all of it (make bench)
    python -m benchmarks.run --sections 2 5 6 7

Times are wall-clock seconds; ratios are what to compare across machines. The console shows the
rows only: what the processes measured say (TensorFlow, Dask, Jupyter) goes to bench.log.
"""
import argparse
import contextlib
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from course.postgres import postgres_server
from grading_engine.cluster import COURSE_FILES, pack, pack_submission, record_cells, start_client, store_result
from benchmarks.grading_by_question import section_7
from tools.grading import Sample, build_submission, make_course, submit

COMPLETE = Sample("complete", "solutions")
LOG = ROOT / "bench.log"
# Section 2's ways of grading one submission, each in a grading process of its own
WAYS = {"kernels forked from a preloaded zygote in the sandbox (the kit's default)": (),
        "the same without the sandbox (sandbox=False)": ("--RestartingExecute.sandbox=False",),
        "kernels started afresh, without the sandbox (preload_kernels=False)":
            ("--RestartingExecute.sandbox=False", "--RestartingExecute.preload_kernels=False")}
ACCURACY = re.compile(r"(Zero|Random|Xavier|He) Initialization - Test Loss: [\d.]+, Test Accuracy: ([\d.]+)")
# RestartingExecute's line for each notebook graded with the verifier
VERIFIER_LINE = re.compile(r"Verifier: (\d+) questions to the kernel, (\d+) bytes, ([\d.]+) s; its peak memory (\d+) bytes")
# RestartingExecute's line for each notebook: where its time went (grading_engine/nbgrader_plugins.py, PHASES)
PHASES_LINE = re.compile(r"Phases: (\{.*\})")
KIT_ACCURACY = re.compile(r"^(Zeros|RandomNormal\(0, 0\.05\)|GlorotNormal|HeNormal)\s+[\d.]+\s+([\d.]+)$", re.MULTILINE)


def full_budget_env():
    return {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "WEIGHT_INIT_BUDGET")}


def run_assignment_code():
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "benchmarks/assignment_original.py"], cwd=ROOT, env=full_budget_env(),
                            capture_output=True, text=True, check=True)
    return time.perf_counter() - started, dict(ACCURACY.findall(result.stdout))


def run_kit_part3(workdir):
    """Execute a complete student's Part 3 as a student would, on the full budget."""
    folder = workdir / "student"
    shutil.copytree(ROOT / "release" / ASSIGNMENT, folder)
    build_submission(COMPLETE, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, folder)
    nb = nbformat.read(folder / "part3_applying.ipynb", as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
                   ).execute(env=full_budget_env())  # the kernel's environment
    seconds = time.perf_counter() - started
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return seconds, dict(KIT_ACCURACY.findall(printed))


def median_and_all(times):
    return f"{statistics.median(times):5.1f} s  (all: {', '.join(f'{t:.1f}' for t in times)})"


def submit_complete(course, names):
    for name in names:
        submit(COMPLETE, course, student=name)


def section_1(tmp):
    assignment_s, assignment_acc = run_assignment_code()
    kit_s, kit_acc = run_kit_part3(tmp)
    print("1. Part 3 on the full budget (full MNIST, 5 epochs, batch 32, Adam)")
    print(f"   assignment's code, 4 models:           {assignment_s:6.1f} s")
    print(f"   kit's notebook, 5 models (+ your He):  {kit_s:6.1f} s")
    print(f"   speed-up: {assignment_s / kit_s:.2f}x for the whole run, "
          f"{(assignment_s / 4) / (kit_s / 5):.2f}x per model trained")
    names = [("Zero", "Zeros"), ("Random", "RandomNormal(0, 0.05)"), ("Xavier", "GlorotNormal"), ("He", "HeNormal")]
    for ours, kits in names:
        print(f"   test accuracy {kits:<22} assignment {assignment_acc.get(ours, '?'):>7}   kit {kit_acc.get(kits, '?'):>7}")


def section_2(course, rounds=6):
    """Per-submission times of each of `WAYS`, taking turns; the sandbox's cost. Returns the kit's
    way's median and one of its results (for section 5)."""
    singles = [f"single-{n}" for n in range(rounds + 1)]
    submit_complete(course, singles)
    files = pack(course, COURSE_FILES)
    times = {way: [] for way in WAYS}
    with contextlib.ExitStack() as stack:
        graders = {way: stack.enter_context(ProcessPoolExecutor(1, mp_context=_spawn(), initializer=_quiet_stderr))
                   for way in WAYS}
        for n, student in enumerate(singles):  # the first round starts each process's zygote: left out
            for way, options in WAYS.items():
                result = graders[way].submit(grade_here, student, pack_submission(course / "submitted" / student / ASSIGNMENT),
                                             files, options).result()
                assert "error" not in result, result["error"]
                if n:
                    times[way].append(result["seconds"])
                if n == 1 and not options:
                    kept = result  # (the kit's way's)
    print(f"\n2. Autograding one complete submission (all four notebooks, grading budget), {rounds} rounds, "
          "each way in a grading process of its own, taking turns")
    for way, way_times in times.items():
        print(f"   {way}: median {median_and_all(way_times)}")
    sandboxed, unsandboxed, afresh = times.values()
    per_round = [a / b - 1 for a, b in zip(sandboxed, unsandboxed)]
    print(f"   the sandbox: {statistics.median(sandboxed) / statistics.median(unsandboxed) - 1:+.1%} time per "
          f"submission (medians); {statistics.median(per_round):+.1%} the median of the {rounds} rounds' own ratios")
    print(f"   preloaded kernels: {statistics.median(afresh) / statistics.median(unsandboxed):.2f}x "
          "faster than kernels started afresh")
    # One `nbgrader autograde` command, nbgrader's start-up included, alternating: the kit's way (one
    # kernel per submission, tests in the verifier), the same with the tests in the kernel, and
    # nbgrader's kernel per notebook
    ways = {"the kit's way": [],
            "the same, tests in the kernel (verifier off)": ["--RestartingExecute.verifier=False"],
            "a kernel per notebook": ["--RestartingExecute.one_kernel_per_submission=False"]}
    commands, crossings, phases = {way: [] for way in ways}, [], []
    for _ in range(4):
        for way, options in ways.items():
            started, wall = time.perf_counter(), time.time()
            log = nbgrader("autograde", ASSIGNMENT, f"--student={singles[0]}", "--force", *options, course_root=course).stderr
            commands[way].append(time.perf_counter() - started)
            if not options:
                crossings.append([[float(n) for n in line] for line in VERIFIER_LINE.findall(log)])
                phases.append((commands[way][-1], phase_table(wall, time.time(), log)))
    for way, way_times in commands.items():
        print(f"   `nbgrader autograde --student`, {way}, median of 4: {median_and_all(way_times)}")
    kit, untrusted, per_notebook = (statistics.median(way_times) for way_times in commands.values())
    print(f"   one kernel per submission: {per_notebook / kit:.2f}x faster than a kernel per notebook")
    print(f"   the verifier (tests in a process of their own, the student's names as data): {kit / untrusted - 1:+.1%} "
          "time per submission")
    notebooks = crossings[-1]  # (the same every round: the same questions)
    questions, sent = sum(n[0] for n in notebooks), sum(n[1] for n in notebooks)
    print(f"   its crossings: {questions:.0f} questions to the kernel a submission, {sent / max(questions, 1) / 1024:.0f} KiB "
          f"each on average, {statistics.median(sum(n[2] for n in r) for r in crossings):.2f} s a submission in all "
          f"(median of 4); the verifier's peak memory {max(n[3] for n in notebooks) / 2**20:.0f} MiB")
    total, table = sorted(phases)[len(phases) // 2]  # the median run's
    print(f"   where the time of one `nbgrader autograde --student` goes (the kit's way, its median run, {total:.1f} s):")
    for phase, seconds in table:
        print(f"     {phase:<78} {seconds:6.2f} s  {seconds / total:6.1%}")
    counted = sum(seconds for phase, seconds in table if not phase.startswith("  "))
    print(f"     the phases add up to {counted:.2f} s, {counted / total:.1%} of the command's time")
    return statistics.median(sandboxed), kept


def phase_table(began, ended, log):
    """[(phase, seconds)] of one `nbgrader autograde` run from `began` to `ended` (Unix times), from its
    notebooks' "Phases:" lines: nbgrader's own work before, between and after the notebooks, and each part of
    their execution; rows that start with spaces are parts of the row above, not added to the total."""
    notebooks = [json.loads(line) for line in PHASES_LINE.findall(log)]
    if not notebooks:
        return [("(no Phases: lines in the log)", ended - began)]
    parts = ["kernel start", "kernel reset between notebooks", "student's and instructor's cells",
             "test cells, in the verifier", "instructor's cells, in the verifier", "test cells, in the kernel"]
    executing = sum(n["end"] - n["start"] for n in notebooks)
    rows = [("nbgrader's start: Python, imports, the submission copied, the gradebook read", notebooks[0]["start"] - began)]
    for part in parts:
        rows.append((part, sum(n[part] for n in notebooks)))
        if part == "instructor's cells, in the verifier":
            rows.append(("  of the verifier's two rows above: crossings to the kernel (its questions, their answers)",
                         sum(n["crossings to the kernel"] for n in notebooks)))
    rows.append(("the rest of the notebooks' execution (nbclient, the verifier's start)", executing - sum(sum(n[p] for n in notebooks) for p in parts)))
    rows.append(("nbgrader between notebooks: the graded notebook and its grades written, the next read",
                 sum(b["start"] - a["end"] for a, b in zip(notebooks, notebooks[1:]))))
    rows.append(("nbgrader's end: the last notebook and the gradebook written, exit", ended - notebooks[-1]["end"]))
    return rows


_courses = {}  # a section 2 grading process's course folder


def grade_here(student, submission, course_files, options):
    """In a section 2 grading process: grade one submission, as a cluster worker would."""
    from grading_engine.cluster import _make_course, grade_submission, thread_env

    if not _courses:
        _courses["course"] = _make_course(course_files)
    return grade_submission(student, submission, _courses["course"], thread_env(1), options)


def _spawn():
    import multiprocessing

    return multiprocessing.get_context("spawn")  # (a fork of this process would share its threads' locks)


def _quiet_stderr():
    """In a process of the bench's: its own messages, and its zygote's and kernels', to the log."""
    log = os.open(LOG, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 2)


def section_3(course):
    print("\n3. Class throughput, the same 20 complete submissions, each way in a process of its own")
    students = [f"class-{n:02d}" for n in range(20)]
    submit_complete(course, students)
    walls, peaks = {}, {}
    for way, command, workers in [("cluster, 1 worker ", "grading_engine.cluster", 1),
                                  ("cluster, 2 workers", "grading_engine.cluster", 2),
                                  ("pool,    2 workers", "benchmarks.pool_autograde", 2)]:
        walls[way], peaks[way] = grade_in_subprocess(command, course, students, workers)
        print(f"   {way}: {walls[way]:6.1f} s, {20 / walls[way] * 60:5.1f} submissions per minute")
    cluster, pool = walls["cluster, 2 workers"], walls["pool,    2 workers"]
    print(f"   speed-up with 2 workers: {walls['cluster, 1 worker '] / cluster:.2f}x (2.00x would be linear)")
    print(f"   the cluster against the pool it replaced, 2 workers: {pool / cluster:.2f}x "
          "(above 1: faster; the cluster's time includes starting it)")
    print(f"   300 submissions with 2 workers: about {300 * cluster / 20 / 60:.0f} minutes")
    print("\n4. Memory")
    for way, peak in peaks.items():
        print(f"   {way}: largest grading process {peak:.0f} MB resident")
    print("   (each grading kernel's address space is capped by WEIGHT_INIT_KERNEL_MEMORY in nbgrader_config.py)")
    return students


def section_5(tmp, course, per_submission, result, graded):
    print("\n5. Results, and many machines")
    if graded:
        nbgrader("generate_feedback", ASSIGNMENT, f"--student={graded[0]}", "--force", course_root=course)
        gradebook = disk_bytes(course / "gradebook.db") / len(list((course / "autograded").iterdir()))
        print(f"   disk per graded student (a complete submission): autograded {disk_bytes(course / 'autograded' / graded[0]) / 2**20:.2f} MiB, "
              f"feedback {disk_bytes(course / 'feedback' / graded[0]) / 2**20:.2f} MiB, "
              f"gradebook {gradebook / 2**10:.0f} KiB, submitted {disk_bytes(course / 'submitted' / graded[0]) / 2**20:.2f} MiB")
    sent = len(pack_submission(course / "submitted" / "single-0" / ASSIGNMENT))
    back = len(pickle.dumps(result))
    print(f"   bytes per cluster result: {back / 2**20:.2f} MiB back ({len(result['autograded']) / 2**20:.2f} MiB of "
          f"autograded files), {sent / 2**20:.2f} MiB sent out")
    rates = {}
    with postgres_server() as postgres:
        for kind, db_url in [("sqlite", None), ("PostgreSQL", postgres)]:
            rates[kind] = results_written_per_second(tmp / f"writes-{kind}", db_url, result)
            print(f"   results written per second on this machine, autograded folder and gradebook, {kind}: "
                  f"{rates[kind]:.1f} ({1000 / rates[kind]:.0f} ms each)")
    per_task = scheduler_cost_per_task()
    print(f"   the scheduler: {per_task * 1000:.1f} ms per task (1,000 empty tasks, 2 workers)")
    link = (sent + back) * 8 / 1e9  # seconds at 1 Gbit/s
    print(f"   at 1 Gbit/s, a submission takes {link * 1000:.0f} ms of the instructor's link")
    # The instructor's machine writes one result at a time; each of its limits, as workers kept busy
    limits = {"writing results (sqlite)": per_submission * rates["sqlite"],
              "writing results (PostgreSQL)": per_submission * rates["PostgreSQL"],
              "the scheduler": per_submission / per_task, "a 1 Gbit/s link": per_submission / link}
    print(f"   one submission takes a worker {per_submission:.1f} s; one instructor's machine keeps busy at most:")
    for limit, workers in limits.items():
        print(f"     {workers:8.0f} workers, by {limit}")
    for db in ("sqlite", "PostgreSQL"):
        most = min(v for k, v in limits.items() if "writing" not in k or db in k)
        for machines, cores in [(10, 16), (50, 16)]:
            workers = min(machines * cores, most)
            hours = 10_000 * per_submission / workers / 3600
            print(f"   10,000 submissions on {machines} machines of {cores} cores, {db}: about {hours * 60:.0f} minutes "
                  f"({workers:.0f} workers busy)")


# Section 6: changes a student makes in Part 4's explorer, one after another (control, new value)
EXPLORER_CHANGES = [("depth", 60), ("depth", 30), ("activation", "tanh"), ("initializer", "GlorotNormal"),
                    ("activation", "relu"), ("initializer", "RandomNormal"), ("std", 0.125), ("width", 512),
                    ("width", 128), ("initializer", "your orthogonal_init"), ("initializer", "LSUV (your lsuv_init, 4.7)"),
                    ("initializer", "HeNormal")]


def section_6(tmp):
    """Part 4's explorer, as a student plays with it: seconds from a control's change to its new figure."""
    folder = tmp / "explorer"
    shutil.copytree(ROOT / "release" / ASSIGNMENT, folder)
    build_submission(COMPLETE, ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT, folder)
    nb = nbformat.read(folder / "part4_deep_networks.ipynb", as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    # up to the functions the explorer uses (LSUV's included), without the training it does not need
    nb.cells = [cell for cell in nb.cells[:ids.index("lsuv_init") + 1]
                if cell.metadata.get("nbgrader", {}).get("grade_id") not in ("depth_training", "symmetry_persists")]
    nb.cells.append(nbformat.v4.new_code_cell(f"""
import json, time
seconds = []
for name, value in {EXPLORER_CHANGES!r}:
    started = time.perf_counter()
    controls[name].value = value  # (the widget calls redraw, as a slider or menu does in the browser)
    seconds.append(time.perf_counter() - started)
    assert message.value == "" and picture.value, message.value
print(json.dumps(seconds))"""))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
                   ).execute(env=full_budget_env())
    seconds = [float(t) for t in re.findall(r"[\d.]+", nb.cells[-1].outputs[0]["text"])]
    print(f"\n6. Part 4's explorer: from a change of a control to its new figure, {len(seconds)} changes one after "
          f"another: median {median_and_all(seconds)}")


def disk_bytes(path):
    """The disk a file or folder takes (its blocks, as du counts them)."""
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if not p.is_symlink()]
    return sum(p.lstat().st_blocks * 512 for p in files)


def results_written_per_second(folder, db_url, result, count=40):
    """Store `result` for `count` students into a new course, one after another, as the cluster's
    client does: results per second."""
    course = make_course(folder, db_url=db_url)
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    started = time.perf_counter()
    cells = record_cells(db_url)  # (once per run, as the client reads it)
    for n in range(count):
        store_result(course, db_url, f"writes-{n:03d}", {**result, "student": f"writes-{n:03d}"}, cells)
    return count / (time.perf_counter() - started)


def grade_in_subprocess(command, course, students, workers):
    """Grade with `python -m command` in its own process, so its memory peak is its own; return the
    wall time it reports and that peak."""
    result = subprocess.run([sys.executable, "-m", command, "--course", str(course), "--workers", str(workers),
                             "--students", *students, *(["--force"] if command.endswith("cluster") else [])],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True, check=True)
    seconds, peak = re.search(r"([\d.]+) s, .* peak process memory (\d+) MB", result.stdout).groups()
    return float(seconds), float(peak)


def scheduler_cost_per_task(tasks=1000):
    """Seconds a LocalCluster of 2 workers spends per task that does nothing."""
    with start_client(workers=2, dashboard="127.0.0.1:0") as client:
        client.gather(client.map(abs, range(10)))  # (the workers are up)
        started = time.perf_counter()
        client.gather(client.map(abs, range(tasks)))
        return (time.perf_counter() - started) / tasks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="*", type=int, default=[1, 2, 3, 4, 5, 6, 7], help="which sections (4 comes with 3)")
    sections = set(parser.parse_args(argv).sections)
    sys.stdout.reconfigure(line_buffering=True)
    # Everything but the rows (TensorFlow's C++ lines, Dask's log, Jupyter's warnings) to the log:
    # this process's descriptor 2, which every process it starts inherits
    LOG.write_text("")
    os.dup2(os.open(LOG, os.O_WRONLY | os.O_APPEND), 2)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; the processes' own messages: {LOG}\n",
          flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if 1 in sections:
                section_1(tmp)
            course = make_course(tmp / "course")
            if {2, 5} & sections:
                per_submission, result = section_2(course)
            graded = section_3(course) if 3 in sections else []
            if 5 in sections:
                section_5(tmp, course, per_submission, result, graded)
            if 6 in sections:
                section_6(tmp)
            if 7 in sections:
                section_7(tmp)
    except BaseException:
        sys.stdout.flush()
        os.write(1, f"\nThe bench stopped; the end of {LOG}:\n".encode() + LOG.read_bytes()[-6000:])
        raise


if __name__ == "__main__":
    main()
