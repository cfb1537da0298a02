"""Tests of numpykan.splines.banded: the banded normal equations against dense least squares."""

import numpy as np
import pytest

import numpykan as nk
from numpykan import bspline
from numpykan.splines import banded


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("G", [1, 4, 13])
def test_fit_equals_dense_least_squares(k, G):
    t = bspline.uniform_grid(G, k, (0.0, 1.0))
    u = np.linspace(0.0, 1.0, 20 * (G + k))
    y = np.random.default_rng(G + k).standard_normal((u.size, 3))
    [(key, c)] = banded.fit_shared_points(u, t, k, lambda: [("all", y)])
    B = bspline.basis(u[:, None], t[None, :], k)[:, 0, :]              # (n, K) dense
    want = np.linalg.lstsq(B, y, rcond=None)[0]                         # (K, 3)
    assert key == "all"
    np.testing.assert_allclose(c, want, rtol=0, atol=1e-10 * np.abs(want).max())


def test_cholesky_factor_reproduces_the_band():
    t = bspline.uniform_grid(6, 3, (0.0, 1.0))
    u = np.linspace(0.0, 1.0, 90)
    B = bspline.basis(u[:, None], t[None, :], 3)[:, 0, :]
    A = B.T @ B
    lb = bspline.local_basis(u[:, None], t[None, :], 3)
    band = banded.band_gram(lb.values[:, :, 0], lb.start[:, 0].astype(np.intp), A.shape[0])
    L_band = banded.band_cholesky(band)
    K = A.shape[0]
    L = np.zeros((K, K))
    for m in range(K):
        for d in range(4):
            if m - d >= 0:
                L[m, m - d] = L_band[m, d]
    np.testing.assert_allclose(L @ L.T, A, rtol=0, atol=1e-12 * np.abs(A).max())


def test_cholesky_refuses_a_basis_without_samples():
    t = bspline.uniform_grid(6, 3, (0.0, 1.0))
    u = np.linspace(0.0, 0.4, 50)                                      # right half: no samples
    lb = bspline.local_basis(u[:, None], t[None, :], 3)
    band = banded.band_gram(lb.values[:, :, 0], lb.start[:, 0].astype(np.intp), 9)
    with pytest.raises(ValueError, match="not positive definite"):
        banded.band_cholesky(band)


def test_refine_without_samples_matches_the_dense_fit():
    """resized() solves the same least squares the pseudo-inverse solved, at O(K) cost."""
    model = nk.KAN([3, 2, 2], grid=5, k=3, seed=0)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.params["coef"] += rng.standard_normal(layer.coef.shape)
        layer.grid = layer.grid * rng.uniform(0.5, 2.0, (layer.in_dim, 1))   # other intervals
    for G2 in (7, 10):
        fine = model.refine(G2)
        for old, new in zip(model.layers, fine.layers):
            lo, hi = old.grid[:, 3], old.grid[:, -4]
            x = lo + np.linspace(0, 1, 20 * (G2 + 3))[:, None] * (hi - lo)
            want = bspline.fit_coef(x, bspline.evaluate(x, old.grid, old.coef, 3), new.grid, 3)
            np.testing.assert_allclose(new.coef, want, rtol=0, atol=1e-9 * np.abs(want).max())


def test_refine_nested_grids_is_exact():
    model = nk.KAN([2, 3, 1], grid=4, k=3, seed=0)
    for layer in model.layers:
        layer.params["coef"] += np.random.default_rng(1).standard_normal(layer.coef.shape)
    fine = model.refine(12)                                           # every old knot is a new knot
    for old, new in zip(model.layers, fine.layers):                   # on the base interval
        x = np.random.default_rng(2).uniform(-1, 1, (200, old.in_dim))
        np.testing.assert_allclose(new.spline_values(x), old.spline_values(x), rtol=0, atol=1e-12)
