"""Tests of numpykan.regularization: the value by the formula, the gradient by finite differences."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpykan.gradcheck import gradcheck
from numpykan.regularization import edge_norms, l1_entropy


def _direct(A, lamb_l1, lamb_entropy):
    """R written out with Python loops: n_ij = mean_b |A|, p = n / N, S = -sum p ln p."""
    B, I, O = A.shape
    n = [[sum(abs(A[b, i, j]) for b in range(B)) / B for j in range(O)] for i in range(I)]
    N = sum(sum(row) for row in n)
    S = 0.0
    for row in n:
        for v in row:
            if v > 0:
                p = v / N
                S -= p * np.log(p)                              # natural log, minus sign
    return lamb_l1 * N + lamb_entropy * S, N, S


@given(seed=st.integers(0, 2 ** 32 - 1), B=st.integers(1, 6), I=st.integers(1, 4),
       O=st.integers(1, 4), l1=st.floats(0, 3), ent=st.floats(0, 3))
def test_value_against_formula(seed, B, I, O, l1, ent):
    A = np.random.default_rng(seed).normal(size=(B, I, O))
    R, _ = l1_entropy(A, l1, ent)
    want, N, S = _direct(A, l1, ent)
    assert R == pytest.approx(want, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(edge_norms(A), np.abs(A).mean(axis=0), rtol=1e-15)
    # the entropy part alone, and its sign: S >= 0, S <= ln(I O)
    _, _, S = _direct(A, 0.0, 1.0)
    assert l1_entropy(A, 0.0, 1.0)[0] == pytest.approx(S, rel=1e-12, abs=1e-14)
    assert -1e-12 <= S <= np.log(I * O) + 1e-12


def test_entropy_known_values():
    """Two equal edges: p = (1/2, 1/2), S = ln 2; one live edge: S = 0."""
    A = np.array([[[1.0, -1.0]], [[-3.0, 3.0]]])               # (2, 1, 2), n = (2, 2)
    R, _ = l1_entropy(A, lamb_l1=0.0, lamb_entropy=1.0)
    assert R == pytest.approx(np.log(2.0), rel=1e-15)
    R, _ = l1_entropy(A, lamb_l1=1.0, lamb_entropy=0.0)
    assert R == pytest.approx(4.0, rel=1e-15)
    A[:, :, 1] = 0.0
    R, _ = l1_entropy(A, lamb_l1=0.0, lamb_entropy=1.0)
    assert R == 0.0


@pytest.mark.parametrize("l1, ent", [(1.0, 2.0), (0.0, 1.0), (1.0, 0.0), (0.3, 5.0)])
def test_gradient_against_finite_differences(l1, ent):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3, 2))
    A = np.where(np.abs(A) < 0.05, 0.1, A)                     # away from the kink of |a|
    _, dA = l1_entropy(A, l1, ent)
    report = gradcheck(lambda: l1_entropy(A, l1, ent)[0], {"A": A}, {"A": dA},
                       rtol=1e-6, atol=1e-9)
    assert report.ok, str(report)


def test_zero_edge_is_finite_with_zero_gradient():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 3, 2)) + 0.5
    A[:, 1, 0] = 0.0                                            # a pruned / dead edge
    with np.errstate(all="raise"):                              # no log(0), no 0/0
        R, dA = l1_entropy(A, 1.0, 2.0)
    assert np.isfinite(R)
    assert np.all(np.isfinite(dA))
    assert np.all(dA[:, 1, 0] == 0.0)
    want, _, _ = _direct(A, 1.0, 2.0)
    assert R == pytest.approx(want, rel=1e-12)
    # the other edges' gradient still matches finite differences; at the dead edge the
    # central difference is 0 too (|+eps| and |-eps| give the same n), like the subgradient
    report = gradcheck(lambda: l1_entropy(A, 1.0, 2.0)[0], {"A": A}, {"A": dA}, rtol=1e-6,
                       atol=1e-9)
    assert report.ok, str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_zero_activations(dtype):
    A = np.zeros((3, 2, 4), dtype=dtype)
    with np.errstate(all="raise"):
        R, dA = l1_entropy(A, 1.0, 2.0)
    assert R == 0.0
    assert dA.shape == A.shape and dA.dtype == dtype
    assert np.all(dA == 0.0)


def test_float32_gradient_dtype():
    A = np.random.default_rng(2).normal(size=(3, 2, 2)).astype(np.float32)
    _, dA = l1_entropy(A)
    assert dA.dtype == np.float32


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\bA\b must have shape \(batch, in, out\)"):
        l1_entropy(np.ones((3, 2)))
