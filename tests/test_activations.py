"""Tests of numpykan.activations: values, derivatives by finite differences, dtypes, lookup."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpykan import activations
from numpykan.activations import BASE_FUNCTIONS, get_base, sigmoid, silu, silu_grad


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


@pytest.mark.parametrize("name", sorted(BASE_FUNCTIONS))
@given(x=st.lists(st.floats(-8, 8), min_size=1, max_size=20))
def test_derivative_against_central_differences(name, x):
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


@pytest.mark.parametrize("name", sorted(BASE_FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(name, dtype):
    f, df = get_base(name)
    x = np.linspace(-3, 3, 7).astype(dtype).reshape(7, 1)
    assert f(x).dtype == dtype
    assert df(x).dtype == dtype
    assert f(x).shape == df(x).shape == x.shape


def test_identity_returns_a_copy():
    x = np.ones(3)
    y = activations.identity(x)
    y[0] = 5.0
    assert x[0] == 1.0


def test_known_names():
    assert {"silu", "identity", "zero"} <= set(BASE_FUNCTIONS)
    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(get_base("identity")[0](x), x)
    np.testing.assert_array_equal(get_base("identity")[1](x), 1.0)
    np.testing.assert_array_equal(get_base("zero")[0](x), 0.0)
    np.testing.assert_array_equal(get_base("zero")[1](x), 0.0)


@pytest.mark.parametrize("bad", ["relu6", "SiLU", "", None, 3, silu])
def test_get_base_errors(bad):
    with pytest.raises(ValueError, match="base_fun must be one of"):
        get_base(bad)
