"""`numpykan reproduce ...` in --quick mode: files, results.json keys, a sanity claim each.

Every run goes through the command line (``numpykan.cli.main``) into ``tmp_path``
and takes a few seconds. MNIST uses tiny IDX files written here, never the real data.
"""

import gzip
import hashlib
import json

import numpy as np
import pytest

import numpykan as nk
from numpykan import mnist as ds
from numpykan.cli import main
from numpykan.experiments import kan_candidates, mlp_hidden_width, mlp_parameters

KEYS = {"experiment", "config", "machine", "wall_time_s", "per_seed", "curves", "summary",
        "report", "files"}


def run(tmp_path, *argv):
    out = tmp_path / argv[0]
    assert main(["reproduce", *argv, "--quick", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results) == KEYS
    assert results["experiment"] == argv[0] and results["config"]["quick"] is True
    assert results["machine"]["usable_cores"] >= 1 and results["wall_time_s"] > 0
    for name in results["files"]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert path.stat().st_size < 300_000
    assert (out / "results.md").read_text().count("|") > 10       # holds a table
    return results


def test_xy_quick(tmp_path):
    r = run(tmp_path, "xy", "--seeds", "2")
    assert {"xy_loss.png", "results.json", "results.md"} <= set(r["files"])
    c = r["config"]
    assert c["batch"] == 32 and c["grid"] == 3 and c["k"] == 2 and c["width"] == [2, 5, 1]
    assert c["grid_update"]["grid_eps"] == 1.0 and c["grid_update"]["update_epochs"] == [1, 9, 17]
    assert len(r["per_seed"]) == 4                                # 2 seeds x 2 variants
    for variant in ("grid_update", "no_grid_update"):
        for run_ in r["curves"][variant]["train_loss"]:
            assert len(run_) == c["epochs"] and run_[-1] < run_[0]   # the loss went down


def test_kan_vs_mlp_quick_counts_match(tmp_path, capsys):
    r = run(tmp_path, "kan-vs-mlp", "--seeds", "2")
    assert "15 edges x 8 = 120" in capsys.readouterr().out       # how the counts were matched
    counts = {p["model"]: p["num_parameters"] for p in r["per_seed"]}
    assert counts == {"KAN": 120, "MLP": 121}
    for p in r["per_seed"]:
        assert p["final_train_loss"] < p["first_train_loss"]
    assert r["config"]["kan"]["width"] == [2, 5, 1] and r["config"]["mlp"]["width"] == [2, 30, 1]


def test_parameter_matching_helpers():
    assert (5, 3, 3) in kan_candidates(120)
    for h, G, k in kan_candidates(120):
        assert nk.KAN([2, h, 1], grid=G, k=k).num_parameters() == 120
    assert nk.MLP([2, 30, 1]).num_parameters() == mlp_parameters([2, 30, 1]) == 121
    n_kan = nk.KAN([2, 128, 128, 128, 128, 1], grid=10, k=3).num_parameters()
    assert n_kan == (2 * 128 + 3 * 128 * 128 + 128) * (10 + 3 + 2) == 743_040
    h = mlp_hidden_width(n_kan, 2, 1, 4)
    assert h == 497                                               # 744,507 parameters
    for other in (h - 1, h + 1):
        assert abs(mlp_parameters([2] + [h] * 4 + [1]) - n_kan) <= \
            abs(mlp_parameters([2] + [other] * 4 + [1]) - n_kan)


def test_image_quick_psnr(tmp_path):
    r = run(tmp_path, "image")
    assert {"image_reconstruction.png", "image_curves.png"} <= set(r["files"])
    n_kan, n_mlp = (r["summary"][m]["num_parameters"] for m in ("KAN", "MLP"))
    assert abs(n_kan - n_mlp) < 0.03 * n_kan                      # equal size, to 3%
    for p in r["per_seed"]:
        assert np.isfinite(p["psnr_db"]) and p["psnr_db"] > 5.0
        assert np.isfinite(p["heldout_psnr_db"]) and np.isfinite(p["train_psnr_db"])
        assert p["final_train_loss"] < p["first_train_loss"]
    c = r["config"]
    assert c["size"] == [16, 19] and c["kan"]["update_grid"] is True   # 344 x 403, short side 16
    assert c["heldout_pixels"] == 8 * 9 and c["train_pixels"] == 16 * 19 - 72
    assert c["color"] == "gray" and c["outputs"] == 1
    assert np.isfinite(r["summary"]["neighbour_mean_heldout_psnr_db"])
    for model in ("KAN", "MLP"):                                  # PSNR measured along the way
        assert len(r["curves"][model]["heldout_psnr"][0]) == len(
            r["curves"][model]["eval_epoch"][0]) >= 2
    assert "quick run" in (tmp_path / "image" / "results.md").read_text()


def test_image_quick_from_npy_path(tmp_path):
    yy, xx = np.mgrid[0:20, 0:20]
    np.save(tmp_path / "disc.npy", ((xx - 10) ** 2 + (yy - 10) ** 2 < 40).astype(np.uint8) * 255)
    r = run(tmp_path, "image", "--image", str(tmp_path / "disc.npy"), "--size", "10",
            "--epochs", "5", "--no-grid-update", "--no-holdout")
    assert r["config"]["size"] == [10, 10] and r["config"]["image"].endswith("disc.npy")
    assert r["config"]["kan"]["update_grid"] is False and r["config"]["heldout_pixels"] == 0
    assert all(np.isfinite(p["psnr_db"]) and p["heldout_psnr_db"] is None
               for p in r["per_seed"])


def test_image_quick_colour_fits_three_outputs(tmp_path):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (12, 18, 3), dtype=np.uint8)    # colour, 3:2
    np.save(tmp_path / "colour.npy", picture)
    r = run(tmp_path, "image", "--image", str(tmp_path / "colour.npy"), "--size", "8",
            "--epochs", "2")
    c = r["config"]
    assert c["color"] == "rgb" and c["outputs"] == 3 and c["size"] == [8, 12]
    assert c["kan"]["width"][-1] == 3 and c["mlp"]["width"][-1] == 3
    r = run(tmp_path / "gray", "image", "--image", str(tmp_path / "colour.npy"), "--size", "8",
            "--epochs", "2", "--color", "gray")
    assert r["config"]["outputs"] == 1 and r["config"]["kan"]["width"][-1] == 1


def test_image_run_interrupted_and_resumed_is_bit_identical(tmp_path, monkeypatch, capsys):
    """A quick image run killed after epoch 3 (checkpoints every 2) and resumed ends where an
    uninterrupted run ends: same model, optimizer state, random state and history."""
    from numpykan.experiments import Progress
    from numpykan.models.model import KAN
    from numpykan.training.resumable import read_checkpoint

    args = ["reproduce", "image", "--quick", "--quiet", "--epochs", "6",
            "--checkpoint-every", "2", "--eval-every", "1"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    original = Progress.epoch

    def killed_after_epoch_3(self, done, total, info):
        original(self, done, total, info)
        if self.label.startswith("KAN") and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "epoch", killed_after_epoch_3)
    assert main([*args, "--out", str(tmp_path / "b")]) == 130
    assert "--resume" in capsys.readouterr().err
    assert read_checkpoint(tmp_path / "b" / "checkpoints" / "seed0-KAN")["epoch"] == 2
    monkeypatch.setattr(Progress, "epoch", original)
    assert main([*args, "--out", str(tmp_path / "b")]) == 2          # refuses to overwrite
    assert "add --resume to continue it" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "b"), "--resume"]) == 0

    for name in ("seed0-KAN", "seed0-MLP"):
        a, b = (read_checkpoint(tmp_path / run_ / "checkpoints" / name) for run_ in "ab")
        assert a["epoch"] == b["epoch"] == 6
        assert a["meta"]["rng"] == b["meta"]["rng"]
        ha, hb = a["meta"]["history"], b["meta"]["history"]
        for key in ("epoch", "train_loss", "eval_epoch", "eval", "grid_update_epochs"):
            assert ha[key] == hb[key], key
        assert ha["resumed_from"] == [] and hb["resumed_from"] == ([2] if "KAN" in name else [])
        assert a["optimizer"].keys() == b["optimizer"].keys()
        for key in a["optimizer"]:
            np.testing.assert_array_equal(a["optimizer"][key], b["optimizer"][key], err_msg=key)
        with np.load(a["model_path"]) as fa, np.load(b["model_path"]) as fb:
            assert fa.files == fb.files
            for key in fa.files:
                np.testing.assert_array_equal(fa[key], fb[key], err_msg=key)
    ra, rb = (json.loads((tmp_path / run_ / "results.json").read_text()) for run_ in "ab")
    for pa, pb in zip(ra["per_seed"], rb["per_seed"]):
        for key in ("train_psnr_db", "heldout_psnr_db", "psnr_db", "final_train_loss"):
            assert pa[key] == pb[key], key
    kan = KAN.load(read_checkpoint(tmp_path / "b" / "checkpoints" / "seed0-KAN")["model_path"])
    assert kan.width == [2, 8, 8, 8, 8, 1]


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    magic = 2049 if array.ndim == 1 else 2051
    header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *array.shape))
    data = gzip.compress(header + array.tobytes(), mtime=0)
    path.write_bytes(data)
    return data


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """64 train and 32 test 'digits': class c lights up rows 2c..2c+2, plus noise."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    digests = {}
    for prefix, n in (("train", 64), ("t10k", 32)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28))
        for i, c in enumerate(labels):
            images[i, 2 * c + 4:2 * c + 7, 4:24] = 255
        for kind, a in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            digests[name] = hashlib.sha256(write_idx(folder / name, a)).hexdigest()
    monkeypatch.setattr(ds, "MNIST_FILES", digests)
    monkeypatch.setattr(ds, "_MNIST_RAW_SHA256", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(url, timeout=None):
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr(ds, "_urlopen", no_network)
    return folder


def test_mnist_quick_on_tiny_idx_files(tmp_path, tiny_mnist):
    r = run(tmp_path, "mnist", "--data", str(tiny_mnist), "--epochs", "4", "--batch", "16")
    assert "mnist_curves.png" in r["files"]
    c = r["config"]
    assert c["train_num"] == 64 and c["test_num"] == 32 and c["batch"] == 16
    assert c["kan"]["update_grid"] is True
    counts = {p["model"]: p["num_parameters"] for p in r["per_seed"]}
    assert counts == {"KAN": 784 * 10 * 8 + 10 * 10 * 8, "MLP": 784 * 10 + 10 + 10 * 10 + 10}
    for model in ("KAN", "MLP"):
        curves = r["curves"][model]
        for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
            assert len(curves[key][0]) == 4                        # one entry per epoch
        assert curves["train_loss"][0][-1] < curves["train_loss"][0][0]
        assert all(0.0 <= a <= 1.0 for a in curves["test_acc"][0])
    assert r["report"]["KAN"]["test_acc"] == 0.925 and r["report"]["MLP"]["test_acc"] == 0.935


def test_reproduce_needs_an_experiment(capsys):
    assert main(["reproduce"]) == 2
    assert "EXPERIMENT" in capsys.readouterr().err


def test_zero_seeds_is_refused(tmp_path):
    from numpykan.experiments import run_xy
    with pytest.raises(ValueError, match="seeds must be an int >= 1, got 0"):
        run_xy(tmp_path, seeds=0, quick=True)


def test_cosine_schedule_reaches_each_step_through_fit():
    from numpykan.experiments.mnist import _scheduled, lr_at
    assert lr_at(0, 10, 1e-3, "cosine") == 1e-3
    assert lr_at(5, 10, 1e-3, "cosine") == pytest.approx(5e-4)
    assert lr_at(10, 10, 1e-3, "cosine", final_fraction=0.1) == pytest.approx(1e-4)
    assert lr_at(7, 10, 1e-3, "constant") == 1e-3
    assert lr_at(3, 10, 1e-3, lambda step, total: 0.5) == 5e-4
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        lr_at(0, 10, 1e-3, "cosin")
    model = nk.MLP([2, 3, 1], seed=0)
    opt = nk.Adam(model.parameters(), lr=1.0)
    seen = []
    step_lr = opt.step

    def recording_step():
        seen.append(opt.lr)                       # the lr the update of this step uses
        step_lr()

    opt.step = recording_step
    x = np.random.default_rng(0).uniform(-1, 1, (16, 2))
    model.fit({"train_input": x, "train_label": x[:, :1]}, opt=opt, steps=6, batch=-1,
              callback=_scheduled(opt, 6, 1e-2, "cosine", 0.0), verbose=False)
    assert seen == pytest.approx([lr_at(s, 6, 1e-2, "cosine") for s in range(6)])


def test_mnist_grid_updates_from_a_fixed_sample(tmp_path, monkeypatch):
    """--grid-update-sample N: the updates use the same N images, at fit's steps, not the batches."""
    from numpykan.models.model import KAN
    calls = []
    original = KAN.update_grid

    def spy(self, x, grid_eps=None):
        calls.append(x.copy())
        return original(self, x, grid_eps)

    monkeypatch.setattr(KAN, "update_grid", spy)
    r = run(tmp_path, "mnist", "--models", "KAN", "--grid-update-sample", "50",
            "--grid-update-num", "3", "--first-seed", "4", "--epochs", "1")
    assert len(calls) == 3 and all(c.shape == (50, 784) for c in calls)
    assert all(np.array_equal(c, calls[0]) for c in calls)
    assert [p["seed"] for p in r["per_seed"]] == [4]
    assert r["config"]["kan"]["grid_update_sample"] == 50
    calls.clear()
    run(tmp_path / "batches", "mnist", "--models", "KAN", "--grid-update-num", "3",
        "--epochs", "1")
    assert len(calls) == 3 and all(c.shape == (64, 784) for c in calls)   # the step's batch
