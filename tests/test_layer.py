"""Tests of numpykan.layer.KANLayer: every gradient by finite differences, init, shapes, checks."""

import numpy as np
import pytest

from numpykan import KANLayer
from numpykan.bspline import basis
from numpykan.gradcheck import gradcheck

BASES = ["silu", "identity", "zero"]


def _points_between_knots(grid, B, rng):
    """``(B, I)`` points inside knot intervals, >= 10 % of an interval away from every knot."""
    I, n = grid.shape
    j = rng.integers(0, n - 1, (B, I))                          # interval index per point
    u = rng.uniform(0.1, 0.9, (B, I))
    rows = np.arange(I)[None, :]
    return grid[rows, j] + u * (grid[rows, j + 1] - grid[rows, j])


def _random_layer(k, base, seed=0, I=3, O=2, G=4, prune=True):
    """A float64 layer with random, non-trivial parameters and (optionally) pruned edges."""
    rng = np.random.default_rng(seed)
    layer = KANLayer(I, O, grid=G, k=k, base_fun=base, seed=seed)
    layer.params["coef"][...] = rng.normal(size=layer.coef.shape)
    layer.params["w_b"][...] = rng.normal(size=layer.w_b.shape)
    layer.params["w_s"][...] = rng.normal(size=layer.w_s.shape)
    if prune:
        layer.mask[0, 1] = 0.0
        layer.mask[2, 0] = 0.0
    return layer, rng


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_backward_gradcheck(k, base):
    layer, rng = _random_layer(k, base)
    x = _points_between_knots(layer.grid, 6, rng)              # (6, 3)
    R = rng.normal(size=(6, 2))

    def loss(y):                                               # L = sum R y + 0.5 sum y^2
        return float(np.sum(R * y) + 0.5 * np.sum(y ** 2))

    y = layer.forward(x)
    dx = layer.backward(R + y)
    grads = {key: g.copy() for key, g in layer.grads.items()}
    grads["x"] = dx.copy()
    params = dict(layer.params, x=x)
    report = gradcheck(lambda: loss(layer.forward(x)), params, grads, rtol=1e-6, atol=1e-9,
                       mode="elementwise")
    assert report.ok, str(report)
    # pruned edges get no gradient at all
    for key in ("w_b", "w_s"):
        assert np.all(grads[key][layer.mask == 0] == 0.0)
    assert np.all(grads["coef"][layer.mask == 0] == 0.0)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_backward_activations_gradcheck(k, base):
    layer, rng = _random_layer(k, base, seed=1)
    x = _points_between_knots(layer.grid, 5, rng)              # (5, 3)
    R = rng.normal(size=(5, 3, 2))

    def loss(A):                                               # L = sum R A + 0.5 sum A^2
        return float(np.sum(R * A) + 0.5 * np.sum(A ** 2))

    A = layer.activations(x)
    layer.backward(np.zeros((5, 2)))                           # grads := 0, then add dL/dA's share
    dx = layer.backward_activations(R + A)
    grads = {key: g.copy() for key, g in layer.grads.items()}
    grads["x"] = dx.copy()
    report = gradcheck(lambda: loss(layer.activations(x)), dict(layer.params, x=x), grads,
                       rtol=1e-6, atol=1e-9, mode="elementwise")
    assert report.ok, str(report)


@pytest.mark.parametrize("k", [1, 3])
def test_backward_then_backward_activations_add_up(k):
    """A loss on the output and on the activations together: the two streams add."""
    layer, rng = _random_layer(k, "silu", seed=2)
    x = _points_between_knots(layer.grid, 4, rng)
    Ry, RA = rng.normal(size=(4, 2)), rng.normal(size=(4, 3, 2))

    def loss():
        y = layer.forward(x)
        return float(np.sum(Ry * y) + np.sum(RA * np.tanh(layer.activations())))

    layer.forward(x)
    A = layer.activations()
    dx = layer.backward(Ry) + layer.backward_activations(RA * (1 - np.tanh(A) ** 2))
    grads = dict({key: g.copy() for key, g in layer.grads.items()}, x=dx)
    report = gradcheck(loss, dict(layer.params, x=x), grads, rtol=1e-6, atol=1e-9)
    assert report.ok, str(report)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_activations_sum_to_forward(k, base):
    layer, rng = _random_layer(k, base, seed=3)
    x = rng.uniform(-1.5, 1.5, (20, 3))                        # also beyond the grid
    x[:4] = layer.grid[0, 1:5, None]                            # and on knots
    y = layer.forward(x)
    A = layer.activations(x)
    assert A.shape == (20, 3, 2)
    np.testing.assert_allclose(A.sum(axis=1), y, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(A[:, layer.mask == 0], 0.0)   # pruned edges are silent
    np.testing.assert_array_equal(layer.activations(), A)       # from the cache


def test_activations_are_the_edge_formula():
    """``A[b, i, j] = w_b b(x) + w_s sum_m coef B_m(x)`` written out directly."""
    layer, rng = _random_layer(3, "silu", seed=4, prune=False)
    x = rng.uniform(-1, 1, (7, 3))
    Bx = basis(x, layer.grid, 3)                                # (B, I, K)
    spline = np.einsum("bim,ijm->bij", Bx, layer.coef)          # (B, I, O)
    silu = x / (1 + np.exp(-x))
    want = layer.w_b[None] * silu[:, :, None] + layer.w_s[None] * spline
    np.testing.assert_allclose(layer.activations(x), want, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# initialization and shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("I,O,G,k", [(2, 5, 5, 3), (4, 1, 3, 2), (1, 1, 1, 0), (6, 3, 10, 1)])
def test_initialization_and_shapes(I, O, G, k):
    layer = KANLayer(I, O, grid=G, k=k, seed=7)
    assert layer.grid.shape == (I, G + 2 * k + 1)
    assert layer.coef.shape == (I, O, G + k)
    assert layer.w_b.shape == layer.w_s.shape == layer.mask.shape == (I, O)
    assert set(layer.params) == set(layer.grads) == {"coef", "w_b", "w_s"}
    assert all(layer.grads[key].shape == v.shape for key, v in layer.params.items())
    assert layer.num_parameters() == I * O * (G + k + 2)
    np.testing.assert_array_equal(layer.w_s, 1.0 / np.sqrt(I))
    bound = 1.0 / np.sqrt(I)                                    # pykan's U(-1, 1) / sqrt(I)
    assert np.all(np.abs(layer.w_b) <= bound)
    # coef ~ U(-noise/2, noise/2) / G with noise 0.5, so |spline| <= 0.25 / G (partition of unity)
    assert np.all(np.abs(layer.coef) <= 0.25 / G)
    x = np.linspace(-1, 1, 50)[:, None].repeat(I, axis=1)
    assert np.max(np.abs(layer.spline_values(x))) <= 0.25 / G
    np.testing.assert_allclose(layer.grid[:, k], -1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.grid[:, G + k], 1.0, rtol=0, atol=1e-15)
    assert layer.forward(np.zeros((3, I))).shape == (3, O)


@pytest.mark.parametrize("init, bound", [({}, 1.0 / np.sqrt(20)),
                                         (dict(scale_base_mu=None, scale_base_sigma=None),
                                          np.sqrt(6.0 / 50))], ids=["pykan", "xavier"])
def test_base_init_bound_is_used(init, bound):
    """Many draws fill the interval (so the bound is the right one, not a smaller one)."""
    layer = KANLayer(20, 30, seed=0, **init)
    assert np.max(np.abs(layer.w_b)) <= bound
    assert np.max(np.abs(layer.w_b)) > 0.95 * bound


def test_same_seed_same_layer_different_seed_different():
    a, b, c = KANLayer(3, 4, seed=11), KANLayer(3, 4, seed=11), KANLayer(3, 4, seed=12)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.coef, c.coef)
    assert not np.array_equal(a.w_b, c.w_b)
    np.testing.assert_array_equal(a.grid, c.grid)


def _arrays_in(obj):
    """Every ndarray inside a cache (dicts, tuples, named tuples, nested)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays_in(v)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _arrays_in(v)
    elif type(obj).__module__.startswith("numpykan") and hasattr(obj, "__dict__"):
        for v in vars(obj).values():                           # e.g. the LocalBasis object
            yield from _arrays_in(v)


@pytest.mark.parametrize("k", [0, 3])
def test_forward_never_builds_batch_in_out_K(k):
    B, I, O, G = 16, 3, 4, 5
    layer = KANLayer(I, O, grid=G, k=k, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (B, I))
    layer.forward(x)
    layer.activations()
    arrays = list(_arrays_in(layer.cache))
    assert arrays, "the cache holds the arrays backward needs"
    assert all(a.ndim <= 3 for a in arrays)
    assert all(a.size < B * I * O * (G + k) for a in arrays)


# ---------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_float32_end_to_end(base):
    layer = KANLayer(3, 2, grid=5, k=3, base_fun=base, seed=0, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in layer.params.values())
    assert layer.grid.dtype == np.float32
    x = np.random.default_rng(0).uniform(-1, 1, (8, 3))        # float64 input is cast
    y = layer.forward(x)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones((8, 2), dtype=np.float32))
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    A = layer.activations()
    assert A.dtype == np.float32
    dx2 = layer.backward_activations(np.ones_like(A))
    assert dx2.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    # float32 agrees with float64 to float32 precision
    layer64 = KANLayer(3, 2, grid=5, k=3, base_fun=base, seed=0)
    np.testing.assert_allclose(y, layer64.forward(x), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def _snapshot(layer):
    return ({key: v.copy() for key, v in layer.params.items()},
            {key: v.copy() for key, v in layer.grads.items()}, layer.grid.copy(), layer.cache)


def _assert_unchanged(layer, snap):
    params, grads, grid, cache = snap
    for key in params:
        np.testing.assert_array_equal(layer.params[key], params[key])
        np.testing.assert_array_equal(layer.grads[key], grads[key])
    np.testing.assert_array_equal(layer.grid, grid)
    assert layer.cache is cache


@pytest.mark.parametrize("x, match", [
    (np.array([[0.1, np.nan, 0.2]]), r"\bx\b contains NaN"),
    (np.array([[0.1, np.inf, 0.2]]), r"\bx\b contains NaN or inf"),
    (np.zeros((4, 2)), r"\bx\b must have shape \(batch, 3\), got shape \(4, 2\)"),
    (np.zeros(3), r"\bx\b must be 2-D"),
    (np.zeros((2, 3, 1)), r"\bx\b must be 2-D"),
])
def test_bad_input_raises_before_state_changes(x, match):
    layer, rng = _random_layer(3, "silu")
    layer.forward(rng.uniform(-1, 1, (4, 3)))
    layer.backward(np.ones((4, 2)))
    snap = _snapshot(layer)
    for call in (layer.forward, layer.activations, layer.spline_values, layer.update_grid):
        with pytest.raises(ValueError, match=match):
            call(x)
        _assert_unchanged(layer, snap)


@pytest.mark.parametrize("dy", [np.ones((4, 3)), np.ones((5, 2)), np.ones(4), np.ones((4, 2, 1))])
def test_wrong_dy_shape_raises_before_state_changes(dy):
    layer, rng = _random_layer(2, "silu")
    layer.forward(rng.uniform(-1, 1, (4, 3)))
    layer.backward(np.ones((4, 2)))
    snap = _snapshot(layer)
    with pytest.raises(ValueError, match=r"\bdy\b must have shape \(4, 2\)"):
        layer.backward(dy)
    _assert_unchanged(layer, snap)
    with pytest.raises(ValueError, match=r"\bdA\b must have shape \(4, 3, 2\)"):
        layer.backward_activations(np.ones((4, 2)))
    _assert_unchanged(layer, snap)


def test_backward_without_forward():
    layer = KANLayer(2, 2, seed=0)
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones((3, 2)))
    layer.forward(np.zeros((3, 2)), cache=False)               # inference keeps no cache
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones((3, 2)))
    layer(np.zeros((3, 2)))                                   # neither does layer(x)
    with pytest.raises(RuntimeError, match="inference"):
        layer.backward(np.ones((3, 2)))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(k=-1), ValueError, r"\bk\b must be >= 0"),
    (dict(grid=0), ValueError, r"\bgrid\b must be >= 1"),
    (dict(grid=2.5), TypeError, r"\bgrid\b must be an int"),
    (dict(base_fun="tanhh"), ValueError, "base_fun"),
    (dict(dtype=np.int32), TypeError, "dtype"),
    (dict(grid_range=(1, -1)), ValueError, "grid_range"),
])
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        KANLayer(2, 3, **kwargs)


def test_update_grid_keeps_the_layer_function():
    """On a layer whose splines are smooth, the refit on the new grid keeps phi at the samples."""
    layer = KANLayer(2, 3, grid=5, k=3, seed=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 2))
    # plant a smooth spline: a quadratic lies in every cubic spline space, so it is kept exactly
    xs = np.linspace(-1, 1, 200)[:, None].repeat(2, axis=1)
    from numpykan.bspline import fit_coef
    layer.params["coef"] = fit_coef(xs, (xs ** 2)[:, :, None].repeat(3, axis=2), layer.grid, 3)
    before = layer.forward(x)
    layer.update_grid(x, grid_eps=0.02)
    assert layer.grid.shape == (2, 12)
    assert np.all(np.diff(layer.grid, axis=1) > 0)
    np.testing.assert_allclose(layer.grid[:, 3], x.min(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.grid[:, 8], x.max(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.forward(x), before, rtol=0, atol=1e-10)
