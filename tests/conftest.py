import sys
from pathlib import Path

# `lab_utils` is imported by the notebooks from their own folder; the tests import it from there too
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "source" / "weight_init"))
