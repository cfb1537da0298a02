"""Grid-extension staircase: a [2, 1, 1] KAN on exp(sin(pi x) + y^2), L-BFGS at G = 3 ... 100.

The KAN paper (Fig. 2.3) trains a [2, 5, 1] / [2, 1, 1] KAN with L-BFGS, and every
200 steps extends the grid (G = 3, 5, 10, 20, 50, 100, ...), refitting the finer
splines to the coarser ones; the test RMSE drops in steps, to about 1e-5 at
G = 100 for [2, 1, 1], and climbs again once the model has more parameters than
the data can pin down.

Here each grid extension is ``model.refine(G, x=train_input)`` (new knots from
the samples, least-squares refit), followed by ``--steps`` L-BFGS iterations on
the full training set, driven directly with a closure. The training set has
``--train-num`` points (default 3000): at G = 100 the [2, 1, 1] KAN has
315 parameters, and its hidden-layer splines see only the samples that fall in
each knot interval, so a 1000-point set leaves some intervals thin.

Run: ``PYTHONPATH=. python benchmarks/grid_staircase.py [--train-num N] [--steps S]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import numpykan as nk
from numpykan.optim import LBFGS

GRIDS = (3, 5, 10, 20, 50, 100)


def target(x):
    return np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2)


def rmse(model, x, y):
    return float(np.sqrt(np.mean((model.predict(x) - y) ** 2)))


def staircase(train_num=3000, test_num=1000, steps=200, grids=GRIDS, seed=0, verbose=True):
    """Train through ``grids``; return a list of rows (G, parameters, train RMSE, test RMSE, seconds)."""
    ds = nk.create_dataset(target, n_var=2, train_num=train_num, test_num=test_num, seed=seed)
    x, y = ds["train_input"], ds["train_label"]
    model = nk.KAN([2, 1, 1], grid=grids[0], k=3, seed=seed)
    rows = []
    if verbose:
        print(f"[2, 1, 1] KAN, exp(sin(pi x) + y^2), {train_num} train / {test_num} test points, "
              f"{steps} L-BFGS iterations per grid")
        print(f"{'G':>5} {'params':>7} {'train RMSE':>11} {'test RMSE':>11} {'seconds':>8}")
    for n, G in enumerate(grids):
        t0 = time.perf_counter()
        if n == 0:
            model.update_grid(x)                               # knots where the data are
        else:
            model = model.refine(G, x=x)
        opt = LBFGS(model.parameters(), max_iter=steps, tolerance_grad=1e-12,
                    tolerance_change=0.0, history_size=20)
        opt.step(lambda: model.loss_and_grad(x, y))
        row = (G, model.num_parameters(), rmse(model, x, y),
               rmse(model, ds["test_input"], ds["test_label"]), time.perf_counter() - t0)
        rows.append(row)
        if verbose:
            print(f"{row[0]:>5d} {row[1]:>7d} {row[2]:>11.3e} {row[3]:>11.3e} {row[4]:>8.1f}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-num", type=int, default=3000)
    parser.add_argument("--test-num", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    staircase(args.train_num, args.test_num, args.steps, seed=args.seed)


if __name__ == "__main__":
    main()
