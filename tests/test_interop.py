"""numpykan.interop: models to and from pykan bit for bit, and pykan's autograd against our gradients.

Needs the ``numpykan[pykan]`` extra (torch==2.13.0, pykan 0.2.8 with its import
requirements, see the README); without it every test here but the last skips.
"""

import os
import random
import sys

import numpy as np
import pytest

import numpykan as nk
from numpykan import interop
from numpykan.models import layer as layer_module

REASON = ("the interop tests need torch==2.13.0 and pykan 0.2.8: "
          'pip install -e ".[pykan]" && pip install --no-deps pykan==0.2.8')


@pytest.fixture(scope="module")
def tk():
    torch = pytest.importorskip("torch", reason=REASON)
    kan = pytest.importorskip("kan", reason=REASON)
    torch.set_num_threads(1)         # tiny tensors: one thread is faster on a shared machine
    return torch, kan


def _probe_points(model, rng, n=40):
    """Points inside the grid, on every knot of layer 0 (the extended ones too), and outside it."""
    I = model.width[0]
    knots = model.layers[0].grid                               # (I, G + 2k + 1)
    on = knots.T                                               # (G + 2k + 1, I): knot m on every input
    inside = rng.uniform(-1, 1, (n, I))
    outside = rng.uniform(-4, 4, (n, I))
    return np.concatenate([inside, on, outside])


def _gap(a, b):
    """``max |a - b| / max(1, |a|)``: absolute below 1, relative above (outputs reach 1e3 here)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a))))


def _assert_same_model(a, b):
    """Every array of two numpykan KANs bit-identical, with the same dtype."""
    assert a.width == b.width and a.dtype == b.dtype
    for la, lb in zip(a.layers, b.layers):
        assert la.k == lb.k and la.base_fun == lb.base_fun and la.frozen == lb.frozen
        for name, u, v in [("grid", la.grid, lb.grid), ("mask", la.mask, lb.mask)] + \
                [(key, la.params[key], lb.params[key]) for key in la.params]:
            assert u.dtype == v.dtype and np.array_equal(u, v), name
        if la.symbolic is None:
            assert lb.symbolic is None
            continue
        assert la.symbolic.names == lb.symbolic.names
        assert np.array_equal(la.symbolic.ij, lb.symbolic.ij)
        assert np.array_equal(la.symbolic.params["abcd"], lb.symbolic.params["abcd"])


CASES = [([2, 5, 1], 5, 3), ([3, 4, 2], 3, 1), ([2, 3, 3, 1], 7, 2), ([1, 2], 2, 5)]


@pytest.mark.parametrize("width, G, k", CASES, ids=[f"{w}-G{G}-k{k}" for w, G, k in CASES])
def test_round_trip_is_bit_exact_and_forward_agrees(tk, width, G, k):
    torch, kan = tk
    rng = np.random.default_rng(len(width) * 10 + G)
    model = nk.KAN(width, grid=G, k=k, seed=3)
    for layer in model.layers:                                 # prune an edge per layer, train-like coefs
        layer.mask[0, -1] = 0
        layer.params["coef"] += rng.normal(0, 0.3, layer.coef.shape)
    model.update_grid(rng.uniform(-1, 1, (64, width[0])))      # non-uniform knots on layer 0
    pk = interop.to_pykan(model)
    back = interop.from_pykan(pk)
    _assert_same_model(model, back)
    x = _probe_points(model, rng)
    out_pk = pk(torch.tensor(x)).detach().numpy()
    assert _gap(model(x), out_pk) <= 1e-12
    assert _gap(back(x), out_pk) <= 1e-12


MULT_CASES = [([2, [5, 2], 1], 2), ([2, [0, 1], 1], 3), ([2, [2, 3], [1, 2], 1], [[], [2, 3, 4], [3, 2], []])]


@pytest.mark.parametrize("width, arity", MULT_CASES, ids=[str(w) for w, _ in MULT_CASES])
def test_multiplication_nodes_round_trip_and_forward_agrees(tk, width, arity):
    """Mult nodes (pykan's subnode order, any arity): arrays bit for bit, outputs to 1e-12."""
    torch, kan = tk
    rng = np.random.default_rng(7)
    model = nk.KAN(width, grid=4, k=3, seed=2, mult_arity=arity)
    for layer in model.layers:
        layer.mask[0, -1] = 0
        layer.params["coef"] += rng.normal(0, 0.3, layer.coef.shape)
    model.update_grid(rng.uniform(-1, 1, (64, 2)))
    pk = interop.to_pykan(model)
    assert pk.width_in == model.width_in and pk.width_out == model.width_out
    back = interop.from_pykan(pk)
    _assert_same_model(model, back)
    assert back.mult_arity == model.mult_arity
    x = _probe_points(model, rng)
    out_pk = pk(torch.tensor(x)).detach().numpy()
    assert _gap(model(x), out_pk) <= 1e-12
    assert _gap(back(x), out_pk) <= 1e-12


@pytest.mark.parametrize("width, arity", MULT_CASES, ids=[str(w) for w, _ in MULT_CASES])
def test_compare_gradients_through_multiplication_nodes(tk, width, arity):
    torch, kan = tk
    rng = np.random.default_rng(8)
    with _rngs_kept(torch):
        pk = kan.MultKAN(width=[w if isinstance(w, int) else list(w) for w in width], grid=3, k=3,
                         mult_arity=arity, auto_save=False, seed=4).double()
    x = rng.uniform(-1, 1, (24, 2))
    y = rng.normal(size=(24, 1))
    report = interop.compare_gradients(pk, x, y, lamb=0.01)
    assert report.ok, str(report)
    assert {f"layer{l}.coef" for l in range(len(width) - 1)} <= {r.name for r in report.rows}


def test_formula_edges_move_both_ways(tk):
    torch, kan = tk
    rng = np.random.default_rng(1)
    model = nk.KAN([2, 3, 1], grid=4, k=3, seed=0)
    model.fix_symbolic(0, 0, 1, "sin", fit_params=False)
    model.layers[0].symbolic.set_edge(0, 1, "sin", [2.0, 0.5, -1.5, 0.25])
    model.fix_symbolic(0, 1, 2, "x^2", fit_params=False)
    model.fix_symbolic(1, 2, 0, "exp", fit_params=False)
    model.layers[1].mask[2, 0] = 1                             # spline and formula on one edge
    pk = interop.to_pykan(model)
    assert pk.symbolic_fun[0].funs_name[1][0] == "sin"
    assert pk.symbolic_fun[0].affine[1, 0].tolist() == [2.0, 0.5, -1.5, 0.25]
    assert pk.act_fun[0].mask[0, 1].item() == 0 and pk.act_fun[1].mask[2, 0].item() == 1
    _assert_same_model(model, interop.from_pykan(pk))
    x = _probe_points(model, rng)
    assert _gap(model(x), pk(torch.tensor(x)).detach().numpy()) <= 1e-12


def test_pykan_model_comes_back_unchanged(tk):
    """pykan -> numpykan -> pykan: every entry of the state dict bit-identical."""
    torch, kan = tk
    with _rngs_kept(torch):
        pk = kan.MultKAN(width=[2, 4, 1], grid=[3, 6], k=2, seed=0, auto_save=False).double()
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    pk.update_grid(x)                                          # pykan's own grid update
    pk.symbolic_fun[0].fix_symbolic(1, 2, "tanh")
    pk.symbolic_fun[0].affine.data[2, 1] = torch.tensor([1.5, -0.2, 0.7, 0.1])
    pk.set_mode(0, 1, 2, "s")
    again = interop.to_pykan(interop.from_pykan(pk))
    ref, got = pk.state_dict(), again.state_dict()
    assert list(ref) == list(got)
    for key in ref:
        assert ref[key].dtype == got[key].dtype and torch.equal(ref[key], got[key]), key
    xs = torch.tensor(_probe_points(interop.from_pykan(pk), np.random.default_rng(2)))
    assert _gap(pk(xs).detach().numpy(), again(xs).detach().numpy()) <= 1e-12


class _rngs_kept:
    def __init__(self, torch):
        self.torch = torch

    def __enter__(self):
        self.states = random.getstate(), np.random.get_state(), self.torch.random.get_rng_state()

    def __exit__(self, *exc):
        random.setstate(self.states[0])
        np.random.set_state(self.states[1])
        self.torch.random.set_rng_state(self.states[2])


def test_to_pykan_keeps_global_rngs_and_writes_nothing(tk, tmp_path, monkeypatch):
    torch, kan = tk
    monkeypatch.chdir(tmp_path)
    model = nk.KAN([2, 3, 1], grid=3, k=3, seed=0)
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    expected = random.random(), np.random.random(), torch.rand(1).item()
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    pk = interop.to_pykan(model)
    interop.compare_gradients(pk, np.zeros((4, 2)), np.zeros((4, 1)))
    interop.from_pykan(pk)
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected
    assert pk.auto_save is False
    assert os.listdir(tmp_path) == []


def _trained_pykan(torch, kan, width, seed=0):
    with _rngs_kept(torch):
        pk = kan.MultKAN(width=width, grid=5, k=3, seed=seed, auto_save=False).double()
    with torch.no_grad():                                      # as if trained: splines far from 0
        for act in pk.act_fun:
            act.coef.add_(torch.randn(act.coef.shape, dtype=torch.float64,
                                      generator=torch.Generator().manual_seed(seed)) * 0.5)
        pk.act_fun[0].mask[1, 0] = 0.0
    return pk


REG_CASES = [("mse", None), ("ce", None), ("mse", "edge_forward_spline_n"),
             ("ce", "edge_forward_spline_u"), ("mse", "edge_forward_sum")]


@pytest.mark.parametrize("loss, metric", REG_CASES, ids=[f"{l}-{m}" for l, m in REG_CASES])
def test_compare_gradients_agrees_before_and_after_grid_update(tk, loss, metric):
    torch, kan = tk
    rng = np.random.default_rng(3)
    pk = _trained_pykan(torch, kan, [3, 4, 3])
    pk.symbolic_fun[0].fix_symbolic(2, 1, "sin")               # a formula edge beside its spline
    pk.symbolic_fun[0].affine.data[1, 2] = torch.tensor([1.3, 0.2, 0.8, -0.1])
    pk.symbolic_fun[0].mask.data[1, 2] = 1.0
    x = rng.uniform(-1.2, 1.2, (48, 3))                        # some points off the grid
    y = rng.integers(0, 3, 48) if loss == "ce" else rng.normal(size=(48, 3))
    reg = {} if metric is None else dict(lamb=0.01, reg_metric=metric, lamb_coef=0.5,
                                         lamb_coefdiff=0.3)
    before = interop.compare_gradients(pk, x, y, loss=loss, **reg)
    pk.update_grid(torch.tensor(rng.uniform(-1, 1, (100, 3))))    # pykan's own, non-uniform knots
    after = interop.compare_gradients(pk, x, y, loss=loss, **reg)
    for report in (before, after):
        assert report.ok, str(report)
        names = [r.name for r in report.rows]
        assert names == ["output", "loss"] + (["lamb * reg"] if reg else []) + [
            "layer0.coef", "layer0.w_b", "layer0.w_s", "layer0.symbolic.abcd",
            "layer1.coef", "layer1.w_b", "layer1.w_s", "dL/dx"]
        assert max(r.max_rel_err for r in report.rows) <= 1e-10
        assert report.out_numpykan.shape == report.out_pykan.shape == (48, 3)
        if reg:
            assert metric in report.regularizer and report.rows[2].numpykan > 0
    assert not np.array_equal(before.out_pykan, after.out_pykan)   # the update moved the knots


def test_compare_gradients_leaves_pykan_grads_alone(tk):
    torch, kan = tk
    pk = _trained_pykan(torch, kan, [2, 3, 1])
    pk.act_fun[0].coef.grad = torch.full_like(pk.act_fun[0].coef, 7.0)
    report = interop.compare_gradients(pk, np.full((5, 2), 0.3), np.ones((5, 1)))
    assert report.ok
    assert torch.all(pk.act_fun[0].coef.grad == 7.0) and pk.act_fun[1].coef.grad is None


def test_a_planted_wrong_gradient_fails_the_report(tk, monkeypatch):
    torch, kan = tk
    pk = _trained_pykan(torch, kan, [2, 3, 1])
    x = np.random.default_rng(4).uniform(-1, 1, (16, 2))
    y = np.ones((16, 1))
    real = layer_module._param_grads

    def wrong(*args, **kwargs):                                # dL/dw_s off by one part in 1e6
        grads = real(*args, **kwargs)
        grads["w_s"] = grads["w_s"] * (1 + 1e-6)
        return grads

    monkeypatch.setattr(layer_module, "_param_grads", wrong)
    report = interop.compare_gradients(pk, x, y)
    assert not report.ok
    assert [r.name for r in report.rows if not r.ok] == ["layer0.w_s", "layer1.w_s"]
    assert "FAIL: 2 of 9 rows" in str(report)


# -- bad input: what numpykan cannot represent is refused, by name ---------------------------------

def _refusal(torch, kan, what):
    """A pykan model with one feature numpykan lacks, and the words the error must contain."""
    with _rngs_kept(torch):
        if what == "mult nodes":
            return (kan.MultKAN(width=[2, 3, [1, 1]], auto_save=False).double(),
                    "multiplication node.* among the outputs")
        if what == "base function":
            return kan.MultKAN(width=[2, 2], base_fun=torch.nn.GELU(), auto_save=False), "base function"
        m = kan.MultKAN(width=[2, 3, 1], auto_save=False).double()
    if what == "node scale":
        m.node_scale[0].data[1] = 2.0
        return m, "node_scale_0[1]"
    if what == "subnode bias":
        m.subnode_bias[1].data[0] = 0.5
        return m, "subnode_bias_1[0]"
    if what == "formula":                  # numpykan has all of pykan's names: add one to pykan's
        kan.utils.add_symbolic("sinh_pk", torch.sinh)
        try:
            m.fix_symbolic(0, 1, 2, "sinh_pk", fit_params_bool=False, log_history=False)
        finally:
            kan.utils.SYMBOLIC_LIB.pop("sinh_pk", None)
        return m, "'sinh_pk'"
    if what == "input_id":
        m.input_id = torch.tensor([1, 0])
        return m, "input_id"
    if what == "device":
        m.act_fun[0].coef = torch.nn.Parameter(torch.empty(2, 3, 6, device="meta"))
        return m, "device meta"
    if what == "frozen":
        m.act_fun[1].coef.requires_grad_(False)
        return m, "act_fun[1].coef is frozen"
    if what == "grid":
        m.act_fun[0].grid.data[0, 4] = m.act_fun[0].grid.data[0, 3]
        return m, "act_fun[0].grid"
    raise AssertionError(what)


REFUSED = ["mult nodes", "base function", "node scale", "subnode bias", "formula",
           "input_id", "device", "frozen", "grid"]


@pytest.mark.parametrize("what", REFUSED)
def test_from_pykan_refuses_what_numpykan_lacks(tk, what):
    torch, kan = tk
    m, words = _refusal(torch, kan, what)
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        interop.from_pykan(m)


def test_dtypes_and_types_are_checked(tk):
    torch, kan = tk
    with _rngs_kept(torch):
        m32 = kan.MultKAN(width=[2, 2], auto_save=False)
        mixed = kan.MultKAN(width=[2, 2], auto_save=False).double()
    with pytest.raises(TypeError, match="float64.*float32"):
        interop.compare_gradients(m32, np.zeros((3, 2)), np.zeros((3, 2)))
    assert interop.from_pykan(m32).dtype == np.float32          # float32 converts, as float32
    mixed.act_fun[0].coef.data = mixed.act_fun[0].coef.data.float()
    with pytest.raises(TypeError, match="mixes dtypes"):
        interop.from_pykan(mixed)
    with pytest.raises(TypeError, match="kan.MultKAN"):
        interop.from_pykan(nk.KAN([2, 2]))
    with pytest.raises(TypeError, match="numpykan.KAN"):
        interop.to_pykan(nk.MLP([2, 3, 1]))
    with pytest.raises(ValueError, match="k = 0"):
        interop.to_pykan(nk.KAN([2, 2], k=0))
    pk = interop.to_pykan(nk.KAN([2, 2]))
    with pytest.raises(ValueError, match="'paper' metric.*no pykan counterpart"):
        interop.compare_gradients(pk, np.zeros((3, 2)), np.zeros((3, 2)), lamb=0.1,
                                  reg_metric="paper")
    with pytest.raises(ValueError, match="at least 2 samples"):
        interop.compare_gradients(pk, np.zeros((1, 2)), np.zeros((1, 2)), lamb=0.1)


# -- base functions and per-layer grids --------------------------------------------------------

@pytest.mark.parametrize("base", ["tanh", "relu", "silu", "identity", "zero"])
def test_named_base_functions_move_both_ways(tk, base):
    """tanh/relu reach pykan as torch.nn.Tanh()/ReLU() (pykan 0.2.8 has no such names); forward to 1e-12."""
    torch, kan = tk
    rng = np.random.default_rng(11)
    model = nk.KAN([2, [3, 1], 2], grid=4, k=3, base_fun=base, seed=5)
    for layer in model.layers:
        layer.params["coef"] += rng.normal(0, 0.3, layer.coef.shape)
    pk = interop.to_pykan(model)
    want = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "silu": torch.nn.SiLU,
            "identity": torch.nn.Identity}.get(base)
    if want is not None:
        assert all(isinstance(act.base_fun, want) for act in pk.act_fun)
    x = _probe_points(model, rng)
    out_pk = pk(torch.tensor(x)).detach().numpy()
    assert _gap(model(x), out_pk) <= 1e-12
    back = interop.from_pykan(pk)
    _assert_same_model(model, back)
    assert back.layers[0].base_fun == base and _gap(back(x), out_pk) <= 1e-12


def test_callable_base_fun_is_refused_by_name(tk):
    from numpykan.models import activations
    model = nk.KAN([2, 2], base_fun=(activations.tanh, activations.tanh_grad), seed=0)
    with pytest.raises(ValueError, match="base_fun is .*tuple of NumPy callables"):
        interop.to_pykan(model)


def test_per_layer_grid_and_k_move_both_ways(tk):
    """pykan's k=[3, 2] (and grid=[5, 3]) converts: numpykan's KAN holds per-layer lists too."""
    torch, kan = tk
    with _rngs_kept(torch):
        pk = kan.MultKAN(width=[2, [2, 1], 1], grid=[5, 3], k=[3, 2], auto_save=False, seed=3).double()
    model = interop.from_pykan(pk)
    assert [layer.k for layer in model.layers] == [3, 2] and [layer.G for layer in model.layers] == [5, 3]
    assert model.config["k"] == [3, 2] and model.config["grid"] == [5, 3]
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (50, 2))
    assert _gap(model(x), pk(torch.tensor(x)).detach().numpy()) <= 1e-12
    again = interop.to_pykan(model)
    assert again.k == [3, 2] and again.grid == [5, 3]
    _assert_same_model(model, interop.from_pykan(again))


def test_pykan_x_half_power_is_numpykans_x_half_power(tk):
    torch, kan = tk
    with _rngs_kept(torch):
        pk = kan.MultKAN(width=[2, 1], grid=3, k=3, auto_save=False, seed=0).double()
    pk.fix_symbolic(0, 0, 0, "x^0.5", fit_params_bool=False, log_history=False)
    model = interop.from_pykan(pk)
    assert model.layers[0].symbolic.names == ["x^0.5"]
    x = np.random.default_rng(1).uniform(0.05, 1, (30, 2))    # the domain where both are sqrt
    assert _gap(model(x), pk(torch.tensor(x)).detach().numpy()) <= 1e-12
    assert interop.to_pykan(model).symbolic_fun[0].funs_name[0][0] == "x^0.5"


def test_to_pykan_refuses_a_formula_pykan_lacks(tk):
    from numpykan import symbolic
    model = nk.KAN([2, 2], grid=3, k=3, seed=0)
    symbolic.add_symbolic("sinh_test", np.sinh, np.cosh, 3, "sinh({x})")
    try:
        model.fix_symbolic(0, 1, 0, "sinh_test", fit_params=False)
        with pytest.raises(ValueError, match="'sinh_test'.*pykan's library lacks"):
            interop.to_pykan(model)
    finally:
        del symbolic.SYMBOLIC_LIB["sinh_test"]


def test_missing_torch_names_the_extra(monkeypatch):
    """Runs with or without torch installed: the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "torch", None)            # import torch -> ImportError
    with pytest.raises(ImportError, match=r'numpykan\[pykan\].*--no-deps pykan==0.2.8'):
        interop.to_pykan(nk.KAN([2, 2]))


def test_readme_interop_example_prints_its_comment(tk, tmp_path, monkeypatch):
    import contextlib
    import io
    import pathlib
    import re
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Moving models to and from pykan.*?```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)                                # pykan's fit must write nothing
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().split() == ["True"]
    assert os.listdir(tmp_path) == []


def test_update_grid_from_samples_is_pykans_name_for_update_grid():
    x = np.random.default_rng(5).uniform(-1, 1, (40, 2))
    a, b = nk.KAN([2, 3, 1], seed=0), nk.KAN([2, 3, 1], seed=0)
    a.update_grid(x)
    b.update_grid_from_samples(x)
    _assert_same_model(a, b)
    assert not np.array_equal(a.layers[0].grid, nk.KAN([2, 3, 1], seed=0).layers[0].grid)


def test_pykan_checkpoints_come_over_with_pykans_loader(tk, tmp_path):
    """What docs/coming-from-pykan.md says: from_pykan(kan.MultKAN.loadckpt(path)) reads pykan's files."""
    torch, kan = tk
    model = nk.KAN([2, 3, 1], grid=4, k=2, seed=1)
    model.fix_symbolic(0, 1, 2, "sin", fit_params=False)
    interop.to_pykan(model).saveckpt(str(tmp_path / "m"))
    with _rngs_kept(torch):                                    # loadckpt reseeds, as MultKAN() does
        loaded = kan.MultKAN.loadckpt(str(tmp_path / "m"))
    assert interop.from_pykan(loaded).dtype == np.float32      # pykan builds in torch's default dtype
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        with _rngs_kept(torch):
            loaded = kan.MultKAN.loadckpt(str(tmp_path / "m"))
    finally:
        torch.set_default_dtype(default)
    _assert_same_model(model, interop.from_pykan(loaded))


def test_a_planted_wrong_regularizer_gradient_fails_the_report(tk, monkeypatch):
    """The std's backward off by 1e-4: values stay right, every gradient the metric reaches fails."""
    from numpykan.training import regmetrics
    torch, kan = tk
    pk = _trained_pykan(torch, kan, [2, 3, 1])
    x = np.random.default_rng(6).uniform(-1, 1, (16, 2))
    y = np.ones((16, 1))
    real = regmetrics.std_and_backward

    def wrong(a):
        s, back = real(a)
        return s, lambda ds: back(ds) * (1 + 1e-4)

    monkeypatch.setattr(regmetrics, "std_and_backward", wrong)
    report = interop.compare_gradients(pk, x, y, lamb=0.1, reg_metric="edge_forward_spline_n")
    failed = {r.name for r in report.rows if not r.ok}
    assert {"output", "loss", "lamb * reg"}.isdisjoint(failed)
    assert {"layer0.coef", "layer1.coef", "dL/dx"} <= failed


def test_frozen_scales_move_both_ways_and_are_not_compared(tk):
    torch, kan = tk
    model = nk.KAN([2, 3, 1], grid=4, k=3, seed=0, sp_trainable=False)
    model.layers[1].set_trainable(sp_trainable=False, sb_trainable=False)
    pk = interop.to_pykan(model)
    assert [(a.scale_sp.requires_grad, a.scale_base.requires_grad) for a in pk.act_fun] == \
        [(False, True), (False, False)]
    back = interop.from_pykan(pk)
    _assert_same_model(model, back)
    assert back.layers[1].frozen == {"w_s", "w_b"}
    report = interop.compare_gradients(pk, np.full((6, 2), 0.4), np.ones((6, 1)))
    assert report.ok
    assert [r.name for r in report.rows] == ["output", "loss", "layer0.coef", "layer0.w_b",
                                             "layer1.coef", "dL/dx"]
