"""Backward attribution: how much each node and each edge matters to the outputs.

pykan 0.2.8 scores a trained network for pruning and for feature importance
(``MultKAN.attribute``, ``feature_score``) by passing a score backward from
the outputs. This module computes the same numbers from one forward pass.
There is no gradient here: the scores are statistics of the activations.

Glossary: ``L`` layers; layer ``l`` maps ``n_l`` nodes to ``n_{l+1}`` nodes
(``n_0`` inputs, ``n_L`` outputs); ``B`` samples; ``o`` an output index.

Notes
-----
For samples ``x_0 = x`` of shape ``(B, n_0)``, layer ``l`` has the edge values
``A_l[b, i, j] = phi_{l,ij}(x_l[b, i])`` ``(B, n_l, n_{l+1})`` (spline, base and
formula edge together; a masked edge is 0) and the output
``x_{l+1}[b, j] = sum_i A_l[b, i, j]`` ``(B, n_{l+1})``. With ``std_b`` the
unbiased standard deviation over the samples (``torch.std``'s)::

    E_l[i, j] = std_b A_l[b, i, j]          (n_l, n_{l+1})  how much edge (i, j) moves
    s_l[j]    = std_b x_{l+1}[b, j]         (n_{l+1},)      how much node j of layer l+1 moves

Start at the outputs with one unit of score per output, ``N_L[o, j] = 1 if o == j else 0``
``(n_L, n_L)``, and go back, ``l = L-1, ..., 0``::

    edge:  Ehat_l[o, i, j] = E_l[i, j] N_{l+1}[o, j] / (s_l[j] + 1e-4)   (n_L, n_l, n_{l+1})
    node:  N_l[o, i]       = sum_j Ehat_l[o, i, j]                       (n_L, n_l)

An edge receives the score of the node it feeds, in proportion to the share
``E_l[i, j] / s_l[j]`` of that node's spread it carries (the ``1e-4`` keeps a
constant node from dividing by zero); a node's score is the sum over the edges
leaving it. The scores reported are means over the outputs::

    node_scores[l] = mean_o N_l[o, :]        (n_l,)           l = 0 .. L
    edge_scores[l] = mean_o Ehat_l[o, :, :]  (n_l, n_{l+1})   l = 0 .. L-1
    feature_score  = node_scores[0]          (n_0,)

so every output node scores ``1 / n_L``. Since everything is linear in ``N``,
the means obey the same recursion started from ``1 / n_L``. pykan stores its
edge scores as ``(out, in)``; here they are ``(in, out)``, as every other
per-edge array of numpykan (``mask``, ``w_b``, ...).

Multiplication nodes (``width=[2, [5, 2], 1]``, :mod:`numpykan.models.multnodes`)
--------------------------------------------------------------------------------
Then layer ``l`` maps ``n_l = width_in[l]`` nodes to ``p_{l+1} = width_out[l+1]``
*subnodes*, and a node operation turns the subnodes into the ``n_{l+1}`` nodes
(a sum node keeps its one subnode, a mult node multiplies its ``a_m``
consecutive ones). pykan's ``attribute`` hands a node's score to its subnodes
unchanged (the whole score to each factor of a product, not a share), and
measures the spreads on the subnodes, before the products::

    u_{l+1}[b, p] = sum_i A_l[b, i, p]       (B, p_{l+1})    the subnodes
    E_l[i, p]     = std_b A_l[b, i, p]       (n_l, p_{l+1})
    s_l[p]        = std_b u_{l+1}[b, p]      (p_{l+1},)
    subnode:  Nsub_{l+1}[o, p] = N_{l+1}[o, node(p)]                    (n_L, p_{l+1})
    edge:     Ehat_l[o, i, p]  = E_l[i, p] Nsub_{l+1}[o, p] / (s_l[p] + 1e-4)
    node:     N_l[o, i]        = sum_p Ehat_l[o, i, p]                  (n_L, n_l)

with ``node(p)`` the node subnode ``p`` belongs to: ``p`` itself for
``p < S`` (sum nodes), ``S + m`` for the ``a_m`` subnodes of mult node ``m``.
Without mult nodes ``node(p) = p`` and this is the recursion above.
``subnode_scores[l]`` ``(p_l,)`` (``l = 1 .. L``; None at ``l = 0``) are the
means of ``Nsub_l`` over the outputs; ``edge_scores[l]`` is ``(n_l, p_{l+1})``,
indexed like ``layers[l].mask``.

pykan's node and subnode affine maps are the identity in every model numpykan
represents, so the spreads are those of the subnodes as computed here. (pykan
0.2.8's ``attribute`` with per-node arity lists, ``mult_arity=[[], [2, 3], []]``,
runs only with one output: it broadcasts a node's ``(n_L,)`` scores along the
arity axis. This module has no such limit.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Attribution", "attribute", "layer_statistics", "backward_scores", "subnode_owner", "EPS"]

#: added to a node's spread before dividing by it (pykan's ``1e-4``)
EPS = 1e-4


class Attribution(NamedTuple):
    """Scores of :func:`attribute`; ``L`` layers, ``n_l`` nodes of layer ``l``.

    Attributes
    ----------
    node_scores : list of ndarray, length L + 1
        ``node_scores[l]`` ``(n_l,)``; ``node_scores[0]`` is the feature score.
    edge_scores : list of ndarray, length L
        ``edge_scores[l]`` ``(n_l, n_{l+1})``, indexed ``[i, j]`` like ``layer.mask``.
    node_scores_all : list of ndarray, length L + 1
        Per output: ``node_scores_all[l]`` ``(n_L, n_l)`` (pykan's ``node_scores_all``).
    edge_scores_all : list of ndarray, length L
        Per output: ``edge_scores_all[l]`` ``(n_L, n_l, n_{l+1})``.
    subnode_scores : list, length L + 1
        ``subnode_scores[l]`` ``(p_l,)``, the scores the nodes of width entry
        ``l`` hand to their subnodes (module Notes); ``None`` at ``l = 0``.
        Equal to ``node_scores[l]`` where entry ``l`` has no mult node.
    subnode_scores_all : list, length L + 1
        Per output: ``(n_L, p_l)`` (pykan's ``subnode_scores_all``, shifted by
        one entry so that index ``l`` is width entry ``l``); ``None`` at ``l = 0``.

    With multiplication nodes, ``n_{l+1}`` in the edge shapes reads ``p_{l+1}``
    (the subnodes layer ``l`` outputs).
    """

    node_scores: list
    edge_scores: list
    node_scores_all: list
    edge_scores_all: list
    subnode_scores: list = None
    subnode_scores_all: list = None

    @property
    def feature_score(self):
        """``node_scores[0]`` ``(n_0,)``: the inputs' scores."""
        return self.node_scores[0]


def _std(a):
    """Unbiased standard deviation over axis 0 (as ``torch.std``), in float64."""
    return np.std(np.asarray(a, dtype=np.float64), axis=0, ddof=1)


def layer_statistics(A):
    """``E = std_b A`` ``(I, O)`` and ``s = std_b sum_i A`` ``(O,)`` from edge values ``A`` ``(B, I, O)``."""
    A = np.asarray(A, dtype=np.float64)                        # (B, I, O)
    return _std(A), _std(A.sum(axis=1))                        # (I, O), (O,)


def backward_scores(E, s, node_of=None):
    """The backward recursion of the module's Notes from the layers' spreads.

    Parameters
    ----------
    E : list of ndarray, ``E[l]`` of shape (n_l, p_{l+1})
    s : list of ndarray, ``s[l]`` of shape (p_{l+1},)
    node_of : list, optional
        Per layer ``l``, None (every subnode is its own sum node) or an int
        array ``(p_{l+1},)``: the node of width entry ``l + 1`` that subnode
        ``p`` belongs to (:func:`subnode_owner`).

    Returns
    -------
    Attribution
    """
    L = len(E)
    node_of = [None] * L if node_of is None else list(node_of)
    n_out = E[-1].shape[1] if node_of[-1] is None else int(node_of[-1].max()) + 1
    N = np.eye(n_out)                                          # (n_L, n_L): N_L[o, j]
    nodes, edges, subs = [N], [], []
    for El, sl, own in zip(reversed(E), reversed(s), reversed(node_of)):
        Nsub = N if own is None else N[:, own]                 # (n_L, p_{l+1}): node -> subnodes
        Eh = El[None, :, :] * (Nsub / (sl + EPS))[:, None, :]  # (n_L, n_l, p_{l+1})
        N = Eh.sum(axis=2)                                     # (n_L, n_l)
        subs.append(Nsub)
        edges.append(Eh)
        nodes.append(N)
    nodes, edges, subs = nodes[::-1], edges[::-1], [None] + subs[::-1]
    return Attribution(node_scores=[N.mean(axis=0) for N in nodes],
                       edge_scores=[Eh.mean(axis=0) for Eh in edges],
                       node_scores_all=nodes, edge_scores_all=edges,
                       subnode_scores=[None] + [S.mean(axis=0) for S in subs[1:]],
                       subnode_scores_all=subs)


def subnode_owner(model):
    """Per layer ``l``: None without mult nodes after it, else ``node(p)`` ``(p_{l+1},)`` (Notes)."""
    nodes = getattr(model, "nodes", None)
    if nodes is None:
        return [None] * len(model.layers)
    out = []
    for op in nodes:
        if op is None:
            out.append(None)
            continue
        out.append(op.owner)                                   # (p,): sum nodes are their own
    return out


def _edge_values(model, x):
    """Every layer's ``A_l`` ``(B, n_l, n_{l+1})``: from a forward pass on ``x``, or the caches."""
    if x is not None:
        h = model._input(x)                                    # (B, n_0), checked
        if h.shape[0] < 2:
            raise ValueError(f"attribution needs at least 2 samples (a spread over the batch), "
                             f"got x of shape {h.shape}")
        model.forward(h, check=False)                          # every layer caches
        return [layer.activations() for layer in model.layers]   # (B, n_l, n_{l+1}) each
    missing = [l for l, layer in enumerate(model.layers) if layer.cache is None]
    if missing:
        raise RuntimeError(
            f"attribute() without x uses the last forward pass, but layer {missing[0]} has none "
            "(model(x) and predict() keep no cache; fix_symbolic and pruning clear it): "
            "pass x, or run model.forward(x) first")
    values = [layer.activations() for layer in model.layers]
    B = values[0].shape[0]
    ops = getattr(model, "nodes", None)
    for l in range(len(values) - 1):
        nxt = model.layers[l + 1].cache["x"]                   # (B', n_{l+1})
        out = values[l].sum(axis=1)                            # (B, p_{l+1}): subnodes
        if ops is not None and ops[l] is not None:
            out = ops[l].forward(out, cache=False)[0]          # (B, n_{l+1}): through the nodes
        scale = max(1.0, float(np.abs(out).max(initial=0.0)))
        tol = 1e-4 if np.dtype(model.dtype) == np.float32 else 1e-8
        if nxt.shape != out.shape or np.abs(nxt - out).max(initial=0.0) > tol * scale:
            raise RuntimeError(
                f"attribute() without x: the caches of layers {l} and {l + 1} come from different "
                "forward passes (a layer was run on its own); pass x, or run model.forward(x) first")
    if B < 2:
        raise ValueError("attribution needs at least 2 samples (a spread over the batch); "
                         f"the last forward pass had {B}: pass x")
    return values


def attribute(model, x=None):
    """pykan's backward attribution scores of ``model``'s nodes and edges.

    Parameters
    ----------
    model : KAN
    x : ndarray, shape (B, n_0), optional
        Samples (``B >= 2``). Runs ``model.forward(x)`` (caching, as pykan's
        ``get_act``). Without ``x``, the last forward pass is used.

    Returns
    -------
    Attribution
        ``node_scores`` (``L + 1`` arrays ``(n_l,)``), ``edge_scores`` (``L``
        arrays ``(n_l, n_{l+1})``; ``(width_in[l], width_out[l+1])`` with
        multiplication nodes), ``subnode_scores``, and all per output; see the
        module's Notes.

    Raises
    ------
    RuntimeError
        Without ``x``, when a layer has no cache from the last forward pass.
    ValueError
        When ``x`` is not a ``(B, n_0)`` array of finite numbers, or ``B < 2``.

    Examples
    --------
    >>> import numpykan as nk
    >>> model = nk.KAN([2, 3, 1], seed=0)
    >>> x = np.random.default_rng(0).uniform(-1, 1, (100, 2))
    >>> a = attribute(model, x)
    >>> [n.shape for n in a.node_scores], [e.shape for e in a.edge_scores]
    ([(2,), (3,), (1,)], [(2, 3), (3, 1)])
    >>> float(a.node_scores[-1][0])            # each output holds one unit of score
    1.0
    """
    values = _edge_values(model, x)
    stats = [layer_statistics(A) for A in values]
    return backward_scores([E for E, _ in stats], [s for _, s in stats], subnode_owner(model))
