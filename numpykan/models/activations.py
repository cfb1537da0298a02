"""Base functions ``b(x)`` of a KAN edge (and an MLP's activations), each with its derivatives.

An edge computes ``phi(x) = w_b b(x) + w_s spline(x)``; ``b`` acts like a
residual connection that keeps the edge useful where the spline is still ~0
or where ``x`` has left the grid. Every base function here is a pair
``(f, df)`` of elementwise functions that keep the dtype of their input, and
has its derivatives up to the third order (:data:`DERIVATIVES`), which the
input derivatives of a network need (:mod:`numpykan.derivatives`: the
Jacobian needs ``b'``, the Laplacian ``b''``, the gradient of a loss on the
Laplacian ``b'''``).

What ``KAN(base_fun=...)`` and ``MLP(activation=...)`` accept
-------------------------------------------------------------
- a name in :data:`ACTIVATIONS`: ``"silu"`` (the default), ``"tanh"``,
  ``"relu"``, ``"identity"``, ``"zero"``;
- a pair ``(f, f_prime)`` of elementwise NumPy functions: enough for
  training and for ``jacobian``; ``hessian_diag``, ``laplacian`` and losses
  on input derivatives need more and raise :class:`MissingDerivativeError`;
- a 4-tuple ``(f, f1, f2, f3)`` of ``f`` and its first three derivatives:
  everything a name gives.

A bare callable is refused with a ``TypeError`` that explains the pair:
numpykan derives no gradient automatically, so ``f'`` must come with ``f``.
The functions of a tuple are checked once, when a layer is built, on a few
points against central differences of the one before (:func:`check_base`).
A model with callables cannot be saved (a checkpoint holds no code); the
names can.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "silu", "silu_grad", "identity", "identity_grad", "zero", "zero_grad",
           "tanh", "tanh_grad", "relu", "relu_grad", "BASE_FUNCTIONS", "ACTIVATIONS",
           "get_base", "check_base", "base_name", "MissingDerivativeError",
           "silu_derivatives", "tanh_derivatives", "identity_derivatives", "zero_derivatives",
           "relu_derivatives", "DERIVATIVES", "get_derivatives"]


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


def tanh(x):
    """``b(x) = tanh x``."""
    return np.tanh(x)


def tanh_grad(x):
    """``b'(x) = 1 - tanh^2 x`` (quotient rule on ``sinh / cosh``, with ``cosh^2 - sinh^2 = 1``)."""
    t = np.tanh(x)
    return 1.0 - t * t


def relu(x):
    """``b(x) = max(x, 0)``."""
    return np.maximum(x, 0)


def relu_grad(x):
    """``b'(x) = [x > 0]``: 0 at the kink ``x = 0``, where no derivative exists."""
    return (x > 0).astype(x.dtype)


#: the base functions pykan also knows by name (the ones :mod:`numpykan.interop` converts)
BASE_FUNCTIONS = {
    "silu": (silu, silu_grad),
    "identity": (identity, identity_grad),
    "zero": (zero, zero_grad),
}

#: every named base function (``KAN(base_fun=...)``) and MLP activation: ``name -> (f, f')``;
#: their derivatives up to order 3 are in :data:`DERIVATIVES`
ACTIVATIONS = dict(BASE_FUNCTIONS, tanh=(tanh, tanh_grad), relu=(relu, relu_grad))


class MissingDerivativeError(ValueError):
    """A base function given as a pair ``(f, f')`` was asked for its second or third derivative."""


_PAIR = ("pass the pair (f, f_prime) of elementwise NumPy functions with f_prime the derivative "
         "of f (numpykan derives no gradient automatically), or (f, f1, f2, f3) with the first "
         "three derivatives if you need hessian_diag, laplacian or losses on input derivatives")
_LABELS = ("f", "f'", "f''", "f'''")


def _callables(value, arg):
    """``value`` as a tuple of 2 or 4 callables, or a ``TypeError`` naming ``arg``."""
    if callable(value) and not isinstance(value, (tuple, list)):
        raise TypeError(f"{arg} got the bare callable {getattr(value, '__name__', value)!r}: "
                        f"{_PAIR}")
    if (not isinstance(value, (tuple, list)) or len(value) not in (2, 4)
            or not all(callable(f) for f in value)):
        raise TypeError(f"{arg} must be one of {sorted(ACTIVATIONS)} or a tuple of 2 or 4 "
                        f"callables (f, f') or (f, f1, f2, f3), got {value!r}")
    return tuple(value)


def get_base(name, arg="base_fun"):
    """``(b, b')`` for a name in :data:`ACTIVATIONS`, or the first two of a tuple ``(f, f', ...)``.

    Only the types are checked (the numbers are checked once by
    :func:`check_base`, when a layer is built); ``arg`` names the argument
    in the error messages.
    """
    if isinstance(name, str):
        if name not in ACTIVATIONS:
            raise ValueError(f"{arg} must be one of {sorted(ACTIVATIONS)} or a pair (f, f'), "
                             f"got {name!r}")
        return ACTIVATIONS[name]
    return _callables(name, arg)[:2]


#: points where :func:`check_base` compares each function with differences of the one before
_PROBE = np.array([-2.3, -1.1, -0.45, 0.3, 0.85, 1.9])


def check_base(base_fun, arg="base_fun"):
    """``base_fun`` validated: a name in :data:`ACTIVATIONS`, or a tuple of 2 or 4 callables.

    Each callable of a tuple must map a float64 array to one of the same
    shape with finite values at six points in ``[-2.3, 1.9]`` (0 is not one
    of them: relu-like kinks), and each after the first must match central
    differences of the one before there (step ``1e-5``, tolerance
    ``1e-5 (1 + |f^(q)|)``), so a wrong derivative is caught here rather
    than showing up as a silently wrong gradient.

    Returns
    -------
    str or tuple of callables

    Raises
    ------
    ValueError
        An unknown name, or a function that fails the checks (the message
        names ``arg``, the function and the worst point).
    TypeError
        A bare callable (the message explains the pair), or anything else.
    """
    if isinstance(base_fun, str):
        get_base(base_fun, arg)
        return base_fun
    funcs = _callables(base_fun, arg)
    x, e = _PROBE, 1e-5
    for q, f in enumerate(funcs):
        with np.errstate(all="ignore"):                        # a NaN is reported below, by name
            v = np.asarray(f(x))
        if v.shape != x.shape or not np.all(np.isfinite(v)):
            raise ValueError(f"{arg}: {_LABELS[q]} must map an array to finite values of the "
                             f"same shape; at x = {x.tolist()} it gave {v!r}")
        if q == 0:
            continue
        with np.errstate(all="ignore"):
            fd = (np.asarray(funcs[q - 1](x + e)) - np.asarray(funcs[q - 1](x - e))) / (2 * e)
        err = np.abs(v - fd) / (1.0 + np.abs(v))
        if not np.all(err <= 1e-5):
            w = int(np.argmax(err))
            raise ValueError(f"{arg}: {_LABELS[q]} is not the derivative of {_LABELS[q - 1]}: at "
                             f"x = {x[w]}, {_LABELS[q]} gives {v[w]:.8g} but central differences "
                             f"of {_LABELS[q - 1]} give {fd[w]:.8g}")
    return funcs


def base_name(base_fun):
    """A short label: the name, or the functions' names in parentheses for a tuple."""
    if isinstance(base_fun, str):
        return base_fun
    return "(" + ", ".join(getattr(f, "__name__", type(f).__name__) for f in base_fun) + ")"


# ---------------------------------------------------------------------------
# higher derivatives (input derivatives of a network: numpykan.derivatives)
# ---------------------------------------------------------------------------

def silu_derivatives(x, orders=(0, 1, 2, 3)):
    """``silu^(q)(x)`` for each ``q`` in ``orders`` (0 .. 3), sharing one sigmoid -> list of arrays.

    With ``s = sigma(x)``, ``s' = s (1 - s)``; differentiating again with that rule,
    ``s'' = s' (1 - 2 s)`` and
    ``s''' = s'' (1 - 2 s) - 2 s'^2 = s' [(1 - 2 s)^2 - 2 s (1 - s)] = s' (1 - 6 s + 6 s^2)``.
    Leibniz's rule on ``silu = x s`` (``x'' = 0``) gives ``silu^(q) = q s^(q-1) + x s^(q)``::

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
        tanh''  = -2 t t'            = -2 t (1 - t^2)
        tanh''' = d/dx (-2 t + 2 t^3) = (6 t^2 - 2) t' = (1 - t^2)(6 t^2 - 2)
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
    """``max(x, 0)``, the step ``[x > 0]``, then zeros.

    Both pieces are linear, so ``relu'' = relu''' = 0`` away from the kink at 0
    (where the second derivative is a Dirac delta that no finite value
    represents: a Laplacian through relu edges sees only the splines' curvature).
    """
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


def get_derivatives(name, arg="base_fun"):
    """The function ``(x, orders) -> [b^(q)(x) for q in orders]`` of a base function / activation.

    ``name`` is a name in :data:`DERIVATIVES`, a 4-tuple ``(f, f1, f2, f3)``,
    or a pair ``(f, f')``, whose function serves orders 0 and 1 and raises
    :class:`MissingDerivativeError` for orders 2 and 3 (``arg`` names the
    argument in its message: ``"activation"`` for an MLP).
    """
    if isinstance(name, str):
        if name not in DERIVATIVES:
            raise ValueError(f"no derivatives up to order 3 are known for {name!r}; known: "
                             f"{sorted(DERIVATIVES)}")
        return DERIVATIVES[name]
    funcs = _callables(name, arg)

    def derivatives(x, orders=(0, 1, 2, 3)):
        out = []
        for q in orders:
            _check_q(q)
            if q >= len(funcs):
                raise MissingDerivativeError(
                    f"this needs the base function's derivative of order {q}, but {arg} is the "
                    f"pair {base_name(funcs)} = (f, f'), which gives f and f' only: jacobian works, "
                    f"while hessian_diag, laplacian and the gradients of losses on input "
                    f"derivatives (DerivativeLoss) need f'' and f'''; build the model with "
                    f"{arg}=(f, f1, f2, f3), f and its first three derivatives")
            out.append(np.asarray(funcs[q](x), dtype=x.dtype))
        return out

    return derivatives
