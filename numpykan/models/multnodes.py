"""Multiplication nodes (pykan 2.0's ``MultKAN``): nodes that multiply their subnodes.

Glossary: ``B`` batch, ``S`` sum nodes of a layer, ``M`` its multiplication
nodes, ``a_m`` the arity of mult node ``m``, ``P = S + sum_m a_m`` subnodes,
``N = S + M`` nodes, ``D`` input directions of the network (for the jets).

A width entry is an int (``S`` sum nodes) or a pair ``[S, M]``, so
``width=[2, [5, 2], 1]`` has, in its hidden layer, 5 sum nodes and 2 mult
nodes of arity 2. The layer *into* it has ``P = 5 + 2 * 2 = 9`` outputs
(``width_out[1]``, pykan's "subnodes"); the layer *out of* it has ``N = 7``
inputs (``width_in[1]``). Between the two, a node operation (this module)
keeps the first ``S`` subnodes as they are and multiplies each mult node's
``a_m`` consecutive subnodes after them, in pykan's order::

    h[b, n]     = s[b, n]                                   n < S (sum nodes)
    h[b, S + m] = prod_{r < a_m} s[b, c_m + r],   c_m = S + sum_{m' < m} a_m'

The product is taken left to right (``((s_0 s_1) s_2) ...``), as pykan does.

Backward (product rule). With ``u = prod_r s_r`` and ``g = dL/du``::

    dL/ds_r = g * prod_{q != r} s_q

computed without dividing by ``s_r`` (a factor may be exactly 0): with the
prefix products ``P_r = s_0 ... s_r`` kept from the forward pass, walk back
``r = a - 1 .. 1``, ``dL/ds_r = g_r P_{r-1}`` and ``g_{r-1} = g_r s_r``
(``g_{a-1} = g``), and finally ``dL/ds_0 = g_0``; so
``g_r = g prod_{q > r} s_q`` and ``dL/ds_r = g prod_{q > r} s_q prod_{q < r} s_q``.

Input derivatives (for :mod:`numpykan.models.derivatives`). Along one input
direction ``d``, with ``s'`` and ``s''`` the first and second derivatives::

    u'  = sum_r s_r' prod_{q != r} s_q
    u'' = sum_r s_r'' prod_{q != r} s_q + sum_{r != q} s_r' s_q' prod_{t != r, q} s_t

The code reaches both as a chain of binary products ``w = u v`` (``u`` the
prefix, ``v`` the next factor), one at a time::

    w = u v,   w' = u' v + u v',   w'' = u'' v + 2 u' v' + u v''

which unrolled over the chain is the formula above (each unordered pair
``r < q`` is met once, with the factor 2). Its reverse pass, given ``gw``,
``gw'``, ``gw''`` (summing over the directions ``d`` where a value has none)::

    gu   = gw v + sum_d (gw' v' + gw'' v'')      gv   = gw u + sum_d (gw' u' + gw'' u'')
    gu'  = gw' v + 2 gw'' v'                     gv'  = gw' u + 2 gw'' u'
    gu'' = gw'' v                                gv'' = gw'' u

No division anywhere, so a zero factor needs no special case.

A node operation has no parameters: the regularizer's metrics are those of
the layers (the edges), as in pykan.
"""

from __future__ import annotations

import numpy as np

__all__ = ["parse_width", "set_layout", "MultNodes", "MultStage", "WIDTH_HELP"]

#: what ``width`` may hold, for error messages
WIDTH_HELP = ("width must be a list whose entries are positive ints (sum nodes), e.g. [2, 5, 1], "
              "or [sum, mult] pairs of ints >= 0 for hidden layers with multiplication nodes, "
              "e.g. [2, [5, 2], 1]")


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def parse_width(width, mult_arity=2):
    """Check ``width`` and ``mult_arity``; return ``(width, arities, mult_arity)``.

    Parameters
    ----------
    width : list
        Entries: an int ``S >= 1`` or a pair ``[S, M]`` (``S, M >= 0``, ``S + M >= 1``);
        the first (inputs) and the last (outputs) must have ``M = 0``.
    mult_arity : int or list
        An int ``>= 2``: every mult node has that arity. Or, as pykan allows,
        one entry per width entry: an int (all mult nodes there), or a list
        of ints, one per mult node there (``[]`` where there are none).

    Returns
    -------
    width : list
        Ints where a layer has no mult node, ``[S, M]`` pairs where it has;
        ``[2, [5, 0], 1]`` reads as ``[2, 5, 1]``.
    arities : list of list of int
        Per width entry, the arity of each mult node.
    mult_arity : int or list of list of int
        An int if every mult node has the same arity (or there are none and an
        int was given), else pykan's per-node lists.

    Raises
    ------
    TypeError
        ``width`` is not a list/tuple (a set, dict, str ...), or ``mult_arity``
        not an int or a list.
    ValueError
        A bad entry (the message says what is supported), or ``mult_arity``
        inconsistent with the width (named).
    """
    if isinstance(width, (str, bytes, set, frozenset, dict)) or not hasattr(width, "__len__") \
            or not hasattr(width, "__getitem__"):
        raise TypeError(f"{WIDTH_HELP}; got {type(width).__name__} {width!r}: a list is needed")
    entries = list(width)
    if len(entries) < 2:
        raise ValueError(f"width needs at least an input and an output size, got {entries}")
    sums, mults = [], []
    for pos, w in enumerate(entries):
        if _is_int(w) and w >= 1:
            s, m = int(w), 0
        elif (isinstance(w, (list, tuple, np.ndarray)) and len(w) == 2 and all(_is_int(v) for v in w)
              and min(w) >= 0 and sum(int(v) for v in w) >= 1):
            s, m = int(w[0]), int(w[1])
        else:
            raise ValueError(f"{WIDTH_HELP}; width[{pos}] = {w!r} is neither (in {_plain(entries)})")
        if m and pos in (0, len(entries) - 1):
            where = "inputs" if pos == 0 else "outputs"
            raise ValueError(f"width[{pos}] = {w!r}: the {where} cannot be multiplication nodes "
                             f"(only hidden layers can, e.g. [2, [5, 2], 1])")
        sums.append(s)
        mults.append(m)
    arities = _arities(mult_arity, mults)
    norm = [s if m == 0 else [s, m] for s, m in zip(sums, mults)]
    flat = {a for per in arities for a in per}
    if _is_int(mult_arity):
        mult_arity = int(mult_arity)
    elif len(flat) <= 1 and any(mults):
        mult_arity = flat.pop()
    else:
        mult_arity = [list(per) for per in arities]
    return norm, arities, mult_arity


def _plain(entries):
    return [list(w) if isinstance(w, (tuple, np.ndarray)) else w for w in entries]


def _check_arity(a, where):
    if not _is_int(a) or a < 2:
        raise ValueError(f"mult_arity{where} must be an int >= 2 (a multiplication node multiplies "
                         f"at least two subnodes), got {a!r}")
    return int(a)


def _arities(mult_arity, mults):
    """Per width entry, the list of the mult nodes' arities (see :func:`parse_width`)."""
    if _is_int(mult_arity) or isinstance(mult_arity, (bool, np.bool_)):
        a = _check_arity(mult_arity, "")
        return [[a] * m for m in mults]
    if not isinstance(mult_arity, (list, tuple)):
        raise TypeError(f"mult_arity must be an int or a list with one entry per width entry, "
                        f"got {type(mult_arity).__name__} {mult_arity!r}")
    if len(mult_arity) != len(mults):
        raise ValueError(f"mult_arity must have one entry per width entry ({len(mults)}), got "
                         f"{len(mult_arity)}: {list(mult_arity)!r}")
    out = []
    for pos, (entry, m) in enumerate(zip(mult_arity, mults)):
        if _is_int(entry) or isinstance(entry, (bool, np.bool_)):
            out.append([_check_arity(entry, f"[{pos}]")] * m)
            continue
        if not isinstance(entry, (list, tuple)):
            raise TypeError(f"mult_arity[{pos}] must be an int or a list of ints, got {entry!r}")
        if len(entry) != m:
            raise ValueError(f"mult_arity[{pos}] = {list(entry)!r} gives {len(entry)} arities, but "
                             f"width[{pos}] has {m} multiplication node(s)")
        out.append([_check_arity(a, f"[{pos}][{r}]") for r, a in enumerate(entry)])
    return out


def set_layout(model, width, mult_arity=2):
    """Give ``model`` its ``width``, ``mult_arity``, ``width_in``/``width_out`` and node operations.

    ``model.nodes`` is None when no layer has mult nodes (every code path is then
    that of a plain KAN), else one entry per layer: the :class:`MultNodes` after
    it, or None.
    """
    norm, arities, mult_arity = parse_width(width, mult_arity)
    model.width, model.mult_arity = norm, mult_arity
    model.width_in = [s if isinstance(s, int) else s[0] + s[1] for s in norm]
    model.width_out = [(s if isinstance(s, int) else s[0]) + sum(a) for s, a in zip(norm, arities)]
    model.nodes = None
    if any(arities):
        model.nodes = [MultNodes(norm[l + 1][0], arities[l + 1]) if arities[l + 1] else None
                       for l in range(len(norm) - 1)]
    return model


# ---------------------------------------------------------------------------
# the node operation on values
# ---------------------------------------------------------------------------

class MultNodes:
    """The node operation of one width entry: ``S`` sum nodes kept, ``M`` products of subnodes.

    Parameters
    ----------
    n_sum : int
        ``S``.
    arities : list of int
        ``a_m`` per mult node, in order; the subnodes are ``S + sum(arities)``.

    Attributes
    ----------
    groups : list of (cols, out)
        Mult nodes grouped by arity ``a``: ``cols (n_a, a)`` their subnode
        columns, ``out (n_a,)`` their node columns (``S + m``).
    factors : list of ndarray
        Per mult node ``m``, its subnode columns ``(a_m,)``, consecutive after the sum nodes'.
    owner : ndarray, shape (S + sum(arities),)
        ``owner[p]``: the node that subnode ``p`` feeds (a sum node's subnode is itself).
    """

    def __init__(self, n_sum, arities):
        self.n_sum, self.arities = int(n_sum), [int(a) for a in arities]
        self.n_sub = self.n_sum + sum(self.arities)
        self.n_nodes = self.n_sum + len(self.arities)
        starts = self.n_sum + np.concatenate([[0], np.cumsum(self.arities)[:-1]]).astype(int)
        self.factors = [np.arange(s, s + a) for s, a in zip(starts, self.arities)]
        self.owner = np.concatenate([np.arange(self.n_sum)] + [np.full(a, self.n_sum + m)
                                                                for m, a in enumerate(self.arities)])
        self.groups = []
        for a in sorted(set(self.arities)):
            ms = np.flatnonzero(np.array(self.arities) == a)                # (n_a,)
            cols = starts[ms][:, None] + np.arange(a)                       # (n_a, a)
            self.groups.append((cols, self.n_sum + ms))

    def __repr__(self):
        return f"MultNodes(n_sum={self.n_sum}, arities={self.arities})"

    def forward(self, s, cache=True):
        """Nodes ``h`` ``(B, N)`` from subnodes ``s`` ``(B, P)``; the cache for :meth:`backward` (or None)."""
        B = s.shape[0]
        h = np.empty((B, self.n_nodes), dtype=s.dtype)                     # (B, N)
        h[:, :self.n_sum] = s[:, :self.n_sum]                               # sum nodes: as they are
        prefixes = []
        for cols, out in self.groups:
            P = [s[:, cols[:, 0]]]                                          # (B, n_a): P_0 = s_0
            for r in range(1, cols.shape[1]):
                P.append(P[-1] * s[:, cols[:, r]])                          # (B, n_a): P_r = P_{r-1} s_r
            h[:, out] = P[-1]                                               # (B, n_a)
            prefixes.append(P)
        return h, (dict(s=s, P=prefixes) if cache else None)

    def backward(self, dh, cache):
        """``dL/ds`` ``(B, P)`` from ``dh = dL/dh`` ``(B, N)`` (module docstring: no division)."""
        s, prefixes = cache["s"], cache["P"]
        ds = np.empty((dh.shape[0], self.n_sub), dtype=dh.dtype)           # (B, P)
        ds[:, :self.n_sum] = dh[:, :self.n_sum]
        for (cols, out), P in zip(self.groups, prefixes):
            g = dh[:, out]                                                  # (B, n_a): g_{a-1} = dL/du
            for r in range(cols.shape[1] - 1, 0, -1):
                ds[:, cols[:, r]] = g * P[r - 1]                            # (B, n_a): g_r P_{r-1}
                g = g * s[:, cols[:, r]]                                    # g_{r-1} = g_r s_r
            ds[:, cols[:, 0]] = g
        return ds


# ---------------------------------------------------------------------------
# the node operation on jets (input derivatives; see numpykan.models.derivatives)
# ---------------------------------------------------------------------------

def _take(a, cols):
    """Columns ``cols`` of a ``(B, P)`` or ``(B, P, D)`` array, or None."""
    return None if a is None else a[:, cols]


def _mul_jet(u, v, order):
    """``w = u v`` on jets ``(value (B, n), J (B, n, D), H (B, n, D))`` (module docstring)."""
    (u0, u1, u2), (v0, v1, v2) = u, v
    w0 = u0 * v0                                                            # (B, n)
    w1 = w2 = None
    if order >= 1:
        w1 = u1 * v0[:, :, None] + u0[:, :, None] * v1                      # (B, n, D)
    if order >= 2:
        w2 = (u2 * v0[:, :, None] + 2.0 * u1 * v1 + u0[:, :, None] * v2)    # (B, n, D)
    return w0, w1, w2


def _mul_jet_backward(u, v, g, order):
    """Reverse of :func:`_mul_jet`: ``(gu, gv)``, each a jet of gradients (None for zero)."""
    (u0, u1, u2), (v0, v1, v2) = u, v
    g0, g1, g2 = g
    gu0 = g0 * v0                                                           # (B, n)
    gv0 = g0 * u0
    gu1 = gv1 = gu2 = gv2 = None
    if order >= 1 and g1 is not None:
        gu0 = gu0 + np.sum(g1 * v1, axis=2)                                 # (B, n)
        gv0 = gv0 + np.sum(g1 * u1, axis=2)
        gu1 = g1 * v0[:, :, None]                                           # (B, n, D)
        gv1 = g1 * u0[:, :, None]
    if order >= 2 and g2 is not None:
        gu0 = gu0 + np.sum(g2 * v2, axis=2)
        gv0 = gv0 + np.sum(g2 * u2, axis=2)
        t_u, t_v = 2.0 * g2 * v1, 2.0 * g2 * u1                             # (B, n, D)
        gu1 = t_u if gu1 is None else gu1 + t_u
        gv1 = t_v if gv1 is None else gv1 + t_v
        gu2 = g2 * v0[:, :, None]                                           # (B, n, D)
        gv2 = g2 * u0[:, :, None]
    return (gu0, gu1, gu2), (gv0, gv1, gv2)


class MultStage:
    """A :class:`MultNodes` as a stage of :mod:`numpykan.models.derivatives` (no parameters)."""

    def __init__(self, nodes):
        self.nodes = nodes

    def groups(self):
        return []

    def forward(self, h, J, H, order, backward=True, input_grad=True):
        """Node jet ``(h (B, N), J (B, N, D), H (B, N, D))`` from the subnodes' ``(B, P[, D])``."""
        nodes = self.nodes
        if order >= 1 and J is None:
            raise ValueError("a multiplication node cannot take the network's input directly")
        n = nodes.n_sum
        B = h.shape[0]
        out0 = np.empty((B, nodes.n_nodes), dtype=h.dtype)                  # (B, N)
        out0[:, :n] = h[:, :n]
        out1 = out2 = None
        if order >= 1:
            out1 = np.empty((B, nodes.n_nodes, J.shape[2]), dtype=J.dtype)  # (B, N, D)
            out1[:, :n] = J[:, :n]
        if order >= 2:
            out2 = np.empty_like(out1)                                      # (B, N, D)
            out2[:, :n] = H[:, :n]
        chains = []
        for cols, out in nodes.groups:
            factors = [(h[:, cols[:, r]], _take(J, cols[:, r]), _take(H, cols[:, r]))
                       for r in range(cols.shape[1])]                        # (B, n_a), (B, n_a, D) x2
            P = [factors[0]]
            for r in range(1, len(factors)):
                P.append(_mul_jet(P[-1], factors[r], order))                # P_r = P_{r-1} s_r
            out0[:, out] = P[-1][0]
            if order >= 1:
                out1[:, out] = P[-1][1]
            if order >= 2:
                out2[:, out] = P[-1][2]
            chains.append((factors, P))
        cache = dict(chains=chains, order=order, shape=(B, nodes.n_sub),
                     D=None if J is None else J.shape[2], dtype=h.dtype) if backward else None
        return out0, out1, out2, cache

    def backward(self, cache, gh, gJ, gH):
        """``(dL/ds, dL/dJs, dL/dHs, [])`` from the nodes' gradients (None for zero)."""
        nodes, order = self.nodes, cache["order"]
        B, Psub = cache["shape"]
        D, dtype = cache["D"], cache["dtype"]
        n = nodes.n_sum
        gs = np.zeros((B, Psub), dtype=dtype)                               # (B, P)
        gJs = None if gJ is None else np.zeros((B, Psub, D), dtype=dtype)   # (B, P, D)
        gHs = None if gH is None else np.zeros((B, Psub, D), dtype=dtype)
        if gh is not None:
            gs[:, :n] = gh[:, :n]
        if gJs is not None:
            gJs[:, :n] = gJ[:, :n]
        if gHs is not None:
            gHs[:, :n] = gH[:, :n]
        for (cols, out), (factors, P) in zip(nodes.groups, cache["chains"]):
            g = (np.zeros((B, len(out)), dtype=dtype) if gh is None else gh[:, out],
                 _take(gJ, out), _take(gH, out))                            # dL/d(P_{a-1})
            for r in range(len(factors) - 1, 0, -1):
                g, gf = _mul_jet_backward(P[r - 1], factors[r], g, order)   # to P_{r-1} and s_r
                _put(gs, gJs, gHs, cols[:, r], gf)
            _put(gs, gJs, gHs, cols[:, 0], g)
        return gs, gJs, gHs, []


def _put(gs, gJs, gHs, cols, g):
    """Write a factor's gradient jet into the subnodes' columns ``cols`` (each column is one factor)."""
    gs[:, cols] = g[0]
    if gJs is not None and g[1] is not None:
        gJs[:, cols] = g[1]
    if gHs is not None and g[2] is not None:
        gHs[:, cols] = g[2]
