"""Base functions ``b(x)`` of a KAN edge, each with its derivative.

An edge computes ``phi(x) = w_b b(x) + w_s spline(x)``; ``b`` acts like a
residual connection that keeps the edge useful where the spline is still ~0
or where ``x`` has left the grid. Every base function here is a pair
``(f, df)`` of elementwise functions that keep the dtype of their input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "silu", "silu_grad", "identity", "identity_grad", "zero", "zero_grad",
           "BASE_FUNCTIONS", "get_base"]


def sigmoid(x):
    """``sigma(x) = 1 / (1 + exp(-x))``, computed as ``(1 + tanh(x / 2)) / 2``.

    The tanh form never overflows and keeps float32 inputs in float32.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def silu(x):
    """``silu(x) = x * sigma(x)`` (also called swish)."""
    return x * sigmoid(x)


def silu_grad(x):
    """``silu'(x) = sigma(x) (1 + x (1 - sigma(x)))``.

    From the product rule with ``sigma' = sigma (1 - sigma)``.
    """
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def identity(x):
    """``b(x) = x``."""
    return x.copy()


def identity_grad(x):
    """``b'(x) = 1``."""
    return np.ones_like(x)


def zero(x):
    """``b(x) = 0``: the edge is a pure spline."""
    return np.zeros_like(x)


def zero_grad(x):
    """``b'(x) = 0``."""
    return np.zeros_like(x)


BASE_FUNCTIONS = {
    "silu": (silu, silu_grad),
    "identity": (identity, identity_grad),
    "zero": (zero, zero_grad),
}


def get_base(name):
    """Return ``(b, b')`` for a base function name in :data:`BASE_FUNCTIONS`."""
    if not isinstance(name, str) or name not in BASE_FUNCTIONS:
        raise ValueError(f"base_fun must be one of {sorted(BASE_FUNCTIONS)}, got {name!r}")
    return BASE_FUNCTIONS[name]
