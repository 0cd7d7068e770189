import nbformat


def edit(notebooks):
    """The student's deep_mlp ignores its initializer, and a cell inserted before each experiment
    types in the numbers the experiment should give. The experiments run inside their test cells,
    so the typed-in numbers are overwritten before anything is checked."""
    nb = notebooks["part4_deep_networks"]
    fake = nbformat.v4.new_code_cell(
        "depth_results = {('SGD', 30, 'GlorotNormal'): {'loss': 2.30, 'test_accuracy': 0.11, 'curve': []},\n"
        "                 ('SGD', 30, 'HeNormal'): {'loss': 1.0, 'test_accuracy': 0.65, 'curve': []}}\n"
        "stats = {'HeNormal': (np.ones(30), np.ones(30))}\n"
    )
    index = next(i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "depth_statistics")
    nb.cells.insert(index, fake)
