"""Caches that cannot lie, the cache/input_grad/check flags, and inference without a cache.

Covers numpykan.layer (the pure core and KANLayer), KAN and MLP forward/backward,
update_grid and refine where they touch caches.
"""

import tracemalloc

import numpy as np
import pytest

import numpykan as nk
from numpykan import layer as core


def _randomized(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for v in layer.params.values():
            v += 0.3 * rng.standard_normal(v.shape)
    return model


@pytest.fixture
def xs():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (7, 2)), rng.uniform(-1, 1, (7, 2))


# ---------------------------------------------------------------------------
# stale caches
# ---------------------------------------------------------------------------

def test_a_kept_cache_raises_once_the_layer_ran_again(xs):
    """The issue's case: c1 = layer.cache; layer.forward(x2); backward(dy, c1) gave x2's gradients."""
    x1, x2 = xs
    layer = nk.KANLayer(2, 3, seed=0)
    dy = np.random.default_rng(1).standard_normal((7, 3))
    layer.forward(x1)
    c1 = layer.cache
    dx1, g1 = core.backward(dy, c1)                            # fine while it is current
    layer.forward(x2)
    for call in (lambda: core.backward(dy, c1), lambda: core.activations(c1),
                 lambda: core.activations_backward(np.ones((7, 2, 3)), c1)):
        with pytest.raises(RuntimeError, match="stale.*overwrote"):
            call()
    dx2, g2 = core.backward(dy, layer.cache)                   # the current cache still works
    assert not np.allclose(dx1, dx2)


def test_a_cache_of_the_pure_core_stays_correct(xs):
    """Without a workspace the cache owns its arrays: later passes cannot change it."""
    x1, x2 = xs
    layer = _randomized(nk.KAN([2, 3], seed=0)).layers[0]
    dy = np.random.default_rng(1).standard_normal((7, 3))
    _, c1 = core.forward(x1, layer.params, layer.grid, layer.k)
    want_dx, want = core.backward(dy, core.forward(x1, layer.params, layer.grid, layer.k)[1])
    layer.forward(x2)
    core.forward(x2, layer.params, layer.grid, layer.k)
    dx, got = core.backward(dy, c1)
    np.testing.assert_array_equal(dx, want_dx)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_cache_false_returns_no_cache():
    layer = nk.KANLayer(2, 3, seed=0)
    y, cache = core.forward(np.zeros((4, 2)), layer.params, layer.grid, layer.k, cache=False)
    assert cache is None and y.shape == (4, 3)


# ---------------------------------------------------------------------------
# inference: layer(x), model(x), predict
# ---------------------------------------------------------------------------

def test_inference_keeps_no_cache_and_leaves_the_last_one(xs):
    x1, x2 = xs
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    model.forward(x1)
    caches = [layer.cache for layer in model.layers]
    generations = [layer.cache["ws"].generation for layer in model.layers]
    for infer in (lambda: model(x2), lambda: model.predict(x2), lambda: model.layers[0](x2),
                  lambda: model.forward(x2, cache=False)):
        infer()
        assert [layer.cache for layer in model.layers] == caches
        assert [layer.cache["ws"].generation for layer in model.layers] == generations
    # so backward still belongs to x1
    dy = np.ones((7, 1))
    dx = model.backward(dy)
    fresh = _randomized(nk.KAN([2, 3, 1], seed=0))
    fresh.forward(x1)
    np.testing.assert_array_equal(dx, fresh.backward(dy))


def test_call_equals_forward_in_value_in_blocks_too(xs, monkeypatch):
    x1, _ = xs
    model = _randomized(nk.KAN([2, 3, 2], seed=0))
    model.fix_symbolic(0, 1, 2, "sin", fit_params=False)
    np.testing.assert_array_equal(model(x1), model.forward(x1))       # one block: the same products
    monkeypatch.setattr(nk.KANLayer, "inference_rows", 3)             # 7 rows in blocks of 3
    x = np.random.default_rng(2).uniform(-1, 1, (7, 2))
    for layer in model.layers:
        np.testing.assert_allclose(layer(x), layer.forward(x), rtol=1e-14, atol=1e-15)
        x = layer.forward(x)
    np.testing.assert_allclose(model.predict(xs[1], batch_size=2), model.forward(xs[1]),
                               rtol=1e-14, atol=1e-15)


def test_backward_after_inference_only_says_why():
    model = nk.KAN([2, 3, 1], seed=0)
    model(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="inference and keep none"):
        model.backward(np.ones((4, 1)))
    mlp = nk.MLP([2, 3, 1], seed=0)
    mlp(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="inference and keep none"):
        mlp.backward(np.ones((4, 1)))


def test_inference_memory_is_that_of_one_block(monkeypatch):
    """forward caches (B, K+1, I) bases and derivatives; layer(x) needs one block's worth."""
    monkeypatch.setattr(nk.KANLayer, "inference_rows", 500)
    layer = nk.KANLayer(40, 3, grid=5, k=3, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (8000, 40))
    peaks = {}
    for name, call in (("forward", lambda: layer.forward(x)), ("inference", lambda: layer(x))):
        layer.cache = None
        layer.__dict__.pop("_workspace", None)
        tracemalloc.start()
        call()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    X_bytes = 8000 * 9 * 40 * 8                                # the full (B, K+1, I) matrix
    assert peaks["forward"] > X_bytes
    assert peaks["inference"] < X_bytes / 4


# ---------------------------------------------------------------------------
# backward checks everything before writing a gradient
# ---------------------------------------------------------------------------

def _grads(model):
    return [g.copy() for layer in model.layers for g in layer.grads.values()]


def test_backward_of_an_input_grad_false_forward_raises_before_any_write(xs):
    x1, _ = xs
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    model.loss_and_grad(x1, np.zeros((7, 1)))                 # some gradients in place
    before = _grads(model)
    model.forward(x1, input_grad=False)
    with pytest.raises(RuntimeError, match="input_grad=True"):
        model.backward(np.ones((7, 1)))                       # asks for dL/dx
    assert all(np.array_equal(a, b) for a, b in zip(before, _grads(model)))
    assert model.backward(np.ones((7, 1)), input_grad=False) is None


@pytest.mark.parametrize("bad", ["dy", "dA", "reg_x", "reg_coef", "stale", "symbolic"])
def test_model_backward_checks_dy_dA_and_caches_first(xs, bad):
    x1, x2 = xs
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    model.fix_symbolic(1, 0, 0, "x", fit_params=False)
    model.forward(x1)
    before = _grads(model)
    dy, dA = np.ones((7, 1)), [np.ones((7, 2, 3)), np.ones((7, 3, 1))]
    if bad == "dy":
        dy = np.ones((6, 1))
    elif bad == "dA":
        dA[0] = np.ones((7, 3, 2))
    elif bad == "reg_x":                                      # a regularizer's gradient: RegGrad
        dA[0] = nk.regmetrics.RegGrad(A=dA[0], x=np.ones((7, 3)))   # layer 0 has 2 inputs
    elif bad == "reg_coef":
        dA[1] = nk.regmetrics.RegGrad(A=dA[1], coef=np.ones((3, 1, 2)))
    elif bad == "stale":
        c0 = model.layers[0].cache
        model.layers[0].forward(x2)
        model.layers[0].cache = c0                            # a kept, now stale, cache
    else:
        model.layers[1].symbolic.cache = None
    with pytest.raises((ValueError, RuntimeError)):
        model.backward(dy, dA)
    assert all(np.array_equal(a, b) for a, b in zip(before, _grads(model)))


# ---------------------------------------------------------------------------
# update_grid and refine
# ---------------------------------------------------------------------------

def test_update_grid_that_fails_in_a_later_layer_changes_no_layer():
    """Inputs whose layer-0 outputs overflow: layer 0 could be regridded, layer 1 cannot."""
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    model.layers[0].params["w_b"][...] = 1e300
    x = np.random.default_rng(0).uniform(-1e10, 1e10, (20, 2))
    grids = [layer.grid for layer in model.layers]
    coefs = [layer.coef.copy() for layer in model.layers]
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="layer 1 non-finite"):
        model.update_grid(x)
    for layer, grid, coef in zip(model.layers, grids, coefs):
        assert layer.grid is grid
        np.testing.assert_array_equal(layer.coef, coef)


def test_refine_keeps_the_original_models_caches(xs):
    x1, _ = xs
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    model.forward(x1)
    caches = [layer.cache for layer in model.layers]
    for new in (model.refine(6), model.refine(6, x=x1)):
        assert new.layers[0].G == 6
    assert [layer.cache for layer in model.layers] == caches
    pruned = model.prune()                                    # from the last forward pass
    assert pruned.width[0] == 2
