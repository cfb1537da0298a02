"""numpykan: Kolmogorov-Arnold Networks in pure NumPy, with hand-written, checked gradients.

>>> import numpykan as nk
>>> model = nk.KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
>>> model(np.zeros((3, 2))).shape
(3, 1)

The modules are grouped as the course goes (see the README's table):
``splines`` (knots and B-spline bases), ``models`` (layers, KAN, MLP,
checkpoints), ``training`` (losses, regularizer, optimizers, the fit loop,
gradient checks), ``interpretation`` (symbolic edges, plots), ``data``
(toy functions, MNIST, images) and ``teaching``. Every module is also
importable under its short name, ``numpykan.bspline``, ``numpykan.layer``,
``numpykan.train`` and so on: the same module object, not a copy.
"""

import importlib as _importlib
import sys as _sys

import numpy as np  # noqa: F401  (used by the doctest above)

#: short name -> where the module lives; ``numpykan.<short>`` is the same module
_MODULES = {
    "grids": "splines.grids", "bspline": "splines.bspline", "livebasis": "splines.livebasis",
    "banded": "splines.banded", "transaction": "training.transaction",
    "activations": "models.activations", "layer": "models.layer", "model": "models.model",
    "mlp": "models.mlp", "network": "models.network", "checkpoint": "models.checkpoint",
    "derivatives": "models.derivatives", "derivative_layers": "models.derivative_layers",
    "multnodes": "models.multnodes",
    "losses": "training.losses", "regularization": "training.regularization",
    "regmetrics": "training.regmetrics", "init": "models.init",
    "optim": "training.optim", "lbfgs": "training.lbfgs", "train": "training.train",
    "resumable": "training.resumable",
    "gradcheck": "training.gradcheck", "progress": "training.progress",
    "symbolic": "interpretation.symbolic", "symbolic_edges": "interpretation.symbolic_edges",
    "plot": "interpretation.plot",
    "datasets": "data.datasets", "mnist": "data.mnist", "images": "data.images",
    "standin": "data.standin",
    "pde": "pde",
    "lesson": "teaching.lesson", "grader": "teaching.grader", "exercises": "teaching.exercises",
    "course": "teaching.course", "website": "teaching.website", "commands": "teaching.commands",
    "interop": "interop",
}


def _alias(short, path):
    """Import ``numpykan.<path>`` and register it as ``numpykan.<short>`` too."""
    module = _importlib.import_module(f"{__name__}.{path}")
    _sys.modules[f"{__name__}.{short}"] = module
    globals()[short] = module
    return module


for _short, _path in _MODULES.items():
    _alias(_short, _path)


from .data.datasets import create_dataset  # noqa: E402
from .data.mnist import load_mnist  # noqa: E402
from .models.layer import KANLayer  # noqa: E402
from .models.mlp import MLP  # noqa: E402
from .models.model import KAN  # noqa: E402
from .training.gradcheck import check_model, gradcheck, numerical_gradient  # noqa: E402
from .training.optim import SGD, Adam, AdamW  # noqa: E402
from .training.train import fit  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "KAN", "KANLayer", "MLP", "SGD", "Adam", "AdamW", "fit", "create_dataset", "load_mnist",
    "gradcheck", "check_model", "numerical_gradient",
    "activations", "bspline", "datasets", "images", "losses", "mnist", "optim", "regularization",
]
