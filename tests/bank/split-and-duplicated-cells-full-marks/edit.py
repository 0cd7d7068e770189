import copy


def edit(notebooks):
    """JupyterLab's split cell copies the metadata into both halves; copy-paste duplicates a test cell."""
    nb = notebooks["part2_techniques"]
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "variance_formulas")
    first, second = copy.deepcopy(nb.cells[index]), copy.deepcopy(nb.cells[index])
    xavier, he = nb.cells[index].source.split("\n\n\ndef he_variance")
    first.source, second.source = xavier, "def he_variance" + he
    second.id = first.id + "-split"
    nb.cells[index:index + 1] = [first, second]
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "he_normal_init_stats")
    duplicate = copy.deepcopy(test)
    duplicate.id = test.id + "-copy"
    nb.cells.append(duplicate)
