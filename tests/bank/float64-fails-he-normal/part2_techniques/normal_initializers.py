def xavier_normal_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean normal with the Xavier/Glorot variance."""
    fan_in, fan_out = compute_fans(shape)
    return random_normal_init(shape, stddev=np.sqrt(xavier_variance(fan_in, fan_out)), seed=seed)


def he_normal_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean normal with the He variance."""
    fan_in, _ = compute_fans(shape)
    return np.random.default_rng(seed).normal(0.0, np.sqrt(he_variance(fan_in)), size=shape)  # float64
