"""The fast evaluator: only the ``k + 1`` B-spline bases that are non-zero at each point.

Glossary: ``B`` batch, ``I`` inputs, ``G`` grid intervals, ``k`` degree,
``K = G + k`` bases per input, ``n = G + 2k + 1`` knots, ``r = 0 .. k`` index of
a live basis in a point's window.

:func:`local_basis` is what a KAN layer calls at every step; the textbook
recursion it must equal (to round-off) is
:func:`numpykan.bspline.basis_reference`, and :mod:`numpykan.bspline`
re-exports the public names. On a uniform grid the live bases are fixed
polynomials of the position in the span (:func:`piece_matrix`); on other grids
the span comes from a search and the values from de Boor's triangle. Work is
done in blocks of batch rows so that scratch arrays stay small, and a
:class:`Workspace` lets a training loop reuse its arrays from step to step.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .grids import _check_int, _check_x, check_grid

__all__ = ["local_basis", "local_basis_orders", "piece_matrix", "piece_derivative_matrix",
           "LocalBasis", "Workspace", "check_orders"]


class Workspace:
    """Named arrays reused from call to call, so that a training loop does not allocate.

    Fresh large arrays cost page faults (on some machines more than the
    arithmetic that fills them); a :class:`~numpykan.KANLayer` keeps one
    workspace and passes it to :func:`local_basis` and its forward pass.
    Arrays taken from a workspace are overwritten by the next call that uses
    the same workspace: results that alias it are valid until then. The name
    ``"scratch"`` holds nothing from one call to the next: any function may
    use it inside its own body (so one buffer serves them all).
    ``Workspace(reuse=False)`` hands out fresh arrays (what public callers get).

    ``generation`` counts the passes that wrote into the workspace: a layer's
    forward pass increments it and stores the value in its cache, and
    backward refuses a cache whose number is no longer current, whose
    arrays a later pass has overwritten (one int compare; see
    :mod:`numpykan.layer`).
    """

    def __init__(self, reuse=True):
        self.reuse = reuse
        self.generation = 0
        self._arrays = {}                                      # name -> 1-D buffer
        self._views = {}                                       # (name, shape, dtype) -> view of it
        self._fixed = {}                                       # name -> (shape, array)

    def get(self, name, shape, dtype):
        """An uninitialized array ``shape`` of ``dtype``, reused when ``name`` was asked for before."""
        if not self.reuse:
            return np.empty(shape, dtype=dtype)
        view = self._views.get((name, shape, dtype))
        if view is not None:                                   # the common case in a training loop
            return view
        size = math.prod(shape)
        buf = self._arrays.get(name)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = np.empty(size, dtype=dtype)                  # grows to the largest request
            self._arrays[name] = buf
            self._views = {key: v for key, v in self._views.items() if key[0] != name}
        view = self._views[(name, shape, dtype)] = buf[:size].reshape(shape)
        return view

    def fixed(self, name, shape, make):
        """An array that depends on ``shape`` only: ``make()`` once, then the same array.

        One array per ``name`` is kept: asking with another ``shape`` makes a new one.
        """
        hit = self._fixed.get(name)
        if hit is not None and hit[0] == shape:
            return hit[1]
        a = make()
        if self.reuse:
            self._fixed[name] = (shape, a)
        return a


_FRESH = Workspace(reuse=False)


class LocalBasis:
    """The ``k + 1`` live bases at each point, and where they go in a dense array.

    Each point ``x[b, i]`` has a *window* of ``k + 1`` consecutive bases
    ``B_start .. B_{start+k}`` that holds every basis that is non-zero there.
    Inside the base interval the window is exactly ``B_{s-k} .. B_s`` for the
    knot span ``t_s <= x < t_{s+1}``; near the ends of the grid it is clamped
    to ``0 .. K - 1``, and the bases it then covers that vanish at ``x`` are 0.
    So windows never leave the array, and no two live values of a point share
    a cell.

    The dense array used inside the package is laid out ``(B, R, I)`` with
    ``R >= K`` rows of bases (basis index before input index; the layer keeps
    ``b(x)`` in an extra row, ``R = K + 1``), so that a point's ``r``-th live
    value sits ``r * I`` cells after its first one: one flat index array
    ``(B, I)`` serves all ``k + 1`` of them. :func:`numpykan.bspline.basis` returns the public
    ``(B, I, K)`` layout.

    Attributes
    ----------
    values : ndarray, shape (k + 1, B, I)
        ``values[r] = B_{start + r}(x)``.
    derivs : ndarray, shape (k + 1, B, I) or None
        ``B'_{start + r}(x)``.
    orders : dict int -> ndarray, shape (k + 1, B, I), or None
        From :func:`local_basis_orders`: ``orders[q][r] = B^{(q)}_{start + r}(x)``,
        the ``q``-th derivative, for each order ``q`` asked for (and 0).
    start : ndarray of int32, shape (B, I)
        First basis of each point's window, in ``0 .. K - k - 1``.
    K : int
        Number of bases per input.
    index : ndarray of int, shape (k + 1, B, I)
        Flat index of each live value in a dense ``(B, K, I)`` array.
    """

    def __init__(self, values, derivs, start, K, workspace=None, orders=None):
        self.values = values                                   # (k + 1, B, I)
        self.derivs = derivs                                   # (k + 1, B, I) or None
        self.orders = orders                                   # {q: (k + 1, B, I)} or None
        self.start = start                                     # (B, I)
        self.K = K
        self._ws = _FRESH if workspace is None else workspace
        self._flat = {}                                        # R -> (B, I) flat offsets

    def offsets(self, R=None):
        """Flat index ``(B, I)`` of ``(b, start[b, i], i)`` in a dense ``(B, R, I)`` array (``R = K`` default)."""
        R = self.K if R is None else R
        flat = self._flat.get(R)
        if flat is None:
            B, I = self.start.shape
            base = self._ws.fixed("base", (B, R, I), lambda: (                 # (B, I) b R I + i
                np.arange(0, B * R * I, R * I, dtype=np.intp)[:, None] + np.arange(I, dtype=np.intp)))
            flat = self._ws.get(f"flat{R}", (B, I), np.intp)   # (B, I)
            np.multiply(self.start, I, out=flat)               # start * I
            flat += base                                       # + b R I + i
            self._flat[R] = flat
        return flat

    @property
    def index(self):
        """Flat index ``(k + 1, B, I)`` of every live value in a dense ``(B, K, I)`` array."""
        I = self.start.shape[1]
        return np.stack([self.offsets() + r * I for r in range(len(self.values))])

    def blocks(self, dense):
        """Slices of batch rows that cut ``dense`` ``(B, R, I)`` into blocks of about ``_BLOCK_BYTES``.

        The ``k + 1`` writes of :meth:`scatter` (and reads of :meth:`gather`)
        each sweep the whole dense array; done block by block, the later
        sweeps find the block in cache (a 2-3x faster scatter once the array
        is larger than the cache, e.g. 4096 x 14 x 128 floats).
        """
        B = dense.shape[0]
        rows = max(1, _BLOCK_BYTES // (dense[0].size * dense.itemsize))
        return [slice(b0, b0 + rows) for b0 in range(0, B, rows)]

    def scatter(self, which="values", out=None):
        """Dense ``(B, K, I)`` array of the live values (or ``"derivs"``), zeros elsewhere.

        ``which`` may also be an int ``q``: the ``q``-th derivative from
        :func:`local_basis_orders`. With ``out`` of shape ``(B, R, I)``,
        ``R >= K``, it is zeroed and filled instead (rows ``K ..`` stay 0) and returned.
        """
        if which == "values":
            src = self.values                                  # (k + 1, B, I)
        elif which == "derivs":
            src = self.derivs                                  # (k + 1, B, I)
        else:
            src = self.orders[which]                           # (k + 1, B, I)
        _, B, I = src.shape
        if out is None:
            out = np.empty((B, self.K, I), dtype=src.dtype)    # (B, K, I)
        flat = out.reshape(-1)                                 # (B * R * I,) a view
        idx = self.offsets(out.shape[1])                       # (B, I)
        for rows in self.blocks(out):
            out[rows].fill(0)                                  # (b, R, I) contiguous: one memset
            for r, v in enumerate(src):                        # the r-th value sits r * I later
                flat[r * I:][idx[rows]] = v[rows]              # b * I writes
        return out

    def gather(self, dense, r=None, out=None, rows=slice(None)):
        """Pick the live entries of a dense ``(B, R, I)`` array (``R >= K``) -> ``(k + 1, B, I)``.

        With ``r``, only the ``r``-th live entry ``(B, I)`` (into ``out`` if
        given), and of the batch rows ``rows`` only if given.
        """
        _, R, I = dense.shape
        flat = dense.reshape(-1)                               # (B * R * I,)
        idx = self.offsets(R)                                  # (B, I)
        if r is not None:
            return flat[r * I:].take(idx[rows], out=out, mode="clip")   # indices are valid
        return np.stack([np.take(flat[q * I:], idx) for q in range(len(self.values))])

    def dense(self, which="values"):
        """Dense array in the public layout ``(B, I, K)``."""
        return np.ascontiguousarray(self.scatter(which).transpose(0, 2, 1))


def _is_uniform(grid):
    """Per-row uniform spacing, to the round-off of the grid's dtype (what :func:`~numpykan.grids.uniform_grid` makes)."""
    d = np.diff(grid, axis=1)                                  # (I, n - 1)
    scale = np.abs(grid).max(axis=1, keepdims=True)            # (I, 1)
    tol = 16 * np.finfo(grid.dtype).eps * scale                # (I, 1) knots are stored to this precision
    return bool(np.all(np.abs(d - d[:, :1]) <= tol))


def _padded(grid, k):
    """Add ``k + 1`` knots on each side so that ``t_{s+d}`` exists for every span we visit."""
    first = grid[:, 1] - grid[:, 0]                            # (I,)
    last = grid[:, -1] - grid[:, -2]                           # (I,)
    steps = np.arange(1, k + 2, dtype=grid.dtype)              # (k + 1,)
    left = grid[:, :1] - first[:, None] * steps[::-1]          # (I, k + 1)
    right = grid[:, -1:] + last[:, None] * steps               # (I, k + 1)
    return np.concatenate([left, grid, right], axis=1)         # (I, n + 2k + 2)


class _GridPlan(NamedTuple):
    """What :func:`local_basis` derives from a grid alone, computed once per grid."""

    uniform: bool
    t0: np.ndarray          # (I,) first knot
    inv_h: np.ndarray       # (I,) 1 / spacing (uniform grids)
    inv_h1: object          # that spacing's inverse as a scalar if all inputs share it, else None
    tflat: np.ndarray       # (I * (n + 2k + 2),) padded knots, row after row; t_j of row i is
    row: np.ndarray         # (1, I)  at tflat[row[0, i] + j + k + 1]
    table: np.ndarray       # (I * W,) per row -inf, t_0 .. t_{n-1}, +inf ..., W = 2^m > n (search)
    rowW: np.ndarray        # (I,) row offsets into table
    knots: np.ndarray       # (n, I) knot j of every input, contiguous (counting search)


_PLANS = {}                 # (id(grid), k, dtype) -> (grid, copy of its knots, plan)


def _grid_plan(grid, k, dtype):
    """The :class:`_GridPlan` of ``grid``, cached while the same array holds the same knots.

    The cache keeps a reference to the grid (so its ``id`` cannot be reused)
    and a copy of its knots, compared on every call (``I * n`` values, a few
    microseconds), so a grid edited in place gets a new plan.
    """
    key = (id(grid), k, dtype)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is grid and hit[1].shape == grid.shape and (hit[1] == grid).all():
        return hit[2]
    g = np.asarray(grid, dtype=dtype)                          # (I, n)
    I, n = g.shape
    tpad = _padded(g, k)                                       # (I, n + 2k + 2)
    g64 = g.astype(np.float64)
    h = (g64[:, -1] - g64[:, 0]) / (n - 1)                     # (I,)
    W = 1 << n.bit_length()                                    # 2^m > n
    table = np.full((I, W), np.inf, dtype=dtype)               # (I, W)
    table[:, 0] = -np.inf
    table[:, 1:n + 1] = g
    inv_h = (1.0 / h).astype(dtype)                            # (I,)
    plan = _GridPlan(uniform=_is_uniform(g), t0=g[:, 0].copy(), inv_h=inv_h,
                     inv_h1=inv_h[0] if np.all(inv_h == inv_h[0]) else None,
                     tflat=tpad.reshape(-1), row=(np.arange(I) * tpad.shape[1])[None, :],
                     table=table.reshape(-1), rowW=np.arange(0, I * W, W, dtype=np.intp),
                     knots=np.ascontiguousarray(g.T))
    if len(_PLANS) >= 64:                                      # keep the cache small
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = (grid, np.array(grid, copy=True), plan)
    return plan


def local_basis(x, grid, k, derivative=False, check=True, workspace=None):
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

    so each ``N^k_r`` is a fixed polynomial of ``u``, the same in every span
    (:func:`piece_matrix`): a uniform grid needs the powers of ``u`` and of
    ``1 - u`` and one small matrix product, no recursion.

    The derivative is ``B'_{m,k} = k [B_{m,k-1} / (t_{m+k} - t_m)
    - B_{m+1,k-1} / (t_{m+k+1} - t_{m+1})]``, on a uniform grid the
    ``u``-derivative of the same polynomials divided by ``h``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    derivative : bool
        Also compute ``B'``.
    check : bool
        Validate the inputs (internal callers that already did may skip it).
    workspace : Workspace, optional
        Take the outputs and scratch arrays from here (the result then lives
        until the next call with the same workspace). Default: fresh arrays.

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

    A NaN in ``x`` gives NaN values and derivatives at that point (so a diverged
    model's loss is NaN, not an exception here); every other point is unaffected.

    Near the ends of the grid (``s < k`` or ``s > K - 1``, and outside it) the
    window ``B_{s-k} .. B_s`` holds bases that do not exist; it is clamped to
    ``start = clip(s - k, 0, K - k - 1)`` and the values are shifted by
    ``start - (s - k)`` places, with zeros coming in. Only those points are
    touched. Everything that depends on the grid alone (uniformity, spacing,
    padded knots) is computed once per grid and cached.
    """
    if check:
        grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
        x = _check_x(x, grid.shape[0])
    if x.dtype not in (np.float32, np.float64):                # float16 -> float32, ints -> float64
        x = x.astype(np.result_type(x.dtype, np.float32) if x.dtype.kind == "f" else np.float64)
    dtype = x.dtype
    B, I = x.shape
    n = grid.shape[1]
    K = n - k - 1
    plan = _grid_plan(grid, k, dtype)
    ws = _FRESH if workspace is None else workspace
    live = ws.get("live", ((1 + derivative) * (k + 1), B, I), dtype)   # values (and derivatives) stacked
    start = ws.get("start", (B, I), np.int32)                  # (B, I)
    rows = max(1, _BASIS_BLOCK // I)                           # batch rows per block: scratch stays in cache
    for b0 in range(0, B, rows):
        _live_block(x[b0:b0 + rows], plan, k, live, start, b0, ws)
    return LocalBasis(live[:k + 1], live[k + 1:] if derivative else None, start, K, ws)


_BASIS_BLOCK = 1 << 16      # points per block of local_basis: its scratch arrays stay small


def _live_block(x, plan, k, live, start, b0, ws, orders=None):
    """:func:`local_basis` for the batch rows ``b0 .. b0 + b`` of ``live`` and ``start``; ``x`` ``(b, I)``.

    ``orders`` (a sorted tuple starting with 0, from :func:`local_basis_orders`)
    fills ``live`` ``(len(orders) (k + 1), B, I)`` with those derivatives instead
    of the values (and first derivatives) of the training path.
    """
    B, I = x.shape
    n = plan.knots.shape[0]
    K = n - k - 1
    dtype = x.dtype
    rows = slice(b0, b0 + B)
    values = live[:k + 1, rows]                                # (k + 1, b, I) views
    derivs = live[k + 1:, rows] if live.shape[0] > k + 1 else None
    s = ws.get("span", (B, I), dtype)                          # (b, I) span s as a float
    near_ends = None                                           # some s < k or s > K - 1: not known yet

    if plan.uniform:
        u = ws.get("scratch", (B, I), dtype)                   # (b, I)
        np.subtract(x, plan.t0, out=u)
        u *= plan.inv_h                                        # (b, I) position in units of h
        if k >= 2:                                             # s = floor(u), so k <= s <= K - 1 iff k <= u < K
            near_ends = not (np.minimum.reduce(u, axis=None) >= k and np.maximum.reduce(u, axis=None) < K)
        if near_ends is not False:                             # (a NaN u counts as near the ends)
            np.maximum(u, -1, out=u)                           # outside the grid: span -1 or n - 1
            np.minimum(u, n - 1, out=u)
        np.floor(u, out=s)                                     # (b, I)
        u -= s                                                 # (b, I) in [0, 1)
        if k <= 1:                                             # exact span at knots (see Notes)
            si = np.fmax(s, -1).astype(np.intp)                # (b, I) (NaN x: -1, values stay NaN)
            pos = plan.row + si + (k + 1)                      # (b, I) flat index of t_s
            si += (x >= plan.tflat[pos + 1])
            si -= (x < plan.tflat[pos])
            np.clip(si, -1, n - 1, out=si)
            u = (x - plan.tflat[plan.row + si + (k + 1)]) * plan.inv_h   # (b, I)
            s[...] = si
        inv_h = plan.inv_h if plan.inv_h1 is None else plan.inv_h1
        if orders is None:
            _uniform_pieces(u, k, inv_h, live, b0, ws)
        else:
            _uniform_orders(u, k, inv_h, orders, live[:, rows])
    else:
        _find_span(x, plan, n, s, ws)
        q = s.astype(np.intp)                                  # (b, I)
        q += plan.row + 1                                      # (b, I) flat index of t_{s-k} in tflat, >= 0
        # R[j] = t_{s+j} - x and L[j] = x - t_{s+1-j}, j = 1 .. k: the only knots the scheme reads
        R = [None] + [np.subtract(plan.tflat[j + k:][q], x, out=ws.get(f"R{j}", (B, I), dtype))
                      for j in range(1, k + 1)]
        L = [None] + [np.subtract(x, plan.tflat[k + 1 - j:][q], out=ws.get(f"L{j}", (B, I), dtype))
                      for j in range(1, k + 1)]
        if orders is None:
            _general_scheme(R, L, k, values, derivs, ws)
        else:
            _general_orders(R, L, k, orders, live[:, rows])

    # the window start s - k, clamped so that it stays inside 0 .. K - 1 (see Notes)
    start = start[rows]                                        # (b, I) a view
    if near_ends is None:                                      # (a NaN s fails the test)
        near_ends = not (np.minimum.reduce(s, axis=None) >= k and np.maximum.reduce(s, axis=None) <= K - 1)
    if not near_ends:
        np.subtract(s, k, out=start, casting="unsafe")
        return
    s -= k                                                     # s - k, the unclamped start
    tmp = ws.get("scratch", (B, I), dtype)                     # (b, I) (u is no longer needed)
    np.fmax(s, 0, out=tmp)                                     # fmax/fmin: a NaN x gets start 0
    np.fmin(tmp, K - k - 1, out=tmp)                           # start, as a float
    np.copyto(start, tmp, casting="unsafe")
    _shift_edges(s, tmp, k, live, x, b0 * I)


_COUNT_MAX_KNOTS = 16      # up to this many knots count them; more: binary search (fewer passes)


def _find_span(x, plan, n, s, ws):
    """Span ``s`` (float, into ``s``) with ``t_s <= x < t_{s+1}``; -1 below ``t_0``, n-1 at or above ``t_{n-1}``.

    Few knots: ``s = #{j : x >= t_j} - 1``, two passes per knot and exact at
    knots. Many knots: a vectorized binary search, ``m`` gathers for ``2^m > n``.
    """
    B, I = x.shape
    W = plan.table.shape[0] // I
    if n <= _COUNT_MAX_KNOTS:
        ge = ws.get("ge", (B, I), np.bool_)                    # (B, I)
        s.fill(-1)
        for t_j in plan.knots:                                 # (I,) each
            np.greater_equal(x, t_j, out=ge)                   # x >= t_j
            s += ge
        return
    # binary search on the table (-inf, t_0 .. t_{n-1}, +inf ...) of width W = 2^m:
    # pos is the largest table column with table[pos] <= x, found one bit at a time
    pos = ws.get("pos", (B, I), np.intp)                       # (B, I) flat table index
    pos[...] = plan.rowW                                       # column 0 (-inf <= x)
    ge = ws.get("ge", (B, I), np.bool_)
    step = W // 2
    while step >= 1:
        np.greater_equal(x, plan.table[step:][pos], out=ge)    # x >= table[pos + step]
        pos += ge * step
        step //= 2
    pos -= plan.rowW                                           # column c holds t_{c-1}
    np.subtract(pos, 1, out=s, casting="unsafe")               # s = column - 1, in -1 .. n - 1


def _shift_edges(sk, start, k, live, x, offset=0):
    """Move the live values of points near the grid's ends into their clamped window, in place.

    ``live`` ``(A (k + 1), B, I)`` holds the values (``A = 1``) or the values and
    then the derivatives (``A = 2``). ``sk = s - k`` (the unclamped window
    start), ``start`` (the clamped one, both as floats) and ``x`` are ``(b, I)``:
    a block of batch rows, the points ``offset ..`` of ``live``'s flattened
    ``(B, I)`` axes. Slot ``r`` of the clamped window holds
    ``B_{start + r} = N_{r + d}`` with ``d = start - (s - k)`` in ``-(k+1) .. k+1``;
    ``N_j`` outside ``0 .. k`` is 0. A NaN ``x`` gets NaN.
    """
    sk, start = sk.reshape(-1), start.reshape(-1)              # (n,) views, n = b I
    e = np.flatnonzero(sk != start)                            # (E,) edge points (and NaN x)
    d = start[e] - sk[e]                                       # (E,) the shift d
    A, E, N = live.shape[0] // (k + 1), e.size, live[0].size   # N = B I
    flat = live.reshape(-1)                                    # (A (k + 1) N,) a view
    dest = np.arange(offset, A * (k + 1) * N, N)[:, None] + e  # (A (k + 1), E) slot r of point e, per array
    padded = np.zeros((A, 3 * k + 3, E), dtype=live.dtype)     # k + 1 zero rows, N_0 .. N_k, k + 1 zero rows
    padded[:, k + 1:2 * k + 2] = flat[dest].reshape(A, k + 1, E)
    rows = np.add.outer(np.arange(k + 1, 2 * k + 2, dtype=d.dtype), d)   # (k + 1, E) row of N_{r + d}
    np.fmax(rows, 0, out=rows)                                 # a NaN x (d NaN) picks a zero row
    pick = rows.astype(np.intp)                                # (k + 1, E) as a flat index into a
    pick *= E                                                  # ((3k + 3) E,) row of padded
    pick += np.arange(E)
    flat[dest] = np.take(padded.reshape(A, -1), pick, axis=1).reshape(A * (k + 1), E)
    nan = e[np.isnan(x.reshape(-1)[e])]                        # (E_nan,)
    if nan.size:
        live.reshape(A * (k + 1), N)[:, nan + offset] = np.nan


@functools.lru_cache(maxsize=None, typed=True)           # typed: True is not 1 (refused, never cached)
def piece_matrix(k):
    """Monomial coefficients of the ``k + 1`` pieces of the uniform B-spline -> ``(k + 1, k + 1)``.

    On a uniform grid, inside the span ``t_s <= x < t_{s+1}`` with
    ``u = (x - t_s) / h`` in ``[0, 1)``, the live basis ``B_{s-k+r}`` is the
    same polynomial of ``u`` in every span::

        B_{s-k+r}(x) = sum_p C[r, p] u^p,     r, p = 0 .. k

    ``C`` follows from the recursion of :func:`local_basis` run on polynomials:
    with ``P^p_r = p! N^p_r`` (integer coefficients) and ``P^0_0 = 1``::

        P^p_r = (u + p - r) P^{p-1}_{r-1} + (r + 1 - u) P^{p-1}_r,     C = P^k / k!

    For ``k = 3`` this is the cubic B-spline matrix of computer graphics:

    >>> piece_matrix(3) * 6
    array([[ 1., -3.,  3., -1.],
           [ 4.,  0., -6.,  3.],
           [ 1.,  3.,  3., -3.],
           [ 0.,  0.,  0.,  1.]])

    Column 0 holds the values at ``u = 0``, the sum of a row its value at
    ``u = 1``; the rows add up to ``[1, 0, ..., 0]`` (partition of unity).
    The array is cached and read-only.
    """
    k = _check_int(k, "k", 0)
    P = [np.ones(1, dtype=np.int64)]                           # level 0: P^0_0 = 1
    for p in range(1, k + 1):
        level = []
        for r in range(p + 1):
            c = np.zeros(p + 1, dtype=np.int64)                # coefficients of u^0 .. u^p
            if r >= 1:                                         # + (u + p - r) P_{r-1}
                c[:p] += (p - r) * P[r - 1]
                c[1:] += P[r - 1]
            if r < p:                                          # + (r + 1 - u) P_r
                c[:p] += (r + 1) * P[r]
                c[1:] -= P[r]
            level.append(c)
        P = level
    C = np.array(P, dtype=np.float64) / math.factorial(k)     # (k + 1, k + 1)
    C.flags.writeable = False                                  # shared by every caller
    return C


@functools.lru_cache(maxsize=None)
def _stacked_pieces(k, dtype):
    """``S`` ``(k + 1, 2k + 1)`` with ``N^k_r = S[r] @ [1, u .. u^k, w .. w^k]``, ``w = 1 - u``.

    Rows ``r >= (k + 1) / 2`` use the powers of ``u``; the others use the
    mirror image ``N^k_r(u) = N^k_{k-r}(1 - u)`` in powers of ``w``. So the row
    that vanishes at ``u = 0`` is ``u^k / k!``, the one that vanishes at
    ``u = 1`` is ``w^k / k!``, and no row loses its relative accuracy to
    cancellation near its zero (values stay ``>= 0``, also in float32).
    """
    C = piece_matrix(k)                                        # (k + 1, k + 1) in powers of u
    S = np.zeros((k + 1, 2 * k + 1))
    for r in range(k + 1):
        if 2 * r >= k + 1:
            S[r, :k + 1] = C[r]                                # 1, u .. u^k
        else:
            S[r, 0] = C[k - r, 0]                              # 1
            S[r, k + 1:] = C[k - r, 1:]                        # w .. w^k
    S = S.astype(dtype)
    dS = (C[:, 1:] * np.arange(1, k + 1)).astype(dtype)        # (k + 1, k) d/du over 1, u .. u^(k-1)
    S.flags.writeable = dS.flags.writeable = False
    return S, dS


_CHUNK = 1 << 13            # points per chunk in _uniform_pieces: the powers stay in cache
_BLOCK_BYTES = 1 << 21      # bytes of a dense (B, R, I) array per block in scatter and gather


def _uniform_pieces(u, k, inv_h, live, b0=0, ws=_FRESH):
    """Live bases on a uniform grid from :func:`piece_matrix` for the points ``u`` ``(b, I)``.

    They go to the batch rows ``b0 .. b0 + b`` of ``live`` ``(A (k + 1), B, I)``:
    the values, and with ``A = 2`` then the derivatives.

    With the powers of ``u`` and of ``w = 1 - u`` stacked as the rows of
    ``P = [1, u .. u^k, w .. w^k]`` ``(2k + 1, n)``, all ``k + 1`` live values
    are one small matrix product, and so are the derivatives
    (``d/dx = (1/h) d/du``; see :func:`_stacked_pieces` for ``S`` and ``dS``)::

        values = S @ P,     derivs = dS @ P[:k] / h

    Done in blocks of whole batch rows, about ``_CHUNK`` points each, so that
    the powers stay in cache between being made and being used. ``inv_h`` is
    ``(I,)``, or a scalar when all inputs share the spacing (then it goes into ``dS``).
    """
    B, I = u.shape
    NI = live[0].size                                          # B I of the whole batch
    derivs = live.shape[0] > k + 1
    S, dS = _stacked_pieces(k, u.dtype)                        # (k + 1, 2k + 1), (k + 1, k)
    per_input = np.ndim(inv_h) > 0
    if not per_input:
        dS = dS * inv_h                                        # (k + 1, k) d/dx = (1/h) d/du
    flat = live.reshape(live.shape[0], NI)                     # (A (k + 1), B I) a view
    rows = max(1, _CHUNK // I)                                 # batch rows per chunk
    for c0 in range(0, B, rows):
        ub = u[c0:c0 + rows]                                   # (c, I)
        n = ub.size
        P = ws.get("powers", (2 * k + 1, n), u.dtype)          # (2k + 1, c I)
        P[0] = 1
        if k >= 1:
            P[1] = ub.reshape(n)                               # u
            np.subtract(1, P[1], out=P[k + 1])                 # w = 1 - u
        for p in range(2, k + 1):
            np.multiply(P[p - 1], P[1], out=P[p])              # u^p
            np.multiply(P[k + p - 1], P[k + 1], out=P[k + p])  # w^p
        cols = slice((b0 + c0) * I, (b0 + c0) * I + n)         # these points in the flat view
        np.matmul(S, P, out=flat[:k + 1, cols])                # values
        if derivs:
            np.matmul(dS, P[:k], out=flat[k + 1:, cols])       # derivatives
            if per_input:
                live[k + 1:, b0 + c0:b0 + c0 + rows] *= inv_h  # (k + 1, c, I) times (I,)


def _general_scheme(R, L, k, values, derivs, ws=_FRESH):
    """Live bases on any strictly increasing grid, into ``values`` (and ``derivs``), ``(k+1, B, I)``.

    ``R[j] = t_{s+j} - x`` and ``L[j] = x - t_{s+1-j}`` (``j = 1 .. k``, each ``(B, I)``).
    The recursion of :func:`local_basis` with ``D_d = R[d]`` for ``d >= 1`` and
    ``D_d = -L[1 - d]`` for ``d <= 0``, arranged so that each level costs one
    division per term (de Boor's triangle; ``T_r = N^{p-1}_r / (R[r+1] + L[p-r])``)::

        N^p_r = L[p-r+1] T_{r-1} + R[r+1] T_r         (T_{-1} = T_p = 0)

    The derivative needs exactly the last level's ``T``:
    ``B'_r = k (T_{r-1} - T_r)``, since ``R[r+1] + L[k-r] = t_{s+r+1} - t_{s+r+1-k}``.
    """
    V = values                                                 # V[r] holds N^p_r as p grows
    V[0] = 1
    if k == 0:
        if derivs is not None:
            derivs[0] = 0
        return
    den = ws.get("den", V[0].shape, V.dtype)                   # (B, I) scratch
    saved = ws.get("saved", V[0].shape, V.dtype)               # (B, I) L[p-r+1] T_{r-1}
    scratch = ws.get("T", V[0].shape, V.dtype)                 # (B, I) T_r
    for p in range(1, k + 1):
        for r in range(p):
            T = derivs[r] if (p == k and derivs is not None) else scratch   # keep the last T
            np.add(R[r + 1], L[p - r], out=den)
            np.divide(V[r], den, out=T)                        # T_r
            np.multiply(R[r + 1], T, out=V[r])
            if r > 0:
                V[r] += saved                                  # N^p_r
            np.multiply(L[p - r], T, out=saved)
        V[p] = saved                                           # r = p
    if derivs is not None:                                     # derivs[r] holds T_r, r < k
        np.multiply(derivs[k - 1], k, out=derivs[k])           # B'_k = k T_{k-1}
        for r in range(k - 1, 0, -1):
            np.subtract(derivs[r - 1], derivs[r], out=derivs[r])
            derivs[r] *= k                                     # B'_r = k (T_{r-1} - T_r)
        derivs[0] *= -k                                        # B'_0 = -k T_0


# ---------------------------------------------------------------------------
# derivatives of any order (input derivatives of a network, physics-informed losses)
# ---------------------------------------------------------------------------

def check_orders(orders, k, name="orders"):
    """Validate derivative orders for degree ``k``: ints in ``0 .. k + 1`` -> sorted tuple with 0.

    Order ``k + 1`` is allowed (it is 0 between knots: a degree-``k`` piece is a
    polynomial of degree ``k``); anything above it is refused, since asking for it
    is almost surely a mistake about ``k``.
    """
    if isinstance(orders, (bool, np.bool_)) or not isinstance(orders, (tuple, list, range)):
        if isinstance(orders, (int, np.integer)) and not isinstance(orders, (bool, np.bool_)):
            orders = (orders,)
        else:
            raise TypeError(f"{name} must be an int or a sequence of ints in 0 .. k + 1 = {k + 1}, "
                            f"got {orders!r}")
    out = set()
    for q in orders:
        if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, np.integer)):
            raise TypeError(f"{name} must hold ints, got {q!r} ({type(q).__name__})")
        if not 0 <= q <= k + 1:
            raise ValueError(f"{name} must lie in 0 .. k + 1 = {k + 1} for degree k = {k} "
                             f"(derivatives above k + 1 are not defined here), got {int(q)}")
        out.add(int(q))
    return tuple(sorted(out | {0}))


@functools.lru_cache(maxsize=None, typed=True)
def piece_derivative_matrix(k, q):
    """``q``-th ``u``-derivative of the pieces of :func:`piece_matrix` -> ``(k + 1, k + 1 - q)``.

    With ``B_{s-k+r} = sum_p C[r, p] u^p``::

        d^q/du^q B_{s-k+r} = sum_{p >= q} C[r, p] p! / (p - q)! u^(p - q)
                           = sum_{p' = 0 .. k - q} M[r, p'] u^p',   M[r, p'] = C[r, p' + q] (p' + q)! / p'!

    and ``d^q/dx^q = h^(-q) d^q/du^q``. ``q = k + 1`` gives a ``(k + 1, 0)`` matrix
    (the derivative is 0). The array is cached and read-only.

    >>> piece_derivative_matrix(3, 3) * 6      # B''' of the cubic pieces, in units of h^-3
    array([[ -6.],
           [ 18.],
           [-18.],
           [  6.]])
    """
    k = _check_int(k, "k", 0)
    q = _check_int(q, "q", 0)
    if q > k + 1:
        raise ValueError(f"q must lie in 0 .. k + 1 = {k + 1}, got {q}")
    C = piece_matrix(k)                                        # (k + 1, k + 1)
    p = np.arange(q, k + 1)                                    # (k + 1 - q,) powers that survive
    falling = np.array([math.factorial(int(v)) // math.factorial(int(v) - q) for v in p],
                       dtype=np.float64)                       # p! / (p - q)!
    M = C[:, q:] * falling                                     # (k + 1, k + 1 - q)
    M.flags.writeable = False
    return M


def local_basis_orders(x, grid, k, orders=(0, 1, 2), check=True, workspace=None):
    """The live bases and their derivatives of the given orders: ``B^(q)_m(x)``, ``q = 0 .. k + 1``.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    orders : int or sequence of int in 0 .. k + 1
        Derivative orders wanted; order 0 (the values) is always computed.
    check : bool
        Validate the inputs.
    workspace : Workspace, optional
        Where the arrays come from (default fresh ones). Give it a workspace of
        its own, not a layer's: the live values and window starts would overwrite
        that layer's cache.

    Returns
    -------
    LocalBasis
        ``orders[q]`` ``(k + 1, B, I)`` for every order (0 included); ``values`` is
        ``orders[0]``, ``derivs`` is ``orders[1]`` (None if 1 was not asked for).

    Notes
    -----
    Differentiating ``B_{m,p} = w_{m,p} B_{m,p-1} + (1 - w_{m+1,p}) B_{m+1,p-1}`` gives,
    at every order ``q >= 1`` (the weights are linear in ``x``, so the terms from
    their derivatives collapse into one factor ``p``)::

        B^(q)_{m,p}(x) = p [B^(q-1)_{m,p-1}(x) / (t_{m+p} - t_m)
                            - B^(q-1)_{m+1,p-1}(x) / (t_{m+p+1} - t_{m+1})]

    so ``B^(q)`` of degree ``k`` is the degree-``(k - q)`` bases pushed up ``q``
    levels by this difference operator; ``B^(k+1) = 0`` between knots.

    *Uniform grid.* Each live basis is the polynomial ``sum_p C[r, p] u^p`` of
    ``u = (x - t_s)/h`` (:func:`piece_matrix`), so its ``q``-th derivative is exact
    and costs one small product: ``B^(q) = h^(-q) M_q @ [1, u, ..., u^(k-q)]`` with
    ``M_q`` from :func:`piece_derivative_matrix`.

    *Any grid.* De Boor's triangle is kept level by level: ``N^p_r = B_{s-p+r,p}(x)``
    for ``p = 0 .. k``, together with the inverse knot spans
    ``E^p_c = 1 / (t_{s+c} - t_{s+c-p})``, ``c = 1 .. p``. The ``q``-th derivative
    starts from level ``k - q`` and applies, for ``p = k - q + 1 .. k``::

        D^p_r = p (D^{p-1}_{r-1} E^p_r - D^{p-1}_r E^p_{r+1}),    r = 0 .. p

    with ``D^{p-1}_{-1} = D^{p-1}_p = 0`` (the operator above, on the live window).

    At a knot a degree-``k`` spline is only ``C^(k-1)``: ``B^(q)`` with ``q >= k``
    jumps there (``q = k`` piecewise constant), and the right-hand value is
    returned where the span is exact (see :func:`local_basis`). This path is
    separate from the training path's :func:`local_basis`, which it does not slow.
    """
    if check:
        grid = check_grid(grid, k, np.shape(x)[-1] if np.ndim(x) == 2 else None)
        x = _check_x(x, grid.shape[0])
    k = _check_int(k, "k", 0)
    orders = check_orders(orders, k)                           # sorted, with 0
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.result_type(x.dtype, np.float32) if x.dtype.kind == "f" else np.float64)
    B, I = x.shape
    K = grid.shape[1] - k - 1
    plan = _grid_plan(grid, k, x.dtype)
    ws = _FRESH if workspace is None else workspace
    live = ws.get("live_orders", (len(orders) * (k + 1), B, I), x.dtype)   # orders stacked
    start = ws.get("start_orders", (B, I), np.int32)          # (B, I)
    rows = max(1, _ORDERS_BLOCK // I)                          # batch rows per block
    for b0 in range(0, B, rows):
        _live_block(x[b0:b0 + rows], plan, k, live, start, b0, ws, orders)
    by_order = {q: live[a * (k + 1):(a + 1) * (k + 1)] for a, q in enumerate(orders)}
    return LocalBasis(by_order[0], by_order.get(1), start, K, ws, orders=by_order)


_ORDERS_BLOCK = 1 << 13     # points per block of local_basis_orders: its (k + 1, b I) levels stay in cache


def _uniform_orders(u, k, inv_h, orders, out):
    """Derivatives ``orders`` of the live bases on a uniform grid, into ``out`` ``(A (k + 1), b, I)``.

    ``u`` ``(b, I)`` is the position in the span; ``inv_h`` a scalar or ``(I,)``.
    Order 0 uses the stacked powers of ``u`` and ``1 - u`` (:func:`_stacked_pieces`),
    order ``q >= 1`` the matrix ``M_q`` of :func:`piece_derivative_matrix` on
    ``1, u, ..., u^(k - q)`` times ``h^-q``.
    """
    b, I = u.shape
    n = u.size
    P = np.empty((2 * k + 1, n), dtype=u.dtype)                # (2k + 1, n): 1, u .. u^k, w .. w^k
    P[0] = 1
    if k >= 1:
        P[1] = u.reshape(n)
        np.subtract(1, P[1], out=P[k + 1])
    for p in range(2, k + 1):
        np.multiply(P[p - 1], P[1], out=P[p])                  # u^p
        np.multiply(P[k + p - 1], P[k + 1], out=P[k + p])      # w^p
    S, _ = _stacked_pieces(k, u.dtype)                         # (k + 1, 2k + 1)
    for a, q in enumerate(orders):
        dst = out[a * (k + 1):(a + 1) * (k + 1)]               # (k + 1, b, I) view
        if q == 0:
            dst[...] = (S @ P).reshape(k + 1, b, I)            # (k + 1, 2k + 1) x (2k + 1, n)
            continue
        if q > k:
            dst[...] = 0                                       # B^(k+1) = 0 between knots
            continue
        M = piece_derivative_matrix(k, q).astype(u.dtype)      # (k + 1, k + 1 - q)
        dst[...] = (M @ P[:k + 1 - q]).reshape(k + 1, b, I)    # (k + 1, k+1-q) x (k+1-q, n)
        dst *= inv_h ** q                                      # d^q/dx^q = h^-q d^q/du^q


def _general_orders(R, L, k, orders, out):
    """Derivatives ``orders`` of the live bases on any grid, into ``out`` ``(A (k + 1), b, I)``.

    ``R[j] = t_{s+j} - x`` and ``L[j] = x - t_{s+1-j}`` (``j = 1 .. k``, each ``(b, I)``),
    as in :func:`_general_scheme`, so that ``t_{s+c} - t_{s+c-p} = R[c] + L[p - c + 1]``
    for ``c = 1 .. p``. See :func:`local_basis_orders` for the two recursions; here
    each level is a few operations on the stacked ``(p, b, I)`` arrays: with
    ``T = N^{p-1} E^p`` (elementwise, ``T_r = N^{p-1}_r E^p_{r+1}``)::

        N^p = [0, L[p] T_0, ..., L[1] T_{p-1}] + [R[1] T_0, ..., R[p] T_{p-1}, 0]
        D^p = p ([0, P_0, ..., P_{p-1}] - [P_0, ..., P_{p-1}, 0]),   P = D^{p-1} E^p
    """
    shape = out.shape[1:]                                      # (b, I)
    if k == 0:
        out[0] = 1
        out[1:] = 0                                            # B^(1) of degree 0
        return
    Rs = np.stack(R[1:])                                       # (k, b, I) R[1] .. R[k]
    Ls = np.stack(L[1:])                                       # (k, b, I) L[1] .. L[k]
    N = [np.ones((1,) + shape, dtype=out.dtype)]               # N[p]: (p + 1, b, I), B_{s-p+r, p}
    E = [None]                                                 # E[p]: (p, b, I), E^p_c at c - 1
    for p in range(1, k + 1):
        Ep = 1.0 / (Rs[:p] + Ls[p - 1::-1])                    # (p, b, I): 1/(R[c] + L[p-c+1])
        T = N[p - 1] * Ep                                      # (p, b, I)
        level = np.zeros((p + 1,) + shape, dtype=out.dtype)    # (p + 1, b, I)
        level[1:] = Ls[p - 1::-1] * T                          # r = 1 .. p: L[p-r+1] T_{r-1}
        level[:-1] += Rs[:p] * T                               # r = 0 .. p-1: R[r+1] T_r
        N.append(level)
        E.append(Ep)
    for a, q in enumerate(orders):
        dst = out[a * (k + 1):(a + 1) * (k + 1)]               # (k + 1, b, I) view
        if q > k:
            dst[...] = 0
            continue
        D = N[k - q]                                           # (k - q + 1, b, I): degree k - q
        for p in range(k - q + 1, k + 1):                      # push up one degree, one derivative
            P = D * E[p]                                       # (p, b, I)
            D = np.zeros((p + 1,) + shape, dtype=out.dtype)    # (p + 1, b, I)
            D[1:] = P
            D[:-1] -= P
            D *= p
        dst[...] = D                                           # (k + 1, b, I)
