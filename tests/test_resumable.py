"""Checkpointed epochs (numpykan.resumable): a stopped run resumes bit for bit."""

import numpy as np
import pytest

import numpykan as nk
from numpykan.resumable import (CheckpointExistsError, CheckpointMismatchError,
                                read_checkpoint, train_epochs)


def data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 2))
    return {"train_input": x, "train_label": np.sin(3 * x[:, :1]) * x[:, 1:]}


def kan():
    return nk.KAN([2, 3, 1], grid=4, k=3, seed=1)


class Stop(Exception):
    pass


def stop_at(epoch):
    def progress(done, total, info):
        if done == epoch:
            raise Stop
    return progress


def same_run(a, b):
    (ma, ha, oa), (mb, hb, ob) = a, b
    for la, lb in zip(ma.layers, mb.layers):
        for key in ("coef", "w_b", "w_s", "grid", "mask"):
            np.testing.assert_array_equal(getattr(la, key), getattr(lb, key), err_msg=key)
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
    for key in ("epoch", "train_loss", "eval_epoch", "eval"):
        assert ha[key] == hb[key], key


@pytest.mark.parametrize("stop, every", [(5, 2), (4, 2), (1, 3)])
def test_stopped_and_resumed_equals_uninterrupted(tmp_path, stop, every):
    d = data()
    ev = {"evaluate": lambda m: {"mse": float(np.mean((m.predict(d["train_input"])
                                                        - d["train_label"]) ** 2))},
          "eval_every": 2}
    kw = dict(batch=8, checkpoint_every=every, grid_update_epochs=[0, 2], **ev)
    whole = train_epochs(kan(), d, 7, checkpoint=tmp_path / "a", **kw)
    with pytest.raises(Stop):
        train_epochs(kan(), d, 7, checkpoint=tmp_path / "b", progress=stop_at(stop), **kw)
    saved = read_checkpoint(tmp_path / "b")
    assert saved is None if stop < every else saved["epoch"] == stop // every * every
    resumed = train_epochs(kan(), d, 7, checkpoint=tmp_path / "b", resume=True, **kw)
    same_run(whole, resumed)
    assert resumed[1]["resumed_from"] == ([] if saved is None else [saved["epoch"]])
    ca, cb = read_checkpoint(tmp_path / "a"), read_checkpoint(tmp_path / "b")
    assert ca["meta"]["rng"] == cb["meta"]["rng"] and ca["epoch"] == cb["epoch"] == 7
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "epoch-000007.model.npz", "epoch-000007.state.npz", "latest.json"]


def test_mlp_and_sgd_resume_too(tmp_path):
    d = data()
    kw = dict(batch=16, opt="SGD", lr=0.05, opt_kwargs={"momentum": 0.9}, checkpoint_every=1)
    whole = train_epochs(nk.MLP([2, 6, 1], seed=0), d, 4, checkpoint=tmp_path / "a", **kw)
    with pytest.raises(Stop):
        train_epochs(nk.MLP([2, 6, 1], seed=0), d, 4, checkpoint=tmp_path / "b",
                     progress=stop_at(2), **kw)
    resumed = train_epochs(nk.MLP([2, 6, 1], seed=0), d, 4, checkpoint=tmp_path / "b",
                           resume=True, **kw)
    for la, lb in zip(whole[0].layers, resumed[0].layers):
        for key in la.params:
            np.testing.assert_array_equal(la.params[key], lb.params[key])
    assert whole[1]["train_loss"] == resumed[1]["train_loss"]


def test_finished_run_resumes_without_training(tmp_path):
    d = data()
    first = train_epochs(kan(), d, 3, batch=8, checkpoint=tmp_path)
    calls = []
    again = train_epochs(kan(), d, 3, batch=8, checkpoint=tmp_path, resume=True,
                         progress=lambda *a: calls.append(a))
    same_run(first, again)
    assert len(calls) == 1 and calls[0][:2] == (3, 3)           # reported, nothing trained


def test_existing_or_foreign_checkpoint_is_refused(tmp_path):
    d = data()
    train_epochs(kan(), d, 2, batch=8, checkpoint=tmp_path, config={"lr": 1e-3, "G": 4})
    with pytest.raises(CheckpointExistsError, match="after epoch 2") as info:
        train_epochs(kan(), d, 2, batch=8, checkpoint=tmp_path, config={"lr": 1e-3, "G": 4})
    assert info.value.epoch == 2
    with pytest.raises(CheckpointMismatchError, match="lr: saved 0.001, now 0.01"):
        train_epochs(kan(), d, 2, batch=8, checkpoint=tmp_path, resume=True,
                     config={"lr": 1e-2, "G": 4})
    with pytest.raises(CheckpointMismatchError, match="holds a KAN, not a MLP"):
        train_epochs(nk.MLP([2, 3, 1]), d, 2, batch=8, checkpoint=tmp_path, resume=True,
                     config={"lr": 1e-3, "G": 4})


def test_broken_pointer_says_so(tmp_path):
    train_epochs(kan(), data(), 1, batch=8, checkpoint=tmp_path)
    (tmp_path / "epoch-000001.model.npz").unlink()
    with pytest.raises(ValueError, match="missing; delete the folder"):
        read_checkpoint(tmp_path)


@pytest.mark.parametrize("kwargs, match", [({"epochs": 0}, "epochs must be an int >= 1"),
                                           ({"checkpoint_every": 0}, "checkpoint_every"),
                                           ({"eval_every": 1.5}, "eval_every")])
def test_arguments_are_checked(kwargs, match):
    args = {"epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_epochs(kan(), data(), **args)
