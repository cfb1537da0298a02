"""model.copy(): an independent deep copy of a KAN or an MLP.

Same function and state; no array shared with the original (checked with
``np.shares_memory`` on everything reachable and by mutating one side); no
cache carried over; training the copy leaves the original as it was.
"""

import numpy as np
import pytest

import numpykan as nk
from numpykan.models.activations import tanh_grad


def _arrays(obj, seen=None):
    """Every ndarray reachable from ``obj`` through attributes, dicts, lists and tuples."""
    seen = set() if seen is None else seen
    if id(obj) in seen or callable(obj) and not hasattr(obj, "__dict__"):
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("numpykan"):
        items = list(vars(obj).values())
    else:
        return []
    return [a for item in items for a in _arrays(item, seen)]


def _kan():
    model = nk.KAN([2, 4, 1], grid=[5, 3], k=[3, 2], seed=0, sb_trainable=False)
    model.fix_symbolic(0, 1, 2, "sin", fit_params=False)
    model.layers[1].mask[3, 0] = 0.0                           # a pruned edge
    return model


MODELS = {
    "kan": _kan,
    "kan_pair": lambda: nk.KAN([2, 3, 1], base_fun=(np.tanh, tanh_grad), seed=1),
    "mlp": lambda: nk.MLP([2, 6, 1], activation="tanh", seed=0),
}


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(-0.9, 0.9, (12, 2))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_copy_computes_the_same_and_shares_no_array(name, x):
    model = MODELS[name]()
    model.loss_and_grad(x, np.zeros((12, 1)))                  # caches, grads, last_loss filled
    new = model.copy()
    assert type(new) is type(model) and new is not model
    assert new.config == model.config and new.config is not model.config
    assert repr(new) == repr(model)
    np.testing.assert_array_equal(new.predict(x), model.predict(x))
    mine = _arrays(model)
    theirs = _arrays(new)
    assert theirs, "the copy holds arrays"
    for a in theirs:
        assert not any(np.shares_memory(a, b) for b in mine)
    for (p, g), (p2, g2) in zip(model.parameters(), new.parameters()):
        assert p.keys() == p2.keys() and p is not p2 and g is not g2
        for key in p:
            np.testing.assert_array_equal(p[key], p2[key])
            assert (g[key] is None) == (g2[key] is None)        # frozen stays frozen


@pytest.mark.parametrize("name", sorted(MODELS))
def test_no_cache_is_copied_and_both_still_work(name, x):
    model = MODELS[name]()
    y = np.zeros((12, 1))
    model.loss_and_grad(x, y)
    new = model.copy()
    assert all(layer.cache is None for layer in new.layers)
    assert new.grad_input is None and not hasattr(new, "last_loss")
    with pytest.raises(RuntimeError, match="needs the cache of a previous forward"):
        new.backward(np.ones((12, 1)))
    model.backward(np.ones((12, 1)), input_grad=False)         # the original's cache is intact
    assert new.loss_and_grad(x, y) == model.loss_and_grad(x, y)
    for (_, g), (_, g2) in zip(model.parameters(), new.parameters()):
        for key in g:
            if g[key] is not None:
                np.testing.assert_array_equal(g[key], g2[key])


def test_mutating_one_side_leaves_the_other():
    model = _kan()
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (10, 2))
    before = model.predict(x)
    new = model.copy()
    layer = new.layers[0]
    layer.params["coef"] += 1.0
    layer.grid *= 1.5
    layer.mask[0, 0] = 0.0
    layer.symbolic.params["abcd"][...] = 2.0
    new.config["grid"].append(99)
    new.width.append(7)
    np.testing.assert_array_equal(model.predict(x), before)
    assert model.config["grid"] == [5, 3] and model.width == [2, 4, 1]
    assert model.layers[0].mask[0, 0] == 1.0 and model.layers[0].symbolic.params["abcd"][0, 2] == 1.0
    model.layers[1].params["w_s"] *= 0.0                       # and the other way round
    assert np.all(new.layers[1].params["w_s"] != 0.0)


def test_training_the_copy_leaves_the_original():
    data = nk.create_dataset(lambda x: x[:, :1] * x[:, 1:], n_var=2, train_num=64, test_num=16, seed=0)
    model = nk.KAN([2, 3, 1], grid=4, k=3, seed=0)
    state = model.state()
    grids = [layer.grid.copy() for layer in model.layers]
    new = model.copy()
    new.fit(data, steps=10, lr=1e-2, log=10, verbose=False)    # optimizer, grid updates on the copy
    for a, b in zip(model.state(), state):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    for layer, g in zip(model.layers, grids):
        np.testing.assert_array_equal(layer.grid, g)
    assert not np.array_equal(new.layers[0].coef, model.layers[0].coef)


def test_a_copy_of_a_pruned_or_refined_model(x):
    model = nk.KAN([2, 5, 1], grid=4, seed=0)
    small = model.prune(x=x, node_th=0.0, edge_th=0.0)
    new = small.copy()
    assert [list(k) for k in new.kept_nodes] == [list(k) for k in small.kept_nodes]
    np.testing.assert_array_equal(new.predict(x), small.predict(x))
    fine = model.refine(8).copy()
    assert fine.config["grid"] == 8 and fine.layers[0].G == 8
