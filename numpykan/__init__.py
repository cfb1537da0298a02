"""numpykan: Kolmogorov-Arnold Networks in pure NumPy, with hand-written, checked gradients.

>>> import numpykan as nk
>>> model = nk.KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
>>> model(np.zeros((3, 2))).shape
(3, 1)
"""

import numpy as np  # noqa: F401  (used by the doctest above)

from . import activations, bspline, datasets, images, losses, mnist, optim, regularization
from .datasets import create_dataset
from .mnist import load_mnist
from .gradcheck import check_model, gradcheck, numerical_gradient
from .layer import KANLayer
from .mlp import MLP
from .model import KAN
from .optim import SGD, Adam, AdamW
from .train import fit

__version__ = "0.1.0"

__all__ = [
    "KAN", "KANLayer", "MLP", "SGD", "Adam", "AdamW", "fit", "create_dataset", "load_mnist",
    "gradcheck", "check_model", "numerical_gradient",
    "activations", "bspline", "datasets", "images", "losses", "mnist", "optim", "regularization",
]
