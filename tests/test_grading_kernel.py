"""What grading_engine/grading_kernel.py changes in a grading kernel beyond its safety nets (which the sample
submissions in test_bank.py exercise): Keras traces a new model's training step once, not twice."""
import nbformat
from nbclient import NotebookClient

from course import ROOT

COUNT_TRACES = """
import keras, numpy as np
traces = []
class CountingTraces(keras.Sequential):
    def train_step(self, data):
        traces.append(1)  # runs only while TensorFlow traces the step
        return super().train_step(data)
model = CountingTraces([keras.Input(shape=(4,)), keras.layers.Dense(3)])
model.compile(optimizer="adam", loss="mse")
history = model.fit(np.ones((64, 4)), np.ones((64, 3)), epochs=2, verbose=0)
print(len(traces), model.optimizer.iterations.numpy(), np.isfinite(history.history["loss"]).all())
"""


def traces_and_steps(kernel_arguments):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(COUNT_TRACES)])
    NotebookClient(nb, timeout=120, kernel_name="python3", extra_arguments=kernel_arguments,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return next(o.text for o in nb.cells[0].outputs if o.get("name") == "stdout").split()


def test_a_new_model_is_traced_once_in_a_grading_kernel():
    grading = ["--IPKernelApp.capture_fd_output=False", f"--IPKernelApp.exec_files={ROOT / 'grading_engine' / 'grading_kernel.py'}"]
    assert traces_and_steps(grading) == ["1", "4", "True"]  # 2 epochs of 2 batches: the optimizer took 4 steps
    # the reason for it, and a check that this test can fail: a plain kernel traces twice
    assert traces_and_steps(["--IPKernelApp.capture_fd_output=False"]) == ["2", "4", "True"]
