"""One KAN layer: ``I * O`` learnable edges ``phi_ij`` summed into ``O`` nodes.

Glossary: ``B`` batch, ``I`` inputs, ``O`` outputs, ``G`` grid intervals,
``k`` degree, ``K = G + k`` bases per input, ``r = 0 .. k`` index of a live basis.

The layer computes, for every sample ``b`` and output ``j``::

    y[b, j] = sum_i phi_ij(x[b, i])
    phi_ij(x) = w_b[i, j] b(x) + w_s[i, j] sum_m coef[i, j, m] B_m(x; grid[i], k)

(pruned edges are multiplied by ``mask[i, j] = 0``; read ``w_b`` and ``w_s``
below as ``mask * w_b`` and ``mask * w_s``). With the dense basis laid out
``X[b, m, i] = B_m(x[b, i])`` for ``m < K``, the base function as one more row
``X[b, K, i] = b(x[b, i])``, and the weights ``Wf[m, i, j] = w_s[i, j] coef[i, j, m]``,
``Wf[K, i, j] = w_b[i, j]``, the whole layer is one matrix product over the
flattened ``(m, i)`` axis::

    y = X.reshape(B, (K+1)*I) @ Wf.reshape((K+1)*I, O)

The code is a pure core (:func:`forward`, :func:`backward`,
:func:`activations`, :func:`activations_backward`) and a thin
:class:`KANLayer` that holds parameters, gradients and the cache.

Three flags, the same words in the core, the layer and the model
----------------------------------------------------------------
``cache``
    Keep what :func:`backward` needs for the parameter gradients (``X`` and
    the live bases). ``False`` is inference: nothing is kept, and the
    layer's own cache (of its last caching forward) is left as it was.
    ``layer(x)`` and ``model(x)`` are inference; ``forward(x)`` caches.
``input_grad``
    Also keep what ``dL/dx`` needs (``B'(x)`` and ``b'(x)``). A training step
    needs no ``dL/dx`` of the data, so a model's first layer runs with
    ``input_grad=False``; the backward of such a cache must then pass
    ``input_grad=False`` too, and one that asks for ``dL/dx`` raises before
    any gradient is written.
``check``
    Validate the input (``x`` in forward, ``dy`` in backward). ``False`` is
    for callers that produced or checked it themselves (a model's hidden
    layers).

A cache that cannot lie
-----------------------
A layer reuses its arrays (its :class:`~numpykan.bspline.Workspace`) from
one forward pass to the next, so a cache kept from an earlier pass would
describe the later pass's input. Each caching pass therefore stamps its
cache with the workspace's ``generation``; :func:`backward`,
:func:`activations` and :func:`activations_backward` refuse a cache whose
stamp is no longer current with an error that says so. Caches from the pure
:func:`forward` without a workspace own their arrays and stay valid.
"""

from __future__ import annotations

import numpy as np

from ..splines import banded, bspline
from ..splines.grids import _check_int
from ..training.transaction import atomic
from ..validation import check_input, check_layer_args, check_real, check_upstream
from . import init
from .activations import base_name, check_base, get_base

__all__ = ["KANLayer", "forward", "backward", "activations", "activations_backward", "check_cache"]

_FRESH = bspline.Workspace(reuse=False)        # hands out new arrays: what public callers get


# ---------------------------------------------------------------------------
# pure core
# ---------------------------------------------------------------------------

def _pruning(mask):
    """``mask``, or None when it is all ones (no edge pruned): the products by 1 are then skipped."""
    if mask is None or np.minimum.reduce(mask, axis=None) == 1 == np.maximum.reduce(mask, axis=None):
        return None
    return mask


def _spline_weights(params, mask):
    """Fused weights ``Wf`` of shape ``(K+1, I, O)``, the spline's and the base function's.

    ``Wf[m, i, j] = mask[i, j] w_s[i, j] coef[i, j, m]`` for ``m < K`` and
    ``Wf[K, i, j] = mask[i, j] w_b[i, j]`` (``mask`` None: all ones), so that
    with the dense bases and ``b(x)`` stacked as ``X[b, m, i]``
    (``X[b, K, i] = b(x[b, i])``) the layer is
    ``y = X.reshape(B, (K+1)*I) @ Wf.reshape((K+1)*I, O)``.
    """
    coef, w_s, w_b = params["coef"], params["w_s"], params["w_b"]   # (I, O, K), (I, O), (I, O)
    I, O, K = coef.shape
    if mask is not None:
        w_s, w_b = mask * w_s, mask * w_b                      # (I, O)
    Wf = np.empty((K + 1, I, O), dtype=coef.dtype)             # (K+1, I, O)
    np.multiply(coef.transpose(2, 0, 1), w_s, out=Wf[:K])      # (K, I, O)
    Wf[K] = w_b                                                # (I, O)
    return Wf


def _param_grads(gWf, params, mask, frozen=None):
    """``coef``, ``w_b``, ``w_s`` gradients from ``gWf = dL/dWf`` ``(K+1, I, O)`` (see :func:`backward`).

    ``mask`` None: no edge pruned. ``frozen`` (a set of keys, or None): those
    gradients are not computed and come back as None (a frozen parameter).
    """
    coef, w_s = params["coef"], params["w_s"]                  # (I, O, K), (I, O)
    K = coef.shape[2]
    gW = gWf[:K]                                               # (K, I, O) dL/dW
    if frozen:
        return _param_grads_frozen(gWf, params, mask, frozen)
    gw_s = (gW * coef.transpose(2, 0, 1)).sum(axis=0)          # (I, O)
    if mask is None:
        gw_b = gWf[K].copy()                                   # (I, O) a copy: gWf can be freed
    else:
        w_s, gw_b, gw_s = mask * w_s, mask * gWf[K], mask * gw_s
    gcoef = np.empty_like(coef)                                # (I, O, K)
    np.multiply(gW.transpose(1, 2, 0), w_s[:, :, None], out=gcoef)   # one pass into coef's layout
    return {"coef": gcoef, "w_b": gw_b, "w_s": gw_s}


def _param_grads_frozen(gWf, params, mask, frozen):
    """:func:`_param_grads` when some of ``w_b``, ``w_s`` are frozen: their gradient is None, not computed."""
    coef, w_s = params["coef"], params["w_s"]                  # (I, O, K), (I, O)
    K = coef.shape[2]
    gW = gWf[:K]                                               # (K, I, O)
    m = 1.0 if mask is None else mask                          # (I, O) or 1
    grads = {"w_b": None if "w_b" in frozen else m * gWf[K],  # (I, O)
             "w_s": None if "w_s" in frozen else m * (gW * coef.transpose(2, 0, 1)).sum(axis=0)}
    grads["coef"] = gW.transpose(1, 2, 0) * (m * w_s)[:, :, None]   # (I, O, K)
    return grads


_STALE = ("this cache is stale: the layer ran forward again since the cache was made, and that "
          "pass overwrote the cache's arrays (a layer reuses them from pass to pass); run "
          "forward(x) again before backward, or keep caches of the pure numpykan.layer.forward"
          "(x, params, grid, k) without a workspace, which own their arrays")
_NO_DERIVS = ("dL/dx needs a forward pass that kept B'(x): forward(x, input_grad=True); this cache "
              "was made with input_grad=False (pass input_grad=False to backward for the "
              "parameter gradients alone)")


def check_cache(cache, input_grad=True):
    """Raise ``RuntimeError`` unless ``cache`` (from :func:`forward`) can serve a backward pass.

    It must exist, be current (no later pass overwrote its arrays; see the
    module docstring) and, if ``input_grad``, hold the derivatives.
    """
    if cache is None:
        raise RuntimeError("backward needs the cache of a previous forward(x) (layer(x), model(x) "
                           "and predict are inference and keep none)")
    if cache["generation"] != cache["ws"].generation:
        raise RuntimeError(_STALE)
    if input_grad and cache["lb"].derivs is None:
        raise RuntimeError(_NO_DERIVS)


def forward(x, params, grid, k, base="silu", mask=None, cache=True, input_grad=True, workspace=None):
    """Layer output and the cache its backward needs.

    Parameters
    ----------
    x : ndarray, shape (B, I)
    params : dict
        ``coef`` (I, O, K), ``w_b`` (I, O), ``w_s`` (I, O).
    grid : ndarray, shape (I, G + 2k + 1)
    k : int
    base : str or tuple of callables
        The base function: a name, or ``(f, f')`` / ``(f, f1, f2, f3)`` (see
        :mod:`numpykan.activations`; checked by the layer, not here).
    mask : ndarray, shape (I, O), optional
        1 for a live edge, 0 for a pruned one; None (or all ones): none pruned.
    cache : bool
        Return the cache for :func:`backward`; ``False`` (inference) returns None.
    input_grad : bool
        With ``cache``: also compute ``B'(x)`` and ``b'(x)``, which only
        ``dL/dx`` needs (the parameter gradients come from ``X`` alone).
    workspace : bspline.Workspace, optional
        Reuse its arrays for ``X`` and the bases (a layer passes its own). The
        pass increments ``workspace.generation`` and stamps the cache with it:
        the cache is valid until the next pass with the same workspace, and
        :func:`check_cache` says when it no longer is.

    Returns
    -------
    y : ndarray, shape (B, O)
    cache : dict or None
        The live bases ``lb`` (values and derivatives), ``b'(x)`` as ``dbx``, the
        stacked ``X`` (B, K+1, I) and the fused weights ``Wf`` (K+1, I, O):
        exactly what :func:`backward` and :func:`activations` read; the
        workspace ``ws`` and its ``generation``. None when not ``cache``.

    Notes
    -----
    Only the ``k + 1`` live bases per point are computed; they are scattered
    into the zeroed rows ``X[:, :K, :]`` and ``b(x)`` is written into row
    ``K``, so the base function rides along in the one matrix product.
    """
    mask = _pruning(mask)                                      # None: no edge pruned
    ws = _FRESH if workspace is None else workspace
    ws.generation += 1                                         # older caches of ws are stale now
    derivs = cache and input_grad
    B, I = x.shape
    lb = bspline.local_basis(x, grid, k, derivative=derivs, check=False, workspace=ws)
    K = lb.K
    X = ws.get("X", (B, K + 1, I), x.dtype)                    # (B, K+1, I)
    lb.scatter(out=X)                                          # X[:, m, i] = B_m(x[:, i]), m < K
    dbx = ws.get("dbx", (B, I), x.dtype) if derivs else None
    _base(base, x, X[:, K, :], dbx, ws)                        # X[:, K, i] = b(x[:, i]), dbx = b'(x)
    Wf = _spline_weights(params, mask)                         # (K+1, I, O)
    O = Wf.shape[2]
    y = X.reshape(B, (K + 1) * I) @ Wf.reshape((K + 1) * I, O)  # (B, (K+1)I) x ((K+1)I, O) -> (B, O)
    if not cache:
        return y, None
    if ws is _FRESH:                                           # the cache owns its arrays: never stale
        ws = bspline.Workspace(reuse=False)
    return y, dict(x=x, lb=lb, dbx=dbx, X=X, Wf=Wf, mask=mask, params=params, ws=ws,
                   generation=ws.generation)


def backward(dy, cache, input_grad=True):
    """Gradients of a loss ``L`` through the layer, given ``dy = dL/dy``.

    Derivation (``y[b, j] = sum_{m,i} X[b, m, i] Wf[m, i, j]`` with ``X[b, m, i] = B_m(x[b, i])``
    for ``m < K``, ``X[b, K, i] = b(x[b, i])``, ``Wf[m, i, j] = w_s[i, j] coef[i, j, m]``,
    ``Wf[K, i, j] = w_b[i, j]``, all edge weights times ``mask[i, j]``)::

        dL/dWf[m, i, j]   = sum_b X[b, m, i] dy[b, j]                    -> X.T @ dy
        dL/dw_b[i, j]     = mask[i, j] dL/dWf[K, i, j]
        dL/dcoef[i, j, m] = mask[i, j] w_s[i, j] dL/dWf[m, i, j]
        dL/dw_s[i, j]     = mask[i, j] sum_m coef[i, j, m] dL/dWf[m, i, j]
        Z[b, m, i]        = sum_j dy[b, j] Wf[m, i, j]                   -> dy @ Wf.T
        dL/dx[b, i]       = b'(x[b, i]) Z[b, K, i] + sum_m B'_m(x[b, i]) Z[b, m, i]

    The last sum runs only over the ``k + 1`` live bases (a gather).
    ``b'(x)`` was computed in the forward pass (it shares the sigmoid with ``b``).

    Parameters
    ----------
    dy : ndarray, shape (B, O)
    cache : dict
        From :func:`forward` (with ``input_grad=True`` if ``input_grad``).
    input_grad : bool
        Compute ``dL/dx``. A network's first layer does not need it in a
        training step: ``False`` skips ``Z``, the gather and ``B'(x)``.

    Returns
    -------
    dx : ndarray, shape (B, I), or None if not ``input_grad``
    grads : dict
        ``coef`` (I, O, K), ``w_b`` (I, O), ``w_s`` (I, O).

    Raises
    ------
    RuntimeError
        If the cache is stale or lacks the derivatives (see :func:`check_cache`).
    """
    lb, ws = cache["lb"], cache["ws"]
    if cache["generation"] != ws.generation or (input_grad and lb.derivs is None):
        check_cache(cache, input_grad)                         # raises, saying why
    X, Wf, dbx = cache["X"], cache["Wf"], cache["dbx"]
    B, K1, I = X.shape
    O = dy.shape[1]
    dy = dy.astype(X.dtype, copy=False)

    gWf = X.reshape(B, K1 * I).T @ dy                          # ((K+1)I, B) x (B, O) -> ((K+1)I, O)
    grads = _param_grads(gWf.reshape(K1, I, O), cache["params"], cache["mask"], cache.get("frozen"))
    if not input_grad:
        return None, grads
    Z = ws.get("Z", (B, K1 * I), X.dtype)                      # (B, (K+1)I)
    times_transpose(dy, Wf.reshape(K1 * I, O), out=Z)          # (B, O) x (O, (K+1)I) -> (B, (K+1)I)
    Z = Z.reshape(B, K1, I)                                    # (B, K+1, I)
    dx = Z[:, K1 - 1, :] * dbx                                 # (B, I) base function part
    _add_live(dx, lb, Z, ws)                                   # + sum_m B'_m(x) Z[:, m, :]
    return dx, grads


def times_transpose(a, w, out=None):
    """``a @ w.T`` for ``a`` ``(B, O)`` and ``w`` ``(F, O)`` -> ``(B, F)``.

    With ``O = 1`` this is an outer product, for which ``np.matmul`` has no
    BLAS path (about 5x slower at ``B = 1000``, 3x at ``B = 4096``) and
    ``np.dot`` has one; otherwise ``np.matmul``.
    """
    product = np.dot if a.shape[1] == 1 else np.matmul
    return product(a, w.T, out=out)


def _add_live(dx, lb, Z, ws):
    """``dx += sum_r derivs[r] * Z[live r]``: the spline part of ``dL/dx``, over the k + 1 live bases."""
    g = ws.get("gather", dx.shape, dx.dtype)                   # (B, I)
    for rows in lb.blocks(Z):                                  # batch rows, a cache-sized block of Z
        gb, dxb = g[rows], dx[rows]                            # (b, I) views
        for r, dB in enumerate(lb.derivs):                     # each (B, I)
            lb.gather(Z, r, out=gb, rows=rows)                 # g[b, i] = Z[b, start + r, i]
            gb *= dB[rows]
            dxb += gb


def _base(name, x, out, dout, ws):
    """``out[...] = b(x)`` and, unless ``dout`` is None, ``dout[...] = b'(x)``; ``x`` ``(B, I)``.

    ``name`` is a base function's name or a tuple ``(f, f', ...)`` (see
    :mod:`numpykan.activations`). SiLU, the default, is written out in place
    and shares its sigmoid between the two; the others call ``(f, f')``::

        sig = (1 + tanh(x / 2)) / 2,   b(x) = x sig,   b'(x) = sig (1 + x (1 - sig))
    """
    if name != "silu":
        b, db = get_base(name)
        out[...] = b(x)
        if dout is not None:
            dout[...] = db(x)
        return
    sig = ws.get("scratch", x.shape, x.dtype)                  # (B, I) free between calls
    np.multiply(x, 0.5, out=sig)
    np.tanh(sig, out=sig)
    sig += 1
    sig *= 0.5                                                 # sigmoid(x)
    np.multiply(x, sig, out=out)                               # silu(x)
    if dout is not None:
        np.subtract(1, sig, out=dout)
        dout *= x
        dout += 1
        dout *= sig                                            # sig (1 + x (1 - sig))


def activations(cache):
    """Per-edge values ``A[b, i, j] = phi_ij(x[b, i])`` from a forward cache -> ``(B, I, O)``.

    ``A[b, i, j] = sum_m X[b, m, i] Wf[m, i, j]`` (the ``m = K`` term is ``w_b b(x)``):
    a product batched over inputs, ``(I, B, K+1) x (I, K+1, O)``, so no
    ``(B, I, O, K)`` array is built. Computed only when asked for (regularization, plots).
    """
    check_cache(cache, input_grad=False)
    X, Wf = cache["X"], cache["Wf"]                            # (B, K+1, I), (K+1, I, O)
    A = np.matmul(X.transpose(2, 0, 1), Wf.transpose(1, 0, 2))  # (I, B, K+1) x (I, K+1, O) -> (I, B, O)
    return A.transpose(1, 0, 2)                                # (B, I, O)


def activations_backward(dA, cache, input_grad=True):
    """Gradients through :func:`activations`, given ``dA = dL/dA`` of shape ``(B, I, O)``.

    With ``A[b, i, j] = sum_m X[b, m, i] Wf[m, i, j]`` (``X``, ``Wf`` as in :func:`backward`)::

        dL/dWf[m, i, j]   = sum_b X[b, m, i] dA[b, i, j]
        dL/dw_b, dL/dcoef, dL/dw_s   from dL/dWf exactly as in backward
        Q[b, m, i]        = sum_j dA[b, i, j] Wf[m, i, j]
        dL/dx[b, i]       = b'(x[b, i]) Q[b, K, i] + sum_m B'_m(x[b, i]) Q[b, m, i]

    ``input_grad=False`` skips ``Q`` and ``dL/dx`` (returned as None), as in :func:`backward`.

    Returns
    -------
    dx : ndarray, shape (B, I), or None if not ``input_grad``
    grads : dict with ``coef``, ``w_b``, ``w_s``
    """
    check_cache(cache, input_grad)
    lb = cache["lb"]
    X, Wf, dbx = cache["X"], cache["Wf"], cache["dbx"]
    K1 = X.shape[1]
    dAi = dA.astype(X.dtype, copy=False).transpose(1, 0, 2)    # (I, B, O)
    gWf = np.matmul(X.transpose(2, 1, 0), dAi)                 # (I, K+1, B) x (I, B, O) -> (I, K+1, O)
    grads = _param_grads(gWf.transpose(1, 0, 2), cache["params"], cache["mask"], cache.get("frozen"))
    if not input_grad:
        return None, grads
    Q = np.matmul(dAi, Wf.transpose(1, 2, 0))                  # (I, B, O) x (I, O, K+1) -> (I, B, K+1)
    Q = np.ascontiguousarray(Q.transpose(1, 2, 0))             # (B, K+1, I)
    dx = Q[:, K1 - 1, :] * dbx                                 # (B, I) base function part
    _add_live(dx, lb, Q, cache["ws"])                          # + sum_m B'_m(x) Q[:, m, :]
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
    base_fun : str or tuple of callables
        ``"silu"`` (default), ``"tanh"``, ``"relu"``, ``"identity"``, ``"zero"``,
        a pair ``(f, f')`` of elementwise functions (training and Jacobians),
        or ``(f, f1, f2, f3)`` with three derivatives (Laplacians too); see
        :mod:`numpykan.activations`. A bare callable is a ``TypeError``.
    noise_scale : float
        Initial ``coef`` are uniform in ``[-noise_scale / 2, noise_scale / 2] / G``,
        so the splines start close to 0 and the edge starts close to ``w_b b(x)``.
    seed : int or numpy.random.Generator
    dtype : numpy dtype, float64 (default) or float32
    scale_base_mu, scale_base_sigma : float or None
        ``None, None``: ``w_b`` Xavier-uniform. Otherwise pykan's
        ``w_b = (mu + sigma U(-1, 1)) / sqrt(I)``; see :mod:`numpykan.models.init`.
    sparse_init : bool
        Start with pykan's sparse mask (:func:`numpykan.models.init.sparse_mask`).
    sp_trainable, sb_trainable : bool
        ``False`` freezes ``w_s`` (resp. ``w_b``): its gradient is None (not
        computed), so no optimizer moves it.

    Attributes
    ----------
    grid : ndarray, shape (I, G + 2k + 1)
    coef : ndarray, shape (I, O, G + k)
    w_b, w_s : ndarray, shape (I, O)
        ``w_s = 1 / sqrt(I)``; ``w_b`` Xavier-uniform, ``U(-a, a)``, ``a = sqrt(6 / (I + O))``,
        or pykan's rule (see ``scale_base_mu``).
    mask : ndarray, shape (I, O)
        1 for live edges, 0 for pruned ones.
    params, grads : dict
        Trainable arrays and their gradients, same keys (``coef``, ``w_b``, ``w_s``);
        a frozen key's gradient is None.
    frozen : frozenset of str
        The frozen keys (from ``sp_trainable``, ``sb_trainable``).

    Examples
    --------
    >>> layer = KANLayer(2, 3, grid=5, k=3, seed=0)
    >>> layer.forward(np.zeros((4, 2))).shape
    (4, 3)
    >>> layer.coef.shape, layer.grid.shape
    ((2, 3, 8), (2, 12))
    """

    symbolic = None     # a numpykan.symbolic_edges.SymbolicEdges once edges are fixed to formulas
    frozen = frozenset()    # keys of params that get no gradient (sp_trainable / sb_trainable)

    def __init__(self, in_dim, out_dim, grid=5, k=3, grid_range=(-1.0, 1.0), base_fun="silu",
                 noise_scale=0.5, seed=0, dtype=np.float64, scale_base_mu=0.0,
                 scale_base_sigma=1.0, sparse_init=False, sp_trainable=True, sb_trainable=True):
        in_dim = _check_int(in_dim, "in_dim", 1)
        out_dim = _check_int(out_dim, "out_dim", 1)
        self.base_fun = check_base(base_fun)       # a name or a tuple of callables
        self.dtype = _check_dtype(dtype)
        G, self.k, t, noise_scale, seed = check_layer_args(grid, k, grid_range, noise_scale, seed,
                                                           self.dtype)      # t: (G + 2k + 1,)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.grid = np.tile(t, (in_dim, 1))                                   # (I, G + 2k + 1)
        K = G + self.k
        mu, sigma = init.check_base_init(scale_base_mu, scale_base_sigma)
        self.params = {
            "coef": ((rng.random((in_dim, out_dim, K)) - 0.5) * noise_scale / G).astype(self.dtype),
            "w_b": init.base_weights(rng, in_dim, out_dim, mu, sigma).astype(self.dtype),
            "w_s": np.full((in_dim, out_dim), 1.0 / np.sqrt(in_dim), dtype=self.dtype),
        }
        self.set_trainable(sp_trainable, sb_trainable)
        if sparse_init:
            self.mask = init.sparse_mask(in_dim, out_dim).astype(self.dtype)
        else:
            self.mask = np.ones((in_dim, out_dim), dtype=self.dtype)
        self.cache = None

    def set_trainable(self, sp_trainable=True, sb_trainable=True):
        """Freeze (``False``) or unfreeze ``w_s`` and ``w_b``; gradients are reset (None when frozen)."""
        frozen = {key for key, on in (("w_s", sp_trainable), ("w_b", sb_trainable)) if not on}
        self.frozen = frozenset(frozen)
        self.grads = _fresh_grads(self.params, self.frozen, getattr(self, "grads", None))

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
                f"k={self.k}, base_fun={_base_repr(self.base_fun)}, dtype={np.dtype(self.dtype).name})")

    # -- forward and backward -----------------------------------------------
    def _input(self, x, name="x"):
        return check_input(x, self.in_dim, self.dtype, name)   # cast first, then finite

    #: inference (``cache=False``) runs at most this many rows at a time, so that the
    #: ``(rows, K+1, I)`` basis matrix, not ``(B, K+1, I)``, bounds its memory
    inference_rows = 8192

    def forward(self, x, *, cache=True, input_grad=True, check=True):
        """``y = layer(x)``: ``(B, I) -> (B, O)``; with ``cache``, keeps what :meth:`backward` needs.

        The flags are those of the module docstring: ``cache=False`` is
        inference (what ``layer(x)`` does): nothing is kept, ``self.cache``
        stays as it was, and the rows run in blocks of ``inference_rows``.
        ``input_grad=False`` keeps what the parameter gradients need but not
        ``B'(x)``, so the following :meth:`backward` must pass
        ``input_grad=False`` too. ``check=False`` skips validating ``x``; a
        model uses it for its hidden layers, whose inputs it produced itself.
        """
        if check:
            x = self._input(x)
        if not cache:
            return self._infer(x)
        ws = self.__dict__.get("_workspace")   # reused from pass to pass (see the module docstring)
        if ws is None:
            ws = self._workspace = bspline.Workspace()
        y, self.cache = forward(x, self.params, self.grid, self.k, self.base_fun, self.mask,
                                True, input_grad, ws)
        if self.frozen:                        # the pure backward skips these gradients
            self.cache["frozen"] = self.frozen
        if self.symbolic is not None:                          # edges fixed to formulas
            y = y + self.symbolic.forward(x, cache=True)       # (B, O)
        return y

    def __call__(self, x):
        """Inference: ``forward(x, cache=False)`` (same values, nothing kept for a backward)."""
        return self.forward(x, cache=False)

    def _infer(self, x, grid=None, coef=None):
        """Output ``(B, O)`` without a cache, in blocks of ``inference_rows``; ``x`` checked.

        ``grid`` and ``coef`` replace the layer's own (to evaluate a grid update
        before it is applied); nothing of the layer changes.
        """
        grid = self.grid if grid is None else grid
        params = self.params if coef is None else dict(self.params, coef=coef)
        B, rows = x.shape[0], self.inference_rows
        out = None
        for start in range(0, B, rows):
            xb = x[start:start + rows]                         # (b, I)
            y, _ = forward(xb, params, grid, self.k, self.base_fun, self.mask, cache=False)
            if self.symbolic is not None:
                y = y + self.symbolic.forward(xb, cache=False)  # (b, O)
            if B <= rows:
                return y
            if out is None:
                out = np.empty((B, y.shape[1]), dtype=y.dtype)   # (B, O)
            out[start:start + rows] = y
        return out

    def backward(self, dy, input_grad=True, check=True):
        """Fill ``self.grads`` from ``dy = dL/dy`` ``(B, O)`` and return ``dL/dx`` ``(B, I)``.

        See :func:`backward` for the formulas. ``input_grad=False`` returns None
        instead of ``dL/dx`` and skips its cost. ``check=False`` skips checking
        ``dy`` against the last forward pass (a model does so for the ``dy`` it
        computed itself). Every check runs before any gradient is written: a
        missing, stale or derivative-less cache raises ``RuntimeError``.
        """
        if check:
            self.check_cache(input_grad)
            dy = self._check_upstream(dy, (None, self.out_dim), "dy")
        elif self.symbolic is not None and self.symbolic.cache is None:
            self.check_cache(input_grad)
        dx, grads = backward(dy, self.cache, input_grad)
        self.grads.update(grads)        # same dict: optimizers hold a reference to it
        if self.symbolic is not None:
            dxs = self.symbolic.backward(dy, input_grad)       # fills self.symbolic.grads
            dx = dx + dxs if input_grad else None
        return dx

    def check_cache(self, input_grad=True):
        """Raise ``RuntimeError`` unless :meth:`backward` can run on ``self.cache`` (see :func:`check_cache`)."""
        check_cache(self.cache, input_grad)
        if self.symbolic is not None and self.symbolic.cache is None:
            raise RuntimeError("backward needs a previous forward(x) of the layer's symbolic edges "
                               "(fix_symbolic cleared it): run forward(x) again")

    def activations(self, x=None, symbolic=True):
        """Per-edge values ``phi_ij(x_i)``, shape ``(B, I, O)``.

        With ``x`` given, runs a forward pass first (and caches it); without,
        uses the cache of the last :meth:`forward`. ``symbolic=False`` leaves
        out the formula edges (the spline edges alone).
        """
        if x is not None:
            self.forward(x)
        if self.cache is None:
            raise RuntimeError("activations() without x needs a previous forward(x) "
                               "(layer(x) is inference and keeps no cache)")
        A = activations(self.cache)                            # (B, I, O)
        if symbolic and self.symbolic is not None:
            A = A + self.symbolic.activations()                # symbolic edges' values
        return A

    def backward_activations(self, dA, input_grad=True, symbolic=True):
        """Add the gradients of ``dA = dL/dA`` ``(B, I, O)`` to ``self.grads``; return ``dL/dx``.

        This is how a loss on the activations themselves (the regularizer)
        reaches the parameters and the layer's input; see :func:`activations_backward`.
        ``input_grad=False`` returns None instead of ``dL/dx``. ``symbolic=False``:
        ``dA`` is the gradient with respect to the spline edges alone
        (``activations(symbolic=False)``), and the formula edges get none.
        """
        self.check_cache(input_grad)
        dA = self._check_upstream(dA, (None, self.in_dim, self.out_dim), "dA")
        dx, grads = activations_backward(dA, self.cache, input_grad)
        for key, g in grads.items():
            self.grads[key] = None if g is None else self.grads[key] + g
        if symbolic and self.symbolic is not None:
            dxs = self.symbolic.backward_activations(dA, input_grad)
            dx = dx + dxs if input_grad else None
        return dx

    def _check_upstream(self, d, shape, name, values=True):
        """``d`` of ``shape`` (None: the cached batch) as the layer computes with it.

        ``values=True``: a real array, finite after the cast to the layer's
        dtype, returned cast; ``False``: its shape alone.
        """
        if self.cache is None:
            check_cache(None)
        B = self.cache["x"].shape[0]
        expected = tuple(B if s is None else s for s in shape)
        if not values:                          # the shape alone (a model's own regularizer)
            if np.shape(d) != expected:
                raise ValueError(f"{name} must have shape {expected}, got {np.shape(d)}")
            return d
        return check_upstream(d, expected, self.dtype, name)   # real, that shape, finite: cast

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
        grid, coef = self._regrid(self._input(x), grid_eps)   # computed first: an error changes nothing
        with atomic():
            self._set_grid(grid, coef)

    def _regrid(self, x, grid_eps):
        """The ``(grid, coef)`` that :meth:`update_grid` would set, from checked samples ``x``; changes nothing."""
        if x.shape[0] < 2:
            raise ValueError(f"x must have at least 2 samples to update the grid, got {x.shape[0]}")
        grid_eps = check_grid_eps(grid_eps)
        old_values = bspline.evaluate(x, self.grid, self.coef, self.k)       # (B, I, O)
        new_grid = samples_grid(x, self.G, self.k, grid_eps, self.grid)       # (I, G + 2k + 1)
        grid = new_grid.astype(self.dtype)
        if not (np.isfinite(grid).all() and np.all(np.diff(grid, axis=1) > 0)):
            raise ValueError(f"x spans [{x.min():.3g}, {x.max():.3g}]: the knots placed from it are "
                             f"not finite and increasing in {np.dtype(self.dtype).name}")
        coef = bspline.fit_coef(x, old_values, new_grid, self.k).astype(self.dtype)
        if not np.isfinite(coef).all():
            raise ValueError(f"x spans [{x.min():.3g}, {x.max():.3g}]: the refit coefficients "
                             f"overflow {np.dtype(self.dtype).name}")
        return grid, coef

    def _set_grid(self, grid, coef):
        """Install a new grid and its coefficients (new arrays: nothing is written in place)."""
        self.grid = grid
        self.params["coef"] = coef
        self.cache = None                   # it described the old grid

    def resized(self, new_grid, x=None, grid_eps=0.02):
        """A copy of this layer with ``new_grid`` intervals whose splines fit the old ones.

        Without samples, the new knots are uniform on the old base interval
        and the fit uses ``20 (G' + k)`` points spread uniformly over it, solved
        through the banded normal equations (:mod:`numpykan.splines.banded`:
        work linear in ``G'``). When every old knot is a new knot (uniform
        ``G -> m G``) the old spline lies in the new space and the fit is exact
        up to round-off there.

        With samples ``x`` ``(B, I)``, the new knots are placed from the samples
        as in :meth:`update_grid` (with ``grid_eps``) and the fit uses the
        samples (a pseudo-inverse, :func:`numpykan.bspline.fit_coef`), so the
        new splines match the old ones where the data are. This layer is not
        changed.
        """
        G2 = _check_int(new_grid, "new_grid", 1)
        k = self.k
        if x is None:
            grid, coef = self._uniform_refit(G2)
        else:
            x = self._input(x)
            grid = samples_grid(x, G2, k, check_grid_eps(grid_eps), self.grid)  # (I, G' + 2k + 1)
            old_values = bspline.evaluate(x, self.grid, self.coef, k)         # (B, I, O)
            coef = bspline.fit_coef(x, old_values, grid, k)                   # (I, O, G' + k)
        new = KANLayer.__new__(KANLayer)
        new.k, new.base_fun, new.dtype = k, self.base_fun, self.dtype
        new.grid = grid.astype(self.dtype)
        new.params = {"coef": coef.astype(self.dtype), "w_b": self.w_b.copy(), "w_s": self.w_s.copy()}
        new.frozen = self.frozen
        new.grads = _fresh_grads(new.params, new.frozen)
        new.mask = self.mask.copy()
        new.cache = None
        if self.symbolic is not None:                                         # formulas carry over
            new.symbolic = self.symbolic.subset(np.arange(self.in_dim), np.arange(self.out_dim))
        return new

    def _uniform_refit(self, G2):
        """Knots ``(I, G' + 2k + 1)`` uniform on each old base interval and the refit ``coef`` ``(I, O, G' + k)``.

        Input ``i``'s points ``lo_i + u (hi_i - lo_i)`` and knots
        ``lo_i + j (hi_i - lo_i) / G'`` are one affine image of the shared
        ``u`` (``20 (G' + k)`` points in ``[0, 1]``) and ``j / G'``, and
        B-splines do not change under such a map: one banded factorization
        serves every input and output (:func:`numpykan.splines.banded.fit_shared_points`).
        """
        k, I, O = self.k, self.in_dim, self.out_dim
        lo = self.grid[:, k].astype(np.float64)                               # (I,)
        hi = self.grid[:, -k - 1].astype(np.float64)                          # (I,)
        u = np.linspace(0.0, 1.0, 20 * (G2 + k))                              # (n,)
        j = np.arange(-k, G2 + k + 1) / G2                                    # (G' + 2k + 1,)
        grid = lo[:, None] + (hi - lo)[:, None] * j[None, :]                  # (I, G' + 2k + 1)
        old_grid, old_coef = self.grid.astype(np.float64), self.coef.astype(np.float64)
        per_block = max(1, (1 << 22) // (u.size * O))                         # inputs per block: ~32 MB

        def values_at():                                                      # the old splines at the points
            for i0 in range(0, I, per_block):
                rows = slice(i0, i0 + per_block)
                x = lo[None, rows] + u[:, None] * (hi - lo)[None, rows]      # (n, b)
                y = bspline.evaluate(x, old_grid[rows], old_coef[rows], k)   # (n, b, O)
                yield rows, y.reshape(u.size, -1)                             # (n, b O)

        coef = np.empty((I, O, G2 + k))                                       # (I, O, G' + k)
        for rows, c in banded.fit_shared_points(u, j, k, values_at):          # c: (G' + k, b O)
            coef[rows] = c.reshape(G2 + k, -1, O).transpose(1, 2, 0)
        return grid, coef

    def subset(self, rows, cols):
        """A copy keeping inputs ``rows`` and outputs ``cols`` (index arrays); same edges, same functions."""
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        new = KANLayer.__new__(KANLayer)
        new.k, new.base_fun, new.dtype = self.k, self.base_fun, self.dtype
        new.grid = self.grid[rows].copy()
        new.params = {key: v[np.ix_(rows, cols)].copy() for key, v in self.params.items()}
        new.frozen = self.frozen
        new.grads = _fresh_grads(new.params, new.frozen)
        new.mask = self.mask[np.ix_(rows, cols)].copy()
        new.cache = None
        if self.symbolic is not None:
            new.symbolic = self.symbolic.subset(rows, cols)
        return new


def _base_repr(base_fun):
    """``'silu'`` for a name (quoted, as in code), the functions' names for a tuple."""
    return repr(base_fun) if isinstance(base_fun, str) else base_name(base_fun)


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


def _fresh_grads(params, frozen, grads=None):
    """Zero gradients for ``params`` (None for the ``frozen`` keys), in the dict ``grads`` if given.

    Filling the same dict keeps it valid for optimizers that already hold it.
    """
    grads = {} if grads is None else grads
    for key, v in params.items():
        grads[key] = None if key in frozen else np.zeros_like(v)
    return grads


def check_grid_eps(grid_eps, name="grid_eps"):
    """``grid_eps`` as a float in ``[0, 1]``, or a ``TypeError``/``ValueError`` naming it."""
    value = check_real(grid_eps, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt.type
