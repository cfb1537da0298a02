"""B-spline bases on knot grids: knots, basis values, derivatives, least-squares fit.

Glossary (used in every module): ``B`` batch, ``I`` inputs, ``O`` outputs,
``G`` grid intervals, ``k`` spline degree (pykan calls it the "order"),
``K = G + k`` basis functions, ``n = G + 2k + 1`` knots per input.

Two evaluators:

- :func:`basis_reference` is the Cox-de Boor recursion written as in the
  textbook, over *all* bases at every degree. It is slow and meant to be read.
- :func:`basis` / :func:`basis_derivative` compute only the ``k + 1`` bases
  that are non-zero at each point (the "live" bases, :func:`local_basis` in
  :mod:`numpykan.livebasis`), then scatter them into the dense ``(B, I, K)``
  array. Their cost does not grow with ``G`` except for the zero-filled output.

Both agree to round-off; the tests compare them. The knot vectors themselves
come from :mod:`numpykan.grids`. This module re-exports the public names of
both, so ``numpykan.bspline`` is the one place to import from.
"""

from __future__ import annotations

import numpy as np

from .grids import _check_int, _check_x, check_grid, extend_grid, uniform_grid
from .livebasis import (LocalBasis, Workspace, check_orders, local_basis, local_basis_orders,
                        piece_derivative_matrix, piece_matrix)

__all__ = [
    "uniform_grid",
    "extend_grid",
    "basis",
    "basis_derivative",
    "basis_reference",
    "local_basis",
    "local_basis_orders",
    "piece_matrix",
    "piece_derivative_matrix",
    "LocalBasis",
    "Workspace",
    "fit_coef",
    "evaluate",
    "check_grid",
]


# ---------------------------------------------------------------------------
# the reference: Cox-de Boor over all bases
# ---------------------------------------------------------------------------

def basis_reference(x, grid, k, order=0):
    """Cox-de Boor recursion over all bases (slow, readable; the oracle for :func:`basis`).

    ``B_{m,0}(x) = 1 if t_m <= x < t_{m+1} else 0`` and, for ``p = 1 .. k``,
    ``B_{m,p}(x) = (x - t_m)/(t_{m+p} - t_m) B_{m,p-1}(x)
    + (t_{m+p+1} - x)/(t_{m+p+1} - t_{m+1}) B_{m+1,p-1}(x)``.

    With ``order = q >= 1``, the ``q``-th derivative: the recursion runs up to degree
    ``k - q``, then ``q`` levels of the derivative rule

        ``B^(j)_{m,p}(x) = p [B^(j-1)_{m,p-1}(x) / (t_{m+p} - t_m)
        - B^(j-1)_{m+1,p-1}(x) / (t_{m+p+1} - t_{m+1})]``

    for ``p = k - q + 1 .. k`` (``j`` counts the levels done). ``q = k + 1`` gives
    zeros: a degree-``k`` piece is a polynomial of degree ``k``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    order : int in 0 .. k + 1

    Returns
    -------
    ndarray, shape (B, I, G + k)
    """
    grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
    x = _check_x(x, grid.shape[0])
    q = _check_order(order, k)
    t = grid[None, :, :]                                       # (1, I, n)
    xx = x[:, :, None]                                         # (B, I, 1)
    Bm = ((xx >= t[..., :-1]) & (xx < t[..., 1:])).astype(np.result_type(x.dtype, np.float32))
    if q > k:                                                  # (B, I, n - 1) -> zeros (B, I, G + k)
        return np.zeros(Bm.shape[:2] + (grid.shape[1] - k - 1,), dtype=Bm.dtype)
    for p in range(1, k - q + 1):                              # values up to degree k - q
        left = (xx - t[..., :-(p + 1)]) / (t[..., p:-1] - t[..., :-(p + 1)])     # (B, I, n-p-1)
        right = (t[..., p + 1:] - xx) / (t[..., p + 1:] - t[..., 1:-p])          # (B, I, n-p-1)
        Bm = left * Bm[..., :-1] + right * Bm[..., 1:]                          # (B, I, n-p-1)
    for p in range(k - q + 1, k + 1):                          # then q derivative levels
        lo = p / (t[..., p:-1] - t[..., :-(p + 1)])            # (1, I, n-p-1) p / (t_{m+p} - t_m)
        hi = p / (t[..., p + 1:] - t[..., 1:-p])               # (1, I, n-p-1) p / (t_{m+p+1} - t_{m+1})
        Bm = lo * Bm[..., :-1] - hi * Bm[..., 1:]                               # (B, I, n-p-1)
    return Bm                                                  # (B, I, G + k)


def _check_order(order, k, name="order"):
    """One derivative order: an int in ``0 .. k + 1`` (TypeError / ValueError naming it)."""
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"{name} must be an int in 0 .. k + 1 = {k + 1}, got {order!r}")
    return check_orders((order,), k, name)[-1] if order else 0


# ---------------------------------------------------------------------------
# dense bases from the live ones
# ---------------------------------------------------------------------------

def basis(x, grid, k):
    """B-spline basis values ``B_m(x_i; grid_i, k)`` for every input, dense.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
        Strictly increasing knots per input (a 1-D vector is shared by all inputs).
    k : int, >= 0
        Degree.

    Returns
    -------
    ndarray, shape (B, I, G + k)

    Notes
    -----
    Partition of unity: ``sum_m B_m(x) = 1`` on the base interval
    ``[t_k, t_{G+k})``; each ``B_m >= 0``; at most ``k + 1`` are non-zero at
    any ``x``; all are 0 outside ``[t_0, t_{G+2k})``.

    Examples
    --------
    >>> t = uniform_grid(2, 1)                  # knots -2 -1 0 1 2
    >>> basis(np.array([[0.5]]), t, 1)
    array([[[0. , 0.5, 0.5]]])
    """
    return local_basis(x, grid, k).dense()


def basis_derivative(x, grid, k, order=1):
    """Derivative ``d^q B_m / dx^q`` of :func:`basis` (``q = order``), same shapes: ``(B, I) -> (B, I, G + k)``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    order : int in 0 .. k + 1, default 1
        ``k + 1`` gives zeros (the pieces are polynomials of degree ``k``).

    Notes
    -----
    ``B'_{m,k}(x) = k [B_{m,k-1}(x) / (t_{m+k} - t_m) - B_{m+1,k-1}(x) / (t_{m+k+1} - t_{m+1})]``,
    and the same rule again for each further order (see
    :func:`numpykan.livebasis.local_basis_orders`). At an interior knot a
    degree-``k`` spline is only ``C^{k-1}``: derivatives of order ``>= k`` jump
    there and the right-hand value is returned (exactly so for ``k <= 1``, and on
    non-uniform grids; for ``k >= 2`` on a uniform grid up to the rounding of the span).

    Examples
    --------
    >>> t = uniform_grid(2, 1)                  # knots -2 -1 0 1 2: hats of slope +-1
    >>> basis_derivative(np.array([[0.5]]), t, 1)
    array([[[ 0., -1.,  1.]]])
    """
    if isinstance(order, (int, np.integer)) and not isinstance(order, (bool, np.bool_)) and order == 1:
        return local_basis(x, grid, k, derivative=True).dense("derivs")
    q = _check_order(order, _check_int(k, "k", 0))
    return local_basis_orders(x, grid, k, (q,)).dense(q)


# ---------------------------------------------------------------------------
# evaluating and fitting splines
# ---------------------------------------------------------------------------

def evaluate(x, grid, coef, k):
    """Evaluate splines ``s_ij(x_i) = sum_m coef[i, j, m] B_m(x_i)``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    coef : ndarray, shape (I, O, G + k)
    k : int

    Returns
    -------
    ndarray, shape (B, I, O)
        One value per sample, input and output (the edges before they are
        summed over ``i``).
    """
    Bx = local_basis(x, grid, k).scatter()                     # (B, K, I)
    y = np.matmul(Bx.transpose(2, 0, 1), coef.transpose(0, 2, 1))  # (I, B, K) x (I, K, O) -> (I, B, O)
    return y.transpose(1, 0, 2)                                # (B, I, O)


def fit_coef(x, y, grid, k, rcond=None):
    """Least-squares spline coefficients: the inverse of :func:`evaluate`.

    For each input ``i`` solves ``min_c sum_b (sum_m c[j, m] B_m(x[b, i]) - y[b, i, j])^2``
    with the minimum-norm solution (pseudo-inverse by SVD), so that inputs
    which are constant, duplicated, or leave some bases without samples give
    a finite answer instead of a singular system. Bases that no sample
    touches get coefficient 0.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    y : ndarray, shape (B, I, O), or (B, I)
        Target values of every spline at the samples; a 2-D ``y`` is one
        spline per input (``O = 1`` without the axis).
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    rcond : float, optional
        Singular values below ``rcond * largest`` are treated as 0
        (default ``max(B, K) * eps``).

    Returns
    -------
    coef : ndarray, shape (I, O, G + k) for a 3-D ``y``; shape (I, G + k) for a 2-D ``y``
        Solved in float64, returned in ``result_type(x, y, float32)``
        (float32 stays float32).

    Examples
    --------
    >>> t = uniform_grid(4, 2)                  # G = 4, k = 2: K = 6 bases
    >>> x = np.linspace(-1, 1, 30)[:, None]     # (B, I) = (30, 1)
    >>> fit_coef(x, np.sin(x), t, 2).shape      # y (B, I) -> (I, K)
    (1, 6)
    >>> fit_coef(x, np.stack([np.sin(x), np.cos(x)], axis=2), t, 2).shape   # y (B, I, O) -> (I, O, K)
    (1, 2, 6)
    """
    grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
    x = _check_x(x, grid.shape[0])
    y = np.asarray(y)
    squeeze = y.ndim == 2
    if squeeze:
        y = y[:, :, None]
    if y.ndim != 3 or y.shape[:2] != x.shape:
        raise ValueError(f"y must have shape (batch, in, out) = ({x.shape[0]}, {x.shape[1]}, out), "
                         f"got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    Bx = basis(x, grid, k).astype(np.float64).transpose(1, 0, 2)   # (I, B, K)
    if rcond is None:
        rcond = max(Bx.shape[1], Bx.shape[2]) * np.finfo(np.float64).eps
    pinv = np.linalg.pinv(Bx, rcond=rcond)                     # (I, K, B)
    c = pinv @ y.astype(np.float64).transpose(1, 0, 2)         # (I, K, B) x (I, B, O) -> (I, K, O)
    c = c.transpose(0, 2, 1).astype(np.result_type(x.dtype, y.dtype, np.float32))  # (I, O, K)
    return c[:, 0, :] if squeeze else c
