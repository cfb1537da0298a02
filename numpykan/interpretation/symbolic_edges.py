"""Symbolic edges in a network: freeze learned edges to formulas and read the network.

Once :mod:`numpykan.symbolic` has named a curve, this module puts it into the
model:

- :class:`SymbolicEdges`: what a layer carries (``layer.symbolic``) once some of
  its edges are frozen to formulas ``c f(a x + b) + d``; the parameters ``abcd``
  keep training with hand-written gradients;
- :func:`suggest_symbolic`, :func:`fix_symbolic`, :func:`auto_symbolic`,
  :func:`symbolic_formula`: the model-level operations behind the ``KAN``
  methods of the same names.

Glossary: ``B`` batch, ``I`` inputs, ``O`` outputs of a layer, ``E`` number of
symbolic edges of the layer; edge ``e`` goes from input ``i_e`` to output ``j_e``.
"""

from __future__ import annotations

import numpy as np

from .symbolic import (SYMBOLIC_LIB, WINDOW, MissingDerivativeError, _check_rank, _library, fit_affine,
                       get_symbolic, suggest)

__all__ = ["SymbolicEdges", "edge_inputs", "edge_values", "suggest_symbolic", "fix_symbolic",
           "auto_symbolic", "symbolic_formula"]

# ---------------------------------------------------------------------------
# the layer's symbolic edges
# ---------------------------------------------------------------------------

class SymbolicEdges:
    """Edges of one layer frozen to formulas ``phi_e(x) = c_e f_e(a_e x + b_e) + d_e``.

    Attached as ``layer.symbolic``; the layer adds :meth:`forward` to its
    output, :meth:`activations` to its activations, and the gradients of
    :meth:`backward` / :meth:`backward_activations` to its input gradient.
    The spline edge at the same ``(i, j)`` is switched off by ``layer.mask``.

    Attributes
    ----------
    names : list of str, length E
    ij : ndarray of int, shape (E, 2)
        ``(i_e, j_e)`` per edge.
    params, grads : dict
        ``"abcd"`` ``(E, 4)`` in the layer's dtype: columns ``a, b, c, d``.
    """

    def __init__(self, in_dim, out_dim, dtype=np.float64):
        self.in_dim, self.out_dim, self.dtype = int(in_dim), int(out_dim), np.dtype(dtype).type
        self.names = []
        self.ij = np.zeros((0, 2), dtype=np.int64)
        self.params = {"abcd": np.zeros((0, 4), dtype=self.dtype)}
        self.grads = {"abcd": np.zeros((0, 4), dtype=self.dtype)}
        self.cache = None

    def __len__(self):
        return len(self.names)

    def __repr__(self):
        return f"SymbolicEdges({[(int(i), int(j), n) for (i, j), n in zip(self.ij, self.names)]})"

    def find(self, i, j):
        """Index ``e`` of edge ``(i, j)``, or ``None``."""
        hit = np.flatnonzero((self.ij[:, 0] == i) & (self.ij[:, 1] == j))
        return int(hit[0]) if hit.size else None

    def set_edge(self, i, j, name, abcd):
        """Add edge ``(i, j)`` with formula ``name`` and parameters ``abcd``, or replace it.

        The ``params``/``grads`` dicts stay the same objects (optimizers hold
        them); the ``"abcd"`` array is replaced by a new one.
        """
        get_symbolic(name)
        if not (0 <= i < self.in_dim and 0 <= j < self.out_dim):
            raise ValueError(f"edge ({i}, {j}) is outside a layer of shape ({self.in_dim}, {self.out_dim})")
        row = np.asarray(abcd, dtype=self.dtype).reshape(1, 4)
        e = self.find(i, j)
        P = self.params["abcd"].copy()
        if e is None:
            self.names.append(name)
            self.ij = np.concatenate([self.ij, [[i, j]]]).astype(np.int64)
            P = np.concatenate([P, row])
        else:
            self.names[e] = name
            P[e] = row
        self.params["abcd"] = P
        self.grads["abcd"] = np.zeros_like(P)
        self.cache = None

    def subset(self, rows, cols):
        """The edges among inputs ``rows`` and outputs ``cols``, renumbered; None if none is left."""
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        new = SymbolicEdges(len(rows), len(cols), self.dtype)
        for e, (name, (i, j)) in enumerate(zip(self.names, self.ij)):
            if i in rows and j in cols:
                new.set_edge(int(np.flatnonzero(rows == i)[0]), int(np.flatnonzero(cols == j)[0]),
                             name, self.params["abcd"][e])
        return new if len(new) else None

    def remove_edge(self, i, j):
        """Drop edge ``(i, j)`` (the caller restores the spline's mask if wanted)."""
        e = self.find(i, j)
        if e is None:
            return
        keep = np.arange(len(self.names)) != e
        self.names = [n for n, k in zip(self.names, keep) if k]
        self.ij = self.ij[keep]
        self.params["abcd"] = self.params["abcd"][keep].copy()
        self.grads["abcd"] = np.zeros_like(self.params["abcd"])
        self.cache = None

    # -- the pure computation ------------------------------------------------
    def _values(self, x, derivative):
        """``u = a x_i + b``, ``f(u)`` and (if ``derivative``) ``f'(u)``, each ``(B, E)``."""
        P = self.params["abcd"]                                 # (E, 4)
        xe = x[:, self.ij[:, 0]]                                # (B, E)
        u = P[:, 0] * xe + P[:, 1]                              # (B, E)
        fu = np.empty_like(u)
        dfu = np.empty_like(u) if derivative else None
        names = np.array(self.names)
        for name in dict.fromkeys(self.names):                  # each function once
            cols = np.flatnonzero(names == name)
            fn = get_symbolic(name)
            fu[:, cols] = fn.f(u[:, cols])
            if derivative:          # without a derivative: NaN, and _grads refuses (it needs f')
                dfu[:, cols] = fn.df(u[:, cols]) if fn.has_derivative else np.nan
        return xe, fu, dfu

    def forward(self, x, cache=True):
        """Sum of the formula edges into the outputs: ``(B, I) -> (B, O)``.

        ``y[b, j] = sum_{e: j_e = j} v[b, e]``, ``v[b, e] = c_e f_e(a_e x[b, i_e] + b_e) + d_e``.
        ``cache`` as in :mod:`numpykan.layer`: keep what :meth:`backward` needs;
        ``False`` (inference) leaves ``self.cache`` as it was.
        """
        B = x.shape[0]
        if not self.names:
            if cache:
                self.cache = dict(x=x, v=np.zeros((B, 0), x.dtype))
            return np.zeros((B, self.out_dim), dtype=x.dtype)
        xe, fu, dfu = self._values(x, cache)                    # (B, E) each
        P = self.params["abcd"]
        v = P[:, 2] * fu + P[:, 3]                              # (B, E)
        y = np.zeros((B, self.out_dim), dtype=x.dtype)
        np.add.at(y.T, self.ij[:, 1], v.T)                      # (O, B) += (E, B) by j_e
        if cache:
            self.cache = dict(x=x, xe=xe, fu=fu, dfu=dfu, v=v)
        return y

    def _grads(self, dv, input_grad=True):
        """Parameter and input gradients from ``dv = dL/dv`` ``(B, E)`` (``dL/dx`` None if not ``input_grad``).

        With ``u = a x_i + b`` and ``v = c f(u) + d``::

            dL/da_e   = sum_b dv[b, e] c_e f'(u[b, e]) x[b, i_e]
            dL/db_e   = sum_b dv[b, e] c_e f'(u[b, e])
            dL/dc_e   = sum_b dv[b, e] f(u[b, e])
            dL/dd_e   = sum_b dv[b, e]
            dL/dx[b, i] = sum_{e: i_e = i} dv[b, e] c_e f'(u[b, e]) a_e
        """
        c = self.cache
        if c is None or "fu" not in c:
            raise RuntimeError("backward needs a previous forward(x) that kept its cache")
        self._require_derivatives()
        P = self.params["abcd"]                                 # (E, 4)
        g_u = dv * P[:, 2] * c["dfu"]                           # (B, E): dL/du
        g = np.stack([np.sum(g_u * c["xe"], axis=0),            # a
                      np.sum(g_u, axis=0),                      # b
                      np.sum(dv * c["fu"], axis=0),             # c
                      np.sum(dv, axis=0)], axis=1)              # d -> (E, 4)
        if not input_grad:
            return None, g.astype(P.dtype, copy=False)
        dx = np.zeros_like(c["x"])                              # (B, I)
        np.add.at(dx.T, self.ij[:, 0], (g_u * P[:, 0]).T)       # (I, B) += (E, B) by i_e
        return dx, g.astype(P.dtype, copy=False)

    def _require_derivatives(self):
        """:class:`~numpykan.symbolic.MissingDerivativeError` naming the edges whose function has no ``f'``."""
        missing = [(int(i), int(j), n) for (i, j), n in zip(self.ij, self.names)
                   if not get_symbolic(n).has_derivative]
        if missing:
            raise MissingDerivativeError(
                f"formula edges {missing} (input, output, function) use functions added without "
                f"a derivative; a gradient through them needs f'(a x + b) (dL/da, dL/db and "
                f"dL/dx contain it), so they can be fitted, fixed and evaluated but not trained: "
                f"register the function again with numpykan.symbolic.add_symbolic(name, f, df, ...) "
                f"or give the edge back to its spline with unfix_symbolic")

    def backward(self, dy, input_grad=True):
        """Given ``dy = dL/dy`` ``(B, O)``, assign ``grads["abcd"]`` and return ``dL/dx`` ``(B, I)``.

        ``dv[b, e] = dy[b, j_e]``; the rest is in :meth:`_grads`. With
        ``input_grad=False`` no ``dL/dx`` is computed and None is returned.
        """
        if not self.names:
            self.grads["abcd"] = np.zeros_like(self.params["abcd"])
            return np.zeros((dy.shape[0], self.in_dim), dtype=dy.dtype) if input_grad else None
        dx, g = self._grads(dy[:, self.ij[:, 1]], input_grad)   # dv: (B, E)
        self.grads["abcd"] = g
        return dx

    def activations(self):
        """Values of the formula edges ``(B, I, O)`` from the cached forward; 0 elsewhere."""
        if self.cache is None:
            raise RuntimeError("activations() needs a previous forward(x) that kept its cache")
        x, v = self.cache["x"], self.cache["v"]
        A = np.zeros((x.shape[0], self.in_dim, self.out_dim), dtype=x.dtype)
        if self.names:
            A[:, self.ij[:, 0], self.ij[:, 1]] = v              # (B, E) into (B, I, O)
        return A

    def backward_activations(self, dA, input_grad=True):
        """Given ``dA = dL/dA`` ``(B, I, O)``, add to ``grads["abcd"]``; return ``dL/dx``.

        ``dv[b, e] = dA[b, i_e, j_e]``; the rest is in :meth:`_grads`
        (None instead of ``dL/dx`` with ``input_grad=False``).
        """
        if not self.names:
            return np.zeros((dA.shape[0], self.in_dim), dtype=dA.dtype) if input_grad else None
        dx, g = self._grads(dA[:, self.ij[:, 0], self.ij[:, 1]], input_grad)
        self.grads["abcd"] = self.grads["abcd"] + g
        return dx

    def edge_values(self, e, x):
        """``c f(a x + b) + d`` of edge ``e`` at the 1-D points ``x``."""
        a, b, c, d = (float(v) for v in self.params["abcd"][e])
        return c * get_symbolic(self.names[e]).f(a * np.asarray(x, dtype=np.float64) + b) + d

    # -- checkpoints -------------------------------------------------------------
    def to_arrays(self, prefix):
        """``{prefix + "names": <U16 (E,), prefix + "ij": int64 (E, 2), prefix + "abcd": (E, 4)}``."""
        return {prefix + "names": np.array(self.names, dtype="<U16").reshape(-1),
                prefix + "ij": self.ij.astype(np.int64),
                prefix + "abcd": self.params["abcd"].copy()}

    @classmethod
    def from_arrays(cls, arrays, layer):
        """Rebuild from :meth:`to_arrays` output (keys without the prefix) for ``layer``."""
        for key in ("names", "ij", "abcd"):
            if key not in arrays:
                raise ValueError(f"symbolic edges need the arrays 'names', 'ij', 'abcd'; "
                                 f"missing {key!r}")
        names = [str(n) for n in np.asarray(arrays["names"]).reshape(-1)]
        ij = np.asarray(arrays["ij"])
        abcd = np.asarray(arrays["abcd"])
        E = len(names)
        if ij.shape != (E, 2) or abcd.shape != (E, 4) or ij.dtype.kind not in "iu":
            raise ValueError(f"symbolic edges: expected ij int (E, 2) and abcd (E, 4) with "
                             f"E = {E}, got ij {ij.dtype} {ij.shape}, abcd {abcd.shape}")
        new = cls(layer.in_dim, layer.out_dim, layer.dtype)
        for name, (i, j), row in zip(names, ij, abcd):
            new.set_edge(int(i), int(j), name, row)
        return new


# ---------------------------------------------------------------------------
# model-level operations
# ---------------------------------------------------------------------------

def _check_edge(model, l, i, j):
    L = len(model.layers)
    if not 0 <= l < L:
        raise ValueError(f"layer index l must be in [0, {L}), got {l}")
    layer = model.layers[l]
    if not (0 <= i < layer.in_dim and 0 <= j < layer.out_dim):
        raise ValueError(f"edge ({i}, {j}) is outside layer {l} of shape "
                         f"({layer.in_dim}, {layer.out_dim})")
    return layer


def edge_inputs(model, l, i, x=None, n=201):
    """1-D samples of the input of edge ``(l, i, *)``, sorted.

    With model inputs ``x`` ``(B, width[0])``: layer ``l``'s input column ``i``,
    propagated through layers ``0 .. l-1``, thinned to ``n`` evenly spaced
    order statistics when there are more (the fits then cost the same for any
    data size). Without: ``n`` uniform points on the base interval of the
    layer's grid for input ``i``.
    """
    layer = model.layers[l]
    if x is None:
        k = layer.k
        lo, hi = float(layer.grid[i, k]), float(layer.grid[i, -k - 1])
        return np.linspace(lo, hi, n)
    h = model._infer(model._input(x), 0, l)                   # layers < l, multiplication nodes too
    xs = np.sort(h[:, i].astype(np.float64))                  # (B,)
    if xs.size > n:
        xs = xs[np.linspace(0, xs.size - 1, n).round().astype(int)]
    return xs


def edge_values(layer, i, j, xi):
    """``phi_ij`` at the 1-D points ``xi``: masked spline edge plus formula edge, float64."""
    from ..splines import bspline
    from ..models.activations import get_base
    xi = np.asarray(xi, dtype=np.float64)
    base, _ = get_base(layer.base_fun)
    s = bspline.evaluate(xi[:, None], layer.grid[i:i + 1].astype(np.float64),
                         layer.coef[i:i + 1, j:j + 1].astype(np.float64), layer.k)[:, 0, 0]
    out = float(layer.mask[i, j]) * (float(layer.w_b[i, j]) * base(xi) + float(layer.w_s[i, j]) * s)
    if layer.symbolic is not None:
        e = layer.symbolic.find(i, j)
        if e is not None:
            out = out + layer.symbolic.edge_values(e, xi)
    return out


def suggest_symbolic(model, l, i, j, topk=5, lib=None, x=None, weight=1.0, verbose=False,
                     rank=None, window=WINDOW, weight_simple=None, **fit_kw):
    """Rank library functions for edge ``(l, i, j)`` on samples ``x`` (see :func:`edge_inputs`).

    ``rank``, ``window``, ``weight_simple`` and ``weight`` choose the ranking rule:
    by default the candidates within ``window = 0.01`` of the best ``R^2``, ranked
    by score, then the rest by ``R^2``; ``weight_simple=0.8`` gives pykan's rule.
    See :func:`numpykan.symbolic.suggest`.
    """
    layer = _check_edge(model, l, i, j)
    xi = edge_inputs(model, l, i, x)
    fits = suggest(xi, edge_values(layer, i, j, xi), topk=topk, lib=lib, weight=weight, rank=rank,
                   window=window, weight_simple=weight_simple, **fit_kw)
    if verbose:
        for f in fits:
            extra = f"  loss={f['loss']:.3f}" if "loss" in f else ""
            print(f"{f['name']:>9s}  r2={f['r2']:.12f}  complexity={f['complexity']}  "
                  f"score={f['score']:.3f}{extra}")
    return fits


def fix_symbolic(model, l, i, j, name, x=None, fit_params=True, fit=None, **fit_kw):
    """Freeze edge ``(l, i, j)`` to ``c f(a x + b) + d`` with ``f`` = ``name``.

    ``(a, b, c, d)`` are fitted to the edge's current curve (on samples ``x``
    or the grid's base interval, see :func:`edge_inputs`); with
    ``fit_params=False`` they are ``(1, 0, 1, 0)``; a ``fit`` dict (from
    :func:`suggest_symbolic`) is used as given. The spline edge gets
    ``mask[i, j] = 0``, so it contributes exactly nothing from now on.

    Returns
    -------
    dict
        The fit (``name``, ``a``, ``b``, ``c``, ``d``, ``r2``; ``r2`` is None without a fit).
    """
    layer = _check_edge(model, l, i, j)
    get_symbolic(name)
    if fit is not None:
        if fit["name"] != name:
            raise ValueError(f"fit is for {fit['name']!r}, not {name!r}")
    elif fit_params:
        xi = edge_inputs(model, l, i, x)
        fit = fit_affine(xi, edge_values(layer, i, j, xi), name, **fit_kw)
    else:
        fit = dict(name=name, a=1.0, b=0.0, c=1.0, d=0.0, r2=None)
    if layer.symbolic is None:
        layer.symbolic = SymbolicEdges(layer.in_dim, layer.out_dim, layer.dtype)
    layer.symbolic.set_edge(i, j, name, [fit["a"], fit["b"], fit["c"], fit["d"]])
    layer.mask[i, j] = 0
    layer.cache = None
    return fit


def unfix_symbolic(model, l, i, j):
    """Give edge ``(l, i, j)`` back to its spline (``mask = 1``), dropping the formula."""
    layer = _check_edge(model, l, i, j)
    if layer.symbolic is not None:
        layer.symbolic.remove_edge(i, j)
    layer.mask[i, j] = 1
    layer.cache = None


def auto_symbolic(model, lib=None, r2_threshold=0.9, x=None, weight=1.0, verbose=False,
                  rank=None, window=WINDOW, weight_simple=None, **fit_kw):
    """Fix every live spline edge to the best-ranked library function with ``R^2 >= r2_threshold``.

    The ranking is that of :func:`suggest` with ``rank``, ``window``,
    ``weight_simple`` and ``weight`` (default: the ``"window"`` rule, so the
    chosen function fits within ``window`` of the best ``R^2`` on that edge;
    ``weight_simple=0.8`` gives pykan's choice). Edges with ``mask = 0`` and no
    formula (pruned) and edges that already have a formula are skipped; an
    edge where no function reaches ``r2_threshold`` stays a spline. Layers
    are done in order, so the samples of layer ``l`` see the formulas of
    layers ``< l``.

    Returns
    -------
    list of dict
        One fit per edge considered, with ``l``, ``i``, ``j`` and ``fixed`` (bool).
    """
    from ..validation import check_real
    _check_rank(rank, weight, window, weight_simple)            # refuse before fixing any edge
    check_real(r2_threshold, "r2_threshold")
    if lib is not None:
        _library(lib)
    done = []
    for l, layer in enumerate(model.layers):
        for i in range(layer.in_dim):
            for j in range(layer.out_dim):
                is_formula = layer.symbolic is not None and layer.symbolic.find(i, j) is not None
                if layer.mask[i, j] == 0 and not is_formula:
                    continue
                if is_formula:
                    continue
                ranked = suggest_symbolic(model, l, i, j, topk=len(SYMBOLIC_LIB), lib=lib, x=x,
                                          weight=weight, rank=rank, window=window,
                                          weight_simple=weight_simple, **fit_kw)
                passing = [f for f in ranked if f["r2"] >= r2_threshold]
                fixed = bool(passing)
                best = passing[0] if fixed else ranked[0]
                if fixed:
                    fix_symbolic(model, l, i, j, best["name"], fit=best)
                done.append(dict(best, l=l, i=i, j=j, fixed=fixed))
                if verbose:
                    print(f"layer {l} edge ({i}, {j}): {best['name']} r2={best['r2']:.6f}"
                          + ("" if fixed else " (kept as spline)"))
    return done


# ---------------------------------------------------------------------------
# the formula
# ---------------------------------------------------------------------------

class _Affine:
    """``const + sum_t coef_t * term_t``: a node's expression with the constants folded."""

    def __init__(self, const=0.0, terms=None):
        self.const = float(const)
        self.terms = dict(terms or {})                          # term string -> coefficient

    def scaled(self, a, b=0.0):
        return _Affine(a * self.const + b, {t: a * c for t, c in self.terms.items()})

    def add(self, other):
        terms = dict(self.terms)
        for t, c in other.terms.items():
            terms[t] = terms.get(t, 0.0) + c
        return _Affine(self.const + other.const, terms)

    def is_atom(self):
        return self.const == 0.0 and len(self.terms) == 1 and next(iter(self.terms.values())) == 1.0

    def format(self, precision):
        def num(v):
            return f"{v:.{precision}g}"
        parts = []
        for t, c in self.terms.items():
            if float(num(c)) == 0.0:
                continue
            if float(num(c)) == 1.0:
                s = t
            elif float(num(c)) == -1.0:
                s = "-" + t
            else:
                s = f"{num(c)}*{t}"
            parts.append(s)
        if float(num(self.const)) != 0.0 or not parts:
            parts.append(num(self.const))
        out = parts[0]
        for p in parts[1:]:
            out += f" - {p[1:]}" if p.startswith("-") else f" + {p}"
        return out


def _import_sympy(what):
    try:
        import sympy
    except ImportError:
        raise ImportError(f"{what} needs the optional package sympy, which is not installed: "
                          f"pip install sympy") from None
    return sympy


def _sympy_edge(sp, name, a, b, c, d, u):
    """``c f(a u + b) + d`` as a sympy expression (``f`` the library's sympy form of ``name``)."""
    def num(v):                                                # integers exactly: no 1.0*, + 0.0
        return sp.Integer(int(v)) if v == round(v) and abs(v) < 2 ** 53 else sp.Float(v)
    fn = get_symbolic(name)
    if fn.name == "0":
        return num(d)
    inner = num(a) * u + num(b)
    fu = fn.sympy(sp, inner) if fn.sympy is not None else sp.Function(fn.name)(inner)
    return num(c) * fu + num(d)


def _products(subnodes, nodes, precision):
    """Node expressions after multiplication nodes: sum nodes as they are, products of subnodes."""
    out = list(subnodes[:nodes.n_sum])
    for cols in nodes.factors:
        coef, terms = 1.0, []
        for f in (subnodes[r] for r in cols):                  # c t (one term) or (expression)
            if not f.terms:
                coef *= f.const
            elif f.const == 0.0 and len(f.terms) == 1:
                (t, c), = f.terms.items()
                coef *= c
                terms.append(f"({t})" if " + " in t or " - " in t else t)
            else:
                terms.append(f"({f.format(precision)})")
        out.append(_Affine(coef) if not terms or coef == 0.0 else _Affine(0.0, {"*".join(terms): coef}))
    return out


def _sympy_products(sp, subnodes, nodes):
    """The sympy twin of :func:`_products`: sum nodes as they are, products of subnodes."""
    return list(subnodes[:nodes.n_sum]) + [sp.Mul(*(subnodes[r] for r in cols)) for cols in nodes.factors]


def symbolic_formula(model, var_names=None, precision=4, simplify=False, sympy=False):
    """The network as readable formulas, one string per output.

    Each node's expression is composed through the layers: a formula edge
    ``c f(a u + b) + d`` applied to its input's expression ``u``, summed per
    node with constants folded (``f = x`` merges into the affine part). Edges
    still splines appear as ``spline_l_i_j(...)``; a multiplication node is the
    product of its subnodes' expressions. Numbers are printed with
    ``precision`` significant digits.

    Parameters
    ----------
    var_names : list of str, optional
        Names of the inputs; default ``x_1, x_2, ...``.
    precision : int
        Significant digits of the strings (the sympy expressions keep full precision).
    simplify : bool
        Pass each formula through ``sympy.simplify`` (needs sympy, imported only then).
    sympy : bool
        Return sympy expressions instead of strings (needs sympy; ImportError
        naming it otherwise). Inputs are ``sympy.Symbol(var_names[i])``, spline
        edges undefined functions ``spline_l_i_j``, functions added without a
        ``sympy`` form undefined functions of their name. The library's
        textbook forms are used (``sqrt``, ``log``, ``x^1.5``, ... of their
        argument, not the safe versions of :mod:`numpykan.symbolic`), and the
        constants are the model's float64 values, so on the functions' domains
        the expression evaluates to the model's output to rounding.

    Returns
    -------
    list of str, or list of sympy expressions with ``sympy=True``
    """
    width0 = model.width[0]
    names = [f"x_{i + 1}" for i in range(width0)] if var_names is None else list(var_names)
    if len(names) != width0:
        raise ValueError(f"var_names must have {width0} names, got {len(names)}")
    sp = _import_sympy("symbolic_formula(sympy=True)") if sympy else None
    exprs = [_Affine(0.0, {n: 1.0}) for n in names]
    sym_exprs = [sp.Symbol(n) for n in names] if sp else None
    for l, layer in enumerate(model.layers):
        out = [_Affine() for _ in range(layer.out_dim)]
        sym_out = [sp.Integer(0) for _ in range(layer.out_dim)] if sp else None
        for i in range(layer.in_dim):
            u = exprs[i]
            for j in range(layer.out_dim):
                if layer.mask[i, j] != 0:
                    arg = u.format(precision)
                    out[j] = out[j].add(_Affine(0.0, {f"spline_{l}_{i}_{j}({arg})": 1.0}))
                    if sp:
                        sym_out[j] += sp.Function(f"spline_{l}_{i}_{j}")(sym_exprs[i])
                if layer.symbolic is None:
                    continue
                e = layer.symbolic.find(i, j)
                if e is None:
                    continue
                a, b, c, d = (float(v) for v in layer.symbolic.params["abcd"][e])
                fn = get_symbolic(layer.symbolic.names[e])
                if sp:
                    sym_out[j] += _sympy_edge(sp, fn.name, a, b, c, d, sym_exprs[i])
                if fn.name == "0":
                    out[j] = out[j].add(_Affine(d))
                    continue
                inner = u.scaled(a, b)
                if fn.name == "x":
                    out[j] = out[j].add(inner.scaled(c, d))
                    continue
                s = inner.format(precision)
                ps = s if inner.is_atom() else f"({s})"
                term = fn.template.replace("{x}", s).replace("{px}", ps)
                out[j] = out[j].add(_Affine(d, {term: c}))
        nodes = getattr(model, "nodes", None)                  # multiplication nodes after layer l
        node_op = None if nodes is None else nodes[l]
        exprs = out if node_op is None else _products(out, node_op, precision)
        if sp:
            sym_exprs = sym_out if node_op is None else _sympy_products(sp, sym_out, node_op)
    if sp:
        return [sp.simplify(e) for e in sym_exprs] if simplify else sym_exprs
    strings = [e.format(precision) for e in exprs]
    if simplify:
        sympy_ = _import_sympy("symbolic_formula(simplify=True)")
        strings = [str(sympy_.simplify(sympy_.sympify(
            s.replace("^", "**").replace("arcsin", "asin").replace("arccos", "acos")
             .replace("arctan", "atan").replace("sgn", "sign")))) for s in strings]   # atanh too
    return strings
