"""Autograding the sample submissions gives exactly the scores that samples/manifest.csv promises."""
import nbformat
import pytest

from tools.grading import ASSIGNMENT, ROOT, build_submission, cell_scores, nbgrader, read_manifest

SAMPLES = read_manifest()


def autograded_cells():
    """(notebook, grade_id) -> points of every autograded test cell in the source notebooks."""
    cells = {}
    for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade") and not grading.get("solution"):
                cells[(path.stem, grading["grade_id"])] = grading["points"]
    return cells


@pytest.fixture(scope="module")
def scores(course):
    """Every sample autograded in one `nbgrader autograde` run: (student, notebook, cell) -> row."""
    for sample in SAMPLES:
        build_submission(sample, course / "source" / ASSIGNMENT, course / "release" / ASSIGNMENT,
                         course / "submitted" / sample.name / ASSIGNMENT)
    result = nbgrader("autograde", ASSIGNMENT, "--force", course_root=course, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return {(r["student"], r["notebook"], r["cell"]): r for r in cell_scores(f"sqlite:///{course / 'gradebook.db'}")}


def test_manifest_names_real_cells():
    """Does every cell the manifest expects to fail exist, so that a typo cannot pass silently?"""
    known = {f"{notebook}:{cell}" for notebook, cell in autograded_cells()} | {"*"}
    for sample in SAMPLES:
        assert sample.fails <= known, f"{sample.name}: unknown cells {sorted(sample.fails - known)} in samples/manifest.csv"


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_gets_exactly_its_expected_scores(scores, sample):
    """Does each autograded cell give full marks, or 0 where the manifest says the submission fails it?"""
    wrong = []
    for (notebook, cell), points in autograded_cells().items():
        row = scores.get((sample.name, notebook, cell))
        fails = "*" in sample.fails or f"{notebook}:{cell}" in sample.fails
        expected = 0 if fails else points
        if row is None or row["score"] != expected:
            wrong.append(f"{notebook}:{cell} scored {row and row['score']}, expected {expected}")
    assert not wrong, f"submission `{sample.name}`: " + "; ".join(wrong)
