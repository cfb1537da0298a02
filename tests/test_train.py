"""Tests of numpykan.train.fit: step/epoch counting, logging, determinism, schedule, NaN handling."""

import re

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN, MLP
from numpykan.train import fit, grid_update_steps


@pytest.fixture(scope="module")
def data():
    return nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2, n_var=2,
                             train_num=60, test_num=30, seed=0)


@pytest.fixture(scope="module")
def ce_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 2))
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 0] > 0.5)
    xt = rng.uniform(-1, 1, (30, 2))
    lt = (xt[:, 0] + xt[:, 1] > 0).astype(np.int64) + (xt[:, 0] > 0.5)
    return {"train_input": x, "train_label": labels, "test_input": xt, "test_label": lt}


@pytest.mark.parametrize("steps, log, expected", [(10, 1, list(range(1, 11))), (10, 3, [3, 6, 9, 10]),
                                                  (10, 5, [5, 10]), (7, 10, [7]), (0, 1, [])])
def test_steps_and_log(data, steps, log, expected):
    model = KAN([2, 3, 1], seed=0)
    calls = []
    h = fit(model, data, steps=steps, log=log, verbose=False,
            callback=lambda step, m, loss: calls.append(step))
    assert calls == list(range(steps))
    assert h["step"] == expected
    for key in ("train_loss", "test_loss", "reg", "time"):
        assert len(h[key]) == len(expected), key
    assert all(np.isfinite(h["train_loss"])) and all(np.isfinite(h["test_loss"]))
    assert h["time"] == sorted(h["time"])


@pytest.mark.parametrize("epochs, batch, log", [(3, 25, 1), (4, 20, 2), (2, -1, 1), (3, 7, 3)])
def test_epochs(data, epochs, batch, log):
    n = 60
    per_epoch = 1 if batch == -1 else -(-n // batch)
    model = KAN([2, 3, 1], seed=0)
    calls = []
    h = model.fit(data, epochs=epochs, batch=batch, log=log, verbose=False,
                  callback=lambda step, m, loss: calls.append(step))
    assert len(calls) == epochs * per_epoch
    logged = [e * per_epoch for e in range(1, epochs + 1) if e % log == 0]
    if not logged or logged[-1] != epochs * per_epoch:
        logged.append(epochs * per_epoch)
    assert h["step"] == logged
    assert len(h["train_loss"]) == len(h["test_loss"]) == len(logged)


def test_epochs_visit_every_sample_once(data):
    """Each epoch is a permutation: every training row is used exactly once per epoch."""
    seen = []

    class Spy(KAN):
        def loss_and_grad(self, x, y, **kw):
            seen.append(np.asarray(x).copy())
            return super().loss_and_grad(x, y, **kw)

    model = Spy([2, 2, 1], seed=0)
    model.fit(data, epochs=2, batch=25, update_grid=False, verbose=False)
    assert [len(s) for s in seen] == [25, 25, 10, 25, 25, 10]
    for epoch in (seen[:3], seen[3:]):
        rows = np.concatenate(epoch)
        assert sorted(map(tuple, rows)) == sorted(map(tuple, data["train_input"]))


def test_full_batch_and_mean_of_batches(data):
    model = KAN([2, 3, 1], seed=0)
    losses = []
    h = model.fit(data, steps=4, batch=-1, log=2, update_grid=False, verbose=False,
                  callback=lambda step, m, loss: losses.append(m.last_loss["pred"]))
    assert h["train_loss"] == pytest.approx([np.mean(losses[:2]), np.mean(losses[2:])], rel=1e-15)
    # batch -1 and batch >= n are the same full-batch run
    m1, m2 = KAN([2, 3, 1], seed=0), KAN([2, 3, 1], seed=0)
    h1 = m1.fit(data, steps=3, batch=-1, verbose=False)
    h2 = m2.fit(data, steps=3, batch=1000, verbose=False)
    assert h1["train_loss"] == h2["train_loss"]


def test_training_reduces_the_loss(data):
    model = KAN([2, 3, 1], seed=0)
    h = model.fit(data, steps=60, lr=2e-2, log=10, verbose=False)
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0]
    assert h["test_loss"][-1] < 0.2 * h["test_loss"][0]


def test_deterministic(data):
    runs = []
    for _ in range(2):
        model = KAN([2, 3, 1], seed=0)
        h = model.fit(data, steps=12, batch=16, lr=1e-2, lamb=1e-3, log=4, seed=5, verbose=False)
        runs.append((model, h))
    (m1, h1), (m2, h2) = runs
    assert {k: v for k, v in h1.items() if k != "time"} == {k: v for k, v in h2.items() if k != "time"}
    for l1, l2 in zip(m1.layers, m2.layers):
        np.testing.assert_array_equal(l1.grid, l2.grid)
        for key in l1.params:
            np.testing.assert_array_equal(l1.params[key], l2.params[key])
    m3 = KAN([2, 3, 1], seed=0)
    h3 = m3.fit(data, steps=12, batch=16, lr=1e-2, lamb=1e-3, log=4, seed=6, verbose=False)
    assert h3["train_loss"] != h1["train_loss"]


def test_reg_history(data):
    model = KAN([2, 3, 1], seed=0)
    h = model.fit(data, steps=4, lamb=0.01, log=1, verbose=False)
    assert all(r > 0 for r in h["reg"])
    h0 = KAN([2, 3, 1], seed=0).fit(data, steps=4, lamb=0.0, log=1, verbose=False)
    assert h0["reg"] == [0.0] * 4


def test_ce_history_has_accuracies(ce_data):
    model = KAN([2, 4, 3], seed=0)
    h = model.fit(ce_data, steps=30, lr=2e-2, loss="ce", log=10, verbose=False)
    assert len(h["train_acc"]) == len(h["test_acc"]) == len(h["step"]) == 3
    assert all(0.0 <= a <= 1.0 for a in h["train_acc"] + h["test_acc"])
    ev = model.evaluate(ce_data["test_input"], ce_data["test_label"], loss="ce")
    assert h["test_acc"][-1] == ev["acc"]
    assert h["test_acc"][-1] > 0.6                              # three classes, chance ~ 1/3


def test_mse_history_has_no_accuracies(data):
    h = KAN([2, 3, 1], seed=0).fit(data, steps=2, verbose=False)
    assert "train_acc" not in h and "test_acc" not in h


def test_without_test_set(data):
    train_only = {"train_input": data["train_input"], "train_label": data["train_label"]}
    h = KAN([2, 3, 1], seed=0).fit(train_only, steps=3, verbose=False)
    assert len(h["train_loss"]) == 3 and h["test_loss"] == []


def test_mlp_fit(data):
    h = MLP([2, 8, 1], seed=0).fit(data, steps=5, log=5, verbose=False)
    assert h["step"] == [5]


# ---------------------------------------------------------------------------
# grid-update schedule
# ---------------------------------------------------------------------------


def test_grid_update_steps_pykan_defaults():
    assert grid_update_steps(True, 10, -1, 50) == set(range(0, 50, 5))


def test_grid_update_steps_three_between_epoch_1_and_25():
    spe = 8                                                     # steps per epoch
    steps = grid_update_steps(True, 3, 1 * spe, 25 * spe)
    assert len(steps) == 3
    assert min(steps) == 1 * spe
    assert all(1 * spe <= s < 25 * spe for s in steps)
    assert sorted(steps) == [8, 72, 136]


@pytest.mark.parametrize("args", [(False, 10, -1, 50), (True, 0, -1, 50), (True, 5, 30, 30),
                                  (True, 5, 40, 10)])
def test_grid_update_steps_empty(args):
    assert grid_update_steps(*args) == set()


def test_fit_updates_the_grid_on_schedule(data):
    updated = []

    class Spy(KAN):
        def update_grid(self, x, grid_eps=None):
            updated.append(len(calls))
            return super().update_grid(x, grid_eps)

    calls = []
    model = Spy([2, 3, 1], seed=0)
    grid0 = model.layers[0].grid.copy()
    model.fit(data, steps=12, grid_update_num=3, start_grid_update_step=2,
              stop_grid_update_step=11, verbose=False,
              callback=lambda step, m, loss: calls.append(step))
    assert updated == sorted(grid_update_steps(True, 3, 2, 11)) == [2, 5, 8]
    assert not np.array_equal(model.layers[0].grid, grid0)
    updated.clear()
    calls.clear()
    Spy([2, 3, 1], seed=0).fit(data, steps=12, update_grid=False, verbose=False)
    assert updated == []


# ---------------------------------------------------------------------------
# failure
# ---------------------------------------------------------------------------


def test_nan_run_stops_and_keeps_the_last_good_parameters(data):
    """SGD with lr = 1e30 blows the outputs up within a few steps.

    DESIGN: "A training step that produces NaN stops with a message (the step,
    the loss) and leaves the last good parameters in place." The loss of step
    s is that of the parameters step s - 1 made, so a refused loss sends the
    model back to before step s - 1: the last state whose loss was accepted.
    """
    train_only = {"train_input": data["train_input"], "train_label": data["train_label"]}
    for max_loss_growth in (1e6, None):                          # the bound, or non-finite values
        model = KAN([2, 3, 1], seed=0)
        good = [model.state()]                                  # parameters before step s: good[s]
        with np.errstate(all="ignore"):
            with pytest.raises(FloatingPointError) as info:
                model.fit(train_only, opt="SGD", lr=1e30, steps=50, update_grid=False,
                          verbose=False, max_loss_growth=max_loss_growth,
                          callback=lambda step, m, loss: good.append(m.state()))
        msg = str(info.value)
        match = re.search(r"step (\d+): .*loss", msg)
        assert match, msg
        step = int(match.group(1))
        assert step == len(good) - 1                            # the step after the last completed
        kept = step - 1 if "before the previous step" in msg else step
        assert "before this step" in msg or "before the previous step" in msg
        for layer, saved in zip(model.layers, good[kept]):
            for key, v in saved.items():
                assert np.all(np.isfinite(layer.params[key]))
                np.testing.assert_array_equal(layer.params[key], v)
        assert len(info.value.history["step"]) == step         # one log point per completed step


def test_nan_run_with_test_set_also_raises_floating_point_error(data):
    model = KAN([2, 3, 1], seed=0)
    with np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=r"step \d+"):
            model.fit(data, opt="SGD", lr=1e30, steps=50, update_grid=False, verbose=False)
    assert all(np.all(np.isfinite(v)) for layer in model.layers for v in layer.params.values())


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=3, epochs=3), "steps or epochs"),
    (dict(batch=0), "batch"),
    (dict(epochs=0), "epochs"),
    (dict(steps=-1), "steps"),
    (dict(log=0), "log"),
])
def test_bad_arguments(data, kwargs, match):
    model = KAN([2, 3, 1], seed=0)
    before = model.state()
    with pytest.raises(ValueError, match=match):
        model.fit(data, verbose=False, **kwargs)
    for layer, saved in zip(model.layers, before):
        for key, v in saved.items():
            np.testing.assert_array_equal(layer.params[key], v)


def test_bad_dataset():
    model = KAN([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match="dataset"):
        model.fit([1, 2, 3], verbose=False)
    with pytest.raises(ValueError, match="train_label"):
        model.fit({"train_input": np.zeros((3, 2))}, verbose=False)
    with pytest.raises(ValueError, match="train_label has 2"):
        model.fit({"train_input": np.zeros((3, 2)), "train_label": np.zeros((2, 1))}, verbose=False)
