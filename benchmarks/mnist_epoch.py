"""Wall time of MNIST epochs for a KAN [784, 10, 10], G = 3, k = 3, batch 64, Adam.

Usage::

    python benchmarks/mnist_epoch.py                          # synthetic data, 1 epoch, float32 and float64
    python benchmarks/mnist_epoch.py --data /path/to/mnist    # real MNIST (the four IDX files)
    python benchmarks/mnist_epoch.py --data DIR --epochs 20 --dtypes float32
    python benchmarks/mnist_epoch.py --grid-update            # adaptive knots first (non-uniform path)

An epoch is 60,000 training images in shuffled batches of 64 (938 steps of
``model.loss_and_grad(x, y, loss="ce")`` and ``opt.step()``). The time is the
training loop only; data loading and the final test accuracy are outside it.
Without ``--data`` the inputs are uniform in [-1, 1] with random labels, the
same shapes and dtype as real MNIST (accuracy then means nothing).
"""

from __future__ import annotations

import argparse
import os
import sys

if "--threads" not in " ".join(sys.argv):
    _threads = "1"
else:
    _threads = sys.argv[sys.argv.index("--threads") + 1]
if _threads != "env":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import time            # noqa: E402

import numpy as np     # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpykan as nk  # noqa: E402


def synthetic(n_train=60000, n_test=10000, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train_input": rng.uniform(-1, 1, (n_train, 784)).astype(np.float32),   # (N, 784)
        "train_label": rng.integers(0, 10, n_train),                           # (N,)
        "test_input": rng.uniform(-1, 1, (n_test, 784)).astype(np.float32),
        "test_label": rng.integers(0, 10, n_test),
    }


def run(data, dtype, epochs, batch, lr, grid_update, seed=0):
    """Train from scratch; return the wall time of each epoch (s) and the test accuracy."""
    model = nk.KAN([784, 10, 10], grid=3, k=3, seed=seed, dtype=dtype)
    x_all = data["train_input"].astype(dtype)                   # (N, 784)
    y_all = data["train_label"]                                 # (N,)
    if grid_update:
        model.update_grid(x_all[:2048])                         # adaptive knots, like fit's first step
    opt = nk.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    N = len(x_all)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(N)
        for s in range(0, N, batch):
            idx = order[s:s + batch]
            model.loss_and_grad(x_all[idx], y_all[idx], loss="ce")
            opt.step()
        times.append(time.perf_counter() - t0)
    acc = model.evaluate(data["test_input"].astype(dtype), data["test_label"], loss="ce")["acc"]
    return times, acc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="folder with the MNIST IDX files; synthetic data without it")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    p.add_argument("--grid-update", action="store_true",
                   help="update the grid from samples first (non-uniform knots)")
    p.add_argument("--threads", default="1",
                   help="BLAS threads (set before NumPy loads); 'env' keeps the environment's")
    args = p.parse_args(argv)

    if args.data:
        data = nk.load_mnist(args.data, download=False)
        source = f"MNIST from {args.data}"
    else:
        data = synthetic()
        source = "synthetic data of MNIST's shape"
    print(f"KAN [784, 10, 10] G=3 k=3, batch {args.batch}, Adam lr {args.lr}, {source}, "
          f"BLAS threads {_threads}, grid update: {args.grid_update}")
    for name in args.dtypes:
        times, acc = run(data, np.dtype(name).type, args.epochs, args.batch, args.lr,
                         args.grid_update)
        per = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name}: {args.epochs} epoch(s) in {sum(times):.1f} s "
              f"(per epoch: {per}; median {np.median(times):.2f} s), test accuracy {acc:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
