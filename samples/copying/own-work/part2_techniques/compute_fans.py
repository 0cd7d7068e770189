def compute_fans(shape):
    """Return `(fan_in, fan_out)` as Python ints for a weight tensor of `shape`, following Keras."""
    shape = [int(n) for n in shape]
    if len(shape) < 2:
        n = shape[0] if shape else 1
        return n, n
    window = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * window, shape[-1] * window
