"""Input derivatives by hand: basis derivatives of any order, jets through a network, losses on them.

Every derivative is compared with central differences of the quantity one order
below it (float64, ~1e-6 relative) at points away from knots, and the fast
evaluators with the textbook recursion (~1e-12).
"""

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import numpykan as nk
from numpykan import bspline, derivatives
from numpykan.derivative_layers import FORMULA_DERIVATIVES, formula_derivatives
from numpykan.models.activations import DERIVATIVES
from numpykan.symbolic import SYMBOLIC_LIB, get_symbolic

from strategies import degrees, grid_and_points, intervals, knot_grid, points_between_knots


# ---------------------------------------------------------------------------
# basis derivatives of any order
# ---------------------------------------------------------------------------

@given(data=st.data(), k=degrees, G=intervals, uniform=st.booleans())
@example(data=None, k=5, G=1, uniform=True)
def test_every_order_equals_the_reference(data, k, G, uniform):
    """live-basis path == Cox-de Boor reference, every order 0 .. k + 1, points anywhere."""
    if data is None:                                           # the @example: a fixed draw
        grid = bspline.uniform_grid(G, k)[None, :]
        x = np.linspace(grid[0, 0] - 0.5, grid[0, -1] + 0.5, 23)[:, None]
    else:
        k, grid, x = data.draw(grid_and_points("mixed", uniform=uniform, k=k, G=G))
    for q in range(k + 2):
        ref = bspline.basis_reference(x, grid, k, order=q)    # (B, I, K)
        fast = bspline.basis_derivative(x, grid, k, order=q)
        scale = max(1.0, np.abs(ref).max())
        if q >= k and data is not None:                        # B^(k) jumps at knots: compare off them
            t = grid[:, None, :]
            off = np.min(np.abs(x.T[:, :, None] - t), axis=2).T > 1e-9   # (B, I)
            ref, fast = ref[off], fast[off]
        np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12 * scale, err_msg=f"order {q}")


@settings(max_examples=30)
@given(data=st.data(), k=st.integers(1, 5), G=intervals, uniform=st.booleans())
def test_order_q_is_the_central_difference_of_order_q_minus_1(data, k, G, uniform):
    grid = data.draw(knot_grid(1, G, k, uniform))              # (1, n)
    t = grid[0]
    x = data.draw(points_between_knots(t, 6))[:, None]         # (6, 1), 5% of a gap from knots
    e = 1e-4 * np.min(np.diff(t))                              # truncation ~ e^2 B^(q+2): 1e-8 relative
    dense = np.linspace(t[0], t[-1], 2001)[:, None]            # the size of B^(q) over the grid
    for q in range(1, k + 2):
        d = bspline.basis_derivative(x, grid, k, order=q)      # (6, 1, K)
        up = bspline.basis_derivative(x + e, grid, k, order=q - 1)
        down = bspline.basis_derivative(x - e, grid, k, order=q - 1)
        fd = (up - down) / (2 * e)
        scale = max(np.abs(bspline.basis_derivative(dense, grid, k, order=min(q, k))).max(), 1.0)
        assert np.abs(d - fd).max() <= 1e-6 * scale, (q, np.abs(d - fd).max(), scale)


def test_live_orders_share_the_training_path_values():
    """local_basis_orders gives the training path's values and first derivatives, uniform or not."""
    rng = np.random.default_rng(0)
    for grid in (np.tile(bspline.uniform_grid(6, 3), (2, 1)),
                 np.sort(rng.uniform(-3, 3, (2, 13)), axis=1)):
        x = rng.uniform(grid[:, 0].min() - 0.3, grid[:, -1].max() + 0.3, (50, 2))
        train = bspline.local_basis(x, grid, 3, derivative=True)
        orders = bspline.local_basis_orders(x, grid, 3, (1, 2))
        assert sorted(orders.orders) == [0, 1, 2]
        np.testing.assert_array_equal(orders.start, train.start)
        np.testing.assert_allclose(orders.values, train.values, atol=1e-14)
        np.testing.assert_allclose(orders.derivs, train.derivs, atol=1e-12)


def test_order_past_k_is_zero_and_piece_matrices():
    x = np.linspace(-0.9, 0.9, 7)[:, None]
    assert not bspline.basis_derivative(x, bspline.uniform_grid(5, 2), 2, order=3).any()
    M = bspline.piece_derivative_matrix(3, 3) * 6              # B''' = h^-3 (-1, 3, -3, 1)
    np.testing.assert_array_equal(M[:, 0], [-6, 18, -18, 6])
    assert bspline.piece_derivative_matrix(3, 4).shape == (4, 0)
    np.testing.assert_array_equal(bspline.piece_derivative_matrix(3, 0), bspline.piece_matrix(3))


@pytest.mark.parametrize("order, exc, match", [
    (-1, ValueError, r"order must lie in 0 \.\. k \+ 1 = 4 .* got -1"),
    (5, ValueError, r"order must lie in 0 \.\. k \+ 1 = 4 .* got 5"),
    (1.0, TypeError, "order must be an int"),
    (True, TypeError, "order must be an int"),
])
def test_bad_orders_are_refused(order, exc, match):
    x, t = np.zeros((2, 1)), bspline.uniform_grid(5, 3)
    with pytest.raises(exc, match=match):
        bspline.basis_derivative(x, t, 3, order=order)
    with pytest.raises(exc, match=match):
        bspline.basis_reference(x, t, 3, order=order)
    with pytest.raises(exc, match="orders must hold ints" if exc is TypeError else
                       match.replace("order", "orders")):
        bspline.local_basis_orders(x, t, 3, [0, order])


# ---------------------------------------------------------------------------
# base functions and formula edges up to the third derivative
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_base_function_derivatives(name):
    x = np.linspace(-3.1, 3.3, 41)                             # 0 is not a point: relu's kink
    e = 1e-6
    f = DERIVATIVES[name]
    vals, up, down = f(x), f(x + e), f(x - e)
    for q in range(3):
        np.testing.assert_allclose(vals[q + 1], (up[q] - down[q]) / (2 * e), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name}: order {q + 1}")


_SAFE = {"1/x": (0.3, 3), "1/x^2": (0.3, 3), "sqrt": (0.3, 3), "log": (0.3, 3), "tan": (-1.3, 1.3),
         "abs": (0.2, 2), "sgn": (0.2, 2)}


@pytest.mark.parametrize("name", sorted(SYMBOLIC_LIB))
def test_formula_second_and_third_derivatives(name):
    lo, hi = _SAFE.get(name, (-2.0, 2.0))
    u = np.concatenate([np.linspace(lo, hi, 17), -np.linspace(lo, hi, 17) if lo > 0 else []])
    e = 1e-6 * max(1.0, np.abs(u).max())
    F = formula_derivatives(name, u, 3)                        # f, f', f'', f'''
    up, down = formula_derivatives(name, u + e, 3), formula_derivatives(name, u - e, 3)
    np.testing.assert_allclose(F[1], get_symbolic(name).df(u))
    for q in (1, 2):
        fd = (up[q] - down[q]) / (2 * e)
        np.testing.assert_allclose(F[q + 1], fd, rtol=1e-6, atol=1e-7 * max(1.0, np.abs(fd).max()),
                                   err_msg=f"{name}: order {q + 1}")
    assert set(SYMBOLIC_LIB) <= set(FORMULA_DERIVATIVES)


def test_a_formula_without_higher_derivatives_is_named():
    nk.symbolic.add_symbolic("sinh_test", np.sinh, np.cosh, 3, "sinh({x})")
    try:
        with pytest.raises(ValueError, match="'sinh_test' has no second and third derivatives"):
            formula_derivatives("sinh_test", np.zeros(3), 2)
        nk.derivative_layers.register_formula_derivatives("sinh_test", np.sinh, np.cosh)
        np.testing.assert_allclose(formula_derivatives("sinh_test", np.ones(1), 3)[3], np.cosh(1))
    finally:
        nk.symbolic.SYMBOLIC_LIB.pop("sinh_test", None)
        FORMULA_DERIVATIVES.pop("sinh_test", None)


# ---------------------------------------------------------------------------
# jets through a network
# ---------------------------------------------------------------------------

def _kan(k, width=(2, 3, 2), G=5, seed=0, formulas=False):
    model = nk.KAN(list(width), grid=G, k=k, seed=seed)
    rng = np.random.default_rng(seed + 10)
    for layer in model.layers:
        layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)   # splines that matter
    if formulas:
        model.fix_symbolic(0, 0, 1, "sin", fit_params=False)
        model.fix_symbolic(0, 1, 0, "x^2", fit_params=False)
        model.fix_symbolic(1, 2, 0, "tanh", fit_params=False)
        for layer in model.layers[:2]:
            layer.symbolic.params["abcd"][...] = rng.uniform(0.5, 1.5, layer.symbolic.params["abcd"].shape)
    return model


def _away_from_knots(model, n, seed, margin=1e-3):
    """``n`` points in (-0.9, 0.9)^I whose every layer input is ``margin`` away from all knots."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 0.9, (4 * n, model.width[0]))
    h, keep = x, np.ones(len(x), bool)
    for layer in model.layers:
        if hasattr(layer, "grid"):
            keep &= np.min(np.abs(h[:, :, None] - layer.grid[None]), axis=2).min(axis=1) > margin
        h = layer.forward(h, cache=False)
    return x[keep][:n]


MODELS = {
    "kan_k2": lambda: _kan(2),
    "kan_k3": lambda: _kan(3, width=(2, 3, 2, 1)),
    "kan_k5": lambda: _kan(5, G=4),
    "kan_formulas": lambda: _kan(3, formulas=True),
    "mlp_tanh": lambda: nk.MLP([2, 5, 4, 2], activation="tanh", seed=0),
    "mlp_silu": lambda: nk.MLP([2, 6, 1], activation="silu", seed=1),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_jacobian_and_hessian_diagonal_match_finite_differences(name):
    model = MODELS[name]()
    x = _away_from_knots(model, 8, seed=1)                     # (8, 2)
    jet = derivatives.input_derivatives(model, x)
    np.testing.assert_allclose(jet.u, model.predict(x), rtol=1e-13, atol=1e-13)
    e = 1e-6
    J_fd, H_fd = np.zeros_like(jet.J), np.zeros_like(jet.H)    # (B, O, I)
    for d in range(x.shape[1]):
        dx = np.zeros_like(x)
        dx[:, d] = e
        J_fd[:, :, d] = (model.predict(x + dx) - model.predict(x - dx)) / (2 * e)
        H_fd[:, :, d] = (model.jacobian(x + dx)[:, :, d] - model.jacobian(x - dx)[:, :, d]) / (2 * e)
    for got, fd in ((jet.J, J_fd), (jet.H, H_fd)):
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    np.testing.assert_array_equal(model.jacobian(x), jet.J)
    np.testing.assert_array_equal(model.hessian_diag(x), jet.H)
    np.testing.assert_allclose(model.laplacian(x), jet.H.sum(axis=2), rtol=1e-15)
    assert model.laplacian(x).shape == (8, model.width[-1])


def _loss_on_everything(jet, x, y):
    """L = mean_b [ (lap u_0 - y)^2 + 0.3 |J|^2 + 0.2 |u|^2 ] + 0.1 mean(x^2), every input used."""
    B = x.shape[0]
    r = jet.H.sum(axis=2)[:, 0] - y                            # (B,)
    gH = np.zeros_like(jet.H)
    gH[:, 0, :] = (2 * r / B)[:, None]
    value = np.mean(r ** 2) + 0.3 * np.sum(jet.J ** 2) / B + 0.2 * np.sum(jet.u ** 2) / B \
        + 0.1 * np.mean(x ** 2)
    return float(value), {"u": 0.4 * jet.u / B, "J": 0.6 * jet.J / B, "H": gH,
                          "x": 0.2 * x / x.size}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_derivative_loss_gradients_match_finite_differences(name):
    model = MODELS[name]()
    x = _away_from_knots(model, 6, seed=2)
    y = np.random.default_rng(3).normal(size=x.shape[0])
    loss = derivatives.DerivativeLoss(_loss_on_everything, order=2)
    report = nk.check_model(model, x, y, loss=loss, input_grad=True, atol=1e-8)
    assert report.ok, str(report)
    names = {r.name for r in report.rows}
    assert "x" in names
    if name == "kan_formulas":
        assert {"layer0.symbolic.abcd", "layer1.symbolic.abcd"} <= names
    # the value the loss reports is the function that was checked
    assert loss(model, x, y) == pytest.approx(loss.loss_and_grad(model, x, y), rel=1e-14)


def test_jacobian_loss_order_one_and_boundary_value_loss_order_zero():
    model = _kan(3)
    x = _away_from_knots(model, 5, seed=4)

    def dirichlet(jet, x, y):                                  # L = mean |J|^2 (order 1)
        return float(np.mean(jet.J ** 2)), {"J": 2 * jet.J / jet.J.size}

    def values(jet, x, y):                                     # L = mean u^3 (order 0)
        return float(np.mean(jet.u ** 3)), {"u": 3 * jet.u ** 2 / jet.u.size}

    for fn, order in ((dirichlet, 1), (values, 0)):
        loss = derivatives.DerivativeLoss(fn, order=order)
        assert nk.check_model(model, x, loss=loss, input_grad=True).ok


def test_grads_land_in_the_layers_dicts_and_sum_over_terms():
    model = _kan(3)
    x = _away_from_knots(model, 5, seed=5)
    ids = [id(g) for _, g in model.parameters()]
    jet, tape = derivatives.forward(model, x, 2, backward=True)
    _, g1 = derivatives.backward(tape, gu=np.ones_like(jet.u))
    jet0, tape0 = derivatives.forward(model, x, 0, backward=True)
    _, g0 = derivatives.backward(tape0, gu=np.ones_like(jet0.u))
    derivatives.assign_grads(g1, g1)
    assert [id(g) for _, g in model.parameters()] == ids       # same dicts (optimizers hold them)
    twice = model.layers[0].grads["coef"].copy()
    derivatives.assign_grads(g0)
    np.testing.assert_allclose(twice, 2 * model.layers[0].grads["coef"], rtol=1e-12)
    # order 0 is the ordinary backward pass: the same gradients as model.backward
    model.forward(x)
    model.backward(np.ones((x.shape[0], model.width[-1])))
    np.testing.assert_allclose(model.layers[0].grads["coef"], g0[0][1]["coef"], rtol=1e-12, atol=1e-15)


def test_a_derivative_loss_leaves_frozen_parameters_without_gradient():
    """Frozen w_b / w_s (sp_trainable / sb_trainable): None, not computed; the rest as unfrozen."""
    x = _away_from_knots(_kan(3), 5, seed=6)
    y = np.random.default_rng(7).normal(size=x.shape[0])
    loss = derivatives.DerivativeLoss(_loss_on_everything, order=2)
    free, frozen = _kan(3), _kan(3)
    frozen.layers[0].set_trainable(sb_trainable=False)
    frozen.layers[1].set_trainable(sp_trainable=False)
    assert loss.loss_and_grad(frozen, x, y) == loss.loss_and_grad(free, x, y)
    for l, key in ((0, "w_b"), (1, "w_s")):
        assert frozen.layers[l].grads[key] is None
        for other in set(free.layers[l].grads) - {key}:
            np.testing.assert_array_equal(frozen.layers[l].grads[other], free.layers[l].grads[other])
    report = nk.check_model(frozen, x, y, loss=loss, input_grad=True, atol=1e-8)
    assert report.ok, str(report)
    assert {"layer0.w_b", "layer1.w_s"}.isdisjoint(r.name for r in report.rows)


# ---------------------------------------------------------------------------
# on a knot
# ---------------------------------------------------------------------------

def _edge(k, G=4):
    model = nk.KAN([1, 1], grid=G, k=k, seed=0, base_fun="zero")
    model.layers[0].params["coef"][...] = np.random.default_rng(1).normal(0, 1, model.layers[0].coef.shape)
    return model


def _laplacian_squared(jet, x, y):
    lap = jet.H[:, 0, 0]                                       # (B,) one input: lap u = u''
    return float(np.sum(lap ** 2)), {"H": 2 * lap[:, None, None]}


@pytest.mark.parametrize("k, x_ok", [(2, False), (3, False), (5, True)])
def test_a_laplacian_loss_on_a_knot(k, x_ok):
    """On a knot, dL/dx of L = (u'')^2 needs u''' continuous: k >= 4.

    Parameter gradients only need u'' at the fixed point, which is a one-sided
    value the loss itself uses, so they pass for every k; dL/dx fails for k = 2
    (u'' jumps: the difference quotient of L is the jump over 2 eps) and k = 3
    (u''' jumps) and passes for k = 5; the report names the knot.
    """
    model = _edge(k)
    x = model.layers[0].grid[:, [k + 2]].T.copy()              # (1, 1): an interior knot
    loss = derivatives.DerivativeLoss(_laplacian_squared, order=2)
    report = nk.check_model(model, x, loss=loss, input_grad=True)
    rows = {r.name: r for r in report.rows}
    assert rows["layer0.coef"].ok and rows["layer0.w_s"].ok
    assert rows["x"].ok is x_ok, str(report)
    assert any("layer 0 input 0: 1 of 1 points lie within" in n for n in report.notes)
    assert any(("expect a mismatch" if k < 4 else "harmless") in n for n in report.notes)
    away = x + 0.37 * (model.layers[0].grid[0, 1] - model.layers[0].grid[0, 0])
    assert nk.check_model(model, away, loss=loss, input_grad=True).ok   # off the knot: all pass


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def test_bad_input_is_named():
    model = _kan(3)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 2\), got shape \(4, 3\)"):
        model.laplacian(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="order must be 0"):
        derivatives.forward(model, np.zeros((4, 2)), order=3)
    with pytest.raises(TypeError, match="order must be an int"):
        derivatives.DerivativeLoss(_laplacian_squared, order=2.0)
    with pytest.raises(TypeError, match="fn must be a callable"):
        derivatives.DerivativeLoss("laplacian")
    loss = derivatives.DerivativeLoss(lambda jet, x, y: float(jet.u.sum()))
    with pytest.raises(TypeError, match=r"fn must return \(value, grads\)"):
        loss.loss_and_grad(model, np.zeros((4, 2)))
    jet, tape = derivatives.forward(model, np.zeros((4, 2)), 1, backward=True)
    with pytest.raises(ValueError, match=r"gJ must have shape \(4, 2, 2\)"):
        derivatives.backward(tape, gJ=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="order 1; gJ needs order >= 1 and gH order 2"):
        derivatives.backward(tape, gH=np.zeros((4, 2, 2)))


def test_float32_model_refused_by_the_finite_difference_check():
    model = nk.KAN([2, 3, 1], grid=5, k=3, seed=0, dtype=np.float32)
    x = np.random.default_rng(0).uniform(-0.9, 0.9, (4, 2))
    loss = derivatives.DerivativeLoss(_loss_on_everything)
    assert model.laplacian(x).dtype == np.float32              # the derivatives themselves work
    with pytest.raises(TypeError, match="float64"):
        nk.check_model(model, x, np.zeros(4), loss=loss)
    with pytest.raises(TypeError, match=r"x \(perturbed in place by input_grad=True\) has dtype float32"):
        nk.check_model(_kan(3, width=(2, 3, 1)), x.astype(np.float32), np.zeros(4), loss=loss,
                       input_grad=True)


def test_a_stale_tape_is_refused():
    model = _kan(3)
    x = np.zeros((3, 2))
    _, old = derivatives.forward(model, x, 2, backward=True)
    derivatives.forward(model, x + 0.1, 2, backward=True)       # reuses the layers' jet arrays
    with pytest.raises(RuntimeError, match="reused by a later forward"):
        derivatives.backward(old, gu=np.ones((3, 2)))
    derivatives.forward(model, x, 2)                            # no backward: fresh arrays, no harm


def test_the_derivative_benchmark_runs():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_derivatives.py"
    spec = importlib.util.spec_from_file_location("bench_derivatives", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    plain, lap, runs = bench.bench([2, 2, 1], 7, 5, 0.0)
    assert runs >= 20 and plain > 0 and lap > 0
