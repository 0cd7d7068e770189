def compute_fans(shape):
    """Return `(fan_in, fan_out)` as Python ints for a weight tensor of `shape`, following Keras."""
    s = list(shape)
    if not s:  # a scalar
        return 1, 1
    if len(s) == 1:  # a bias vector
        return int(s[0]), int(s[0])
    receptive = 1
    for k in s[:-2]:
        receptive *= int(k)  # window size
    inputs = int(s[-2]) * receptive
    outputs = int(s[-1]) * receptive
    return inputs, outputs
