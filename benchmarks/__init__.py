"""`make bench`: timings of the kit against the assignment as written (see run.py)."""
