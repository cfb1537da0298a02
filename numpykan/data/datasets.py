"""Datasets for KAN experiments: toy functions sampled on a box.

Every loader in numpykan returns the same kind of dictionary, so that
``model.fit(dataset)`` works on all of them::

    {"train_input": (N_train, I), "train_label": (N_train, O),
     "test_input":  (N_test, I),  "test_label":  (N_test, O)}

:func:`create_dataset` samples a function ``f`` on a box, like pykan's function of
the same name; :data:`TOY_FUNCTIONS` holds the classic targets of the KAN paper.
MNIST lives in :mod:`numpykan.mnist`, pictures as coordinate datasets in
:mod:`numpykan.images`.
"""

import numpy as np

from ..validation import check_seed

__all__ = ["TOY_FUNCTIONS", "create_dataset"]

# ---------------------------------------------------------------------------
# Toy functions
# ---------------------------------------------------------------------------

def _columns(x, n_var, name):
    """Check that ``x`` has shape ``(n, n_var)`` and return it as a float array."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_var:
        raise ValueError(f"{name} needs x of shape (n, {n_var}), got {x.shape}")
    return x


def _xy(x):
    """``f(x, y) = x * y`` (n, 2) -> (n,). Multiplication, the KAN paper's Figure 2.4."""
    x = _columns(x, 2, "xy")
    return x[:, 0] * x[:, 1]


def _exp_sin(x):
    """``f(x, y) = exp(sin(pi x) + y^2)`` (n, 2) -> (n,). The paper's first example."""
    x = _columns(x, 2, "exp_sin")
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def _sin_pi(x):
    """``f(x) = sin(pi x)`` (n, 1) -> (n,). One smooth bump per half period."""
    x = _columns(x, 1, "sin_pi")
    return np.sin(np.pi * x[:, 0])


def _exp_mean_sin2(x):
    """``f(x) = exp(mean_i sin^2(pi x_i / 2))`` (n, d) -> (n,), any d.

    With d = 100 this is the paper's high-dimensional example
    ``exp(1/100 sum_{i=1}^{100} sin^2(pi x_i / 2))``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"exp_mean_sin2 needs x of shape (n, d) with d >= 1, got {x.shape}")
    return np.exp(np.mean(np.sin(np.pi * x / 2) ** 2, axis=1))


def _four_var(x):
    """``f = exp(0.5 (sin(pi (x1^2 + x2^2)) + sin(pi (x3^2 + x4^2))))`` (n, 4) -> (n,).

    The paper's four-variable example, a [4, 4, 2, 1] KAN in closed form.
    """
    x = _columns(x, 4, "four_var")
    s12 = np.sin(np.pi * (x[:, 0] ** 2 + x[:, 1] ** 2))
    s34 = np.sin(np.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
    return np.exp(0.5 * (s12 + s34))


TOY_FUNCTIONS = {
    "sin_pi": _sin_pi,
    "xy": _xy,
    "exp_sin": _exp_sin,
    "four_var": _four_var,
    "exp_mean_sin2": _exp_mean_sin2,
}
"""Named targets from the KAN paper (arXiv:2404.19756), each ``f(x) -> (n,)``.

=================  ======  ==================================================
name               n_var   formula
=================  ======  ==================================================
``sin_pi``         1       sin(pi x)
``xy``             2       x y
``exp_sin``        2       exp(sin(pi x) + y^2)
``four_var``       4       exp(0.5 (sin(pi (x1^2+x2^2)) + sin(pi (x3^2+x4^2))))
``exp_mean_sin2``  any     exp(mean_i sin^2(pi x_i / 2))  (paper: n_var = 100)
=================  ======  ==================================================
"""


def _check_count(value, name, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_float_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dt}")
    return dt


def _parse_ranges(ranges, n_var):
    """Return ``(lo, hi)`` arrays of shape (n_var,) from a pair or a list of pairs."""
    r = np.asarray(ranges, dtype=np.float64)
    if r.shape == (2,):
        r = np.tile(r, (n_var, 1))                       # (n_var, 2)
    elif r.shape != (n_var, 2):
        raise ValueError(
            f"ranges must be a pair (lo, hi) or {n_var} pairs of shape ({n_var}, 2), "
            f"got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"ranges must be finite, got {r.tolist()}")
    bad = np.flatnonzero(r[:, 0] >= r[:, 1])
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"ranges needs lo < hi for every variable; variable {i} has "
            f"lo={r[i, 0]}, hi={r[i, 1]}")
    return r[:, 0], r[:, 1]


def create_dataset(f, n_var=2, ranges=(-1, 1), train_num=1000, test_num=1000, seed=0,
                   normalize_input=False, normalize_label=False, dtype=np.float64):
    """Sample ``f`` at uniform random points of a box: a regression dataset.

    Parameters
    ----------
    f : callable or str
        ``f(x)`` with ``x`` of shape ``(n, n_var)`` returning shape ``(n,)`` or
        ``(n, O)``. A string names an entry of :data:`TOY_FUNCTIONS`.
    n_var : int
        Number of input variables ``I``, >= 1.
    ranges : array_like, shape (2,) or (n_var, 2)
        ``(lo, hi)`` for every variable, or one pair per variable; ``lo < hi``.
    train_num, test_num : int
        Number of train and test points, each >= 1.
    seed : int
        Seed of the one ``np.random.default_rng`` that draws all points. The train
        points are drawn first, so they do not depend on ``test_num``.
    normalize_input, normalize_label : bool
        Standardize inputs (labels) to zero mean and unit standard deviation per
        column, using the *train* statistics for both splits (as pykan does).
    dtype : numpy floating dtype
        dtype of the returned arrays; ``f`` is always evaluated in float64.

    Returns
    -------
    dict
        ``"train_input"`` (train_num, I), ``"train_label"`` (train_num, O),
        ``"test_input"`` (test_num, I), ``"test_label"`` (test_num, O).

    Raises
    ------
    ValueError
        Bad ``n_var``, ``ranges``, counts or ``dtype``; ``f`` returning the wrong
        number of rows or a non-finite value; a constant column to normalize.

    Examples
    --------
    >>> d = create_dataset(lambda x: x[:, 0] * x[:, 1], n_var=2, train_num=3, test_num=2)
    >>> d["train_input"].shape, d["train_label"].shape, d["test_label"].shape
    ((3, 2), (3, 1), (2, 1))
    >>> bool(np.allclose(d["train_label"][:, 0], d["train_input"].prod(axis=1)))
    True
    """
    if isinstance(f, str):
        if f not in TOY_FUNCTIONS:
            raise ValueError(f"f: unknown toy function {f!r}; known: {sorted(TOY_FUNCTIONS)}")
        f = TOY_FUNCTIONS[f]
    if not callable(f):
        raise TypeError(f"f must be callable or a TOY_FUNCTIONS name, got {type(f).__name__}")
    n_var = _check_count(n_var, "n_var", 1)
    train_num = _check_count(train_num, "train_num", 1)
    test_num = _check_count(test_num, "test_num", 1)
    dt = _check_float_dtype(dtype)
    lo, hi = _parse_ranges(ranges, n_var)                # (I,), (I,)

    rng = np.random.default_rng(check_seed(seed))
    x_train = lo + (hi - lo) * rng.random((train_num, n_var))   # (N_train, I)
    x_test = lo + (hi - lo) * rng.random((test_num, n_var))     # (N_test, I)
    y_train = _evaluate(f, x_train, "train")                    # (N_train, O)
    y_test = _evaluate(f, x_test, "test")                       # (N_test, O)
    if y_train.shape[1] != y_test.shape[1]:
        raise ValueError(f"f returned {y_train.shape[1]} outputs on the train points "
                         f"but {y_test.shape[1]} on the test points")

    if normalize_input:
        x_train, x_test = _standardize(x_train, x_test, "normalize_input")
    if normalize_label:
        y_train, y_test = _standardize(y_train, y_test, "normalize_label")
    out = {"train_input": x_train, "train_label": y_train, "test_input": x_test, "test_label": y_test}
    for key, a in out.items():
        with np.errstate(over="ignore"):
            out[key] = a.astype(dt)
        if not np.isfinite(out[key]).all():
            raise ValueError(f"f: the {key} values overflow dtype {np.dtype(dt).name}")
    return out


def _evaluate(f, x, split):
    """Call ``f`` on ``x`` (n, I) and return labels of shape (n, O), validated."""
    n = x.shape[0]
    y = np.asarray(f(x.copy()))                          # copy: f may not modify our x
    if y.dtype.kind not in "biuf":
        raise TypeError(f"f must return real numbers for the {split} points, got dtype {y.dtype}")
    y = y.astype(np.float64)
    if y.ndim == 1:
        y = y[:, None]                                   # (n,) -> (n, 1)
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"f must return shape ({n},) or ({n}, O) for x of shape {x.shape}, "
                         f"got {np.shape(y)}")
    finite = np.isfinite(y).all(axis=1)                  # (n,)
    if not finite.all():
        i = np.flatnonzero(~finite)[0]
        raise ValueError(f"f returned {np.count_nonzero(~finite)} non-finite label rows on "
                         f"the {split} points, first at x={x[i].tolist()}: {y[i].tolist()}")
    return y


def _standardize(train, test, name):
    """Standardize both splits with the train mean and std (per column)."""
    mean = train.mean(axis=0, keepdims=True)             # (1, C)
    std = train.std(axis=0, keepdims=True)               # (1, C)
    if np.any(std == 0):
        cols = np.flatnonzero(std[0] == 0).tolist()
        raise ValueError(f"{name}: columns {cols} are constant on the train split, "
                         "so they cannot be scaled to unit standard deviation")
    return (train - mean) / std, (test - mean) / std
