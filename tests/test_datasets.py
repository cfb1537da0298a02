"""create_dataset and the toy functions."""

import numpy as np
import pytest

from numpykan.datasets import TOY_FUNCTIONS, create_dataset

# ---------------------------------------------------------------------------
# create_dataset and the toy functions
# ---------------------------------------------------------------------------

def test_create_dataset_shapes_dtype_and_labels():
    d = create_dataset(lambda x: x[:, 0] * x[:, 1], n_var=2, train_num=50, test_num=20,
                       dtype=np.float32)
    assert set(d) == {"train_input", "train_label", "test_input", "test_label"}
    assert d["train_input"].shape == (50, 2) and d["train_label"].shape == (50, 1)
    assert d["test_input"].shape == (20, 2) and d["test_label"].shape == (20, 1)
    assert all(v.dtype == np.float32 for v in d.values())
    np.testing.assert_allclose(d["train_label"][:, 0], d["train_input"].prod(axis=1),
                               rtol=1e-6)


def test_create_dataset_multi_output_and_ranges_per_variable():
    ranges = [(0.0, 1.0), (-3.0, -2.0), (10.0, 20.0)]
    d = create_dataset(lambda x: np.stack([x.sum(axis=1), x[:, 0]], axis=1), n_var=3,
                       ranges=ranges, train_num=400, test_num=10)
    x = d["train_input"]
    for i, (lo, hi) in enumerate(ranges):
        assert lo <= x[:, i].min() and x[:, i].max() < hi
        assert x[:, i].max() - x[:, i].min() > 0.9 * (hi - lo)   # spread over the range
    assert d["train_label"].shape == (400, 2)
    np.testing.assert_array_equal(d["train_label"][:, 1], x[:, 0])


def test_create_dataset_is_deterministic_and_train_ignores_test_num():
    a = create_dataset("exp_sin", seed=3, train_num=30, test_num=5)
    b = create_dataset("exp_sin", seed=3, train_num=30, test_num=50)
    c = create_dataset("exp_sin", seed=4, train_num=30, test_num=5)
    np.testing.assert_array_equal(a["train_input"], b["train_input"])
    np.testing.assert_array_equal(a["train_label"], b["train_label"])
    assert not np.array_equal(a["train_input"], c["train_input"])


def test_create_dataset_normalize_uses_train_statistics():
    d = create_dataset("exp_sin", train_num=500, test_num=100, normalize_input=True,
                       normalize_label=True)
    for key in ("train_input", "train_label"):
        np.testing.assert_allclose(d[key].mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(d[key].std(axis=0), 1.0, rtol=1e-12)
    assert abs(d["test_input"].mean()) > 1e-6          # test split not re-centred itself


@pytest.mark.parametrize("name, x, expected", [
    ("sin_pi", [[0.5]], 1.0),
    ("xy", [[0.5, 2.0]], 1.0),
    ("exp_sin", [[0.5, 0.0]], np.e),
    ("four_var", [[0.0, 0.0, 0.0, 0.0]], 1.0),
    ("exp_mean_sin2", [[1.0, 1.0, 1.0]], np.e),
    ("exp_mean_sin2", [[1.0, 0.0]], np.exp(0.5)),
])
def test_toy_functions_known_values(name, x, expected):
    y = TOY_FUNCTIONS[name](np.array(x))
    assert y.shape == (1,)
    assert y[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_toy_function_wrong_width_names_function():
    with pytest.raises(ValueError, match=r"four_var needs x of shape \(n, 4\)"):
        create_dataset("four_var", n_var=2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_var=0), "n_var must be >= 1"),
    (dict(ranges=(-1, 0, 1)), "ranges must be a pair"),
    (dict(ranges=[(-1, 1)] * 3), r"ranges must be .* shape \(2, 2\)"),
    (dict(ranges=(1, 1)), "lo < hi"),
    (dict(ranges=[(-1, 1), (2, -2)]), "variable 1"),
    (dict(train_num=0), "train_num must be >= 1"),
    (dict(test_num=0), "test_num must be >= 1"),
    (dict(dtype=np.int32), "dtype must be a floating-point type"),
    (dict(f="nope"), "unknown toy function"),
])
def test_create_dataset_validation(kwargs, match):
    args = dict(f=lambda x: x[:, 0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        create_dataset(**args)


def test_create_dataset_rejects_bad_f_output():
    with pytest.raises(ValueError, match=r"f must return shape \(1000,\)"):
        create_dataset(lambda x: x[:10, 0])
    with pytest.raises(ValueError, match="non-finite"):
        with np.errstate(invalid="ignore"):
            create_dataset(lambda x: np.log(x[:, 0]))     # log of negatives -> nan
    with pytest.raises(TypeError, match="train_num must be an integer"):
        create_dataset(lambda x: x[:, 0], train_num=10.0)
