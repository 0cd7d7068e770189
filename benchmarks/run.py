"""`make bench`: the kit's speed, measured side by side in one run on this machine.

1. The assignment's Part 3 code as written (`benchmarks/assignment_original.py`) against the kit's
   Part 3 notebook on the full budget (same data, epochs, batch size, optimizer), as a ratio, with
   both runs' test accuracies.
2. Autograding one complete submission (all notebooks, kernel starts included): median of 5 in a
   worker, with kernels forked from a preloaded zygote in the sandbox, out of it, and with kernels
   started afresh (out of it); and as one
   `nbgrader autograde` command, alternating: the kit's way, the same with the trusted runner off
   (grading_engine/cell_proofs.py), and nbgrader's kernel per notebook.
3. Class throughput on the same 20 submissions: `grading_engine.cluster` on a LocalCluster of 1 and
   of 2 workers, and the process pool it replaced (`benchmarks/pool_autograde.py`) with 2.
4. Peak memory of a worker's largest process (its grading kernel).
5. What a cluster of many machines would do: the scheduler's cost per task and the bytes each
   submission moves, measured, and the estimate they give.

Times are wall-clock seconds; ratios are what to compare across machines.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course import ASSIGNMENT, ROOT
from course.nbgrader_cli import nbgrader
from grading_engine.cluster import grade_class, pack, start_client
from tools.grading import Sample, build_submission, make_course, submit

COMPLETE = Sample("complete", "solutions")
ACCURACY = re.compile(r"(Zero|Random|Xavier|He) Initialization - Test Loss: [\d.]+, Test Accuracy: ([\d.]+)")
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


def main():
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
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

        course = make_course(tmp / "course")
        singles = [f"single-{n}" for n in range(5)]
        submit_complete(course, singles)
        single_times = grade_in_one_worker(course, singles)
        unsandboxed_times = grade_in_one_worker(course, singles, "--RestartingExecute.sandbox=False")
        plain_times = grade_in_one_worker(course, singles, "--RestartingExecute.sandbox=False",
                                          "--RestartingExecute.preload_kernels=False")
        print("\n2. Autograding one complete submission (all four notebooks, grading budget)")
        for way, times in [("kernels forked from a preloaded zygote in the sandbox (the kit's default)", single_times),
                           ("the same without the sandbox (sandbox=False)", unsandboxed_times),
                           ("kernels started afresh, without the sandbox (preload_kernels=False)", plain_times)]:
            print(f"   in a worker, {way}, median of 5: {median_and_all(times)}")
        sandbox_cost = statistics.median(single_times) / statistics.median(unsandboxed_times) - 1
        print(f"   the sandbox: {sandbox_cost:+.1%} time per submission (the first submission of a worker also "
              "starts the zygote, and in the sandbox the sandbox)")
        print(f"   preloaded kernels: {statistics.median(plain_times) / statistics.median(unsandboxed_times):.2f}x "
              "faster than kernels started afresh")
        # One `nbgrader autograde` command, nbgrader's start-up included, alternating: the kit's way (one
        # kernel per submission, tests run by the trusted runner), the same with the runner off, and
        # nbgrader's kernel per notebook
        ways = {"the kit's way": [],
                "the same, trusted runner off": ["--RestartingExecute.trusted_runner=False"],
                "a kernel per notebook": ["--RestartingExecute.one_kernel_per_submission=False"]}
        commands = {way: [] for way in ways}
        for _ in range(4):
            for way, options in ways.items():
                started = time.perf_counter()
                nbgrader("autograde", ASSIGNMENT, f"--student={singles[0]}", "--force", *options, course_root=course)
                commands[way].append(time.perf_counter() - started)
        for way, times in commands.items():
            print(f"   `nbgrader autograde --student`, {way}, median of 4: {median_and_all(times)}")
        kit, untrusted, per_notebook = (statistics.median(times) for times in commands.values())
        print(f"   one kernel per submission: {per_notebook / kit:.2f}x faster than a kernel per notebook")
        print(f"   the trusted runner (proofs for every test, instructor cells restored): {kit / untrusted - 1:+.1%} "
              "time per submission")
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

        print("\n5. Many machines: what limits a cluster")
        per_task = scheduler_cost_per_task()
        sent = len(pack(course / "submitted" / students[0] / ASSIGNMENT)) / 2**20
        back = len(pack(course / "autograded" / students[0] / ASSIGNMENT)) / 2**20
        per_submission = statistics.median(single_times)
        print(f"   the scheduler: {per_task * 1000:.1f} ms per task (1,000 empty tasks, 2 workers)")
        link = (sent + back) * 2**20 * 8 / 1e9  # seconds at 1 Gbit/s
        print(f"   data per submission: {sent:.1f} MiB to a worker, {back:.1f} MiB back (the submission carries "
              f"MNIST); at 1 Gbit/s, {link:.2f} s of the instructor's link")
        workers_per_link = per_submission / max(link, per_task)
        print(f"   one submission takes a worker {per_submission:.1f} s: the instructor's link and the scheduler keep "
              f"up with about {workers_per_link:.0f} workers at once")
        for machines, cores in [(10, 16), (50, 16)]:
            workers = min(machines * cores, workers_per_link)
            hours = 10_000 * per_submission / workers / 3600
            print(f"   10,000 submissions on {machines} machines of {cores} cores: about {hours:.1f} hours "
                  f"({workers:.0f} workers busy)")


def grade_in_one_worker(course, students, *options):
    """Per-submission times of `students` graded one after another by one worker (LocalCluster)."""
    return sorted(grade_class(students, course, workers=1, force=True, options=options, dashboard="127.0.0.1:0",
                              say=lambda line: None).values())


def grade_in_subprocess(command, course, students, workers):
    """Grade with `python -m command` in its own process, so its memory peak is its own; return the
    wall time it reports and that peak."""
    result = subprocess.run([sys.executable, "-m", command, "--course", str(course), "--workers", str(workers),
                             "--students", *students, *(["--force"] if command.endswith("cluster") else [])],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, peak = re.search(r"([\d.]+) s, .* peak process memory (\d+) MB", result.stdout).groups()
    return float(seconds), float(peak)


def scheduler_cost_per_task(tasks=1000):
    """Seconds a LocalCluster of 2 workers spends per task that does nothing."""
    with start_client(workers=2, dashboard="127.0.0.1:0") as client:
        client.gather(client.map(abs, range(10)))  # (the workers are up)
        started = time.perf_counter()
        client.gather(client.map(abs, range(tasks)))
        return (time.perf_counter() - started) / tasks


if __name__ == "__main__":
    main()
