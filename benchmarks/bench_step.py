"""Time one float32 training step against the bare matrix products it must do (the floor).

Usage::

    python benchmarks/bench_step.py                 # all cases, 1 BLAS thread
    python benchmarks/bench_step.py --cases xy mnist64 --repeat 50
    python benchmarks/bench_step.py --threads 2     # let BLAS use 2 threads

A *step* is what :func:`numpykan.fit` does per batch::

    model.loss_and_grad(x, y, loss)   # forward, loss, backward
    opt.step()                        # Adam

Training needs no gradient with respect to the data, so ``loss_and_grad``
skips the first layer's ``dL/dx`` by default (as autograd frameworks do for an
input that does not require a gradient), and its floor leaves out that layer's
``Z`` product. The column ``+dx ratio`` times the step with ``input_grad=True``
against the floor with every ``Z``, for comparison.

The *floor* is only the matrix products of the same shapes, in NumPy, per layer
``l`` with ``X_l = [B-spline bases | b(x)]`` of shape ``(B, (K+1) I_l)``::

    forward:   y_l  = X_l @ W_l                 (B, (K+1)I) x ((K+1)I, O) -> (B, O)
    backward:  gW_l = X_l.T @ dy_l              ((K+1)I, B) x (B, O)      -> ((K+1)I, O)
               Z_l  = dy_l @ W_l.T              (B, O) x (O, (K+1)I)      -> (B, (K+1)I)

each the fastest way NumPy has (``Z`` of a layer with ``O = 1`` is an outer
product: ``np.dot`` runs it 3-5x faster than ``@``, and the step uses it too).

No NumPy KAN can skip these. ``ratio = step / floor``; both are medians of
the same number of runs measured in the same process, interleaved, so that
load from other jobs hits both alike: ``--repeat`` runs, or more for a fast
case, enough that its step runs for ``--min-time`` seconds in all (a median of
40 steps of 2 ms spans 0.1 s, and one busy moment of the machine moves it).

Peak memory: ``tracemalloc`` (NumPy reports its array buffers to it) is started
before the model is built, so parameters, optimizer state, caches and any
reused workspace all count; ``peak`` is the largest traced total during a
steady-state step. ``floor MB`` is the size of the arrays the floor touches
(all ``X_l``, ``W_l``, ``y_l``, ``dy_l``, ``gW_l``, ``Z_l``).
"""

from __future__ import annotations

import argparse
import os
import sys


def _set_threads(argv):
    """Set the BLAS thread count before NumPy is imported (it is read at import)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
            break
        if a.startswith("--threads="):
            n = a.split("=", 1)[1]
            break
    else:
        n = "1"
    if n != "env":
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
    return n


THREADS = _set_threads(sys.argv)

import math            # noqa: E402
import time            # noqa: E402
import tracemalloc     # noqa: E402

import numpy as np     # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpykan as nk  # noqa: E402
from numpykan import bspline  # noqa: E402

# name: (width, G, k, batch, loss)
CASES = {
    "xy": ([2, 5, 1], 3, 2, 1000, "mse"),
    "mnist64": ([784, 10, 10], 3, 3, 64, "ce"),
    "mnist1024": ([784, 10, 10], 3, 3, 1024, "ce"),
    "image": ([2, 128, 128, 128, 128, 1], 10, 3, 4096, "mse"),
    "wide": ([256, 256], 5, 3, 1024, "mse"),
}
TARGETS = {"xy": 4.0, "mnist64": 4.0, "mnist1024": 3.0, "image": 2.0, "wide": 2.0}


def make_case(name, seed=0, input_grad=False):
    width, G, k, B, loss = CASES[name]
    rng = np.random.default_rng(seed)
    model = nk.KAN(width, grid=G, k=k, seed=seed, dtype=np.float32)
    x = rng.uniform(-1, 1, (B, width[0])).astype(np.float32)              # (B, I)
    if loss == "ce":
        y = rng.integers(0, width[-1], B)                                  # (B,) labels
    else:
        y = rng.uniform(-1, 1, (B, width[-1])).astype(np.float32)         # (B, O)
    opt = nk.Adam(model.parameters(), lr=1e-3)

    def step():
        model.loss_and_grad(x, y, loss=loss, input_grad=input_grad)
        opt.step()

    return model, step


def make_floor(name, seed=1, input_grad=False):
    """The floor's arrays and a function doing only its matrix products.

    Without ``input_grad`` the first layer's ``Z`` (only ``dL/dx`` needs it) is left out.
    """
    width, G, k, B, _ = CASES[name]
    rng = np.random.default_rng(seed)
    K1 = G + k + 1                                             # K spline bases + b(x)
    layers = []
    for I, O in zip(width[:-1], width[1:]):
        X = rng.standard_normal((B, K1 * I)).astype(np.float32)     # (B, (K+1)I)
        W = rng.standard_normal((K1 * I, O)).astype(np.float32)     # ((K+1)I, O)
        dy = rng.standard_normal((B, O)).astype(np.float32)         # (B, O)
        layers.append((X, W, dy))

    def floor():
        for X, W, _ in layers:
            X @ W                                              # (B, (K+1)I) x ((K+1)I, O)
        for l, (X, W, dy) in reversed(list(enumerate(layers))):
            X.T @ dy                                           # ((K+1)I, B) x (B, O)
            if l > 0 or input_grad:                            # (B, O) x (O, (K+1)I); for O = 1 an
                np.dot(dy, W.T) if W.shape[1] == 1 else dy @ W.T   # outer product, which @ leaves to a
                                                               # slow loop and np.dot gives to BLAS

    nbytes = 0
    for l, (X, W, dy) in enumerate(layers):
        # X, W, y, dy, gW (like W), Z (like X)
        nbytes += X.nbytes + 2 * W.nbytes + 2 * dy.nbytes + (X.nbytes if l > 0 or input_grad else 0)
    return floor, nbytes


def _one_run(f, tries=3):
    """Seconds of one call of ``f``, the fastest of ``tries`` (to size the number of runs)."""
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved_medians(fns, repeat, warmup=2):
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


def peak_memory(name, input_grad=False):
    """Largest traced memory (bytes) during a steady-state step, everything included."""
    tracemalloc.start()
    try:
        _, step = make_case(name, input_grad=input_grad)
        for _ in range(2):                                     # buffers and Adam state exist
            step()
        tracemalloc.reset_peak()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def bench_basis(repeat, Gs=(5, 20, 100), B=1024, I=784, k=3):
    """Median seconds of ``local_basis`` (live values and derivatives) and of the dense scatter.

    Two kinds of grid: ``uniform`` (closed form, what a fresh model has) and
    ``non-uniform`` (every knot jittered by up to h/4, as after ``update_grid``).
    """
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (B, I)).astype(np.float32)          # (B, I)
    rows = []
    for kind in ("uniform", "non-uniform"):
        for G in Gs:
            t = bspline.uniform_grid(G, k)                     # (G+2k+1,)
            grid = np.tile(t, (I, 1))                          # (I, G+2k+1)
            if kind == "non-uniform":
                grid = grid + rng.uniform(-0.25, 0.25, grid.shape) * (t[1] - t[0])
            grid = grid.astype(np.float32)
            if hasattr(bspline, "Workspace"):                  # reuse arrays as a layer does
                ws = bspline.Workspace()
                live = lambda: bspline.local_basis(x, grid, k, derivative=True,  # noqa: E731
                                                   check=False, workspace=ws)
                lb = live()
                X = np.empty((B, G + k + 1, I), dtype=x.dtype)  # (B, K+1, I) like the layer's
                dense = lambda: lb.scatter(out=X)              # noqa: E731
            else:                                              # older numpykan, for before/after
                live = lambda: bspline.local_basis(x, grid, k, derivative=True,  # noqa: E731
                                                   check=False)
                lb = live()
                dense = lambda: lb.scatter()                   # noqa: E731
            t_live, t_dense = interleaved_medians([live, dense], repeat)
            rows.append((kind, G, t_live, t_dense))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    p.add_argument("--repeat", type=int, default=20, help="timed runs per case (median), at least")
    p.add_argument("--min-time", type=float, default=2.0,
                   help="seconds of timed steps per case, at least: fast cases get more runs")
    p.add_argument("--threads", default="1",
                   help="BLAS threads (set before NumPy loads); 'env' keeps the environment's")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = p.parse_args(argv)

    print(f"numpy {np.__version__}, BLAS threads: {THREADS}, float32, "
          f"median of at least {args.repeat} runs, {args.min_time:g} s of steps per case")
    print("training step (no dL/dx of the data) vs its floor; in brackets: the step with "
          "input_grad=True vs the floor with every Z")
    print(f"{'case':<10} {'runs':>5} {'step ms':>9} {'floor ms':>9} {'ratio':>6} {'[+dx]':>7} {'target':>6}"
          f" {'peak MB':>8} {'floor MB':>9} {'mem ratio':>9} {'[+dx]':>7}")
    for name in args.cases:
        _, step = make_case(name)
        _, step_dx = make_case(name, input_grad=True)
        floor, floor_bytes = make_floor(name)
        floor_dx, floor_dx_bytes = make_floor(name, input_grad=True)
        reps = args.repeat if name not in ("image",) else max(5, args.repeat // 4)
        reps = max(reps, min(10000, math.ceil(args.min_time / _one_run(step))))
        t_step, t_dx, t_floor, t_floor_dx = interleaved_medians([step, step_dx, floor, floor_dx], reps)
        del step, step_dx, floor, floor_dx
        if args.no_memory:
            peak_s, mem_ratio, mem_dx = "-", "-", "-"
        else:
            peak = peak_memory(name)
            peak_s, mem_ratio = f"{peak / 1e6:.1f}", f"{peak / floor_bytes:.2f}"
            mem_dx = f"{peak_memory(name, input_grad=True) / floor_dx_bytes:.2f}"
        print(f"{name:<10} {reps:5d} {t_step * 1e3:9.2f} {t_floor * 1e3:9.2f} {t_step / t_floor:6.2f}"
              f" {t_dx / t_floor_dx:7.2f} {TARGETS[name]:6.1f} {peak_s:>8} {floor_bytes / 1e6:9.1f}"
              f" {mem_ratio:>9} {mem_dx:>7}", flush=True)

    print("\nbasis evaluation, x (1024, 784) float32, k = 3 (local_basis: live values and derivatives):")
    print(f"{'grid':<12} {'G':>4} {'local_basis ms':>15} {'dense scatter ms':>17}")
    rows = bench_basis(max(5, args.repeat // 2))
    for kind, G, t_live, t_dense in rows:
        print(f"{kind:<12} {G:4d} {t_live * 1e3:15.2f} {t_dense * 1e3:17.2f}")
    for kind in ("uniform", "non-uniform"):
        t = {G: t_live for kd, G, t_live, _ in rows if kd == kind}
        print(f"ratio local_basis G=100 / G=5, {kind}: {t[100] / t[5]:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
