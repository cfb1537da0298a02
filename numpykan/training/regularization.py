"""L1 and entropy regularization of edge activations, value and gradient.

For one layer with activations ``A[b, i, j] = phi_ij(x[b, i])`` (shape ``(B, I, O)``)::

    n_ij  = |phi_ij|_1 = mean_b |A[b, i, j]|          edge "size"
    N     = |Phi|_1    = sum_ij n_ij
    p_ij  = n_ij / N
    S     = - sum_ij p_ij log p_ij                    (0 log 0 = 0)
    R     = lamb_l1 * N + lamb_entropy * S

and the model adds ``lamb * sum_layers R`` to the prediction loss. The L1 term
shrinks every edge; the entropy term, being smallest when a few edges carry all
the size, pushes the network towards few active edges (the KAN paper's
sparsification).

How this differs from other implementations
-------------------------------------------
- This module follows the KAN paper literally: ``n_ij`` is the mean absolute
  activation. pykan's current default (``reg_metric="edge_forward_spline_n"``)
  instead uses ``std_b(spline part of phi_ij) / std_b(x_i)``, an output-to-input
  scale ratio that is invariant to rescaling the input, and computes the entropy
  with ``log2`` and ``p + 1e-4`` inside the logarithm.
- efficient-kan regularizes the *weights* (mean absolute spline coefficient per
  edge) rather than the activations, which is cheaper but does not see the
  data; it is a stand-in, not the paper's quantity.
"""

from __future__ import annotations

import numpy as np

__all__ = ["edge_norms", "l1_entropy"]


def edge_norms(A):
    """``n_ij = mean_b |A[b, i, j]|`` for activations ``A`` of shape ``(B, I, O)`` -> ``(I, O)``."""
    return np.abs(A).mean(axis=0)


def l1_entropy(A, lamb_l1=1.0, lamb_entropy=2.0):
    """Regularizer ``R = lamb_l1 |Phi|_1 + lamb_entropy S(Phi)`` of one layer and ``dR/dA``.

    Parameters
    ----------
    A : ndarray, shape (B, I, O)
        Edge activations of one layer.
    lamb_l1, lamb_entropy : float
        Weights of the two terms.

    Returns
    -------
    R : float
    dA : ndarray, shape (B, I, O)
        ``dR/dA``.

    Notes
    -----
    Derivation, with ``n``, ``N``, ``p``, ``S`` as in the module docstring::

        dN/dn_ij = 1
        dS/dn_ij = sum_kl -(log p_kl + 1) dp_kl/dn_ij,   dp_kl/dn_ij = (delta - p_kl) / N
                 = (-log p_ij - S) / N                   (the "+1" terms cancel)
        dR/dn_ij = lamb_l1 + lamb_entropy (-log p_ij - S) / N
        dR/dA[b, i, j] = dR/dn_ij * sign(A[b, i, j]) / B

    ``|a|`` has a kink at 0, where ``sign(0) = 0`` is used (a subgradient).
    An edge with ``n_ij = 0`` (all its activations are 0, e.g. a pruned edge)
    has ``sign(A) = 0`` everywhere, so its gradient is 0 and the ``-log 0``
    is never evaluated; if every edge is 0, ``S = 0`` and the gradient is 0.
    No epsilon is added anywhere, so the value is exactly the formula.
    """
    A = np.asarray(A)
    if A.ndim != 3:
        raise ValueError(f"A must have shape (batch, in, out), got {A.shape}")
    B = A.shape[0]
    n = edge_norms(A)                                          # (I, O)
    N = float(n.sum())
    live = n > 0                                               # (I, O)
    if N > 0:
        p = np.where(live, n / N, 1.0)                         # (I, O); 1 where dead so log p = 0
        logp = np.log(p)                                       # (I, O)
        S = float(-(p[live] * logp[live]).sum())
        dn = lamb_l1 + lamb_entropy * (-logp - S) / N          # (I, O)
        dn = np.where(live, dn, 0.0)
    else:
        S = 0.0
        dn = np.zeros_like(n)
    R = lamb_l1 * N + lamb_entropy * S
    dA = (dn / B).astype(A.dtype)[None] * np.sign(A)           # (B, I, O)
    return R, dA
