"""Tests of numpykan.MLP: gradients by finite differences, size, interface, refusals."""

import numpy as np
import pytest

import numpykan as nk
from numpykan import MLP
from numpykan.gradcheck import check_model

ACTIVATIONS = ["silu", "tanh", "relu", "identity", "zero"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_gradcheck(activation, loss):
    width = [3, 6, 5, 2 if loss == "mse" else 4]
    mlp = MLP(width, activation=activation, seed=0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    y = rng.normal(size=(8, 2)) if loss == "mse" else rng.integers(0, 4, 8)
    if activation == "relu":                                   # keep pre-activations off the kink
        mlp.forward(x)
        z = [layer.cache[1] for layer in mlp.layers[:-1]]
        assert min(np.min(np.abs(zz)) for zz in z) > 1e-4
    report = check_model(mlp, x, y, loss, rtol=1e-6, atol=1e-9, mode="elementwise")
    assert report.ok, str(report)


def test_input_gradient():
    mlp = MLP([2, 5, 1], activation="tanh", seed=0)
    x = np.random.default_rng(0).normal(size=(4, 2))
    mlp.forward(x)
    dx = mlp.backward(np.ones((4, 1))).copy()
    report = nk.gradcheck(lambda: float(np.sum(mlp.forward(x))), {"x": x}, {"x": dx})
    assert report.ok, str(report)


def test_loss_and_grad_input_grad_flag():
    mlp = MLP([3, 4, 2], seed=0)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    mlp.loss_and_grad(x, y, input_grad=True)
    dx = mlp.grad_input.copy()
    grads = [dict(layer.grads) for layer in mlp.layers]
    mlp.loss_and_grad(x, y)                                    # default: no dL/dx
    assert mlp.grad_input is None
    for g, layer in zip(grads, mlp.layers):
        for key in g:
            np.testing.assert_array_equal(layer.grads[key], g[key])
    report = nk.gradcheck(lambda: mlp.loss_and_grad(x, y), {"x": x}, {"x": dx})
    assert report.ok, str(report)


def test_num_parameters():
    assert MLP([2, 30, 1]).num_parameters() == 121
    assert MLP([3, 4, 5, 2]).num_parameters() == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2


def test_shapes_init_and_parameters():
    mlp = MLP([2, 30, 1], seed=0)
    params = mlp.parameters()
    assert len(params) == 2
    assert params[0][0]["W"].shape == (2, 30) and params[0][0]["b"].shape == (30,)
    assert params[1][0]["W"].shape == (30, 1) and params[1][0]["b"].shape == (1,)
    assert np.all(np.abs(params[0][0]["W"]) <= 1 / np.sqrt(2))
    assert np.all(np.abs(params[1][0]["W"]) <= 1 / np.sqrt(30))
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(mlp(x), mlp.forward(x))
    assert mlp(x).shape == (5, 1)
    same, other = MLP([2, 30, 1], seed=0), MLP([2, 30, 1], seed=1)
    np.testing.assert_array_equal(same(x), mlp(x))
    assert not np.array_equal(other(x), mlp(x))


def test_output_layer_is_linear():
    mlp = MLP([1, 4, 1], activation="relu", seed=0)
    x = np.linspace(-3, 3, 7)[:, None]
    h = np.maximum(x @ mlp.layers[0].params["W"] + mlp.layers[0].params["b"], 0)
    want = h @ mlp.layers[1].params["W"] + mlp.layers[1].params["b"]
    np.testing.assert_allclose(mlp(x), want, rtol=1e-14, atol=1e-15)


def test_lamb_refused():
    mlp = MLP([2, 3, 1], seed=0)
    x, y = np.zeros((4, 2)), np.zeros((4, 1))
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in mlp.layers]
    with pytest.raises(ValueError, match=r"lamb must be 0 for an MLP"):
        mlp.loss_and_grad(x, y, lamb=0.1)
    data = {"train_input": x, "train_label": y}
    with pytest.raises(ValueError, match=r"lamb must be 0"):
        mlp.fit(data, steps=2, lamb=0.1, verbose=False)
    for b, layer in zip(before, mlp.layers):
        for key in b:
            np.testing.assert_array_equal(b[key], layer.params[key])


def test_float32():
    mlp = MLP([2, 8, 1], seed=0, dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(6, 2))
    assert mlp(x).dtype == np.float32
    mlp.loss_and_grad(x, np.zeros((6, 1)))
    assert all(g.dtype == np.float32 for layer in mlp.layers for g in layer.grads.values())


@pytest.mark.parametrize("x, match", [
    (np.zeros((3, 3)), r"\bx\b must have shape \(batch, 2\)"),
    (np.zeros(2), r"\bx\b must be 2-D"),
    (np.array([[0.0, np.nan]]), r"\bx\b contains NaN"),
])
def test_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        MLP([2, 3, 1]).forward(x)


def test_bad_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([2, 3, 1], activation="gelu")


def test_fit_learns():
    data = nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]) * x[:, 1], n_var=2,
                             train_num=200, test_num=200, seed=0)
    mlp = MLP([2, 16, 1], activation="tanh", seed=0)
    h = mlp.fit(data, steps=200, lr=1e-2, log=200, verbose=False)
    base = float(np.mean((data["test_label"] - data["test_label"].mean()) ** 2))
    assert h["test_loss"][-1] < 0.5 * base
