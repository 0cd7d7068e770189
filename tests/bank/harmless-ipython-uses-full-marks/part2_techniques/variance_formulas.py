%%time
# IPython's own features in a student's solution cell: a cell magic, and errors caught by the student
try:
    import scipy  # noqa: F401
except ImportError:
    pass


def xavier_variance(fan_in, fan_out):
    """Return the Xavier/Glorot weight variance for a layer with `fan_in` inputs and `fan_out` outputs."""
    try:
        return 2.0 / (fan_in + fan_out)
    except ZeroDivisionError:
        return float("inf")


def he_variance(fan_in):
    """Return the He weight variance for a layer with `fan_in` inputs."""
    return 2.0 / fan_in
