"""Validation at the public boundary: the checks every public call runs before it acts.

Each check takes the value and the argument's name, and returns the value in
the form the code computes with, or raises a ``TypeError``/``ValueError`` whose
message names the argument, what was expected and what was given.

Every check casts first and then checks what the code will really compute
with: an input of ``1e39`` is finite as float64 but ``inf`` in a float32
model, so it is refused there, after the cast, with the argument's name.

- scalars: :func:`check_real`, :func:`check_positive`, :func:`check_nonnegative`,
  :func:`check_unit_interval`, :func:`check_bool`;
- counts and seeds: :func:`check_count` (an int ``>= minimum``: steps, epochs,
  batch sizes), :func:`check_seed` (None, an int ``>= 0`` or a NumPy generator);
- constructors: :func:`check_degree` (``k`` within the degrees whose bases
  keep partition of unity), :func:`check_knots` (the initial knots, finite and
  increasing after the cast to the model's dtype), :func:`check_layer_args`;
- model data: :func:`check_input` (inputs ``(B, width)``), :func:`check_target`
  (regression targets or class labels), :func:`check_upstream` (a ``dy``
  handed to a backward pass), :func:`check_output` (a diverged model).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .training.losses import _takes_labels

__all__ = ["check_real", "check_positive", "check_nonnegative", "check_unit_interval",
           "check_bool", "check_count", "check_seed", "check_degree", "MAX_DEGREE", "check_knots",
           "check_layer_args", "check_kan_args", "check_input", "check_target",
           "check_user_target", "check_upstream", "check_output"]

#: the largest spline degree ``k`` whose bases numpykan computes to round-off: from
#: ``k = 21`` on, the closed-form live bases (their factorials) lose partition of unity
#: (the sum of the bases is off by 0.72 at ``k = 21``, measured on uniform grids)
MAX_DEGREE = 20


def check_real(value, name):
    """A finite real number (not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(value, name):
    """A finite real number > 0."""
    value = check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_nonnegative(value, name):
    """A finite real number >= 0."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_unit_interval(value, name):
    """A finite real number in [0, 1)."""
    value = check_real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def check_bool(value, name):
    """``True`` or ``False`` (NumPy's bools too), else a ``TypeError`` naming it."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_count(value, name, minimum=0):
    """An int (NumPy ints too; not a bool, not a float such as 2.5 or inf) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_seed(seed, name="seed"):
    """A seed NumPy takes: None, an int ``>= 0``, a ``SeedSequence`` or a ``Generator``."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return seed
    return check_count(seed, name, 0)


def check_degree(k, name="k"):
    """The spline degree: an int in ``0 .. MAX_DEGREE``."""
    k = check_count(k, name, 0)
    if k > MAX_DEGREE:
        raise ValueError(f"{name} must be <= {MAX_DEGREE}: from degree {MAX_DEGREE + 1} on the "
                         f"bases lose partition of unity in floating point, got {k}")
    return k


def check_knots(G, k, grid_range, dtype, name="grid_range"):
    """The uniform knots ``(G + 2k + 1,)`` over ``grid_range``, as the model will hold them.

    They are computed in float64, cast to ``dtype`` and must be finite and
    strictly increasing there, with every gap at least 100 units in the
    last place of the knots it separates (so that ``(x - t_m) / (t_{m+1} - t_m)``
    keeps 2 significant digits or more): ``(-1e308, 1e308)`` (an infinite span),
    ``(1e16, 1e16 + 4)`` (repeated knots), ``(-1e38, 3e38)`` in float32 are refused.
    """
    from .splines.grids import _check_range, uniform_knots64
    lo, hi = _check_range(grid_range, name)
    with np.errstate(over="ignore", invalid="ignore"):
        t64 = uniform_knots64(G, k, lo, hi)                                # (n,)
        t = t64.astype(dtype)
    if not np.isfinite(t).all():
        raise ValueError(f"{name} = ({lo}, {hi}) with G = {G}, k = {k}: the extended knots "
                         f"overflow {np.dtype(dtype).name} (they span [{t64[0]:.3g}, {t64[-1]:.3g}])")
    gaps = np.diff(t)
    ulp = np.spacing(np.maximum(np.abs(t[:-1]), np.abs(t[1:])))
    if not np.all(gaps > 0) or np.any(gaps < 100 * ulp) or np.any(gaps < np.finfo(dtype).tiny):
        raise ValueError(f"{name} = ({lo}, {hi}) with G = {G}: the knot spacing "
                         f"{(hi - lo) / G:.3g} is too small for values of size "
                         f"{max(abs(lo), abs(hi)):.3g} in {np.dtype(dtype).name} (knots would "
                         f"repeat or lose their digits); widen the range or move it towards 0")
    return t


def check_layer_args(grid, k, grid_range, noise_scale, seed, dtype):
    """A layer's constructor arguments -> ``(G, k, knots, noise_scale, seed)``, checked together."""
    G = check_count(grid, "grid", 1)
    k = check_degree(k)
    t = check_knots(G, k, grid_range, dtype)
    noise_scale = check_nonnegative(noise_scale, "noise_scale")
    if noise_scale / G > float(np.finfo(dtype).max):
        raise ValueError(f"noise_scale must keep the initial coef finite in "
                         f"{np.dtype(dtype).name}, got {noise_scale}")
    return G, k, t, noise_scale, check_seed(seed)


def check_kan_args(grid, k, grid_range, seed, noise_scale, grid_eps, dtype):
    """What :class:`~numpykan.KAN` checks before it builds a layer (one call in its ``__init__``).

    ``grid`` and ``k`` may be lists, one entry per layer: each layer's pair is
    checked (lists of different lengths are left to the model, which says so).
    """
    from .models.layer import _check_dtype
    dtype = _check_dtype(dtype)
    listed = [isinstance(v, (list, tuple, np.ndarray)) for v in (grid, k)]
    grids = list(grid) if listed[0] else None
    ks = list(k) if listed[1] else None
    if grids is not None and ks is not None and len(grids) != len(ks):
        pairs = []
    else:
        n = len(grids) if grids is not None else len(ks) if ks is not None else 1
        pairs = zip(grids or [grid] * n, ks or [k] * n)
    for g, kk in pairs:
        check_layer_args(g, kk, grid_range, noise_scale, None, dtype)
    if seed is not None:                 # a model's seed is recorded in its config: an int
        check_count(seed, "seed", 0)
    value = check_real(grid_eps, "grid_eps")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"grid_eps must be in [0, 1], got {value}")


def _cast_finite(a, dtype, name, what=""):
    """``a`` cast to ``dtype``; a ``ValueError`` naming ``name`` unless every value is finite after the cast."""
    if a.dtype == dtype:
        cast = a
    else:                                   # an overflowing cast warns: it is refused below
        with np.errstate(over="ignore", invalid="ignore"):
            cast = a.astype(dtype)
    if not np.isfinite(cast).all():
        big = "" if not np.isfinite(a).all() else \
            f" after the cast to {np.dtype(dtype).name} (values beyond {np.finfo(dtype).max:.3g})"
        raise ValueError(f"{name}{what} contains NaN or inf{big}")
    return cast


def check_input(x, width, dtype, name="x"):
    """Validate a model input ``(B, width)``: 2-D, real numeric (bool too), non-empty, finite in ``dtype``.

    Returns ``x`` cast to ``dtype`` (no copy when it already is).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (batch, {width}), got shape {x.shape}")
    if x.shape[1] != width:
        raise ValueError(f"{name} must have shape (batch, {width}), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return _cast_finite(x, dtype, name)


def check_upstream(d, expected, dtype, name="dy"):
    """An upstream gradient ``dL/dy`` handed to a backward pass: real, shape ``expected``, finite in ``dtype``."""
    d = np.asarray(d)
    if d.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {d.dtype}")
    if d.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {d.shape}")
    return _cast_finite(d, dtype, name)


def check_target(y, loss, batch, out, dtype, name="y"):
    """Validate targets: ``(B, out)`` floats for ``mse``, ``(B,)`` int labels for ``ce``.

    For a callable loss see :func:`check_user_target`.
    """
    if callable(loss) and not isinstance(loss, str) and not _builtin_loss(loss):
        return check_user_target(y, batch, dtype, name)
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {y.dtype}")
    if _takes_labels(loss):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != batch:
            raise ValueError(f"{name} must be integer labels of shape ({batch},), got shape {y.shape}")
        if y.dtype.kind == "f" and np.all(np.abs(y) < 2.0 ** 53) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= out:
            raise ValueError(f"{name} labels must be in [0, {out}), got range "
                             f"[{y.min()}, {y.max()}]")
        return y
    if y.ndim == 1 and out == 1:
        y = y[:, None]
    if y.shape != (batch, out):
        raise ValueError(f"{name} must have shape ({batch}, {out}), got shape {y.shape}")
    return _cast_finite(y, dtype, name)


def _builtin_loss(fn):
    from .training.losses import cross_entropy, mse
    return fn is mse or fn is cross_entropy


def check_user_target(y, batch, dtype, name="y"):
    """Targets for a callable loss: a real numeric array with ``batch`` rows (any other shape).

    Floats must be finite and are cast to the model's ``dtype``; integers
    (class labels, say) are passed on as they are, for the loss to read.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {y.dtype}")
    if y.ndim == 0 or y.shape[0] != batch:
        raise ValueError(f"{name} must have {batch} rows (one per sample), got shape {y.shape}")
    if y.dtype.kind == "f":
        y = _cast_finite(y, dtype, name, f" (in {np.dtype(dtype).name})")
    return y


def check_output(out):
    """Raise ``FloatingPointError`` if a model output is NaN or inf (the parameters diverged)."""
    if not np.isfinite(out).all():
        raise FloatingPointError("the model's output is not finite: its parameters have "
                                 "diverged (try a smaller learning rate)")
