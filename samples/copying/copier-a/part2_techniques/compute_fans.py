def compute_fans(shape):
    """Return `(fan_in, fan_out)` as Python ints for a weight tensor of `shape`, following Keras."""
    dims = list(shape)
    if not dims:
        return 1, 1
    if len(dims) == 1:
        return int(dims[0]), int(dims[0])
    # a conv kernel: every position of the window counts
    field = 1
    for size in dims[:-2]:
        field *= int(size)
    fan_in = int(dims[-2]) * field
    fan_out = int(dims[-1]) * field
    return fan_in, fan_out
