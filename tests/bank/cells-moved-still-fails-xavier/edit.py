def edit(notebooks):
    """The student moves the failing test cells to the top of the notebook, before anything is defined."""
    nb = notebooks["part2_techniques"]
    moved = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
             and cell.metadata["nbgrader"]["grade_id"].startswith("xavier_")]
    nb.cells = moved + [cell for cell in nb.cells if cell not in moved]
