"""numpykan.interpretation.attribution and .pruning: pykan's backward attribution checked by hand,
with loops and against pykan itself; pruning by it; prune_input, remove_edge, remove_node; bad input."""

import math

import numpy as np
import pytest

import numpykan as nk
from numpykan.interpretation import attribution as attr_mod
from numpykan.interpretation import pruning
from numpykan.interpretation.symbolic_edges import edge_values

REASON = ("the pykan comparison needs torch==2.13.0 and pykan 0.2.8: "
          'pip install -e ".[pykan]" && pip install --no-deps pykan==0.2.8')


def _gap_to_pykan(pk, a, L, edges_all=False, subnodes=False):
    """Largest |pykan - numpykan| over node scores, edge scores (pykan's are (out, in)) and,
    if asked, per-output edge scores and subnode scores of one attribution ``a`` of L layers."""
    def arr(t):
        return t.detach().numpy()
    pairs = []
    for l in range(L + 1):
        pairs += [(arr(pk.node_scores[l]), a.node_scores[l]),
                  (arr(pk.node_scores_all[l]), a.node_scores_all[l])]
    for l in range(L):
        pairs.append((arr(pk.edge_scores[l]).T, a.edge_scores[l]))
        if edges_all:
            pairs.append((arr(pk.edge_scores_all[l]).transpose(0, 2, 1), a.edge_scores_all[l]))
        if subnodes:
            pairs += [(arr(pk.subnode_scores[l]), a.subnode_scores[l + 1]),
                      (arr(pk.subnode_scores_all[l]), a.subnode_scores_all[l + 1])]
    return max(float(np.abs(theirs - ours).max()) for theirs, ours in pairs)


def _randomized(model, seed=0, scale=0.4):
    """Coefficients and scales like a trained model's (the initial splines are nearly flat)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.coef[...] = rng.normal(0, scale, layer.coef.shape)
        layer.w_b[...] = rng.normal(0, 1, layer.w_b.shape)
        layer.w_s[...] = rng.uniform(0.5, 1.5, layer.w_s.shape)
    return model


def _x(n, I, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, I))


def _std(v):
    m = sum(v) / len(v)
    return math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1))


def _oracle(model, x):
    """The recursion with loops, one output at a time, from layer.activations (pykan's layout kept apart)."""
    A, h = [], x
    for layer in model.layers:
        h = layer.forward(h)
        A.append(layer.activations())
    L, nL = len(model.layers), model.width[-1]
    node = [[None] * (L + 1) for _ in range(nL)]
    edge = [[None] * L for _ in range(nL)]
    for o in range(nL):
        N = [1.0 if j == o else 0.0 for j in range(nL)]
        node[o][L] = N
        for l in reversed(range(L)):
            I, O = model.width[l], model.width[l + 1]
            s = [_std([sum(A[l][b, i, j] for i in range(I)) for b in range(x.shape[0])]) for j in range(O)]
            Eh = [[_std(list(A[l][:, i, j])) * N[j] / (s[j] + 1e-4) for j in range(O)] for i in range(I)]
            N = [sum(Eh[i]) for i in range(I)]
            node[o][l], edge[o][l] = N, Eh
    nodes = [np.mean([node[o][l] for o in range(nL)], axis=0) for l in range(L + 1)]
    edges = [np.mean([edge[o][l] for o in range(nL)], axis=0) for l in range(L)]
    return nodes, edges


# ---------------------------------------------------------------------------
# the scores
# ---------------------------------------------------------------------------

def test_attribution_by_hand_on_a_linear_kan():
    """Identity base, no spline: every edge is w x, so each spread is |w| std(x), worked out on paper."""
    model = nk.KAN([2, 2, 1], grid=3, k=3, base_fun="identity", seed=0)
    for layer in model.layers:
        layer.coef[...] = 0.0
    model.layers[0].w_b[...] = [[1.0, 2.0], [0.0, -1.0]]     # h0 = x0, h1 = 2 x0 - x1
    model.layers[1].w_b[...] = [[3.0], [1.0]]                 # y = 3 h0 + h1 = 5 x0 - x1
    x = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])   # uncorrelated columns
    sig = math.sqrt(4 / 3)                                    # std of each column (unbiased)
    e = 1e-4
    e1 = np.array([[3 * sig / (math.sqrt(26) * sig + e)], [math.sqrt(5) * sig / (math.sqrt(26) * sig + e)]])
    n1 = e1[:, 0]
    e0 = np.array([[sig * n1[0] / (sig + e), 2 * sig * n1[1] / (math.sqrt(5) * sig + e)],
                   [0.0, sig * n1[1] / (math.sqrt(5) * sig + e)]])
    a = model.attribute(x)
    np.testing.assert_allclose(a.edge_scores[1], e1, rtol=1e-13, atol=0)
    np.testing.assert_allclose(a.edge_scores[0], e0, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(a.node_scores[1], n1, rtol=1e-13)
    np.testing.assert_allclose(a.node_scores[0], e0.sum(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(a.node_scores[2], [1.0])
    assert model.attribution is a
    np.testing.assert_array_equal(model.feature_score, a.node_scores[0])   # the last forward pass: x


@pytest.mark.parametrize("width", [[3, 4, 2], [2, 3, 3, 1], [2, 2]])
def test_attribution_matches_a_loop_oracle(width):
    model = _randomized(nk.KAN(width, grid=4, k=3, seed=3), seed=4)
    model.layers[0].mask[1, 0] = 0                            # a pruned edge
    x = _x(40, width[0])
    nodes, edges = _oracle(model, x)
    a = attr_mod.attribute(model, x)
    for got, want in zip(a.node_scores, nodes):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for got, want in zip(a.edge_scores, edges):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert a.edge_scores[0][1, 0] == 0.0
    shapes = [e.shape for e in a.edge_scores]
    assert shapes == [(width[l], width[l + 1]) for l in range(len(width) - 1)]
    assert [n.shape for n in a.node_scores_all] == [(width[-1], w) for w in width]
    np.testing.assert_allclose(a.node_scores[-1], 1.0 / width[-1])
    # linearity: the averaged scores follow the same recursion from 1 / n_L
    np.testing.assert_allclose(a.node_scores[0], a.edge_scores[0].sum(axis=1), rtol=1e-13)


def test_attribute_without_x_uses_the_last_forward_pass():
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    x = _x(50, 2)
    with pytest.raises(RuntimeError, match="last forward pass"):
        model.attribute()
    model(x)                                                  # inference keeps no cache
    with pytest.raises(RuntimeError, match="pass x"):
        model.feature_score
    model.forward(x)
    a = model.attribute()
    b = model.attribute(x)
    for u, v in zip(a.node_scores + a.edge_scores, b.node_scores + b.edge_scores):
        np.testing.assert_array_equal(u, v)
    model.layers[1].forward(_x(50, 3, seed=9))                # a layer run on its own
    with pytest.raises(RuntimeError, match="different forward passes"):
        model.attribute()


def test_attribution_includes_formula_edges():
    model = _randomized(nk.KAN([2, 2, 1], seed=0))
    x = _x(60, 2)
    model.fix_symbolic(0, 1, 0, "sin", fit_params=False)
    nodes, edges = _oracle(model, x)
    a = model.attribute(x)
    assert a.edge_scores[0][1, 0] > 0.1                        # the formula edge counts
    for got, want in zip(a.edge_scores, edges):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_attribution_bad_input():
    model = nk.KAN([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        model.attribute(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="x"):
        model.attribute(np.zeros((5, 3)))
    bad = _x(5, 2)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        model.attribute(bad)


@pytest.fixture(scope="module")
def tk():
    torch = pytest.importorskip("torch", reason=REASON)
    kan = pytest.importorskip("kan", reason=REASON)
    torch.set_num_threads(1)
    return torch, kan


@pytest.mark.parametrize("width", [[3, 4, 2], [2, 5, 1], [4, 3, 3, 2]])
def test_attribution_equals_pykans(tk, width):
    """The same model and data in pykan (nk.interop.to_pykan): every score agrees to ~1e-15."""
    torch, _ = tk
    model = _randomized(nk.KAN(width, grid=5, k=3, seed=1), seed=2)
    model.layers[0].mask[0, 1] = 0                            # a pruned edge
    model.fix_symbolic(0, 1, 0, "x^2", fit_params=False)      # and a formula edge
    x = _x(200, width[0], seed=5)
    a = model.attribute(x)
    pk = nk.interop.to_pykan(model)
    pk(torch.tensor(x))                                       # pykan keeps the activations
    pk.attribute()
    gap = _gap_to_pykan(pk, a, len(width) - 1, edges_all=True)
    assert gap < 1e-12, gap                                   # measured ~4e-16
    np.testing.assert_allclose(pk.feature_score.detach().numpy(), model.feature_score, rtol=1e-12)


# ---------------------------------------------------------------------------
# multiplication nodes: a node's score handed to each of its subnodes
# ---------------------------------------------------------------------------

def test_attribution_by_hand_through_a_mult_node():
    """[2, [0, 1], 1], identity base, no spline: s0 = a x0, s1 = b x0 + c x1, h = s0 s1, y = d h.

    On the four points (+-1, +-1) (uncorrelated columns, std sig = sqrt(4/3)):
    std(h) = |a c| sig (h = ab + ac x0 x1), so the product node scores
    r = |d| std(h) / (|d| std(h) + e), and pykan hands r whole to both factors.
    """
    a_, b_, c_, d_ = 2.0, -1.0, 3.0, 0.5
    model = nk.KAN([2, [0, 1], 1], grid=3, k=3, base_fun="identity", seed=0)
    for layer in model.layers:
        layer.coef[...] = 0.0
    model.layers[0].w_b[...] = [[a_, b_], [0.0, c_]]
    model.layers[1].w_b[...] = [[d_]]
    x = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    sig, e = math.sqrt(4 / 3), 1e-4
    sh = abs(a_ * c_) * sig                                   # std of the product node
    r = abs(d_) * sh / (abs(d_) * sh + e)
    s1 = math.hypot(b_, c_) * sig                             # std of subnode 1
    e0 = np.array([[abs(a_) * sig * r / (abs(a_) * sig + e), abs(b_) * sig * r / (s1 + e)],
                   [0.0, abs(c_) * sig * r / (s1 + e)]])       # (2 inputs, 2 subnodes)
    att = model.attribute(x)
    np.testing.assert_allclose(att.edge_scores[1], [[r]], rtol=1e-13)
    np.testing.assert_allclose(att.node_scores[1], [r], rtol=1e-13)
    np.testing.assert_allclose(att.subnode_scores[1], [r, r], rtol=1e-13)   # whole, to each factor
    np.testing.assert_allclose(att.edge_scores[0], e0, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(att.node_scores[0], e0.sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(model.feature_score, e0.sum(axis=1), rtol=1e-13)
    assert att.subnode_scores[0] is None and att.subnode_scores[2].tolist() == [1.0]


MULT_WIDTHS = [([2, [5, 2], 1], 2), ([3, [2, 1], 2], 3), ([2, [1, 2], [0, 1], 1], [[], [2, 3], [3], []])]


@pytest.mark.parametrize("width, arity", MULT_WIDTHS, ids=[str(w) for w, _ in MULT_WIDTHS])
def test_attribution_through_mult_nodes_equals_pykans(tk, width, arity):
    """pykan's attribute() on the same model (to_pykan): node, subnode and edge scores to 1e-12.

    (pykan 0.2.8's per-node-list arities work only with one output: its
    ``node_score[:, k].expand(out_dim, arity)`` broadcasts the wrong axis.)
    """
    torch, _ = tk
    model = _randomized(nk.KAN(width, mult_arity=arity, grid=4, k=3, seed=1), seed=3)
    model.layers[0].mask[0, 1] = 0                            # a pruned edge
    model.fix_symbolic(0, 1, 0, "x^2", fit_params=False)      # and a formula edge
    x = _x(200, width[0], seed=6)
    a = model.attribute(x)
    pk = nk.interop.to_pykan(model)
    pk(torch.tensor(x))
    pk.attribute(plot=False)
    gap = _gap_to_pykan(pk, a, len(width) - 1, subnodes=True)
    assert gap < 1e-12, gap                                   # measured ~2e-15
    assert [e.shape for e in a.edge_scores] == [(model.width_in[l], model.width_out[l + 1])
                                                for l in range(len(width) - 1)]
    np.testing.assert_allclose(pk.feature_score.detach().numpy(), model.feature_score, rtol=1e-12)


PRUNE_WIDTHS = [([2, [3, 2], 1], 2, 1), ([2, [1, 2], [1, 1], 1], [[], [2, 3], [2], []], 1)]


@pytest.mark.parametrize("width, arity, dead", PRUNE_WIDTHS, ids=[str(w) for w, _, _ in PRUNE_WIDTHS])
def test_prune_through_mult_nodes_equals_pykans(tk, width, arity, dead, tmp_path, monkeypatch):
    """pykan's prune_node, then prune_edge on the smaller model (its prune()), on the same model:
    the same width, the same masks, and outputs equal to the last bit."""
    torch, _ = tk
    monkeypatch.chdir(tmp_path)                               # pykan's pruned models may write ./model
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)                    # pykan builds its pruned model in it
    try:
        model = _randomized(nk.KAN(width, mult_arity=arity, grid=4, k=3, seed=0), seed=7)
        first = model.nodes[0]
        model.remove_node(1, dead)                             # a sum node and the last mult node
        model.remove_node(1, first.n_sum + len(first.arities) - 1)
        x = _x(100, 2, seed=8)
        ours = model.prune(x=x)
        pk = nk.interop.to_pykan(model)
        pk(torch.tensor(x))
        theirs = pk.prune_node(log_history=False)             # prune() = prune_node + prune_edge
        theirs.auto_save = False
        theirs(torch.tensor(x))
        theirs.attribute(plot=False)
        theirs.prune_edge(log_history=False)
        back = nk.interop.from_pykan(theirs)                   # its masks are float32 now: accepted
    finally:
        torch.set_default_dtype(saved)
    assert back.width == ours.width and back.width_out == ours.width_out
    for a, b in zip(ours.layers, back.layers):
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(back(x), ours(x))


def test_attribute_without_x_through_mult_nodes():
    model = _randomized(nk.KAN([2, [1, 2], 1], seed=0))
    x = _x(40, 2)
    model.forward(x)
    a, b = model.attribute(), model.attribute(x)
    for u, v in zip(a.node_scores + a.edge_scores, b.node_scores + b.edge_scores):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------
# pruning
# ---------------------------------------------------------------------------

def _assert_kept_edges_unchanged(old, new):
    """Every kept edge: the same knots, coefficients, scales, formula, and bit-identical values."""
    keep = new.kept_nodes
    t = np.linspace(-1.3, 1.3, 57)
    for l, (lo, ln) in enumerate(zip(old.layers, new.layers)):
        for a, i in enumerate(keep[l]):
            np.testing.assert_array_equal(ln.grid[a], lo.grid[i])
            for b, j in enumerate(keep[l + 1]):
                if ln.mask[a, b] == 0 and (ln.symbolic is None or ln.symbolic.find(a, b) is None):
                    continue                                   # masked by the pruning
                for key in ("coef", "w_b", "w_s"):
                    np.testing.assert_array_equal(ln.params[key][a, b], lo.params[key][i, j])
                np.testing.assert_array_equal(edge_values(ln, a, b, t), edge_values(lo, i, j, t))


def _dead_node_model():
    """[2, 4, 1] whose hidden node 2 feeds nothing (outgoing edge masked): its score is 0."""
    model = _randomized(nk.KAN([2, 4, 1], grid=4, k=3, seed=0), seed=1)
    model.layers[1].mask[2, 0] = 0
    return model


def test_prune_by_attribution_selects_by_node_and_edge_scores():
    model = _dead_node_model()
    x = _x(200, 2)
    a = model.attribute(x)
    assert a.node_scores[1][2] == 0.0
    keep = np.flatnonzero(a.node_scores[1] > 1e-2)
    pruned = model.prune(x=x)
    assert pruned.width == [2, len(keep), 1] and 2 not in keep
    np.testing.assert_array_equal(pruned.kept_nodes[1], keep)
    # edges: scored again on the smaller network, those <= edge_th masked, the others kept
    sub = pruning.subnetwork(model, pruned.kept_nodes)
    b = sub.attribute(x)
    for l in range(2):
        want = (b.edge_scores[l] > 3e-2).astype(float) * sub.layers[l].mask
        np.testing.assert_array_equal(pruned.layers[l].mask, want)
    _assert_kept_edges_unchanged(model, pruned)
    # the edge threshold bites: a high one masks more, never a kept node's best edge scoring above it
    harsh = model.prune(edge_th=0.3, x=x)
    assert harsh.layers[0].mask.sum() < pruned.layers[0].mask.sum()
    _assert_kept_edges_unchanged(model, harsh)
    # the model itself is unchanged
    np.testing.assert_array_equal(model.layers[1].mask[:, 0], [1, 1, 0, 1])


def test_prune_forward_is_the_papers_rule():
    model = _dead_node_model()
    x = _x(200, 2)
    n = model.edge_scores(x)
    pruned = model.prune(1e-2, 3e-2, x, by="forward")          # the old positional call
    incoming, outgoing = n[0].max(axis=0), n[1].max(axis=1)
    keep = np.flatnonzero((incoming > 1e-2) & (outgoing > 1e-2))
    np.testing.assert_array_equal(pruned.kept_nodes[1], keep)
    for l in range(2):
        small = n[l][np.ix_(pruned.kept_nodes[l], pruned.kept_nodes[l + 1])] < 3e-2
        np.testing.assert_array_equal(pruned.layers[l].mask == 0, small | (model.layers[l].mask[
            np.ix_(pruned.kept_nodes[l], pruned.kept_nodes[l + 1])] == 0))
    _assert_kept_edges_unchanged(model, pruned)


def test_prune_without_x_and_zero_thresholds():
    model = _randomized(nk.KAN([2, 4, 1], grid=4, k=3, seed=1))
    x = _x(100, 2)
    with pytest.raises(RuntimeError, match="pass x"):
        model.prune()
    model.forward(x)
    a, b = model.prune(), model.prune(x=x)
    assert a.width == b.width
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_array_equal(la.mask, lb.mask)
    same = model.prune(node_th=0.0, edge_th=0.0)
    assert same.width == model.width
    np.testing.assert_array_equal(same.predict(x), model.predict(x))
    assert same.attribute().node_scores[0].shape == (2,)       # the pruned model has a cache


def test_prune_node_and_prune_edge_are_the_two_halves():
    model = _dead_node_model()
    x = _x(200, 2)
    both = model.prune(x=x)
    half = model.prune_node(x=x)
    assert half.width == both.width
    newly = half.prune_edge()                                  # in place, on its last forward pass
    for la, lb in zip(half.layers, both.layers):
        np.testing.assert_array_equal(la.mask, lb.mask)
    assert all(n.dtype == bool for n in newly)


def test_prune_input_drops_a_silent_input():
    model = _randomized(nk.KAN([3, 4, 1], grid=4, k=3, seed=2))
    model.remove_node(0, 1)                                    # input 1 feeds nothing
    x = _x(150, 3)
    fs = model.attribute(x).feature_score
    assert fs[1] == 0.0 and fs[0] > 0 and fs[2] > 0
    small = model.prune_input(x=x)
    assert small.width == [2, 4, 1]
    np.testing.assert_array_equal(small.kept_inputs, [0, 2])
    np.testing.assert_array_equal(small.input_scores, fs)
    np.testing.assert_allclose(small.predict(x[:, [0, 2]]), model.predict(x), rtol=1e-13, atol=1e-14)
    small.kept_nodes[0] = np.array([0, 2])
    _assert_kept_edges_unchanged(model, small)
    # twice: kept_inputs stays in the columns of the first model's data
    smaller = small.prune_input(active_inputs=[1])
    np.testing.assert_array_equal(smaller.kept_inputs, [2])
    assert smaller.width == [1, 4, 1]
    assert smaller.input_scores is None


def test_kept_inputs_survive_refine_copy_and_checkpoints(tmp_path):
    model = _randomized(nk.KAN([3, [2, 1], 1], grid=4, k=3, seed=2))
    model.remove_node(0, 0)
    x = _x(100, 3)
    small = model.prune_input(x=x)
    np.testing.assert_array_equal(small.kept_inputs, [1, 2])
    for other in (small.refine(8, x[:, [1, 2]]), small.copy(), nk.KAN.load(small.save(tmp_path / "s.npz"))):
        np.testing.assert_array_equal(other.kept_inputs, [1, 2])
        assert other.kept_inputs is not small.kept_inputs
    back = nk.KAN.load(small.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back(x[:, back.kept_inputs]), small(x[:, [1, 2]]))
    assert getattr(nk.KAN.load(model.save(tmp_path / "m.npz")), "kept_inputs", None) is None


def test_prune_input_verbose_says_what_it_kept(capsys):
    model = _randomized(nk.KAN([3, 2, 1], seed=0))
    model.remove_node(0, 2)
    model.prune_input(x=_x(50, 3), verbose=True)
    assert "kept inputs [0, 1] of 3" in capsys.readouterr().out


def test_remove_edge_and_remove_node():
    model = _randomized(nk.KAN([3, 4, 2], seed=0))
    model.fix_symbolic(1, 2, 1, "sin", fit_params=False)
    x = _x(30, 3)
    before = [layer.mask.copy() for layer in model.layers]
    model.remove_edge(0, 1, 3)
    assert model.layers[0].mask[1, 3] == 0
    changed = before[0] != model.layers[0].mask
    assert changed.sum() == 1
    model.remove_edge(1, 2, 1)                                 # a formula edge: gone too
    assert model.layers[1].symbolic is None
    A = model.layers[1].activations(model.layers[0](x))
    assert np.all(A[:, 2, 1] == 0)
    model.remove_node(1, 0)                                    # hidden node 0: in and out
    assert model.layers[0].mask[:, 0].sum() == 0 and model.layers[1].mask[0].sum() == 0
    model.remove_node(1, 1, mode="down")
    assert model.layers[0].mask[:, 1].sum() == 0 and model.layers[1].mask[1].sum() == 2
    model.remove_node(1, 2, mode="up")
    assert model.layers[1].mask[2].sum() == 0 and model.layers[0].mask[:, 2].sum() == 3
    model.remove_node(2, 0)                                    # an output: incoming only
    assert model.layers[1].mask[:, 0].sum() == 0
    model.remove_node(0, 0)                                    # an input: outgoing only
    assert model.layers[0].mask[0].sum() == 0
    assert model.width == [3, 4, 2]
    # a later prune drops the node that now has no live edges
    assert 0 not in model.prune(x=x).kept_nodes[1]


@pytest.mark.parametrize("call, exc, name", [
    (lambda m, x: m.prune(node_th=float("nan"), x=x), ValueError, "node_th"),
    (lambda m, x: m.prune(edge_th=float("inf"), x=x), ValueError, "edge_th"),
    (lambda m, x: m.prune(edge_th=-1.0, x=x), ValueError, "edge_th"),
    (lambda m, x: m.prune(node_th="0.1", x=x), TypeError, "node_th"),
    (lambda m, x: m.prune(x=x, by="size"), ValueError, "by"),
    (lambda m, x: m.prune(x=x[:, :1]), ValueError, "x"),
    (lambda m, x: m.prune_input(threshold=float("nan"), x=x), ValueError, "threshold"),
    (lambda m, x: m.prune_input(active_inputs=[0, 5]), ValueError, "active_inputs"),
    (lambda m, x: m.prune_input(active_inputs=[]), ValueError, "active_inputs"),
    (lambda m, x: m.prune_input(active_inputs=3), TypeError, "active_inputs"),
    (lambda m, x: m.prune_edge(threshold=float("nan")), ValueError, "threshold"),
    (lambda m, x: m.prune_node(threshold=float("nan")), ValueError, "threshold"),
    (lambda m, x: m.remove_edge(2, 0, 0), ValueError, "layer"),
    (lambda m, x: m.remove_edge(0, 2, 0), ValueError, "input node"),
    (lambda m, x: m.remove_edge(0, 0, -1), ValueError, "output node"),
    (lambda m, x: m.remove_edge(0, 0.0, 1), TypeError, "input node"),
    (lambda m, x: m.remove_edge(True, 0, 1), TypeError, "layer"),
    (lambda m, x: m.remove_node(3, 0), ValueError, "node layer"),
    (lambda m, x: m.remove_node(1, 3), ValueError, "node"),
    (lambda m, x: m.remove_node(1, 0, mode="sideways"), ValueError, "mode"),
    (lambda m, x: m.remove_node(0, 0, mode="down"), ValueError, "mode"),
    (lambda m, x: m.remove_node(2, 0, mode="up"), ValueError, "mode"),
])
def test_bad_arguments_name_themselves_and_change_nothing(call, exc, name):
    model = _randomized(nk.KAN([2, 3, 1], seed=0))
    x = _x(20, 2)
    model.forward(x)
    masks = [layer.mask.copy() for layer in model.layers]
    caches = [layer.cache for layer in model.layers]
    with pytest.raises(exc, match=name):
        call(model, x)
    for layer, m, c in zip(model.layers, masks, caches):
        np.testing.assert_array_equal(layer.mask, m)
        assert layer.cache is c
    assert model.width == [2, 3, 1]
