# As Keras's GlorotNormal and HeNormal draw: a normal truncated at two standard deviations, rescaled
# so that its variance is the formula's (0.8796... is the std of the standard normal so truncated)
def truncated_normal(shape, stddev, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(int(np.prod(shape)))
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(outside.sum())
        outside = np.abs(values) > 2
    return (values * stddev / 0.87962566103423978).reshape(shape).astype(np.float32)


def xavier_normal_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean normal with the Xavier/Glorot variance."""
    fan_in, fan_out = compute_fans(shape)
    return truncated_normal(shape, np.sqrt(xavier_variance(fan_in, fan_out)), seed)


def he_normal_init(shape, seed=None):
    """Return float32 weights of `shape` from a zero-mean normal with the He variance."""
    fan_in, _ = compute_fans(shape)
    return truncated_normal(shape, np.sqrt(he_variance(fan_in)), seed)
