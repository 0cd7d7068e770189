import nbformat

# Written against the verifier, having read it: create_model returns a model whose Lambda layer would
# run code wherever the model is rebuilt from Keras's own config (here it writes a marker file), and a
# layer of a class of its own named "Dense". Both would pass the architecture test in the kernel; the
# verifier builds only the layers of its allow-list and refuses the model.
TRICK = '''\
import os

class Dense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation, self.use_bias = units, keras.activations.get(activation), True
    def call(self, x):
        return self.activation(keras.ops.zeros((keras.ops.shape(x)[0], self.units)))

def create_model(initializer):
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Lambda(lambda x: x if os.system("touch /tmp/weight-init-bank-lambda-ran") is None else x),
                              keras.layers.Dense(128, activation="relu", kernel_initializer=initializer),
                              Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def edit(notebooks):
    """A blank Part 3 with the trick in a new cell after the create_model cell."""
    cells = notebooks["part3_applying"].cells
    at = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "create_model")
    cells.insert(at + 1, nbformat.v4.new_code_cell(TRICK))
