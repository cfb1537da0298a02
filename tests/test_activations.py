"""Tests of numpykan.activations: values, derivatives (orders 1 to 3) by finite differences, dtypes, lookup."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpykan import activations
from numpykan.activations import (ACTIVATIONS, BASE_FUNCTIONS, DERIVATIVES, MissingDerivativeError,
                                  base_name, check_base, get_base, get_derivatives, sigmoid, silu,
                                  silu_grad)

PRIMES = ["f'", "f''", "f'''"]                  # names the messages use for orders 1, 2, 3


def test_silu_values():
    x = np.array([-30.0, -2.0, 0.0, 0.5, 3.0, 40.0])
    want = x / (1.0 + np.exp(-x))
    # the (1 + tanh(x/2)) / 2 form is accurate to ~eps absolutely, not relatively, in the
    # far negative tail (sigma(-30) ~ 1e-13 carries an absolute error ~1e-16), hence atol
    np.testing.assert_allclose(silu(x), want, rtol=1e-14, atol=1e-14)
    assert silu(np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(sigmoid(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-14, atol=1e-15)


def test_sigmoid_does_not_overflow():
    with np.errstate(all="raise"):
        s = sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(x=st.lists(st.floats(-8, 8).filter(lambda v: abs(v) > 1e-4), min_size=1, max_size=20))
def test_derivative_against_central_differences(name, x):      # 0 is relu's kink
    f, df = get_base(name)
    x = np.array(x)
    h = 1e-6
    fd = (f(x + h) - f(x - h)) / (2 * h)
    # truncation h^2 |f'''| / 6 < 1e-12, rounding ~1e-16 * 8 / 1e-6 ~ 1e-9
    np.testing.assert_allclose(df(x), fd, rtol=1e-6, atol=1e-8)


def test_silu_grad_formula():
    x = np.linspace(-6, 6, 101)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(silu_grad(x), s + x * s * (1 - s), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(name, dtype):
    f, df = get_base(name)
    x = np.linspace(-3, 3, 7).astype(dtype).reshape(7, 1)
    assert f(x).dtype == dtype
    assert df(x).dtype == dtype
    assert f(x).shape == df(x).shape == x.shape
    for v in get_derivatives(name)(x):
        assert v.dtype == dtype and v.shape == x.shape


def test_identity_returns_a_copy():
    x = np.ones(3)
    y = activations.identity(x)
    y[0] = 5.0
    assert x[0] == 1.0


def test_known_names():
    assert {"silu", "identity", "zero"} == set(BASE_FUNCTIONS)     # pykan's names: interop's
    assert set(ACTIVATIONS) == set(BASE_FUNCTIONS) | {"tanh", "relu"} == set(DERIVATIVES)
    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(get_base("identity")[0](x), x)
    np.testing.assert_array_equal(get_base("identity")[1](x), 1.0)
    np.testing.assert_array_equal(get_base("zero")[0](x), 0.0)
    np.testing.assert_array_equal(get_base("zero")[1](x), 0.0)
    np.testing.assert_array_equal(get_base("relu")[0](x), [0.0, 2.0])
    np.testing.assert_array_equal(get_base("relu")[1](x), [0.0, 1.0])
    np.testing.assert_array_equal(get_base("tanh")[0](x), np.tanh(x))


@pytest.mark.parametrize("bad", ["relu6", "SiLU", ""])
def test_get_base_errors(bad):
    with pytest.raises(ValueError, match="base_fun must be one of"):
        get_base(bad)
    with pytest.raises(ValueError, match="activation must be one of"):
        get_base(bad, "activation")


@pytest.mark.parametrize("bad, match", [
    (silu, r"bare callable 'silu'.*pair \(f, f_prime\)"),
    (None, r"must be one of .* or a tuple of 2 or 4 callables"),
    (3, r"tuple of 2 or 4 callables"),
    ((silu,), r"tuple of 2 or 4 callables"),
    ((silu, 1.0), r"tuple of 2 or 4 callables"),
])
def test_get_base_type_errors(bad, match):
    with pytest.raises(TypeError, match=match):
        get_base(bad)
    with pytest.raises(TypeError, match=match):
        check_base(bad)


# ---------------------------------------------------------------------------
# orders 1 to 3 (what jacobian, laplacian and losses on them use)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_order_is_the_central_difference_of_the_one_below(name):
    x = np.concatenate([np.linspace(-6.1, -0.05, 40), np.linspace(0.05, 6.3, 40)])   # off 0
    e = 1e-6                       # truncation e^2 |f^(q+2)| / 6 < 1e-12; rounding ~1e-16 / e = 1e-10
    D = get_derivatives(name)
    vals, up, down = D(x), D(x + e), D(x - e)
    for q in range(1, 4):
        fd = (up[q - 1] - down[q - 1]) / (2 * e)
        np.testing.assert_allclose(vals[q], fd, rtol=1e-6, atol=1e-8, err_msg=f"{name}: order {q}")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_derivative_table_agrees_with_the_pair(name):
    x = np.linspace(-4, 4, 33)
    f, df = get_base(name)
    v = get_derivatives(name)(x, (0, 1))
    np.testing.assert_allclose(v[0], f(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(v[1], df(x), rtol=1e-14, atol=1e-15)
    assert [a.shape for a in get_derivatives(name)(x, (3, 1))] == [x.shape, x.shape]


def test_the_closed_forms():
    x = np.linspace(-3, 3, 61)
    t, s = np.tanh(x), 1 / (1 + np.exp(-x))
    _, _, t2, t3 = get_derivatives("tanh")(x)
    np.testing.assert_allclose(t2, -2 * t * (1 - t ** 2), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(t3, (1 - t ** 2) * (6 * t ** 2 - 2), rtol=1e-13, atol=1e-15)
    _, _, s2, s3 = get_derivatives("silu")(x)
    ds = s * (1 - s)
    np.testing.assert_allclose(s2, 2 * ds + x * ds * (1 - 2 * s), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s3, 3 * ds * (1 - 2 * s) + x * ds * (1 - 6 * s + 6 * s * s),
                               rtol=1e-12, atol=1e-14)
    xr = x[x != 0]
    _, r1, r2, r3 = get_derivatives("relu")(xr)
    np.testing.assert_array_equal(r1, xr > 0)
    assert not r2.any() and not r3.any()


# ---------------------------------------------------------------------------
# callables: pairs and 4-tuples
# ---------------------------------------------------------------------------

def _cube(x):
    return x ** 3


def _dcube(x):
    return 3 * x ** 2


def test_a_pair_serves_orders_0_and_1_and_names_the_rest():
    D = get_derivatives((_cube, _dcube))
    x = np.array([-1.0, 2.0])
    f, df = D(x, (0, 1))
    np.testing.assert_array_equal(f, x ** 3)
    np.testing.assert_array_equal(df, 3 * x ** 2)
    with pytest.raises(MissingDerivativeError, match=r"order 2.*base_fun is the pair \(_cube, _dcube\)"):
        D(x, (0, 1, 2))
    with pytest.raises(MissingDerivativeError, match=r"activation=\(f, f1, f2, f3\)"):
        get_derivatives((_cube, _dcube), "activation")(x, (3,))
    with pytest.raises(ValueError, match="orders must lie in 0 .. 3"):
        D(x, (4,))


def test_a_four_tuple_serves_every_order_in_the_input_dtype():
    four = (_cube, _dcube, lambda x: 6 * x, lambda x: np.full_like(x, 6.0))
    assert check_base(four) == four
    x = np.array([0.5, -2.0], dtype=np.float32)
    out = get_derivatives(four)(x)
    assert [v.dtype for v in out] == [np.float32] * 4
    np.testing.assert_allclose(out[2], 6 * x)


def test_check_base_accepts_correct_functions_and_lists():
    assert check_base("tanh") == "tanh"
    assert check_base([_cube, _dcube]) == (_cube, _dcube)
    assert base_name((_cube, _dcube)) == "(_cube, _dcube)" and base_name("relu") == "relu"


@pytest.mark.parametrize("funcs, q", [
    ((_cube, lambda x: 3 * x), 1),
    ((_cube, _dcube, lambda x: 3 * x, lambda x: 0 * x), 2),
    ((_cube, _dcube, lambda x: 6 * x, lambda x: 0 * x), 3),
])
def test_check_base_catches_wrong_derivatives(funcs, q):
    wrong, below = PRIMES[q - 1], (["f"] + PRIMES)[q - 1]
    with pytest.raises(ValueError, match=rf"base_fun: {wrong} is not the derivative of {below}: "
                                         rf"at x = -?[0-9.]+, {wrong} gives .* but central "
                                         rf"differences of {below} give"):
        check_base(funcs)


def test_the_wrong_derivative_message_shows_the_worst_point():
    with pytest.raises(ValueError, match=r"at x = -2.3, f' gives -6.9 but central differences "
                                         r"of f give 15.87"):
        check_base((_cube, lambda x: 3 * x))


@pytest.mark.parametrize("funcs, label", [
    ((_cube, lambda x: x[:2]), "f'"),
    ((lambda x: np.sqrt(x), lambda x: 0.5 / np.sqrt(x)), "f"),
    ((_cube, lambda x: 1.0), "f'"),
])
def test_check_base_wants_same_shape_finite_values(funcs, label):
    with pytest.raises(ValueError, match=rf"base_fun: {label} must map an array to finite values "
                                         rf"of the same shape"):
        check_base(funcs)
