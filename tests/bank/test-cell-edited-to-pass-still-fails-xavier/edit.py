def edit(notebooks):
    """The student replaces the failing tests with `pass` (JupyterLab lets a determined student unlock them)."""
    for cell in notebooks["part2_techniques"].cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("xavier_"):
            if cell.metadata["nbgrader"].get("grade"):
                cell.source = "pass"
