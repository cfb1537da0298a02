"""A training step happens whole or not at all: interrupts, exceptions and non-finite values at every point.

The step under test is one ``fit`` step of a ``[2, 3, 2]`` KAN with a symbolic
edge, the regularizer on and a grid update, after two warm-up steps (so the
optimizer has moments and step counts). A tracer (``sys.settrace``) counts the
lines of numpykan code the step executes and raises at the n-th: every line of
the optimizer update, the snapshot and ``fit`` itself, and evenly spaced lines
elsewhere (grid update, each layer's forward and backward, the loss, the
regularizer). After each injected ``KeyboardInterrupt`` or exception, the
model (parameters, gradients, grids, masks, symbolic edges, ``last_loss``)
and the optimizer (moments, step counts, L-BFGS pairs and counters) must
equal, bit for bit, the state before the step or the state after a clean
step; and from a restored state, the next step must give exactly the clean
step's result (so the restored optimizer is consistent with its fused arrays).
The same model with frozen parameters (``w_b`` of layer 0, ``w_s`` of layer 1:
gradient None, skipped by the optimizers) is swept too, more sparsely, and so is a
``[2, [2, 1], 2]`` model whose hidden layer has a multiplication node.
"""

import inspect
import os
import signal
import sys

import numpy as np
import pytest

import numpykan as nk
import numpykan.training.train as train_module
from numpykan.models import layer as layer_module

PACKAGE = os.path.dirname(nk.__file__)
FIT_CODE = train_module.fit.__code__
_src, _first = inspect.getsourcelines(train_module.fit)
LOOP_LINE = _first + next(i for i, line in enumerate(_src) if "for step in range(total):" in line)
#: functions whose every executed line is an injection point: fit's loop, the update, the commit
EVERY_LINE = ("fit", "Optimizer._step_all", "Adam._step_all", "Adam._direction", "Adam._update",
              "Adam._decay", "AdamW._decay", "SGD._update", "LBFGS._set_x", "LBFGS.reset_history",
              "StepSnapshots.commit", "KAN._forward_mult", "MultNodes.forward", "MultNodes.backward")
OPTIMIZERS = ("Adam", "AdamW", "SGD", "LBFGS")
#: (optimizer, variant) of the sweep: every optimizer, and the frozen model and the model
#: with a multiplication node for some
SWEEP = [(name, False) for name in OPTIMIZERS] + [("Adam", True), ("SGD", True), ("LBFGS", True),
                                                  ("Adam", "mult"), ("LBFGS", "mult")]
FROZEN = {0: "w_b", 1: "w_s"}                   # layer -> its frozen key in the frozen variant
STEP = dict(steps=1, lamb=0.01, update_grid=True, grid_update_num=1, start_grid_update_step=0,
            stop_grid_update_step=1, verbose=False)


def make(name, frozen=False):
    """A warmed-up model and optimizer, the same every time (``frozen``: see ``FROZEN``;
    ``"mult"``: a hidden layer of 2 sum nodes and 1 multiplication node instead)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 2))
    data = {"train_input": x, "train_label": np.stack([np.sin(3 * x[:, 0]), x[:, 1] ** 2], 1)}
    model = nk.KAN([2, [2, 1] if frozen == "mult" else 3, 2], grid=3, k=2, seed=0)
    if frozen == "mult":
        assert model.nodes[0] is not None
    elif frozen:
        model.layers[0].set_trainable(sb_trainable=False)
        model.layers[1].set_trainable(sp_trainable=False)
    model.fix_symbolic(1, 0, 0, "sin", fit_params=False)
    pairs = model.parameters()
    opt = {"Adam": lambda: nk.Adam(pairs, lr=1e-2),
           "AdamW": lambda: nk.AdamW(pairs, lr=1e-2, weight_decay=0.1),
           "SGD": lambda: nk.SGD(pairs, lr=1e-2, momentum=0.9),
           "LBFGS": lambda: nk.optim.LBFGS(pairs, max_iter=2, max_ls=4)}[name]()
    model.fit(data, opt=opt, steps=2, lamb=0.01, update_grid=False, verbose=False)
    return model, opt, data


def dump(model, opt):
    """Every array and number of the model's and the optimizer's state, copied."""
    out = {"last_loss": (model.last_loss["pred"], model.last_loss["reg"])}
    for l, layer in enumerate(model.layers):
        for kind, d in (("p", layer.params), ("g", layer.grads)):
            for key, v in d.items():
                out[f"{l}.{kind}.{key}"] = np.array(v, copy=True)
        out[f"{l}.grid"], out[f"{l}.mask"] = layer.grid.copy(), layer.mask.copy()
        out[f"{l}.frozen"] = np.array(sorted(layer.frozen))
        if layer.symbolic is not None:
            s = layer.symbolic
            out[f"{l}.sym"] = (tuple(s.names), s.ij.copy(), s.params["abcd"].copy(),
                               s.grads["abcd"].copy())
    if isinstance(opt, nk.optim.LBFGS):
        st = opt.state
        out["opt"] = (tuple(map(tuple, st["s"])), tuple(map(tuple, st["y"])), st["n_iter"],
                      st["n_evals"], repr(st["layout"]))
    else:
        for key, st in opt.state.items():
            out[f"opt.{key}"] = {n: (v if n == "t" else np.array(v, copy=True))
                                 for n, v in st.items() if n != "scratch"}
    return out


def same(a, b):
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            if x.keys() != y.keys() or not all(np.array_equal(x[n], y[n]) for n in x):
                return False
        elif isinstance(x, tuple):
            if len(x) != len(y) or not all(np.array_equal(p, q) for p, q in zip(x, y)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


class Injector:
    """Counts the lines of numpykan code a fit step runs; raises ``exc`` at line ``at``."""

    def __init__(self, at=None, exc=KeyboardInterrupt, signal_at=None):
        self.at, self.exc, self.signal_at = at, exc, signal_at
        self.count, self.armed, self.files = 0, False, []

    def glob(self, frame, event, arg):
        return self.local if frame.f_code.co_filename.startswith(PACKAGE) else None

    def local(self, frame, event, arg):
        if event == "line":
            if not self.armed:
                if frame.f_code is not FIT_CODE or frame.f_lineno < LOOP_LINE:
                    return self.local
                self.armed = True
            self.count += 1
            if self.at is None:
                self.files.append(frame.f_code.co_qualname)
            elif self.count == self.at:
                raise self.exc("injected")
        return self.local

    def run(self, fn):
        previous = sys.gettrace()
        sys.settrace(self.glob)
        try:
            return fn()
        finally:
            sys.settrace(previous)


def points(files, budget=40):
    """Line numbers to inject at: all in EVERY_LINE functions, about ``budget`` evenly spaced elsewhere."""
    others = [i for i, f in enumerate(files, 1) if f not in EVERY_LINE]
    stride = max(1, len(others) // budget)
    chosen = {i for i, f in enumerate(files, 1) if f in EVERY_LINE} | set(others[::stride])
    return sorted(chosen)


@pytest.fixture(scope="module", params=SWEEP,
                ids=[f"{n}-{'mult' if f == 'mult' else 'frozen'}" if f else n for n, f in SWEEP])
def reference(request):
    """(name, frozen, state before the step, state after a clean step, the line files of the step)."""
    name, frozen = request.param
    model, opt, data = make(name, frozen)
    before = dump(model, opt)
    counter = Injector()
    counter.run(lambda: model.fit(data, opt=opt, **STEP))
    return name, frozen, before, dump(model, opt), counter.files


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_injected_at_every_point_leaves_before_or_after(reference, exc):
    name, frozen, before, after, files = reference
    assert not same(before, after)                              # the step changes everything
    if frozen is True:                                          # ... but what is frozen
        for l, key in FROZEN.items():
            assert before[f"{l}.g.{key}"] == after[f"{l}.g.{key}"] == None   # noqa: E711
            assert np.array_equal(before[f"{l}.p.{key}"], after[f"{l}.p.{key}"])
            assert not np.array_equal(before[f"{l}.p.coef"], after[f"{l}.p.coef"])
    tried = points(files) if exc is KeyboardInterrupt else points(files, budget=10)[::4]
    if frozen:
        tried = tried[::3]                                      # sparser: the same code, fewer keys
    outcomes = {"before": 0, "after": 0}
    for n, at in enumerate(tried):
        model, opt, data = make(name, frozen)
        with pytest.raises(exc, match="injected"):
            Injector(at, exc).run(lambda: model.fit(data, opt=opt, **STEP))
        state = dump(model, opt)
        if same(state, before):
            outcomes["before"] += 1
            if n % 4 == 0:                                       # and training goes on exactly
                model.fit(data, opt=opt, **STEP)
                assert same(dump(model, opt), after), f"{name}: step after restore at line {at}"
        else:
            assert same(state, after), f"{name}: {exc.__name__} at line {at} ({files[at - 1]}) " \
                                       f"left a state that is neither before nor after the step"
            outcomes["after"] += 1
    assert outcomes["before"] > 0 and outcomes["after"] > 0      # both sides were reached


# ---------------------------------------------------------------------------
# non-finite values injected into the step: FloatingPointError, state before
# ---------------------------------------------------------------------------

def _poison_nth(monkeypatch, module, name, n, poison, only=lambda args, kwargs: True):
    """Make ``module.name`` apply ``poison`` to its result on its ``n``-th call (of those ``only`` admits)."""
    original = getattr(module, name)
    calls = [0]

    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        if not only(args, kwargs):
            return out
        calls[0] += 1
        return poison(out) if calls[0] == n else out

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _nan_y(out):
    y, cache = out
    return y * np.nan, cache


def _nan_grads(out):
    dx, grads = out
    return dx, {key: None if g is None else g * np.nan for key, g in grads.items()}


def _inf_v(self_direction):
    def direction(self, g, m, v, t, w, m_out=None, v_out=None):
        self_direction(self, g, m, v, t, w, m_out, v_out)
        (v if v_out is None else v_out)[0] = np.inf            # a second moment overflows
    return direction


@pytest.mark.parametrize("name, where, n, frozen", [
    (name, where, n, False) for name in ("Adam", "AdamW", "SGD")
    for where, n in [("forward", 1), ("forward", 2), ("backward", 1), ("backward", 2), ("loss", 1),
                     ("v", 1)] if not (name == "SGD" and where == "v")] + [
    (name, where, n, True) for name in ("Adam", "SGD") for where, n in [("backward", 1), ("backward", 2)]] + [
    ("Adam", where, n, "mult") for where, n in [("forward", 1), ("backward", 2), ("loss", 1)]])
def test_non_finite_values_stop_with_the_state_before(monkeypatch, name, where, n, frozen):
    """NaN out of layer 0's or 1's forward or backward, a NaN loss, an infinite second moment."""
    model, opt, data = make(name, frozen)
    before = dump(model, opt)
    if where == "forward":                                     # a training pass (it caches)
        _poison_nth(monkeypatch, layer_module, "forward", n, _nan_y,
                    only=lambda args, kwargs: kwargs.get("cache", args[6:7] == (True,)))
    elif where == "backward":
        _poison_nth(monkeypatch, layer_module, "backward", n, _nan_grads)
    elif where == "loss":
        fn = nk.losses._UNCHECKED[nk.losses.mse]
        monkeypatch.setitem(nk.losses._UNCHECKED, nk.losses.mse,
                            lambda p, y: (float("nan"), fn(p, y)[1]))
    else:
        monkeypatch.setattr(nk.Adam, "_direction", _inf_v(nk.Adam._direction))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"step 0: ") as info:
        model.fit(data, opt=opt, **STEP)
    assert same(dump(model, opt), before), str(info.value)
    assert info.value.history["step"] == []
    monkeypatch.undo()
    model.fit(data, opt=opt, **STEP)                            # and the run can go on
    reference_model, reference_opt, _ = make(name, frozen)
    reference_model.fit(data, opt=reference_opt, **STEP)
    assert same(dump(model, opt), dump(reference_model, reference_opt))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_non_finite_inside_the_grid_update_leaves_the_state_before(monkeypatch, name):
    """NaN in the pass that carries the samples to layer 1: update_grid refuses, nothing changed."""
    model, opt, data = make(name)
    before = dump(model, opt)
    _poison_nth(monkeypatch, layer_module, "forward", 1, _nan_y)   # the first pass is the grid update's
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="layer 1 non-finite"):
        model.fit(data, opt=opt, **STEP)
    assert same(dump(model, opt), before)


def test_lbfgs_non_finite_start_stops_with_the_state_before(monkeypatch):
    model, opt, data = make("LBFGS")
    before = dump(model, opt)
    _poison_nth(monkeypatch, layer_module, "forward", 1, _nan_y,
                only=lambda args, kwargs: kwargs.get("cache", args[6:7] == (True,)))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="step 0: the loss"):
        model.fit(data, opt=opt, **STEP)
    assert same(dump(model, opt), before)


def test_sigint_during_the_restore_is_held_until_it_is_done(monkeypatch):
    """A real SIGINT in the middle of a restore: the restore completes, then KeyboardInterrupt."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("needs Python's default SIGINT handler")
    name = "Adam"
    model, opt, data = make(name)
    before = dump(model, opt)
    restore_code = nk.network.Network.restore.__code__
    sent = []

    def glob(frame, event, arg):
        if frame.f_code is restore_code and not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)                 # arrives inside the restore
        return None

    _poison_nth(monkeypatch, layer_module, "backward", 1, _nan_grads)
    previous = sys.gettrace()
    sys.settrace(glob)
    try:
        with np.errstate(all="ignore"), pytest.raises(KeyboardInterrupt):
            model.fit(data, opt=opt, **STEP)
    finally:
        sys.settrace(previous)
    assert sent
    assert same(dump(model, opt), before)
