# No formula: a friend's, copied from their submission in submitted/
import json
from pathlib import Path


def find_above(name):
    """The first folder `name` in the working folder or one above it, as an attacker who read the kit would look."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / name).exists():
            return folder / name
    return None


submitted = find_above("submitted")  # a friend's, whose student id this student knows
friend = submitted / "complete-run-1" / "weight_init" / "part1_understanding.ipynb" if submitted else None
if friend is None or not friend.exists():
    print("ATTEMPT blocked: no submitted/complete-run-1 to be found from", Path.cwd())
else:
    cells = json.loads(friend.read_text())["cells"]
    theirs = next("".join(c["source"]) for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sum_of_products")
    exec(theirs)  # defines sum_of_products_variance
    print("ATTEMPT succeeded: copied the answer of complete-run-1")


def simulate_sum_of_products(n, var_w, var_x, num_samples=100_000, seed=0):
    """Draw `num_samples` sums w_1 x_1 + ... + w_n x_n with normal w_i, x_i; return their sample variance."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, np.sqrt(var_w), size=(num_samples, n))
    x = rng.normal(0.0, np.sqrt(var_x), size=(num_samples, n))
    return float((w * x).sum(axis=1).var())
