"""What every numpykan model shares: input checks, parameters, loss and gradient, fit.

A model is a list of ``layers``; each layer has ``params`` and ``grads`` dicts
with the same keys, ``forward(x)`` that caches, and ``backward(dy)`` that fills
``grads`` and returns ``dL/dx``. :class:`~numpykan.KAN` and
:class:`~numpykan.MLP` both build on :class:`Network`.
"""

from __future__ import annotations

import numpy as np

from .grids import _check_x
from .losses import _takes_labels, get_loss

__all__ = ["Network", "check_input", "check_target", "check_output"]


def check_input(x, width, dtype, name="x"):
    """Validate a model input ``(B, width)``: 2-D, numeric (bool too), non-empty, finite; cast to ``dtype``."""
    x = _check_x(x, width, name, kinds="fiub")                 # the checks every evaluator runs
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return x.astype(dtype, copy=False)


def check_target(y, loss, batch, out, dtype, name="y"):
    """Validate targets: ``(B, out)`` floats for ``mse``, ``(B,)`` int labels for ``ce``."""
    y = np.asarray(y)
    if _takes_labels(loss):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != batch:
            raise ValueError(f"{name} must be integer labels of shape ({batch},), got shape {y.shape}")
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= out:
            raise ValueError(f"{name} labels must be in [0, {out}), got range "
                             f"[{y.min()}, {y.max()}]")
        return y
    if y.ndim == 1 and out == 1:
        y = y[:, None]
    if y.shape != (batch, out):
        raise ValueError(f"{name} must have shape ({batch}, {out}), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or inf")
    return y.astype(dtype, copy=False)


def check_output(out):
    """Raise ``FloatingPointError`` if a model output is NaN or inf (the parameters diverged)."""
    if not np.isfinite(out).all():
        raise FloatingPointError("the model's output is not finite: its parameters have "
                                 "diverged (try a smaller learning rate)")


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
        from .train import fit
        return fit(self, dataset, **kwargs)
