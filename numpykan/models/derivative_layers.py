"""One layer on jets: values, first and second input derivatives forward; their reverse pass.

Glossary: ``B`` batch, ``I`` inputs, ``O`` outputs of the layer, ``D`` input
directions of the network (its input width), ``K = G + k`` bases, ``q`` a
derivative order, ``E`` formula edges of the layer.

A *jet* of a layer's input is ``(h, J, H)``: the values ``h`` ``(B, I)``, their
derivatives along every input direction ``J[b, i, d] = dh_i/dx_d`` ``(B, I, D)``
and the second derivatives along the same directions, the Hessian diagonal
``H[b, i, d] = d^2 h_i / dx_d^2`` ``(B, I, D)``. The network's input is the jet
``(x, identity, 0)``, written ``J = None``, ``H = None`` here (so the first layer
skips the products with the identity). :mod:`numpykan.derivatives` chains the
stages; this module holds the two kinds of layer:

- :class:`KANStage` (a :class:`~numpykan.KANLayer`, formula edges included),
  whose edges ``phi_ij`` are functions of one variable;
- :class:`DenseStage` (an MLP layer ``act(h W + b)``).

Forward, for an edge sum ``y_j = sum_i phi_ij(h_i)`` (chain rule, then the
product rule once more)::

    y[b, j]     = sum_i A0[b, i, j]
    Jy[b, j, d] = sum_i A1[b, i, j] J[b, i, d]
    Hy[b, j, d] = sum_i A2[b, i, j] J[b, i, d]^2 + A1[b, i, j] H[b, i, d]

with ``Aq[b, i, j] = phi_ij^(q)(h[b, i])``, the ``q``-th derivative of the edge.
Reverse, given ``gy = dL/dy``, ``gJy = dL/dJy``, ``gHy = dL/dHy`` (each ``None``
for zero)::

    gA0[b, i, j] = gy[b, j]
    gA1[b, i, j] = sum_d gJy[b, j, d] J[b, i, d] + gHy[b, j, d] H[b, i, d]
    gA2[b, i, j] = sum_d gHy[b, j, d] J[b, i, d]^2
    dL/dh[b, i]    = sum_j sum_q gAq[b, i, j] A(q+1)[b, i, j]        (d Aq / dh = A(q+1))
    dL/dJ[b, i, d] = sum_j gJy[b, j, d] A1[b, i, j] + 2 J[b, i, d] gHy[b, j, d] A2[b, i, j]
    dL/dH[b, i, d] = sum_j gHy[b, j, d] A1[b, i, j]

and every parameter's gradient is ``sum_{b, q} gAq dAq/dtheta`` (see each stage).
So a loss on second derivatives needs ``phi'''``: ``B'''`` and ``b'''``.
"""

from __future__ import annotations

import numpy as np

from ..splines import bspline
from .activations import get_derivatives
from .layer import _param_grads, _pruning, _spline_weights

__all__ = ["KANStage", "DenseStage", "FORMULA_DERIVATIVES", "register_formula_derivatives",
           "formula_derivatives"]


def _edge_forward(A1, A2, J, H, order):
    """``Jy``, ``Hy`` ``(B, O, D)`` from the edge derivatives ``A1``, ``A2`` ``(B, I, O)`` (module docstring)."""
    if order < 1:
        return None, None
    if J is None:                                              # J = identity, H = 0: D = I
        Jy = np.ascontiguousarray(A1.transpose(0, 2, 1))       # (B, O, I)
        Hy = np.ascontiguousarray(A2.transpose(0, 2, 1)) if order >= 2 else None
        return Jy, Hy
    Jy = np.matmul(A1.transpose(0, 2, 1), J)                   # (B, O, I) x (B, I, D) -> (B, O, D)
    if order < 2:
        return Jy, None
    Hy = np.matmul(A2.transpose(0, 2, 1), J * J)               # (B, O, I) x (B, I, D) -> (B, O, D)
    if H is not None:
        Hy += np.matmul(A1.transpose(0, 2, 1), H)              # + (B, O, I) x (B, I, D)
    return Jy, Hy


def _edge_upstream(gJy, gHy, J, H, order):
    """``gA1``, ``gA2`` ``(B, I, O)`` from ``gJy``, ``gHy`` ``(B, O, D)`` (module docstring); None for zero."""
    gA1 = gA2 = None
    if order >= 1 and gJy is not None:
        gA1 = gJy.transpose(0, 2, 1) if J is None else np.matmul(J, gJy.transpose(0, 2, 1))
        #     (B, I, O)                             (B, I, D) x (B, D, O) -> (B, I, O)
    if order >= 2 and gHy is not None:
        if H is not None:
            t = np.matmul(H, gHy.transpose(0, 2, 1))           # (B, I, D) x (B, D, O) -> (B, I, O)
            gA1 = t if gA1 is None else gA1 + t
        gA2 = gHy.transpose(0, 2, 1) if J is None else np.matmul(J * J, gHy.transpose(0, 2, 1))
    return gA1, gA2


def _jet_downstream(gJy, gHy, A1, A2, J, order):
    """``dL/dJ``, ``dL/dH`` ``(B, I, D)`` of the layer's input jet (module docstring)."""
    gJ = gH = None
    if gJy is not None:
        gJ = np.matmul(A1, gJy)                                # (B, I, O) x (B, O, D) -> (B, I, D)
    if order >= 2 and gHy is not None:
        gH = np.matmul(A1, gHy)                                # (B, I, O) x (B, O, D) -> (B, I, D)
        t = 2.0 * J * np.matmul(A2, gHy)                       # (B, I, D)
        gJ = t if gJ is None else gJ + t
    return gJ, gH


# ---------------------------------------------------------------------------
# KAN layers (spline edges and formula edges)
# ---------------------------------------------------------------------------

class KANStage:
    """A :class:`~numpykan.KANLayer` on jets.

    Edge ``phi_ij(h) = mask_ij (w_b[i, j] b(h) + w_s[i, j] sum_m coef[i, j, m] B_m(h))``
    (plus a formula edge ``c f(a h + b) + d`` where the layer has one), so

        ``Aq[b, i, j] = sum_m Xq[b, m, i] Wf[m, i, j]``,
        ``Xq[b, m, i] = B^(q)_m(h[b, i])`` for ``m < K``, ``Xq[b, K, i] = b^(q)(h[b, i])``,

    with the layer's fused weights ``Wf`` (:func:`numpykan.layer.backward`). The
    parameter gradients are those of the layer's backward with every order summed::

        dL/dWf[m, i, j] = sum_b sum_q Xq[b, m, i] gAq[b, i, j]

    then ``coef``, ``w_b``, ``w_s`` from ``dL/dWf`` as in :func:`numpykan.layer.backward`.
    A formula edge ``e`` (input ``i_e``, output ``j_e``) has ``u = a h + b`` and
    ``Aq = c a^q f^(q)(u)`` (plus ``d`` for ``q = 0``), so with ``g_q = gAq[:, i_e, j_e]``::

        dL/da = sum_{b, q} g_q c (q a^(q-1) f^(q)(u) + a^q f^(q+1)(u) h)
        dL/db = sum_{b, q} g_q c a^q f^(q+1)(u)
        dL/dc = sum_{b, q} g_q a^q f^(q)(u)
        dL/dd = sum_b g_0
    """

    def __init__(self, layer):
        self.layer = layer

    def groups(self):
        """The ``(params, grads)`` pairs this stage fills, as in ``model.parameters()``."""
        pairs = [(self.layer.params, self.layer.grads)]
        sym = self.layer.symbolic
        if sym is not None:
            pairs.append((sym.params, sym.grads))
        return pairs

    def forward(self, h, J, H, order, backward=True, input_grad=True):
        """Output jet ``(y (B, O), Jy (B, O, D), Hy (B, O, D))`` and the cache of :meth:`backward`.

        ``order`` 0, 1 or 2: how many derivatives to carry (``Jy``/``Hy`` None above it).
        ``backward`` keeps what :meth:`backward` needs; ``input_grad`` also
        computes ``A(order + 1)`` for ``dL/dh``.
        """
        layer = self.layer
        k, K = layer.k, layer.coef.shape[2]
        top = order + 1 if backward and input_grad else order  # highest edge derivative needed
        qs = tuple(range(min(top, k + 1) + 1))                 # B^(q) above k + 1: zero, not computed
        if backward:        # arrays reused from call to call (fresh ones page-fault); see backward
            ws = layer.__dict__.setdefault("_jet_workspace", bspline.Workspace())
            generation = layer.__dict__["_jet_generation"] = layer.__dict__.get("_jet_generation", 0) + 1
        else:               # nothing is kept: fresh arrays, so no earlier tape is overwritten
            ws, generation = bspline.Workspace(reuse=False), None
        lb = bspline.local_basis_orders(h, layer.grid, k, qs, check=False, workspace=ws)
        base = get_derivatives(layer.base_fun)(h, range(top + 1))   # top + 1 arrays (B, I)
        B, I = h.shape
        X = []
        for q in range(top + 1):
            Xq = ws.get(f"X{q}", (B, K + 1, I), h.dtype)       # (B, K+1, I)
            if q in lb.orders:
                lb.scatter(q, out=Xq)                          # rows m < K: B^(q)_m(h)
            else:
                Xq[:, :K] = 0
            Xq[:, K] = base[q]                                 # row K: b^(q)(h)
            X.append(Xq)
        mask = _pruning(layer.mask)
        Wf = _spline_weights(layer.params, mask)               # (K+1, I, O)
        O = Wf.shape[2]
        y = X[0].reshape(B, (K + 1) * I) @ Wf.reshape((K + 1) * I, O)   # (B, (K+1)I) x ((K+1)I, O)
        WfT = Wf.transpose(1, 0, 2)                            # (I, K+1, O)
        A, Xt = [None], [None]
        for q in range(1, top + 1):                            # Aq = phi^(q)(h), q = 1 .. top
            Xtq = ws.get(f"Xt{q}", (I, B, K + 1), h.dtype)     # (I, B, K+1) contiguous: BLAS takes it
            np.copyto(Xtq, X[q].transpose(2, 0, 1))            # (a strided view is 3-4x slower at G = 20)
            Aq = np.matmul(Xtq, WfT, out=ws.get(f"A{q}", (I, B, O), h.dtype))
            A.append(Aq.transpose(1, 0, 2))                    # (I, B, K+1) x (I, K+1, O) -> (B, I, O)
            Xt.append(Xtq)
        sym = self._formula_forward(h, order + 1 if backward else top)   # d/da, d/db need f^(order+1)
        if sym is not None:
            i_e, j_e, P, F = sym
            a, c, d = P[:, 0], P[:, 2], P[:, 3]                # (E,) each
            v = c * F[0] + d                                   # (B, E) formula edge values
            np.add.at(y.T, j_e, v.T)                           # (O, B) += (E, B) by j_e
            for q in range(1, top + 1):
                A[q][:, i_e, j_e] += c * a ** q * F[q]         # (B, E): c a^q f^(q)(u)
        Jy, Hy = _edge_forward(A[1] if top >= 1 else None, A[2] if top >= 2 else None, J, H, order)
        cache = dict(h=h, J=J, H=H, X=X, Xt=Xt, A=A, sym=sym, order=order, mask=mask,
                     input_grad=input_grad, generation=generation) if backward else None
        return y, Jy, Hy, cache

    def _formula_forward(self, h, top):
        """Formula edges: ``(i_e, j_e, abcd, [f^(q)(u) for q = 0 .. top])`` or None."""
        sym = self.layer.symbolic
        if sym is None or not len(sym):
            return None
        P = sym.params["abcd"]                                 # (E, 4)
        i_e, j_e = sym.ij[:, 0], sym.ij[:, 1]                  # (E,), (E,)
        u = P[:, 0] * h[:, i_e] + P[:, 1]                      # (B, E)
        F = [np.empty_like(u) for _ in range(top + 1)]         # f^(q)(u), each (B, E)
        names = np.array(sym.names)
        for name in dict.fromkeys(sym.names):                  # each function once
            cols = np.flatnonzero(names == name)
            for q, f in enumerate(formula_derivatives(name, u[:, cols], top)):
                F[q][:, cols] = f
        return i_e, j_e, P, F

    def backward(self, cache, gy, gJy, gHy):
        """Reverse pass: ``(dL/dh, dL/dJ, dL/dH, grads)``; ``grads`` one dict per :meth:`groups` pair.

        The cache's arrays live in the layer's jet workspace: a later
        :meth:`forward` with ``backward=True`` through the same layer reuses them,
        after which this cache is refused (RuntimeError) instead of giving wrong gradients.

        ``gy`` ``(B, O)``, ``gJy``/``gHy`` ``(B, O, D)``; any may be None (zero).
        ``dL/dJ``, ``dL/dH`` are None for the network's input (``J`` None);
        ``dL/dh`` is None unless the forward had ``input_grad``.
        """
        layer = self.layer
        if cache["generation"] != layer.__dict__.get("_jet_generation"):
            raise RuntimeError("this tape's arrays were reused by a later forward pass with "
                               "backward=True through the same layer; run backward on a tape "
                               "before the next such forward")
        h, J, H, X, A, order = (cache[key] for key in ("h", "J", "H", "X", "A", "order"))
        B, K1, I = X[0].shape
        O = layer.out_dim
        if gy is None:
            gy = np.zeros((B, O), dtype=h.dtype)
        gA1, gA2 = _edge_upstream(gJy, gHy, J, H, order)
        gA = [None, gA1, gA2][:order + 1]                     # gAq (B, I, O) or None, q >= 1
        gWf = (X[0].reshape(B, K1 * I).T @ gy).reshape(K1, I, O)   # ((K+1)I, B) x (B, O): q = 0
        for q in range(1, order + 1):
            if gA[q] is not None:
                gAi = np.ascontiguousarray(gA[q].transpose(1, 0, 2))   # (I, B, O)
                gWf += np.matmul(cache["Xt"][q].transpose(0, 2, 1), gAi).transpose(1, 0, 2)
                #      (I, K+1, B) x (I, B, O) -> (I, K+1, O) -> (K+1, I, O)
        grads = [_param_grads(gWf, layer.params, cache["mask"], layer.frozen)]   # frozen keys: None
        if cache["sym"] is not None:
            grads.append({"abcd": self._formula_backward(cache, gy, gA)})
        elif layer.symbolic is not None:
            grads.append({"abcd": np.zeros_like(layer.symbolic.params["abcd"])})
        gh = None
        if cache["input_grad"]:
            gh = np.einsum("bj,bij->bi", gy, A[1])             # (B, I): q = 0, d A0/dh = A1
            for q in range(1, order + 1):
                if gA[q] is not None:
                    gh += np.einsum("bij,bij->bi", gA[q], A[q + 1])   # d Aq/dh = A(q+1)
        gJ = gH = None
        if J is not None:
            gJ, gH = _jet_downstream(gJy, gHy, A[1] if order >= 1 else None,
                                     A[2] if order >= 2 else None, J, order)
        return gh, gJ, gH, grads

    @staticmethod
    def _formula_backward(cache, gy, gA):
        """``dL/dabcd`` ``(E, 4)`` of the formula edges (class docstring)."""
        i_e, j_e, P, F = cache["sym"]
        h = cache["h"]
        a, c = P[:, 0], P[:, 2]                                # (E,)
        xe = h[:, i_e]                                         # (B, E)
        g = np.zeros((len(i_e), 4), dtype=P.dtype)             # (E, 4)
        for q, gq in enumerate([gy] + gA[1:]):
            if gq is None:
                continue
            ge = gq[:, j_e] if q == 0 else gq[:, i_e, j_e]     # (B, E) dL/dAq of each edge
            aq = a ** q
            g[:, 0] += np.sum(ge * c * ((q * a ** (q - 1) * F[q] if q else 0.0) + aq * F[q + 1] * xe), axis=0)
            g[:, 1] += np.sum(ge * c * aq * F[q + 1], axis=0)
            g[:, 2] += np.sum(ge * aq * F[q], axis=0)
            if q == 0:
                g[:, 3] += np.sum(ge, axis=0)
        return g


# ---------------------------------------------------------------------------
# dense (MLP) layers
# ---------------------------------------------------------------------------

class DenseStage:
    """An MLP layer ``a = act(z)``, ``z = h W + b``, on jets.

    Forward (``s_q = act^(q)(z)``)::

        Jz = J W,   Hz = H W                                  (B, O, D): sum_i W[i, o] J[b, i, d]
        Ja = s_1 Jz,   Ha = s_2 Jz^2 + s_1 Hz

    Reverse, given ``ga``, ``gJa``, ``gHa``::

        gJz = gJa s_1 + 2 gHa s_2 Jz,    gHz = gHa s_1
        gz  = ga s_1 + sum_d gJa s_2 Jz + gHa (s_3 Jz^2 + s_2 Hz)
        dL/dW = h^T gz + sum_{b,d} J[b, :, d]^T gJz[b, :, d] + H[b, :, d]^T gHz[b, :, d]
        dL/db = sum_b gz,   dL/dh = gz W^T,   dL/dJ = gJz W^T,   dL/dH = gHz W^T
    """

    def __init__(self, layer):
        self.layer = layer

    def groups(self):
        return [(self.layer.params, self.layer.grads)]

    def forward(self, h, J, H, order, backward=True, input_grad=True):
        W, bias = self.layer.params["W"], self.layer.params["b"]   # (I, O), (O,)
        z = h @ W + bias                                       # (B, I) x (I, O) -> (B, O)
        top = order + 1 if backward else order
        s = get_derivatives(self.layer.activation, "activation")(z, range(top + 1))   # s_q, each (B, O)
        Jz = Hz = Ja = Ha = None
        if order >= 1:
            B = h.shape[0]
            Jz = np.broadcast_to(W.T, (B,) + W.T.shape) if J is None else np.einsum("bid,io->bod", J, W)
            #    (B, O, I): d z_o / d x_d = W[d, o]                   (B, I, D) x (I, O) -> (B, O, D)
            Ja = s[1][:, :, None] * Jz                         # (B, O, D)
        if order >= 2:
            Hz = None if H is None else np.einsum("bid,io->bod", H, W)   # (B, O, D)
            Ha = s[2][:, :, None] * Jz * Jz                    # (B, O, D)
            if Hz is not None:
                Ha += s[1][:, :, None] * Hz
        cache = dict(h=h, J=J, H=H, s=s, Jz=Jz, Hz=Hz, order=order, input_grad=input_grad) \
            if backward else None
        return s[0], Ja, Ha, cache

    def backward(self, cache, ga, gJa, gHa):
        h, J, H, s, Jz, Hz, order = (cache[key] for key in ("h", "J", "H", "s", "Jz", "Hz", "order"))
        W = self.layer.params["W"]                             # (I, O)
        gz = np.zeros_like(s[0]) if ga is None else ga * s[1]  # (B, O)
        gJz = gHz = None
        if order >= 1 and gJa is not None:
            gJz = gJa * s[1][:, :, None]                       # (B, O, D)
            gz = gz + np.sum(gJa * Jz, axis=2) * s[2]          # d s_1/dz = s_2
        if order >= 2 and gHa is not None:
            gHz = gHa * s[1][:, :, None]                       # (B, O, D)
            t = 2.0 * gHa * s[2][:, :, None] * Jz              # (B, O, D)
            gJz = t if gJz is None else gJz + t
            gz = gz + np.sum(gHa * Jz * Jz, axis=2) * s[3]     # d s_2/dz = s_3
            if Hz is not None:
                gz = gz + np.sum(gHa * Hz, axis=2) * s[2]
        gW = h.T @ gz                                          # (I, B) x (B, O) -> (I, O)
        if gJz is not None:
            gW += gJz.sum(axis=0).T if J is None else np.einsum("bid,bod->io", J, gJz)
        if gHz is not None and H is not None:
            gW += np.einsum("bid,bod->io", H, gHz)             # (I, O)
        grads = [{"W": gW, "b": gz.sum(axis=0)}]
        gh = gz @ W.T if cache["input_grad"] else None         # (B, O) x (O, I) -> (B, I)
        gJ = gH = None
        if J is not None:
            gJ = None if gJz is None else np.einsum("bod,io->bid", gJz, W)   # (B, I, D)
            gH = None if gHz is None else np.einsum("bod,io->bid", gHz, W)
        return gh, gJ, gH, grads


# ---------------------------------------------------------------------------
# formula edges: f'' and f''' of the symbolic library
# ---------------------------------------------------------------------------

def _where_far(u, lo, value):
    """``value(u)`` where ``|u| >= lo`` and 0 inside (the library's safe functions are constant there)."""
    far = np.abs(u) >= lo
    uu = np.where(far, u, 1.0)
    return np.where(far, value(uu), 0.0)


def _formula_table():
    from ..interpretation import symbolic as S
    eps, tmax, emax = S._EPS, S._TAN_MAX, S._EXP_MAX

    def tan_d(u):
        t = np.tan(np.clip(u, -tmax, tmax))
        inside = np.abs(u) <= tmax
        sec2 = 1.0 + t * t
        return (np.where(inside, 2.0 * t * sec2, 0.0),
                np.where(inside, 2.0 * sec2 * sec2 + 4.0 * t * t * sec2, 0.0))

    def exp_d(u):
        e = np.where(u > emax, 0.0, np.exp(np.minimum(u, emax)))
        return e, e

    def tanh_d(u):
        t = np.tanh(u)
        dt = 1.0 - t * t
        return -2.0 * t * dt, dt * (6.0 * t * t - 2.0)

    def gauss_d(u):
        e = np.exp(-u * u)
        return (4.0 * u * u - 2.0) * e, (12.0 * u - 8.0 * u ** 3) * e

    def arctan_d(u):
        w = 1.0 + u * u
        return -2.0 * u / w ** 2, (6.0 * u * u - 2.0) / w ** 3

    def zeros(u):
        return np.zeros_like(u), np.zeros_like(u)

    return {
        "0": zeros, "x": zeros, "sgn": zeros,
        "abs": zeros,                                          # |u|'' = 0 away from 0
        "x^2": lambda u: (np.full_like(u, 2.0), np.zeros_like(u)),
        "x^3": lambda u: (6.0 * u, np.full_like(u, 6.0)),
        "x^4": lambda u: (12.0 * u * u, 24.0 * u),
        "1/x": lambda u: (_where_far(u, eps, lambda v: 2.0 / v ** 3),
                          _where_far(u, eps, lambda v: -6.0 / v ** 4)),
        "1/x^2": lambda u: (_where_far(u, eps, lambda v: 6.0 / v ** 4),
                            _where_far(u, eps, lambda v: -24.0 / v ** 5)),
        "sqrt": lambda u: (_where_far(u, eps, lambda v: -0.25 * np.abs(v) ** -1.5),
                           _where_far(u, eps, lambda v: 0.375 * np.sign(v) * np.abs(v) ** -2.5)),
        "log": lambda u: (_where_far(u, eps, lambda v: -1.0 / v ** 2),
                          _where_far(u, eps, lambda v: 2.0 / v ** 3)),
        "exp": exp_d,
        "sin": lambda u: (-np.sin(u), -np.cos(u)),
        "cos": lambda u: (-np.cos(u), np.sin(u)),
        "tan": tan_d,
        "tanh": tanh_d,
        "gaussian": gauss_d,
        "arctan": arctan_d,
    }


#: formula name -> ``u -> (f''(u), f'''(u))``, derivatives of the library's (safe) functions;
#: filled on first use from :mod:`numpykan.symbolic`, extended by :func:`register_formula_derivatives`
FORMULA_DERIVATIVES = {}


def register_formula_derivatives(name, d2f, d3f):
    """Give the formula ``name`` (see :func:`numpykan.symbolic.add_symbolic`) its ``f''`` and ``f'''``."""
    if not (callable(d2f) and callable(d3f)):
        raise TypeError(f"d2f and d3f must be callables, got {type(d2f).__name__}, {type(d3f).__name__}")
    if not FORMULA_DERIVATIVES:
        FORMULA_DERIVATIVES.update(_formula_table())
    FORMULA_DERIVATIVES[name] = lambda u: (d2f(u), d3f(u))


def formula_derivatives(name, u, top):
    """``[f(u), f'(u), ..., f^(top)(u)]`` for the library formula ``name``, ``top <= 3``.

    ``f`` and ``f'`` come from the library; ``f''`` and ``f'''`` from
    :data:`FORMULA_DERIVATIVES` (derived for every built-in function, on the same
    safe domains: where the library clips or pushes ``u`` away from a singularity,
    the function is constant or its derivative is 0, and so are these).
    """
    from ..interpretation.symbolic import get_symbolic
    fn = get_symbolic(name)
    out = [fn.f(u)]
    if top >= 1:
        out.append(fn.df(u))
    if top >= 2:
        if not FORMULA_DERIVATIVES:
            FORMULA_DERIVATIVES.update(_formula_table())
        higher = FORMULA_DERIVATIVES.get(name)
        if higher is None:
            raise ValueError(f"formula edge {name!r} has no second and third derivatives; give "
                             f"them with numpykan.derivative_layers.register_formula_derivatives("
                             f"{name!r}, d2f, d3f)")
        d2, d3 = higher(u)
        out += [d2, d3][:top - 1]
    return out
