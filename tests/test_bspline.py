"""Tests of numpykan.bspline against a naive recursive Cox-de Boor oracle, and its properties.

The oracle ``_naive_B`` below is the textbook recursion, one basis at one
scalar point, exactly as DESIGN.md states it (and as scipy's own tests keep
it). Everything the package computes vectorized is compared with it.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpykan import bspline
from numpykan.bspline import (basis, basis_derivative, basis_reference, evaluate, fit_coef,
                              uniform_grid)
from strategies import (degrees, grid_and_points, intervals, knot_grid,
                        points_between_knots, small_dims)

# ---------------------------------------------------------------------------
# the oracle
# ---------------------------------------------------------------------------


def _naive_B(m, p, t, x):
    """``B_{m,p}(x)`` on knots ``t`` by the Cox-de Boor recursion (scalar, slow, obvious)."""
    if p == 0:
        return 1.0 if t[m] <= x < t[m + 1] else 0.0
    left = (x - t[m]) / (t[m + p] - t[m]) * _naive_B(m, p - 1, t, x)
    right = (t[m + p + 1] - x) / (t[m + p + 1] - t[m + 1]) * _naive_B(m + 1, p - 1, t, x)
    return left + right


def _naive_dB(m, p, t, x):
    """``B'_{m,p}(x) = p [B_{m,p-1}/(t_{m+p} - t_m) - B_{m+1,p-1}/(t_{m+p+1} - t_{m+1})]``."""
    if p == 0:
        return 0.0
    return p * (_naive_B(m, p - 1, t, x) / (t[m + p] - t[m])
                - _naive_B(m + 1, p - 1, t, x) / (t[m + p + 1] - t[m + 1]))


def _naive(x, grid, k, fn=_naive_B):
    """Dense ``(B, I, K)`` array of ``fn(m, k, grid[i], x[b, i])``."""
    B, I = x.shape
    K = grid.shape[1] - k - 1
    out = np.zeros((B, I, K))
    for b in range(B):
        for i in range(I):
            for m in range(K):
                out[b, i, m] = fn(m, k, grid[i], float(x[b, i]))
    return out


def _deriv_tol(expected):
    """Round-off of a derivative is relative to its size (up to ``k / h_min``), so scale 1e-12."""
    return 1e-12 * max(1.0, float(np.max(np.abs(expected))))


EVALUATORS = [basis, basis_reference]

# ---------------------------------------------------------------------------
# against the oracle
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=["basis", "basis_reference"])
@pytest.mark.parametrize("where", ["between", "on", "outside", "mixed"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_values_match_naive_oracle(evaluator, where, uniform, data):
    k, grid, x = data.draw(grid_and_points(where=where, uniform=uniform))
    got = evaluator(x, grid, k)
    want = _naive(x, grid, k)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("where", ["between", "on", "outside", "mixed"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_derivative_matches_naive_oracle(where, uniform, data):
    k, grid, x = data.draw(grid_and_points(where=where, uniform=uniform))
    got = basis_derivative(x, grid, k)
    want = _naive(x, grid, k, _naive_dB)
    np.testing.assert_allclose(got, want, rtol=0, atol=_deriv_tol(want))


@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
def test_every_knot_every_degree(k, uniform):
    """Deterministic sweep: each knot, the midpoints, and points beyond both ends."""
    G = 4
    if uniform:
        t = uniform_grid(G, k, (-1.0, 1.0))
    else:
        t = np.cumsum(np.r_[-1.3, np.random.default_rng(k).uniform(0.2, 1.0, G + 2 * k)])
    x = np.r_[t, 0.5 * (t[1:] + t[:-1]), t[0] - 0.1, t[-1] + 0.1, t[-1] + 1e-9][:, None]
    grid = t[None, :]
    want = _naive(x, grid, k)
    for evaluator in EVALUATORS:
        np.testing.assert_allclose(evaluator(x, grid, k), want, rtol=0, atol=1e-12)
    dwant = _naive(x, grid, k, _naive_dB)
    np.testing.assert_allclose(basis_derivative(x, grid, k), dwant, rtol=0, atol=_deriv_tol(dwant))


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
def test_degree_zero_is_right_continuous(uniform):
    """``B_{m,0}(t_m) = 1`` and ``B_{m-1,0}(t_m) = 0``: the indicator of ``[t_m, t_{m+1})``."""
    t = uniform_grid(5, 0) if uniform else np.array([-1.0, -0.7, -0.1, 0.2, 0.9, 1.0])
    x = t[:-1, None]                                           # every knot but the last
    for evaluator in EVALUATORS:
        np.testing.assert_array_equal(evaluator(x, t[None], 0)[:, 0, :], np.eye(len(t) - 1))
    np.testing.assert_array_equal(basis(t[-1:, None], t[None], 0), 0.0)


@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
def test_zero_below_first_and_from_last_knot(k, uniform):
    t = uniform_grid(3, k) if uniform else np.cumsum(np.r_[-2.0, np.linspace(0.3, 0.9, 3 + 2 * k)])
    beyond = np.array([[t[0] - 5.0], [np.nextafter(t[0], -np.inf)], [t[-1] + 1e-12], [1e6]])
    at_last = np.array([[t[-1]]])
    for fn in (basis, basis_reference, basis_derivative):
        np.testing.assert_array_equal(fn(beyond, t[None], k), 0.0)
        # exactly on the last knot the uniform fast path may evaluate the last piece at its
        # right end (documented: an off-by-one span at a knot for k >= 2), i.e. 0 up to round-off
        # (relative to 1 for values, to k / h <= 5 for derivatives)
        np.testing.assert_allclose(fn(at_last, t[None], k), 0.0, rtol=0, atol=1e-14)


def test_docstring_example():
    np.testing.assert_allclose(basis(np.array([[0.5]]), uniform_grid(2, 1), 1),
                               [[[0.0, 0.5, 0.5]]], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


@st.composite
def _base_interval_points(draw, uniform=None):
    """``(k, G, grid (I, n), x (B, I))`` with ``x`` in the base interval ``[t_k, t_{G+k})``."""
    k, G, I = draw(degrees), draw(intervals), draw(small_dims)
    grid = draw(knot_grid(I, G, k, uniform))
    B = draw(st.integers(1, 6))
    cols = []
    for i in range(I):
        t = grid[i]
        between = draw(points_between_knots(t, B, lo=k, hi=G + k))
        on = t[np.array(draw(st.lists(st.integers(k, G + k - 1), min_size=B, max_size=B)))]
        use_on = np.array(draw(st.lists(st.booleans(), min_size=B, max_size=B)))
        cols.append(np.where(use_on, on, between))
    return k, G, grid, np.stack(cols, axis=1)


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_partition_of_unity_on_base_interval(uniform, data):
    k, G, grid, x = data.draw(_base_interval_points(uniform))
    for evaluator in EVALUATORS:
        np.testing.assert_allclose(evaluator(x, grid, k).sum(axis=2), 1.0, rtol=0, atol=1e-12)
    # and the derivatives of a partition of unity sum to 0
    d = basis_derivative(x, grid, k)
    assert np.all(np.abs(d.sum(axis=2)) <= _deriv_tol(d))


@given(data=st.data())
def test_nonnegative_local_and_zero_outside(data):
    k, grid, x = data.draw(grid_and_points(where="mixed"))
    for evaluator in EVALUATORS:
        Bx = evaluator(x, grid, k)
        assert np.all(Bx >= 0.0)
        assert np.all(np.count_nonzero(Bx, axis=2) <= k + 1)
        outside = (x < grid[:, 0]) | (x > grid[:, -1])         # (B, I)
        assert np.all(Bx[outside] == 0.0)
        assert np.all(Bx[x == grid[:, -1]] <= 1e-15)           # round-off, see above
    assert np.all(np.count_nonzero(basis_derivative(x, grid, k), axis=2) <= k + 1)


@given(k=st.integers(1, 5), G=intervals, t=st.data())
def test_continuity_at_interior_knots(k, G, t):
    """A degree-k B-spline is C^(k-1) at simple knots: values agree from both sides.

    Mean value theorem: ``|B(t) - B(t - d)| <= d max |B'|`` with ``max |B'| <= 2k / h_min``
    (each term of the derivative formula is at most ``k / h``); the same bound with
    ``max |B''| <= 4 k (k - 1) / h_min^2`` holds for ``B'`` when ``k >= 2``.
    """
    grid = t.draw(knot_grid(1, G, k))
    knots = grid[0, 1:-1]                                      # interior knots
    scale = float(np.max(np.abs(grid)))
    d = 1e-12 * scale
    h_min = float(np.min(np.diff(grid)))
    right = basis(knots[:, None], grid, k)
    left = basis((knots - d)[:, None], grid, k)
    assert np.max(np.abs(right - left)) <= 2 * k / h_min * d + 1e-13
    if k >= 2:
        dright = basis_derivative(knots[:, None], grid, k)
        dleft = basis_derivative((knots - d)[:, None], grid, k)
        bound = 4 * k * (k - 1) / h_min ** 2 * d + 1e-12 * max(1.0, np.max(np.abs(dright)))
        assert np.max(np.abs(dright - dleft)) <= bound


def _fit_samples(grid, k, G, per_interval=8):
    """Points spread over every interval of the base interval of each row -> ``(B, I)``."""
    u = (np.arange(per_interval) + 0.5) / per_interval          # (p,)
    cols = []
    for t in grid:
        a, b = t[k:G + k], t[k + 1:G + k + 1]                    # (G,), (G,)
        cols.append((a[:, None] + u[None, :] * (b - a)[:, None]).ravel())
    return np.stack(cols, axis=1)                              # (G * p, I)


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_fit_reproduces_polynomials_of_degree_at_most_k(uniform, data):
    k, G, grid, x_check = data.draw(_base_interval_points(uniform))
    I = grid.shape[0]
    deg = data.draw(st.integers(0, k))
    c = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=(deg + 1) * I,
                                    max_size=(deg + 1) * I))).reshape(I, deg + 1)
    lo, hi = grid[:, k], grid[:, G + k]                        # (I,)

    def poly(x):                                               # (B, I) -> (B, I)
        s = (2 * x - (lo + hi)) / (hi - lo)                    # in [-1, 1] on the base interval
        return sum(c[:, p] * s ** p for p in range(deg + 1))

    xs = _fit_samples(grid, k, G)
    coef = fit_coef(xs, poly(xs)[:, :, None], grid, k)         # (I, 1, K)
    assert coef.shape == (I, 1, G + k)
    got = evaluate(x_check, grid, coef, k)[:, :, 0]            # (B, I)
    np.testing.assert_allclose(got, poly(x_check), rtol=0, atol=1e-9)


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_fit_recovers_spline_coefficients(uniform, data):
    k, G, I = data.draw(degrees), data.draw(intervals), data.draw(small_dims)
    O = data.draw(st.integers(1, 3))
    grid = data.draw(knot_grid(I, G, k, uniform))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    coef = np.random.default_rng(seed).uniform(-1, 1, (I, O, G + k))
    xs = _fit_samples(grid, k, G)
    y = evaluate(xs, grid, coef, k)                            # (B, I, O)
    fitted = fit_coef(xs, y, grid, k)
    # The least-squares round-off bound: |dc| <~ cond(B) eps |c| (the collocation
    # matrix is ill-conditioned when the base interval is short next to its
    # neighbours: the outer bases barely reach it), and the samples are reproduced
    # to the same bound since |B| <= 1 (partition of unity).
    Bx = basis(xs, grid, k)                                    # (S, I, K)
    cond = np.array([np.linalg.cond(Bx[:, i, :]) for i in range(I)])   # (I,)
    tol = np.maximum(1e-12, 10 * cond * np.finfo(float).eps)[:, None, None]
    # the fitted spline reproduces the samples ...
    assert np.all(np.abs(evaluate(xs, grid, fitted, k) - y) <= tol.transpose(1, 0, 2))
    # ... and the coefficients are recovered
    assert np.all(np.abs(fitted - coef) <= tol), (np.abs(fitted - coef).max(), cond)
    # the 2-D form for O = 1
    assert np.all(np.abs(fit_coef(xs, y[:, :, 0], grid, k) - coef[:, 0, :]) <= tol[:, 0])


@pytest.mark.parametrize("B,I,G,k", [(1, 1, 1, 0), (7, 3, 5, 3), (4, 2, 1, 5), (10, 4, 8, 2),
                                     (3, 5, 2, 1)])
def test_shape_contract(B, I, G, k):
    rng = np.random.default_rng(0)
    t = uniform_grid(G, k)
    grid = np.tile(t, (I, 1))                                  # (I, G + 2k + 1)
    x = rng.uniform(-1.2, 1.2, (B, I))
    for fn in (basis, basis_derivative, basis_reference):
        out = fn(x, grid, k)
        assert out.shape == (B, I, G + k)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(fn(x, t, k), out)          # a 1-D grid is shared
    coef = rng.normal(size=(I, 2, G + k))
    assert evaluate(x, grid, coef, k).shape == (B, I, 2)
    lb = bspline.local_basis(x, grid, k, derivative=True)
    assert lb.values.shape == lb.derivs.shape == lb.index.shape == (k + 1, B, I)
    assert lb.K == G + k


def test_float32_in_float32_out():
    x = np.linspace(-0.9, 0.9, 12, dtype=np.float32).reshape(6, 2)
    grid = np.tile(uniform_grid(5, 3), (2, 1)).astype(np.float32)
    assert basis(x, grid, 3).dtype == np.float32
    assert basis_derivative(x, grid, 3).dtype == np.float32
    np.testing.assert_allclose(basis(x, grid, 3), basis(x.astype(np.float64), grid.astype(np.float64), 3),
                               rtol=0, atol=1e-6)


@given(G=intervals, k=degrees, lo=st.floats(-10, 10), width=st.floats(0.01, 20))
def test_uniform_grid_values_and_length(G, k, lo, width):
    hi = lo + width
    t = uniform_grid(G, k, (lo, hi))
    assert t.shape == (G + 2 * k + 1,)
    h = (hi - lo) / G
    np.testing.assert_allclose(t, lo + (np.arange(G + 2 * k + 1) - k) * h,
                               rtol=0, atol=1e-13 * max(1.0, abs(lo), abs(hi)))
    assert t[k] == lo
    assert abs(t[k + G] - hi) <= 4 * np.spacing(max(abs(hi), abs(lo)))
    assert np.all(np.diff(t) > 0)


def test_uniform_grid_default_and_dtype():
    np.testing.assert_array_equal(uniform_grid(2, 1), [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert uniform_grid(4, 3, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_derivative_against_central_differences(uniform, data):
    k, grid, x = data.draw(grid_and_points(where="between", uniform=uniform))
    h_min = float(np.min(np.diff(grid)))
    d = 1e-6 * h_min                                            # the points are >= 0.05 h from knots
    fd = (basis(x + d, grid, k) - basis(x - d, grid, k)) / (2 * d)
    an = basis_derivative(x, grid, k)
    scale = np.maximum(np.abs(an).max(axis=2, keepdims=True), 1e-300)  # per point
    assert np.all(np.abs(fd - an) <= 1e-6 * scale + 1e-12)


@pytest.mark.parametrize("where", ["between", "on", "mixed"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_fast_path_matches_reference(where, uniform, data):
    k, grid, x = data.draw(grid_and_points(where=where, uniform=uniform,
                                           batch=data.draw(st.integers(1, 40))))
    np.testing.assert_allclose(basis(x, grid, k), basis_reference(x, grid, k), rtol=0, atol=1e-12)


def test_fast_path_matches_reference_large_batch():
    """Many points (on knots too) through every code path of the live-basis evaluator."""
    rng = np.random.default_rng(1)
    for k in range(6):
        for grid in (np.tile(uniform_grid(7, k, (-0.7, 1.3)), (3, 1)),
                     np.cumsum(rng.uniform(0.05, 1.0, (3, 7 + 2 * k + 1)), axis=1) - 3.0):
            x = rng.uniform(grid[:, 0] - 0.5, grid[:, -1] + 0.5, (400, 3))
            x[::4] = grid[np.arange(3), rng.integers(0, grid.shape[1], (100, 3))]
            np.testing.assert_allclose(basis(x, grid, k), basis_reference(x, grid, k),
                                       rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

_X = np.zeros((3, 2))
_GRID = np.tile(uniform_grid(4, 2), (2, 1))


@pytest.mark.parametrize("fn", [basis, basis_derivative, basis_reference])
class TestValidation:
    def test_negative_degree(self, fn):
        with pytest.raises(ValueError, match=r"\bk\b.*>= 0"):
            fn(_X, _GRID, -1)

    def test_non_int_degree(self, fn):
        with pytest.raises(TypeError, match=r"\bk\b"):
            fn(_X, _GRID, 2.0)

    def test_too_few_knots(self, fn):                          # G < 1
        with pytest.raises(ValueError, match="grid"):
            fn(_X, _GRID[:, :5], 2)

    def test_non_increasing_grid(self, fn):
        g = _GRID.copy()
        g[1, 3] = g[1, 2]
        with pytest.raises(ValueError, match="grid.*increasing"):
            fn(_X, g, 2)
        g[1, 3] = g[1, 2] - 0.1
        with pytest.raises(ValueError, match="grid.*increasing"):
            fn(_X, g, 2)

    def test_nan_grid(self, fn):
        g = _GRID.copy()
        g[0, 4] = np.nan
        with pytest.raises(ValueError, match="grid.*NaN"):
            fn(_X, g, 2)

    def test_x_not_2d(self, fn):
        with pytest.raises(ValueError, match=r"\bx\b.*2-D"):
            fn(np.zeros(2), _GRID, 2)
        with pytest.raises(ValueError, match=r"\bx\b.*2-D"):
            fn(np.zeros((1, 3, 2)), _GRID, 2)

    def test_wrong_width(self, fn):
        # x (3, 3) against a grid for 2 inputs: the message names the mismatched argument
        # and shows both the expected and the actual shape
        with pytest.raises(ValueError, match=r"(grid|x) must have .*3.*\(2, 9\)"):
            fn(np.zeros((3, 3)), _GRID, 2)

    def test_nan_in_x(self, fn):
        x = _X.copy()
        x[1, 1] = np.nan
        with pytest.raises(ValueError, match=r"\bx\b contains NaN"):
            fn(x, _GRID, 2)
        x[1, 1] = np.inf
        with pytest.raises(ValueError, match=r"\bx\b contains NaN or inf"):
            fn(x, _GRID, 2)

    def test_non_numeric(self, fn):
        with pytest.raises(TypeError, match=r"\bx\b"):
            fn(np.array([["a", "b"]]), _GRID, 2)


@pytest.mark.parametrize("k, exc", [(-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_piece_matrix_validation(k, exc):
    bspline.piece_matrix(1)                                    # cached: must not answer for True
    with pytest.raises(exc, match="k must be"):
        bspline.piece_matrix(k)


def test_uniform_grid_validation():
    with pytest.raises(ValueError, match=r"\bG\b.*>= 1"):
        uniform_grid(0, 3)
    with pytest.raises(ValueError, match=r"\bk\b.*>= 0"):
        uniform_grid(5, -1)
    with pytest.raises(TypeError, match=r"\bG\b"):
        uniform_grid(2.5, 3)
    with pytest.raises(ValueError, match="grid_range"):
        uniform_grid(5, 3, (1.0, -1.0))
    with pytest.raises(ValueError, match="grid_range"):
        uniform_grid(5, 3, (0.0, np.nan))


def test_fit_coef_validation():
    xs = np.linspace(-1, 1, 20)[:, None]
    grid = uniform_grid(4, 3)[None]
    with pytest.raises(ValueError, match=r"\by\b.*shape"):
        fit_coef(xs, np.zeros((19, 1)), grid, 3)
    with pytest.raises(ValueError, match=r"\by\b contains NaN"):
        fit_coef(xs, np.full((20, 1), np.nan), grid, 3)


@pytest.mark.parametrize("grid_range, dtype", [((1e16, 1e16 + 4), np.float64),
                                               ((-1e308, 1e308), np.float64),
                                               ((-1e38, 3e38), np.float32)])
def test_uniform_grid_refuses_knots_that_repeat_or_overflow(grid_range, dtype):
    from numpykan.splines.grids import uniform_grid
    with pytest.raises(ValueError, match="grid_range"):
        uniform_grid(3, 3, grid_range, dtype)
