"""Tests of numpykan.training.transaction and of the snapshots of models and optimizers."""

import os
import signal

import numpy as np
import pytest

import numpykan as nk
from numpykan.training.transaction import FlatCopy, StepSnapshots, atomic


def _trained(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (30, 2))
    data = {"train_input": x, "train_label": np.sin(2 * x[:, :1]) + x[:, 1:] ** 2}
    model = nk.KAN([2, 3, 1], grid=3, k=2, seed=seed)
    model.fix_symbolic(1, 1, 0, "x^2", fit_params=False)
    model.fit(data, steps=3, lamb=0.01, verbose=False)
    return model, data


def _arrays(model):
    out = []
    for layer in model.layers:
        out += [v.copy() for v in layer.params.values()] + [v.copy() for v in layer.grads.values()]
        out += [layer.grid.copy(), layer.mask.copy()]
        if layer.symbolic is not None:
            out += [layer.symbolic.params["abcd"].copy(), np.array(layer.symbolic.names)]
    return out


def _equal(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def test_flat_copy_takes_puts_back_and_checks_finiteness():
    a, b = np.arange(6.0).reshape(2, 3), np.array([1.5, -2.0], dtype=np.float32)
    copy = FlatCopy().take([a, b])
    assert copy.buffer.dtype == np.float64 and copy.finite()   # float32 + float64 -> float64
    a += 10
    b[:] = np.nan
    assert copy.finite()                                       # the copy, not the arrays
    copy.put_back()
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b, np.array([1.5, -2.0], dtype=np.float32))
    buffer = copy.buffer
    copy.take([a * 0 + np.inf, b])
    assert not copy.finite() and copy.buffer is buffer         # same sizes: the buffer is reused


def test_atomic_holds_a_sigint_until_the_block_ends():
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("needs Python's default SIGINT handler")
    done = []
    with pytest.raises(KeyboardInterrupt):
        with atomic():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):                              # the signal is due here...
                pass
            done.append(1)                                     # ...but the block completes
    assert done == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with atomic():                                             # no signal: nothing raised
        done.append(2)
    assert done == [1, 2]


def test_model_snapshot_restores_parameters_grids_symbolic_and_references():
    model, data = _trained()
    before = _arrays(model)
    caches = [layer.cache for layer in model.layers]
    dicts = [(layer.params, layer.grads) for layer in model.layers]
    snap = model.snapshot()
    model.fit(data, steps=2, lamb=0.01, grid_update_num=1, stop_grid_update_step=1, verbose=False)
    model.layers[1].symbolic.set_edge(0, 0, "sin", [1, 0, 1, 0])   # one more formula edge
    assert not _equal(_arrays(model), before)
    model.restore(snap)
    assert _equal(_arrays(model), before)
    assert [layer.cache for layer in model.layers] == caches
    assert all(layer.params is p and layer.grads is g for layer, (p, g) in zip(model.layers, dicts))
    assert model.layers[1].symbolic.names == ["x^2"]


def test_model_snapshot_restores_which_parameters_are_frozen():
    """A frozen key's gradient is None: restore puts the flags and the grads back together."""
    model, data = _trained()
    model.layers[0].set_trainable(sb_trainable=False)
    snap = model.snapshot()
    w_b = model.layers[0].w_b.copy()
    model.layers[0].set_trainable()                            # unfrozen: w_b gets gradients
    model.layers[1].set_trainable(sp_trainable=False)
    model.fit(data, steps=2, lamb=0.01, verbose=False)
    assert not np.array_equal(model.layers[0].w_b, w_b)
    model.restore(snap)
    assert model.layers[0].frozen == {"w_b"} and model.layers[0].grads["w_b"] is None
    assert model.layers[1].frozen == frozenset() and model.layers[1].grads["w_s"] is not None
    np.testing.assert_array_equal(model.layers[0].w_b, w_b)
    model.fit(data, steps=2, lamb=0.01, verbose=False)         # and training keeps w_b still
    np.testing.assert_array_equal(model.layers[0].w_b, w_b)


def test_model_snapshot_reuses_its_buffer_and_refuses_another_model():
    model, _ = _trained()
    first = model.snapshot(grids=False)
    again = model.snapshot(into=first, grids=False)
    assert again is first
    other = nk.KAN([2, 3, 1], seed=1)
    assert other.snapshot(into=first) is not first              # not this model's: a new one
    with pytest.raises(ValueError, match="this model's snapshot"):
        other.restore(first)


def test_mlp_snapshot_restores():
    mlp = nk.MLP([2, 4, 1], seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (10, 2))
    mlp.fit({"train_input": x, "train_label": x[:, :1]}, steps=2, verbose=False)
    before = [v.copy() for layer in mlp.layers for v in layer.params.values()]
    snap = mlp.snapshot()
    mlp.fit({"train_input": x, "train_label": x[:, :1]}, steps=2, lr=0.1, verbose=False)
    mlp.restore(snap)
    assert _equal([v for layer in mlp.layers for v in layer.params.values()], before)


def _opt_state(opt):
    if isinstance(opt, nk.optim.LBFGS):
        st = opt.state
        return [np.array(st["n_iter"]), np.array(st["n_evals"])] + [a.copy() for a in st["s"] + st["y"]]
    return [np.array(v, copy=True) for key in sorted(opt.state, key=str)
            for n, v in sorted(opt.state[key].items()) if n != "scratch"]


@pytest.mark.parametrize("make", [
    lambda p: nk.SGD(p, lr=1e-2, momentum=0.9),
    lambda p: nk.Adam(p, lr=1e-2),
    lambda p: nk.AdamW(p, lr=1e-2),
    lambda p: nk.optim.LBFGS(p, max_iter=3),
])
@pytest.mark.parametrize("fused", [True, False])
def test_optimizer_snapshot_restores_moments_and_counts(make, fused, monkeypatch):
    monkeypatch.setattr(nk.Adam, "fuse", fused)
    model, data = _trained()
    opt = make(model.parameters())
    model.fit(data, opt=opt, steps=2, update_grid=False, verbose=False)
    before, model_before = _opt_state(opt), _arrays(model)
    snap = opt.snapshot()
    msnap = model.snapshot()
    model.fit(data, opt=opt, steps=2, update_grid=False, verbose=False)
    assert not _equal(_opt_state(opt), before)
    opt.restore(snap)
    model.restore(msnap)
    assert _equal(_opt_state(opt), before) and _equal(_arrays(model), model_before)
    # the restored optimizer goes on exactly as one that never took the two steps
    twin, twin_data = _trained()
    twin_opt = make(twin.parameters())
    twin.fit(twin_data, opt=twin_opt, steps=2, update_grid=False, verbose=False)
    for m, o in ((model, opt), (twin, twin_opt)):
        m.fit(data, opt=o, steps=1, update_grid=False, verbose=False)
    assert _equal(_arrays(model), _arrays(twin)) and _equal(_opt_state(opt), _opt_state(twin_opt))


def test_optimizer_restore_refuses_a_foreign_snapshot():
    model, _ = _trained()
    a, b = nk.Adam(model.parameters()), nk.Adam(model.parameters())
    with pytest.raises(ValueError, match="this optimizer's snapshot"):
        b.restore(a.snapshot())


def test_step_snapshots_commit_refuses_non_finite_and_keeps_the_state_before():
    model, data = _trained()
    opt = nk.Adam(model.parameters())
    snaps = StepSnapshots(model, opt)
    before = _arrays(model)
    model.layers[0].params["w_b"][0, 0] = np.nan               # a "step" that went wrong
    assert not snaps.commit()
    assert snaps.restore(back=1) == 0                          # no previous state: back to current
    assert _equal(_arrays(model), before)
    model.layers[0].params["w_b"] += 1.0
    assert snaps.commit()
    model.layers[0].params["w_b"] += 1.0
    assert snaps.restore(back=1) == 1                          # two states back: the first
    assert _equal(_arrays(model), before)


def test_adam_snapshot_without_copy_lives_until_the_second_step_after_it():
    model, data = _trained()
    opt = nk.Adam(model.parameters(), lr=1e-2)
    model.fit(data, opt=opt, steps=1, update_grid=False, verbose=False)   # fused buffers exist
    before = _opt_state(opt)
    snap = opt.snapshot(copy=False)
    assert snap.values.buffer.size == 0                        # nothing copied
    model.fit(data, opt=opt, steps=1, update_grid=False, verbose=False)
    opt.restore(snap)                                          # one step later: still intact
    assert _equal(_opt_state(opt), before)
    model.fit(data, opt=opt, steps=2, update_grid=False, verbose=False)
    with pytest.raises(RuntimeError, match="stale"):
        opt.restore(snap)                                      # its buffers were written again
    copied = opt.snapshot()                                    # copy=True: any time later
    state = _opt_state(opt)
    model.fit(data, opt=opt, steps=3, update_grid=False, verbose=False)
    opt.restore(copied)
    assert _equal(_opt_state(opt), state)
