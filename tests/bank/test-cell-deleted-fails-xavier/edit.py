def edit(notebooks):
    """The student deletes the failing test cells."""
    nb = notebooks["part2_techniques"]
    nb.cells = [cell for cell in nb.cells
                if not (cell.metadata.get("nbgrader", {}).get("grade")
                        and cell.metadata["nbgrader"]["grade_id"].startswith("xavier_"))]
