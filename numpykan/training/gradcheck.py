"""Finite-difference gradient checking, for tests and for students.

A hand-written backward pass is only trusted once it agrees with the
derivative measured by perturbing the inputs. This module measures it with
central differences,

    f'(x) ~ (f(x + eps) - f(x - eps)) / (2 eps),

whose truncation error is O(eps^2 |f'''|) and whose rounding error is about
macheps |f| / eps; with eps = 1e-6 in float64 both are ~1e-10 for |f| ~ 1.
In float32 (macheps ~ 1e-7) the rounding error alone is ~0.1, which is why
everything here insists on float64.

Three entry points:

- :func:`numerical_gradient` -- the gradient of ``f()`` with respect to one array;
- :func:`gradcheck` -- analytic vs numeric for a dict of arrays, element by
  element or along random directions, returning a readable
  :class:`GradcheckReport`;
- :func:`check_model` -- the same for a whole model through
  ``model.loss_and_grad`` and ``model.parameters()``.

Examples
--------
>>> import numpy as np
>>> w = np.array([1.0, -2.0])
>>> f = lambda: float(np.sum(w ** 3))                # f(w) = sum w^3
>>> report = gradcheck(f, {"w": w}, {"w": 3 * w ** 2})
>>> report.ok
True
>>> gradcheck(f, {"w": w}, {"w": 2 * w}).ok        # a wrong derivative
False
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
import numbers

import numpy as np

__all__ = ["numerical_gradient", "gradcheck", "check_model", "GradcheckReport", "GradcheckRow"]

_MODES = ("auto", "elementwise", "direction")


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #

def _check_float64(a, name):
    """Require a writeable float64 ndarray (it is perturbed in place)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(a).__name__}")
    if a.dtype != np.float64:
        raise TypeError(
            f"{name} has dtype {a.dtype}, but finite differences need float64: in lower "
            "precision the rounding error of f (about macheps * |f| / eps) swamps the "
            "derivative. Cast your model with dtype=float64 (or a.astype(np.float64))."
        )
    if not a.flags.writeable:
        raise ValueError(f"{name} must be writeable: it is perturbed in place and restored")


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return float(value)


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _evaluate(f):
    """Call ``f()`` and return its value as a float, or explain what is wrong."""
    value = f()
    if isinstance(value, (tuple, list)) or np.ndim(value) != 0:
        what = f"a {type(value).__name__}" if isinstance(value, (tuple, list)) \
            else f"shape {np.shape(value)}"
        raise TypeError(
            f"f() must return the scalar loss, got {what} "
            "(if your function returns (loss, grad), use lambda: fn(...)[0])"
        )
    return float(value)


def _compare(a, n, rtol, atol):
    """Compare analytic ``a`` with numeric ``n`` (same shape), element by element.

    Returns ``(max_abs_err, max_rel_err, worst_flat_index, ok)``; see
    :func:`gradcheck` for the definitions. NaN counts as the worst possible error.
    """
    err = np.abs(a - n)                                # |a - n|
    scale = np.maximum(np.abs(a), np.abs(n))           # max(|a|, |n|)
    tol = atol + rtol * scale
    ok = bool(np.all(err <= tol))                      # False if any NaN
    denom = np.maximum(scale, atol / rtol)
    rel = np.divide(err, denom, out=np.zeros_like(err), where=denom > 0)
    ratio = np.divide(err, tol, out=np.where(err > 0, np.inf, 0.0), where=tol > 0)
    ratio = np.where(np.isnan(err), np.inf, ratio)     # NaN is the worst
    worst = int(np.argmax(ratio))
    if np.isnan(err).any():                            # NaN is reported as NaN, not as 0
        return float("nan"), float("nan"), worst, False
    return float(np.max(err)), float(np.max(rel)), worst, ok


# --------------------------------------------------------------------------- #
# report
# --------------------------------------------------------------------------- #

@dataclass
class GradcheckRow:
    """One parameter's line of a :class:`GradcheckReport`.

    Attributes
    ----------
    name : str
        Parameter name (``"(all jointly)"`` for the joint row of direction mode).
    shape : tuple of int
        Parameter shape.
    max_abs_err, max_rel_err : float
        Largest ``|a - n|`` and largest relative error (see :func:`gradcheck`)
        over the elements (elementwise mode) or the directions (direction mode).
    worst_index : tuple of int or int or None
        The element (a tuple) or the direction number (an int) whose error is
        largest relative to the tolerance ``atol + rtol * max(|a|, |n|)``;
        None for an empty array.
    analytic, numeric : float
        The analytic and numeric values there (directional derivatives in
        direction mode).
    ok : bool
        Whether every element (direction) passed.
    """

    name: str
    shape: tuple
    max_abs_err: float
    max_rel_err: float
    worst_index: object
    analytic: float
    numeric: float
    ok: bool


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`; ``str(report)`` is a fixed-width table.

    Attributes
    ----------
    ok : bool
        True when every row passed.
    rows : list of GradcheckRow
        One per parameter name, in the order of ``params`` (plus one joint
        row in direction mode when there are several parameters).
    mode : str
        ``"elementwise"`` or ``"direction"`` (what ``"auto"`` resolved to).
    eps, rtol, atol : float
        The settings used, shown in the table header.
    f_value : float
        ``f()`` at the unperturbed point (NaN if it returned NaN).
    rounding_floor : float
        ``macheps * |f| / eps``: about the rounding error of one central
        difference; an absolute error near it is no evidence of a wrong gradient.
    notes : list of str
        What may explain a failure: points on or near knots (from
        :func:`check_model`), a NaN loss, failures at the rounding floor.
    """

    ok: bool
    rows: list = field(default_factory=list)
    mode: str = "elementwise"
    eps: float = 1e-6
    rtol: float = 1e-6
    atol: float = 1e-9
    f_value: float = float("nan")
    rounding_floor: float = float("nan")
    notes: list = field(default_factory=list)

    def __str__(self):
        head = ["name", "shape", "max abs err", "max rel err",
                "worst" if self.mode == "elementwise" else "worst dir",
                "analytic", "numeric", ""]
        body = []
        for r in self.rows:
            worst = "-" if r.worst_index is None else (
                f"u{r.worst_index}" if isinstance(r.worst_index, int) else str(r.worst_index))
            body.append([r.name, str(r.shape), _num(r.max_abs_err), _num(r.max_rel_err),
                         worst, f"{r.analytic:+.9e}", f"{r.numeric:+.9e}",
                         "ok" if r.ok else "FAIL"])
        widths = [max(len(row[c]) for row in [head] + body) for c in range(len(head))]
        # text columns left-aligned, numbers right-aligned
        align = ["<", "<", ">", ">", "<", ">", ">", "<"]

        def line(cells):
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

        lines = [f"gradcheck: mode={self.mode}, eps={self.eps:g}, rtol={self.rtol:g}, "
                 f"atol={self.atol:g}; |f| = {_num(abs(self.f_value))}, rounding floor "
                 f"macheps*|f|/eps = {_num(self.rounding_floor)}", line(head)]
        lines += [line(row) for row in body]
        lines += [f"note: {n}" for n in self.notes]
        rule = "|a - n| <= atol + rtol * max(|a|, |n|)"
        failed = [r.name for r in self.rows if not r.ok]
        if self.ok:
            lines.append(f"PASS: all {len(self.rows)} rows satisfy {rule}")
        else:
            lines.append(f"FAIL: {len(failed)} of {len(self.rows)} rows violate {rule}: "
                         + ", ".join(failed))
        return "\n".join(lines)


def _num(v):
    """``1.23e-04``, or ``nan`` spelled out (a NaN must never read as a small error)."""
    return "nan" if v != v else f"{v:.2e}"


def _diagnose(rows, f_value, floor, atol):
    """Notes that explain a failure: a NaN loss, NaN gradients, errors at the rounding floor."""
    notes = []
    if f_value != f_value:
        notes.append("f() returned NaN at the unperturbed point: every difference is NaN")
    elif any(r.max_abs_err != r.max_abs_err for r in rows):
        names = [r.name for r in rows if r.max_abs_err != r.max_abs_err]
        notes.append(f"NaN in the analytic or numeric gradient of {', '.join(names)}")
    small = [r.name for r in rows if not r.ok and r.max_abs_err <= 10 * floor + atol]
    if small:
        notes.append(f"{', '.join(small)} fail by at most 10x the rounding floor {floor:.1e}: "
                     f"likely round-off of f, not a wrong gradient (raise atol to ~{floor:.0e}, "
                     f"or scale the loss down)")
    return notes


# --------------------------------------------------------------------------- #
# public functions
# --------------------------------------------------------------------------- #

def numerical_gradient(f, x, eps=1e-6):
    r"""Central-difference gradient of ``f()`` with respect to the array ``x``.

    Parameters
    ----------
    f : callable
        ``f() -> float``; it must read the current contents of ``x``.
    x : ndarray, float64
        Perturbed in place, one element at a time, and restored exactly
        (the saved value is written back, even if ``f`` raises).
    eps : float, default 1e-6
        Step size, > 0.

    Returns
    -------
    ndarray, shape of ``x``, float64
        ``g[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.

    Notes
    -----
    The cost is ``2 * x.size`` calls of ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> g = numerical_gradient(lambda: float(x @ x), x)   # d(x.x)/dx = 2x
    >>> np.allclose(g, [2.0, 4.0], rtol=1e-9)
    True
    """
    _check_float64(x, "x")
    eps = _check_positive(eps, "eps")
    grad = np.zeros_like(x)  # same shape as x, float64
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + eps
            f_plus = _evaluate(f)
            x[idx] = old - eps
            f_minus = _evaluate(f)
        finally:
            x[idx] = old      # bit-exact restore
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def gradcheck(f, params, grads, *, eps=1e-6, rtol=1e-6, atol=1e-9, mode="auto",
              n_directions=8, max_elements=2000, seed=0, raise_on_fail=False, notes=()):
    r"""Compare analytic gradients with central finite differences.

    Parameters
    ----------
    f : callable
        ``f() -> float``: recomputes the scalar loss from the *current*
        contents of the arrays in ``params``.
    params : dict of str -> ndarray (float64)
        The arrays to perturb. They are modified in place during the check
        and restored bit-exactly afterwards (also when ``f`` raises).
    grads : dict of str -> ndarray (float64)
        The analytic gradient of ``f`` for each name, of the same shape.
        They are copied first, so ``f`` may overwrite them.
    eps : float, default 1e-6
        Finite-difference step.
    rtol, atol : float, default 1e-6, 1e-9
        Tolerances of the pass criterion below; ``rtol > 0``, ``atol >= 0``.
    mode : {"auto", "elementwise", "direction"}, default "auto"
        ``"elementwise"`` checks every element; ``"direction"`` checks
        directional derivatives along ``n_directions`` random unit vectors;
        ``"auto"`` is elementwise when the total size is ``<= max_elements``.
    n_directions : int, default 8
        Number of random directions in direction mode.
    max_elements : int, default 2000
        Size limit of the elementwise mode under ``"auto"``.
    seed : int, default 0
        Seed of the one ``np.random.Generator`` that draws the directions.
    raise_on_fail : bool, default False
        Raise ``AssertionError`` with the report table when the check fails.
    notes : sequence of str
        Extra lines for the report (:func:`check_model` passes what it found
        about knots).

    Returns
    -------
    GradcheckReport
        ``report.ok``, one row per parameter, printable with ``print(report)``;
        the header shows ``|f|`` and the rounding floor ``macheps * |f| / eps``.
        A NaN loss or gradient is reported as ``nan`` (and fails).

    Raises
    ------
    TypeError
        If an array is not float64 or ``f`` does not return a scalar.
    ValueError
        If names or shapes of ``params`` and ``grads`` disagree, or a setting
        is out of range.
    AssertionError
        If ``raise_on_fail`` and the check fails.

    Notes
    -----
    For an analytic value :math:`a` and its numeric estimate :math:`n`, an
    element passes when

    .. math:: |a - n| \le \mathrm{atol} + \mathrm{rtol} \cdot \max(|a|, |n|).

    The relative error reported is

    .. math:: \mathrm{rel} = \frac{|a - n|}{\max(|a|, |n|, \mathrm{atol} / \mathrm{rtol})},

    i.e. below the magnitude :math:`\mathrm{atol}/\mathrm{rtol}` the error is
    measured against that floor, where the absolute tolerance takes over.
    So :math:`\mathrm{rel} \le \mathrm{rtol}` implies a pass, and a pass
    implies :math:`\mathrm{rel} \le 2\,\mathrm{rtol}`.

    *Elementwise* (``2 * size`` calls of ``f``): :math:`n_i` is the central
    difference of element :math:`i` (:func:`numerical_gradient`).

    *Direction* (``2 * n_directions * (P + 1)`` calls for :math:`P > 1`
    parameters): direction :math:`d` draws a Gaussian :math:`z` for every
    array. One row per parameter compares :math:`a = \langle g, u \rangle`
    with :math:`n = (f(p + \epsilon u) - f(p - \epsilon u)) / (2\epsilon)` for
    the unit vector :math:`u = z / \|z\|` of that parameter alone (this names
    the culprit); a final row ``"(all jointly)"`` perturbs all parameters
    together along the joint unit vector.

    The rounding error of a central difference is about
    :math:`\epsilon_{mach} |f| / \epsilon` (the report's *rounding floor*); for
    losses much larger than 1, raise ``atol`` accordingly (the report says so
    when failing rows sit within 10x that floor). Check at points where ``f`` is smooth (not at
    spline knots or at the kink of ``|x|``).

    Examples
    --------
    A quadratic :math:`f(w) = \tfrac12 w^\top A w` with gradient :math:`A w`:

    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> w = np.array([1.0, -2.0])
    >>> report = gradcheck(lambda: float(0.5 * w @ A @ w), {"w": w}, {"w": A @ w})
    >>> report.ok, report.rows[0].name
    (True, 'w')
    >>> print(str(report).splitlines()[-1])
    PASS: all 1 rows satisfy |a - n| <= atol + rtol * max(|a|, |n|)
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning the loss, got {type(f).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict name -> ndarray, got {type(params).__name__}")
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict name -> ndarray, got {type(grads).__name__}")
    if not params:
        raise ValueError("params must hold at least one array, got an empty dict")
    missing = [k for k in params if k not in grads]
    extra = [k for k in grads if k not in params]
    if missing or extra:
        raise ValueError(f"grads must have the keys of params {list(params)}; "
                         f"missing {missing}, unexpected {extra}")
    for name, p in params.items():
        _check_float64(p, f"params[{name!r}]")
    for name, g in grads.items():
        _check_float64(np.asarray(g), f"grads[{name!r}]")
        if np.shape(g) != params[name].shape:
            raise ValueError(f"grads[{name!r}] must have the shape of params[{name!r}] "
                             f"{params[name].shape}, got {np.shape(g)}")
    eps = _check_positive(eps, "eps")
    rtol = _check_positive(rtol, "rtol")
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not atol >= 0:
        raise ValueError(f"atol must be a real number >= 0, got {atol!r}")
    atol = float(atol)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    n_directions = _check_count(n_directions, "n_directions", 1)
    max_elements = _check_count(max_elements, "max_elements", 0)

    analytic = {name: np.array(g, dtype=np.float64, copy=True) for name, g in grads.items()}
    f_value = _evaluate(f)                             # |f| sets the rounding floor
    floor = float(np.finfo(np.float64).eps * abs(f_value) / eps)
    total = sum(p.size for p in params.values())
    if mode == "auto":
        mode = "elementwise" if total <= max_elements else "direction"

    if mode == "elementwise":
        rows = [_elementwise_row(f, name, params[name], analytic[name], eps, rtol, atol)
                for name in params]
    else:
        rows = _direction_rows(f, params, analytic, eps, rtol, atol, n_directions, seed)

    report = GradcheckReport(ok=all(r.ok for r in rows), rows=rows, mode=mode,
                             eps=eps, rtol=rtol, atol=atol, f_value=f_value, rounding_floor=floor,
                             notes=list(notes) + _diagnose(rows, f_value, floor, atol))
    if raise_on_fail and not report.ok:
        raise AssertionError("\n" + str(report))
    return report


def _elementwise_row(f, name, p, a, eps, rtol, atol):
    """Row of one parameter, every element by central differences."""
    if p.size == 0:
        return GradcheckRow(name, p.shape, 0.0, 0.0, None, float("nan"), float("nan"), True)
    n = numerical_gradient(f, p, eps)  # shape of p
    max_abs, max_rel, worst, ok = _compare(a, n, rtol, atol)
    idx = tuple(int(i) for i in np.unravel_index(worst, p.shape))
    return GradcheckRow(name, p.shape, max_abs, max_rel, idx, float(a[idx]), float(n[idx]), ok)


def _directional(f, arrays, units, eps):
    """(f(p + eps u) - f(p - eps u)) / (2 eps), perturbing ``arrays`` jointly."""
    saved = [p.copy() for p in arrays]
    try:
        for p, p0, u in zip(arrays, saved, units):
            p[...] = p0 + eps * u
        f_plus = _evaluate(f)
        for p, p0, u in zip(arrays, saved, units):
            p[...] = p0 - eps * u
        f_minus = _evaluate(f)
    finally:
        for p, p0 in zip(arrays, saved):
            p[...] = p0       # bit-exact restore
    return (f_plus - f_minus) / (2 * eps)


def _direction_rows(f, params, analytic, eps, rtol, atol, n_directions, seed):
    """Per-parameter rows (plus a joint row) from random directional derivatives."""
    rng = np.random.default_rng(seed)
    names = list(params)
    a_dir = {name: np.zeros(n_directions) for name in names + [None]}  # None: joint
    n_dir = {name: np.zeros(n_directions) for name in names + [None]}
    for d in range(n_directions):
        z = {name: rng.standard_normal(params[name].shape) for name in names}
        for name in names:
            norm = np.linalg.norm(z[name])
            u = z[name] / norm if norm > 0 else z[name]     # unit vector of this param
            a_dir[name][d] = np.sum(analytic[name] * u)     # <g, u>
            n_dir[name][d] = _directional(f, [params[name]], [u], eps)
        if len(names) > 1:
            norm = np.sqrt(sum(np.sum(z[name] ** 2) for name in names))
            units = [z[name] / norm for name in names]      # joint unit vector
            a_dir[None][d] = sum(np.sum(analytic[name] * u) for name, u in zip(names, units))
            n_dir[None][d] = _directional(f, [params[name] for name in names], units, eps)

    rows = []
    for name in names + ([None] if len(names) > 1 else []):
        if name is not None and params[name].size == 0:
            rows.append(GradcheckRow(name, params[name].shape, 0.0, 0.0, None,
                                     float("nan"), float("nan"), True))
            continue
        max_abs, max_rel, worst, ok = _compare(a_dir[name], n_dir[name], rtol, atol)
        shape = params[name].shape if name is not None else \
            (sum(params[k].size for k in names),)
        rows.append(GradcheckRow(name if name is not None else "(all jointly)", shape,
                                 max_abs, max_rel, worst, float(a_dir[name][worst]),
                                 float(n_dir[name][worst]), ok))
    return rows


def check_model(model, x, y=None, loss="mse", *, eps=1e-6, rtol=1e-6, atol=1e-9, mode="auto",
                n_directions=8, max_elements=2000, seed=0, raise_on_fail=False, input_grad=False,
                knot_tol=None, **loss_kwargs):
    """Gradient-check a whole model through its loss and backward pass.

    The model needs ``model.parameters()``, the list of ``(params, grads)``
    dict pairs (one per layer, shared keys), and a way to fill the grads:

    - ``loss`` a name (``"mse"``, ``"ce"``): ``model.loss_and_grad(x, y, loss=loss, **loss_kwargs)``;
    - ``loss`` an object with a ``loss_and_grad(model, x, y, input_grad=...)``
      method (e.g. :class:`numpykan.derivatives.DerivativeLoss`, a loss on input
      derivatives): that method;
    - ``loss`` a callable ``loss(y_pred, y) -> (value, dL/dy_pred)``:
      ``model.forward(x)``, the callable, then ``model.backward(dL/dy_pred)``.

    Parameters
    ----------
    model : object
        A float64 model as above.
    x : ndarray
        Inputs, passed through unchanged (perturbed in place if ``input_grad``).
    y : ndarray, optional
        Targets (or integer labels for ``loss="ce"``), passed through unchanged.
    loss : str, loss object or callable, default "mse"
    eps, rtol, atol, mode, n_directions, max_elements, seed, raise_on_fail
        As in :func:`gradcheck`.
    input_grad : bool, default False
        Also check ``dL/dx`` (``model.grad_input`` after the loss), as row ``"x"``;
        ``x`` must then be a writeable float64 array.
    knot_tol : float, optional
        A KAN's layer inputs closer than this to a knot of their layer's grid are
        reported in ``report.notes`` (default ``10 * eps``: a perturbation of size
        ``eps`` moves a hidden input by about ``eps`` times its sensitivity).
        At a knot a degree-``k`` spline is only ``C^(k-1)``, so a difference
        quotient that straddles it disagrees with the one-sided analytic value
        when the checked derivative needs more smoothness than that.
    **loss_kwargs
        Passed to ``loss_and_grad`` (e.g. ``lamb=0.1``).

    Returns
    -------
    GradcheckReport
        Rows named after the layer a parameter belongs to: ``"layer{l}.{key}"``,
        a layer's formula edges ``"layer{l}.symbolic.{key}"`` (pairs of
        ``parameters()`` that belong to no layer: ``"layer{g}"`` by position);
        keys whose gradient is ``None`` or missing after the loss (frozen
        parameters) are skipped.

    Raises
    ------
    TypeError
        If a parameter or gradient (or ``x`` with ``input_grad``) is not float64,
        or a callable loss is given ``loss_kwargs``.
    ValueError
        If the loss filled no gradient at all, or no ``dL/dx`` with ``input_grad``.
    """
    f = _model_loss(model, x, y, loss, input_grad, loss_kwargs)
    if input_grad:
        _check_float64(x, "x (perturbed in place by input_grad=True)")
    notes = _knot_notes(model, x, 10 * eps if knot_tol is None else knot_tol, loss)
    f()  # one call fills the analytic gradients
    params, grads = {}, {}
    for prefix, (p, g) in zip(_group_names(model), model.parameters()):
        for key, arr in p.items():
            if g.get(key) is None:
                continue
            params[f"{prefix}.{key}"] = arr
            grads[f"{prefix}.{key}"] = np.array(g[key], copy=True)  # f() will overwrite g
    if not params:
        raise ValueError("the loss filled no gradient in model.parameters(); nothing to check")
    if input_grad:
        gx = getattr(model, "grad_input", None)
        if gx is None:
            raise ValueError("input_grad=True, but the loss left model.grad_input None")
        params["x"], grads["x"] = x, np.array(gx, dtype=np.float64, copy=True)
    return gradcheck(f, params, grads, eps=eps, rtol=rtol, atol=atol, mode=mode,
                     n_directions=n_directions, max_elements=max_elements, seed=seed,
                     raise_on_fail=raise_on_fail, notes=notes)


def _model_loss(model, x, y, loss, input_grad, loss_kwargs):
    """``f()`` that recomputes the loss and fills the model's grads (see :func:`check_model`)."""
    if isinstance(loss, str):
        extra = dict(input_grad=True) if input_grad else {}

        def f():
            return model.loss_and_grad(x, y, loss=loss, **extra, **loss_kwargs)
        return f
    if hasattr(loss, "loss_and_grad"):
        def f():
            return loss.loss_and_grad(model, x, y, input_grad=input_grad, **loss_kwargs)
        return f
    if callable(loss):
        if loss_kwargs:
            raise TypeError(f"a callable loss takes no loss_kwargs, got {sorted(loss_kwargs)} "
                            f"(the regularizer belongs to model.loss_and_grad with a named loss)")

        def f():
            out = model.forward(x)
            value, dout = loss(out, y)
            if np.shape(dout) != np.shape(out):
                raise ValueError(f"loss(y_pred, y) must return (value, dL/dy_pred) with dL/dy_pred "
                                 f"of the output's shape {np.shape(out)}, got {np.shape(dout)}")
            model.backward(dout, input_grad=input_grad)
            return value
        return f
    raise TypeError(f"loss must be a name, an object with loss_and_grad(model, x, y), or a "
                    f"callable loss(y_pred, y) -> (value, grad), got {type(loss).__name__}")


def _group_names(model):
    """Row prefix per ``model.parameters()`` pair: ``layer{l}``, ``layer{l}.symbolic``, else ``layer{g}``."""
    owners = {}
    for l, layer in enumerate(getattr(model, "layers", None) or []):
        params = getattr(layer, "params", None)
        if params is not None:
            owners[id(params)] = f"layer{l}"
        sym = getattr(layer, "symbolic", None)
        if sym is not None and getattr(sym, "params", None) is not None:
            owners[id(sym.params)] = f"layer{l}.symbolic"
    names, seen = [], set()
    for g, (p, _) in enumerate(model.parameters()):
        name = owners.get(id(p), f"layer{g}")
        while name in seen:
            name += "'"
        seen.add(name)
        names.append(name)
    return names


def _knot_notes(model, x, tol, loss):
    """Lines naming the layer inputs of a KAN that lie within ``tol`` of a knot (empty otherwise)."""
    layers = getattr(model, "layers", None) or []
    if not layers or not all(hasattr(layer, "grid") and hasattr(layer, "k") for layer in layers):
        return []
    try:
        h = model._input(x)
    except (TypeError, ValueError, AttributeError):
        return []                                      # the loss call will report bad input
    order = getattr(loss, "order", 0)                  # a loss on input derivatives reads phi^(order)
    notes = []
    for l, layer in enumerate(layers):
        t = layer.grid                                 # (I, n)
        dist = np.min(np.abs(h[:, :, None] - t[None, :, :]), axis=2)   # (B, I) to the nearest knot
        for i in range(dist.shape[1]):
            near = np.flatnonzero(dist[:, i] <= tol)
            if near.size:
                b = int(near[np.argmin(dist[near, i])])
                k = layer.k
                need = order + 2                       # phi^(order + 1) continuous: C^(order+1)
                verdict = "expect a mismatch there" if k < need else "harmless for this check"
                notes.append(f"layer {l} input {i}: {near.size} of {dist.shape[0]} points lie "
                             f"within {tol:.0e} of a knot (closest: point {b}, distance "
                             f"{dist[b, i]:.1e}); a degree-{k} spline is only C^{k - 1} at a knot "
                             f"and this check needs phi^({order + 1}) continuous (k >= {need}): "
                             f"{verdict}")
        infer = getattr(model, "_infer", None)         # a KAN: through its multiplication nodes too
        h = infer(h, l, l + 1) if infer is not None else layer.forward(h, cache=False, check=False)
    return notes
