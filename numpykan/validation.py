"""Validation at the public boundary: the checks every public call runs before it acts.

Each check takes the value and the argument's name, and returns the value in
the form the code computes with, or raises a ``TypeError``/``ValueError`` whose
message names the argument, what was expected and what was given.

- scalars: :func:`check_real`, :func:`check_positive`, :func:`check_nonnegative`,
  :func:`check_unit_interval`;
- model data: :func:`check_input` (inputs ``(B, width)``), :func:`check_target`
  (regression targets or class labels), :func:`check_output` (a diverged model).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .splines.grids import _check_x
from .training.losses import _takes_labels

__all__ = ["check_real", "check_positive", "check_nonnegative", "check_unit_interval",
           "check_input", "check_target", "check_user_target", "check_output"]


def check_real(value, name):
    """A finite real number (not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(value, name):
    """A finite real number > 0."""
    value = check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_nonnegative(value, name):
    """A finite real number >= 0."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_unit_interval(value, name):
    """A finite real number in [0, 1)."""
    value = check_real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def check_input(x, width, dtype, name="x"):
    """Validate a model input ``(B, width)``: 2-D, numeric (bool too), non-empty, finite; cast to ``dtype``."""
    x = _check_x(x, width, name, kinds="fiub")                 # the checks every evaluator runs
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return x.astype(dtype, copy=False)


def check_target(y, loss, batch, out, dtype, name="y"):
    """Validate targets: ``(B, out)`` floats for ``mse``, ``(B,)`` int labels for ``ce``.

    For a callable loss see :func:`check_user_target`.
    """
    if callable(loss) and not isinstance(loss, str) and not _builtin_loss(loss):
        return check_user_target(y, batch, dtype, name)
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


def _builtin_loss(fn):
    from .training.losses import cross_entropy, mse
    return fn is mse or fn is cross_entropy


def check_user_target(y, batch, dtype, name="y"):
    """Targets for a callable loss: a real numeric array with ``batch`` rows (any other shape).

    Floats must be finite and are cast to the model's ``dtype``; integers
    (class labels, say) are passed on as they are, for the loss to read.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {y.dtype}")
    if y.ndim == 0 or y.shape[0] != batch:
        raise ValueError(f"{name} must have {batch} rows (one per sample), got shape {y.shape}")
    if y.dtype.kind == "f":
        y = y.astype(dtype, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or inf (in {np.dtype(dtype).name})")
    return y


def check_output(out):
    """Raise ``FloatingPointError`` if a model output is NaN or inf (the parameters diverged)."""
    if not np.isfinite(out).all():
        raise FloatingPointError("the model's output is not finite: its parameters have "
                                 "diverged (try a smaller learning rate)")
