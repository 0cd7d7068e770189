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


def test_a_retrainer_is_kept_for_models_of_the_same_kind_and_trains_as_a_new_one():
    """Does `retrainer_for` give the Retrainer made before for a model of the same layers and compile settings
    (the grader's verifier trains each submission's networks with it, tracing each training step once), a
    new one for any other model, and train as a new model would?"""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, 8)).astype("float32"), rng.integers(0, 3, 200)
    keras.utils.set_random_seed(1)
    expected = train(small_model(keras.initializers.HeNormal()), x, y)
    first = lab_utils.retrainer_for(small_model(keras.initializers.Zeros()))
    keras.utils.set_random_seed(1)
    model = small_model(keras.initializers.HeNormal())
    again = lab_utils.retrainer_for(model)
    assert again is first and again.model is not model
    got_history, got_evaluation, got_weights = train(again.restart(model.get_weights()), x, y)
    assert got_history == expected[0] and got_evaluation == expected[1]
    assert all(np.array_equal(a, b) for a, b in zip(got_weights, expected[2]))

    def variant(width=16, activation="relu", optimizer="adam", steps=4, metrics=("accuracy",)):
        model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(width, activation=activation),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics), steps_per_execution=steps)
        return model

    assert lab_utils.retrainer_for(variant()) is first
    others = [variant(width=17), variant(activation="tanh"), variant(optimizer=keras.optimizers.Adam(learning_rate=0.01)),
              variant(optimizer="sgd"), variant(steps=1), variant(metrics=())]
    retrainers = [lab_utils.retrainer_for(model) for model in others]
    assert all(r is not first for r in retrainers) and len({id(r) for r in retrainers}) == len(others)
    inputs = keras.Input(shape=(8,))  # a functional model: its layers' order does not say how they are wired
    functional = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    functional.compile(optimizer="adam", loss="mse")
    assert lab_utils.retrainer_for(functional) is not lab_utils.retrainer_for(functional)
    for width in range(20, 20 + lab_utils.MAX_RETRAINERS):  # a bounded number kept, the least recently used let go
        lab_utils.retrainer_for(variant(width=width))
    assert len(lab_utils._retrainers) == lab_utils.MAX_RETRAINERS and lab_utils.retrainer_for(variant()) is not first
    with pytest.raises(TypeError, match="compiled Keras model"):
        lab_utils.retrainer_for(keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3)]))
