"""Tests of numpykan.gradcheck: it passes correct gradients and catches wrong ones."""


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from numpykan.gradcheck import GradcheckReport, check_model, gradcheck, numerical_gradient
from numpykan.losses import mse


def _problem(seed=0):
    """f(W, b) = sum tanh(X W + b)^2 / 2, with its analytic gradient."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, 3))
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}

    def f():
        h = np.tanh(X @ params["W"] + params["b"])          # (5, 2)
        return float(0.5 * np.sum(h ** 2))

    def grad():
        h = np.tanh(X @ params["W"] + params["b"])          # (5, 2)
        dz = h * (1 - h ** 2)                               # dL/dz, (5, 2)
        return {"W": X.T @ dz, "b": dz.sum(axis=0)}         # (3, 2), (2,)

    return f, params, grad()


@pytest.mark.parametrize("mode", ["elementwise", "direction", "auto"])
def test_correct_gradient_passes(mode):
    f, params, grads = _problem()
    report = gradcheck(f, params, grads, mode=mode)
    assert report.ok, str(report)
    assert report.mode == ("direction" if mode == "direction" else "elementwise")
    assert [r.name for r in report.rows][:2] == ["W", "b"]
    assert all(r.max_rel_err < 1e-7 for r in report.rows)


def test_one_wrong_element_is_found_and_located():
    f, params, grads = _problem()
    grads["W"][2, 1] += 1e-3
    report = gradcheck(f, params, grads)
    assert not report.ok
    row_w, row_b = report.rows
    assert not row_w.ok and row_b.ok
    assert row_w.worst_index == (2, 1)
    assert row_w.analytic == grads["W"][2, 1]
    assert row_w.analytic - row_w.numeric == pytest.approx(1e-3, rel=1e-5)
    assert row_w.max_abs_err == pytest.approx(1e-3, rel=1e-5)


def test_direction_mode_catches_a_wrong_gradient_and_names_the_parameter():
    f, params, grads = _problem()
    grads["b"][0] *= 1.01                   # a 1% error in one element
    report = gradcheck(f, params, grads, mode="direction", n_directions=4)
    assert not report.ok
    by_name = {r.name: r for r in report.rows}
    assert by_name["W"].ok and not by_name["b"].ok and not by_name["(all jointly)"].ok
    assert by_name["(all jointly)"].shape == (8,)
    assert 0 <= by_name["b"].worst_index < 4


def test_auto_switches_to_direction_above_max_elements():
    f, params, grads = _problem()
    assert gradcheck(f, params, grads, max_elements=8).mode == "elementwise"
    assert gradcheck(f, params, grads, max_elements=7).mode == "direction"


def test_params_are_restored_bit_exactly():
    f, params, grads = _problem(seed=3)
    before = {k: v.copy() for k, v in params.items()}
    objects = dict(params)
    for mode in ("elementwise", "direction"):
        gradcheck(f, params, grads, mode=mode)
        for k in params:
            assert params[k] is objects[k]
            assert params[k].tobytes() == before[k].tobytes()


def test_params_are_restored_when_f_raises():
    x = np.array([0.1, 0.2, 0.3])
    x0 = x.copy()
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 4:                 # fails in the middle of element 1
            raise RuntimeError("boom")
        return float(np.sum(x ** 2))

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    assert x.tobytes() == x0.tobytes()
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(f, {"x": x}, {"x": 2 * x}, mode="direction")
    assert x.tobytes() == x0.tobytes()


def test_grads_are_copied_so_f_may_overwrite_them():
    f, params, grads = _problem()
    g_w = grads["W"]

    def f_that_scribbles():
        g_w[...] = 0.0                      # like a backward pass reusing its buffers
        return f()

    expected = g_w.copy()
    report = gradcheck(f_that_scribbles, params, grads)
    assert report.ok
    assert report.rows[0].analytic == expected[report.rows[0].worst_index]


@settings(deadline=None, max_examples=20)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3), seed=st.integers(0, 2**16))
def test_numerical_gradient_of_a_cubic(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    c = rng.normal(size=shape)
    num = numerical_gradient(lambda: float(np.sum(c * x ** 3)), x)
    assert num.shape == x.shape and num.dtype == np.float64
    # central differences with h = 1e-6: truncation c h^2 (1e-12), rounding about
    # eps_machine * |terms of f| / h = 2.2e-10 * sum|c x^3|: the absolute floor scales with f
    atol = 1e-9 * max(1.0, float(np.sum(np.abs(c * x ** 3))))
    np.testing.assert_allclose(num, 3 * c * x ** 2, rtol=1e-6, atol=atol)


def test_numerical_gradient_checks_mse():
    rng = np.random.default_rng(4)
    pred, target = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    num = numerical_gradient(lambda: mse(pred, target)[0], pred)
    np.testing.assert_allclose(num, mse(pred, target)[1], rtol=1e-6, atol=1e-9)


def test_float32_is_refused():
    x = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"params\['x'\].*float32.*float64"):
        gradcheck(lambda: float(x.sum()), {"x": x}, {"x": np.ones(3)})
    with pytest.raises(TypeError, match=r"grads\['x'\].*float32"):
        y = np.ones(3)
        gradcheck(lambda: float(y.sum()), {"x": y}, {"x": np.ones(3, dtype=np.float32)})
    with pytest.raises(TypeError, match="dtype=float64"):
        numerical_gradient(lambda: float(x.sum()), x)


def test_report_string():
    f, params, grads = _problem()
    text = str(gradcheck(f, params, grads))
    lines = text.splitlines()
    assert lines[-1].startswith("PASS")
    assert any(line.startswith("W ") for line in lines)
    assert any(line.startswith("b ") for line in lines)
    assert len({len(line) for line in lines[1:-1]}) <= 2      # aligned columns
    grads["b"][1] = 7.0
    report = gradcheck(f, params, grads)
    text = str(report)
    assert isinstance(report, GradcheckReport)
    assert text.splitlines()[-1].startswith("FAIL") and text.splitlines()[-1].endswith(": b")
    assert "(1,)" in text and "+7.000000000e+00" in text


def test_raise_on_fail():
    f, params, grads = _problem()
    assert gradcheck(f, params, grads, raise_on_fail=True).ok
    grads["W"][0, 0] += 1.0
    with pytest.raises(AssertionError, match=r"W .*\(0, 0\).*FAIL"):
        gradcheck(f, params, grads, raise_on_fail=True)


def test_nan_gradient_fails():
    f, params, grads = _problem()
    grads["b"][1] = np.nan
    report = gradcheck(f, params, grads)
    assert not report.ok and report.rows[1].worst_index == (1,)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(grads=[np.zeros((3, 2)), np.zeros(2)]), TypeError, "grads must be a dict"),
    (dict(grads={"W": np.zeros((3, 2))}), ValueError, r"missing \['b'\]"),
    (dict(grads={"W": np.zeros((3, 2)), "b": np.zeros(2), "c": np.zeros(1)}), ValueError,
     r"unexpected \['c'\]"),
    (dict(grads={"W": np.zeros((2, 3)), "b": np.zeros(2)}), ValueError,
     r"grads\['W'\].*\(3, 2\).*\(2, 3\)"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(rtol=-1.0), ValueError, "rtol"),
    (dict(atol=-1.0), ValueError, "atol"),
    (dict(mode="fast"), ValueError, "mode"),
    (dict(n_directions=0), ValueError, "n_directions"),
    (dict(max_elements=1.5), TypeError, "max_elements"),
])
def test_gradcheck_validation(kwargs, exc, match):
    f, params, grads = _problem()
    kw = {"grads": grads, **kwargs}
    with pytest.raises(exc, match=match):
        gradcheck(f, params, **kw)


def test_f_must_return_a_scalar():
    x = np.ones(2)
    with pytest.raises(TypeError, match="tuple"):
        numerical_gradient(lambda: mse(x[None, :], np.zeros((1, 2))), x)
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        numerical_gradient(lambda: x * 2, x)


# --------------------------------------------------------------------------- #
# check_model on a fake model with the package's (params, grads) protocol
# --------------------------------------------------------------------------- #

class TwoLayerLinear:
    """y = (x W0 + b0) W1 + b1, MSE loss plus lamb * sum W^2, gradient by hand."""

    def __init__(self, seed=0, bug=False, dtype=np.float64):
        rng = np.random.default_rng(seed)
        def arr(*shape):
            return rng.normal(size=shape).astype(dtype)

        self.layers = [({"W": arr(3, 4), "b": arr(4)}, {}),    # layer 0: (params, grads)
                       ({"W": arr(4, 2), "b": arr(2)}, {})]    # layer 1
        self.bug = bug

    def parameters(self):
        return self.layers

    def loss_and_grad(self, x, y, loss="mse", lamb=0.0):
        assert loss == "mse"
        (p0, g0), (p1, g1) = self.layers
        h = x @ p0["W"] + p0["b"]                        # (B, 4)
        out = h @ p1["W"] + p1["b"]                      # (B, 2)
        value, dout = mse(out, y)                        # (B, 2)
        value += lamb * (np.sum(p0["W"] ** 2) + np.sum(p1["W"] ** 2))
        g1["W"] = h.T @ dout + 2 * lamb * p1["W"]        # (4, 2)
        g1["b"] = dout.sum(axis=0)                       # (2,)
        dh = dout @ p1["W"].T                            # (B, 4)
        g0["W"] = x.T @ dh + 2 * lamb * p0["W"] * (1.5 if self.bug else 1.0)
        g0["b"] = dh.sum(axis=0)
        return float(value)


def _data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


@pytest.mark.parametrize("mode", ["elementwise", "direction"])
def test_check_model_passes_on_correct_model(mode):
    model, (x, y) = TwoLayerLinear(), _data()
    before = [{k: v.copy() for k, v in p.items()} for p, _ in model.parameters()]
    report = check_model(model, x, y, loss="mse", lamb=0.1, mode=mode)
    assert report.ok, str(report)
    names = [r.name for r in report.rows]
    assert names[:4] == ["layer0.W", "layer0.b", "layer1.W", "layer1.b"]
    for (p, _), p0 in zip(model.parameters(), before):
        for k in p:
            assert p[k].tobytes() == p0[k].tobytes()


def test_check_model_finds_the_buggy_layer():
    model, (x, y) = TwoLayerLinear(bug=True), _data()
    report = check_model(model, x, y, lamb=0.1)
    assert not report.ok
    assert [r.name for r in report.rows if not r.ok] == ["layer0.W"]
    # without regularization the bug is invisible: the loss kwargs reach the model
    assert check_model(model, x, y, lamb=0.0).ok


def test_check_model_refuses_float32_model():
    model, (x, y) = TwoLayerLinear(dtype=np.float32), _data()
    with pytest.raises(TypeError, match="float64"):
        check_model(model, x.astype(np.float32), y.astype(np.float32))


# --------------------------------------------------------------------------- #
# diagnostics: NaN, the rounding floor, knots; callable losses, input_grad, row names
# --------------------------------------------------------------------------- #

def test_nan_loss_is_reported_as_nan():
    w = np.array([1.0, 2.0])
    report = gradcheck(lambda: float("nan"), {"w": w}, {"w": np.zeros(2)})
    assert not report.ok
    row = report.rows[0]
    assert np.isnan(row.max_abs_err) and np.isnan(row.max_rel_err) and np.isnan(report.f_value)
    text = str(report)
    assert "max rel err" in text and "0.00e+00" not in text and " nan " in text
    assert any("f() returned NaN at the unperturbed point" in n for n in report.notes)


def test_nan_in_the_numeric_derivative_only():
    w = np.array([0.0, 1.0])
    f = lambda: float(np.sum(np.sqrt(w)))                     # sqrt(-eps) is NaN at w = 0
    with np.errstate(invalid="ignore"):
        report = gradcheck(f, {"w": w}, {"w": np.array([1e6, 0.5])})
    assert not report.ok and np.isnan(report.rows[0].max_rel_err) and np.isfinite(report.f_value)
    assert any("NaN in the analytic or numeric gradient of w" in n for n in report.notes)


def test_rounding_floor_and_abs_f_in_the_report():
    """A loss of ~1e8: every difference carries ~macheps 1e8 / eps = 2e-2 of round-off."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=6)
    f = lambda: float(1e8 + np.sum(np.sin(w)))                 # d/dw = cos(w), |f| ~ 1e8
    report = gradcheck(f, {"w": w}, {"w": np.cos(w)})
    floor = np.finfo(float).eps * abs(report.f_value) / report.eps
    assert report.f_value == pytest.approx(1e8, rel=1e-6)
    assert report.rounding_floor == pytest.approx(floor) and 1e-3 < floor < 1e-1
    assert not report.ok                                       # round-off swamps rtol 1e-6 ...
    assert "|f| = 1.00e+08" in str(report) and f"{floor:.2e}" in str(report)
    assert any("rounding floor" in n and "not a wrong gradient" in n for n in report.notes)
    assert gradcheck(f, {"w": w}, {"w": np.cos(w)}, atol=10 * floor).ok   # ... and atol ~ floor fixes it
    wrong = gradcheck(f, {"w": w}, {"w": np.cos(w) + 1.0}, atol=10 * floor)
    assert not wrong.ok and not any("rounding floor" in n for n in wrong.notes)   # a real error


def _knot_kan(k):
    import numpykan as nk
    model = nk.KAN([1, 1], grid=4, k=k, seed=0)
    model.layers[0].params["coef"][...] = np.random.default_rng(1).normal(0, 1, (1, 1, 4 + k))
    return model


def test_check_model_names_a_point_on_a_knot():
    model = _knot_kan(1)
    x = model.layers[0].grid[:, [2]].T.copy()                  # (1, 1) exactly on an interior knot
    y = np.zeros((1, 1))
    report = check_model(model, x, y, input_grad=True)
    assert not report.ok and [r.name for r in report.rows if not r.ok] == ["x"]
    (note,) = report.notes
    assert note.startswith("layer 0 input 0: 1 of 1 points lie within 1e-05 of a knot")
    assert "degree-1 spline is only C^0" in note and "expect a mismatch" in note
    assert "note: layer 0 input 0" in str(report)
    away = x + 0.3                                             # inside an interval: no note, a pass
    report = check_model(model, away, y, input_grad=True)
    assert report.ok and not report.notes
    assert check_model(_knot_kan(3), x, y, input_grad=True).ok   # k = 3 is C^2: on a knot is fine


def test_check_model_callable_loss_and_input_grad():
    import numpykan as nk
    model = nk.KAN([2, 3, 1], grid=4, k=3, seed=0)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-0.9, 0.9, (5, 2)), rng.normal(size=(5, 1))

    def quartic(pred, target):                                 # L = mean (pred - y)^4
        r = pred - target
        return float(np.mean(r ** 4)), 4 * r ** 3 / r.size

    def wrong(pred, target):
        value, g = quartic(pred, target)
        return value, 2 * g

    report = check_model(model, x, y, loss=quartic, input_grad=True)
    assert report.ok, str(report)
    assert [r.name for r in report.rows][-1] == "x"
    bad = check_model(model, x, y, loss=wrong)
    assert not bad.ok and all(not r.ok for r in bad.rows)
    assert check_model(model, x, y, loss="mse", input_grad=True, lamb=0.01).ok
    with pytest.raises(TypeError, match="a callable loss takes no loss_kwargs"):
        check_model(model, x, y, loss=quartic, lamb=0.1)
    with pytest.raises(ValueError, match=r"dL/dy_pred of the output's shape \(5, 1\)"):
        check_model(model, x, y, loss=lambda p, t: (0.0, np.zeros(5)))
    with pytest.raises(TypeError, match="loss must be a name"):
        check_model(model, x, y, loss=3)


def test_rows_are_named_after_the_layer_they_belong_to():
    import numpykan as nk
    model = nk.KAN([2, 2, 1], grid=4, k=3, seed=0)
    model.fix_symbolic(0, 1, 0, "sin", fit_params=False)
    x = np.random.default_rng(3).uniform(-0.9, 0.9, (4, 2))
    report = check_model(model, x, np.zeros((4, 1)))
    assert report.ok, str(report)
    assert [r.name for r in report.rows] == [
        "layer0.coef", "layer0.w_b", "layer0.w_s", "layer1.coef", "layer1.w_b", "layer1.w_s",
        "layer0.symbolic.abcd"]
