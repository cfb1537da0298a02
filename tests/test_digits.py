"""The synthetic MNIST stand-in (numpykan.digits)."""

import numpy as np
import pytest

import numpykan as nk
from numpykan.digits import synthetic_digits


def test_layout_of_mnist_and_deterministic():
    d = synthetic_digits(50, 20, seed=3)
    assert d["train_input"].shape == (50, 784) and d["test_input"].shape == (20, 784)
    assert d["train_input"].dtype == np.float32 and d["train_label"].dtype == np.int64
    assert d["train_input"].min() >= -1 and d["train_input"].max() <= 1
    assert set(np.unique(d["train_label"])) <= set(range(10))
    again = synthetic_digits(50, 20, seed=3)
    assert all(np.array_equal(d[key], again[key]) for key in d)
    other = synthetic_digits(50, 20, seed=4)
    assert not np.array_equal(d["train_input"], other["train_input"])


def test_classes_are_learnable():
    """A nearest-class-mean rule already separates the classes: the stand-in is a real task."""
    d = synthetic_digits(400, 200, seed=0, dtype=np.float64)
    means = np.stack([d["train_input"][d["train_label"] == c].mean(axis=0) for c in range(10)])
    dist = ((d["test_input"][:, None, :] - means[None]) ** 2).sum(axis=2)   # (200, 10)
    assert np.mean(dist.argmin(axis=1) == d["test_label"]) > 0.9


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_test": -1}, {"dtype": np.int32}])
def test_bad_arguments(kwargs):
    args = {"n_train": 5, "n_test": 5, **kwargs}
    with pytest.raises((ValueError, TypeError)):
        synthetic_digits(**args)


def test_registered_as_short_name():
    assert nk.digits.synthetic_digits is synthetic_digits
