"""The benchmark scripts still work with the package as it is (small sizes, no timing).

``benchmarks/overhead_bound.py`` claims its straight-line step computes the same
gradients as numpykan; these tests hold it to that, so the bound it prints stays
a bound for the same computation.
"""

import importlib
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


def test_bench_fit_runs_the_same_steps_in_both_loops():
    """benchmarks/bench_fit.py: fit and the bare loop each take the number of Adam steps asked for."""
    sys.path.insert(0, str(BENCH))
    try:
        bench = importlib.import_module("bench_fit")
    finally:
        sys.path.remove(str(BENCH))
    for name in bench.CASES:
        fit, bare, model, opt = bench.runners(name, 3, with_model=True)
        for run in (fit, bare):
            t = [st["t"] for st in opt.state.values()] or [0]
            before = model.state()
            run()
            assert [st["t"] for st in opt.state.values()] == [t[0] + 3] * len(opt.state)
            assert not np.array_equal(model.state()[0]["coef"], before[0]["coef"])
