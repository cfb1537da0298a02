"""Least-squares spline fits through the banded normal equations: cost linear in ``G``.

:func:`numpykan.bspline.fit_coef` solves ``min_c |B c - y|`` with a dense
pseudo-inverse of the ``(n, K)`` basis matrix ``B``: robust to samples that
leave bases untouched, but ``O(n K^2)`` work and ``n K`` memory, which for a
refinement to ``G' = 1000`` on ``n = 20 (G' + k)`` points is minutes and
gigabytes. Each row of ``B`` has only ``k + 1`` non-zero entries (the live
bases), so the Gram matrix ``A = B^T B`` is banded::

    A[m, m + d] = sum_b B_m(x_b) B_{m+d}(x_b),   d = 0 .. k   (zero for d > k)

and the normal equations ``A c = B^T y`` are solved by a banded Cholesky
factorization ``A = L L^T`` (``L`` lower triangular with ``k`` sub-diagonals)::

    L[m, j] = (A[j, m] - sum_{q < j, m - q <= k} L[m, q] L[j, q]) / L[j, j],   m - k <= j < m
    L[m, m] = sqrt(A[m, m] - sum_{m - k <= q < m} L[m, q]^2)

then ``L z = B^T y`` forward and ``L^T c = z`` backward, ``O(K k^2)`` in all.
The normal equations need ``A`` positive definite, i.e. every basis touched
by enough samples (the Schoenberg-Whitney condition); that holds for the
evenly spread points of a sample-free refinement, which is what this module
is for. They square the condition number of ``B``, which for B-splines of
degree ``k`` on a uniform grid is bounded independently of ``G`` (it grows
with ``k`` only), so float64 keeps about 1e-12 relative accuracy at ``k = 3``.

Glossary: ``n`` points, ``K = G + k`` bases, ``C`` right-hand-side columns.
"""

from __future__ import annotations

import math

import numpy as np

from .livebasis import local_basis

__all__ = ["band_gram", "band_cholesky", "band_solve", "fit_shared_points"]


def band_gram(values, start, K):
    """Band of ``A = B^T B``: ``A_band[m, d] = A[m, m + d]``, shape ``(K, k + 1)``.

    Parameters
    ----------
    values : ndarray, shape (k + 1, n)
        Live basis values of each point (``values[r] = B_{start + r}(x)``).
    start : ndarray of int, shape (n,)
        First live basis of each point.
    K : int
        Number of bases.
    """
    k1 = values.shape[0]
    band = np.zeros((K, k1))                                       # (K, k + 1)
    for r in range(k1):
        for d in range(k1 - r):                                    # B_{s+r} B_{s+r+d}
            band[:, d] += np.bincount(start + r, weights=values[r] * values[r + d], minlength=K)[:K]
    return band


def band_cholesky(band):
    """Lower factor ``L`` of the banded SPD ``A`` as ``L_band[m, d] = L[m, m - d]``, shape ``(K, k + 1)``.

    Raises
    ------
    ValueError
        If ``A`` is not positive definite (a basis without samples).
    """
    K, k1 = band.shape
    L = np.zeros_like(band)                                        # (K, k + 1)
    for m in range(K):
        for d in range(min(m, k1 - 1), 0, -1):                     # j = m - d, oldest first
            j = m - d
            s = band[j, d]                                         # A[j, m]
            for q in range(d + 1, min(m, k1 - 1) + 1):             # offsets of columns < j in both rows
                s -= L[m, q] * L[j, q - d]
            L[m, d] = s / L[j, 0]
        s = band[m, 0] - float(np.dot(L[m, 1:], L[m, 1:]))
        if not s > 0:
            raise ValueError(f"the normal equations are not positive definite at basis {m} "
                             "(a basis without samples); use bspline.fit_coef")
        L[m, 0] = math.sqrt(s)
    return L


def band_solve(L, rhs):
    """Solve ``L L^T c = rhs`` for ``rhs`` ``(K, C)`` with the factor of :func:`band_cholesky` -> ``(K, C)``."""
    K, k1 = L.shape
    z = np.array(rhs, dtype=np.float64)                            # (K, C)
    for m in range(K):                                             # L z = rhs
        for d in range(1, min(m, k1 - 1) + 1):
            z[m] -= L[m, d] * z[m - d]
        z[m] /= L[m, 0]
    for m in range(K - 1, -1, -1):                                 # L^T c = z
        for d in range(1, min(K - 1 - m, k1 - 1) + 1):
            z[m] -= L[m + d, d] * z[m + d]
        z[m] /= L[m, 0]
    return z


def fit_shared_points(u, knots, k, values_at):
    """Least-squares coefficients of many splines that share points and knots (in relative units).

    Fits ``sum_m c[m, col] B_m(u_b; knots, k)`` to ``y[b, col]`` for every
    column, where the columns come in blocks from ``values_at`` (to bound
    memory). A sample-free refinement of a layer is such a fit: each input's
    points and new knots are the same affine image of ``u`` and ``knots``, and
    B-splines are invariant under an affine map of points and knots together.

    Parameters
    ----------
    u : ndarray, shape (n,)
        The points, inside the base interval of ``knots``.
    knots : ndarray, shape (G + 2k + 1,)
    k : int
    values_at : callable
        ``values_at() -> iterable of (key, y)`` with ``y`` of shape ``(n, C)``.

    Returns
    -------
    list of (key, ndarray of shape (K, C))
        The coefficients per block, ``K = G + k``.
    """
    lb = local_basis(u[:, None], knots[None, :], k)                # one row of bases at u
    V, S = lb.values[:, :, 0].astype(np.float64), lb.start[:, 0].astype(np.intp)   # (k+1, n), (n,)
    K = lb.K
    L = band_cholesky(band_gram(V, S, K))                          # (K, k + 1)
    out = []
    for key, y in values_at():
        rhs = np.zeros((K, y.shape[1]))                            # (K, C): B^T y
        for r in range(V.shape[0]):
            np.add.at(rhs, S + r, V[r][:, None] * y)               # (n, C) into rows start + r
        out.append((key, band_solve(L, rhs)))
    return out
