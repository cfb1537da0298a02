"""KAN(base_fun=...): every name the MLP takes, a pair (f, f'), a 4-tuple (f, f1, f2, f3).

Each is checked where it is used: a model's parameter and input gradients by
finite differences (float64, rtol 1e-6), its Jacobian, Hessian diagonal and
Laplacian by central differences of the order below, a loss on the Laplacian
by finite differences; a pair gives training and Jacobians and names what it
cannot give; callables are refused by ``save`` and bare ones by the constructor.
"""

import numpy as np
import pytest

import numpykan as nk
from numpykan import derivatives
from numpykan.models.activations import (ACTIVATIONS, MissingDerivativeError, tanh_derivatives,
                                         tanh_grad)

NAMES = sorted(ACTIVATIONS)


def _tanh_q(q):
    return lambda x: tanh_derivatives(x, (q,))[0]


TANH_PAIR = (np.tanh, tanh_grad)
TANH_FOUR = (np.tanh, tanh_grad, _tanh_q(2), _tanh_q(3))
BASES = {**{n: n for n in NAMES}, "pair": TANH_PAIR, "four": TANH_FOUR}
SECOND_ORDER = [n for n in BASES if n != "pair"]               # the pair has no f'', f'''


def _kan(base, width=(2, 3, 2), grid=5, k=3, seed=0, dtype=np.float64):
    model = nk.KAN(list(width), grid=grid, k=k, seed=seed, base_fun=base, dtype=dtype)
    rng = np.random.default_rng(seed + 10)
    for layer in model.layers:
        layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)   # splines that matter
        layer.params["w_b"][...] = rng.uniform(-0.8, 0.8, layer.w_b.shape)  # base parts too
    return model


def _smooth_points(model, n, seed, margin=1e-3):
    """``n`` points whose every layer input is ``margin`` away from all knots and from 0 (relu's kink)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 0.9, (8 * n, model.width[0]))
    h, keep = x, np.ones(len(x), bool)
    for layer in model.layers:
        near_knot = np.min(np.abs(h[:, :, None] - layer.grid[None]), axis=2).min(axis=1)
        keep &= (near_knot > margin) & (np.abs(h).min(axis=1) > margin)
        h = layer.forward(h, cache=False)
    assert keep.sum() >= n
    return x[keep][:n]


# ---------------------------------------------------------------------------
# training gradients
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BASES))
def test_model_gradients_match_finite_differences(name):
    model = _kan(BASES[name], width=(2, 3, 2, 1))
    x = _smooth_points(model, 12, seed=1)
    y = np.random.default_rng(2).normal(size=(12, 1))
    report = nk.check_model(model, x, y, input_grad=True, lamb=0.01, atol=1e-9)
    assert report.ok, str(report)
    assert max(r.max_rel_err for r in report.rows) < 1e-6
    assert {r.name for r in report.rows} >= {"layer0.coef", "layer2.w_b", "x"}


def test_a_pair_trains_like_the_name():
    data = nk.create_dataset(lambda x: np.sin(2 * x[:, :1]) * x[:, 1:], n_var=2,
                             train_num=64, test_num=32, seed=0)
    runs = []
    for base in ("tanh", TANH_PAIR, TANH_FOUR):
        model = nk.KAN([2, 4, 1], grid=4, k=3, seed=0, base_fun=base)
        h = model.fit(data, steps=20, lr=1e-2, log=20, verbose=False, update_grid=False)
        runs.append((h["train_loss"][-1], model.predict(data["test_input"])))
    for loss, pred in runs[1:]:
        assert loss == pytest.approx(runs[0][0], rel=1e-12)
        np.testing.assert_allclose(pred, runs[0][1], rtol=1e-12, atol=1e-14)
    assert runs[0][0] < float(np.mean(data["train_label"] ** 2))    # it learned something


@pytest.mark.parametrize("name", ["tanh", "relu", "pair"])
def test_float32_models_stay_float32(name):
    model = _kan(BASES[name], dtype=np.float32)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 2)).astype(np.float32)
    assert model.forward(x).dtype == np.float32
    model.loss_and_grad(x, np.zeros((5, 2), np.float32), input_grad=True)
    assert model.grad_input.dtype == np.float32
    assert all(g.dtype == np.float32 for layer in model.layers for g in layer.grads.values())


# ---------------------------------------------------------------------------
# input derivatives
# ---------------------------------------------------------------------------

def _fd_jet(model, x, e=1e-6):
    """Central differences: J from u, H from J (each (B, O, I))."""
    B, I = x.shape
    O = model.width[-1]
    J, H = np.zeros((B, O, I)), np.zeros((B, O, I))
    for d in range(I):
        dx = np.zeros_like(x)
        dx[:, d] = e
        J[:, :, d] = (model.predict(x + dx) - model.predict(x - dx)) / (2 * e)
        H[:, :, d] = (model.jacobian(x + dx)[:, :, d] - model.jacobian(x - dx)[:, :, d]) / (2 * e)
    return J, H


@pytest.mark.parametrize("name", sorted(BASES))
def test_jacobian_matches_finite_differences(name):
    model = _kan(BASES[name])
    x = _smooth_points(model, 8, seed=3)
    e, J_fd = 1e-6, np.zeros((8, 2, 2))                         # (B, O, I)
    for d in range(2):
        dx = np.zeros_like(x)
        dx[:, d] = e
        J_fd[:, :, d] = (model.predict(x + dx) - model.predict(x - dx)) / (2 * e)
    np.testing.assert_allclose(model.jacobian(x), J_fd, rtol=1e-6, atol=1e-7 * np.abs(J_fd).max())


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_hessian_diagonal_and_laplacian_match_finite_differences(name):
    model = _kan(BASES[name], width=(2, 3, 2, 1))
    x = _smooth_points(model, 8, seed=4)
    _, H_fd = _fd_jet(model, x)
    H = model.hessian_diag(x)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6 * np.abs(H_fd).max())
    np.testing.assert_allclose(model.laplacian(x), H_fd.sum(axis=2), rtol=1e-5,
                               atol=1e-6 * np.abs(H_fd).max())


def _laplacian_loss(jet, x, y):
    """``L = mean_b (lap u_0 - y_b)^2 + 0.3 mean |J|^2``."""
    B = x.shape[0]
    r = jet.H.sum(axis=2)[:, 0] - y                            # (B,)
    gH = np.zeros_like(jet.H)
    gH[:, 0, :] = (2 * r / B)[:, None]
    return float(np.mean(r ** 2) + 0.3 * np.sum(jet.J ** 2) / B), {"H": gH, "J": 0.6 * jet.J / B}


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_a_laplacian_loss_gradcheck(name):
    model = _kan(BASES[name])
    x = _smooth_points(model, 6, seed=5)
    y = np.random.default_rng(6).normal(size=6)
    loss = derivatives.DerivativeLoss(_laplacian_loss, order=2)
    report = nk.check_model(model, x, y, loss=loss, input_grad=True, atol=1e-8)
    assert report.ok, str(report)


def test_the_four_tuple_equals_the_name():
    named, four = _kan("tanh"), _kan(TANH_FOUR)
    x = _smooth_points(named, 8, seed=7)
    np.testing.assert_allclose(four.laplacian(x), named.laplacian(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(four.jacobian(x), named.jacobian(x), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("call", ["laplacian", "hessian_diag", "loss"])
def test_a_pair_names_what_it_cannot_give(call):
    model = _kan(TANH_PAIR)
    x = _smooth_points(model, 4, seed=8)
    with pytest.raises(MissingDerivativeError, match=r"base_fun is the pair \(tanh, tanh_grad\)"
                                                     r".*f''.*base_fun=\(f, f1, f2, f3\)"):
        if call == "loss":
            derivatives.DerivativeLoss(_laplacian_loss, order=2).loss_and_grad(model, x, np.zeros(4))
        else:
            getattr(model, call)(x)
    assert issubclass(MissingDerivativeError, ValueError)


# ---------------------------------------------------------------------------
# what is refused, and checkpoints
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad, exc, match", [
    (np.tanh, TypeError, r"base_fun got the bare callable 'tanh'.*pair \(f, f_prime\)"),
    (lambda x: x, TypeError, r"bare callable.*derives no gradient"),
    ((np.tanh,), TypeError, r"tuple of 2 or 4 callables"),
    ((np.tanh, tanh_grad, tanh_grad), TypeError, r"tuple of 2 or 4 callables"),
    ((np.tanh, "tanh"), TypeError, r"tuple of 2 or 4 callables"),
    (None, TypeError, r"base_fun must be one of"),
    ("gelu", ValueError, r"base_fun must be one of \['identity', 'relu', 'silu', 'tanh', 'zero'\]"),
    ((np.tanh, np.cos), ValueError, r"base_fun: f' is not the derivative of f"),
    ((np.tanh, tanh_grad, tanh_grad, tanh_grad), ValueError, r"f'' is not the derivative of f'"),
    ((np.tanh, lambda x: 1.0), ValueError, r"f' must map an array to finite values of the same shape"),
    ((np.log, lambda x: 1 / x), ValueError, r"finite values"),
])
def test_bad_base_functions_are_refused(bad, exc, match):
    with pytest.raises(exc, match=match):
        nk.KAN([2, 3, 1], base_fun=bad)
    with pytest.raises(exc, match=match.replace("base_fun", "activation")):
        nk.MLP([2, 3, 1], activation=bad)


@pytest.mark.parametrize("name", NAMES)
def test_named_base_functions_save_and_load(tmp_path, name):
    model = _kan(name)
    path = model.save(tmp_path / "m.npz")
    back = nk.KAN.load(path)
    assert back.config == model.config and back.layers[0].base_fun == name
    x = np.random.default_rng(0).uniform(-1, 1, (7, 2))
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


@pytest.mark.parametrize("base", [TANH_PAIR, TANH_FOUR, list(TANH_PAIR)])
def test_a_callable_base_fun_cannot_be_saved(tmp_path, base):
    model = _kan(base)
    with pytest.raises(ValueError, match=r"base_fun is a tuple of callables.*never code"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []
    mlp = nk.MLP([2, 3, 1], activation=base)
    with pytest.raises(ValueError, match=r"activation is a tuple of callables"):
        mlp.save(tmp_path / "mlp.npz")
    assert list(tmp_path.iterdir()) == []


def test_reprs_name_the_base_function():
    assert "base_fun" not in repr(nk.KAN([2, 3, 1]))               # the default stays quiet
    assert "base_fun='relu'" in repr(nk.KAN([2, 3, 1], base_fun="relu"))
    assert "base_fun=(tanh, tanh_grad)" in repr(nk.KAN([2, 3, 1], base_fun=TANH_PAIR))
    assert "base_fun=(tanh, tanh_grad)" in repr(nk.KANLayer(2, 3, base_fun=TANH_PAIR))
    assert "activation=(tanh, tanh_grad)" in repr(nk.MLP([2, 3, 1], activation=TANH_PAIR))


def test_an_mlp_takes_a_pair_too():
    mlp = nk.MLP([2, 5, 1], activation=TANH_PAIR, seed=0)
    ref = nk.MLP([2, 5, 1], activation="tanh", seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (9, 2))
    np.testing.assert_allclose(mlp.predict(x), ref.predict(x), rtol=1e-15)
    np.testing.assert_allclose(mlp.jacobian(x), ref.jacobian(x), rtol=1e-14)
    report = nk.check_model(mlp, x, np.zeros((9, 1)), input_grad=True)
    assert report.ok, str(report)
    with pytest.raises(MissingDerivativeError, match="activation is the pair"):
        mlp.laplacian(x)


def test_formula_edges_and_plots_see_the_base_function():
    model = _kan(TANH_PAIR)
    layer = model.layers[0]
    xi = np.linspace(-0.8, 0.8, 9)
    from numpykan.interpretation.symbolic_edges import edge_values
    want = layer.activations(np.stack([xi, xi], axis=1))[:, 0, 1]
    np.testing.assert_allclose(edge_values(layer, 0, 1, xi), want, rtol=1e-13, atol=1e-14)
