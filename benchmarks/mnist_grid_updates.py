"""Trace the grid updates of the first MNIST epoch of ``numpykan reproduce mnist`` (one seed).

    python benchmarks/mnist_grid_updates.py --data MNIST_DIR --seed 2

Trains the report's setting (KAN [784, 10, 10], G = 3, k = 3, AdamW lr 1e-3, batch 64,
the 10 grid updates of the first epoch from each update step's batch, the Xavier start of
docs/RESULTS.md) for one epoch and prints, for every grid update: the largest
layer-0 coefficient before and after the refit, the test cross-entropy (2,000 test
images) before the update and after its step, and for the pixel with the largest new
coefficient: how many of the batch's images are background (-1) there, its new knots,
and the range of singular values of the basis matrix the refit inverts. This is the
diagnostic behind docs/RESULTS.md section 3.3 ("why seed 2 collapsed"); about 10 s per
epoch on an idle core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpykan as nk  # noqa: E402
from numpykan.experiments import REPORT_INIT  # noqa: E402
from numpykan.splines import bspline  # noqa: E402
from numpykan.training.optim import get_optimizer  # noqa: E402


def trace(data, seed, batch=64, lr=1e-3, grid_eps=0.02, n_test=2000):
    """One epoch with grid updates; returns one dict per update (see the module docstring)."""
    model = nk.KAN([784, 10, 10], grid=3, k=3, seed=seed, dtype=np.float32, **REPORT_INIT)
    opt = get_optimizer("AdamW", model.parameters(), lr=lr, weight_decay=1e-2)
    x_test, y_test = data["test_input"][:n_test], data["test_label"][:n_test]
    layer0 = model.layers[0]
    refit = model.update_grid                         # layer 0's input is the model's input
    rows = []

    def logged_update(x, eps=grid_eps):
        xs = np.asarray(x, np.float64)                                     # (B, 784)
        before = model.evaluate(x_test, y_test, "ce")["loss"]
        c_before = float(np.abs(layer0.params["coef"]).max())
        refit(x, eps)
        per_pixel = np.abs(layer0.params["coef"]).max(axis=(1, 2))        # (784,)
        worst = int(np.argmax(per_pixel))
        grid = layer0.grid[worst].astype(np.float64)                      # (G + 2k + 1,)
        basis = bspline.basis(xs[:, worst:worst + 1], grid[None, :], layer0.k)[:, 0, :]
        sv = np.linalg.svd(basis, compute_uv=False)                       # (G + k,)
        rows.append({"coef_before": c_before, "coef_after": float(per_pixel[worst]),
                     "test_ce_before": before, "pixel": worst,
                     "background": int((xs[:, worst] == -1).sum()), "batch": len(xs),
                     "distinct": int(len(np.unique(xs[:, worst]))),
                     "knots": grid[layer0.k:-layer0.k], "sv": (sv.max(), sv.min())})

    model.update_grid = logged_update                 # an instance attribute: this model only
    spe = -(-len(data["train_input"]) // batch)                            # steps per epoch
    steps = sorted(nk.train.grid_update_steps(True, 10, 0, spe))          # as reproduce mnist

    def after_step(step, m, loss):
        if step in steps:
            rows[steps.index(step)]["test_ce_after"] = model.evaluate(x_test, y_test, "ce")["loss"]
            rows[steps.index(step)]["step"] = step

    h = model.fit(data, opt=opt, epochs=1, batch=batch, loss="ce", update_grid=True,
                  grid_update_num=10, grid_eps=grid_eps, start_grid_update_step=0,
                  stop_grid_update_step=spe, log=1, seed=seed, verbose=False,
                  callback=after_step)
    return rows, h


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="folder of the four MNIST IDX files")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args(argv)
    data = nk.load_mnist(args.data, scale=(-1.0, 1.0), dtype=np.float32)
    t0 = time.perf_counter()
    rows, h = trace(data, args.seed, args.batch)
    for r in rows:
        knots = ", ".join(f"{v:.3f}" for v in r["knots"])
        print(f"step {r['step']:4d}: layer-0 |coef| max {r['coef_before']:.2g} -> "
              f"{r['coef_after']:.2g}; test ce {r['test_ce_before']:.3f} -> "
              f"{r['test_ce_after']:.3f}; pixel {r['pixel']}: {r['background']} of "
              f"{r['batch']} images at -1, {r['distinct']} distinct values, base knots "
              f"[{knots}], singular values {r['sv'][0]:.2g} .. {r['sv'][1]:.2g}")
    print(f"seed {args.seed}: first-epoch mean train loss {h['train_loss'][-1]:.3f}, test acc "
          f"{100 * h['test_acc'][-1]:.2f}% ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
