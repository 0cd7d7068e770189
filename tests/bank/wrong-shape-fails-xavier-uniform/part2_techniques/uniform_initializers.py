def xavier_uniform_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean uniform with the Xavier/Glorot variance."""
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(3 * xavier_variance(fan_in, fan_out))
    return np.random.default_rng(seed).uniform(-limit, limit, size=tuple(shape)[::-1]).astype(np.float32)


def he_uniform_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean uniform with the He variance."""
    fan_in, _ = compute_fans(shape)
    limit = np.sqrt(3 * he_variance(fan_in))
    return np.random.default_rng(seed).uniform(-limit, limit, size=shape).astype(np.float32)
