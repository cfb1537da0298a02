"""pykan's ``hellokan`` tutorial, step by step with numpykan, on three seeds.

pykan's recipe and hyper-parameters: ``KAN([2, 5, 1], grid=3, k=3)`` on
``exp(sin(pi x_1) + x_2^2)`` (1000 train and 1000 test points in ``[-1, 1]^2``);
``fit(opt="LBFGS", steps=50, lamb=1e-3)``; ``prune()``; 50 steps; ``refine(10)``;
50 steps; ``auto_symbolic(lib=[...])``; 50 steps; ``symbolic_formula()``.
numpykan's defaults differ from pykan's in one place that matters here, the
regularizer (``reg_metric="paper"``), so the first fit passes the one switch,
``reg_metric="edge_forward_spline_n"`` (pykan's). ``prune()`` prunes by
attribution, as pykan's does, without a switch. ``lr`` is not passed: L-BFGS
defaults to pykan's ``lr=1``.

Measured on seeds 0..9 (2 cores): with the switch, 7 of 10 (0, 1, 2, 5, 7, 8, 9)
prune to ``[2, 1, 1]`` and finish with a test RMSE of 2e-10 to 5e-9 and the
right formula; seeds 3 and 6 keep ``[2, 2, 1]``, seed 4 ``[2, 3, 1]``. The
paper's regularizer at the same ``lamb`` (no switch) prunes to ``[2, 1, 1]`` on
fewer seeds (see the README). Seeds 0, 1, 2 are the first three seeds, not a
choice among the successes. pykan's published run (seed 42): test RMSE
1.77e-2, 1.72e-2, 4.73e-4, 7.20e-11 after the four fits; numpykan's seed 0:
1.52e-2, 1.28e-2, 4.20e-4, 2.3e-10.
"""

import numpy as np
import pytest

import numpykan as nk

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]
SWITCH = dict(reg_metric="edge_forward_spline_n")      # the one documented switch


def _target(x):
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def _hellokan(seed):
    data = nk.create_dataset(_target, n_var=2, train_num=1000, test_num=1000, seed=0)
    model = nk.KAN(width=[2, 5, 1], grid=3, k=3, seed=seed)
    model.fit(data, opt="LBFGS", steps=50, lamb=1e-3, log=50, **SWITCH)
    model = model.prune()
    width = list(model.width)
    model.fit(data, opt="LBFGS", steps=50, log=50)
    model = model.refine(10)
    model.fit(data, opt="LBFGS", steps=50, log=50)
    fits = model.auto_symbolic(lib=LIB)
    history = model.fit(data, opt="LBFGS", steps=50, log=50)
    return data, model, width, fits, history


def _evaluate(formula, x):
    """The formula string as numbers: only sin, exp and the two inputs are in scope."""
    scope = {"sin": np.sin, "exp": np.exp, "x_1": x[:, 0], "x_2": x[:, 1]}
    return eval(formula.replace("^", "**"), {"__builtins__": {}}, scope)   # noqa: S307 (our own string)


def _check(seed):
    data, model, width, fits, history = _hellokan(seed)
    assert width == [2, 1, 1], f"seed {seed}: prune() kept {width}"
    picked = {(f["l"], f["i"], f["j"]): f["name"] for f in fits if f["fixed"]}
    assert picked == {(0, 0, 0): "sin", (0, 1, 0): "x^2", (1, 0, 0): "exp"}, picked
    assert all(f["r2"] > 0.9999 for f in fits), fits
    rmse = history["test_rmse"][-1]
    assert rmse <= 1e-6, f"seed {seed}: the all-formula model ends at test RMSE {rmse:.2e}"
    (short,) = model.symbolic_formula()
    assert "spline" not in short and "exp(" in short and "sin(" in short and "x_2" in short, short
    (exact,) = model.symbolic_formula(precision=17)
    x = data["test_input"]
    gap = float(np.max(np.abs(_evaluate(exact, x) - _target(x))))
    assert gap <= 1e-6, f"seed {seed}: formula {short} is {gap:.2e} away from exp(sin(pi x1) + x2^2)"
    return rmse, gap


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hellokan_recipe(seed):
    _check(seed)
