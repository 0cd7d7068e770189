for i in range(200_000):  # about 4 MB of debugging output
    print("checking my formula, step", i)


def sum_of_products_variance(n, var_w, var_x):
    """Return Var(w_1 x_1 + ... + w_n x_n) for independent zero-mean w_i (variance var_w) and x_i (variance var_x)."""
    return n * var_w * var_x


def simulate_sum_of_products(n, var_w, var_x, num_samples=100_000, seed=0):
    """Draw `num_samples` sums w_1 x_1 + ... + w_n x_n with normal w_i, x_i; return their sample variance."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, np.sqrt(var_w), size=(num_samples, n))
    x = rng.normal(0.0, np.sqrt(var_x), size=(num_samples, n))
    return float((w * x).sum(axis=1).var())
