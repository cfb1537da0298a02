"""fit's arguments: all checked before anything changes, unknown keywords, callable losses, history, the guard."""

import inspect
import math
import re

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN, MLP
from numpykan.train import FIT_RENAMED


@pytest.fixture(scope="module")
def data():
    return nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2, n_var=2,
                             train_num=60, test_num=30, seed=0)


def _state(model):
    return [v.copy() for layer in model.layers for v in
            list(layer.params.values()) + [layer.grid, layer.mask]]


def _unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(_state(model), before))


# ---------------------------------------------------------------------------
# every argument is checked before anything changes (the step-0 grid update included)
# ---------------------------------------------------------------------------

BAD = [
    (dict(lamb=-1.0), ValueError, "lamb"), (dict(lamb="a"), TypeError, "lamb"),
    (dict(lamb_l1=float("nan")), ValueError, "lamb_l1"), (dict(lamb_entropy=-2), ValueError, "lamb_entropy"),
    (dict(opt=3), TypeError, "opt"), (dict(opt="Nesterov"), ValueError, "optimizer name"),
    (dict(callback=3), TypeError, "callback"), (dict(grid_eps=2.0), ValueError, "grid_eps"),
    (dict(grid_eps=float("nan")), ValueError, "grid_eps"), (dict(steps=2.5), TypeError, "steps"),
    (dict(steps=np.inf), TypeError, "steps"), (dict(steps=True), TypeError, "steps"),
    (dict(steps=-1), ValueError, "steps"), (dict(epochs=1.5), TypeError, "epochs"),
    (dict(epochs=0), ValueError, "epochs"), (dict(batch=0), ValueError, "batch"),
    (dict(batch=2.5), TypeError, "batch"), (dict(log=0), ValueError, "log"),
    (dict(log=1.5), TypeError, "log"), (dict(grid_update_num=-1), ValueError, "grid_update_num"),
    (dict(grid_update_num=2.5), TypeError, "grid_update_num"),
    (dict(start_grid_update_step=0.5), TypeError, "start_grid_update_step"),
    (dict(stop_grid_update_step="50"), TypeError, "stop_grid_update_step"),
    (dict(seed=-1), ValueError, "seed"), (dict(seed=1.5), TypeError, "seed"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay"), (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"), (dict(max_loss_growth=0.5), ValueError, "max_loss_growth"),
    (dict(verbose="yes"), TypeError, "verbose"), (dict(update_grid="no"), TypeError, "update_grid"),
    (dict(progress_stream=3), TypeError, "progress_stream"),
    (dict(log_every_seconds=0), ValueError, "log_every_seconds"),
    (dict(opt_kwargs=[("momentum", 0.9)]), TypeError, "opt_kwargs"),
    (dict(opt_kwargs={"lr": 0.1}), ValueError, "opt_kwargs"),
    (dict(opt="SGD", opt_kwargs={"momentum": 2.0}), ValueError, "momentum"),
    (dict(batch=1), ValueError, "batch=1"),
    (dict(loss=3), TypeError, "loss"),
    (dict(reg_metric="edge_spline"), ValueError, "reg_metric"),
    (dict(lamb_coef=-1.0), ValueError, "lamb_coef"),
    (dict(lamb_coefdiff=float("inf")), ValueError, "lamb_coefdiff"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD, ids=[str(k) for k, _, _ in BAD])
def test_every_bad_argument_is_refused_before_anything_changes(data, kwargs, error, match):
    model = KAN([2, 3, 1], seed=0)
    before = _state(model)
    kw = {} if "epochs" in kwargs else {"steps": 3}            # a grid update at step 0 by default
    kw.update(kwargs)
    with pytest.raises(error, match=re.escape(match)):
        model.fit(data, **kw)
    assert _unchanged(model, before)


def test_a_dataset_with_half_a_test_set_is_refused(data):
    model = KAN([2, 3, 1], seed=0)
    for drop in ("test_label", "test_input"):
        ds = {key: v for key, v in data.items() if key != drop}
        with pytest.raises(ValueError, match=f"no {drop!r}"):
            model.fit(ds, steps=2, verbose=False)


def test_an_optimizer_of_another_model_is_refused(data):
    model, other = KAN([2, 3, 1], seed=0), KAN([2, 3, 1], seed=0)
    before = _state(model)
    for opt in (nk.Adam(other.parameters()), nk.optim.LBFGS(other.parameters())):
        with pytest.raises(ValueError, match="this model's.*built on another model"):
            model.fit(data, opt=opt, steps=2, verbose=False)
    with pytest.raises(ValueError, match="lr applies when opt is a name"):
        model.fit(data, opt=nk.Adam(model.parameters()), lr=0.1, steps=2, verbose=False)
    with pytest.raises(TypeError, match="snapshot"):
        model.fit(data, opt=object(), steps=2, verbose=False)
    assert _unchanged(model, before)
    assert _unchanged(other, _state(KAN([2, 3, 1], seed=0)))
    model.fit(data, opt=nk.Adam(model.parameters()[1:]), steps=2, verbose=False)  # a subset: fine


def test_lamb_for_an_mlp_is_refused_up_front(data):
    mlp = MLP([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="lamb must be 0 for a MLP"):
        mlp.fit(data, steps=2, lamb=0.1, verbose=False)


# ---------------------------------------------------------------------------
# unknown keywords
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(stpes=2), r"fit\(\) got an unexpected keyword argument 'stpes'; did you mean 'steps'\?"),
    (dict(lamb_entorpy=1.0), r"did you mean 'lamb_entropy'\?"),
    (dict(loss_fn=None), r"'loss_fn': pykan's loss_fn is numpykan's loss="),
    (dict(lamb_coeff=1.0), r"'lamb_coeff'; did you mean 'lamb_coef'\?"),
    (dict(regmetric="edge_forward_spline_n"), r"did you mean 'reg_metric'\?"),
    (dict(metrics=[]), r"'metrics': not supported"),
    (dict(momentum=0.9), r"'momentum': it is an option of SGD; .*opt='SGD', opt_kwargs=\{'momentum'"),
    (dict(betas=(0.9, 0.99)), r"opt_kwargs=\{'betas'"),
    (dict(zzz=1, stpes=2), r"'stpes'; did you mean 'steps'\? \(also unexpected: 'zzz'\)"),
])
def test_unknown_keywords_are_refused_by_fit(data, kwargs, match):
    model = KAN([2, 3, 1], seed=0)
    before = _state(model)
    for call in (lambda: model.fit(data, **kwargs), lambda: nk.fit(model, data, **kwargs)):
        with pytest.raises(TypeError, match=match):
            call()
    assert _unchanged(model, before)


def test_every_renamed_keyword_has_a_message():
    assert {"loss_fn", "metrics"} <= set(FIT_RENAMED)
    assert all(isinstance(v, str) and len(v) > 20 for v in FIT_RENAMED.values())
    # an entry must not shadow an argument fit takes (reg_metric, lamb_coef, lamb_coefdiff left
    # the table when the regularizer metrics landed)
    assert not set(FIT_RENAMED) & set(inspect.signature(nk.fit).parameters)


def test_the_regularizer_metric_options_reach_loss_and_grad(data):
    """fit(reg_metric=, lamb_coef=, lamb_coefdiff=) trains what loss_and_grad computes with them."""
    kw = dict(reg_metric="edge_forward_spline_n", lamb_coef=0.5, lamb_coefdiff=0.3)
    a, b = KAN([2, 3, 1], seed=0), KAN([2, 3, 1], seed=0)
    hist = a.fit(data, steps=1, lamb=0.01, update_grid=False, verbose=False, **kw)
    b.loss_and_grad(data["train_input"], data["train_label"], lamb=0.01, **kw)
    assert hist["reg"][0] == b.last_loss["reg"] > 0
    c = KAN([2, 3, 1], seed=0)
    plain = c.fit(data, steps=1, lamb=0.01, update_grid=False, verbose=False)
    assert plain["reg"][0] != hist["reg"][0]
    mlp = MLP([2, 4, 1], seed=0)
    before = [v.copy() for layer in mlp.layers for v in layer.params.values()]
    for bad in (dict(reg_metric="paper"), dict(lamb_coef=0.1), dict(lamb_coefdiff=0.1)):
        with pytest.raises(ValueError, match=f"{next(iter(bad))}.* for a MLP"):
            mlp.fit(data, steps=2, verbose=False, **bad)
    assert all(np.array_equal(u, v) for u, v in
               zip(before, [v for layer in mlp.layers for v in layer.params.values()]))


def test_optimizer_options_through_opt_kwargs(data):
    a, b = KAN([2, 3, 1], seed=0), KAN([2, 3, 1], seed=0)
    a.fit(data, opt="SGD", lr=0.05, opt_kwargs={"momentum": 0.9}, steps=4, verbose=False)
    b.fit(data, opt=nk.SGD(b.parameters(), lr=0.05, momentum=0.9), steps=4, verbose=False)
    assert all(np.array_equal(x, y) for x, y in zip(_state(a), _state(b)))
    c = KAN([2, 3, 1], seed=0)
    c.fit(data, opt="SGD", lr=0.05, steps=4, verbose=False)   # without momentum: another result
    assert not all(np.array_equal(x, y) for x, y in zip(_state(a), _state(c)))


# ---------------------------------------------------------------------------
# a callable loss
# ---------------------------------------------------------------------------

def same_as_mse(pred, y):
    return nk.losses.mse(pred, y)


def log_cosh(pred, y):
    """mean log cosh(pred - y): smooth, with gradient tanh(pred - y) / N."""
    r = pred - y
    return float(np.mean(np.log(np.cosh(r)))), np.tanh(r) / r.size


def test_a_callable_loss_trains_as_the_named_one(data):
    h1 = KAN([2, 3, 1], seed=0).fit(data, steps=6, log=2, loss="mse", verbose=False)
    h2 = KAN([2, 3, 1], seed=0).fit(data, steps=6, log=2, loss=same_as_mse, verbose=False)
    assert h2["train_loss"] == h1["train_loss"] and h2["test_loss"] == h1["test_loss"]
    assert "train_rmse" not in h2                              # numpykan cannot know it is an MSE


def test_a_callable_loss_gradient_matches_finite_differences(data):
    model = KAN([2, 3, 1], seed=0)
    x, y = data["train_input"][:12], data["train_label"][:12]
    model.loss_and_grad(x, y, loss=log_cosh)
    for layer in model.layers:
        grads = {key: g.copy() for key, g in layer.grads.items()}
        report = nk.gradcheck(lambda: model.loss_and_grad(x, y, loss=log_cosh), layer.params,
                              grads, rtol=1e-6, atol=1e-9, mode="elementwise")
        assert report.ok, str(report)
    ev = model.evaluate(x, y, loss=log_cosh)
    assert ev["loss"] == pytest.approx(float(np.mean(np.log(np.cosh(model(x) - y)))), rel=1e-12)


@pytest.mark.parametrize("bad, error, match", [
    (lambda p, y: 1.0, TypeError, "must return a pair"),
    (lambda p, y: ("a", p), TypeError, "value must be a real number"),
    (lambda p, y: (np.ones(3), p), TypeError, "value must be a real number"),
    (lambda p, y: (1.0, p[:1]), ValueError, "shape of y_pred"),
    (lambda p, y: (1.0, p + 0j), TypeError, "real numeric"),
    (lambda p, y: (float("nan"), p), FloatingPointError, "non-finite value"),
    (lambda p, y: (1.0, p * np.inf), FloatingPointError, "non-finite dL/dy_pred"),
])
def test_what_a_callable_loss_returns_is_checked(data, bad, error, match):
    model = KAN([2, 3, 1], seed=0)
    x, y = data["train_input"][:5], data["train_label"][:5]
    with np.errstate(all="ignore"), pytest.raises(error, match=match):
        model.loss_and_grad(x, y, loss=bad)
    before = _state(model)
    with np.errstate(all="ignore"), pytest.raises(error, match=match):
        model.fit(data, loss=bad, steps=2, verbose=False)      # checked up front, on the data
    assert _unchanged(model, before)


# ---------------------------------------------------------------------------
# the history
# ---------------------------------------------------------------------------

def test_history_offers_rmse_beside_mse(data):
    h = KAN([2, 3, 1], seed=0).fit(data, steps=6, log=3, verbose=False)
    assert h["train_rmse"] == [math.sqrt(v) for v in h["train_loss"]]
    assert h["test_rmse"] == [math.sqrt(v) for v in h["test_loss"]]
    model = KAN([2, 3, 1], seed=0)
    h = model.fit(data, steps=2, log=2, verbose=False)
    ev = model.evaluate(data["test_input"], data["test_label"])
    assert h["test_rmse"][-1] == math.sqrt(ev["loss"])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 2))
    h = KAN([2, 3, 2], seed=0).fit({"train_input": x, "train_label": (x[:, 0] > 0).astype(int)},
                                   loss="ce", steps=2, verbose=False)
    assert "train_rmse" not in h and "train_acc" in h


# ---------------------------------------------------------------------------
# the grid update and small batches
# ---------------------------------------------------------------------------

def test_a_one_row_last_batch_does_not_stop_the_grid_update():
    """100 rows with batch=33 leave a last batch of one row; an update due there waits a step."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (100, 2))
    seen = []

    class Spy(KAN):
        def update_grid(self, x, grid_eps=None):
            seen.append(len(x))
            return super().update_grid(x, grid_eps)

    model = Spy([2, 3, 1], seed=0)
    steps = []
    model.fit({"train_input": x, "train_label": x[:, :1] ** 2}, epochs=2, batch=33,
              grid_update_num=1, start_grid_update_step=3, stop_grid_update_step=4, verbose=False,
              callback=lambda step, m, loss: steps.append((step, len(seen))))
    assert seen == [33]                                        # not the one-row batch of step 3
    assert steps[3] == (3, 0) and steps[4] == (4, 1)           # done at step 4 instead


# ---------------------------------------------------------------------------
# the divergence guard
# ---------------------------------------------------------------------------

def _opt_arrays(opt):
    return [np.array(v, copy=True) for key in sorted(opt.state, key=str)
            for n, v in sorted(opt.state[key].items()) if n != "scratch"]


@pytest.mark.parametrize("make, growth", [(lambda p: nk.SGD(p, lr=3.0, momentum=0.9), 10.0),
                                          (lambda p: nk.Adam(p, lr=1.0), 3.0)], ids=["sgd", "adam"])
def test_the_loss_bound_stops_a_growing_run_and_restores_the_users_optimizer(data, make, growth):
    model = KAN([2, 3, 1], seed=0)
    opt = make(model.parameters())
    kept = [(_state(model), [])]                               # kept[s]: the state before step s
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        model.fit(data, opt=opt, steps=200, max_loss_growth=growth, update_grid=False, verbose=False,
                  callback=lambda s, m, loss: kept.append((_state(m), _opt_arrays(opt))))
    msg = str(info.value)
    match = re.match(r"step (\d+): the loss (\S+) exceeds max_loss_growth \* L_ref = (\S+);", msg)
    assert match, msg
    step, value, bound = int(match.group(1)), float(match.group(2)), float(match.group(3))
    assert value > bound and step == len(kept) - 1 and step >= 2
    assert "before the previous step" in msg                   # the last state with an accepted loss
    params, moments = kept[step - 1]
    assert _unchanged(model, params)
    assert all(np.array_equal(a, b) for a, b in zip(_opt_arrays(opt), moments))


def test_adam_in_float32_at_lr_1e6_is_stopped_with_finite_state(data):
    """The issue's case: inf second moments and a loss of 3e36, never stopped."""
    for growth in (1e6, None):                                 # the bound, or the finiteness checks
        model = KAN([2, 3, 1], seed=0, dtype=np.float32)
        opt = nk.Adam(model.parameters(), lr=1e6)
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"step \d+: "):
            model.fit(data, opt=opt, steps=300, max_loss_growth=growth, update_grid=False,
                      verbose=False)
        assert all(np.isfinite(v).all() for v in _state(model))
        assert all(np.isfinite(v).all() for v in _opt_arrays(opt))


def test_a_divergent_step_under_a_grid_update_keeps_neither_grid_nor_coefficients(data):
    model = KAN([2, 3, 1], seed=0)
    opt = nk.SGD(model.parameters(), lr=1e30)
    kept = []
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        model.fit(data, opt=opt, steps=20, grid_update_num=20, stop_grid_update_step=20,
                  verbose=False, callback=lambda s, m, loss: kept.append(_state(m)))
    step = int(re.match(r"step (\d+)", str(info.value)).group(1))
    back = 2 if "previous step" in str(info.value) else 1
    want = kept[step - back] if step - back >= 0 else _state(KAN([2, 3, 1], seed=0))
    assert _unchanged(model, want)                             # grids and coef of that state
