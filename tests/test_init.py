"""Tests of numpykan.models.init and the freezing options: base-weight rules, pykan's sparse mask,
sp_trainable / sb_trainable honoured by every optimizer, fit, check_model, pruning and checkpoints."""

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN, KANLayer
from numpykan.gradcheck import check_model
from numpykan.models.init import base_weights, sparse_mask

XAVIER = dict(scale_base_mu=None, scale_base_sigma=None)


def _data(n=40, seed=0):
    return nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]) * x[:, 1], n_var=2, train_num=n,
                             test_num=20, seed=seed)


# ---------------------------------------------------------------------------
# base weights
# ---------------------------------------------------------------------------

def test_rules_share_their_random_numbers():
    """Xavier and pykan's rule scale the same U(-1, 1) draws; the rest of the layer is the same."""
    I, O = 4, 6
    a = KANLayer(I, O, seed=3, **XAVIER)
    b = KANLayer(I, O, seed=3)                                  # default: pykan, mu 0, sigma 1
    c = KANLayer(I, O, seed=3, scale_base_mu=0.5, scale_base_sigma=0.2)
    u = a.w_b / np.sqrt(6.0 / (I + O))                         # the draws
    assert np.all(np.abs(u) <= 1) and u.std() > 0.3
    np.testing.assert_allclose(b.w_b, u / np.sqrt(I), rtol=1e-14)
    np.testing.assert_allclose(c.w_b, (0.5 + 0.2 * u) / np.sqrt(I), rtol=1e-14)
    for layer in (b, c):
        np.testing.assert_array_equal(layer.coef, a.coef)
        np.testing.assert_array_equal(layer.w_s, a.w_s)


def test_base_weights_mu_alone_and_bad_values():
    rng = np.random.default_rng(0)
    w = base_weights(rng, 9, 2, 1.0, None)                      # sigma defaults to pykan's 1
    assert np.all(np.abs(w * 3 - 1.0) <= 1.0) and np.ptp(w) > 0.3
    for kw, err in ((dict(scale_base_sigma=float("nan")), ValueError),
                    (dict(scale_base_sigma=-1.0), ValueError),
                    (dict(scale_base_mu="0"), TypeError)):
        with pytest.raises(err, match="scale_base"):
            KAN([2, 3, 1], **kw)
    for name in ("sparse_init", "sp_trainable", "sb_trainable"):
        with pytest.raises(TypeError, match=name):
            KAN([2, 3, 1], **{name: "yes"})


# ---------------------------------------------------------------------------
# sparse mask
# ---------------------------------------------------------------------------

def _pykan_sparse(I, O):
    """pykan's rule, written with loops: nearest output per input, nearest input per output."""
    pin = [(i + 0.5) / I for i in range(I)]
    pout = [(j + 0.5) / O for j in range(O)]
    m = [[0.0] * O for _ in range(I)]
    for i in range(I):
        d = [abs(pout[j] - pin[i]) for j in range(O)]
        m[i][d.index(min(d))] = 1.0
    for j in range(O):
        d = [abs(pout[j] - pin[i]) for i in range(I)]
        m[d.index(min(d))][j] = 1.0
    return np.array(m)


@pytest.mark.parametrize("I, O", [(2, 5), (5, 2), (3, 3), (4, 1), (1, 4), (7, 3)])
def test_sparse_mask_is_pykans(I, O):
    m = sparse_mask(I, O)
    np.testing.assert_array_equal(m, _pykan_sparse(I, O))
    assert np.all(m.sum(axis=0) >= 1) and np.all(m.sum(axis=1) >= 1)
    model = KAN([I, O, 1], sparse_init=True, seed=0)
    np.testing.assert_array_equal(model.layers[0].mask, m)
    np.testing.assert_array_equal(model.layers[1].mask, sparse_mask(O, 1))


# ---------------------------------------------------------------------------
# freezing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("frozen", [dict(sp_trainable=False), dict(sb_trainable=False),
                                    dict(sp_trainable=False, sb_trainable=False)],
                         ids=["w_s", "w_b", "both"])
def test_frozen_gradients_are_none_and_the_rest_checks(frozen):
    model = KAN([2, 3, 1], grid=4, seed=1, **frozen)
    keys = {key for key, flag in (("w_s", "sp_trainable"), ("w_b", "sb_trainable"))
            if not frozen.get(flag, True)}
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.params["coef"][...] = 0.3 * rng.normal(size=layer.coef.shape)
        layer.mask[0, 0] = 0                                   # a pruned edge too
    x, y = rng.uniform(-1, 1, (12, 2)), rng.normal(size=(12, 1))
    for metric in ("paper", "edge_forward_spline_n"):
        model.loss_and_grad(x, y, lamb=0.1, reg_metric=metric, lamb_coef=0.2)
        for layer in model.layers:
            assert layer.frozen == keys
            for key in ("coef", "w_b", "w_s"):
                assert (layer.grads[key] is None) == (key in keys)
        report = check_model(model, x, y, lamb=0.1, reg_metric=metric, rtol=1e-6, atol=1e-9,
                             mode="elementwise")
        assert report.ok, str(report)
        assert {row.name.split(".")[1] for row in report.rows} == {"coef", "w_b", "w_s"} - keys
    # the gradients that remain are those of the unfrozen model
    free = KAN([2, 3, 1], grid=4, seed=1)
    for a, b in zip(free.layers, model.layers):
        a.params["coef"][...] = b.coef
        a.mask[...] = b.mask
    free.loss_and_grad(x, y, lamb=0.1, lamb_coef=0.2)
    model.loss_and_grad(x, y, lamb=0.1, lamb_coef=0.2)
    for a, b in zip(free.layers, model.layers):
        for key in set(a.grads) - keys:
            np.testing.assert_allclose(b.grads[key], a.grads[key], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("opt", ["SGD", "Adam", "AdamW", "LBFGS"])
def test_every_optimizer_leaves_frozen_parameters_alone(opt):
    data = _data()
    model = KAN([2, 3, 1], grid=3, seed=2, sp_trainable=False, sb_trainable=False)
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]
    kw = dict(weight_decay=0.1) if opt == "AdamW" else {}
    model.fit(data, opt=opt, steps=3, lr=1e-2 if opt != "LBFGS" else 1.0, lamb=0.01,
              verbose=False, **kw)
    for layer, b in zip(model.layers, before):
        np.testing.assert_array_equal(layer.w_b, b["w_b"])
        np.testing.assert_array_equal(layer.w_s, b["w_s"])
        assert not np.array_equal(layer.coef, b["coef"])       # the rest trained


def test_freezing_survives_prune_refine_and_checkpoints(tmp_path):
    data = _data()
    model = KAN([2, 3, 1], grid=3, seed=4, sb_trainable=False, sparse_init=True,
                scale_base_mu=0.2, scale_base_sigma=0.5)
    model.fit(data, opt="Adam", steps=3, lr=1e-2, verbose=False)
    for other in (model.refine(5), model.refine(5, x=data["train_input"])):
        assert all(layer.frozen == {"w_b"} for layer in other.layers)
        assert all(layer.grads["w_b"] is None for layer in other.layers)
    path = model.save(tmp_path / "m.npz")
    loaded = KAN.load(path)
    for key in ("sparse_init", "sp_trainable", "sb_trainable", "scale_base_mu", "scale_base_sigma"):
        assert loaded.config[key] == model.config[key]
    assert loaded.config["scale_base_mu"] == 0.2 and loaded.config["scale_base_sigma"] == 0.5
    for a, b in zip(loaded.layers, model.layers):
        assert a.frozen == {"w_b"} and a.grads["w_b"] is None
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.w_b, b.w_b)
    w_b = [layer.w_b.copy() for layer in loaded.layers]
    loaded.fit(data, opt="Adam", steps=2, lr=1e-2, verbose=False)
    assert all(np.array_equal(a.w_b, b) for a, b in zip(loaded.layers, w_b))


def test_set_trainable_keeps_the_grads_dict():
    """Optimizers hold the grads dict: unfreezing later must fill the same dict."""
    layer = KANLayer(2, 3, seed=0, sp_trainable=False)
    grads = layer.grads
    assert grads["w_s"] is None
    layer.set_trainable(True, True)
    assert layer.grads is grads and grads["w_s"].shape == (2, 3) and not layer.frozen
