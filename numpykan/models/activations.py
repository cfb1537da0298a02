"""Base functions ``b(x)`` of a KAN edge, each with its derivative.

An edge computes ``phi(x) = w_b b(x) + w_s spline(x)``; ``b`` acts like a
residual connection that keeps the edge useful where the spline is still ~0
or where ``x`` has left the grid. Every base function here is a pair
``(f, df)`` of elementwise functions that keep the dtype of their input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "silu", "silu_grad", "identity", "identity_grad", "zero", "zero_grad",
           "BASE_FUNCTIONS", "get_base", "silu_derivatives", "tanh_derivatives",
           "identity_derivatives", "zero_derivatives", "relu_derivatives", "DERIVATIVES",
           "get_derivatives"]


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


# ---------------------------------------------------------------------------
# higher derivatives (input derivatives of a network: numpykan.derivatives)
# ---------------------------------------------------------------------------

def silu_derivatives(x, orders=(0, 1, 2, 3)):
    """``silu^(q)(x)`` for each ``q`` in ``orders`` (0 .. 3), sharing one sigmoid -> list of arrays.

    With ``s = sigma(x)`` and ``s' = s (1 - s)``, ``s'' = s' (1 - 2 s)``,
    ``s''' = s' (1 - 6 s + 6 s^2)`` (each from the one before by ``s' = s (1 - s)``),
    Leibniz's rule on ``silu = x s`` gives ``silu^(q) = q s^(q-1) + x s^(q)``::

        silu'   = s + x s'                = s (1 + x (1 - s))
        silu''  = 2 s' + x s''
        silu''' = 3 s'' + x s'''
    """
    s = sigmoid(x)
    ds = s * (1.0 - s)                                         # s'
    d2s = ds * (1.0 - 2.0 * s)                                 # s''
    out = []
    for q in orders:
        if q == 0:
            out.append(x * s)
        elif q == 1:
            out.append(s + x * ds)
        elif q == 2:
            out.append(2.0 * ds + x * d2s)
        elif q == 3:
            out.append(3.0 * d2s + x * ds * (1.0 - 6.0 * s + 6.0 * s * s))
        else:
            raise ValueError(f"orders must lie in 0 .. 3, got {q}")
    return out


def tanh_derivatives(x, orders=(0, 1, 2, 3)):
    """``tanh^(q)(x)``, ``q`` in 0 .. 3, from ``t = tanh x`` and ``t' = 1 - t^2``::

        tanh'   = 1 - t^2
        tanh''  = -2 t (1 - t^2)
        tanh''' = (1 - t^2)(6 t^2 - 2)         (d/dx of -2 t + 2 t^3)
    """
    t = np.tanh(x)
    dt = 1.0 - t * t
    table = {0: lambda: t, 1: lambda: dt, 2: lambda: -2.0 * t * dt,
             3: lambda: dt * (6.0 * t * t - 2.0)}
    return [_pick(table, q) for q in orders]


def identity_derivatives(x, orders=(0, 1, 2, 3)):
    """``x``, ``1``, then zeros: the identity's derivatives."""
    table = {0: lambda: x.copy(), 1: lambda: np.ones_like(x), 2: lambda: np.zeros_like(x),
             3: lambda: np.zeros_like(x)}
    return [_pick(table, q) for q in orders]


def zero_derivatives(x, orders=(0, 1, 2, 3)):
    """Zeros at every order."""
    table = {q: lambda: np.zeros_like(x) for q in range(4)}
    return [_pick(table, q) for q in orders]


def relu_derivatives(x, orders=(0, 1, 2, 3)):
    """``max(x, 0)``, the step ``[x > 0]``, then zeros (away from the kink at 0, where none exists)."""
    table = {0: lambda: np.maximum(x, 0), 1: lambda: (x > 0).astype(x.dtype),
             2: lambda: np.zeros_like(x), 3: lambda: np.zeros_like(x)}
    return [_pick(table, q) for q in orders]


def _check_q(q):
    if not 0 <= q <= 3:
        raise ValueError(f"orders must lie in 0 .. 3, got {q}")
    return True


def _pick(table, q):
    _check_q(q)
    return table[q]()


#: name -> function ``(x, orders) -> [b^(q)(x) for q in orders]``, orders 0 .. 3
DERIVATIVES = {
    "silu": silu_derivatives,
    "identity": identity_derivatives,
    "zero": zero_derivatives,
    "tanh": tanh_derivatives,
    "relu": relu_derivatives,
}


def get_derivatives(name):
    """The higher-derivative function of base function / activation ``name`` (see :data:`DERIVATIVES`)."""
    if not isinstance(name, str) or name not in DERIVATIVES:
        raise ValueError(f"no derivatives up to order 3 are known for {name!r}; known: "
                         f"{sorted(DERIVATIVES)}")
    return DERIVATIVES[name]
