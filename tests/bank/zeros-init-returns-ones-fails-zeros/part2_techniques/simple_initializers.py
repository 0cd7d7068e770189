def zeros_init(shape):
    """Return float32 zeros of `shape`."""
    return np.ones(shape, dtype=np.float32)


def random_normal_init(shape, stddev=0.05, seed=None):
    """Return float32 weights of `shape` drawn from N(0, stddev**2)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, stddev, size=shape).astype(np.float32)
