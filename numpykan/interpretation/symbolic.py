"""Symbolic edges: name a learned curve, fit it, and freeze it to a formula.

A trained KAN edge ``phi_ij`` is a 1-D curve. Often it is (close to) a known
function up to an affine change of input and output::

    phi_ij(x) ~ c * f(a * x + b) + d

This module holds

- a **library** of named functions ``f`` (numpy value, derivative, a
  complexity score and a formula template), extendable with :func:`add_symbolic`;
- :func:`fit_affine`: the fit of ``(a, b, c, d)`` for one ``f`` to samples
  ``(x, y)``, scored by ``R^2``;
- :func:`suggest` (``model.suggest_symbolic``): every library function fitted
  and ranked by a stated rule: by default the candidates within ``window = 0.01``
  of the best ``R^2``, traded against complexity, ahead of all others by ``R^2``;
  pykan's ``weight_simple`` rule by name.

The library has the 29 names of pykan 0.2.8's (``0``, ``x``, ``x^2`` ... ``x^5``,
``1/x`` ... ``1/x^5``, ``sqrt``, ``x^0.5``, ``x^1.5``, ``1/sqrt(x)``, ``1/x^0.5``,
``exp``, ``log``, ``sin``, ``cos``, ``tan``, ``tanh``, ``sgn``, ``abs``, ``arcsin``,
``arccos``, ``arctan``, ``arctanh``, ``gaussian``) with pykan's complexities,
except ``1/x^2`` (3 here, 2 in pykan).

Putting a formula into a network (``layer.symbolic``, ``fix_symbolic``,
``symbolic_formula``) is :mod:`numpykan.symbolic_edges`.

Fitting ``c f(a x + b) + d``
----------------------------
For fixed ``(a, b)`` the model is linear in ``(c, d)``, so they come from linear
least squares; with ``u = f(a x + b)``::

    c = cov(u, y) / var(u),   d = mean(y) - c mean(u),   R^2 = corr(u, y)^2

So only ``(a, b)`` need a search. The inputs are standardized first
(``t = (x - m) / s``, ``m`` the centre and ``s`` the half-width of the sample
range), so the search ranges are relative to the data: ``a t + b`` with
``a, b`` in ``[-10, 10]`` by default. The search is a coarse grid, then,
from each of a few of its best (and mutually distant) points, ``zoom_rounds``
finer grids centred on the best point so far (each spanning +-2 cells of the
previous grid), then a few Levenberg-Marquardt steps on all four parameters
(kept only if they lower the error); the best of these starts wins.

Three kinds of redundancy are removed so that the answer is unique:

- ``scale_free`` functions (powers, ``1/x``, ``sqrt``, ``log``, ``abs``, ``sgn``)
  satisfy ``f(a u) = g(a) f(u) + h(a)``, so ``a = 1`` and only ``b`` is searched;
- ``shift_free`` functions (``exp``) satisfy ``f(u + b) = e^b f(u)``, so ``b = 0``;
- ``x`` itself is affine: ``a = 1, b = 0`` and only ``(c, d)`` are fitted.

Even/odd/periodic functions then get a canonical form (``a > 0``; for ``sin``
and ``cos`` also ``c > 0`` and ``b`` in ``(-pi, pi]``), see :func:`canonical`.

Domains
-------
Functions with a restricted domain use safe versions, stated in their entry:
``1/x`` ... ``1/x^5`` use ``x`` pushed away from 0 to ``+-1e-4``; ``sqrt``,
``x^0.5``, ``x^1.5``, ``1/sqrt(x)`` and ``log`` use ``|x|`` (even extension;
``1/sqrt(x)`` and ``log`` also clip ``|x|`` at ``1e-4``), with every derivative
0 for ``|x| < 1e-4``; ``arcsin``, ``arccos`` and ``arctanh`` clip their argument
to ``|u| <= 1 - 1e-4`` (where ``arctanh`` reaches 4.95 and its slope 5000);
``tan`` clips its argument to ``|u| <= pi/2 - 1e-2``; ``exp`` clips to
``u <= 50``. Inside the clipped region the derivatives used are 0 (those of the
clipped function), so the values and derivatives stay finite everywhere and
each derivative is the derivative of the one before. On the domain of the
textbook function the values agree. pykan instead fits the textbook functions
(where they are NaN the fit fails) and trains a separate "singularity
avoiding" version; numpykan fits and trains the same safe function.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

__all__ = ["SymbolicFunction", "SYMBOLIC_LIB", "add_symbolic", "get_symbolic", "fit_affine",
           "canonical", "suggest"]


# ---------------------------------------------------------------------------
# the library
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SymbolicFunction:
    """One named function of the library.

    Attributes
    ----------
    name : str
    f, df : callable
        ``f(u)`` and ``f'(u)`` on arrays, elementwise.
    complexity : int
        How costly the name is to read (0 for the zero function, 1 for ``x`` ...).
    template : str
        Formula with ``{x}`` (argument inserted as is, e.g. ``"sin({x})"``) or
        ``{px}`` (parenthesized unless it is a plain variable, e.g. ``"{px}^2"``).
    scale_free, shift_free : bool
        Fix ``a = 1`` resp. ``b = 0`` in the fit (see the module docstring).
    parity : int
        ``1`` even, ``-1`` odd, ``0`` neither: lets :func:`canonical` make ``a > 0``.
    period : float or None
        ``f(u + period) = f(u)``; with ``antiperiodic``, ``f(u + period/2) = -f(u)``.
    d2f, d3f : callable or None
        ``f''`` and ``f'''``, needed only by the derivative models
        (``model.jacobian`` / ``laplacian`` losses, :mod:`numpykan.derivative_layers`).
    sympy : callable or None
        ``sympy(sp, u) -> expression``, ``sp`` the sympy module, used by
        ``symbolic_formula(sympy=True)``; None gives an undefined sympy function
        called ``name``.

    A function registered without a derivative has a ``df`` that raises
    :class:`MissingDerivativeError` when called, and ``has_derivative`` False.
    """

    name: str
    f: object
    df: object
    complexity: int
    template: str
    scale_free: bool = False
    shift_free: bool = False
    parity: int = 0
    period: float | None = None
    antiperiodic: bool = False
    d2f: object = None
    d3f: object = None
    sympy: object = None

    @property
    def has_derivative(self):
        """Whether ``df`` is a derivative (False: calling it raises :class:`MissingDerivativeError`)."""
        return not isinstance(self.df, _NoDerivative)


class MissingDerivativeError(ValueError):
    """A formula edge needs ``f'`` and its library entry has none.

    Fitting, fixing, predicting and printing need only ``f``. Training through a
    formula edge needs ``f'(a x + b)`` (it is in ``dL/da``, ``dL/db`` and
    ``dL/dx``), and numpykan has no autograd to make it: register the function
    again with ``df``.
    """


class _NoDerivative:
    """The ``df`` of a function added without one: calling it raises :class:`MissingDerivativeError`."""

    def __init__(self, name):
        self.name = name

    def __call__(self, u):
        raise MissingDerivativeError(
            f"the symbolic function {self.name!r} was added without a derivative (df=None), but "
            f"training through its formula edge needs f'(a x + b) for dL/da, dL/db and dL/dx; "
            f"register it again with numpykan.symbolic.add_symbolic({self.name!r}, f, df, ...)")

    def __repr__(self):
        return f"<no derivative of {self.name!r}>"


_EPS = 1e-4          # distance from the singularity used by 1/x^n, log and the |x|^p powers
_TAN_MAX = math.pi / 2 - 1e-2
_EXP_MAX = 50.0
_ARC_MAX = 1.0 - 1e-4  # arcsin, arccos and arctanh clip their argument to |u| <= _ARC_MAX


def _away(u):
    """``u`` pushed away from 0 to ``+-_EPS`` (``0`` goes to ``+_EPS``)."""
    return np.where(np.abs(u) < _EPS, np.where(u < 0, -_EPS, _EPS), u)


def _far(u, value):
    """``value(u)`` where ``|u| >= _EPS``, 0 inside (where the safe function is constant)."""
    far = np.abs(u) >= _EPS
    return np.where(far, value(np.where(far, u, 1.0)), 0.0)


def _inv(u):
    return 1.0 / _away(u)


def _dinv(u):
    return np.where(np.abs(u) < _EPS, 0.0, -1.0 / _away(u) ** 2)


def _inv2(u):
    return 1.0 / _away(u) ** 2


def _dinv2(u):
    return np.where(np.abs(u) < _EPS, 0.0, -2.0 / _away(u) ** 3)


def _inv_power(n):
    """``1/u^n`` on ``u`` pushed away from 0, and its derivatives ``q = 1, 2, 3``.

    ``d^q/du^q u^-n = (-1)^q n (n+1) ... (n+q-1) u^-(n+q)``; 0 for ``|u| < _EPS``.
    """
    def deriv(q):
        coef = (-1) ** q * math.prod(range(n, n + q))
        return lambda u: _far(u, lambda v: coef * v ** float(-(n + q)))
    return (lambda u: 1.0 / _away(u) ** n), deriv(1), deriv(2), deriv(3)


def _abs_power(p):
    """``|u|^p`` (``p < 0``: ``max(|u|, _EPS)^p``) and its derivatives ``q = 1, 2, 3``.

    ``d^q/du^q |u|^p = p (p-1) ... (p-q+1) sgn(u)^q |u|^(p-q)``, set to 0 for
    ``|u| < _EPS`` as for ``sqrt`` (some order is singular at 0 for every
    non-integer ``p``; a zero block keeps each order the derivative of the one before).
    """
    def deriv(q):
        coef = math.prod(p - r for r in range(q))
        return lambda u: _far(u, lambda v: coef * np.sign(v) ** q * np.abs(v) ** (p - q))
    if p > 0:
        return (lambda u: np.abs(u) ** p), deriv(1), deriv(2), deriv(3)
    return (lambda u: np.maximum(np.abs(u), _EPS) ** p), deriv(1), deriv(2), deriv(3)


def _sqrt(u):
    return np.sqrt(np.abs(u))


def _dsqrt(u):
    au = np.abs(u)
    return np.where(au < _EPS, 0.0, 0.5 * np.sign(u) / np.sqrt(np.maximum(au, _EPS)))


def _log(u):
    return np.log(np.maximum(np.abs(u), _EPS))


def _dlog(u):
    return np.where(np.abs(u) < _EPS, 0.0, 1.0 / _away(u))


def _exp(u):
    return np.exp(np.minimum(u, _EXP_MAX))


def _dexp(u):
    return np.where(u > _EXP_MAX, 0.0, np.exp(np.minimum(u, _EXP_MAX)))


def _tan(u):
    return np.tan(np.clip(u, -_TAN_MAX, _TAN_MAX))


def _dtan(u):
    return np.where(np.abs(u) > _TAN_MAX, 0.0, 1.0 / np.cos(np.clip(u, -_TAN_MAX, _TAN_MAX)) ** 2)


def _gauss(u):
    return np.exp(-u * u)


def _dgauss(u):
    return -2.0 * u * np.exp(-u * u)


def _inside(u, value):
    """``value(u)`` where ``|u| <= _ARC_MAX``, 0 outside (where the clipped function is constant)."""
    inside = np.abs(u) <= _ARC_MAX
    return np.where(inside, value(np.where(inside, u, 0.0)), 0.0)


def _arc(u):
    """``u`` clipped to ``[-_ARC_MAX, _ARC_MAX]``."""
    return np.clip(u, -_ARC_MAX, _ARC_MAX)


# arcsin: f' = (1-u^2)^(-1/2), f'' = u (1-u^2)^(-3/2), f''' = (1 + 2u^2) (1-u^2)^(-5/2)
_ARCSIN = (lambda u: np.arcsin(_arc(u)),
           lambda u: _inside(u, lambda v: (1.0 - v * v) ** -0.5),
           lambda u: _inside(u, lambda v: v * (1.0 - v * v) ** -1.5),
           lambda u: _inside(u, lambda v: (1.0 + 2.0 * v * v) * (1.0 - v * v) ** -2.5))
# arccos = pi/2 - arcsin: every derivative is minus arcsin's
_ARCCOS = (lambda u: np.arccos(_arc(u)),) + tuple(
    (lambda g: (lambda u: -g(u)))(g) for g in _ARCSIN[1:])
# arctanh: f' = 1/(1-u^2), f'' = 2u/(1-u^2)^2, f''' = (2 + 6u^2)/(1-u^2)^3
_ARCTANH = (lambda u: np.arctanh(_arc(u)),
            lambda u: _inside(u, lambda v: 1.0 / (1.0 - v * v)),
            lambda u: _inside(u, lambda v: 2.0 * v / (1.0 - v * v) ** 2),
            lambda u: _inside(u, lambda v: (2.0 + 6.0 * v * v) / (1.0 - v * v) ** 3))


SYMBOLIC_LIB = {}


def _check_callable(value, what, hint=""):
    if value is not None and not callable(value):
        raise TypeError(f"{what} must be a callable or None, got {type(value).__name__} "
                        f"{value!r}{hint}")


def add_symbolic(name, f, df=None, complexity=2, template=None, *, scale_free=False,
                 shift_free=False, parity=0, period=None, antiperiodic=False, d2f=None,
                 d3f=None, sympy=None):
    """Register (or replace) a library function ``name`` (pykan's ``add_symbolic``).

    Parameters
    ----------
    name : str
        At most 16 characters (checkpoints store names as ``<U16``).
    f : callable
        Value, elementwise on float arrays.
    df : callable or None
        Derivative, elementwise. Optional: without it the function can be
        fitted (:func:`fit_affine`, :func:`suggest`), fixed to edges, evaluated
        and printed, but any gradient through such an edge (training, a
        gradient check) raises :class:`MissingDerivativeError` naming it. The
        Levenberg-Marquardt polish of the fit then uses central differences of ``f``.
    complexity : int >= 0
        Default 2, that of ``sin``, ``exp`` or ``log``. (pykan's third
        positional argument is the complexity; numpykan's is ``df``.)
    template : str, optional
        With ``{x}`` or ``{px}`` where the argument goes, e.g. ``"sinh({x})"``;
        default ``name + "({x})"``.
    scale_free, shift_free, parity, period, antiperiodic
        See :class:`SymbolicFunction`.
    d2f, d3f : callable, optional
        ``f''`` and ``f'''`` (both or neither), for derivative models
        (:func:`numpykan.derivative_layers.register_formula_derivatives` is called).
    sympy : callable, optional
        ``sympy(sp, u)`` -> the sympy expression of ``f(u)`` (``sp`` is the sympy
        module), for ``symbolic_formula(sympy=True)``.

    Examples
    --------
    >>> add_symbolic("sinh", np.sinh, np.cosh, 3, "sinh({x})", parity=-1)
    >>> get_symbolic("sinh").f(np.array([0.0]))
    array([0.])
    >>> add_symbolic("tanh_nd", np.tanh, complexity=3)       # no derivative: fit and fix only
    >>> get_symbolic("tanh_nd").has_derivative, get_symbolic("tanh_nd").template
    (False, 'tanh_nd({x})')
    >>> del SYMBOLIC_LIB["tanh_nd"]
    """
    if not isinstance(name, str) or not 0 < len(name) <= 16:
        raise ValueError(f"name must be a string of 1 to 16 characters, got {name!r}")
    if not callable(f):
        raise TypeError(f"f must be a callable, got {type(f).__name__}")
    _check_callable(df, "df", " (numpykan's third argument is the derivative; pass the "
                    "complexity as complexity=...)" if isinstance(df, (int, float)) else "")
    _check_callable(d2f, "d2f")
    _check_callable(d3f, "d3f")
    _check_callable(sympy, "sympy")
    if (d2f is None) != (d3f is None):
        raise ValueError(f"give both d2f and d3f or neither, got d2f={d2f!r}, d3f={d3f!r}")
    if d2f is not None and df is None:
        raise ValueError("d2f and d3f without df: give the first derivative df too")
    if isinstance(complexity, bool) or not isinstance(complexity, (int, np.integer)) or complexity < 0:
        raise ValueError(f"complexity must be an int >= 0, got {complexity!r}")
    if template is None:
        template = name + "({x})"
    if not isinstance(template, str):
        raise TypeError(f"template must be a string such as 'sin({{x}})', got {template!r}")
    if parity not in (-1, 0, 1):
        raise ValueError(f"parity must be -1, 0 or 1, got {parity!r}")
    SYMBOLIC_LIB[name] = SymbolicFunction(name, f, _NoDerivative(name) if df is None else df,
                                          int(complexity), template, bool(scale_free),
                                          bool(shift_free), int(parity), period, bool(antiperiodic),
                                          d2f, d3f, sympy)
    if d2f is not None:
        from ..models.derivative_layers import register_formula_derivatives
        register_formula_derivatives(name, d2f, d3f)


def _zero(u):
    return np.zeros_like(u)


_S = dict(scale_free=True)                   # f(a u) = g(a) f(u) + h(a): a = 1
add_symbolic("0", _zero, _zero, 0, "0", sympy=lambda sp, u: sp.Integer(0))
add_symbolic("x", lambda u: u, np.ones_like, 1, "{x}", sympy=lambda sp, u: u)
add_symbolic("x^2", np.square, lambda u: 2 * u, 2, "{px}^2", sympy=lambda sp, u: u ** 2, **_S)
add_symbolic("x^3", lambda u: u ** 3, lambda u: 3 * u ** 2, 3, "{px}^3",
             sympy=lambda sp, u: u ** 3, **_S)
add_symbolic("x^4", lambda u: u ** 4, lambda u: 4 * u ** 3, 3, "{px}^4",
             sympy=lambda sp, u: u ** 4, **_S)
add_symbolic("1/x", _inv, _dinv, 2, "1/{px}", sympy=lambda sp, u: 1 / u, **_S)
add_symbolic("1/x^2", _inv2, _dinv2, 3, "1/{px}^2", sympy=lambda sp, u: u ** -2, **_S)
add_symbolic("sqrt", _sqrt, _dsqrt, 2, "sqrt({x})", sympy=lambda sp, u: sp.sqrt(u), **_S)
add_symbolic("exp", _exp, _dexp, 2, "exp({x})", shift_free=True, sympy=lambda sp, u: sp.exp(u))
add_symbolic("log", _log, _dlog, 2, "log({x})", sympy=lambda sp, u: sp.log(u), **_S)
add_symbolic("sin", np.sin, np.cos, 2, "sin({x})", parity=-1, period=2 * math.pi,
             antiperiodic=True, sympy=lambda sp, u: sp.sin(u))
add_symbolic("cos", np.cos, lambda u: -np.sin(u), 2, "cos({x})", parity=1, period=2 * math.pi,
             antiperiodic=True, sympy=lambda sp, u: sp.cos(u))
add_symbolic("tan", _tan, _dtan, 3, "tan({x})", parity=-1, sympy=lambda sp, u: sp.tan(u))
add_symbolic("tanh", np.tanh, lambda u: 1.0 - np.tanh(u) ** 2, 3, "tanh({x})", parity=-1,
             sympy=lambda sp, u: sp.tanh(u))
add_symbolic("abs", np.abs, np.sign, 3, "|{x}|", sympy=lambda sp, u: sp.Abs(u), **_S)
add_symbolic("sgn", np.sign, _zero, 3, "sgn({x})", sympy=lambda sp, u: sp.sign(u), **_S)
add_symbolic("gaussian", _gauss, _dgauss, 3, "exp(-{px}^2)", parity=1,
             sympy=lambda sp, u: sp.exp(-u ** 2))
add_symbolic("arctan", np.arctan, lambda u: 1.0 / (1.0 + u * u), 4, "arctan({x})", parity=-1,
             sympy=lambda sp, u: sp.atan(u))
# pykan's remaining entries, with their names and complexities; f'' and f''' given here
add_symbolic("x^5", lambda u: u ** 5, lambda u: 5 * u ** 4, 3, "{px}^5",
             d2f=lambda u: 20 * u ** 3, d3f=lambda u: 60 * u ** 2, sympy=lambda sp, u: u ** 5, **_S)
for _n, _c in ((3, 3), (4, 4), (5, 5)):
    _f, _d1, _d2, _d3 = _inv_power(_n)
    add_symbolic(f"1/x^{_n}", _f, _d1, _c, f"1/{{px}}^{_n}", d2f=_d2, d3f=_d3,
                 sympy=(lambda n: lambda sp, u: u ** -n)(_n), **_S)
_f, _d1, _d2, _d3 = _abs_power(0.5)
add_symbolic("x^0.5", _sqrt, _dsqrt, 2, "{px}^0.5", d2f=_d2, d3f=_d3,
             sympy=lambda sp, u: sp.sqrt(u), **_S)
_f, _d1, _d2, _d3 = _abs_power(1.5)
add_symbolic("x^1.5", _f, _d1, 4, "{px}^1.5", d2f=_d2, d3f=_d3,
             sympy=lambda sp, u: sp.sqrt(u) ** 3, **_S)
_f, _d1, _d2, _d3 = _abs_power(-0.5)
add_symbolic("1/sqrt(x)", _f, _d1, 2, "1/sqrt({x})", d2f=_d2, d3f=_d3,
             sympy=lambda sp, u: 1 / sp.sqrt(u), **_S)
add_symbolic("1/x^0.5", _f, _d1, 2, "1/{px}^0.5", d2f=_d2, d3f=_d3,     # pykan's second name of it
             sympy=lambda sp, u: 1 / sp.sqrt(u), **_S)
add_symbolic("arcsin", *_ARCSIN[:2], 4, "arcsin({x})", parity=-1, d2f=_ARCSIN[2], d3f=_ARCSIN[3],
             sympy=lambda sp, u: sp.asin(u))
add_symbolic("arccos", *_ARCCOS[:2], 4, "arccos({x})", d2f=_ARCCOS[2], d3f=_ARCCOS[3],
             sympy=lambda sp, u: sp.acos(u))
add_symbolic("arctanh", *_ARCTANH[:2], 4, "arctanh({x})", parity=-1, d2f=_ARCTANH[2],
             d3f=_ARCTANH[3], sympy=lambda sp, u: sp.atanh(u))
del _f, _d1, _d2, _d3, _n, _c


def get_symbolic(name):
    """The :class:`SymbolicFunction` called ``name``; ``ValueError`` listing the names if unknown."""
    fn = SYMBOLIC_LIB.get(name)
    if fn is None:
        raise ValueError(f"unknown symbolic function {name!r}; the library has "
                         f"{sorted(SYMBOLIC_LIB)} (add one with numpykan.symbolic.add_symbolic)")
    return fn


def _library(lib):
    """Functions to try; by default all but ``0``.

    ``0`` fits a constant, whose ``R^2`` is 0 whatever the edge, so its score
    says nothing about the edge; a (nearly) constant edge is for
    :meth:`numpykan.KAN.prune` to remove. Ask for it with ``lib=[..., "0"]``.
    """
    if lib is None:
        return [fn for fn in SYMBOLIC_LIB.values() if fn.name != "0"]
    if isinstance(lib, str):
        raise TypeError(f"lib must be a list of names, got the string {lib!r}")
    return [get_symbolic(name) for name in lib]


# ---------------------------------------------------------------------------
# fitting c f(a x + b) + d
# ---------------------------------------------------------------------------

def _cd_r2(U, y):
    """Least-squares ``c, d`` and ``R^2`` for ``y ~ c U + d`` along the last axis of ``U``.

    ``U`` (..., n), ``y`` (n,) -> ``c, d, r2`` each of shape ``(...)``. A constant ``U``
    gets ``c = 0`` and ``R^2 = 0`` (``1`` if ``y`` is constant too).
    """
    um = U.mean(axis=-1, keepdims=True)
    ym = y.mean()
    Uc = U - um                                                # (..., n)
    yc = y - ym                                                # (n,)
    suu = np.einsum("...n,...n->...", Uc, Uc)                  # (...)
    suy = Uc @ yc                                              # (...)
    syy = float(yc @ yc)
    ok = suu > 1e-300 * max(1.0, syy)
    c = np.where(ok, suy / np.where(ok, suu, 1.0), 0.0)
    d = ym - c * um[..., 0]
    if syy == 0.0:
        r2 = np.ones_like(c)
    else:
        r2 = np.where(ok, suy ** 2 / (np.where(ok, suu, 1.0) * syy), 0.0)
    return c, d, r2


def _r2(pred, y):
    ss = float(np.sum((y - y.mean()) ** 2))
    sse = float(np.sum((y - pred) ** 2))
    if ss == 0.0:
        return 1.0 if sse == 0.0 else 0.0
    return 1.0 - sse / ss


def canonical(name, a, b, c, d):
    """The canonical representative of ``c f(a x + b) + d`` among equal functions.

    Uses the library's symmetries of ``f``: ``parity`` (even: ``(a, b) -> (-a, -b)``,
    odd: ``(a, b, c) -> (-a, -b, -c)``) to make ``a > 0``; for ``antiperiodic``
    functions (sin, cos: ``f(u + pi) = -f(u)``) ``c -> -c, b -> b + pi`` to make
    ``c > 0``; and ``period`` to put ``b`` in ``(-period/2, period/2]``.
    """
    fn = get_symbolic(name)
    if fn.parity and a < 0:
        a, b = -a, -b
        if fn.parity == -1:
            c = -c
    if fn.period is not None:
        P = fn.period
        if fn.antiperiodic and c < 0:
            c, b = -c, b + P / 2
        b = b - P * math.floor((b + P / 2) / P)                # (-P/2, P/2]
        if b <= -P / 2:
            b += P
    return float(a), float(b), float(c), float(d)


def _fit_derivative(fn, u):
    """``f'(u)`` for the fit's Jacobian: the library's, or central differences of ``f`` without one."""
    if fn.has_derivative:
        return fn.df(u)
    h = 1e-6 * np.maximum(1.0, np.abs(u))
    return (fn.f(u + h) - fn.f(u - h)) / (2 * h)


def _lm_polish(fn, x, y, p, free, iters=200):
    """Levenberg-Marquardt on ``r = c f(a x + b) + d - y`` over the ``free`` of (a, b, c, d).

    Jacobian columns: ``dr/da = c f'(u) x``, ``dr/db = c f'(u)``, ``dr/dc = f(u)``,
    ``dr/dd = 1`` with ``u = a x + b``. Returns the best parameters seen.
    """
    p = np.array(p, dtype=np.float64)

    def sse(q):
        r = q[2] * fn.f(q[0] * x + q[1]) + q[3] - y
        return float(r @ r) if np.all(np.isfinite(r)) else np.inf

    best = sse(p)
    mu = 1e-3
    for _ in range(iters):
        u = p[0] * x + p[1]
        fu, dfu = fn.f(u), _fit_derivative(fn, u)
        r = p[2] * fu + p[3] - y
        J = np.stack([p[2] * dfu * x, p[2] * dfu, fu, np.ones_like(x)], axis=1)[:, free]
        JtJ, Jtr = J.T @ J, J.T @ r
        improved = False
        for _ in range(8):
            A = JtJ + mu * np.diag(np.diag(JtJ) + 1e-12)
            try:
                step = np.linalg.solve(A, -Jtr)
            except np.linalg.LinAlgError:
                mu *= 10
                continue
            q = p.copy()
            q[free] += step
            s = sse(q)
            if s < best:
                p, best, mu, improved = q, s, max(mu / 10, 1e-12), True
                break
            mu *= 10
        if not improved or best == 0.0:
            break
    return p, best


def _to_ab(fn, alpha, beta, m, s):
    """``(a, b)`` of ``u = a x + b`` from the search variables on ``t = (x - m) / s``.

    general: ``u = alpha t + beta``; scale-free (``a = 1``): ``u = x + s beta - m``;
    shift-free (``b = 0``): ``u = (alpha / s) x``; ``x``/``0``: ``u = x``.
    """
    if fn.name in ("x", "0"):
        return np.ones_like(alpha), np.zeros_like(beta)
    if fn.scale_free:
        return np.ones_like(alpha), s * beta - m
    if fn.shift_free:
        return alpha / s, np.zeros_like(beta)
    return alpha / s, beta - alpha * m / s


def _grid_r2(fn, x, y, al, be, m, s):
    """``R^2`` of the best ``(c, d)`` at every ``(alpha, beta)`` of the grid ``al x be`` -> ``(na, nb)``."""
    A, Bt = np.meshgrid(al, be, indexing="ij")                 # (na, nb)
    a, b = _to_ab(fn, A, Bt, m, s)                             # (na, nb) each, for x
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        U = fn.f(a[..., None] * x + b[..., None])              # (na, nb, n)
        r2 = _cd_r2(U, y)[2]                                   # (na, nb)
    return np.where(np.isfinite(r2), r2, -np.inf)


def fit_affine(x, y, name, a_range=(-10.0, 10.0), b_range=(-10.0, 10.0), grid_number=81,
               zoom_rounds=3, starts=8, polish=True):
    """Fit ``y ~ c f(a x + b) + d`` for the library function ``name``.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Samples of the curve (n >= 2, finite).
    name : str
        A library function (see :data:`SYMBOLIC_LIB`).
    a_range, b_range : (float, float)
        Search ranges of ``a`` and ``b`` for the *standardized* input
        ``t = (x - m) / s`` (``m`` centre, ``s`` half-width of the sample range).
    grid_number : int
        Points per axis of the coarse grid. With 41 points and 4 starts, 1 in
        300 random exact formulas (broad gaussians, nearly linear arctan) ended
        in a wrong basin; with 81 points and 8 starts none of 600 did.
    zoom_rounds : int
        Finer 11 x 11 grids after the coarse one, each spanning +-2 cells of
        the previous grid around its best point.
    starts : int
        The zoom (and polish) starts from this many of the best local maxima
        of ``R^2`` on the coarse grid, and the best result is kept: a nearly
        linear curve is fitted almost as well by a far-away part of a
        function (``arctan`` near ``u = 9``) as by the right one, and the
        coarse grid may not resolve the difference. For even or odd ``f``
        only ``a >= 0`` is searched.
    polish : bool
        Finish with Levenberg-Marquardt on ``(a, b, c, d)``.

    Returns
    -------
    dict
        ``name``, ``a, b, c, d`` (for the original ``x``, in canonical form, see
        :func:`canonical`), ``r2`` (coefficient of determination of the fit).

    Examples
    --------
    >>> x = np.linspace(-1, 1, 101)
    >>> fit = fit_affine(x, 2.0 * np.sin(3.0 * x + 0.5) - 1.0, "sin")
    >>> [round(fit[k], 6) for k in "abcd"], fit["r2"] > 1 - 1e-12
    ([3.0, 0.5, 2.0, -1.0], True)
    """
    fn = get_symbolic(name)
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    m = 0.5 * (x.max() + x.min())                              # centre of the samples
    s = 0.5 * (x.max() - x.min()) or 1.0                       # half-width
    # search variables (alpha, beta) act on the standardized t = (x - m) / s
    search_a = fn.name not in ("x", "0") and not fn.scale_free
    search_b = fn.name not in ("x", "0") and not fn.shift_free
    n = int(grid_number)
    if search_a and fn.parity and a_range[0] < 0 < a_range[1]:
        # (a, b) and (-a, -b) fit equally well for even and odd f: search a >= 0 only
        al = np.linspace(0.0, a_range[1], max(2, round(n * a_range[1] / (a_range[1] - a_range[0]))))
    else:
        al = np.linspace(*a_range, n) if search_a else np.array([1.0])  # (na,)
    be = np.linspace(*b_range, n) if search_b else np.array([0.0])      # (nb,)
    r2 = _grid_r2(fn, x, y, al, be, m, s)                      # (na, nb) coarse grid
    ha = (al[-1] - al[0]) / (len(al) - 1) if search_a else 0.0  # cell sizes
    hb = (be[-1] - be[0]) / (len(be) - 1) if search_b else 0.0
    # starts: the best local maxima of the coarse grid (>= their 8 neighbours)
    padded = np.pad(r2, 1, constant_values=-np.inf)
    local = np.ones_like(r2, dtype=bool)
    for da in (-1, 0, 1):
        for db in (-1, 0, 1):
            if da or db:
                local &= r2 >= padded[1 + da:1 + da + r2.shape[0], 1 + db:1 + db + r2.shape[1]]
    cand = np.flatnonzero(local.ravel() & np.isfinite(r2.ravel()))
    if cand.size == 0:
        cand = np.array([int(np.argmax(r2))])
    cand = cand[np.argsort(-r2.ravel()[cand], kind="stable")][:int(starts)]
    picked = [np.unravel_index(int(f), r2.shape) for f in cand]
    free = [0, 1, 2, 3]
    if fn.name in ("x", "0"):
        free = [2, 3]
    elif fn.scale_free:
        free = [1, 2, 3]
    elif fn.shift_free:
        free = [0, 2, 3]
    best_p, best_sse = None, np.inf
    for ia, ib in picked:
        alpha, beta, wa, wb = float(al[ia]), float(be[ib]), ha, hb
        for _ in range(int(zoom_rounds) if (search_a or search_b) else 0):
            za = np.linspace(alpha - 2 * wa, alpha + 2 * wa, 11) if search_a else np.array([alpha])
            zb = np.linspace(beta - 2 * wb, beta + 2 * wb, 11) if search_b else np.array([beta])
            zr = _grid_r2(fn, x, y, za, zb, m, s)              # (11, 11)
            ja, jb = np.unravel_index(int(np.argmax(zr)), zr.shape)
            alpha, beta, wa, wb = float(za[ja]), float(zb[jb]), 0.4 * wa, 0.4 * wb
        a, b = (float(v) for v in _to_ab(fn, np.array(alpha), np.array(beta), m, s))
        c, d, _ = _cd_r2(fn.f(a * x + b)[None], y)
        p = np.array([a, b, float(c[0]), float(d[0])])
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if polish and fn.name != "0":
                p, sse = _lm_polish(fn, x, y, p, free)
            else:
                r = p[2] * fn.f(p[0] * x + p[1]) + p[3] - y
                sse = float(r @ r)
        if sse < best_sse or best_p is None:
            best_p, best_sse = p, sse
    a, b, c, d = (float(v) for v in best_p)
    if fn.name == "0":
        a, b, c, d = 1.0, 0.0, 0.0, float(y.mean())
    a, b, c, d = canonical(fn.name, a, b, c, d)
    pred = c * fn.f(a * x + b) + d
    return dict(name=fn.name, a=a, b=b, c=c, d=d, r2=_r2(pred, y))


def _score(r2, complexity, n_free, weight):
    """Ranking score: ``min(nines, 10) - weight * (complexity + n_free / 2)``, ``nines = -log10(1 - R^2)``."""
    nines = -math.log10(max(1.0 - r2, 1e-10))
    return min(nines, 10.0) - weight * (complexity + 0.5 * n_free)


def _n_free(fn):
    """Number of fitted parameters of ``c f(a x + b) + d`` for ``fn`` (``c, d`` always)."""
    if fn.name in ("x", "0"):
        return 2
    return 3 if (fn.scale_free or fn.shift_free) else 4


#: the ranking rules of :func:`suggest`
RANKINGS = ("window", "nines", "weight_simple")
#: default ``window`` of the ``"window"`` rule: candidates within 0.01 of the best ``R^2``
WINDOW = 0.01


def _check_rank(rank, weight, window, weight_simple):
    """Validated ``(rank, weight, window, weight_simple)``; ``rank=None`` resolved (see :func:`suggest`)."""
    from ..validation import check_nonnegative, check_real
    if rank is None:
        rank = "window" if weight_simple is None else "weight_simple"
    if not isinstance(rank, str) or rank not in RANKINGS:
        raise ValueError(f"rank must be one of {list(RANKINGS)}, got {rank!r}")
    weight = check_nonnegative(weight, "weight")
    window = check_real(window, "window")
    if not 0.0 <= window <= 1.0:
        raise ValueError(f"window must lie in [0, 1] (a difference of R^2), got {window}")
    if weight_simple is None:
        weight_simple = 0.8                                    # pykan's default
    weight_simple = check_real(weight_simple, "weight_simple")
    if not 0.0 <= weight_simple <= 1.0:
        raise ValueError(f"weight_simple must lie in [0, 1], got {weight_simple}")
    return rank, weight, window, weight_simple


def suggest(x, y, topk=5, lib=None, weight=1.0, rank=None, window=WINDOW, weight_simple=None,
            **fit_kw):
    """Fit every library function to the samples ``(x, y)`` and rank them.

    Parameters
    ----------
    x, y : array_like, shape (n,)
    topk : int >= 1
        How many rows to return.
    lib : list of str, optional
        Names to try; default the whole library but ``0``.
    weight : float >= 0
        Price of complexity in the ``"nines"`` score (also used inside the window).
    rank : {"window", "nines", "weight_simple"}, optional
        The rule (below). Default ``"window"``, or ``"weight_simple"`` when
        ``weight_simple`` is given (so pykan's call reproduces pykan's order).
    window : float in [0, 1]
        Width of the ``"window"`` rule, in ``R^2``; default 0.01.
    weight_simple : float in [0, 1], optional
        pykan's simplicity weight (pykan's default 0.8) for ``"weight_simple"``.
    **fit_kw
        Passed to :func:`fit_affine`.

    Returns
    -------
    list of dict
        ``topk`` fits as returned by :func:`fit_affine`, each with ``complexity``,
        ``score`` (the ``"nines"`` score) and ``rank`` (the rule's name) added,
        best first; ``"window"`` adds ``in_window`` (bool), ``"weight_simple"``
        adds ``loss`` (pykan's total loss).

    Notes
    -----
    The **score** of a candidate is
    ``score = min(nines, 10) - weight * (complexity + n_free / 2)`` with
    ``nines = -log10(1 - R^2)`` (``R^2 = 0.999`` is 3 nines) and ``n_free``
    the number of fitted parameters (2 for ``x``, 3 when ``a`` or ``b`` is
    fixed, else 4). So one more unit of complexity must buy one more decimal
    digit of fit quality (``weight = 1``), and one more fitted parameter half
    a digit: ``cos(a x + b)`` with a small ``a`` mimics ``x^2`` and, with one
    parameter more, always fits a learned parabola a little better. Beyond ten
    nines (``R^2 > 1 - 1e-10``, the limit of a fit to a learned spline) only
    the penalties count. Scores are compared to 0.1 (rounded down); ties go
    to fewer fitted parameters, then lower complexity, then library order.

    The rules:

    ``"window"`` (default)
        The candidates whose ``R^2`` is within ``window`` of the best ``R^2``
        come first, ranked by the score; all others follow, ranked by ``R^2``
        (ties as above). So the first row never fits worse than the best by
        more than ``window``: the score alone can put a much worse fit first
        when every fit is poor (a learned edge of a classifier: ``x`` with
        ``R^2 = 0.13`` has score -1.94, ``sin`` with ``R^2 = 0.97`` -2.48,
        because below one nine the digits cannot pay for the complexity).
        Among near-perfect fits, where digits are what tells the functions
        apart, the order is the score's.
    ``"nines"``
        The score alone (numpykan's rule before the window; kept for comparison).
    ``"weight_simple"``
        pykan's rule: ascending
        ``loss = weight_simple * complexity + (1 - weight_simple) * log2(1 + 1e-5 - R^2)``,
        ties in library order.

    A fit whose ``R^2`` is not finite ranks last under every rule.
    """
    rank, weight, window, weight_simple = _check_rank(rank, weight, window, weight_simple)
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
        raise ValueError(f"topk must be an int >= 1, got {topk!r}")
    rows = []
    for order, fn in enumerate(_library(lib)):
        fit = fit_affine(x, y, fn.name, **fit_kw)
        r2 = fit["r2"] if math.isfinite(fit["r2"]) else -math.inf
        fit["complexity"] = fn.complexity
        fit["score"] = _score(r2, fn.complexity, _n_free(fn), weight) if r2 > -math.inf else -math.inf
        fit["rank"] = rank
        rows.append((order, fn, r2, fit))
    best = max(r2 for _, _, r2, _ in rows)
    keys = []
    for order, fn, r2, fit in rows:
        simpler = (_n_free(fn), fn.complexity, order)
        by_score = (-math.floor(fit["score"] * 10 + 1e-9) if r2 > -math.inf else math.inf,) + simpler
        if rank == "nines":
            key = by_score
        elif rank == "window":
            fit["in_window"] = bool(r2 > -math.inf and r2 >= best - window)
            key = (0,) + by_score if fit["in_window"] else (1, -r2) + simpler
        else:
            fit["loss"] = (weight_simple * fn.complexity
                           + (1 - weight_simple) * math.log2(max(1 + 1e-5 - r2, 1e-300)))
            key = (fit["loss"], order)
        keys.append((key, fit))
    keys.sort(key=lambda item: item[0])
    return [fit for _, fit in keys[:int(topk)]]
