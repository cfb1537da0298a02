"""One KAN layer: ``I * O`` learnable edges ``phi_ij`` summed into ``O`` nodes.

Glossary: ``B`` batch, ``I`` inputs, ``O`` outputs, ``G`` grid intervals,
``k`` degree, ``K = G + k`` bases per input, ``r = 0 .. k`` index of a live basis.

The layer computes, for every sample ``b`` and output ``j``::

    y[b, j] = sum_i phi_ij(x[b, i])
    phi_ij(x) = w_b[i, j] b(x) + w_s[i, j] sum_m coef[i, j, m] B_m(x; grid[i], k)

(pruned edges are multiplied by ``mask[i, j] = 0``; read ``w_b`` and ``w_s``
below as ``mask * w_b`` and ``mask * w_s``). With the dense basis laid out
``Bd[b, m, i] = B_m(x[b, i])`` and the weights ``W[m, i, j] = w_s[i, j] coef[i, j, m]``,
the spline part is one matrix product over the flattened ``(m, i)`` axis::

    y = b(x) @ w_b + Bd.reshape(B, K*I) @ W.reshape(K*I, O)

The code is a pure core (:func:`forward`, :func:`backward`,
:func:`activations`, :func:`activations_backward`) and a thin
:class:`KANLayer` that holds parameters, gradients and the cache.
"""

from __future__ import annotations

import numpy as np

from . import bspline
from .activations import get_base

__all__ = ["KANLayer", "forward", "backward", "activations", "activations_backward"]


# ---------------------------------------------------------------------------
# pure core
# ---------------------------------------------------------------------------

def _spline_weights(params, mask):
    """``W[m, i, j] = mask[i, j] w_s[i, j] coef[i, j, m]`` flattened to ``(K*I, O)``."""
    coef = params["coef"]                                      # (I, O, K)
    V = (mask * params["w_s"])[:, :, None] * coef              # (I, O, K)
    I, O, K = coef.shape
    return V, V.transpose(2, 0, 1).reshape(K * I, O)          # (I, O, K), (K*I, O)


def forward(x, params, grid, k, base="silu", mask=None, need_grad=True):
    """Layer output and the cache its backward needs.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    params : dict
        ``coef`` (I, O, K), ``w_b`` (I, O), ``w_s`` (I, O).
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    base : str
        Name of the base function (see :mod:`numpykan.activations`).
    mask : ndarray, shape (I, O), optional
        1 for a live edge, 0 for a pruned one.
    need_grad : bool
        Compute ``B'(x)`` for the backward pass. ``False`` for inference.

    Returns
    -------
    y : ndarray, shape (B, O)
    cache : dict
    """
    b, _ = get_base(base)
    if mask is None:
        mask = np.ones_like(params["w_b"])
    B, I = x.shape
    lb = bspline.local_basis(x, grid, k, derivative=need_grad, check=False)
    Bd = lb.scatter()                                          # (B, K, I)
    K = Bd.shape[1]
    V, W = _spline_weights(params, mask)                       # (I, O, K), (K*I, O)
    wb = mask * params["w_b"]                                  # (I, O)
    bx = b(x)                                                  # (B, I)
    y = bx @ wb                                                # (B, I) x (I, O) -> (B, O)
    y += Bd.reshape(B, K * I) @ W                              # (B, K*I) x (K*I, O) -> (B, O)
    cache = dict(x=x, bx=bx, lb=lb, Bd=Bd, V=V, W=W, wb=wb, mask=mask,
                 params=params, base=base)
    return y, cache


def backward(dy, cache):
    """Gradients of a loss ``L`` through the layer, given ``dy = dL/dy``.

    Derivation (``y[b, j] = sum_i wb[i, j] b(x[b, i]) + sum_{m,i} Bd[b, m, i] W[m, i, j]``,
    ``W[m, i, j] = w_s[i, j] coef[i, j, m]``)::

        dL/dw_b[i, j]    = mask[i, j] sum_b b(x[b, i]) dy[b, j]           -> b(x).T @ dy
        dL/dW[m, i, j]   = sum_b Bd[b, m, i] dy[b, j]                     -> Bd.T @ dy
        dL/dcoef[i, j, m] = mask[i, j] w_s[i, j] dL/dW[m, i, j]
        dL/dw_s[i, j]    = mask[i, j] sum_m coef[i, j, m] dL/dW[m, i, j]
        dL/dx[b, i]      = b'(x[b, i]) sum_j wb[i, j] dy[b, j]              -> (dy @ wb.T) * b'(x)
                         + sum_m B'_m(x[b, i]) Z[b, m, i],   Z = dy @ W.T

    The last sum runs only over the ``k + 1`` live bases (a gather).

    Parameters
    ----------
    dy : ndarray, shape (B, O)
    cache : dict
        From :func:`forward` with ``need_grad=True``.

    Returns
    -------
    dx : ndarray, shape (B, I)
    grads : dict
        ``coef`` (I, O, K), ``w_b`` (I, O), ``w_s`` (I, O).
    """
    lb = cache["lb"]
    if lb.derivs is None:
        raise RuntimeError("backward needs a forward pass run with need_grad=True")
    x, bx, Bd, W, wb, mask = (cache[n] for n in ("x", "bx", "Bd", "W", "wb", "mask"))
    coef, w_s = cache["params"]["coef"], cache["params"]["w_s"]
    _, db = get_base(cache["base"])
    B, K, I = Bd.shape
    O = dy.shape[1]

    g_wb = bx.T @ dy                                           # (I, B) x (B, O) -> (I, O)
    g_W = Bd.reshape(B, K * I).T @ dy                          # (K*I, B) x (B, O) -> (K*I, O)
    g_W = g_W.reshape(K, I, O).transpose(1, 2, 0)              # (I, O, K)
    grads = {
        "coef": (mask * w_s)[:, :, None] * g_W,                # (I, O, K)
        "w_b": mask * g_wb,                                    # (I, O)
        "w_s": mask * np.einsum("iom,iom->io", coef, g_W),     # (I, O)
    }
    dx = (dy @ wb.T) * db(x)                                   # (B, O) x (O, I) -> (B, I)
    Z = dy @ W.T                                               # (B, O) x (O, K*I) -> (B, K*I)
    dx += np.einsum("rbi,rbi->bi", lb.derivs, lb.gather(Z))   # sum over live bases -> (B, I)
    return dx, grads


def activations(cache):
    """Per-edge values ``A[b, i, j] = phi_ij(x[b, i])`` from a forward cache -> ``(B, I, O)``.

    ``A = b(x)[:, :, None] * wb + (Bd as (I, B, K)) @ (V as (I, K, O))``, the second term a
    batched product over inputs, so no ``(B, I, O, K)`` array is built.
    """
    bx, Bd, V, wb = cache["bx"], cache["Bd"], cache["V"], cache["wb"]
    S = np.matmul(Bd.transpose(2, 0, 1), V.transpose(0, 2, 1))  # (I, B, K) x (I, K, O) -> (I, B, O)
    return bx[:, :, None] * wb + S.transpose(1, 0, 2)          # (B, I, O)


def activations_backward(dA, cache):
    """Gradients through :func:`activations`, given ``dA = dL/dA`` of shape ``(B, I, O)``.

    With ``A[b, i, j] = wb[i, j] b(x[b, i]) + sum_m Bd[b, m, i] V[i, j, m]``,
    ``V[i, j, m] = w_s[i, j] coef[i, j, m]``::

        dL/dw_b[i, j]     = mask[i, j] sum_b dA[b, i, j] b(x[b, i])
        dL/dV[i, j, m]    = sum_b dA[b, i, j] Bd[b, m, i]
        dL/dcoef[i, j, m] = mask[i, j] w_s[i, j] dL/dV[i, j, m]
        dL/dw_s[i, j]     = mask[i, j] sum_m coef[i, j, m] dL/dV[i, j, m]
        dL/dx[b, i]       = b'(x[b, i]) sum_j dA[b, i, j] wb[i, j]
                          + sum_m B'_m(x[b, i]) Q[b, i, m],   Q[b, i, m] = sum_j dA[b, i, j] V[i, j, m]

    Returns
    -------
    dx : ndarray, shape (B, I)
    grads : dict with ``coef``, ``w_b``, ``w_s``
    """
    lb = cache["lb"]
    if lb.derivs is None:
        raise RuntimeError("activations_backward needs a forward pass run with need_grad=True")
    x, bx, Bd, V, wb, mask = (cache[n] for n in ("x", "bx", "Bd", "V", "wb", "mask"))
    coef, w_s = cache["params"]["coef"], cache["params"]["w_s"]
    _, db = get_base(cache["base"])
    dAi = dA.transpose(1, 2, 0)                                # (I, O, B)
    g_V = np.matmul(dAi, Bd.transpose(2, 0, 1))                # (I, O, B) x (I, B, K) -> (I, O, K)
    grads = {
        "coef": (mask * w_s)[:, :, None] * g_V,                # (I, O, K)
        "w_b": mask * np.einsum("bio,bi->io", dA, bx),         # (I, O)
        "w_s": mask * np.einsum("iom,iom->io", coef, g_V),     # (I, O)
    }
    dx = np.einsum("bio,io->bi", dA, wb) * db(x)               # (B, I)
    Q = np.matmul(dA.transpose(1, 0, 2), V)                    # (I, B, O) x (I, O, K) -> (I, B, K)
    Q = np.ascontiguousarray(Q.transpose(1, 2, 0))             # (B, K, I)
    dx += np.einsum("rbi,rbi->bi", lb.derivs, lb.gather(Q))   # (B, I)
    return dx, grads


# ---------------------------------------------------------------------------
# the layer object
# ---------------------------------------------------------------------------

class KANLayer:
    """A layer of ``in_dim * out_dim`` B-spline edges with hand-written backward.

    Parameters
    ----------
    in_dim, out_dim : int
    grid : int
        Number of grid intervals ``G`` on ``grid_range``.
    k : int
        Spline degree (pykan calls it the order).
    grid_range : (float, float)
        Base interval of the initial uniform grid.
    base_fun : {"silu", "identity", "zero"}
    noise_scale : float
        Initial ``coef`` are uniform in ``[-noise_scale / 2, noise_scale / 2] / G``,
        so the splines start close to 0 and the edge starts close to ``w_b b(x)``.
    seed : int or numpy.random.Generator
    dtype : numpy dtype, float64 (default) or float32

    Attributes
    ----------
    grid : ndarray, shape (I, G + 2k + 1)
    coef : ndarray, shape (I, O, G + k)
    w_b, w_s : ndarray, shape (I, O)
        ``w_s = 1 / sqrt(I)``; ``w_b`` Xavier-uniform, ``U(-a, a)``, ``a = sqrt(6 / (I + O))``.
    mask : ndarray, shape (I, O)
        1 for live edges, 0 for pruned ones.
    params, grads : dict
        Trainable arrays and their gradients, same keys (``coef``, ``w_b``, ``w_s``).

    Examples
    --------
    >>> layer = KANLayer(2, 3, grid=5, k=3, seed=0)
    >>> layer.forward(np.zeros((4, 2))).shape
    (4, 3)
    >>> layer.coef.shape, layer.grid.shape
    ((2, 3, 8), (2, 12))
    """

    symbolic = None     # a numpykan.symbolic.SymbolicEdges once edges are fixed to formulas

    def __init__(self, in_dim, out_dim, grid=5, k=3, grid_range=(-1.0, 1.0), base_fun="silu",
                 noise_scale=0.5, seed=0, dtype=np.float64):
        in_dim = bspline._check_int(in_dim, "in_dim", 1)
        out_dim = bspline._check_int(out_dim, "out_dim", 1)
        G = bspline._check_int(grid, "grid", 1)
        self.k = bspline._check_int(k, "k", 0)
        get_base(base_fun)
        self.base_fun = base_fun
        self.dtype = _check_dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        t = bspline.uniform_grid(G, self.k, grid_range)                       # (G + 2k + 1,)
        self.grid = np.tile(t, (in_dim, 1)).astype(self.dtype)                # (I, G + 2k + 1)
        K = G + self.k
        a = np.sqrt(6.0 / (in_dim + out_dim))
        self.params = {
            "coef": ((rng.random((in_dim, out_dim, K)) - 0.5) * noise_scale / G).astype(self.dtype),
            "w_b": rng.uniform(-a, a, (in_dim, out_dim)).astype(self.dtype),
            "w_s": np.full((in_dim, out_dim), 1.0 / np.sqrt(in_dim), dtype=self.dtype),
        }
        self.grads = {key: np.zeros_like(v) for key, v in self.params.items()}
        self.mask = np.ones((in_dim, out_dim), dtype=self.dtype)
        self.cache = None

    # -- shapes and parameters ------------------------------------------------
    in_dim = property(lambda self: self.grid.shape[0])
    out_dim = property(lambda self: self.params["w_b"].shape[1])
    G = property(lambda self: self.grid.shape[1] - 2 * self.k - 1)
    coef = property(lambda self: self.params["coef"])
    w_b = property(lambda self: self.params["w_b"])
    w_s = property(lambda self: self.params["w_s"])

    def num_parameters(self):
        """Number of trainable scalars: ``I * O * (G + k + 2)``."""
        return sum(v.size for v in self.params.values())

    def __repr__(self):
        return (f"KANLayer(in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.G}, "
                f"k={self.k}, base_fun={self.base_fun!r}, dtype={np.dtype(self.dtype).name})")

    # -- forward and backward -----------------------------------------------
    def _input(self, x, name="x"):
        x = bspline._check_x(x, self.in_dim, name)
        return x.astype(self.dtype, copy=False)

    def forward(self, x, need_grad=True):
        """``y = layer(x)``: ``(B, I) -> (B, O)``; caches what :meth:`backward` needs."""
        x = self._input(x)
        y, cache = forward(x, self.params, self.grid, self.k, self.base_fun, self.mask, need_grad)
        self.cache = cache if need_grad else None
        if self.symbolic is not None:                          # edges fixed to formulas
            y = y + self.symbolic.forward(x, need_grad)        # (B, O)
        return y

    __call__ = forward

    def backward(self, dy):
        """Fill ``self.grads`` from ``dy = dL/dy`` ``(B, O)`` and return ``dL/dx`` ``(B, I)``.

        See :func:`backward` for the formulas.
        """
        self._check_upstream(dy, (None, self.out_dim), "dy")
        dx, grads = backward(dy, self.cache)
        self.grads.update(grads)        # same dict: optimizers hold a reference to it
        if self.symbolic is not None:
            dx = dx + self.symbolic.backward(dy)               # fills self.symbolic.grads
        return dx

    def activations(self, x=None):
        """Per-edge values ``phi_ij(x_i)``, shape ``(B, I, O)``.

        With ``x`` given, runs a forward pass first (and caches it); without,
        uses the cache of the last :meth:`forward`.
        """
        if x is not None:
            self.forward(x)
        if self.cache is None:
            raise RuntimeError("activations() without x needs a previous forward(x)")
        A = activations(self.cache)                            # (B, I, O)
        if self.symbolic is not None:
            A = A + self.symbolic.activations()                # symbolic edges' values
        return A

    def backward_activations(self, dA):
        """Add the gradients of ``dA = dL/dA`` ``(B, I, O)`` to ``self.grads``; return ``dL/dx``.

        This is how a loss on the activations themselves (the regularizer)
        reaches the parameters and the layer's input; see :func:`activations_backward`.
        """
        self._check_upstream(dA, (None, self.in_dim, self.out_dim), "dA")
        dx, grads = activations_backward(dA, self.cache)
        for key, g in grads.items():
            self.grads[key] = self.grads[key] + g
        if self.symbolic is not None:
            dx = dx + self.symbolic.backward_activations(dA)
        return dx

    def _check_upstream(self, d, shape, name):
        if self.cache is None:
            raise RuntimeError("backward needs a previous forward(x) with need_grad=True")
        B = self.cache["x"].shape[0]
        expected = tuple(B if s is None else s for s in shape)
        if np.shape(d) != expected:
            raise ValueError(f"{name} must have shape {expected}, got {np.shape(d)}")

    # -- splines only ----------------------------------------------------------
    def spline_values(self, x):
        """Spline part without ``w_s``: ``sum_m coef[i, j, m] B_m(x_i)``, shape ``(B, I, O)``."""
        x = self._input(x)
        return bspline.evaluate(x, self.grid, self.coef, self.k)

    # -- grid update -------------------------------------------------------------
    def update_grid(self, x, grid_eps=0.02):
        """Move the knots to where the samples ``x`` are, keeping each spline's values there.

        Per input ``i``: ``G + 1`` points at the sample quantiles (adaptive) are
        mixed with ``G + 1`` uniform points over ``[min x_i, max x_i]``:
        ``base = grid_eps * uniform + (1 - grid_eps) * adaptive``, extended by
        ``k`` intervals of width ``(max - min) / G`` on each side; then ``coef``
        is refit by least squares (:func:`numpykan.bspline.fit_coef`) so that
        the new splines match the old ones at the samples.

        Parameters
        ----------
        x : ndarray, shape (B, I)
            Samples of this layer's input (at least 2 rows).
        grid_eps : float in [0, 1]
            1 gives a uniform grid over the sample range, 0 a purely adaptive one.

        Notes
        -----
        An input whose samples are all equal (a constant pixel, say) keeps a
        grid of the old width centred on that value. A row whose adaptive
        points coincide (many equal samples with ``grid_eps = 0``) falls back
        to the uniform grid, so knots always stay strictly increasing.
        """
        x = self._input(x)
        if x.shape[0] < 2:
            raise ValueError(f"x must have at least 2 samples to update the grid, got {x.shape[0]}")
        grid_eps = float(grid_eps)
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must be in [0, 1], got {grid_eps}")
        old_values = self.spline_values(x)                                    # (B, I, O)
        new_grid = samples_grid(x, self.G, self.k, grid_eps, self.grid)       # (I, G + 2k + 1)
        self.params["coef"] = bspline.fit_coef(x, old_values, new_grid, self.k).astype(self.dtype)
        self.grid = new_grid.astype(self.dtype)
        self.cache = None

    def resized(self, new_grid, x=None, grid_eps=0.02):
        """A copy of this layer with ``new_grid`` intervals whose splines fit the old ones.

        Without samples, the new knots are uniform on the old base interval
        and the fit uses ``20 (G' + k)`` points spread uniformly over it. When
        every old knot is a new knot (uniform ``G -> m G``) the old spline lies
        in the new space and the fit is exact up to round-off there.

        With samples ``x`` ``(B, I)``, the new knots are placed from the samples
        as in :meth:`update_grid` (with ``grid_eps``) and the fit uses the
        samples, so the new splines match the old ones where the data are.
        """
        G2 = bspline._check_int(new_grid, "new_grid", 1)
        k = self.k
        if x is None:
            lo, hi = self.grid[:, k], self.grid[:, -k - 1]                    # (I,), (I,)
            u = np.linspace(0.0, 1.0, 20 * (G2 + k))[:, None]                # (n, 1)
            x = lo[None, :] + u * (hi - lo)[None, :]                         # (n, I)
            j = np.arange(-k, G2 + k + 1) / G2                                # (G' + 2k + 1,)
            grid = lo[:, None] + (hi - lo)[:, None] * j[None, :]              # (I, G' + 2k + 1)
        else:
            x = self._input(x)
            grid = samples_grid(x, G2, k, float(grid_eps), self.grid)         # (I, G' + 2k + 1)
        old_values = self.spline_values(x)                                    # (B, I, O)
        new = KANLayer.__new__(KANLayer)
        new.k, new.base_fun, new.dtype = k, self.base_fun, self.dtype
        new.grid = grid.astype(self.dtype)
        new.params = {
            "coef": bspline.fit_coef(x, old_values, grid, k).astype(self.dtype),
            "w_b": self.w_b.copy(),
            "w_s": self.w_s.copy(),
        }
        new.grads = {key: np.zeros_like(v) for key, v in new.params.items()}
        new.mask = self.mask.copy()
        new.cache = None
        return new

    def subset(self, rows, cols):
        """A copy keeping inputs ``rows`` and outputs ``cols`` (index arrays); same edges, same functions."""
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        new = KANLayer.__new__(KANLayer)
        new.k, new.base_fun, new.dtype = self.k, self.base_fun, self.dtype
        new.grid = self.grid[rows].copy()
        new.params = {key: v[np.ix_(rows, cols)].copy() for key, v in self.params.items()}
        new.grads = {key: np.zeros_like(v) for key, v in new.params.items()}
        new.mask = self.mask[np.ix_(rows, cols)].copy()
        new.cache = None
        return new


def samples_grid(x, G, k, grid_eps, old_grid):
    """Knots ``(I, G + 2k + 1)`` placed from samples ``x`` ``(B, I)`` (see :meth:`KANLayer.update_grid`)."""
    B, I = x.shape
    xs = np.sort(x, axis=0)                                                   # (B, I)
    q = np.linspace(0, B - 1, G + 1).round().astype(int)                      # (G + 1,)
    adaptive = xs[q, :].T.astype(np.float64)                                  # (I, G + 1)
    lo, hi = xs[0].astype(np.float64), xs[-1].astype(np.float64)              # (I,), (I,)
    flat = hi - lo <= 1e-12 * np.maximum(1.0, np.abs(hi))                     # (I,) constant inputs
    if np.any(flat):
        k_ = k
        half = 0.5 * (old_grid[:, -k_ - 1] - old_grid[:, k_]).astype(np.float64)  # (I,)
        centre = 0.5 * (lo + hi)
        lo = np.where(flat, centre - half, lo)
        hi = np.where(flat, centre + half, hi)
        adaptive[flat] = lo[flat, None] + (hi - lo)[flat, None] * np.linspace(0, 1, G + 1)
    uniform = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, G + 1)  # (I, G + 1)
    base = grid_eps * uniform + (1.0 - grid_eps) * adaptive                   # (I, G + 1)
    bad = np.any(np.diff(base, axis=1) <= 0, axis=1)                          # (I,)
    base[bad] = uniform[bad]
    base[:, 0], base[:, -1] = lo, hi                                          # samples stay inside
    return bspline.extend_grid(base, k)                                       # (I, G + 2k + 1)


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt.type
