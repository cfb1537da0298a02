"""What every numpykan model shares: parameters, state, predict, evaluate, fit.

A model is a list of ``layers``; each layer has ``params`` and ``grads`` dicts
with the same keys, ``forward(x)`` that caches, and ``backward(dy)`` that fills
``grads`` and returns ``dL/dx``. :class:`~numpykan.KAN` and
:class:`~numpykan.MLP` both build on :class:`Network`. The checks of model
inputs and targets live in :mod:`numpykan.validation` (re-exported here).
"""

from __future__ import annotations

import numpy as np

from ..training.losses import _takes_labels, get_loss
from ..training.train import fit as _fit
from ..validation import check_input, check_output, check_target

__all__ = ["Network", "check_input", "check_target", "check_output"]


class Network:
    """Base class: a stack of layers with a loss, used by ``KAN`` and ``MLP``."""

    layers: list
    width: list
    dtype: type

    def parameters(self):
        """``[(params, grads), ...]``, one pair of dicts per layer: what the optimizers take.

        Layers with symbolic edges add one more pair for the formulas' parameters.
        """
        pairs = [(layer.params, layer.grads) for layer in self.layers]
        pairs += [(layer.symbolic.params, layer.symbolic.grads) for layer in self.layers
                  if getattr(layer, "symbolic", None) is not None]
        return pairs

    def num_parameters(self):
        """Number of trainable scalars (symbolic edges' parameters included)."""
        return sum(v.size for params, _ in self.parameters() for v in params.values())

    def state(self):
        """A copy of every trainable array (to restore with :meth:`set_state`)."""
        return [{key: v.copy() for key, v in params.items()} for params, _ in self.parameters()]

    def set_state(self, state):
        """Copy arrays from :meth:`state` back into the parameters, in place."""
        for (params, _), saved in zip(self.parameters(), state):
            for key, v in saved.items():
                if params[key].shape == v.shape:
                    params[key][...] = v
                else:
                    params[key] = v.copy()

    def _input(self, x, name="x"):
        return check_input(x, self.width[0], self.dtype, name)

    def __call__(self, x):
        return self.forward(x)

    def predict(self, x, batch_size=8192):
        """Outputs ``(B, out)`` without caching anything for backward (inference)."""
        x = self._input(x)
        outs = []
        for start in range(0, x.shape[0], batch_size):
            h = x[start:start + batch_size]
            for layer in self.layers:
                h = layer.forward(h, need_grad=False, check=False)
            outs.append(h)
        return np.concatenate(outs, axis=0)

    def evaluate(self, x, y, loss="mse"):
        """Prediction loss on ``(x, y)`` (and accuracy for ``ce``) -> dict."""
        fn = get_loss(loss, checked=False)     # targets and outputs are checked here
        x = self._input(x)
        y = check_target(y, loss, x.shape[0], self.width[-1], self.dtype)
        out = self.predict(x)
        check_output(out)
        value, _ = fn(out, y)
        result = {"loss": value}
        if _takes_labels(loss):
            result["acc"] = float(np.mean(out.argmax(axis=1) == y))
        return result

    def fit(self, dataset, **kwargs):
        """Train on ``dataset``; see :func:`numpykan.train.fit` for the arguments."""
        return _fit(self, dataset, **kwargs)
