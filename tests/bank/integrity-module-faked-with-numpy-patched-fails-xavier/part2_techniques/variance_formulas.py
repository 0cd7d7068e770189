def xavier_variance(fan_in, fan_out):
    """Return the Xavier/Glorot weight variance for a layer with `fan_in` inputs and `fan_out` outputs."""
    return 1.0 / (fan_in + fan_out)


def he_variance(fan_in):
    """Return the He weight variance for a layer with `fan_in` inputs."""
    return 2.0 / fan_in
