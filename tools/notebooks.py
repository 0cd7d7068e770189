"""Keep the committed notebooks byte-stable: normalized metadata, and outputs only where nbval checks them.

    python -m tools.notebooks normalize PATH...   # rewrite in place
    python -m tools.notebooks check PATH...       # exit 1 if any file would change
    python -m tools.notebooks refresh PATH...     # execute, keep the outputs of `# NBVAL_CHECK_OUTPUT` cells

A cell's output is committed only if the cell starts with `# NBVAL_CHECK_OUTPUT`: those are the
deterministic outputs that `pytest --nbval-lax` compares. Everything else is stripped, as are the
execution counts of other cells, JupyterLab's per-cell metadata and the kernel's version details.
"""
import argparse
import os
import sys
from pathlib import Path

import nbformat

CHECKED_MARKER = "# NBVAL_CHECK_OUTPUT"
KEPT_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def is_checked(cell):
    return cell.cell_type == "code" and cell.source.startswith(CHECKED_MARKER)


def normalize(nb):
    """Return `nb` with normalized metadata and only the outputs that nbval checks."""
    nb.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    nb.nbformat, nb.nbformat_minor = 4, 5
    code_cells = 0
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA})
        if cell.cell_type == "code":
            code_cells += 1
            # nbval ignores a cell's stored outputs unless it has run: count as if run top to bottom once
            cell.execution_count = code_cells if is_checked(cell) else None
            if not is_checked(cell):
                cell.outputs = []
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = cell.execution_count
    return nb


def serialize(nb):
    return nbformat.writes(nb) + "\n"


def refresh(path):
    """Execute the notebook in its folder and store the outputs of its checked cells."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return normalize(nb)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["normalize", "check", "refresh"])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    stale = []
    for path in args.paths:
        original = path.read_text(encoding="utf-8")
        if args.command == "refresh":
            os.environ.setdefault("WEIGHT_INIT_BUDGET", "grading")
            text = serialize(refresh(path))
        else:
            text = serialize(normalize(nbformat.reads(original, as_version=4)))
        if text != original:
            stale.append(path)
            if args.command != "check":
                path.write_text(text, encoding="utf-8")
    if args.command == "check" and stale:
        sys.exit("not normalized: " + " ".join(map(str, stale)) + "\nfix: python -m tools.notebooks normalize PATH...")


if __name__ == "__main__":
    main()
