"""Pruning: choose the nodes and edges that matter, and cut the rest out of a KAN.

Two scores rank what to keep (``by``):

``"attribution"`` (the default, pykan 0.2.8's ``prune``)
    The backward attribution of :mod:`numpykan.interpretation.attribution`:
    a hidden node ``i`` of layer ``l`` is kept when ``node_scores[l][i] > node_th``;
    the network is cut down to the kept nodes, attributed again on the same
    samples, and then every edge with ``edge_scores[l][i, j] <= edge_th`` is
    masked. An attribution score measures what a node passes on *to the
    outputs*, so a node whose outgoing edges are small, or feed nodes that are
    small, scores low even if its own edges are large.

``"forward"`` (the KAN paper's rule, numpykan's before)
    The edge sizes ``n_lij = mean_b |phi_lij(x_b)|``: hidden node ``i`` of layer
    ``l`` is kept when ``max_k n_{l-1,ki} > node_th`` and ``max_j n_{l,ij} > node_th``
    (an incoming and an outgoing edge both large), and edges of the original
    network with ``n_lij < edge_th`` are masked.

Attribution sees spreads, not means: an edge that is nearly constant but far
from zero scores low, and masking or dropping it shifts the output by its mean
(pykan's pruning does the same; the fine-tuning after a pruning absorbs it, and
the paper's regularizer, which penalizes ``mean |phi|``, keeps such offsets small).

Either way input and output nodes stay (:func:`prune_input` removes inputs),
a layer where no hidden node passes keeps its best one, a masked edge is
exactly zero and stays so through training, and every kept edge keeps its
knots, coefficients, scales and formula: it computes exactly what it did.

The surgery, :func:`subnetwork`, keeps index sets of nodes; :func:`remove_edge`
and :func:`remove_node` mask edges in place (pykan's semantics).

Multiplication nodes (``width=[2, [5, 2], 1]``) are nodes like the others:
scored by attribution (a mult node's score is handed whole to each of its
factors, see :mod:`~numpykan.interpretation.attribution`), kept or dropped as
a whole. A kept sum node keeps its one subnode column of the layer before it,
a kept mult node its block of ``arity`` consecutive subnode columns, in the
same order, so the node operation of the smaller model multiplies the same
factors; the layout is rebuilt with :func:`numpykan.models.multnodes.set_layout`.
A width entry left with no mult node becomes an int (``[3, 0]`` is ``3``),
and a model left with none has no node operation at all; ``mult_arity``
stays an int while every kept mult node has the same arity, else it becomes
pykan's per-node lists. Forward scores (``by="forward"``) measure a mult
node's incoming side by the largest edge into any of its subnodes.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..training.regularization import edge_norms
from ..validation import check_nonnegative
from .attribution import attribute

__all__ = ["PRUNE_BY", "check_by", "select_nodes", "subnetwork", "prune", "prune_nodes",
           "prune_edges", "prune_input", "remove_edge", "remove_node", "subnode_columns"]

#: what ``prune(by=...)`` accepts
PRUNE_BY = ("attribution", "forward")


def check_by(by):
    """``by`` as one of :data:`PRUNE_BY`, else ValueError/TypeError naming it."""
    if not isinstance(by, str):
        raise TypeError(f"by must be one of {PRUNE_BY}, got {by!r}")
    if by not in PRUNE_BY:
        raise ValueError(f"by must be one of {PRUNE_BY}, got {by!r}")
    return by


def _check_threshold(value, name):
    return check_nonnegative(value, name)      # a finite real >= 0: NaN and inf refused, naming it


def _check_index(value, name, n):
    """An int in ``[0, n)``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{name} must be in [0, {n}), got {value}")
    return int(value)


def _samples(model, x):
    """``x`` checked, or the input of the last forward pass (layer 0's cache)."""
    if x is not None:
        return model._input(x)
    cache = model.layers[0].cache
    if cache is None:
        raise RuntimeError("pruning without x uses the last forward pass, but there is none "
                           "(model(x) and predict() keep no cache; fix_symbolic clears it): "
                           "pass x, or run model.forward(x) first")
    return cache["x"]


def _forward_norms(model, x):
    """Edge sizes ``mean_b |A_l|`` ``(n_l, n_{l+1})`` per layer: on ``x`` (a cached pass) or the caches."""
    if x is not None:
        model.forward(x, check=False)
    return [edge_norms(layer.activations()) for layer in model.layers]


def _node_blocks(model, l):
    """Subnode columns of each node of width entry ``l`` (``l >= 1``): a list of index arrays."""
    nodes = getattr(model, "nodes", None)
    op = None if nodes is None else nodes[l - 1]
    if op is None:
        return [np.array([n]) for n in range(model.width_in[l])]
    return [np.array([n]) for n in range(op.n_sum)] + list(op.factors)   # mult node: its factors


def subnode_columns(model, l, kept):
    """The subnode columns (of layer ``l - 1``'s outputs) that nodes ``kept`` of entry ``l`` own, in order."""
    if l == 0:
        return np.asarray(kept, dtype=int)
    blocks = _node_blocks(model, l)
    cols = [blocks[int(n)] for n in kept]
    return np.concatenate(cols).astype(int) if cols else np.zeros(0, dtype=int)


def select_nodes(model, node_th, x, by="attribution"):
    """Index arrays of the nodes to keep, one per node layer (``L + 1``), and the scores used.

    Inputs and outputs are kept whole; hidden layer ``l`` keeps the nodes whose
    score passes ``node_th`` (see the module docstring), or its best node if none does.
    ``x`` is a checked ``(B, n_0)`` array, or None for the last forward pass.
    """
    if by == "attribution":
        scores = attribute(model, x)
        node_score = scores.node_scores                           # (n_l,) per layer
    else:
        scores = _forward_norms(model, x)
        node_score = [None]
        for l in range(1, len(model.width) - 1):
            into = scores[l - 1].max(axis=0)                      # (p_l,): largest edge into each subnode
            into = np.array([into[c].max() for c in _node_blocks(model, l)])   # (n_l,)
            node_score.append(np.minimum(into, scores[l].max(axis=1)))
        node_score.append(None)
    keep = [np.arange(model.width_in[0])]
    for l in range(1, len(model.width) - 1):
        kept = np.flatnonzero(node_score[l] > node_th)
        if kept.size == 0:
            kept = np.array([int(np.argmax(node_score[l]))])
        keep.append(kept)
    keep.append(np.arange(model.width[-1]))
    return keep, scores


def subnetwork(model, keep):
    """A new model of ``model``'s class with the nodes ``keep[l]`` (index arrays) of every layer.

    Each layer becomes ``layer.subset(keep[l], cols[l + 1])``: copies of the
    kept edges' grids, coefficients, scales, masks and formulas, where
    ``cols[l + 1]`` are the subnode columns the kept nodes own
    (:func:`subnode_columns`; ``keep[l + 1]`` itself without multiplication
    nodes). ``model`` is not changed. The new model has no cache;
    ``kept_nodes`` holds ``keep``, ``kept_subnodes`` the columns (None at entry 0).
    """
    from ..models import multnodes
    new = type(model).__new__(type(model))
    keep = [np.asarray(kp, dtype=int) for kp in keep]
    cols = [None] + [subnode_columns(model, l, keep[l]) for l in range(1, len(keep))]
    new.dtype, new.grid_eps, new.grad_input = model.dtype, model.grid_eps, None
    ops = getattr(model, "nodes", None)
    if ops is None:
        new.width = [len(kp) for kp in keep]
    else:
        width, arities = [len(keep[0])], [[]]
        for l in range(1, len(keep)):
            op = ops[l - 1]
            n_sum = len(keep[l]) if op is None else int(np.sum(keep[l] < op.n_sum))
            ar = [] if op is None else [op.arities[n - op.n_sum] for n in keep[l] if n >= op.n_sum]
            width.append(n_sum if not ar else [n_sum, len(ar)])
            arities.append(ar)
        flat = {a for per in arities for a in per}
        arity = flat.pop() if len(flat) == 1 else ([list(per) for per in arities] if flat else 2)
        multnodes.set_layout(new, width, arity)                 # width, width_in/out, nodes
        if new.nodes is None:                                   # no mult node left: a plain KAN
            for name in ("width_in", "width_out", "nodes", "mult_arity"):
                new.__dict__.pop(name, None)
    new.config = dict(model.config, width=new.width)
    new.config.pop("mult_arity", None)
    if new.nodes is not None:
        new.config["mult_arity"] = new.mult_arity
    new.layers = [layer.subset(keep[l], cols[l + 1]) for l, layer in enumerate(model.layers)]
    new.kept_nodes = keep
    new.kept_subnodes = cols
    kept_inputs = getattr(model, "kept_inputs", None)
    if kept_inputs is not None:
        new.kept_inputs = np.asarray(kept_inputs)[keep[0]]
    return new


def _mask_edges(model, small):
    """Set ``mask = 0`` where ``small[l]`` ``(n_l, n_{l+1})`` is True (new mask arrays, caches dropped)."""
    for layer, s in zip(model.layers, small):
        if np.any(s):
            mask = layer.mask.copy()
            mask[s] = 0
            layer.mask = mask
            layer.cache = None


def prune_nodes(model, threshold=1e-2, x=None, by="attribution"):
    """A new model without the hidden nodes whose score is at most ``threshold`` (pykan's ``prune_node``).

    The new model has run a forward pass on the samples (``x`` or the last
    forward pass's), so ``prune_edges`` or ``attribute`` without ``x`` can follow.
    """
    threshold = _check_threshold(threshold, "threshold")
    by = check_by(by)
    x0 = _samples(model, x)
    keep, _ = select_nodes(model, threshold, x, by)
    new = subnetwork(model, keep)
    new.forward(x0, check=False)
    return new


def prune_edges(model, threshold=3e-2, x=None, by="attribution"):
    """Mask, in place, the edges whose score is at most ``threshold`` (pykan's ``prune_edge``).

    ``by="attribution"``: ``edge_scores[l][i, j] <= threshold``; ``"forward"``:
    ``mean_b |phi_lij| < threshold``. Formula edges are left alone (their spline
    mask is 0 already). Returns the per-layer boolean arrays of newly masked edges.
    """
    threshold = _check_threshold(threshold, "threshold")
    by = check_by(by)
    x0 = _samples(model, x)
    if by == "attribution":
        small = [e <= threshold for e in attribute(model, x).edge_scores]
    else:
        small = [n < threshold for n in _forward_norms(model, x)]
    newly = [s & (layer.mask != 0) for s, layer in zip(small, model.layers)]
    _mask_edges(model, newly)
    model.forward(x0, check=False)                                # a fresh cache, new masks
    return newly


def prune(model, node_th=1e-2, edge_th=3e-2, x=None, by="attribution"):
    """A smaller KAN: unimportant hidden nodes removed, then small edges masked.

    pykan's ``prune`` for ``by="attribution"`` (:func:`prune_nodes`, then
    :func:`prune_edges` scored on the smaller network); with ``by="forward"``
    the paper's rule, the edge sizes of the original network deciding both
    (see the module docstring). ``model``'s parameters and masks are not
    changed; with ``x`` its caches become those of a forward pass on ``x``
    (as pykan's ``get_act``), without ``x`` they are read only.
    """
    node_th = _check_threshold(node_th, "node_th")
    edge_th = _check_threshold(edge_th, "edge_th")
    by = check_by(by)
    x0 = _samples(model, x)
    keep, scores = select_nodes(model, node_th, x, by)
    new = subnetwork(model, keep)
    if by == "attribution":
        small = [e <= edge_th for e in attribute(new, x0).edge_scores]
    else:
        small = [n[np.ix_(keep[l], new.kept_subnodes[l + 1])] < edge_th
                 for l, n in enumerate(scores)]
    _mask_edges(new, small)
    new.forward(x0, check=False)
    return new


def prune_input(model, threshold=1e-2, x=None, active_inputs=None, verbose=False):
    """A new KAN with only the inputs whose feature score exceeds ``threshold``.

    Parameters
    ----------
    model : KAN
    threshold : float
        Inputs with ``feature_score <= threshold`` are dropped (the best input
        is kept if none passes).
    x : ndarray, shape (B, n_0), optional
        Samples for the attribution; without, the last forward pass.
    active_inputs : sequence of int, optional
        Keep exactly these inputs (pykan's manual mode); no attribution is run.
    verbose : bool
        Print which inputs were kept.

    Returns
    -------
    KAN
        Of width ``[len(kept), n_1, ...]``: it takes ``x[:, kept]`` (pykan's
        pruned model takes the full ``x`` and selects inside) and computes
        exactly what ``model`` computes when the dropped inputs' edges are
        silent. ``kept_inputs`` (int array) names the kept inputs as columns of
        the data ``model`` takes (composed through earlier ``prune_input`` calls),
        ``input_scores`` holds the feature scores (None with ``active_inputs``).
        ``kept_inputs`` survives ``refine``, ``copy`` and ``save``/``load``
        (an int array ``kept_inputs`` in the checkpoint); ``input_scores`` only ``copy``.
    """
    n0 = model.width_in[0]
    threshold = _check_threshold(threshold, "threshold")
    if not isinstance(verbose, (bool, np.bool_)):
        raise TypeError(f"verbose must be True or False, got {verbose!r}")
    scores = None
    if active_inputs is not None:
        if isinstance(active_inputs, (str, bytes)) or not hasattr(active_inputs, "__len__"):
            raise TypeError(f"active_inputs must be a sequence of ints, got {active_inputs!r}")
        kept = sorted({_check_index(i, "active_inputs entry", n0) for i in active_inputs})
        if not kept:
            raise ValueError("active_inputs must name at least one input, got none")
        kept = np.array(kept)
        x = None if x is None else model._input(x)
    else:
        x0 = _samples(model, x)
        scores = attribute(model, x).feature_score               # (n0,)
        x = x0
        kept = np.flatnonzero(scores > threshold)
        if kept.size == 0:
            kept = np.array([int(np.argmax(scores))])
    new = subnetwork(model, [kept] + [np.arange(w) for w in model.width_in[1:]])
    if getattr(model, "kept_inputs", None) is None:
        new.kept_inputs = kept.copy()
    new.input_scores = scores
    if x is None and model.layers[0].cache is not None:
        x = model.layers[0].cache["x"]
    if x is not None:
        new.forward(x[:, kept], check=False)
    if verbose:
        print(f"prune_input: kept inputs {new.kept_inputs.tolist()} of {n0}"
              + ("" if scores is None else f" (feature scores {np.round(scores, 4).tolist()})"))
    return new


def _drop_formula(layer, i, j):
    if layer.symbolic is not None and layer.symbolic.find(i, j) is not None:
        layer.symbolic.remove_edge(i, j)
        if len(layer.symbolic) == 0:
            layer.symbolic = None


def remove_edge(model, l, i, j):
    """Remove edge ``(l, i, j)`` in place: ``mask = 0`` and its formula, if any, dropped.

    pykan's ``remove_edge`` masks the spline edge only, so a formula edge there
    would stay; here the edge is gone whatever it was.
    """
    L = len(model.layers)
    l = _check_index(l, "l (layer)", L)
    layer = model.layers[l]
    i = _check_index(i, "i (input node)", layer.in_dim)
    j = _check_index(j, "j (output node)", layer.out_dim)
    small = [np.zeros(lay.mask.shape, dtype=bool) for lay in model.layers]
    small[l][i, j] = True
    _mask_edges(model, small)
    _drop_formula(layer, i, j)
    layer.cache = None


def remove_node(model, l, i, mode="all"):
    """Remove node ``i`` of node layer ``l`` (``0 .. L``) in place: mask its edges (pykan's semantics).

    ``mode="down"`` masks the incoming edges ``(l-1, :, i)``, ``"up"`` the
    outgoing ones ``(l, i, :)``, ``"all"`` both (an input has only outgoing,
    an output only incoming edges). Formula edges among them are dropped too.
    The width does not change; :func:`prune` removes nodes whose edges are all masked.

    With multiplication nodes ``i`` counts the nodes of entry ``l``
    (``width_in[l]``, sums first, then products), and a mult node's incoming
    edges are those into each of its ``arity`` subnodes. (pykan's
    ``remove_node(l, i, mode="down")`` counts subnodes there instead.)
    """
    L = len(model.layers)
    l = _check_index(l, "l (node layer)", L + 1)
    i = _check_index(i, "i (node)", model.width_in[l])
    if mode not in ("all", "up", "down"):
        raise ValueError(f"mode must be 'all', 'up' or 'down', got {mode!r}")
    if mode == "down" and l == 0:
        raise ValueError("mode='down' masks incoming edges, which an input node (l = 0) has none of")
    if mode == "up" and l == L:
        raise ValueError(f"mode='up' masks outgoing edges, which an output node (l = {L}) has none of")
    small = [np.zeros(lay.mask.shape, dtype=bool) for lay in model.layers]
    if mode in ("all", "down") and l > 0:
        small[l - 1][:, subnode_columns(model, l, [i])] = True
    if mode in ("all", "up") and l < L:
        small[l][i, :] = True
    _mask_edges(model, small)
    for ll, s in enumerate(small):
        for a, b in zip(*np.nonzero(s)):
            _drop_formula(model.layers[ll], int(a), int(b))
        if s.any():
            model.layers[ll].cache = None
