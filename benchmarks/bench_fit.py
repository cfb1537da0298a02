"""What the fit loop costs beyond the step it runs: ``fit`` against a bare loop, per step.

Usage::

    python benchmarks/bench_fit.py                      # xy and mnist64, 1 BLAS thread
    python benchmarks/bench_fit.py --steps 300 --repeat 15

Both loops draw the same random batches (``rng.choice(n, batch, replace=False)``,
as ``fit(steps=...)`` does; the full-batch xy case takes the whole set) and
run the same float32 step::

    bare:  xb, yb = x[idx], y[idx]; model.loss_and_grad(xb, yb, loss); opt.step()
    fit:   model.fit(data, opt=opt, steps=S, batch=B, update_grid=False, log=S, verbose=False)

so ``ratio = fit / bare`` is everything ``fit`` adds per step: argument and
data checks (once per call, spread over ``S`` steps), the step transaction
(snapshots of the model and the optimizer, the restore it would need), the
divergence guard (finite loss, parameters and optimizer state; the loss
bound), the history. Medians of ``--repeat`` interleaved runs of ``S`` steps
each, measured in one process, so that load from other jobs hits both alike.
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time            # noqa: E402

import numpy as np     # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpykan as nk  # noqa: E402

# name: (width, G, k, batch, training rows, loss)
CASES = {
    "xy": ([2, 5, 1], 3, 2, 1000, 1000, "mse"),
    "mnist64": ([784, 10, 10], 3, 3, 64, 2048, "ce"),
}


def make_case(name, seed=0):
    """Model, Adam, dataset (train only) and the batch size of case ``name``."""
    width, G, k, B, n, loss = CASES[name]
    rng = np.random.default_rng(seed)
    model = nk.KAN(width, grid=G, k=k, seed=seed, dtype=np.float32)
    x = rng.uniform(-1, 1, (n, width[0])).astype(np.float32)               # (n, I)
    if loss == "ce":
        y = rng.integers(0, width[-1], n)                                    # (n,) labels
    else:
        y = rng.uniform(-1, 1, (n, width[-1])).astype(np.float32)           # (n, O)
    opt = nk.Adam(model.parameters(), lr=1e-4)
    return model, opt, {"train_input": x, "train_label": y}, B, loss


def runners(name, steps, with_model=False):
    """``(fit_run, bare_run)``: each runs ``steps`` training steps of case ``name`` (and the model, optimizer)."""
    model, opt, data, B, loss = make_case(name)
    x, y = data["train_input"], data["train_label"]
    n = x.shape[0]
    rng = np.random.default_rng(1)

    def bare():
        for _ in range(steps):
            if B >= n:
                xb, yb = x, y
            else:
                idx = rng.choice(n, B, replace=False)
                xb, yb = x[idx], y[idx]
            model.loss_and_grad(xb, yb, loss=loss)
            opt.step()

    def fit():
        model.fit(data, opt=opt, steps=steps, batch=B, loss=loss, update_grid=False, log=steps,
                  verbose=False)

    return (fit, bare, model, opt) if with_model else (fit, bare)


def interleaved_medians(fns, repeat, warmup=1):
    """Median seconds of each function, run round-robin ``repeat`` times."""
    for f in fns:
        for _ in range(warmup):
            f()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for f, ts in zip(fns, times):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    p.add_argument("--steps", type=int, default=200, help="steps per run")
    p.add_argument("--repeat", type=int, default=15, help="interleaved runs (median)")
    args = p.parse_args(argv)
    print(f"numpy {np.__version__}, float32, Adam, median of {args.repeat} runs of "
          f"{args.steps} steps; per step:")
    print(f"{'case':<10} {'fit ms':>8} {'bare ms':>8} {'ratio':>6}")
    for name in args.cases:
        fit, bare = runners(name, args.steps)
        t_fit, t_bare = interleaved_medians([fit, bare], args.repeat)
        print(f"{name:<10} {t_fit / args.steps * 1e3:8.3f} {t_bare / args.steps * 1e3:8.3f} "
              f"{t_fit / t_bare:6.3f}", flush=True)


if __name__ == "__main__":
    main()
