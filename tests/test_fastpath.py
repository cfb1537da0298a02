"""The fast path (live bases, fused matmul, reused workspaces) against the readable reference.

- ``local_basis`` / ``basis`` / ``basis_derivative`` equal the Cox-de Boor recursion
  ``basis_reference`` to 1e-12 (float64) on random grids, degrees 0..5, points
  between knots, on knots and outside the grid.
- The layer's fused forward/backward equal a plain evaluation built from the
  reference, and ``dL/dx`` matches central differences.
- Reusing a workspace or a cached grid plan never changes a result.
- A float32 model stays float32 everywhere: forward, cache, backward, grads,
  optimizer state.

No wall-clock thresholds here: speed is measured in ``benchmarks/``.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numpykan as nk
from numpykan import bspline, layer as core, livebasis
from numpykan.bspline import basis, basis_derivative, basis_reference, local_basis, uniform_grid

from strategies import grid_and_points

WHERE = ["between", "on", "outside", "mixed"]


def derivative_reference(x, grid, k):
    """``B'_{m,k} = k [B_{m,k-1} / (t_{m+k} - t_m) - B_{m+1,k-1} / (t_{m+k+1} - t_{m+1})]``
    from the reference recursion at degree ``k - 1``: ``(B, I) -> (B, I, K)``."""
    grid = np.asarray(grid, dtype=float)
    B, I = x.shape
    K = grid.shape[1] - k - 1
    if k == 0:
        return np.zeros((B, I, K))
    low = basis_reference(x, grid, k - 1)                      # (B, I, K + 1)
    t = grid[None]                                             # (1, I, n)
    left = k / (t[..., k:k + K] - t[..., :K])                  # (1, I, K)
    right = k / (t[..., k + 1:k + 1 + K] - t[..., 1:K + 1])    # (1, I, K)
    return low[..., :K] * left - low[..., 1:] * right          # (B, I, K)


def assert_close(a, b, tol=1e-12):
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


# --------------------------------------------------------------------------- #
# bases: fast path == reference
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("spacing", ["shared", "per_input", "nonuniform"])
@pytest.mark.parametrize("k", range(6))
def test_blocks_of_rows_equal_the_reference(monkeypatch, spacing, k):
    """local_basis works in blocks of batch rows (and the uniform polynomials in
    chunks of them); with tiny blocks (and a short last one) the values, derivatives
    and windows still equal the reference, inside, on knots, outside and at NaN."""
    monkeypatch.setattr(livebasis, "_BASIS_BLOCK", 8)            # 2 rows of 3 inputs per block
    monkeypatch.setattr(livebasis, "_CHUNK", 4)                  # 1 row per chunk
    rng = np.random.default_rng(k)
    widths = [2.0, 2.0, 2.0] if spacing == "shared" else [2.0, 0.5, 3.0]
    grid = np.stack([uniform_grid(6, k, (-w / 2, w / 2)) for w in widths])   # (3, n)
    if spacing == "nonuniform":
        grid = np.sort(grid + rng.uniform(0, 0.1, grid.shape), axis=1)
    x = rng.uniform(grid[:, 0] - 0.3, grid[:, -1] + 0.3, (11, 3))          # inside and outside
    x[::3] = grid[np.arange(3), rng.integers(0, grid.shape[1], (4, 3))]    # on knots
    x[7, 1] = np.nan
    lb = local_basis(x, grid, k, derivative=True, check=False)  # NaN: the public check refuses it
    ok = ~np.isnan(x)                                          # (11, 3)
    assert np.all(np.isnan(lb.values[:, 7, 1])) and np.all(np.isnan(lb.derivs[:, 7, 1]))
    xs = np.where(ok, x, 0.0)
    assert_close(lb.dense()[ok], basis_reference(xs, grid, k)[ok])
    assert_close(lb.dense("derivs")[ok], derivative_reference(xs, grid, k)[ok])
    assert np.all(lb.values[:, ok] >= 0)


def test_scatter_and_gather_in_row_blocks_give_the_same_layer(monkeypatch):
    """Blocks of one batch row (instead of cache-sized ones) change nothing, bit for bit."""
    rng = np.random.default_rng(3)
    lay = nk.KANLayer(4, 3, grid=5, k=3, seed=1)
    x = rng.uniform(-1.3, 1.3, (9, 4))                          # edges too
    dy = rng.normal(size=(9, 3))
    runs = []
    for block in (livebasis._BLOCK_BYTES, 1):                     # 1 byte: one row per block
        monkeypatch.setattr(livebasis, "_BLOCK_BYTES", block)
        y = lay.forward(x).copy()
        dx = lay.backward(dy).copy()
        runs.append((y, dx, {key: g.copy() for key, g in lay.grads.items()}))
    (y0, dx0, g0), (y1, dx1, g1) = runs
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(dx0, dx1)
    for key in g0:
        np.testing.assert_array_equal(g0[key], g1[key])
    assert len(lay.cache["lb"].blocks(lay.cache["X"])) == 9


def test_piece_matrix_rows_are_the_uniform_bspline_pieces():
    """sum_p C[r, p] u^p is B_{s-k+r} at x = t_s + u h, for every degree; the rows add up to 1."""
    u = np.linspace(0, 1, 9, endpoint=False)                   # (9,)
    for k in range(6):
        C = bspline.piece_matrix(k)                            # (k + 1, k + 1)
        t = uniform_grid(3, k)                                 # (3 + 2k + 1,), span s = k is [t_k, t_k+1)
        x = (t[k] + u * (t[k + 1] - t[k]))[:, None]            # (9, 1)
        ref = basis_reference(x, t[None], k)[:, 0, :k + 1]     # (9, k + 1): B_0 .. B_k
        pieces = np.vander(u, k + 1, increasing=True) @ C.T    # (9, k + 1)
        np.testing.assert_allclose(pieces, ref, rtol=0, atol=1e-14)
        np.testing.assert_allclose(C.sum(axis=0), np.eye(k + 1)[0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("fast,reference", [(basis, basis_reference),
                                            (basis_derivative, derivative_reference)],
                         ids=["values", "derivatives"])
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@given(data=st.data())
def test_fast_path_equals_reference(fast, reference, where, uniform, data):
    k, grid, x = data.draw(grid_and_points(where=where, uniform=uniform))
    assert_close(fast(x, grid, k), reference(x, grid, k))


@given(data=st.data(), degree=st.integers(0, 5))
def test_every_degree_on_knots_of_a_shared_uniform_grid(data, degree):
    """Points exactly on knots, where degree 0 and 1 jump: the right-hand value, exactly."""
    k, grid, x = data.draw(grid_and_points(where="on", uniform=True, k=degree))
    assert_close(basis(x, grid, k), basis_reference(x, grid, k))
    if k <= 1:                                                 # no round-off allowed at a jump
        np.testing.assert_array_equal(basis(x, grid, k), basis_reference(x, grid, k))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_ends_of_the_base_interval_with_and_without_the_one_pass_start(monkeypatch, k, dtype):
    """On a uniform grid with k >= 2 a batch whose points all lie in ``[t_k, t_{k+G})``
    takes its window start in one pass (no edge shift); a batch with one point at
    ``t_{k+G}``, a hair below it (which can round onto it) or below ``t_k`` takes the
    clamped path. Both get the reference values, and windows inside ``0 .. K - k - 1``."""
    G = 4
    grid = np.tile(uniform_grid(G, k, (-1.0, 1.0)), (2, 1)).astype(dtype)   # (2, n)
    lo, hi = grid[0, k], grid[0, k + G]
    inside = np.array([[lo, 0.99], [np.nextafter(lo, hi), 0.3], [0.999, lo]], dtype=dtype)  # (3, 2)
    edges = [np.vstack([inside, row]).astype(dtype) for row in
             ([hi, 0.0], [np.nextafter(hi, lo), 0.0], [lo - 0.1, np.nextafter(lo, -2)])]
    shift = livebasis._shift_edges

    def no_shift(*args):
        raise AssertionError("points inside the base interval were shifted")

    for x in [inside] + edges:
        monkeypatch.setattr(livebasis, "_shift_edges", no_shift if x is inside else shift)
        lb = local_basis(x, grid, k, derivative=True)
        assert lb.start.min() >= 0 and lb.start.max() <= lb.K - k - 1
        tol = 1e-12 if dtype == np.float64 else 1e-5
        x64, g64 = x.astype(np.float64), grid.astype(np.float64)
        assert_close(lb.dense().astype(np.float64), basis_reference(x64, g64, k), tol)
        assert_close(lb.dense("derivs").astype(np.float64), derivative_reference(x64, g64, k), tol)


@given(data=st.data())
def test_windows_stay_inside_and_scatter_to_the_dense_basis(data):
    k, grid, x = data.draw(grid_and_points(where="mixed"))
    lb = local_basis(x, grid, k, derivative=True)
    K = lb.K
    assert lb.start.min() >= 0 and lb.start.max() <= K - k - 1
    B, I = x.shape
    assert lb.values.shape == lb.derivs.shape == lb.index.shape == (k + 1, B, I)
    assert len(np.unique(lb.index.reshape(k + 1, -1), axis=0)) == k + 1   # no shared cells
    dense = lb.scatter()                                       # (B, K, I)
    np.testing.assert_array_equal(dense.transpose(0, 2, 1), basis(x, grid, k))
    np.testing.assert_array_equal(lb.gather(dense), lb.values)
    out = np.full((B, K + 1, I), 7.0)                          # the layer's (B, K+1, I) layout
    lb.scatter(out=out)
    np.testing.assert_array_equal(out[:, :K, :], dense)
    np.testing.assert_array_equal(out[:, K, :], 0.0)


def test_workspace_reuse_gives_fresh_results():
    rng = np.random.default_rng(0)
    grid = np.tile(uniform_grid(4, 3), (3, 1))                 # (3, 11)
    ws = bspline.Workspace()
    x1 = rng.uniform(-1.5, 1.5, (20, 3))
    x2 = rng.uniform(-1.5, 1.5, (12, 3))                       # smaller batch: a view of the same buffers
    for x in (x1, x2, x1):
        lb = local_basis(x, grid, 3, derivative=True, workspace=ws)
        np.testing.assert_array_equal(lb.dense(), basis(x, grid, 3))
        np.testing.assert_array_equal(lb.dense("derivs"), basis_derivative(x, grid, 3))


def test_grid_edited_in_place_is_seen():
    """The per-grid plan is cached; an in-place edit of the knots must invalidate it."""
    rng = np.random.default_rng(1)
    grid = np.tile(uniform_grid(5, 2), (2, 1))                 # (2, 10) uniform
    x = rng.uniform(-1, 1, (30, 2))
    lb = local_basis(x, grid, 2, check=False)
    np.testing.assert_array_equal(lb.dense(), basis(x, grid, 2))
    grid[:] = np.sort(grid + rng.uniform(0, 0.05, grid.shape), axis=1)   # now non-uniform
    grid[1] *= 1.5
    assert_close(local_basis(x, grid, 2, check=False).dense(), basis_reference(x, grid, 2))


# --------------------------------------------------------------------------- #
# the layer: fused forward/backward against a plain evaluation
# --------------------------------------------------------------------------- #

def plain_layer(x, params, grid, k, mask):
    """``phi_ij(x_i) = mask (w_b silu(x_i) + w_s sum_m coef B_m(x_i))`` from the reference: ``(B, I, O)``."""
    Bx = basis_reference(x, grid, k)                           # (B, I, K)
    spline = np.einsum("bim,iom->bio", Bx, params["coef"])     # (B, I, O)
    silu = x / (1 + np.exp(-x))                                # (B, I)
    return mask * (params["w_b"] * silu[:, :, None] + params["w_s"] * spline)


def make_layer(I, O, G, k, seed, dtype=np.float64):
    lay = nk.KANLayer(I, O, grid=G, k=k, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    lay.params["coef"][...] = rng.normal(size=lay.coef.shape)
    lay.mask[...] = rng.random(lay.mask.shape) > 0.2           # some pruned edges
    return lay, rng


@pytest.mark.parametrize("I,O,G,k", [(3, 2, 5, 3), (2, 4, 3, 0), (4, 3, 1, 1), (2, 2, 7, 5)])
def test_layer_forward_and_activations_equal_plain_evaluation(I, O, G, k):
    lay, rng = make_layer(I, O, G, k, seed=I + G + k)
    x = rng.uniform(-1.4, 1.4, (25, I))                        # some points beyond the base interval
    A = plain_layer(x, lay.params, lay.grid, k, lay.mask)      # (B, I, O)
    assert_close(lay.forward(x), A.sum(axis=1))
    assert_close(lay.activations(), A)


@pytest.mark.parametrize("I,O,G,k", [(3, 2, 5, 3), (2, 3, 4, 2), (2, 2, 6, 5)])
def test_layer_input_gradient_matches_central_differences(I, O, G, k):
    lay, rng = make_layer(I, O, G, k, seed=10 + k)
    t = lay.grid[0]
    j = rng.integers(0, len(t) - 1, (12, I))                   # points inside knot intervals,
    x = t[j] + rng.uniform(0.1, 0.9, (12, I)) * (t[1] - t[0])  # away from the knots
    dy = rng.normal(size=(12, O))
    dA = rng.normal(size=(12, I, O))
    lay.forward(x)
    dx = lay.backward(dy) + core.activations_backward(dA, lay.cache)[0]

    def L(xx):
        A = plain_layer(xx, lay.params, lay.grid, k, lay.mask)
        return float(np.sum(A.sum(axis=1) * dy) + np.sum(A * dA))

    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        num[idx] = (L(x + e) - L(x - e)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-7)


def test_pure_core_with_and_without_workspace_agree_and_caches_stay_valid():
    lay, rng = make_layer(3, 2, 5, 3, seed=3)
    args = (lay.params, lay.grid, lay.k, "silu", lay.mask)
    x1, x2 = rng.uniform(-1, 1, (9, 3)), rng.uniform(-1, 1, (9, 3))
    dy = rng.normal(size=(9, 2))
    y1, c1 = core.forward(x1, *args)                           # fresh arrays: c1 survives
    y2, c2 = core.forward(x2, *args)
    ws = bspline.Workspace()
    y1w, c1w = core.forward(x1, *args, workspace=ws)
    np.testing.assert_array_equal(y1, y1w)
    dx1, g1 = core.backward(dy, c1)
    dx1w, g1w = core.backward(dy, c1w)
    np.testing.assert_array_equal(dx1, dx1w)
    for key in g1:
        np.testing.assert_array_equal(g1[key], g1w[key])
    core.backward(dy, c2)                                      # an older cache is still usable
    np.testing.assert_array_equal(core.backward(dy, c1)[0], dx1)


def test_nonuniform_grid_after_update_grid_matches_plain_evaluation():
    lay, rng = make_layer(3, 2, 5, 3, seed=4)
    x = rng.normal(0, 0.6, (200, 3))
    lay.update_grid(x, grid_eps=0.3)                           # adaptive knots: the general path
    assert not livebasis._is_uniform(lay.grid)
    xs = x[:40]
    A = plain_layer(xs, lay.params, lay.grid, lay.k, lay.mask)
    assert_close(lay.forward(xs), A.sum(axis=1))


# --------------------------------------------------------------------------- #
# float32 end to end
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lamb", [0.0, 0.01])
def test_dtype_is_kept_everywhere(dtype, lamb):
    rng = np.random.default_rng(5)
    model = nk.KAN([3, 4, 2], grid=4, k=3, seed=0, dtype=dtype)
    x = rng.uniform(-1.3, 1.3, (16, 3))                        # float64 input: cast once at the door
    y = rng.uniform(-1, 1, (16, 2))
    opt = nk.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        model.loss_and_grad(x, y, lamb=lamb, input_grad=True)
        opt.step()
    for lay in model.layers:
        c = lay.cache
        for name in ("X", "Wf", "dbx"):
            assert c[name].dtype == dtype, name
        assert c["lb"].values.dtype == c["lb"].derivs.dtype == dtype
        assert lay.activations().dtype == dtype
        for key in lay.params:
            assert lay.params[key].dtype == dtype, key
            assert lay.grads[key].dtype == dtype, key
    for st_ in opt.state.values():
        assert st_["m"].dtype == st_["v"].dtype == dtype
    assert model.grad_input.dtype == dtype
    h = model.layers[0].forward(x.astype(dtype))
    assert h.dtype == dtype
    assert model.layers[0].backward(np.ones_like(h)).dtype == dtype


@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("G", [30, 100])
def test_many_knots_binary_search_equals_reference(G, k):
    """More than 32 knots per row: the span comes from the binary search, not from counting."""
    rng = np.random.default_rng(G + k)
    n = G + 2 * k + 1
    grid = np.cumsum(rng.uniform(0.1, 1.0, (3, n)), axis=1) - 0.3 * n   # (3, n) non-uniform
    on = grid[np.arange(3), rng.integers(0, n, (40, 3))]       # (40, 3) exactly on knots
    between = rng.uniform(grid[:, 0] - 2, grid[:, -1] + 2, (60, 3))   # inside and outside
    x = np.concatenate([on, between, grid[:, [0, -1]].T])      # the end knots too
    assert_close(basis(x, grid, k), basis_reference(x, grid, k))
    assert_close(basis_derivative(x, grid, k), derivative_reference(x, grid, k))


@pytest.mark.parametrize("spread", [1.5, 0.5], ids=["edges-too", "inside-only"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
@pytest.mark.parametrize("k", [0, 1, 3])
def test_nan_input_gives_nan_at_that_point_only(uniform, k, spread):
    """A diverged hidden layer feeds NaN forward: no exception, NaN stays where it was,
    also when every other point is far from the grid's ends (no window to clamp)."""
    rng = np.random.default_rng(k)
    grid = np.tile(uniform_grid(5, k), (3, 1))                 # (3, n)
    if not uniform:
        grid = grid + rng.uniform(0, 0.05, grid.shape)
    x = rng.uniform(-spread, spread, (6, 3))
    x[1, 0] = np.nan
    lb = local_basis(x, grid, k, derivative=True, check=False)
    dense = lb.dense()                                         # (B, I, K)
    assert np.all(np.isnan(lb.values[:, 1, 0]))
    ok = ~np.isnan(x)
    np.testing.assert_allclose(dense[ok], basis_reference(np.where(ok, x, 0.0), grid, k)[ok],
                               rtol=0, atol=1e-12)
