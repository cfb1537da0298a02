"""Time a Laplacian-loss training step against the plain training step of the same model.

Usage::

    python benchmarks/bench_derivatives.py              # the four cases below, 1 BLAS thread
    python benchmarks/bench_derivatives.py --min-time 4

A *plain step* is ``model.loss_and_grad(x, y, "mse")`` then ``opt.step()`` (Adam).
A *Laplacian step* is the same with the loss ``mean_b (lap u(x_b) - f(x_b))^2``
(:class:`numpykan.derivatives.DerivativeLoss`, order 2): forward jets ``(h, J, H)``
through every layer, ``B^(0..3)`` and ``b^(0..3)`` per edge, and the reverse pass
into every parameter. Cases: pykan's PDE model ``[2, 2, 1]`` at 441 points and a
``[2, 10, 1]`` at 2601 points (the 51 x 51 mesh), each at ``G = 5`` and ``G = 20``,
``k = 3``, float64, on grids updated from the points (non-uniform, as during the
PDE's training). Both steps run interleaved in one process and are timed in CPU
time of this process (on a shared machine, time spent waiting for a core does not
count), so load hits them alike; the medians and their ratio are printed. The ratio should be a small
constant that does not grow with ``G``.
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
from numpykan import derivatives, pde  # noqa: E402

CASES = [("[2, 2, 1] x 441", [2, 2, 1], 21, 5), ("[2, 2, 1] x 441", [2, 2, 1], 21, 20),
         ("[2, 10, 1] x 2601", [2, 10, 1], 51, 5), ("[2, 10, 1] x 2601", [2, 10, 1], 51, 20)]


def _residual(jet, x, y):
    """``L = mean (lap u - f)^2``; ``dL/dH[b, 0, d] = 2 r_b / B`` for every direction ``d``."""
    r = jet.H.sum(axis=2) - y                                  # (B, 1)
    gH = np.repeat(2.0 * r[:, :, None] / r.shape[0], x.shape[1], axis=2)   # (B, 1, I)
    return float(np.mean(r ** 2)), {"H": gH}


def bench(width, n, G, min_time):
    """Median seconds of one plain and one Laplacian step, interleaved: ``(plain, laplacian, runs)``."""
    x = pde.interior_points(n, "mesh")                         # (n^2, 2)
    f = pde.source(x)                                          # (n^2, 1)
    model = nk.KAN(width, grid=G, k=3, seed=0)
    model.update_grid(x)
    opt = nk.Adam(model.parameters(), lr=1e-4)
    loss = derivatives.DerivativeLoss(_residual, order=2)

    def plain():
        model.loss_and_grad(x, f, "mse")
        opt.step()

    def laplacian():
        loss.loss_and_grad(model, x, f)
        opt.step()

    for fn in (plain, laplacian):                              # warm up caches and workspaces
        fn()
    times = {plain: [], laplacian: []}
    t_end = time.perf_counter() + min_time
    while time.perf_counter() < t_end or len(times[plain]) < 20:
        for fn in (plain, laplacian):
            t0 = time.process_time()
            fn()
            times[fn].append(time.process_time() - t0)
    return float(np.median(times[plain])), float(np.median(times[laplacian])), len(times[plain])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-time", type=float, default=2.0,
                        help="seconds of interleaved steps per case (default 2)")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, float64, k = 3, grids updated from the points; "
          f"median CPU time of interleaved steps, at least {args.min_time:g} s per case")
    print(f"{'model x points':<18} {'G':>3} {'runs':>5} {'plain ms':>9} {'laplacian ms':>13} {'ratio':>6}")
    ratios = {}
    for name, width, n, G in CASES:
        t_plain, t_lap, runs = bench(width, n, G, args.min_time)
        ratios[(name, G)] = t_lap / t_plain
        print(f"{name:<18} {G:>3} {runs:>5} {1e3 * t_plain:>9.2f} {1e3 * t_lap:>13.2f} "
              f"{t_lap / t_plain:>6.2f}")
    for name in dict.fromkeys(n for n, *_ in CASES):
        print(f"{name}: ratio at G = 20 / ratio at G = 5 = {ratios[(name, 20)] / ratios[(name, 5)]:.2f}")
    return ratios


if __name__ == "__main__":
    main()
