"""Tests of numpykan.optim against update rules written out by hand, in scalar Python."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from numpykan.optim import SGD, Adam, AdamW, Optimizer, get_optimizer

N_STEPS = 3


def _setup(seed=0, dtype=np.float64):
    """Two 'layers' in the (params, grads) protocol and a gradient sequence."""
    rng = np.random.default_rng(seed)
    params = [{"coef": rng.normal(size=(2, 3)).astype(dtype),
               "w_b": rng.normal(size=3).astype(dtype)},
              {"coef": rng.normal(size=(3, 1)).astype(dtype)}]
    grads = [{}, {}]
    gseq = [[{k: rng.normal(size=v.shape).astype(dtype) for k, v in p.items()} for p in params]
            for _ in range(N_STEPS)]
    return params, grads, gseq


def _run(opt, grads, gseq):
    for step_grads in gseq:
        for g, new in zip(grads, step_grads):
            for k, v in new.items():
                g[k] = v.copy()        # backward assigns new arrays
        opt.step()


# ---- the textbook rules, one scalar at a time, independent of the implementation ----

def _sgd_ref(p0, gs, lr, mu):
    out = []
    for i, p in enumerate(p0):
        v = 0.0
        for g in gs:
            v = mu * v + g[i]
            p = p - lr * v
        out.append(p)
    return out


def _adam_ref(p0, gs, lr, b1, b2, eps, l2=0.0, decoupled=0.0):
    out = []
    for i, p in enumerate(p0):
        m = v = 0.0
        for t, gt in enumerate(gs, start=1):
            g = gt[i]
            p = p - lr * decoupled * p     # AdamW: decay first
            g = g + l2 * p                 # Adam: L2 through the gradient
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1 ** t)
            vhat = v / (1 - b2 ** t)
            p = p - lr * mhat / (math.sqrt(vhat) + eps)
        out.append(p)
    return out


def _expected(params, gseq, ref, **kw):
    """Apply ``ref`` to every array of every group, flattening to scalars."""
    exp = []
    for li, p in enumerate(params):
        exp.append({})
        for k, arr in p.items():
            gs = [step[li][k].ravel().tolist() for step in gseq]
            exp[li][k] = np.array(ref(arr.ravel().tolist(), gs, **kw)).reshape(arr.shape)
    return exp


@pytest.mark.parametrize("make, ref, kw", [
    (lambda pg: SGD(pg, lr=0.1), _sgd_ref, dict(lr=0.1, mu=0.0)),
    (lambda pg: SGD(pg, lr=0.05, momentum=0.9), _sgd_ref, dict(lr=0.05, mu=0.9)),
    (lambda pg: Adam(pg, lr=0.01), _adam_ref, dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8)),
    (lambda pg: Adam(pg, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), _adam_ref,
     dict(lr=0.02, b1=0.8, b2=0.99, eps=1e-6, l2=0.1)),
    (lambda pg: AdamW(pg, lr=0.01), _adam_ref,
     dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, decoupled=1e-2)),
    (lambda pg: AdamW(pg, lr=0.03, betas=(0.5, 0.9), weight_decay=0.5), _adam_ref,
     dict(lr=0.03, b1=0.5, b2=0.9, eps=1e-8, decoupled=0.5)),
], ids=["sgd", "sgd-momentum", "adam", "adam-l2", "adamw", "adamw-strong"])
def test_update_matches_textbook_rule(make, ref, kw):
    params, grads, gseq = _setup()
    expected = _expected(params, gseq, ref, **kw)
    arrays = [dict(p) for p in params]                 # the original array objects
    opt = make(list(zip(params, grads)))
    _run(opt, grads, gseq)
    for li, p in enumerate(params):
        for k in p:
            assert p[k] is arrays[li][k]               # updated in place
            np.testing.assert_allclose(p[k], expected[li][k], rtol=0, atol=1e-12)


def test_adamw_differs_from_adam_l2():
    """Decoupled decay is not L2: same lr and coefficient, different trajectories."""
    pa, ga, gseq = _setup()
    pw, gw, _ = _setup()
    _run(Adam(list(zip(pa, ga)), lr=0.01, weight_decay=0.5), ga, gseq)
    _run(AdamW(list(zip(pw, gw)), lr=0.01, weight_decay=0.5), gw, gseq)
    assert np.max(np.abs(pa[0]["coef"] - pw[0]["coef"])) > 1e-4


@settings(deadline=None, max_examples=25)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), lr=st.floats(1e-4, 1.0),
       seed=st.integers(0, 2**16))
def test_adam_first_step_moves_each_coordinate_by_about_lr(shape, lr, seed):
    """At t = 1, m_hat = g and v_hat = g^2, so p moves by lr g / (|g| + eps)."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=shape)
    g = rng.normal(size=shape)
    p0 = p.copy()
    opt = Adam([({"w": p}, {"w": g})], lr=lr)
    opt.step()
    np.testing.assert_allclose(p0 - p, lr * g / (np.abs(g) + 1e-8), rtol=1e-12, atol=1e-15)


def test_missing_or_none_grad_is_skipped():
    p = {"a": np.ones(3), "b": np.ones(2), "c": np.ones(1)}
    g = {"a": np.ones(3), "b": None}
    Adam([(p, g)], lr=0.1).step()
    # first Adam step: p - lr g / (|g| + eps)
    np.testing.assert_allclose(p["a"], 1 - 0.1 / (1 + 1e-8), rtol=1e-15)
    np.testing.assert_array_equal(p["b"], 1.0)
    np.testing.assert_array_equal(p["c"], 1.0)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_float32_stays_float32(cls):
    params, grads, gseq = _setup(dtype=np.float32)
    kw = {"momentum": 0.9} if cls is SGD else {}
    opt = cls(list(zip(params, grads)), lr=0.01, **kw)
    # a float64 gradient must not upcast the float32 parameter
    gseq[0][0]["coef"] = gseq[0][0]["coef"].astype(np.float64)
    _run(opt, grads, gseq)
    for p in params:
        for arr in p.values():
            assert arr.dtype == np.float32
    for st_ in opt.state.values():
        for name, val in st_.items():
            if name != "t":
                assert val.dtype == np.float32
    # and the float32 run tracks the float64 run to float32 precision
    p64, g64, s64 = _setup()
    _run(cls(list(zip(p64, g64)), lr=0.01, **kw), g64, s64)
    np.testing.assert_allclose(params[0]["coef"], p64[0]["coef"], rtol=1e-5, atol=1e-6)


def test_shape_change_resets_state():
    rng = np.random.default_rng(5)
    p = {"coef": rng.normal(size=(2, 3)), "w_b": rng.normal(size=2)}
    g = {}
    opt = Adam([(p, g)], lr=0.01)
    for _ in range(2):
        g["coef"], g["w_b"] = rng.normal(size=(2, 3)), rng.normal(size=2)
        opt.step()
    assert opt.state[(0, "coef")]["t"] == 2
    # a grid refinement swaps in a differently shaped coef
    p["coef"] = rng.normal(size=(2, 5))
    g["coef"], g["w_b"] = rng.normal(size=(2, 5)), rng.normal(size=2)
    before = p["coef"].copy()
    opt.step()
    st_ = opt.state[(0, "coef")]
    assert st_["t"] == 1 and st_["m"].shape == (2, 5)
    assert opt.state[(0, "w_b")]["t"] == 3                  # the other key carries on
    # fresh state: the step equals a first Adam step, lr g / (|g| + eps)
    np.testing.assert_allclose(before - p["coef"],
                               0.01 * g["coef"] / (np.abs(g["coef"]) + 1e-8), rtol=1e-12)



def _assert_same(params_a, params_b, dtype):
    for a, b in zip(params_a, params_b):
        for k in a:
            assert a[k].dtype == dtype
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("cls, kw", [(Adam, {}), (Adam, {"weight_decay": 0.1}), (AdamW, {})],
                         ids=["adam", "adam-l2", "adamw"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flat_step_is_bit_identical_to_one_parameter_at_a_time(cls, kw, dtype):
    """The step on all parameters laid end to end equals the per-parameter loop exactly,
    and so do the steps after a shape change (one state reset: mixed step counts,
    which fall back to the loop) and after a state_dict round trip."""
    rng = np.random.default_rng(7)
    runs = []
    for fuse in (True, False):
        params, grads, gseq = _setup(seed=3, dtype=dtype)
        opt = cls(list(zip(params, grads)), lr=0.01, **kw)
        opt.fuse = fuse
        _run(opt, grads, gseq)
        runs.append((params, grads, opt))
    (pf, gf, of), (pl, gl, ol) = runs
    assert of._flat is not None and not hasattr(ol, "_flat")      # the two paths were taken
    _assert_same(pf, pl, dtype)
    for params, grads, opt in runs:                  # a refinement swaps in a wider coef
        params[0]["coef"] = np.ones((2, 5), dtype=dtype)
    more = [[{k: rng.normal(size=v.shape).astype(dtype) for k, v in p.items()} for p in pf]
            for _ in range(2)]
    for params, grads, opt in runs:
        _run(opt, grads, more)
    assert of.state[(0, "coef")]["t"] == 2 and of.state[(0, "w_b")]["t"] == 5
    sd = of.state_dict()
    of2 = cls(list(zip(pf, gf)), lr=0.01, **kw)
    of2.load_state_dict(sd)
    for params, grads, opt in ((pf, gf, of2), (pl, gl, ol)):
        _run(opt, grads, more)
    assert getattr(of2, "_flat", None) is None       # mixed step counts: one parameter at a time
    _assert_same(pf, pl, dtype)


def test_large_parameters_are_stepped_one_by_one():
    """Arrays of 2^14 numbers or more on average skip the flat copy; smaller ones use it."""
    rng = np.random.default_rng(0)
    big = {"w": rng.normal(size=(2, 1 << 14)), "b": rng.normal(size=3)}
    small = {"w": rng.normal(size=(2, 100)), "b": rng.normal(size=3)}
    for params, fused in ((big, False), (small, True)):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        opt = Adam([(params, grads)], lr=0.01)
        opt.step()
        assert (getattr(opt, "_flat", None) is not None) == fused


def test_flat_step_keeps_moments_in_the_state():
    """The moments the flat step updates are the ones state_dict reports."""
    params, grads, gseq = _setup()
    opt = Adam(list(zip(params, grads)), lr=0.01)
    _run(opt, grads, gseq)
    assert opt._flat is not None
    # m = (1 - b1) sum_t b1^(T - t) g_t with b1 = 0.9
    m = sum(0.1 * 0.9 ** (N_STEPS - 1 - t) * gseq[t][0]["w_b"] for t in range(N_STEPS))
    np.testing.assert_allclose(opt.state_dict()["state.0.w_b.m"], m, rtol=1e-12)

@pytest.mark.parametrize("make", [lambda pg: SGD(pg, lr=0.1, momentum=0.5),
                                  lambda pg: Adam(pg, lr=0.01, weight_decay=0.1),
                                  lambda pg: AdamW(pg, lr=0.01)], ids=["sgd", "adam", "adamw"])
def test_state_dict_round_trip_continues_identically(make, tmp_path):
    params, grads, gseq = _setup()
    opt = make(list(zip(params, grads)))
    _run(opt, grads, gseq)
    # store through npz without pickle, load into a new optimizer on copied params
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        loaded = dict(f)
    params2 = [{k: v.copy() for k, v in p.items()} for p in params]
    grads2 = [{}, {}]
    opt2 = make(list(zip(params2, grads2)))
    opt2.load_state_dict(loaded)
    _, _, more = _setup(seed=1)
    _run(opt, grads, more)
    _run(opt2, grads2, more)
    for p, p2 in zip(params, params2):
        for k in p:
            np.testing.assert_array_equal(p[k], p2[k])


def test_state_dict_is_a_copy_and_load_checks_the_class():
    params, grads, gseq = _setup()
    opt = Adam(list(zip(params, grads)), lr=0.01)
    _run(opt, grads, gseq)
    sd = opt.state_dict()
    assert sd["name"] == "Adam" and sd["lr"] == 0.01 and sd["state.0.coef.t"] == N_STEPS
    sd["state.0.coef.m"][...] = 0.0
    assert np.any(opt.state[(0, "coef")]["m"] != 0.0)
    with pytest.raises(ValueError, match="'Adam'.*SGD"):
        SGD(list(zip(params, grads))).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="group 1"):
        Adam([(params[0], grads[0])]).load_state_dict(opt.state_dict())


def test_zero_grad_sets_new_zero_arrays():
    params, grads, gseq = _setup(dtype=np.float32)
    opt = SGD(list(zip(params, grads)))
    _run(opt, grads, gseq)
    old = grads[0]["coef"]
    opt.zero_grad()
    for p, g in zip(params, grads):
        assert set(g) == set(p)
        for k in p:
            assert g[k].shape == p[k].shape and g[k].dtype == np.float32
            assert not np.any(g[k])
    assert old is not grads[0]["coef"] and np.any(old)


def test_grad_shape_mismatch_raises_before_any_update():
    p = {"a": np.ones(3), "b": np.ones(2)}
    g = {"a": np.ones(3), "b": np.ones(3)}
    with pytest.raises(ValueError, match=r"grads\['b'\].*\(2,\).*\(3,\)"):
        SGD([(p, g)], lr=0.1).step()
    np.testing.assert_array_equal(p["a"], 1.0)


@pytest.mark.parametrize("cls, kw, exc, match", [
    (SGD, dict(lr=0.0), ValueError, "lr"),
    (Adam, dict(lr=-1e-3), ValueError, "lr"),
    (Adam, dict(lr=float("nan")), ValueError, "lr"),
    (Adam, dict(lr="0.1"), TypeError, "lr"),
    (Adam, dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (AdamW, dict(betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (Adam, dict(betas=0.9), TypeError, "betas"),
    (Adam, dict(eps=0.0), ValueError, "eps"),
    (Adam, dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (AdamW, dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (SGD, dict(momentum=-0.5), ValueError, "momentum"),
])
def test_hyperparameter_validation(cls, kw, exc, match):
    params, grads, _ = _setup()
    with pytest.raises(exc, match=match):
        cls(list(zip(params, grads)), **kw)


@pytest.mark.parametrize("bad", [
    {"coef": np.ones(2)},                                # a dict, not a list of pairs
    [np.ones(2), np.ones(2)],                            # arrays, not pairs
    [({"coef": np.ones(2)},)],                           # a 1-tuple
    [({"coef": np.ones(2)}, [np.ones(2)])],              # grads not a dict
    None,
])
def test_parameters_protocol_validation(bad):
    with pytest.raises(TypeError, match=r"\(params, grads\) pairs"):
        Adam(bad)


def test_integer_parameter_is_refused():
    with pytest.raises(TypeError, match=r"params\['n'\].*floating"):
        SGD([({"n": np.arange(3)}, {})])


def test_get_optimizer():
    params, grads, _ = _setup()
    pg = list(zip(params, grads))
    assert type(get_optimizer("sgd", pg)) is SGD
    opt = get_optimizer("ADAM", pg, lr=0.5, betas=(0.5, 0.6))
    assert type(opt) is Adam and opt.lr == 0.5 and opt.betas == (0.5, 0.6)
    assert type(get_optimizer("AdamW", pg)) is AdamW
    assert isinstance(get_optimizer("adamw", pg), Optimizer)
    assert type(get_optimizer("lbfgs", pg)).__name__ == "LBFGS"
    with pytest.raises(ValueError, match="'SGD', 'Adam', 'AdamW'"):
        get_optimizer("rmsprop", pg)
