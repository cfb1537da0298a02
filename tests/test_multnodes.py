"""Multiplication nodes (numpykan.models.multnodes): layout, forward, product-rule backward, jets.

Forward against a hand computation in pykan's subnode order; every gradient
against central differences (float64, ~1e-6 relative) with arities 2 and 3,
mixed arities and an exactly-zero factor; Jacobian, Hessian diagonal, Laplacian
and a derivative loss through the nodes; pruning through them (kept edges
compute what they did); pykan's ``Interp_1`` flow (f = x y) with ``prune()``;
checkpoints, the step transaction's snapshot, and bad input.
"""

import re

import numpy as np
import pytest

import numpykan as nk
from numpykan import derivatives
from numpykan.models.multnodes import MultNodes, MultStage, parse_width


def _x(n=12, seed=0, I=2):
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (n, I))


def _trained_like(model, seed=1):
    """Spline coefficients of a trained-looking size (the initial ones are tiny)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.params["coef"] += rng.normal(0, 0.3, layer.coef.shape)
    return model


# ---------------------------------------------------------------------------
# layout: width, width_in, width_out
# ---------------------------------------------------------------------------

def test_layout_follows_pykan():
    model = nk.KAN([2, [5, 2], 1], mult_arity=2, seed=0)
    assert model.width == [2, [5, 2], 1]
    assert model.width_in == [2, 7, 1] and model.width_out == [2, 9, 1]
    assert [(layer.in_dim, layer.out_dim) for layer in model.layers] == [(2, 9), (7, 1)]
    assert model.nodes[0].arities == [2, 2] and model.nodes[1] is None
    assert "mult_arity=2" in repr(model) and "[2, [5, 2], 1]" in repr(model)
    mixed = nk.KAN([2, [1, 2], [0, 1], 1], mult_arity=[[], [2, 3], [4], []], seed=0)
    assert mixed.width_out == [2, 6, 4, 1] and mixed.width_in == [2, 3, 1, 1]
    assert mixed.mult_arity == [[], [2, 3], [4], []]
    same = nk.KAN([2, [1, 2], 1], mult_arity=[2, [3, 3], 2])      # one arity everywhere: an int
    assert same.mult_arity == 3 and same.width_out == [2, 7, 1]


def test_plain_widths_are_unchanged():
    """No mult node: no node op, the width as given, and [2, [5, 0], 1] is [2, 5, 1]."""
    x = _x()
    plain = nk.KAN([2, 5, 1], seed=3)
    assert plain.nodes is None and plain.width == [2, 5, 1] and plain.width_in == [2, 5, 1]
    assert "mult_arity" not in plain.config and "mult_arity" not in repr(plain)
    zero = nk.KAN([2, [5, 0], 1], seed=3)
    assert zero.nodes is None and zero.width == [2, 5, 1]
    assert np.array_equal(plain(x), zero(x))
    h = x
    for layer in plain.layers:
        h = layer(h)
    assert np.array_equal(plain(x), h) and np.array_equal(plain.forward(x), h)


# ---------------------------------------------------------------------------
# forward against a hand computation
# ---------------------------------------------------------------------------

def test_node_op_by_hand():
    s = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                  [0.5, -1.0, 0.0, 2.0, -3.0, 7.0]])               # (B, P): 1 sum node, arities 2, 3
    h, _ = MultNodes(1, [2, 3]).forward(s)
    assert h.tolist() == [[1.0, 2.0 * 3.0, 4.0 * 5.0 * 6.0], [0.5, -0.0, 2.0 * -3.0 * 7.0]]


def test_model_forward_by_hand():
    """Layer outputs (subnodes) multiplied in pykan's order: mult node m takes a consecutive block."""
    model = _trained_like(nk.KAN([2, [1, 2], 1], mult_arity=[[], [3, 2], []], seed=0))
    x = _x()
    s = model.layers[0](x)                                        # (B, 1 + 3 + 2)
    nodes = np.stack([s[:, 0], s[:, 1] * s[:, 2] * s[:, 3], s[:, 4] * s[:, 5]], axis=1)
    assert np.array_equal(model(x), model.layers[1](nodes))
    assert np.array_equal(model.forward(x), model(x))


# ---------------------------------------------------------------------------
# backward: the product rule against finite differences
# ---------------------------------------------------------------------------

CASES = [([2, [2, 2], 1], 2), ([2, [1, 2], 1], 3), ([2, [2, 3], [1, 2], 1], [[], [2, 3, 4], [3, 2], []])]


@pytest.mark.parametrize("width, arity", CASES, ids=["arity2", "arity3", "mixed-deep"])
@pytest.mark.parametrize("lamb", [0.0, 0.01])
def test_backward_matches_finite_differences(width, arity, lamb):
    model = _trained_like(nk.KAN(width, mult_arity=arity, grid=4, k=3, seed=0))
    x = _x(10)
    y = np.random.default_rng(2).normal(size=(10, 1))
    report = nk.check_model(model, x, y, lamb=lamb, input_grad=True, rtol=1e-6)
    assert report.ok, str(report)
    assert {f"layer{l}.coef" for l in range(len(width) - 1)} | {"x"} <= {r.name for r in report.rows}


def test_node_backward_with_a_zero_factor():
    """dL/ds_r = g * prod of the other factors, also when a factor is exactly 0 (no division)."""
    s = np.array([[1.0, 0.0, 3.0, 2.0], [2.0, 5.0, 0.0, 0.0]])     # (B, P): arity 4, zeros
    op = MultNodes(0, [4])
    h, cache = op.forward(s)
    g = np.array([[2.0], [3.0]])
    ds = op.backward(g, cache)
    expect = np.stack([g[:, 0] * np.prod(np.delete(s, r, axis=1), axis=1) for r in range(4)], 1)
    assert np.array_equal(ds, expect)
    assert np.isfinite(ds).all() and ds[0, 1] == 2.0 * 1.0 * 3.0 * 2.0 and ds[1].tolist() == [0, 0, 0, 0]


def test_model_with_a_zero_subnode_passes_the_check():
    """Subnode 1 is identically 0 (its edges zeroed): its product is 0, its gradient is not."""
    model = _trained_like(nk.KAN([2, [1, 1], 1], mult_arity=2, grid=4, seed=0))
    for key in ("coef", "w_b"):
        model.layers[0].params[key][:, 1] = 0.0
    x = _x(10)
    y = np.random.default_rng(3).normal(size=(10, 1))
    report = nk.check_model(model, x, y, input_grad=True)
    assert report.ok, str(report)
    g = model.layers[0].grads["w_b"]
    assert np.abs(g[:, 1]).max() > 1e-6 and np.all(g[:, 2] == 0.0)   # into the zero factor: >0


# ---------------------------------------------------------------------------
# input derivatives through the nodes
# ---------------------------------------------------------------------------

def _central(f, x, eps, second=False):
    out = []
    for d in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, d] = eps
        out.append((f(x + e) - 2 * f(x) + f(x - e)) / eps ** 2 if second else
                   (f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(out, axis=-1)                                 # (B, O, I)


@pytest.mark.parametrize("width, arity", CASES, ids=["arity2", "arity3", "mixed-deep"])
def test_jacobian_hessian_laplacian_match_finite_differences(width, arity):
    model = _trained_like(nk.KAN(width, mult_arity=arity, grid=4, k=3, seed=0))
    x = _x(8)
    J, H = model.jacobian(x), model.hessian_diag(x)
    Jn, Hn = _central(model, x, 1e-5), _central(model, x, 1e-4, second=True)
    assert np.abs(J - Jn).max() <= 1e-6 * np.abs(J).max()
    assert np.abs(H - Hn).max() <= 1e-5 * np.abs(H).max()          # second differences: eps^2 noise
    assert np.allclose(model.laplacian(x), H.sum(axis=2), rtol=1e-13, atol=0)


def _residual(jet, x, y):
    """``mean (lap u + u du/dx_1 - y)^2``: reads u, J and H, so every jet entry gets a gradient."""
    r = jet.H.sum(axis=2)[:, 0] + jet.u[:, 0] * jet.J[:, 0, 0] - y
    B = r.size
    gH = np.repeat((2 * r / B)[:, None, None], x.shape[1], axis=2)
    gJ = np.zeros_like(jet.J)
    gJ[:, 0, 0] = 2 * r / B * jet.u[:, 0]
    gu = (2 * r / B * jet.J[:, 0, 0])[:, None]
    return float(np.mean(r ** 2)), {"u": gu, "J": gJ, "H": gH}


@pytest.mark.parametrize("width, arity", CASES, ids=["arity2", "arity3", "mixed-deep"])
def test_derivative_loss_through_mult_nodes(width, arity):
    model = _trained_like(nk.KAN(width, mult_arity=arity, grid=4, k=3, seed=0))
    x = _x(6)
    loss = derivatives.DerivativeLoss(_residual, order=2)
    report = nk.check_model(model, x, np.zeros(6), loss=loss, input_grad=True)
    assert report.ok, str(report)
    assert any(isinstance(stage, MultStage) for stage in derivatives.stages(model))


def test_jet_stage_order_zero_and_one_agree_with_values():
    model = _trained_like(nk.KAN([2, [1, 2], 1], mult_arity=3, seed=0))
    x = _x()
    for order in (0, 1):
        jet, _ = derivatives.forward(model, x, order)
        assert np.allclose(jet.u, model(x), rtol=1e-14, atol=1e-16)


# ---------------------------------------------------------------------------
# grids, refine, training, transaction
# ---------------------------------------------------------------------------

def test_update_grid_and_refine_go_through_the_nodes():
    model = _trained_like(nk.KAN([2, [2, 2], 1], grid=5, seed=0))
    x = _x(200, seed=5)
    before = model(x)
    fine = model.refine(12, x)
    assert fine.width == model.width and fine.width_in == model.width_in
    assert [layer.G for layer in fine.layers] == [12, 12]
    assert np.abs(fine(x) - before).max() < 1e-2 * np.abs(before).max()
    eps = model.grid_eps
    grid0, coef0 = model.layers[0]._regrid(x, eps)                # by hand: layer 0, the nodes, layer 1
    s = model.layers[0]._infer(x, grid=grid0, coef=coef0)
    grid1, coef1 = model.layers[1]._regrid(model.nodes[0].forward(s, cache=False)[0], eps)
    model.update_grid(x)
    assert np.array_equal(model.layers[0].grid, grid0) and np.array_equal(model.layers[1].grid, grid1)
    assert np.array_equal(model.layers[1].coef, coef1)
    assert np.abs(model(x) - before).max() < 3e-2 * np.abs(before).max()
    h = model._infer(model._input(x), 0, 1)                       # layer 1's input: the nodes
    assert h.shape == (200, 4)
    k = model.layers[1].k
    grid1 = model.layers[1].grid                                   # placed on the node values
    assert np.allclose(grid1[:, k], h.min(axis=0), rtol=1e-12, atol=1e-12)
    assert np.allclose(grid1[:, -k - 1], h.max(axis=0), rtol=1e-12, atol=1e-12)


def test_fit_trains_and_backward_refuses_a_stale_node_cache():
    data = nk.create_dataset(lambda x: x[:, :1] * x[:, 1:2], n_var=2, train_num=200, test_num=200,
                             seed=0)
    model = nk.KAN([2, [0, 1], 1], base_fun="identity", grid=3, seed=0)
    history = model.fit(data, opt="Adam", steps=60, lr=1e-2, lamb=1e-3, verbose=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    model.forward(data["train_input"])
    model.layers[0].forward(data["test_input"][:5])               # the layer ran alone
    grads = {key: g.copy() for key, g in model.layers[1].grads.items()}
    with pytest.raises(RuntimeError, match="multiplication nodes after layer 0"):
        model.backward(np.ones((200, 1)))
    assert all(np.array_equal(grads[key], g) for key, g in model.layers[1].grads.items())


def test_snapshot_restores_the_node_cache():
    model = nk.KAN([2, [1, 1], 1], seed=0)
    x = _x()
    model.forward(x)
    snap = model.snapshot()
    cache = model.node_cache
    model.forward(_x(seed=4))
    model.restore(snap)
    assert model.node_cache is cache                              # with the layer caches it belongs to
    assert model.node_cache[0]["layer_cache"] is model.layers[0].cache


# ---------------------------------------------------------------------------
# checkpoints, prune, plot, formula
# ---------------------------------------------------------------------------

def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    model = _trained_like(nk.KAN([2, [2, 3], [1, 2], 1], mult_arity=[[], [2, 3, 4], [3, 2], []],
                                 seed=0))
    model.fix_symbolic(1, 0, 0, "sin", fit_params=False)
    back = nk.KAN.load(model.save(tmp_path / "m.npz"))
    assert back.config == model.config and back.width == model.width
    assert back.mult_arity == model.mult_arity and back.width_out == model.width_out
    x = _x()
    assert np.array_equal(back(x), model(x))


# -- pruning through the nodes ----------------------------------------------------------------

def _assert_kept_edges_compute_the_same(old, new):
    """Every kept edge (row kept_nodes[l], column kept_subnodes[l + 1]): same arrays, same values."""
    from numpykan.interpretation.symbolic_edges import edge_values
    t = np.linspace(-1.3, 1.3, 41)
    for l, (lo, ln) in enumerate(zip(old.layers, new.layers)):
        rows, cols = new.kept_nodes[l], new.kept_subnodes[l + 1]
        assert (ln.in_dim, ln.out_dim) == (len(rows), len(cols))
        for a, i in enumerate(rows):
            assert np.array_equal(ln.grid[a], lo.grid[i])
            for b, j in enumerate(cols):
                for key in ("coef", "w_b", "w_s"):
                    assert np.array_equal(ln.params[key][a, b], lo.params[key][i, j])
                if ln.mask[a, b] != 0 or (ln.symbolic is not None and ln.symbolic.find(a, b) is not None):
                    assert np.array_equal(edge_values(ln, a, b, t), edge_values(lo, i, j, t))


def test_prune_keeps_each_mult_node_with_its_block_of_subnodes(tmp_path):
    """Mixed arities [2, 3 | 2, 2]: dead nodes removed, each kept node with its own subnode columns."""
    model = _trained_like(nk.KAN([2, [3, 2], [1, 2], 1], mult_arity=[[], [2, 3], [2, 2], []],
                                 grid=4, seed=0))
    model.remove_node(1, 1)                                       # a sum node of entry 1
    model.remove_node(1, 3)                                       # mult node 0 (arity 2) of entry 1
    model.remove_node(2, 0)                                       # the sum node of entry 2
    assert model.layers[0].mask[:, 3:5].sum() == 0                # its two subnodes' edges: masked
    x = _x(200, seed=3)
    a = model.attribute(x)
    assert a.node_scores[1][[1, 3]].tolist() == [0, 0] and a.node_scores[2][0] == 0
    pruned = model.prune(x=x, edge_th=0.0)
    assert pruned.width == [2, [2, 1], [0, 2], 1] and pruned.mult_arity == [[], [3], [2, 2], []]
    assert [k.tolist() for k in pruned.kept_nodes] == [[0, 1], [0, 2, 4], [1, 2], [0]]
    assert pruned.kept_subnodes[1].tolist() == [0, 2, 5, 6, 7]       # sums 0, 2; mult 1's block 5..7
    assert pruned.kept_subnodes[2].tolist() == [1, 2, 3, 4]
    assert pruned.width_in == [2, 3, 2, 1] and pruned.width_out == [2, 5, 4, 1]
    assert pruned.config["width"] == pruned.width and pruned.config["mult_arity"] == pruned.mult_arity
    _assert_kept_edges_compute_the_same(model, pruned)
    np.testing.assert_allclose(pruned(x), model(x), rtol=1e-13, atol=1e-14)   # removed nodes were silent
    back = nk.KAN.load(pruned.save(tmp_path / "mixed.npz"))
    assert back.width == pruned.width and back.mult_arity == pruned.mult_arity
    assert np.array_equal(back(x), pruned(x))
    fine = pruned.refine(6, x)
    assert fine.width == pruned.width and fine.width_out == pruned.width_out


def test_prune_node_prune_edge_and_an_entry_left_without_mult_nodes(tmp_path):
    """A mult node scoring 0 goes: [1, 1] becomes the int 1; with none left the model is a plain KAN."""
    model = _trained_like(nk.KAN([2, [2, 1], 1], mult_arity=3, grid=4, seed=1))
    model.remove_node(1, 2, mode="up")                             # the product feeds nothing
    x = _x(150, seed=4)
    smaller = model.prune_node(x=x)
    assert smaller.width == [2, 2, 1] and smaller.nodes is None and smaller.width_in == [2, 2, 1]
    assert "mult_arity" not in smaller.config and "mult_arity" not in repr(smaller)
    _assert_kept_edges_compute_the_same(model, smaller)
    np.testing.assert_allclose(smaller(x), model(x), rtol=1e-13, atol=1e-14)
    back = nk.KAN.load(smaller.save(tmp_path / "p.npz"))
    assert back.width == [2, 2, 1] and np.array_equal(back(x), smaller(x))
    newly = smaller.prune_edge(threshold=0.05)                     # in place, on its last pass
    assert [n.shape for n in newly] == [(2, 2), (2, 1)]
    # one mult node kept, one sum node dropped: the pair stays a pair, an arity the same int
    keep = nk.KAN([2, [2, 2], 1], mult_arity=2, grid=4, seed=2)
    keep = _trained_like(keep, seed=5)
    keep.remove_node(1, 0)
    keep.remove_node(1, 3)
    pruned = keep.prune(x=x, edge_th=0.0)
    assert pruned.width == [2, [1, 1], 1] and pruned.mult_arity == 2
    _assert_kept_edges_compute_the_same(keep, pruned)
    np.testing.assert_allclose(pruned(x), keep(x), rtol=1e-13, atol=1e-14)
    back = nk.KAN.load(pruned.save(tmp_path / "q.npz"))
    assert back.width == pruned.width and np.array_equal(back(x), pruned(x))


def test_prune_by_forward_scores_through_mult_nodes():
    model = _trained_like(nk.KAN([2, [2, 1], 1], grid=4, seed=3))
    model.remove_node(1, 2)
    x = _x(100, seed=2)
    pruned = model.prune(x=x, by="forward", edge_th=0.0)
    assert pruned.width == [2, 2, 1]
    _assert_kept_edges_compute_the_same(model, pruned)


def test_prune_input_and_remove_node_on_a_mult_model():
    model = _trained_like(nk.KAN([3, [1, 2], 1], mult_arity=2, grid=4, seed=4))
    model.remove_node(0, 1)                                        # input 1 feeds nothing
    x = _x(120, seed=1, I=3)
    small = model.prune_input(x=x)
    assert small.width == [2, [1, 2], 1] and small.kept_inputs.tolist() == [0, 2]
    assert small.mult_arity == 2 and small.width_out == [2, 5, 1]
    np.testing.assert_allclose(small(x[:, [0, 2]]), model(x), rtol=1e-13, atol=1e-14)
    # remove_node counts nodes (sums, then products); "down" masks a product's whole block
    model.remove_node(1, 2, mode="down")                           # mult node 1: subnodes 3, 4
    assert model.layers[0].mask[:, 3:5].sum() == 0 and model.layers[0].mask[:, :3].sum() > 0
    assert model.layers[1].mask[2].sum() == 1                      # its outgoing edge kept
    model.remove_node(1, 1, mode="up")
    assert model.layers[1].mask[1].sum() == 0 and model.layers[0].mask[:, 1:3].sum() > 0
    with pytest.raises(ValueError, match=r"i \(node\) must be in \[0, 3\)"):
        model.remove_node(1, 3)                                    # 3 nodes, 5 subnodes


def test_plot_draws_mult_nodes_as_squares(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    model = nk.KAN([2, [1, 2], 1], mult_arity=[[], [2, 3], []], seed=0)
    fig = model.plot(str(tmp_path / "net.png"))
    main = fig.axes[0]
    markers = [c.get_paths()[0].vertices.shape[0] for c in main.collections]
    assert len(fig.axes) == 1 + 2 * 6 + 3 * 1                     # one inset per edge
    assert len(main.collections) >= 5 and len(set(markers)) >= 2  # circles and squares
    assert (tmp_path / "net.png").stat().st_size > 0


def test_formula_of_a_product():
    model = nk.KAN([2, [0, 1], 1], base_fun="identity", seed=0)
    model.fix_symbolic(0, 0, 0, "x", fit_params=False)
    model.layers[0].symbolic.set_edge(0, 0, "x", [2.0, 0.0, 1.5, 0.0])   # 3 x_1
    model.fix_symbolic(0, 1, 1, "x", fit_params=False)                  # x_2
    model.fix_symbolic(0, 0, 1, "0", fit_params=False)
    model.fix_symbolic(0, 1, 0, "0", fit_params=False)
    model.fix_symbolic(1, 0, 0, "x", fit_params=False)
    model.layers[1].symbolic.set_edge(0, 0, "x", [1.0, 0.0, 0.5, 0.25])
    assert model.symbolic_formula() == ["1.5*x_1*x_2 + 0.25"]
    x = _x()
    assert np.allclose(model(x)[:, 0], 1.5 * x[:, 0] * x[:, 1] + 0.25, rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------------
# pykan's Interp_1 (f = x y): multiplication nodes recover x_1 x_2
# ---------------------------------------------------------------------------

def _rmse(model, data):
    return float(np.sqrt(np.mean((model(data["test_input"]) - data["test_label"]) ** 2)))


@pytest.fixture(scope="module")
def xy_data():
    return nk.create_dataset(lambda x: x[:, :1] * x[:, 1:2], n_var=2, seed=0)   # [-1, 1]^2


def test_interp1_single_mult_node_reads_as_x1_times_x2(xy_data):
    """pykan's pruned Interp_1 model [2, [0, 1], 1]: LBFGS, auto_symbolic, LBFGS, the formula."""
    sympy = pytest.importorskip("sympy")
    model = nk.KAN([2, [0, 1], 1], base_fun="identity", seed=0)
    model.fit(xy_data, opt="LBFGS", steps=20, verbose=False)
    assert _rmse(model, xy_data) < 3e-2
    model.auto_symbolic(lib=["x", "x^2", "x^3", "exp", "sin", "tanh"])   # pykan's picks: x, 0, 0, x, x
    model.fit(xy_data, opt="LBFGS", steps=20, verbose=False)
    assert _rmse(model, xy_data) < 1e-6                           # measured 1.2e-8
    formula = model.symbolic_formula(precision=12)[0]
    x1, x2 = sympy.symbols("x_1 x_2")
    expr = sympy.expand(sympy.sympify(formula.replace("^", "**")))
    assert abs(float(expr.coeff(x1).coeff(x2)) - 1.0) < 1e-6     # x_1 x_2 with coefficient 1
    rest = sympy.lambdify((x1, x2), expr - expr.coeff(x1).coeff(x2) * x1 * x2, "numpy")
    X = xy_data["test_input"]
    assert np.abs(rest(X[:, 0], X[:, 1])).max() < 1e-6           # everything else vanishes
    f = sympy.lambdify((x1, x2), expr, "numpy")
    assert np.abs(f(X[:, 0], X[:, 1]) - X[:, 0] * X[:, 1]).max() < 1e-6
    assert re.search(r"\)\*\(", formula) and "x_1" in formula and "x_2" in formula   # a product


# seeds 0-9 and 42 measured: see the docstring below; seed 0 in the default run, two more
# under -m slow (about 13 s of CPU each)
INTERP1_SEEDS = [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(5, marks=pytest.mark.slow)]


@pytest.mark.parametrize("seed", INTERP1_SEEDS)
def test_interp1_pykans_flow_with_prune(xy_data, seed):
    """pykan's Interp_1 as pykan runs it: [2, [5, 2], 1], identity base, G = 3, k = 3;
    ``fit(LBFGS, 20 steps, lamb=0.01, lamb_coef=1)`` with pykan's metric; ``prune()``;
    20 steps; ``auto_symbolic()`` (the whole library); 20 steps; ``symbolic_formula()``.

    pykan's published run: prune to [2, [0, 1], 1], test RMSE 1.28e-16, formula x_1 x_2.
    numpykan, seeds 0-9 and 42: 10 of 11 end with a formula equal to x y to < 1e-9 on the
    test set (final test RMSE 1.7e-14 to 3.7e-10): seeds 0, 1, 4, 5, 8, 9, 42 prune to
    [2, [0, 1], 1] and read c (a x_1 + b)(d x_2 + e) + f, seeds 2, 3, 7 to [2, [0, 2], 1],
    two such products whose sum expands to x_1 x_2; seed 6's first fit found no product
    (test RMSE 0.17) and prune() kept one sum node. The test runs three of the first kind.
    """
    sympy = pytest.importorskip("sympy")
    model = nk.KAN([2, [5, 2], 1], base_fun="identity", grid=3, k=3, seed=seed)
    model.fit(xy_data, opt="LBFGS", steps=20, lamb=0.01, lamb_coef=1.0,
              reg_metric="edge_forward_spline_n", verbose=False)
    assert _rmse(model, xy_data) < 1e-1                           # pykan's tutorial: 7.16e-2
    model = model.prune()
    assert model.width == [2, [0, 1], 1], model.width             # pykan's pruned model
    model.fit(xy_data, opt="LBFGS", steps=20, verbose=False)
    assert _rmse(model, xy_data) < 1e-4                           # pykan: 1.66e-7
    fits = model.auto_symbolic()
    assert sorted(f["name"] for f in fits if f["fixed"]) == ["x", "x", "x"]
    model.fit(xy_data, opt="LBFGS", steps=20, verbose=False)
    assert _rmse(model, xy_data) < 1e-8                           # measured 2e-14 to 4e-10; pykan 1.3e-16
    formula = model.symbolic_formula(precision=12)[0]
    assert re.fullmatch(r"-?[0-9.]+\*\(-?[0-9.]+\*x_[12] [+-] [0-9.e-]+\)\*"
                        r"\(-?[0-9.]+\*x_[12] [+-] [0-9.e-]+\) [+-] [0-9.e-]+", formula), formula
    x1, x2 = sympy.symbols("x_1 x_2")
    expr = sympy.expand(sympy.sympify(formula.replace("^", "**")))
    assert abs(float(expr.coeff(x1).coeff(x2)) - 1.0) < 1e-6     # x_1 x_2 with coefficient 1
    X = xy_data["test_input"]
    f = sympy.lambdify((x1, x2), expr, "numpy")
    assert np.abs(f(X[:, 0], X[:, 1]) - X[:, 0] * X[:, 1]).max() < 1e-6


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("width", [{2, 5, 1}, {0: 2, 1: 1}, "251", 5])
def test_width_not_a_list_is_a_type_error(width):
    with pytest.raises(TypeError, match="a list is needed"):
        nk.KAN(width)


@pytest.mark.parametrize("width, words", [
    ([2, 0, 1], r"width\[1\] = 0"), ([2, [5, 2, 1], 1], r"\[sum, mult\] pairs"),
    ([2, [-1, 2], 1], r"width\[1\]"), ([2, [0, 0], 1], r"width\[1\]"), ([2, 2.5, 1], "positive ints"),
    ([[2, 1], 3, 1], "inputs cannot be multiplication nodes"),
    ([2, 3, [0, 1]], "outputs cannot be multiplication nodes"), ([2], "at least an input")])
def test_bad_width_says_what_is_supported(width, words):
    with pytest.raises(ValueError, match=words):
        nk.KAN(width)


@pytest.mark.parametrize("arity, words", [
    (1, "mult_arity must be an int >= 2"), (True, "mult_arity must be an int >= 2"),
    ([2, 2], "one entry per width entry"), ([[], [2], []], r"mult_arity\[1\] = \[2\] gives 1"),
    ([[], [2, 1], []], r"mult_arity\[1\]\[1\] must be an int >= 2")])
def test_mult_arity_inconsistent_with_the_width(arity, words):
    with pytest.raises(ValueError, match=words):
        nk.KAN([2, [1, 2], 1], mult_arity=arity)


def test_mult_arity_of_a_wrong_type():
    with pytest.raises(TypeError, match="mult_arity must be an int or a list"):
        nk.KAN([2, [1, 2], 1], mult_arity="2")
    with pytest.raises(TypeError, match=r"mult_arity\[1\] must be an int or a list"):
        nk.KAN([2, [1, 2], 1], mult_arity=[[], {2}, []])


def test_parse_width_normalizes_tuples_and_numpy_ints():
    width, arities, arity = parse_width((np.int64(2), (3, np.int64(1)), 1), np.int64(2))
    assert width == [2, [3, 1], 1] and arities == [[], [2], []] and arity == 2
    assert type(width[0]) is int and type(arity) is int


def test_sympy_formula_multiplies_through_the_nodes():
    sympy = pytest.importorskip("sympy")
    model = nk.KAN([2, [0, 1], 1], grid=3, k=3, seed=0)
    for l, i, j in [(0, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 0)]:
        model.fix_symbolic(l, i, j, "x", fit_params=False)
    for layer in model.layers:
        layer.mask[:] = 0                                     # formulas only
    (expr,) = model.symbolic_formula(sympy=True)
    x1, x2 = sympy.symbols("x_1 x_2")
    assert sympy.expand(expr - (x1 + x2) ** 2) == 0, expr
    x = np.random.default_rng(0).uniform(-1, 1, (7, 2))
    f = sympy.lambdify((x1, x2), expr)
    np.testing.assert_allclose(f(x[:, 0], x[:, 1]), model(x)[:, 0], rtol=0, atol=1e-14)
