"""L-BFGS: Rosenbrock, least squares, the strong Wolfe line search, and a KAN fit."""

import numpy as np
import pytest

import numpykan as nk
from numpykan.optim import LBFGS, get_optimizer


def rosenbrock(n, start=None):
    """``f = sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2``, minimum 0 at ``x = 1``."""
    x0 = np.full(n, -1.2) if start is None else np.array(start, dtype=float)
    if start is None:
        x0[1::2] = 1.0
    params, grads = {"x": x0}, {}

    def closure():
        x = params["x"]
        r = x[1:] - x[:-1] ** 2
        g = np.zeros_like(x)
        g[:-1] = -400 * x[:-1] * r - 2 * (1 - x[:-1])        # d/dx_i
        g[1:] += 200 * r                                        # d/dx_{i+1}
        grads["x"] = g
        return float(np.sum(100 * r ** 2 + (1 - x[:-1]) ** 2))

    return params, grads, closure


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_rosenbrock_to_1e_10(n):
    params, grads, closure = rosenbrock(n)
    opt = LBFGS([(params, grads)], max_iter=1000, tolerance_grad=1e-13, tolerance_change=0.0)
    f = opt.step(closure)
    assert f < 1e-20
    np.testing.assert_allclose(params["x"], np.ones(n), rtol=0, atol=1e-10)
    assert opt.state["n_iter"] < 300


def test_least_squares_to_1e_10():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 25))
    b = rng.standard_normal(60)
    w_star = np.linalg.lstsq(A, b, rcond=None)[0]
    params, grads = {"w": np.zeros(25)}, {}

    def closure():                                             # 0.5 |A w - b|^2, residual != 0
        r = A @ params["w"] - b
        grads["w"] = A.T @ r
        return 0.5 * float(r @ r)

    opt = LBFGS([(params, grads)], max_iter=500, tolerance_grad=1e-12, tolerance_change=0.0)
    opt.step(closure)
    np.testing.assert_allclose(params["w"], w_star, rtol=0, atol=1e-10)


def test_several_groups_and_frozen_keys():
    a, b = {"u": np.array([3.0, -1.0])}, {"v": np.array([[2.0]]), "frozen": np.array([5.0])}
    ga, gb = {}, {}

    def closure():                                             # (u - 1)^2 + (v + 2)^2
        ga["u"] = 2 * (a["u"] - 1)
        gb["v"] = 2 * (b["v"] + 2)
        gb["frozen"] = None
        return float(np.sum((a["u"] - 1) ** 2) + np.sum((b["v"] + 2) ** 2))

    opt = get_optimizer("lbfgs", [(a, ga), (b, gb)])
    assert opt.step(closure) < 1e-20
    np.testing.assert_allclose(a["u"], [1.0, 1.0], atol=1e-10)
    np.testing.assert_allclose(b["v"], [[-2.0]], atol=1e-10)
    assert b["frozen"][0] == 5.0


def test_line_search_steps_satisfy_strong_wolfe():
    params, grads, closure = rosenbrock(4)
    opt = LBFGS([(params, grads)], max_iter=1)
    c1, c2 = opt.c1, opt.c2
    for _ in range(30):
        x0 = params["x"].copy()
        f0 = closure()
        g0 = grads["x"].copy()
        f1 = opt.step(closure)
        s = params["x"] - x0
        if not np.any(s):
            break
        g1 = grads["x"]                                        # grads belong to the new point
        assert f1 <= f0 + c1 * (g0 @ s) + 1e-13 * abs(f0)     # sufficient decrease
        assert abs(g1 @ s) <= c2 * abs(g0 @ s) + 1e-15         # strong curvature


def test_nan_loss_is_never_accepted():
    params, grads = {"x": np.array([0.5])}, {}

    def closure():                                             # log barrier: NaN for x > 1
        x = params["x"][0]
        grads["x"] = np.array([-1.0 / (1.0 - x) * -1 + 2 * (x - 0.9)])
        with np.errstate(invalid="ignore"):
            return float(-np.log(1.0 - x) + (x - 0.9) ** 2) if x < 1 else float("nan")

    opt = LBFGS([(params, grads)], lr=10.0, max_iter=50)
    f = opt.step(closure)
    assert np.isfinite(f) and params["x"][0] < 1.0


def test_step_needs_a_closure_and_validates_settings():
    params, grads, _ = rosenbrock(2)
    opt = LBFGS([(params, grads)])
    assert opt.needs_closure
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="c1 < c2"):
        LBFGS([(params, grads)], c1=0.9, c2=0.5)
    with pytest.raises(ValueError, match="line_search"):
        LBFGS([(params, grads)], line_search="armijo")


def test_lbfgs_fits_a_kan_much_better_than_its_start():
    ds = nk.create_dataset(lambda x: np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2),
                           n_var=2, train_num=500, test_num=200, seed=0)
    model = nk.KAN([2, 1, 1], grid=5, seed=0)
    x, y = ds["train_input"], ds["train_label"]
    start = model.loss_and_grad(x, y)
    opt = LBFGS(model.parameters(), max_iter=100)
    end = opt.step(lambda: model.loss_and_grad(x, y))
    assert end < 1e-3 * start
    assert model.last_loss["pred"] == pytest.approx(end)      # state belongs to the final point
