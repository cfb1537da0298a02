"""A synthetic stand-in for MNIST: ten classes of noisy stroke pictures, made offline.

:func:`synthetic_digits` returns a dataset with MNIST's layout (28 x 28 pictures
flattened to 784 inputs, pixels scaled to ``[-1, 1]``, integer labels 0..9), so
code written for :func:`numpykan.mnist.load_mnist` runs on it unchanged where the
real files are missing: quick runs, tests, machines without network. It is a
toy, not a substitute: each class is one random prototype, and a sample is that
prototype shifted by up to a pixel, with noise.
"""

import numpy as np

from .datasets import _check_count, _check_float_dtype

__all__ = ["synthetic_digits", "SYNTHETIC_LABEL"]

SYNTHETIC_LABEL = "synthetic stand-in for MNIST (numpykan.digits.synthetic_digits), not MNIST"
"""The words to put on every figure and table made from :func:`synthetic_digits`."""


def synthetic_digits(n_train, n_test, seed=0, dtype=np.float32):
    """Ten classes of noisy, shifted 28 x 28 stroke prototypes, in MNIST's layout.

    Each class ``c`` has one prototype: three strokes between random points of
    ``[6, 22]^2``, each drawn as 20 Gaussian dots (``exp(-d^2 / 2)``, ``d`` in pixels)
    merged with a maximum. A sample of class ``c`` (drawn uniformly) is the prototype
    rolled by ``(dr, dc)`` in ``{-1, 0, 1}^2``, plus Gaussian noise of standard
    deviation 0.15, clipped to ``[0, 1]`` and mapped to ``[-1, 1]`` (``2 v - 1``).

    Parameters
    ----------
    n_train, n_test : int
        Number of training and test samples, >= 1.
    seed : int
        Seeds the prototypes and the samples; the same seed gives the same data.
    dtype : numpy floating dtype
        dtype of the inputs.

    Returns
    -------
    dict
        ``"train_input"`` (n_train, 784), ``"train_label"`` int64 (n_train,),
        ``"test_input"`` (n_test, 784), ``"test_label"`` int64 (n_test,): the keys
        and shapes of :func:`numpykan.mnist.load_mnist`.
    """
    n_train = _check_count(n_train, "n_train", 1)
    n_test = _check_count(n_test, "n_test", 1)
    dt = _check_float_dtype(dtype)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]                                 # (28, 28) each
    protos = np.zeros((10, 28, 28))
    for c in range(10):
        for _ in range(3):                                        # three strokes per class
            (x0, y0), (x1, y1) = rng.uniform(6, 22, (2, 2))
            for s in np.linspace(0, 1, 20):
                cx, cy = x0 + s * (x1 - x0), y0 + s * (y1 - y0)
                dot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 2.0)   # (28, 28)
                protos[c] = np.maximum(protos[c], dot)

    def draw(n):
        labels = rng.integers(0, 10, n)                           # (n,)
        shifts = rng.integers(-1, 2, (n, 2))                      # (n, 2)
        imgs = np.stack([np.roll(protos[c], tuple(s), axis=(0, 1))
                         for c, s in zip(labels, shifts)])        # (n, 28, 28)
        imgs = np.clip(imgs + rng.normal(0, 0.15, imgs.shape), 0, 1)
        return (2 * imgs - 1).reshape(n, 784).astype(dt), labels.astype(np.int64)

    (xtr, ytr), (xte, yte) = draw(n_train), draw(n_test)
    return {"train_input": xtr, "train_label": ytr, "test_input": xte, "test_label": yte}
