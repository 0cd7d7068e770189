import nbformat

# Written against the verifier, having read it: on a blank Part 3, create_model returns the assignment's
# architecture on its first call (the architecture test's) and another one afterwards (no hidden layer).
# The verifier judges each call's model as it comes back: the first earns the architecture test's points,
# which that model deserves, and every test that builds more models fails.
TRICK = '''\
_create_model_calls = []

def create_model(initializer):
    _create_model_calls.append(1)
    hidden = [keras.layers.Dense(128, activation="relu", kernel_initializer=initializer)] if len(_create_model_calls) == 1 else []
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), *hidden, keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def edit(notebooks):
    """A blank Part 3 with the trick in a new cell after the create_model cell."""
    cells = notebooks["part3_applying"].cells
    at = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "create_model")
    cells.insert(at + 1, nbformat.v4.new_code_cell(TRICK))
