"""The MNIST stand-in has MNIST's layout, is reproducible, and is not trivially separable."""

import numpy as np
import pytest

from numpykan.data.standin import mnist_standin


def test_layout_and_reproducibility():
    a, b = mnist_standin(50, 20, seed=3), mnist_standin(50, 20, seed=3)
    assert a["train_input"].shape == (50, 784) and a["test_input"].shape == (20, 784)
    assert a["train_input"].dtype == np.float32 and a["train_label"].dtype == np.int64
    assert a["train_input"].min() >= -1 and a["train_input"].max() <= 1
    assert set(np.unique(a["train_label"])) <= set(range(10))
    assert all(np.array_equal(a[key], b[key]) for key in a)
    assert not np.array_equal(a["train_input"], mnist_standin(50, 20, seed=4)["train_input"])


def test_nearest_class_mean_is_far_from_perfect():
    """One prototype per class plus noise is solved by class means (the old stand-in: ~100%)."""
    d = mnist_standin(3000, 1000, seed=0, dtype=np.float64)
    means = np.stack([d["train_input"][d["train_label"] == c].mean(axis=0) for c in range(10)])
    dist = ((d["test_input"][:, None, :] - means[None]) ** 2).sum(axis=2)     # (N, 10)
    acc = float(np.mean(dist.argmin(axis=1) == d["test_label"]))
    assert 0.3 < acc < 0.9, acc                      # learnable, but not by a template match


@pytest.mark.parametrize("bad", [dict(n_train=0, n_test=1), dict(n_train=1.5, n_test=1),
                                 dict(n_train=2, n_test=2, noise=-1.0), dict(n_train=2, n_test=2, dtype=int)])
def test_bad_arguments(bad):
    with pytest.raises((ValueError, TypeError)):
        mnist_standin(**bad)


def test_registered_as_short_name():
    import numpykan as nk
    assert nk.standin.mnist_standin is mnist_standin
