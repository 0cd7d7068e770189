"""lab_utils.Retrainer: training one compiled model again from new weights gives what training the
new model itself gives (Part 3's comparison and Part 4's runs rely on it)."""
import keras
import numpy as np
import pytest

import lab_utils


def small_model(initializer):
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu", kernel_initializer=initializer),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=4)
    return model


def train(model, x, y):
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    return history.history, model.evaluate(x, y, verbose=0), [w.copy() for w in model.get_weights()]


def test_retraining_gives_what_a_new_model_gives():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, 8)).astype("float32"), rng.integers(0, 3, 200)
    initializers = [keras.initializers.GlorotNormal(), keras.initializers.HeNormal(), keras.initializers.RandomNormal(stddev=0.5)]
    expected = []
    for initializer in initializers:
        keras.utils.set_random_seed(1)
        expected.append(train(small_model(initializer), x, y))
    retrainer = None
    for initializer, (history, evaluation, weights) in zip(initializers, expected):
        keras.utils.set_random_seed(1)
        model = small_model(initializer)
        retrainer = retrainer or lab_utils.Retrainer(model)
        got_history, got_evaluation, got_weights = train(retrainer.restart(model.get_weights()), x, y)
        assert got_history == history and got_evaluation == evaluation
        assert all(np.array_equal(a, b) for a, b in zip(got_weights, weights))
    assert retrainer.model.optimizer.iterations.numpy() == 2 * 10  # the last run's steps only: a fresh optimizer


def test_an_uncompiled_model_is_refused_with_a_message():
    with pytest.raises(TypeError, match="compiled Keras model.*model.compile"):
        lab_utils.Retrainer(keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3)]))
