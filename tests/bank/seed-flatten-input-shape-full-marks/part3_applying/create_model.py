def create_model(initializer):
    """Return the compiled classifier Flatten -> Dense(128, relu) -> Dense(10, softmax),
    with `initializer` as the hidden layer's kernel initializer."""
    # as the assignment's own code does it: Keras 3 warns on stderr about `input_shape`
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation="relu", kernel_initializer=initializer),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
