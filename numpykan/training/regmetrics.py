"""Regularizer metrics: how big is an edge, and the sparsity penalty built on that size.

A KAN is made sparse by adding ``lamb * sum_layers R_l`` to the prediction loss,
where ``R_l`` penalizes the sizes ``V_ij`` of layer ``l``'s edges. What "size"
means is the *metric* (``reg_metric``); three families are here, each with its
value and its hand-written gradient into the activations, the layer's input
(so into earlier layers) and the coefficients.

Glossary: ``B`` batch, ``I`` inputs, ``O`` outputs of a layer; ``A[b, i, j]``
the value of edge ``(i, j)`` at sample ``b``, ``x[b, i]`` the layer's input;
``std`` is the *unbiased* standard deviation over the batch
(``sqrt(sum_b (a_b - mean)^2 / (B - 1))``, as ``torch.std``).

``"paper"`` (the KAN paper, arXiv:2404.19756, eq. 2.17-2.20)
    ``V_ij = mean_b |A[b, i, j]|``, one entropy over all edges of the layer with
    ``p_ij = V_ij / sum V`` and the natural log:
    ``R = lamb_l1 sum V + lamb_entropy (-sum p ln p)``.
    Implemented in :mod:`numpykan.training.regularization` (``l1_entropy``).

``"edge_forward_spline_n"`` (pykan 0.2's default)
    ``V_ij = std_b(A_spline[b, i, j]) / (std_b(x[b, i]) + 0.1)``: how much the
    spline edge's output moves relative to how much its input moves (``A_spline``
    is the spline edge, ``w_b b(x) + w_s spline(x)``, without a formula edge on
    top). Both standard deviations carry gradient.

``"edge_forward_spline_u"`` (pykan 0.2)
    ``V_ij = std_b(A[b, i, j])``, the edge's output spread, spline and formula
    edges together, not normalized.

``"edge_forward_sum"`` (pykan 0.2)
    The value of ``"edge_forward_spline_n"`` computed on the whole edge (spline
    and formula), *without any gradient*: pykan detaches it, so it is reported
    in the history but does not train anything. Here for comparisons with pykan.

The pykan metrics share pykan's penalty of ``V`` (entropies per row and per
column, normalized with ``+ 1``, ``log2`` with ``+ 1e-4``)::

    l1     = sum_ij V_ij
    P^o_ij = V_ij / (sum_i' V_i'j + 1)           per output j (pykan's "row")
    P^i_ij = V_ij / (sum_j' V_ij' + 1)           per input i  (pykan's "column")
    H^o    = - mean_j sum_i P^o_ij log2(P^o_ij + 1e-4)
    H^i    = - mean_i sum_j P^i_ij log2(P^i_ij + 1e-4)
    R      = lamb_l1 l1 + lamb_entropy (H^o + H^i)

Independently of the metric, two penalties on the coefficients (pykan's
``lamb_coef``, ``lamb_coefdiff``), with ``coef`` of shape ``(I, O, K)``::

    C1 = sum_{i, m} mean_j |coef[i, j, m]|
    C2 = sum_{i, m} mean_j |coef[i, j, m + 1] - coef[i, j, m]|

The model's regularizer is ``sum_l (R_l + lamb_coef C1_l + lamb_coefdiff C2_l)``,
multiplied by ``lamb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .regularization import l1_entropy

__all__ = ["METRICS", "DEFAULT_METRIC", "check_metric", "RegGrad", "std_and_backward",
           "pykan_penalty", "spline_n", "spline_u", "forward_sum", "coef_penalty",
           "layer_regularization", "apply_to_layer"]

#: the metric names ``reg_metric`` accepts
METRICS = ("paper", "edge_forward_spline_n", "edge_forward_spline_u", "edge_forward_sum")

#: the metric used when ``reg_metric`` is None (see the README's "Regularizer" section)
DEFAULT_METRIC = "paper"

_LN2 = float(np.log(2.0))
_EPS_LOG = 1e-4          # inside pykan's log2(p + 1e-4)
_EPS_STD = 0.1           # pykan's std(x) + 0.1


def check_metric(reg_metric):
    """``reg_metric`` as one of :data:`METRICS` (None: :data:`DEFAULT_METRIC`); ValueError otherwise."""
    if reg_metric is None:
        return DEFAULT_METRIC
    if not isinstance(reg_metric, str) or reg_metric not in METRICS:
        raise ValueError(f"reg_metric must be one of {list(METRICS)} (or None for "
                         f"{DEFAULT_METRIC!r}), got {reg_metric!r}")
    return reg_metric


@dataclass
class RegGrad:
    """The regularizer's gradient for one layer, in the pieces the layer can take.

    Attributes
    ----------
    A : ndarray, shape (B, I, O), or None
        ``dR/dA``: through the edge activations.
    spline_only : bool
        ``A`` is the gradient with respect to the spline edges' activations only
        (formula edges not included), as ``"edge_forward_spline_n"`` defines it.
    x : ndarray, shape (B, I), or None
        ``dR/dx`` through statistics of the layer's input itself (not through
        the activations): the ``std(x)`` of ``"edge_forward_spline_n"``.
    coef : ndarray, shape (I, O, K), or None
        ``dR/dcoef`` of the coefficient penalties.
    """

    A: np.ndarray | None = None
    spline_only: bool = False
    x: np.ndarray | None = None
    coef: np.ndarray | None = None

    def scaled(self, lamb):
        """All pieces multiplied by ``lamb``."""
        def s(a):
            return None if a is None else lamb * a
        return RegGrad(s(self.A), self.spline_only, s(self.x), s(self.coef))


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

def std_and_backward(a):
    """Unbiased standard deviation over axis 0 and what its backward needs.

    ``s = sqrt(sum_b (a_b - abar)^2 / (B - 1))``. Since ``sum_b (a_b - abar) = 0``,
    the mean's own dependence on ``a`` drops out of the derivative::

        ds/da_b = (a_b - abar) / ((B - 1) s)      (0 where s = 0: a subgradient)

    Parameters
    ----------
    a : ndarray, shape (B, ...)
        ``B >= 2``.

    Returns
    -------
    s : ndarray, shape a.shape[1:]
    back : callable
        ``back(ds)`` with ``ds`` of shape ``a.shape[1:]`` returns ``dL/da``, shape ``a.shape``.
    """
    B = a.shape[0]
    centred = a - a.mean(axis=0)                               # (B, ...)
    s = np.sqrt(np.einsum("b...,b...->...", centred, centred) / (B - 1))   # (...)

    def back(ds):
        scale = np.divide(ds, (B - 1) * s, out=np.zeros_like(s), where=s > 0)   # (...)
        return centred * scale                                 # (B, ...)

    return s, back


def _entropy_along(V, axis):
    """pykan's normalized entropy of ``V`` along ``axis``, averaged over the other axis, and ``dH/dV``.

    For each group ``v`` (a column for ``axis = 0``, a row for ``axis = 1``)::

        S = sum_k v_k + 1,   p_k = v_k / S,   h = - sum_k p_k log2(p_k + eps)
        g_k = dh/dp_k = - log2(p_k + eps) - p_k / ((p_k + eps) ln 2)
        dh/dv_m = sum_k g_k dp_k/dv_m = (g_m - sum_k p_k g_k) / S     (dp_k/dv_m = (delta_km - p_k) / S)

    and ``H = mean over groups of h``, so ``dH/dV = dh/dv / (number of groups)``.
    """
    S = V.sum(axis=axis, keepdims=True) + 1.0                  # (1, O) or (I, 1)
    P = V / S                                                  # (I, O)
    L = np.log2(P + _EPS_LOG)                                  # (I, O)
    n_groups = V.shape[1 - axis]
    H = float(-(P * L).sum()) / n_groups
    g = -L - P / ((P + _EPS_LOG) * _LN2)                       # (I, O) dh/dp
    dV = (g - (P * g).sum(axis=axis, keepdims=True)) / S / n_groups   # (I, O)
    return H, dV


def pykan_penalty(V, lamb_l1=1.0, lamb_entropy=2.0):
    """pykan's penalty of edge sizes ``V`` ``(I, O)`` and ``dR/dV`` (formulas in the module docstring).

    The two entropies: ``H^o`` over inputs for each output (axis 0; pykan's
    rows, since pykan stores ``V`` as ``(O, I)``) and ``H^i`` over outputs for
    each input (axis 1). A zero entry adds ``0 log2(1e-4) = 0``; its gradient is finite.

    Returns
    -------
    R : float
    dV : ndarray, shape (I, O)
    """
    Ho, dHo = _entropy_along(V, 0)
    Hi, dHi = _entropy_along(V, 1)
    R = lamb_l1 * float(V.sum()) + lamb_entropy * (Ho + Hi)
    dV = lamb_l1 + lamb_entropy * (dHo + dHi)                  # (I, O)
    return R, dV


# ---------------------------------------------------------------------------
# the metrics, one layer each
# ---------------------------------------------------------------------------

def _check_batch(A):
    if A.ndim != 3:
        raise ValueError(f"A must have shape (batch, in, out), got {A.shape}")
    if A.shape[0] < 2:
        raise ValueError(f"the std-based metrics need a batch of at least 2 samples, "
                         f"got {A.shape[0]}")


def spline_n(A_spline, x, lamb_l1=1.0, lamb_entropy=2.0):
    """``"edge_forward_spline_n"`` of one layer: value, ``dR/dA_spline`` and ``dR/dx``.

    ``V_ij = s_ij / (sx_i + 0.1)`` with ``s_ij = std_b A_spline[b, i, j]`` and
    ``sx_i = std_b x[b, i]``. With ``dV = dR/dV`` from :func:`pykan_penalty`::

        dR/ds_ij  = dV_ij / (sx_i + 0.1)
        dR/dsx_i  = - sum_j dV_ij s_ij / (sx_i + 0.1)^2
        dR/dA_spline[b, i, j] = dR/ds_ij (A[b, i, j] - mean_b A) / ((B - 1) s_ij)
        dR/dx[b, i]           = dR/dsx_i (x[b, i] - mean_b x) / ((B - 1) sx_i)

    Parameters
    ----------
    A_spline : ndarray, shape (B, I, O)
    x : ndarray, shape (B, I)
        The layer's input.

    Returns
    -------
    R : float
    dA : ndarray, shape (B, I, O)
    dx : ndarray, shape (B, I)
    """
    _check_batch(A_spline)
    s, back_s = std_and_backward(A_spline)                     # (I, O)
    sx, back_x = std_and_backward(x)                           # (I,)
    den = sx + _EPS_STD                                        # (I,)
    V = s / den[:, None]                                       # (I, O)
    R, dV = pykan_penalty(V, lamb_l1, lamb_entropy)
    ds = dV / den[:, None]                                     # (I, O)
    dsx = -(dV * s).sum(axis=1) / den ** 2                     # (I,)
    return R, back_s(ds), back_x(dsx)


def spline_u(A, lamb_l1=1.0, lamb_entropy=2.0):
    """``"edge_forward_spline_u"`` of one layer: ``V_ij = std_b A[b, i, j]``; value and ``dR/dA``.

    ``dR/dA[b, i, j] = dV_ij (A[b, i, j] - mean_b A) / ((B - 1) V_ij)``.
    """
    _check_batch(A)
    V, back = std_and_backward(A)                              # (I, O)
    R, dV = pykan_penalty(V, lamb_l1, lamb_entropy)
    return R, back(dV)


def forward_sum(A, x, lamb_l1=1.0, lamb_entropy=2.0):
    """``"edge_forward_sum"``: the value of ``spline_n`` on the whole edge ``A``; no gradient (pykan detaches it)."""
    _check_batch(A)
    s, _ = std_and_backward(A)
    sx, _ = std_and_backward(x)
    R, _ = pykan_penalty(s / (sx + _EPS_STD)[:, None], lamb_l1, lamb_entropy)
    return R


def coef_penalty(coef, lamb_coef=0.0, lamb_coefdiff=0.0):
    """``lamb_coef C1 + lamb_coefdiff C2`` of one layer's ``coef`` ``(I, O, K)`` and its gradient.

    With ``D[i, j, m] = coef[i, j, m + 1] - coef[i, j, m]`` ``(I, O, K - 1)``::

        C1 = sum |coef| / O                 dC1/dcoef = sign(coef) / O
        C2 = sum |D| / O                    dC2/dcoef[..., m] = (sign D[..., m - 1] - sign D[..., m]) / O

    (``sign(0) = 0``, the subgradient torch uses too; terms with ``m - 1 < 0`` or
    ``m > K - 2`` are absent). Returns ``(value, dcoef)``; ``dcoef`` is None when
    both weights are 0.
    """
    if not (lamb_coef or lamb_coefdiff):
        return 0.0, None
    O = coef.shape[1]
    value = 0.0
    g = np.zeros_like(coef)                                    # (I, O, K)
    if lamb_coef:
        value += lamb_coef * float(np.abs(coef).sum()) / O
        g += (lamb_coef / O) * np.sign(coef)
    if lamb_coefdiff:
        D = np.diff(coef, axis=2)                              # (I, O, K - 1)
        value += lamb_coefdiff * float(np.abs(D).sum()) / O
        sD = (lamb_coefdiff / O) * np.sign(D)                  # (I, O, K - 1)
        g[:, :, 1:] += sD
        g[:, :, :-1] -= sD
    return value, g


# ---------------------------------------------------------------------------
# one layer of a model
# ---------------------------------------------------------------------------

def layer_regularization(layer, reg_metric, lamb_l1=1.0, lamb_entropy=2.0, lamb_coef=0.0,
                         lamb_coefdiff=0.0):
    """Regularizer of one :class:`~numpykan.KANLayer` from its last forward pass.

    Parameters
    ----------
    layer : KANLayer
        With the cache of a forward pass (``forward(x)``; ``layer(x)`` keeps none).
    reg_metric : str
        One of :data:`METRICS` (checked by :func:`check_metric`).
    lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff : float

    Returns
    -------
    R : float
    grad : RegGrad
        For :func:`apply_to_layer`.
    """
    if reg_metric == "paper":
        R, dA = l1_entropy(layer.activations(), lamb_l1, lamb_entropy)
        grad = RegGrad(A=dA)
    elif reg_metric == "edge_forward_spline_n":
        R, dA, dx = spline_n(layer.activations(symbolic=False), layer.cache["x"], lamb_l1,
                             lamb_entropy)
        grad = RegGrad(A=dA, spline_only=True, x=dx)
    elif reg_metric == "edge_forward_spline_u":
        R, dA = spline_u(layer.activations(), lamb_l1, lamb_entropy)
        grad = RegGrad(A=dA)
    elif reg_metric == "edge_forward_sum":
        R = forward_sum(layer.activations(), layer.cache["x"], lamb_l1, lamb_entropy)
        grad = RegGrad()
    else:
        raise ValueError(f"reg_metric must be one of {list(METRICS)}, got {reg_metric!r}")
    C, dcoef = coef_penalty(layer.coef, lamb_coef, lamb_coefdiff)
    grad.coef = dcoef
    return R + C, grad


def apply_to_layer(layer, grad, input_grad=True):
    """Add a :class:`RegGrad` (or a plain ``dR/dA`` array) to ``layer.grads``; return its ``dR/dx`` share.

    This is the regularizer's half of the model's backward pass: the share
    through the activations (:meth:`KANLayer.backward_activations`), the share
    through the input's own statistics (``grad.x``) and the coefficients' share
    (``grad.coef``, straight into ``grads["coef"]``). Returns None when
    ``input_grad`` is False or nothing reaches ``x``.
    """
    if isinstance(grad, np.ndarray):
        return layer.backward_activations(grad, input_grad)
    dx = None
    if grad.A is not None:
        dx = layer.backward_activations(grad.A, input_grad, symbolic=not grad.spline_only)
    if grad.coef is not None and layer.grads.get("coef") is not None:
        layer.grads["coef"] = layer.grads["coef"] + grad.coef.astype(layer.dtype, copy=False)
    if input_grad and grad.x is not None:
        gx = grad.x.astype(layer.dtype, copy=False)
        dx = gx if dx is None else dx + gx
    return dx if input_grad else None
