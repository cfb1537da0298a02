"""Tests of numpykan.training.regmetrics: each metric's value by pykan's formula, its gradient by
finite differences (into the activations, the layer input, every parameter and the data)."""

import math

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN
from numpykan.gradcheck import check_model, gradcheck
from numpykan.training import regmetrics as rm
from numpykan.training.regularization import l1_entropy

PYKAN_METRICS = ["edge_forward_spline_n", "edge_forward_spline_u"]
ALL_GRAD_METRICS = ["paper"] + PYKAN_METRICS


# ---------------------------------------------------------------------------
# an independent oracle: pykan's formulas with loops, in pykan's (out, in) layout
# ---------------------------------------------------------------------------

def _std(values):
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))   # torch.std: unbiased


def _pykan_reg(V_oi, lamb_l1, lamb_entropy):
    """pykan's ``reg`` for one layer: V_oi[j][i] with j = output (subnode), i = input."""
    O, I = len(V_oi), len(V_oi[0])
    l1 = sum(sum(row) for row in V_oi)
    row_sums = [sum(V_oi[j]) + 1 for j in range(O)]
    col_sums = [sum(V_oi[j][i] for j in range(O)) + 1 for i in range(I)]
    h_row = -sum(sum((V_oi[j][i] / row_sums[j]) * math.log2(V_oi[j][i] / row_sums[j] + 1e-4)
                     for i in range(I)) for j in range(O)) / O
    h_col = -sum(sum((V_oi[j][i] / col_sums[i]) * math.log2(V_oi[j][i] / col_sums[i] + 1e-4)
                     for j in range(O)) for i in range(I)) / I
    return lamb_l1 * l1 + lamb_entropy * (h_row + h_col)


def _oracle_spline_n(A, x, l1, ent):
    B, I, O = A.shape
    V = [[_std(list(A[:, i, j])) / (_std(list(x[:, i])) + 0.1) for i in range(I)] for j in range(O)]
    return _pykan_reg(V, l1, ent)


def _oracle_spline_u(A, l1, ent):
    B, I, O = A.shape
    return _pykan_reg([[_std(list(A[:, i, j])) for i in range(I)] for j in range(O)], l1, ent)


def _oracle_coef(coef, lc, ld):
    I, O, K = coef.shape
    c1 = sum(sum(abs(coef[i, j, m]) for j in range(O)) / O for i in range(I) for m in range(K))
    c2 = sum(sum(abs(coef[i, j, m + 1] - coef[i, j, m]) for j in range(O)) / O
             for i in range(I) for m in range(K - 1))
    return lc * c1 + ld * c2


def _randomized(model, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.params["coef"][...] = scale * rng.normal(size=layer.coef.shape)
    return model


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("l1, ent", [(1.0, 2.0), (0.0, 1.0), (0.7, 0.0)])
def test_values_match_pykans_formulas(l1, ent):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(7, 3, 4)) * rng.uniform(0.1, 2.0, size=(1, 3, 4))
    x = rng.uniform(-1, 1, (7, 3))
    R, _, _ = rm.spline_n(A, x, l1, ent)
    assert R == pytest.approx(_oracle_spline_n(A, x, l1, ent), rel=1e-12)
    R, _ = rm.spline_u(A, l1, ent)
    assert R == pytest.approx(_oracle_spline_u(A, l1, ent), rel=1e-12)
    assert rm.forward_sum(A, x, l1, ent) == pytest.approx(_oracle_spline_n(A, x, l1, ent), rel=1e-12)
    coef = rng.normal(size=(3, 4, 5))
    C, _ = rm.coef_penalty(coef, 0.3, 0.9)
    assert C == pytest.approx(_oracle_coef(coef, 0.3, 0.9), rel=1e-12)


def test_known_values():
    """One input, two outputs with stds 1 and 3, input std 0.9 (so V = s): l1 = 4,
    H^o = 0 (each output has one input: p = 1/2 ... normalized by sum + 1)."""
    A = np.array([[[1.0, 3.0]], [[-1.0, -3.0]]])               # (2, 1, 2): stds sqrt(2), 3 sqrt(2)
    V = np.array([[np.sqrt(2.0), 3 * np.sqrt(2.0)]])           # (I, O) = (1, 2)
    R, _ = rm.pykan_penalty(V, 1.0, 0.0)
    assert R == pytest.approx(4 * np.sqrt(2.0), rel=1e-15)
    assert rm.spline_u(A, 1.0, 0.0)[0] == pytest.approx(4 * np.sqrt(2.0), rel=1e-15)
    # per output j the group is {V_0j}: p = V / (V + 1)
    p = V / (V + 1)
    Ho = float(-(p * np.log2(p + 1e-4)).sum()) / 2
    q = V / (V.sum() + 1)
    Hi = float(-(q * np.log2(q + 1e-4)).sum()) / 1
    assert rm.pykan_penalty(V, 0.0, 1.0)[0] == pytest.approx(Ho + Hi, rel=1e-14)


def test_zero_edges_add_nothing_and_stay_finite():
    """A dead edge (std 0) adds 0 * log2(1e-4) = 0; every gradient stays finite, 0 at the edge."""
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 2, 3))
    A[:, 1, 2] = 0.0                                           # a pruned edge: std exactly 0
    x = rng.uniform(-1, 1, (6, 2))
    with np.errstate(all="raise"):
        R, dA, dx = rm.spline_n(A, x)
        Ru, dAu = rm.spline_u(A)
    assert R == pytest.approx(_oracle_spline_n(A, x, 1.0, 2.0), rel=1e-12)
    assert Ru == pytest.approx(_oracle_spline_u(A, 1.0, 2.0), rel=1e-12)
    for g in (dA, dx, dAu):
        assert np.all(np.isfinite(g))
    assert np.all(dA[:, 1, 2] == 0) and np.all(dAu[:, 1, 2] == 0)
    V = np.zeros((3, 2))
    assert rm.pykan_penalty(V)[0] == 0.0


# ---------------------------------------------------------------------------
# gradients of the building blocks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("l1, ent", [(1.0, 2.0), (0.0, 1.0), (1.0, 0.0)])
def test_spline_n_gradient_into_A_and_x(l1, ent):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(8, 3, 2))
    x = rng.uniform(-1, 1, (8, 3))
    _, dA, dx = rm.spline_n(A, x, l1, ent)
    report = gradcheck(lambda: rm.spline_n(A, x, l1, ent)[0], {"A": A, "x": x}, {"A": dA, "x": dx},
                       rtol=1e-6, atol=1e-9, mode="elementwise")
    assert report.ok, str(report)


def test_spline_u_and_coef_gradients():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(9, 2, 3))
    _, dA = rm.spline_u(A, 0.8, 1.7)
    report = gradcheck(lambda: rm.spline_u(A, 0.8, 1.7)[0], {"A": A}, {"A": dA}, rtol=1e-6,
                       atol=1e-9, mode="elementwise")
    assert report.ok, str(report)
    coef = rng.normal(size=(2, 3, 6))                          # generic: away from |.|'s kinks
    _, dcoef = rm.coef_penalty(coef, 0.4, 1.3)
    report = gradcheck(lambda: rm.coef_penalty(coef, 0.4, 1.3)[0], {"coef": coef},
                       {"coef": dcoef}, rtol=1e-6, atol=1e-9, mode="elementwise")
    assert report.ok, str(report)
    assert rm.coef_penalty(coef, 0.0, 0.0) == (0.0, None)


def test_std_backward_matches_numpy_and_is_zero_on_constants():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(5, 3))
    a[:, 2] = 1.5
    s, back = rm.std_and_backward(a)
    np.testing.assert_allclose(s, a.std(axis=0, ddof=1), rtol=1e-14, atol=1e-15)
    g = back(np.ones(3))
    assert np.all(g[:, 2] == 0)
    report = gradcheck(lambda: float(rm.std_and_backward(a)[0][:2].sum()), {"a": a},
                       {"a": np.concatenate([g[:, :2], np.zeros((5, 1))], axis=1)}, rtol=1e-6,
                       atol=1e-9, mode="elementwise")
    assert report.ok, str(report)


# ---------------------------------------------------------------------------
# through a whole model
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ALL_GRAD_METRICS)
@pytest.mark.parametrize("coefs", [(0.0, 0.0), (0.5, 0.7)], ids=["no_coef", "coef"])
def test_model_parameter_gradients(metric, coefs):
    model = _randomized(KAN([3, 4, 2], grid=4, k=3, seed=1), seed=2)
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.95, 0.95, (16, 3))
    y = rng.normal(size=(16, 2))
    report = check_model(model, x, y, lamb=0.3, reg_metric=metric, lamb_coef=coefs[0],
                         lamb_coefdiff=coefs[1], rtol=1e-6, atol=1e-9, mode="elementwise")
    assert report.ok, str(report)
    assert model.last_loss["reg"] > 0


@pytest.mark.parametrize("metric", ALL_GRAD_METRICS)
def test_model_input_gradient_with_formula_edges(metric):
    """dL/dx of the data, through three layers and a formula edge (which spline_n leaves out)."""
    model = _randomized(KAN([2, 3, 2, 1], grid=4, k=3, seed=5), seed=6)
    model.fix_symbolic(1, 1, 0, "sin", fit_params=False)
    model.layers[1].symbolic.params["abcd"][0] = [1.3, 0.2, 0.8, -0.1]
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.9, 0.9, (12, 2))
    y = rng.normal(size=(12, 1))

    def f():
        return model.loss_and_grad(x, y, lamb=0.2, reg_metric=metric, lamb_coef=0.1,
                                   input_grad=True)

    f()
    report = gradcheck(f, {"x": x}, {"x": model.grad_input.copy()}, rtol=1e-6, atol=1e-9,
                       mode="elementwise")
    assert report.ok, str(report)
    report = check_model(model, x, y, lamb=0.2, reg_metric=metric, lamb_coef=0.1, rtol=1e-6,
                         atol=1e-9, mode="elementwise")
    assert report.ok, str(report)


def test_formula_edges_count_for_spline_u_not_spline_n():
    model = _randomized(KAN([2, 3, 1], grid=4, k=3, seed=8), seed=9)
    x = np.random.default_rng(10).uniform(-1, 1, (20, 2))
    layer = model.layers[0]
    model.forward(x)
    n0, _ = rm.layer_regularization(layer, "edge_forward_spline_n")
    u0, _ = rm.layer_regularization(layer, "edge_forward_spline_u")
    model.fix_symbolic(0, 0, 1, "x", fit_params=False)         # the spline at (0, 0, 1) is masked
    layer.symbolic.params["abcd"][0] = [1.0, 0.0, 5.0, 0.0]    # a big formula edge
    model.forward(x)
    n1, _ = rm.layer_regularization(layer, "edge_forward_spline_n")
    u1, _ = rm.layer_regularization(layer, "edge_forward_spline_u")
    A = layer.activations(symbolic=False)
    assert np.all(A[:, 0, 1] == 0)                             # the spline part is gone
    assert n1 < n0                                             # spline_n: the edge vanished
    assert u1 > u0                                             # spline_u: it grew


def test_default_metric_is_the_papers():
    model = _randomized(KAN([2, 3, 1], grid=4, k=3, seed=0))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (20, 2)), np.zeros((20, 1))
    assert rm.DEFAULT_METRIC == "paper"
    total = model.loss_and_grad(x, y, lamb=0.1)
    reg = sum(l1_entropy(layer.activations())[0] for layer in model.layers)
    assert total == pytest.approx(model.last_loss["pred"] + 0.1 * reg, rel=1e-12)
    assert model.loss_and_grad(x, y, lamb=0.1, reg_metric="paper") == total


def test_edge_forward_sum_is_reported_but_trains_nothing():
    model = _randomized(KAN([2, 3, 1], grid=4, k=3, seed=0))
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, (20, 2)), rng.normal(size=(20, 1))
    model.loss_and_grad(x, y)
    plain = [{k: v.copy() for k, v in layer.grads.items()} for layer in model.layers]
    total = model.loss_and_grad(x, y, lamb=0.5, reg_metric="edge_forward_sum")
    R = sum(rm.forward_sum(layer.activations(), layer.cache["x"]) for layer in model.layers)
    assert total == pytest.approx(model.last_loss["pred"] + 0.5 * R, rel=1e-12)
    for layer, g in zip(model.layers, plain):
        for key in g:
            np.testing.assert_array_equal(layer.grads[key], g[key])


def test_coef_penalty_reaches_every_layer_with_any_metric():
    model = _randomized(KAN([2, 3, 1], grid=4, k=3, seed=0))
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, (20, 2)), rng.normal(size=(20, 1))
    base = model.loss_and_grad(x, y, lamb=0.5)
    g0 = [layer.grads["coef"].copy() for layer in model.layers]
    total = model.loss_and_grad(x, y, lamb=0.5, lamb_coef=2.0)
    C = sum(_oracle_coef(layer.coef, 2.0, 0.0) for layer in model.layers)
    assert total == pytest.approx(base + 0.5 * C, rel=1e-12)
    for layer, g in zip(model.layers, g0):
        np.testing.assert_allclose(layer.grads["coef"] - g,
                                   0.5 * 2.0 * np.sign(layer.coef) / layer.out_dim, atol=1e-15)


# ---------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------

def test_unknown_metric_and_bad_weights_are_refused_before_anything_changes():
    model = KAN([2, 3, 1], grid=3, seed=0)
    data = nk.create_dataset(lambda x: x[:, 0], n_var=2, train_num=20, test_num=10, seed=0)
    x, y = data["train_input"], data["train_label"]
    with pytest.raises(ValueError, match="reg_metric must be one of .*'l2'"):
        model.loss_and_grad(x, y, lamb=0.1, reg_metric="l2")
    with pytest.raises(ValueError, match="reg_metric"):
        model.regularization(reg_metric="edge_backward")
    with pytest.raises(ValueError, match="reg_metric"):
        model.loss_and_grad(x, y, reg_metric=3)
    before = [layer.grid.copy() for layer in model.layers], model.state()
    for kw, name in ((dict(reg_metric="edge_forward_spline"), "reg_metric"),
                     (dict(lamb_coef=-1.0), "lamb_coef"),
                     (dict(lamb_coefdiff=float("nan")), "lamb_coefdiff")):
        with pytest.raises(ValueError, match=name):
            model.fit(data, opt="Adam", steps=3, lamb=0.1, verbose=False, **kw)
    assert all(np.array_equal(a, layer.grid) for a, layer in zip(before[0], model.layers))
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(before[1], model.state()) for k in a)
    with pytest.raises(ValueError, match="lamb_coef"):
        model.loss_and_grad(x, y, lamb=0.1, lamb_coef=float("inf"))


def test_std_metrics_need_two_samples():
    model = KAN([2, 3, 1], grid=3, seed=0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        model.loss_and_grad(np.zeros((1, 2)), np.zeros((1, 1)), lamb=0.1,
                            reg_metric="edge_forward_spline_u")


def test_fit_records_the_regularizer_of_the_chosen_metric():
    data = nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]), n_var=2, train_num=60,
                             test_num=20, seed=0)
    runs = {}
    for metric in ("paper", "edge_forward_spline_n"):
        model = KAN([2, 3, 1], grid=3, seed=0)
        runs[metric] = model.fit(data, opt="Adam", steps=5, lr=1e-2, lamb=0.01, reg_metric=metric,
                                 log=5, verbose=False)["reg"][-1]
    assert all(r > 0 for r in runs.values())
    assert runs["paper"] != runs["edge_forward_spline_n"]
