"""Knot grids: the uniform knot vector, extending base knots, and the checks every evaluator runs.

Glossary (used in every module): ``B`` batch, ``I`` inputs, ``O`` outputs,
``G`` grid intervals, ``k`` spline degree (pykan calls it the "order"),
``K = G + k`` basis functions, ``n = G + 2k + 1`` knots per input.

A layer keeps one knot vector per input, ``grid`` of shape ``(I, n)``; the
``G + 1`` knots of the base interval are extended by ``k`` knots on each side
so that every basis touching the base interval is complete.
:mod:`numpykan.bspline` re-exports the public names.
"""

from __future__ import annotations

import numpy as np

__all__ = ["uniform_grid", "extend_grid", "check_grid"]


# ---------------------------------------------------------------------------
# validation at the public boundary
# ---------------------------------------------------------------------------

def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_range(grid_range, name="grid_range"):
    try:
        lo, hi = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (lo, hi) of numbers, got {grid_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise ValueError(f"{name} must satisfy lo < hi with finite values, got ({lo}, {hi})")
    return lo, hi


def check_grid(grid, k, n_in=None, name="grid"):
    """Validate a knot array and return it as a 2-D array ``(I, n)``, ``n = G + 2k + 1``.

    The dtype is kept (integer knots stay integers; the evaluators promote).
    A 1-D knot vector ``(n,)`` is taken as shared by all inputs and comes back
    as a read-only broadcast view ``(n_in, n)`` (``(1, n)`` without ``n_in``).
    Knots must be finite and strictly increasing, and there must be at least
    ``2k + 2`` of them (``G >= 1``).
    """
    k = _check_int(k, "k", 0)
    grid = np.asarray(grid)
    if grid.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric array, got dtype {grid.dtype}")
    if grid.ndim == 1:
        grid = np.broadcast_to(grid, (1 if n_in is None else n_in, grid.shape[0]))
    if grid.ndim != 2:
        raise ValueError(f"{name} must have shape (in, G + 2k + 1), got shape {grid.shape}")
    if n_in is not None and grid.shape[0] != n_in:
        raise ValueError(f"{name} must have {n_in} rows (one knot vector per input), "
                         f"got shape {grid.shape}")
    if grid.shape[1] < 2 * k + 2:
        raise ValueError(f"{name} needs at least 2k + 2 = {2 * k + 2} knots per input for "
                         f"degree k = {k} (G >= 1), got {grid.shape[1]}")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(np.diff(grid, axis=1) <= 0):
        row = int(np.argmax(np.any(np.diff(grid, axis=1) <= 0, axis=1)))
        raise ValueError(f"{name} must be strictly increasing along each row; "
                         f"row {row} is {grid[row]}")
    return grid


def _check_x(x, n_in, name="x", kinds="fiu"):
    """Validate points ``(B, n_in)``: a 2-D array of a dtype kind in ``kinds``, all finite."""
    x = np.asarray(x)
    if x.dtype.kind not in kinds:
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (batch, {n_in}), got shape {x.shape}")
    if x.shape[1] != n_in:
        raise ValueError(f"{name} must have shape (batch, {n_in}), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


# ---------------------------------------------------------------------------
# knots
# ---------------------------------------------------------------------------

def uniform_knots64(G, k, lo, hi):
    """``t_j = lo + (j - k) (hi - lo) / G``, ``j = 0 .. G + 2k``, in float64, unchecked (may overflow).

    The one formula of the uniform knots: :func:`uniform_grid` and the model's
    constructor check (:func:`numpykan.validation.check_knots`) both use it.
    """
    j = np.arange(-k, G + k + 1, dtype=np.float64)      # (n,)
    return lo + (hi - lo) * j / G                        # (n,)


def uniform_grid(G, k, grid_range=(-1.0, 1.0), dtype=np.float64):
    """Uniform knot vector: ``G`` intervals over ``grid_range``, extended by ``k`` on each side.

    Parameters
    ----------
    G : int, >= 1
        Number of intervals on the base interval ``grid_range``.
    k : int, >= 0
        Spline degree.
    grid_range : (float, float)
        The base interval ``[lo, hi]``.
    dtype : numpy dtype, default float64
        Of the returned knots (computed in float64).

    Returns
    -------
    t : ndarray, shape (G + 2k + 1,)
        ``t_j = lo + (j - k) h`` with ``h = (hi - lo) / G``, ``j = 0 .. G + 2k``;
        ``t_k = lo`` and ``t_{k+G} = hi``.

    Examples
    --------
    >>> uniform_grid(2, 1)
    array([-2., -1.,  0.,  1.,  2.])
    """
    G = _check_int(G, "G", 1)
    k = _check_int(k, "k", 0)
    lo, hi = _check_range(grid_range)
    with np.errstate(over="ignore", invalid="ignore"):
        t = uniform_knots64(G, k, lo, hi).astype(dtype)  # (n,)
    if not np.isfinite(t).all() or not (np.diff(t) > 0).all():
        raise ValueError(f"grid_range {tuple(grid_range)} with G = {G}, k = {k} gives knots that are "
                         f"not finite and strictly increasing in {np.dtype(dtype).name} (too wide, "
                         f"or too narrow for its magnitude)")
    return t


def extend_grid(base, k):
    """Extend base knots ``(I, G + 1)`` by ``k`` knots on each side -> ``(I, G + 2k + 1)``.

    The added knots continue the mean spacing ``h = (last - first) / G`` of
    each row, so a uniform base stays uniform. ``base`` must be 2-D (one row
    per input) with ``G + 1 >= 2`` columns; the result has its dtype.
    """
    base = np.asarray(base)
    G = base.shape[1] - 1
    h = (base[:, -1:] - base[:, :1]) / G                      # (I, 1)
    steps = np.arange(1, k + 1, dtype=base.dtype)              # (k,)
    left = base[:, :1] - h * steps[::-1]                       # (I, k)
    right = base[:, -1:] + h * steps                           # (I, k)
    return np.concatenate([left, base, right], axis=1)        # (I, G + 2k + 1)
