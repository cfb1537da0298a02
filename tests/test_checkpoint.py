"""Tests of checkpoints: bit-exact round trips, and every kind of bad file refused with a clear message."""

import json

import numpy as np
import pytest

import numpykan as nk
from numpykan import KAN, MLP
from numpykan.checkpoint import VERSION


def _exp_sin(x):
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


@pytest.fixture(scope="module")
def data():
    return nk.create_dataset(_exp_sin, n_var=2, train_num=200, test_num=50, seed=0)


def _arrays(path):
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def _assert_same_kan(a, b, x):
    assert a.width == b.width and a.dtype == b.dtype
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert la.k == lb.k and la.base_fun == lb.base_fun
        np.testing.assert_array_equal(la.grid, lb.grid)
        np.testing.assert_array_equal(la.mask, lb.mask)
        assert set(la.params) == set(lb.params)
        for key in la.params:
            np.testing.assert_array_equal(la.params[key], lb.params[key])
            assert la.params[key].dtype == lb.params[key].dtype
    np.testing.assert_array_equal(a(x), b(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kan_round_trip(tmp_path, data, dtype):
    model = KAN([2, 4, 3, 1], grid=4, k=2, seed=3, base_fun="silu", dtype=dtype)
    model.fit(data, steps=5, lr=1e-2, update_grid=False, verbose=False)
    model.layers[1].mask[2, 0] = 0.0                            # a pruned edge is kept too
    path = model.save(tmp_path / "kan.npz")
    loaded = KAN.load(path)
    _assert_same_kan(model, loaded, data["test_input"])
    assert loaded.config == model.config


def test_save_appends_npz(tmp_path):
    path = KAN([2, 1], seed=0).save(tmp_path / "noext")
    assert str(path).endswith(".npz")
    assert KAN.load(path).width == [2, 1]


def test_kan_round_trip_after_update_grid_and_refine(tmp_path, data):
    model = KAN([2, 3, 1], grid=5, k=3, seed=0)
    model.fit(data, steps=10, lr=1e-2, grid_update_num=2, stop_grid_update_step=10,
              verbose=False)
    model.update_grid(data["train_input"])                      # non-uniform grids
    assert not np.allclose(np.diff(model.layers[0].grid[0]), np.diff(model.layers[0].grid[0])[0])
    loaded = KAN.load(model.save(tmp_path / "updated.npz"))
    _assert_same_kan(model, loaded, data["test_input"])

    fine = model.refine(10, data["train_input"])
    loaded = KAN.load(fine.save(tmp_path / "refined.npz"))
    _assert_same_kan(fine, loaded, data["test_input"])
    assert [layer.G for layer in loaded.layers] == [10, 10]
    # a loaded model trains on exactly as the original does
    h1 = fine.fit(data, steps=3, update_grid=False, verbose=False)
    h2 = loaded.fit(data, steps=3, update_grid=False, verbose=False)
    assert h1["train_loss"] == h2["train_loss"]


@pytest.mark.parametrize("activation", ["silu", "tanh", "relu"])
def test_mlp_round_trip(tmp_path, data, activation):
    mlp = MLP([2, 7, 5, 1], activation=activation, seed=4)
    mlp.fit(data, steps=5, lr=1e-2, verbose=False)
    loaded = MLP.load(mlp.save(tmp_path / "mlp.npz"))
    assert loaded.config == mlp.config
    for la, lb in zip(mlp.layers, loaded.layers):
        for key in la.params:
            np.testing.assert_array_equal(la.params[key], lb.params[key])
    np.testing.assert_array_equal(mlp(data["test_input"]), loaded(data["test_input"]))


# ---------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------


@pytest.fixture
def kan_file(tmp_path):
    return KAN([2, 3, 1], grid=3, k=2, seed=0).save(tmp_path / "good.npz")


def test_pickled_object_array_refused(tmp_path, kan_file):
    arrays = _arrays(kan_file)
    arrays["layer0.coef"] = np.array([{"evil": 1}, None], dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, allow_pickle=True, **arrays)
    with pytest.raises(ValueError, match="pickle"):
        KAN.load(path)


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9, 0.999, 0.99999], ids=lambda f: f"keep{f}")
def test_truncated_file_refused(tmp_path, kan_file, keep):
    raw = open(kan_file, "rb").read()
    path = tmp_path / "cut.npz"
    path.write_bytes(raw[:int(len(raw) * keep)] if keep else b"")
    assert path.stat().st_size < len(raw)
    with pytest.raises(ValueError, match=r"truncated|not a readable|not a numpykan"):
        KAN.load(path)


def test_truncated_by_a_few_bytes_refused(tmp_path, kan_file):
    raw = open(kan_file, "rb").read()
    for cut in (1, 10, 100):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(raw[:-cut])
        with pytest.raises(ValueError, match=r"truncated|not a readable"):
            KAN.load(path)


def test_foreign_npz_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    rng = np.random.default_rng(0)
    np.savez(path, a=rng.normal(size=(3, 3)), b=np.arange(5))
    with pytest.raises(ValueError, match="not a numpykan checkpoint"):
        KAN.load(path)
    with pytest.raises(ValueError, match="not a numpykan checkpoint"):
        MLP.load(path)


def test_not_a_zip_refused(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello, this is not a checkpoint\n" * 10)
    # a text file holds no pickle: the message must not claim it does
    with pytest.raises(ValueError, match=r"not a readable|not a numpykan") as info:
        KAN.load(path)
    assert "pickle" not in str(info.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        KAN.load("/nonexistent/dir/model.npz")


@pytest.mark.parametrize("missing", ["layer1.coef", "layer0.grid", "layer0.mask", "layer1.w_s"])
def test_missing_array_refused(tmp_path, kan_file, missing):
    arrays = _arrays(kan_file)
    del arrays[missing]
    path = tmp_path / "partial.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"missing the array '{missing}'"):
        KAN.load(path)


def test_missing_header_refused(tmp_path, kan_file):
    for key in ("version", "format", "kind", "config"):
        arrays = _arrays(kan_file)
        del arrays[key]
        path = tmp_path / f"no-{key}.npz"
        np.savez(path, **arrays)
        with pytest.raises(ValueError, match=f"no '{key}' entry"):
            KAN.load(path)


def test_newer_version_refused(tmp_path, kan_file):
    arrays = _arrays(kan_file)
    arrays["version"] = np.array(VERSION + 1)
    path = tmp_path / "newer.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"version {VERSION + 1}.*upgrade"):
        KAN.load(path)


def test_wrong_shape_refused(tmp_path, kan_file):
    arrays = _arrays(kan_file)
    arrays["layer0.w_b"] = np.zeros((3, 2))
    path = tmp_path / "shape.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"layer0.w_b has shape \(3, 2\), expected \(2, 3\)"):
        KAN.load(path)


def test_corrupt_config_refused(tmp_path, kan_file):
    arrays = _arrays(kan_file)
    arrays["config"] = np.array("{not json")
    path = tmp_path / "config.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="corrupt config"):
        KAN.load(path)
    config = json.loads(str(_arrays(kan_file)["config"]))
    config["k"] = -1
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="invalid config"):
        KAN.load(path)


def test_mlp_checkpoint_with_kan_load(tmp_path):
    path = MLP([2, 5, 1], seed=0).save(tmp_path / "mlp.npz")
    with pytest.raises(ValueError, match=r"holds a MLP, not a KAN.*numpykan.MLP.load"):
        KAN.load(path)
    kpath = KAN([2, 5, 1], seed=0).save(tmp_path / "kan.npz")
    with pytest.raises(ValueError, match=r"holds a KAN, not a MLP"):
        MLP.load(kpath)


def test_saving_is_atomic(tmp_path):
    """No temporary file is left behind, and an existing checkpoint is replaced whole."""
    path = KAN([2, 3, 1], seed=0).save(tmp_path / "m.npz")
    KAN([2, 3, 1], seed=1).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    np.testing.assert_array_equal(KAN.load(path).layers[0].coef, KAN([2, 3, 1], seed=1).layers[0].coef)


def test_deflated_checkpoint_loads_bit_for_bit(tmp_path):
    """A checkpoint recompressed with deflate (as ``np.savez_compressed`` writes) is read the same."""
    import zipfile
    model = KAN([2, 3, 1], grid=4, seed=1)
    path = model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    packed = tmp_path / "packed.npz"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    x = np.linspace(-1, 1, 10).reshape(5, 2)
    _assert_same_kan(model, KAN.load(packed), x)


def test_save_keeps_the_file_mode_and_leaves_no_temporary(tmp_path):
    import os
    import stat
    model = KAN([2, 1], seed=0)
    path = model.save(tmp_path / "m.npz")
    plain = tmp_path / "plain"
    plain.write_bytes(b"")                      # the mode a new file gets under this umask
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
    plain.unlink()
    os.chmod(path, 0o600)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize("key, value, match", [
    ("layer0.W", np.full((2, 3), np.nan), "NaN or inf"),
    ("layer0.b", np.ones(3, dtype=np.int64), "dtype int64"),
    ("layer0.W", np.ones((2, 3), dtype=np.float32), "dtype float32"),
    ("layer9.W", np.ones((2, 3)), "layer9.W"),
])
def test_mlp_checkpoint_members_checked(tmp_path, key, value, match):
    import io
    import zipfile
    path = MLP([2, 3, 1], seed=0).save(tmp_path / "mlp.npz")
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    buf = io.BytesIO()
    np.save(buf, value)
    members[key + ".npy"] = buf.getvalue()
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match=match):
        MLP.load(bad)
