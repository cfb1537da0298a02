"""Tests of numpykan.losses: values against formulas, gradients against finite differences."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from numpykan.gradcheck import numerical_gradient
from numpykan.losses import accuracy, cross_entropy, get_loss, mse

# Central differences with eps=1e-6 on a loss of size ~1 carry a rounding error
# of ~1e-10 absolute, hence atol=1e-9 next to rtol=1e-6.
RTOL, ATOL = 1e-6, 1e-9


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- #
# mse
# --------------------------------------------------------------------------- #

def test_mse_value_and_gradient_match_the_formula():
    rng = _rng()
    pred, target = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    loss, dpred = mse(pred, target)
    assert isinstance(loss, float)
    expected = sum((pred[b, o] - target[b, o]) ** 2 for b in range(7) for o in range(3)) / 21
    assert loss == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(dpred, 2 * (pred - target) / 21, rtol=1e-15)


def test_mse_accepts_1d_target_for_single_output():
    rng = _rng(1)
    pred, target = rng.normal(size=(5, 1)), rng.normal(size=5)
    loss, dpred = mse(pred, target)
    loss2, dpred2 = mse(pred, target[:, None])
    assert loss == loss2
    assert dpred.shape == (5, 1)
    np.testing.assert_array_equal(dpred, dpred2)


def test_mse_does_not_modify_its_inputs():
    rng = _rng(2)
    pred, target = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    p0, t0 = pred.copy(), target.copy()
    mse(pred, target)
    np.testing.assert_array_equal(pred, p0)
    np.testing.assert_array_equal(target, t0)


@settings(deadline=None, max_examples=20)
@given(batch=st.integers(1, 6), out=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_mse_gradient_matches_finite_differences(batch, out, seed):
    rng = _rng(seed)
    pred, target = rng.normal(size=(batch, out)), rng.normal(size=(batch, out))
    _, dpred = mse(pred, target)
    num = numerical_gradient(lambda: mse(pred, target)[0], pred)
    np.testing.assert_allclose(dpred, num, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- #
# cross-entropy
# --------------------------------------------------------------------------- #

def _naive_ce(logits, labels):
    """-log softmax(z)[y], averaged, with plain Python math (no shift)."""
    total = 0.0
    for z, y in zip(logits.tolist(), labels.tolist()):
        total += -math.log(math.exp(z[y]) / sum(math.exp(v) for v in z))
    return total / len(labels)


def test_ce_value_and_gradient_match_the_formula():
    rng = _rng(3)
    logits = rng.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    loss, dlogits = cross_entropy(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(_naive_ce(logits, labels), rel=1e-13)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(dlogits, (softmax - onehot) / 6, rtol=1e-12, atol=1e-16)
    # each row of (softmax - onehot) sums to zero
    np.testing.assert_allclose(dlogits.sum(axis=1), 0.0, atol=1e-16)


@settings(deadline=None, max_examples=25)
@given(batch=st.integers(1, 5), classes=st.integers(1, 6),
       scale=st.floats(0.1, 5.0), seed=st.integers(0, 2**16))
@example(batch=2, classes=6, scale=4.875, seed=2720)          # loss 11.5: failed with eps = 1e-6
def test_ce_gradient_matches_finite_differences(batch, classes, scale, seed):
    rng = _rng(seed)
    logits = scale * rng.normal(size=(batch, classes))
    labels = rng.integers(0, classes, size=batch)
    _, dlogits = cross_entropy(logits, labels)
    # The loss reaches ~12 here, so central differences carry round-off ~eps_mach |L| / eps:
    # 1.3e-9 at eps = 1e-6, above ATOL; at eps = 1e-5 it is 1.3e-10 and the truncation
    # error (softmax's third derivatives are O(1)) is ~1e-10 (0 of 4000 random cases off).
    num = numerical_gradient(lambda: cross_entropy(logits, labels)[0], logits, eps=1e-5)
    np.testing.assert_allclose(dlogits, num, rtol=RTOL, atol=ATOL)


def test_ce_is_stable_for_large_logits():
    logits = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1003.0, -1000.0]])
    labels = np.array([1, 2])
    loss, dlogits = cross_entropy(logits, labels)
    # shift by the row max: exact values in terms of small exponentials
    row0 = math.log(math.exp(-1) + 1 + math.exp(-2))
    row1 = math.log(1 + math.exp(-3) + 1)
    assert loss == pytest.approx((row0 + row1) / 2, rel=1e-14)
    assert np.all(np.isfinite(dlogits))
    s0 = np.exp([-1.0, 0.0, -2.0]) / np.exp([-1.0, 0.0, -2.0]).sum()
    np.testing.assert_allclose(dlogits[0], (s0 - [0, 1, 0]) / 2, rtol=1e-13)


def test_ce_single_class_has_zero_loss_and_gradient():
    loss, dlogits = cross_entropy(np.array([[3.0], [-2.0]]), np.array([0, 0]))
    assert loss == 0.0
    np.testing.assert_array_equal(dlogits, 0.0)


# --------------------------------------------------------------------------- #
# dtype
# --------------------------------------------------------------------------- #

def test_float32_is_preserved():
    rng = _rng(4)
    pred = rng.normal(size=(8, 2)).astype(np.float32)
    target = rng.normal(size=(8, 2))                         # float64 target
    loss, dpred = mse(pred, target)
    assert dpred.dtype == np.float32 and type(loss) is float
    ref_loss, ref_d = mse(pred.astype(np.float64), target.astype(np.float32).astype(np.float64))
    assert loss == pytest.approx(ref_loss, rel=1e-6)
    np.testing.assert_allclose(dpred, ref_d, rtol=1e-6)

    logits = (100 * rng.normal(size=(8, 5))).astype(np.float32)
    labels = rng.integers(0, 5, size=8)
    loss, dlogits = cross_entropy(logits, labels)
    assert dlogits.dtype == np.float32 and type(loss) is float
    ref_loss, ref_d = cross_entropy(logits.astype(np.float64), labels)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(dlogits, ref_d, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- #
# accuracy, get_loss
# --------------------------------------------------------------------------- #

def test_accuracy_counts_argmax_hits():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [9.0, 0.0, 0.0]])
    assert accuracy(logits, np.array([0, 1, 2, 1])) == 0.75
    assert accuracy(logits, np.array([1, 0, 0, 1])) == 0.0
    assert type(accuracy(logits, np.array([0, 1, 2, 0]))) is float


def test_get_loss_maps_names():
    assert get_loss("mse") is mse
    assert get_loss("ce") is cross_entropy
    assert get_loss("cross_entropy") is cross_entropy
    assert get_loss("MSE") is mse


def test_get_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="'mse'.*'ce'.*'cross_entropy'"):
        get_loss("hinge")
    with pytest.raises(TypeError, match="name"):
        get_loss(None)


# --------------------------------------------------------------------------- #
# validation: each error names the argument
# --------------------------------------------------------------------------- #

P = np.zeros((4, 2))
L = np.zeros((4, 3))
LAB = np.array([0, 1, 2, 0])


@pytest.mark.parametrize("args, exc, match", [
    ((P, np.zeros((4, 3))), ValueError, r"target.*\(4, 2\).*\(4, 3\)"),
    ((P, np.zeros(4)), ValueError, r"target.*\(4,\)"),           # 1-D only when out == 1
    ((np.zeros(4), np.zeros(4)), ValueError, r"pred.*\(batch, out\).*\(4,\)"),
    ((np.zeros((0, 2)), np.zeros((0, 2))), ValueError, "pred.*non-empty"),
    ((np.zeros((4, 2), dtype=int), P), TypeError, "pred.*floating"),
    ((P, np.array([["a", "b"]] * 4)), TypeError, "target"),
    ((P, np.where(np.eye(4, 2) > 0, np.nan, 0.0)), ValueError, "target.*finite.*nan"),
    ((np.full((4, 2), np.inf), P), ValueError, "pred.*finite.*inf"),
])
def test_mse_validation(args, exc, match):
    with pytest.raises(exc, match=match):
        mse(*args)


@pytest.mark.parametrize("fn", [cross_entropy, accuracy])
@pytest.mark.parametrize("args, exc, match", [
    ((L, LAB.astype(float)), TypeError, "labels.*integer.*float64"),
    ((L, LAB.astype(bool)), TypeError, "labels.*integer"),
    ((L, np.array([0, 1, 3, 0])), ValueError, r"labels.*\[0, 3\).*\[0, 3\]"),
    ((L, np.array([0, -1, 2, 0])), ValueError, r"labels.*\[0, 3\)"),
    ((L, LAB[:3]), ValueError, r"labels.*\(4,\).*\(3,\)"),
    ((L, LAB[:, None]), ValueError, r"labels.*\(4, 1\)"),
    ((np.zeros(3), LAB), ValueError, "logits.*batch, n_classes"),
    ((L.astype(int), LAB), TypeError, "logits.*floating"),
    ((np.where(np.eye(4, 3) > 0, np.nan, 0.0), LAB), ValueError, "logits.*finite"),
])
def test_ce_and_accuracy_validation(fn, args, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args)
