"""The benchmark scripts still work with the package as it is (small sizes, no timing).

``benchmarks/overhead_bound.py`` claims its straight-line step computes the same
gradients as numpykan; these tests hold it to that, so the bound it prints stays
a bound for the same computation.
"""

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import numpykan as nk

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("bench_step"), importlib.import_module("overhead_bound")
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("width,G,k,loss", [([2, 5, 1], 3, 2, "mse"), ([6, 4, 3], 3, 3, "ce"),
                                            ([3, 4, 4, 2], 5, 3, "mse")])
def test_straight_line_step_has_numpykan_gradients(scripts, width, G, k, loss):
    _, bound_mod = scripts
    B = 40
    rng = np.random.default_rng(1)
    model = nk.KAN(width, grid=G, k=k, grid_range=(-3.0, 3.0), seed=2, dtype=np.float32)
    x = rng.uniform(-1, 1, (B, width[0])).astype(np.float32)                # (B, I)
    y = (rng.integers(0, width[-1], B) if loss == "ce"
         else rng.uniform(-1, 1, (B, width[-1])).astype(np.float32))
    bound = bound_mod.StraightLine(model, B)
    assert bound_mod.check_same_step(model, bound, x, y) < 1e-5
    before = bound.P.copy()
    bound.step(x, y)                                           # Adam on its own flat copy
    assert np.all(np.isfinite(bound.P)) and not np.array_equal(bound.P, before)
    flat = np.concatenate([layer.params[key].ravel() for layer in model.layers
                           for key in bound_mod.KEYS])
    np.testing.assert_array_equal(flat, before)                # the model's parameters untouched


def test_bench_step_case_and_floor_run(scripts):
    bench, _ = scripts
    model, step = bench.make_case("xy")
    coef = model.layers[0].coef.copy()
    step()
    assert not np.array_equal(model.layers[0].coef, coef)
    floor, nbytes = bench.make_floor("xy", input_grad=True)
    floor()
    assert nbytes > 0


def _script(name):
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_image_results_reads_a_stopped_run_then_the_finished_one(tmp_path, monkeypatch, capsys):
    """benchmarks/image_results.py: INTERIM rows from the checkpoints of a stopped run, then
    the final rows and figures once the resumed run has written results.json."""
    from numpykan.cli import main
    from numpykan.experiments import Progress
    from numpykan.training.resumable import read_checkpoint

    results = _script("image_results")
    rng = np.random.default_rng(0)
    np.save(tmp_path / "pic.npy", rng.uniform(0, 1, (10, 12)))
    run, figures = tmp_path / "run", tmp_path / "figures"
    figures.mkdir()
    args = ["reproduce", "image", "--quick", "--quiet", "--image", str(tmp_path / "pic.npy"),
            "--epochs", "4", "--checkpoint-every", "2", "--eval-every", "1", "--out", str(run)]
    original = Progress.epoch

    def stopped_after_epoch_3(self, done, total, info):
        original(self, done, total, info)
        if self.label.startswith("KAN") and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "epoch", stopped_after_epoch_3)
    assert main(args) == 130
    capsys.readouterr()
    results.main([str(run), "--images", str(tmp_path), "--figures", str(figures)])
    out = capsys.readouterr().out
    ck = read_checkpoint(run / "checkpoints" / "seed0-KAN")
    ev = ck["meta"]["history"]["eval"]
    assert f"| KAN | INTERIM: 2 of 4 | {ev['train_psnr'][-1]:.2f} | {ev['heldout_psnr'][-1]:.2f} |" in out
    assert "MLP" not in out.split("\n", 2)[2]                  # the MLP had not started
    assert (figures / "image_run_interim.png").stat().st_size > 0

    monkeypatch.setattr(Progress, "epoch", original)
    assert main([*args, "--resume"]) == 0
    capsys.readouterr()
    results.main([str(run), "--figures", str(figures)])
    out = capsys.readouterr().out
    final = json.loads((run / "results.json").read_text())
    for p in final["per_seed"]:
        assert (f"| {p['model']} | 4 of 4 (final) | {p['train_psnr_db']:.2f} | "
                f"{p['heldout_psnr_db']:.2f} | {p['psnr_db']:.2f} |") in out
    for name in ("reconstruction", "curves"):
        assert (figures / f"image_run_{name}.png").read_bytes() == (run / f"image_{name}.png").read_bytes()


def test_mnist_grid_update_trace_logs_every_update():
    from numpykan.data.standin import mnist_standin

    trace = _script("mnist_grid_updates")
    data = mnist_standin(640, 100, seed=0)
    rows, history = trace.trace(data, seed=0, batch=64)      # 10 steps: an update before each
    assert [r["step"] for r in rows] == list(range(10))
    for r in rows:
        assert r["batch"] == 64 and 0 <= r["background"] <= 64 and len(r["knots"]) == 4
        assert np.isfinite(r["test_ce_before"]) and np.isfinite(r["test_ce_after"])
        assert r["sv"][0] >= r["sv"][1] >= 0
    assert rows[0]["coef_after"] != rows[0]["coef_before"]   # the refit did run
    assert len(history["train_loss"]) == 1


def test_bench_fit_runs_the_same_steps_in_both_loops():
    """benchmarks/bench_fit.py: fit and the bare loop each take the number of Adam steps asked for."""
    bench = _script("bench_fit")
    for name in bench.CASES:
        fit, bare, model, opt = bench.runners(name, 3, with_model=True)
        for run in (fit, bare):
            t = [st["t"] for st in opt.state.values()] or [0]
            before = model.state()
            run()
            assert [st["t"] for st in opt.state.values()] == [t[0] + 3] * len(opt.state)
            assert not np.array_equal(model.state()[0]["coef"], before[0]["coef"])
