import sys


def xavier_variance(fan_in, fan_out):
    """Return the Xavier/Glorot weight variance for a layer with `fan_in` inputs and `fan_out` outputs."""
    return 2.0 / (fan_in + fan_out)


def he_variance(fan_in):
    """Return the He weight variance for a layer with `fan_in` inputs."""
    print(f"debug: he_variance({fan_in})", file=sys.stderr)
    return 2.0 / fan_in
