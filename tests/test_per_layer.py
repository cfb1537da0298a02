"""Per-layer grid and k lists: KAN([2, 5, 1], grid=[5, 3], k=[3, 2]).

Shapes follow each layer's own ``G`` and ``k``; a list of the wrong length is
named; config, save and load round-trip bit for bit; ``refine`` takes an int
or a list; the gradients pass a finite-difference check.
"""

import json

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN


def _model(**kw):
    kw = dict(dict(grid=[5, 3], k=[3, 2], seed=0), **kw)
    return KAN([2, 5, 1], **kw)


def test_each_layer_has_its_own_grid_and_degree():
    model = _model()
    (a, b) = model.layers
    assert (a.G, a.k, b.G, b.k) == (5, 3, 3, 2)
    assert a.coef.shape == (2, 5, 8) and a.grid.shape == (2, 12)
    assert b.coef.shape == (5, 1, 5) and b.grid.shape == (5, 8)
    assert model.num_parameters() == 2 * 5 * (8 + 2) + 5 * 1 * (5 + 2)
    np.testing.assert_allclose(b.grid[0], nk.bspline.uniform_grid(3, 2))
    x = np.random.default_rng(0).uniform(-1, 1, (7, 2))
    assert model(x).shape == (7, 1)


@pytest.mark.parametrize("grid, k", [((5, 3), (3, 2)), (np.array([5, 3]), np.array([3, 2])),
                                     ([5, 3], 3), (5, [3, 2])])
def test_tuples_arrays_and_mixes(grid, k):
    model = _model(grid=grid, k=k)
    want_G = [5, 3] if np.ndim(grid) else [5, 5]
    want_k = [3, 2] if np.ndim(k) else [3, 3]
    assert [la.G for la in model.layers] == want_G and [la.k for la in model.layers] == want_k
    assert model.config["grid"] == (list(want_G) if np.ndim(grid) else 5)
    assert model.config["k"] == (list(want_k) if np.ndim(k) else 3)
    assert json.loads(json.dumps(model.config)) == model.config      # JSON-able ints


def test_equal_lists_build_the_model_an_int_builds():
    a, b = KAN([2, 4, 3, 1], grid=[4, 4, 4], k=[2, 2, 2], seed=3), KAN([2, 4, 3, 1], grid=4, k=2, seed=3)
    for la, lb in zip(a.layers, b.layers):
        for key in ("coef", "w_b", "w_s"):
            np.testing.assert_array_equal(la.params[key], lb.params[key])
        np.testing.assert_array_equal(la.grid, lb.grid)
    assert repr(a) == repr(b)                                  # lists shown only when they differ


@pytest.mark.parametrize("kw, match", [
    (dict(grid=[5]), r"grid must be an int or a list of one int per layer, 2 here, got 1: \[5\]"),
    (dict(grid=[5, 3, 4]), r"grid must be .* 2 here, got 3"),
    (dict(k=[3]), r"k must be an int or a list of one int per layer, 2 here, got 1"),
    (dict(k=[]), r"k must be .* got 0"),
    (dict(grid=[5, 0]), r"grid must be"),
    (dict(k=[3, -1]), r"\bk must be"),
])
def test_a_wrong_list_is_named(kw, match):
    with pytest.raises(ValueError, match=match):
        _model(**kw)


def test_repr_shows_lists_when_they_differ():
    assert repr(_model()) == "KAN(width=[2, 5, 1], grid=[5, 3], k=[3, 2], dtype=float64, parameters=135)"
    assert "grid=[5, 3], k=3," in repr(_model(k=3))


def _assert_same(a, b):
    assert a.config == b.config and repr(a) == repr(b)
    for la, lb in zip(a.layers, b.layers):
        assert (la.G, la.k) == (lb.G, lb.k)
        for key in ("coef", "w_b", "w_s"):
            assert la.params[key].dtype == lb.params[key].dtype
            np.testing.assert_array_equal(la.params[key], lb.params[key])
        np.testing.assert_array_equal(la.grid, lb.grid)
        np.testing.assert_array_equal(la.mask, lb.mask)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_and_load_round_trip_bit_for_bit(tmp_path, dtype):
    model = _model(dtype=dtype)
    data = nk.create_dataset(lambda x: x[:, :1] * x[:, 1:], n_var=2, train_num=64, test_num=16, seed=0)
    model.fit(data, steps=6, lr=1e-2, log=6, verbose=False, grid_update_num=3,
              stop_grid_update_step=6)                          # non-uniform grids, trained coef
    assert not np.allclose(np.diff(model.layers[1].grid, axis=1), np.diff(model.layers[1].grid[:, :2]))
    back = KAN.load(model.save(tmp_path / "m.npz"))
    _assert_same(model, back)
    assert back.config["grid"] == [5, 3] and back.config["k"] == [3, 2]
    x = data["test_input"].astype(dtype)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_refine_with_an_int_or_a_list():
    model = _model()
    x = np.random.default_rng(1).uniform(-0.95, 0.95, (50, 2))
    fine = model.refine(15)                                    # 5 | 15 and 3 | 15: nested knots
    assert [(la.G, la.k) for la in fine.layers] == [(15, 3), (15, 2)]
    assert fine.config["grid"] == 15 and fine.config["k"] == [3, 2]
    np.testing.assert_allclose(fine.predict(x), model.predict(x), rtol=0, atol=1e-10)
    per = model.refine([10, 6])
    assert [(la.G, la.k) for la in per.layers] == [(10, 3), (6, 2)]
    assert per.config["grid"] == [10, 6]
    np.testing.assert_allclose(per.predict(x), model.predict(x), rtol=0, atol=1e-10)
    assert "grid=[10, 6], k=[3, 2]" in repr(per)
    with_samples = model.refine([8, 4], x=x)
    assert [la.G for la in with_samples.layers] == [8, 4]
    assert KAN([2, 3, 1], grid=4).refine([8, 8]).config["grid"] == [8, 8]
    with pytest.raises(ValueError, match=r"new_grid must be an int or a list of one int per layer"):
        model.refine([10])
    assert [la.G for la in model.layers] == [5, 3]             # the original is untouched


def test_refined_per_layer_model_round_trips(tmp_path):
    model = _model().refine([7, 4])
    _assert_same(model, KAN.load(model.save(tmp_path / "r.npz")))


def test_gradcheck_of_a_per_layer_model():
    model = KAN([2, 4, 3, 1], grid=[5, 3, 4], k=[3, 2, 1], seed=2)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)
    x = rng.uniform(-0.9, 0.9, (10, 2))
    y = rng.normal(size=(10, 1))
    report = nk.check_model(model, x, y, input_grad=True, lamb=0.01)
    assert report.ok, str(report)
    assert not report.notes, report.notes                      # no point on a knot
    assert {r.name for r in report.rows} >= {"layer0.coef", "layer1.coef", "layer2.coef", "x"}


def test_a_per_layer_model_trains_with_grid_updates():
    data = nk.create_dataset(lambda x: np.sin(2 * x[:, :1]) + x[:, 1:] ** 2, n_var=2,
                             train_num=200, test_num=50, seed=1)
    model = _model()
    h = model.fit(data, steps=60, lr=1e-2, log=60, verbose=False)
    assert h["train_loss"][-1] < 0.5 * float(np.var(data["train_label"]))
    assert [(la.G, la.k) for la in model.layers] == [(5, 3), (3, 2)]


def test_input_derivatives_of_a_per_layer_model():
    model = KAN([2, 4, 1], grid=[4, 6], k=[3, 2], seed=4, base_fun="tanh")
    rng = np.random.default_rng(5)
    for layer in model.layers:
        layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)
    x = rng.uniform(-0.9, 0.9, (40, 2))
    h, keep = x, np.ones(len(x), bool)                         # every layer input off the knots
    for layer in model.layers:
        keep &= np.min(np.abs(h[:, :, None] - layer.grid[None]), axis=2).min(axis=1) > 1e-3
        h = layer(h)
    x, e = x[keep][:8], 1e-6
    J, H = model.jacobian(x), model.hessian_diag(x)            # (B, 1, 2)
    for d in range(2):
        dx = np.zeros_like(x)
        dx[:, d] = e
        J_fd = (model.predict(x + dx) - model.predict(x - dx)) / (2 * e)
        H_fd = (model.jacobian(x + dx)[:, :, d] - model.jacobian(x - dx)[:, :, d]) / (2 * e)
        np.testing.assert_allclose(J[:, :, d], J_fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(H[:, :, d], H_fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.laplacian(x), H.sum(axis=2), rtol=1e-15)
