def deep_mlp(initializer, depth=30, width=128, activation="relu"):
    """Return an uncompiled keras.Sequential: Input(784) -> `depth` x Dense(width, activation) -> Dense(10, softmax),
    with `initializer` as the kernel initializer of every Dense layer."""
    return keras.Sequential(
        [keras.Input(shape=(784,))]
        + [keras.layers.Dense(width, activation=activation) for _ in range(depth)]  # `initializer` is ignored
        + [keras.layers.Dense(10, activation="softmax")]
    )
