"""B-spline bases on knot grids: knots, basis values, derivatives, least-squares fit.

Glossary (used in every module): ``B`` batch, ``I`` inputs, ``O`` outputs,
``G`` grid intervals, ``k`` spline degree (pykan calls it the "order"),
``K = G + k`` basis functions, ``n = G + 2k + 1`` knots per input.

Two evaluators live here:

- :func:`basis_reference` is the Cox-de Boor recursion written as in the
  textbook, over *all* bases at every degree. It is slow and meant to be read.
- :func:`basis` / :func:`basis_derivative` compute only the ``k + 1`` bases
  that are non-zero at each point (the "live" bases), then scatter them into
  the dense ``(B, I, K)`` array. Their cost does not grow with ``G`` except
  for the zero-filled output.

Both agree to round-off; the tests compare them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "uniform_grid",
    "extend_grid",
    "basis",
    "basis_derivative",
    "basis_reference",
    "local_basis",
    "LocalBasis",
    "fit_coef",
    "evaluate",
    "check_grid",
]


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
    """Validate a knot array and return it as a 2-D float array ``(I, n)``.

    A 1-D knot vector is taken as shared by all inputs (``n_in`` of them,
    or one). Knots must be finite and strictly increasing, and there must be
    at least ``2k + 2`` of them (``G >= 1``).
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


def _check_x(x, n_in, name="x"):
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (batch, {n_in}), got shape {x.shape}")
    if x.shape[1] != n_in:
        raise ValueError(f"{name} must have shape (batch, {n_in}), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


# ---------------------------------------------------------------------------
# knots
# ---------------------------------------------------------------------------

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
    j = np.arange(-k, G + k + 1, dtype=np.float64)      # (n,)
    return (lo + (hi - lo) * j / G).astype(dtype)        # (n,)


def extend_grid(base, k):
    """Extend base knots ``(I, G + 1)`` by ``k`` knots on each side -> ``(I, G + 2k + 1)``.

    The added knots continue the spacing ``h = (last - first) / G`` of each
    row, so a uniform base stays uniform.
    """
    base = np.asarray(base)
    G = base.shape[1] - 1
    h = (base[:, -1:] - base[:, :1]) / G                      # (I, 1)
    steps = np.arange(1, k + 1, dtype=base.dtype)              # (k,)
    left = base[:, :1] - h * steps[::-1]                       # (I, k)
    right = base[:, -1:] + h * steps                           # (I, k)
    return np.concatenate([left, base, right], axis=1)        # (I, G + 2k + 1)


# ---------------------------------------------------------------------------
# the reference: Cox-de Boor over all bases
# ---------------------------------------------------------------------------

def basis_reference(x, grid, k):
    """Cox-de Boor recursion over all bases (slow, readable; the oracle for :func:`basis`).

    ``B_{m,0}(x) = 1 if t_m <= x < t_{m+1} else 0`` and, for ``p = 1 .. k``,
    ``B_{m,p}(x) = (x - t_m)/(t_{m+p} - t_m) B_{m,p-1}(x)
    + (t_{m+p+1} - x)/(t_{m+p+1} - t_{m+1}) B_{m+1,p-1}(x)``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int

    Returns
    -------
    ndarray, shape (B, I, G + k)
    """
    grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
    x = _check_x(x, grid.shape[0])
    t = grid[None, :, :]                                       # (1, I, n)
    xx = x[:, :, None]                                         # (B, I, 1)
    Bm = ((xx >= t[..., :-1]) & (xx < t[..., 1:])).astype(x.dtype)  # (B, I, n - 1)
    for p in range(1, k + 1):
        left = (xx - t[..., :-(p + 1)]) / (t[..., p:-1] - t[..., :-(p + 1)])     # (B, I, n-p-1)
        right = (t[..., p + 1:] - xx) / (t[..., p + 1:] - t[..., 1:-p])          # (B, I, n-p-1)
        Bm = left * Bm[..., :-1] + right * Bm[..., 1:]                          # (B, I, n-p-1)
    return Bm                                                  # (B, I, G + k)


# ---------------------------------------------------------------------------
# the fast path: only the k + 1 live bases
# ---------------------------------------------------------------------------

class LocalBasis(NamedTuple):
    """The ``k + 1`` live bases at each point, and where they go in a dense array.

    The dense array used inside the package is laid out ``(B, K, I)`` (basis
    index before input index), so that one sample's bases sit together in
    memory while they are scattered; :func:`basis` returns the public
    ``(B, I, K)`` layout.

    Attributes
    ----------
    index : ndarray of int, shape (k + 1, B, I)
        Flat index into a dense ``(B, K, I)`` array of each live value. Values
        that belong to no basis (the point is near or beyond the ends of the
        grid) point at a cell this point does not use and are stored as 0.
    values : ndarray, shape (k + 1, B, I)
        ``values[r] = B_{s-k+r}(x)`` where ``t_s <= x < t_{s+1}``.
    derivs : ndarray, shape (k + 1, B, I) or None
        ``B'_{s-k+r}(x)``.
    K : int
        Number of bases per input.
    """

    index: np.ndarray
    values: np.ndarray
    derivs: np.ndarray | None
    K: int

    def scatter(self, which="values"):
        """Dense ``(B, K, I)`` array of the live values (or ``"derivs"``), zeros elsewhere."""
        src = self.values if which == "values" else self.derivs
        _, B, I = src.shape
        out = np.zeros((B, self.K, I), dtype=src.dtype)        # (B, K, I)
        out.reshape(-1)[self.index] = src                      # (k+1)*B*I writes
        return out

    def gather(self, dense):
        """Pick the live entries of a dense ``(B, K, I)`` array -> ``(k + 1, B, I)``."""
        return np.take(dense.reshape(-1), self.index)

    def dense(self, which="values"):
        """Dense array in the public layout ``(B, I, K)``."""
        return np.ascontiguousarray(self.scatter(which).transpose(0, 2, 1))


def _is_uniform(grid):
    """Per-row uniform spacing, to the round-off of the grid's dtype (what :func:`uniform_grid` makes)."""
    d = np.diff(grid, axis=1)                                  # (I, n - 1)
    scale = np.abs(grid).max(axis=1, keepdims=True)            # (I, 1)
    tol = 16 * np.finfo(grid.dtype).eps * scale                # (I, 1) knots are stored to this precision
    return bool(np.all(np.abs(d - d[:, :1]) <= tol))


def _padded(grid, k):
    """Add ``k + 1`` knots on each side so that ``t_{s+d}`` exists for every span we visit."""
    n = grid.shape[1]
    first = grid[:, 1] - grid[:, 0]                            # (I,)
    last = grid[:, -1] - grid[:, -2]                           # (I,)
    steps = np.arange(1, k + 2, dtype=grid.dtype)              # (k + 1,)
    left = grid[:, :1] - first[:, None] * steps[::-1]          # (I, k + 1)
    right = grid[:, -1:] + last[:, None] * steps               # (I, k + 1)
    return np.concatenate([left, grid, right], axis=1)         # (I, n + 2k + 2)


def local_basis(x, grid, k, derivative=False, check=True):
    """Evaluate only the ``k + 1`` non-zero bases at each point.

    For ``t_s <= x < t_{s+1}`` the live bases are ``B_{s-k} .. B_s``. Writing
    ``D_d = t_{s+d} - x``, Cox-de Boor restricted to them is, for
    ``p = 1 .. k`` and ``r = 0 .. p`` (``N^p_r = B_{s-p+r, p}(x)``)::

        N^p_r = -D_{r-p} / (D_r - D_{r-p}) N^{p-1}_{r-1}
                + D_{r+1} / (D_{r+1} - D_{r+1-p}) N^{p-1}_r

    with ``N^0_0 = 1`` and terms outside ``0 .. p-1`` taken as 0. On a uniform
    grid of spacing ``h``, ``D_d = (d - u) h`` with ``u = (x - t_s) / h`` and
    both denominators are ``p h``::

        N^p_r = ((u + p - r) N^{p-1}_{r-1} + (r + 1 - u) N^{p-1}_r) / p

    The derivative is ``B'_{m,k} = k [B_{m,k-1} / (t_{m+k} - t_m)
    - B_{m+1,k-1} / (t_{m+k+1} - t_{m+1})]``, on a uniform grid
    ``(N^{k-1}_{r-1} - N^{k-1}_r) / h``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    derivative : bool
        Also compute ``B'``.
    check : bool
        Validate the inputs (internal callers that already did may skip it).

    Returns
    -------
    LocalBasis

    Notes
    -----
    The span ``s`` comes from arithmetic on a uniform grid (``floor((x - t_0) / h)``)
    and from a vectorized binary search otherwise. On a uniform grid with
    ``k <= 1`` (where the bases, or their derivatives, jump at knots) the
    span is corrected against the stored knots so that a point exactly on a
    knot gets the right-hand value; for ``k >= 2`` both are continuous and an
    off-by-one span at a knot changes nothing beyond round-off.
    """
    if check:
        grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
        x = _check_x(x, grid.shape[0])
    dtype = np.result_type(x.dtype, np.float32) if x.dtype.kind == "f" else np.float64
    x = x.astype(dtype, copy=False)
    grid = grid.astype(dtype, copy=False)
    B, I = x.shape
    n = grid.shape[1]
    K = n - k - 1
    tpad = _padded(grid, k)                                    # (I, n + 2k + 2); t_j is tpad[:, j + k + 1]
    off = k + 1
    row = (np.arange(I) * tpad.shape[1])[None, :]              # (1, I) flat row offsets into tpad
    tflat = tpad.reshape(-1)                                   # (I * (n + 2k + 2),)

    uniform = _is_uniform(grid)
    if uniform:
        t0 = grid[:, 0]                                        # (I,)
        h = (grid[:, -1] - grid[:, 0]) / (n - 1)               # (I,)
        z = (x - t0) / h                                       # (B, I) position in units of h
        np.clip(z, -1, n - 1, out=z)                           # outside the grid: span -1 or n - 1
        sf = np.floor(z)                                       # (B, I)
        u = z - sf                                             # (B, I) in [0, 1)
        s = sf.astype(np.intp)                                 # (B, I)
        if k <= 1:                                             # exact span at knots (see Notes)
            pos = row + s + off                                # (B, I) flat index of t_s
            s = s - (x < tflat[pos]) + (x >= tflat[pos + 1])   # (B, I)
            np.clip(s, -1, n - 1, out=s)
            u = (x - tflat[row + s + off]) / h                 # (B, I)
    else:
        # binary search per row: ceil(log2(n + 1)) gathers, no Python loop over inputs
        lo = np.full((B, I), -1, dtype=np.intp)                # invariant: t_lo <= x (t_{-1} = -inf)
        hi = np.full((B, I), n, dtype=np.intp)                 # invariant: x < t_hi (t_n = +inf)
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2                               # (B, I)
            ge = x >= tflat[row + mid + off]                   # (B, I)
            lo = np.where(ge, mid, lo)
            hi = np.where(ge, hi, mid)
        s = np.minimum(lo, n - 1)                              # (B, I) span, -1 / n-1 outside
        pos = row + s + off

        def D(d):                                              # t_{s+d} - x
            return tflat[pos + d] - x

    values = np.empty((k + 1, B, I), dtype=dtype)              # (k + 1, B, I)
    derivs = np.empty((k + 1, B, I), dtype=dtype) if derivative else None
    if uniform:
        _uniform_scheme(u, k, 1 / h, values, derivs)
    else:
        _general_scheme(D, k, values, derivs)

    # Where each live value goes in the dense (B, K, I) array: m = s - k + r,
    # kept only for 0 <= m < K. Near the ends of the grid some m fall outside;
    # such a value is set to 0 and sent to a column this point does not use
    # (K - 1 below the grid, 0 above it), so that no valid write is lost.
    start = np.arange(0, B * K * I, K * I).reshape(B, 1) + np.arange(I)   # (B, I) flat index of m = 0
    start += (s - k) * I                                       # (B, I) flat index of m = s - k
    index = np.empty((k + 1, B, I), dtype=np.intp)             # (k + 1, B, I)
    at_edge = s.min() < k or s.max() > K - 1                   # some window leaves 0 .. K-1
    for r in range(k + 1):
        np.add(start, r * I, out=index[r])
        if at_edge:
            m = s - k + r                                      # (B, I)
            below, above = m < 0, m >= K
            index[r] += (np.where(below, K - 1 - m, 0) - np.where(above, m, 0)) * I
            bad = below | above
            values[r][bad] = 0
            if derivative:
                derivs[r][bad] = 0
    return LocalBasis(index, values, derivs, K)


def _uniform_scheme(u, k, inv_h, values, derivs):
    """Live bases on a uniform grid, written into ``values`` (and ``derivs``), each ``(k+1, B, I)``.

    Works with ``M^p_r = p! N^p_r``, which drops the division by ``p`` at each level::

        M^p_r = (u + p - r) M^{p-1}_{r-1} + (r + 1 - u) M^{p-1}_r,   M^0_0 = 1

    then ``N^k_r = M^k_r / k!`` and ``B'_r = (M^{k-1}_{r-1} - M^{k-1}_r) / ((k-1)! h)``.
    """
    if k == 0:
        values[0] = 1
        if derivs is not None:
            derivs[0] = 0
        return
    up = [u + j for j in range(k)]                             # up[j] = u + j, each (B, I)
    down = [j - u for j in range(k + 1)]                       # down[j] = j - u
    M = [down[1], u]                                           # level p = 1: (1 - u), u
    for p in range(2, k + 1):
        prev = M
        M = [down[1] * prev[0]]                                # r = 0
        for r in range(1, p):
            M.append(up[p - r] * prev[r - 1] + down[r + 1] * prev[r])
        M.append(u * prev[p - 1])                              # r = p
        if p == k:
            last = prev
    if k == 1:
        last = [np.ones_like(u)]
    scale = 1.0 / math.factorial(k)
    for r in range(k + 1):
        np.multiply(M[r], scale, out=values[r])
    if derivs is not None:
        dscale = inv_h / math.factorial(k - 1)                 # (I,)
        for r in range(k + 1):
            if r == 0:
                np.multiply(last[0], -dscale, out=derivs[0])
            elif r == k:
                np.multiply(last[k - 1], dscale, out=derivs[k])
            else:
                np.subtract(last[r - 1], last[r], out=derivs[r])
                derivs[r] *= dscale


def _general_scheme(D, k, values, derivs):
    """Live bases on any strictly increasing grid; ``D(d) = t_{s+d} - x`` (see :func:`local_basis`)."""
    B, I = values.shape[1:]
    N = [np.ones((B, I), dtype=values.dtype)]
    prev = N
    for p in range(1, k + 1):
        prev = N
        N = []
        for r in range(p + 1):
            term = 0.0
            if r >= 1:
                term = -D(r - p) / (D(r) - D(r - p)) * prev[r - 1]
            if r <= p - 1:
                term = term + D(r + 1) / (D(r + 1) - D(r + 1 - p)) * prev[r]
            N.append(term)
    for r in range(k + 1):
        values[r] = N[r]
    if derivs is None:
        return
    for r in range(k + 1):
        if k == 0:
            derivs[r] = 0
            continue
        left = k * prev[r - 1] / (D(r) - D(r - k)) if r >= 1 else 0.0
        right = k * prev[r] / (D(r + 1) - D(r + 1 - k)) if r <= k - 1 else 0.0
        derivs[r] = left - right


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


def basis_derivative(x, grid, k):
    """Derivative ``dB_m/dx`` of :func:`basis`, same shapes: ``(B, I) -> (B, I, G + k)``.

    Notes
    -----
    ``B'_{m,k}(x) = k [B_{m,k-1}(x) / (t_{m+k} - t_m) - B_{m+1,k-1}(x) / (t_{m+k+1} - t_{m+1})]``.
    At an interior knot a degree-``k`` spline is only ``C^{k-1}``: for
    ``k <= 1`` the derivative jumps there and the right-hand value is returned.
    """
    return local_basis(x, grid, k, derivative=True).dense("derivs")


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

    Returns
    -------
    ndarray, shape (B, I, O)
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
    y : ndarray, shape (B, I, O) (or (B, I) for O = 1)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    rcond : float, optional
        Singular values below ``rcond * largest`` are treated as 0
        (default ``max(B, K) * eps``).

    Returns
    -------
    coef : ndarray, shape (I, O, G + k)
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
