"""How close can any NumPy code get to the floor? A straight-line training step as a bound.

Usage::

    python benchmarks/overhead_bound.py           # xy at batches 100 .. 16384, mnist64, mnist1024
    python benchmarks/overhead_bound.py --cases xy --batches 1000 --repeat 500

The xy and MNIST cases of ``bench_step.py`` (KAN [2, 5, 1], G = 3, k = 2, MSE;
[784, 10, 10], G = 3, k = 3, cross-entropy; Adam) are written here as the
fewest NumPy calls we found for one training step, about 90:

- every array allocated once; parameters, gradients and Adam's moments each one
  flat array, so Adam's rule (numpykan's own ``Adam._direction``) is 13 calls in
  all and needs no gather;
- no input checks and no dtype casts; the SiLU (``layer._base``) and the loss
  (``get_loss(..., checked=False)``) are numpykan's, the rest is written out;
- the uniform grid's closed form (piece matrix), with a clip in place of the
  handling of points outside the grid: the MNIST cases use the grid range
  (-3, 3) so that the hidden layer's inputs fall inside it (xy's do on (-1, 1));
- the first layer skips ``dL/dx``, as numpykan's training step does.

Before timing, its loss gradients are compared with numpykan's
``loss_and_grad`` on the same parameters and data (float32, relative error
printed; the script stops if it exceeds 1e-4), so it is the same step.

It prints, per batch size, numpykan's step, the straight-line step and the
floor of ``bench_step.py`` (medians of interleaved runs), and both ratios to the
floor. The straight-line ratio is a lower bound for this case: what remains is
one NumPy call per elementwise pass, and there are too many passes per point
(B-spline pieces, SiLU and its derivative, scatter, gather) for the two tiny
products per layer to hide them, at any batch size.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_step as bs  # noqa: E402  (sets 1 BLAS thread before NumPy loads)

import numpy as np  # noqa: E402

import numpykan as nk  # noqa: E402
from numpykan import bspline  # noqa: E402
from numpykan.layer import _base  # noqa: E402
from numpykan.livebasis import piece_matrix  # noqa: E402
from numpykan.losses import get_loss  # noqa: E402

F32 = np.float32
KEYS = ("coef", "w_b", "w_s")
# Grids wide enough that every layer's input falls inside them (the straight-line
# step has no code for points outside); shapes, and so the floor, as in bench_step.
GRID_RANGE = {"xy": (-1.0, 1.0), "mnist64": (-3.0, 3.0), "mnist1024": (-3.0, 3.0)}


class StraightLine:
    """The xy training step as straight-line NumPy on preallocated float32 arrays.

    Copies the parameters of ``model`` (a float32 KAN whose layers share one
    uniform grid) into one flat array; ``step(x, y)`` then does forward, MSE,
    backward and Adam (lr 1e-3) on that copy.
    """

    def __init__(self, model, B):
        self.k, self.G = model.layers[0].k, model.layers[0].G
        k, G = self.k, self.G
        K = G + k
        t = model.layers[0].grid[0].astype(np.float64)         # the same uniform knots everywhere
        self.lo, self.h = t[k], t[k + 1] - t[k]                # base interval's start, spacing
        C = piece_matrix(k)                                    # (k+1, k+1): B_r = sum_p C[r, p] u^p
        self.S = C.astype(F32)                                 # (k+1, k+1)
        self.dS = (C[:, 1:] * np.arange(1, k + 1) / self.h).astype(F32)   # (k+1, k): d/dx
        sizes = [layer.params[key].size for layer in model.layers for key in KEYS]
        self.P = np.concatenate([layer.params[key].ravel()
                                 for layer in model.layers for key in KEYS]).astype(F32)   # (N,)
        self.g, self.m, self.v, self.w = (np.zeros_like(self.P) for _ in range(4))
        self.t = 0
        self.adam = nk.Adam(model.parameters(), lr=1e-3)       # its rule, run on the flat arrays
        self.ws = bspline.Workspace()                          # scratch of the SiLU
        ends = np.cumsum([0] + sizes)
        self.layers = []
        for l, layer in enumerate(model.layers):
            I, O = layer.in_dim, layer.out_dim
            z = {"I": I, "O": O}
            for n, key in enumerate(KEYS):
                a, b = ends[3 * l + n], ends[3 * l + n + 1]
                shape = layer.params[key].shape
                z[key], z["g_" + key] = self.P[a:b].reshape(shape), self.g[a:b].reshape(shape)
            z["span"] = np.empty((B, I), np.intp)              # (B, I) first live basis
            z["pow"] = np.ones((k + 1, B * I), F32)            # (k+1, BI) rows 1, u, .., u^k
            z["val"] = np.empty((k + 1, B * I), F32)           # (k+1, BI) live values
            z["der"] = np.empty((k + 1, B * I), F32)           # (k+1, BI) live derivatives
            z["X"] = np.zeros((B, K + 1, I), F32)              # (B, K+1, I) bases | b(x)
            z["base"] = (np.arange(B)[:, None] * (K + 1) * I + np.arange(I)).astype(np.intp)  # (B, I)
            z["idx"] = np.empty((B, I), np.intp)               # (B, I) flat index of X[b, span, i]
            z["dbx"], z["gat"], z["dx"] = (np.empty((B, I), F32) for _ in range(3))
            z["Wf"] = np.empty((K + 1, I, O), F32)             # (K+1, I, O)
            self.layers.append(z)

    def forward(self, z, x, deriv):
        """``y = X @ Wf`` for one layer, ``x`` (B, I) -> (B, O)."""
        k, K = self.k, self.G + self.k
        B, I = x.shape
        t = z["dbx"]                                           # (B, I) scratch until b'(x)
        np.subtract(x, F32(self.lo), out=t)
        np.multiply(t, F32(1 / self.h), out=t)
        np.clip(t, 0, self.G - 1e-4, out=t)                    # position in spans, inside the grid
        np.copyto(z["span"], t, casting="unsafe")              # floor for t >= 0
        u = z["pow"][1]                                        # (BI,)
        np.subtract(t.reshape(-1), z["span"].reshape(-1), out=u, casting="unsafe")
        for p in range(2, k + 1):
            np.multiply(z["pow"][p - 1], u, out=z["pow"][p])   # u^p
        np.matmul(self.S, z["pow"], out=z["val"])              # (k+1, BI)
        if deriv:
            np.matmul(self.dS, z["pow"][:k], out=z["der"])     # (k+1, BI)
        X = z["X"]
        X.fill(0)
        np.multiply(z["span"], I, out=z["idx"])
        np.add(z["idx"], z["base"], out=z["idx"])              # (B, I)
        flat, idx = X.reshape(-1), z["idx"].reshape(-1)
        for r in range(k + 1):
            flat[r * I:][idx] = z["val"][r]                    # X[b, span + r, i]
        _base("silu", x, X[:, K, :], z["dbx"] if deriv else None, self.ws)   # silu(x), silu'(x)
        Wf = z["Wf"]
        np.multiply(z["coef"].transpose(2, 0, 1), z["w_s"], out=Wf[:K])   # (K, I, O)
        np.copyto(Wf[K], z["w_b"])
        return X.reshape(B, -1) @ Wf.reshape(-1, z["O"])       # (B, O)

    def backward(self, z, dy, input_grad):
        """Parameter gradients into the flat ``g``; ``dL/dx`` (B, I) if ``input_grad``."""
        k, K = self.k, self.G + self.k
        X, Wf = z["X"], z["Wf"]
        B, _, I = X.shape
        gW = (X.reshape(B, -1).T @ dy).reshape(K + 1, I, z["O"])  # (K+1, I, O)
        np.multiply(gW[:K].transpose(1, 2, 0), z["w_s"][:, :, None], out=z["g_coef"])
        np.copyto(z["g_w_b"], gW[K])
        np.sum(gW[:K] * z["coef"].transpose(2, 0, 1), axis=0, out=z["g_w_s"])
        if not input_grad:
            return None
        W2 = Wf.reshape(-1, z["O"])
        Z = np.dot(dy, W2.T) if z["O"] == 1 else dy @ W2.T     # (B, (K+1) I)
        dx, g, Zf = z["dx"], z["gat"], Z.reshape(-1)
        np.multiply(Z.reshape(B, K + 1, I)[:, K, :], z["dbx"], out=dx)
        for r in range(k + 1):
            Zf[r * I:].take(z["idx"], out=g, mode="clip")      # Z[b, span + r, i]
            np.multiply(g, z["der"][r].reshape(B, I), out=g)
            np.add(dx, g, out=dx)
        return dx

    def gradients(self, x, y):
        """Loss and flat gradient, ``x`` (B, I), ``y`` (B, O) or labels (B,) -> float, ``self.g``."""
        h = x
        for l, z in enumerate(self.layers):
            h = self.forward(z, h, deriv=l > 0)
        loss, d = get_loss("mse" if y.ndim == 2 else "ce", checked=False)(h, y)   # d = dL/dout
        for l in reversed(range(len(self.layers))):
            d = self.backward(self.layers[l], d, input_grad=l > 0)
        return loss

    def step(self, x, y):
        """``gradients`` then Adam (lr 1e-3) on the flat arrays: 13 NumPy calls in all."""
        loss = self.gradients(x, y)
        self.t += 1
        self.adam._direction(self.g, self.m, self.v, self.t, self.w)   # numpykan's Adam rule
        np.subtract(self.P, self.w, out=self.P)
        return loss


def check_same_step(model, bound, x, y):
    """Largest gradient difference to numpykan's, relative to the largest gradient."""
    bound.gradients(x, y)
    model.loss_and_grad(x, y, loss="mse" if y.ndim == 2 else "ce")
    err = scale = 0.0
    for layer, z in zip(model.layers, bound.layers):
        for key in KEYS:
            err = max(err, float(np.abs(z["g_" + key] - layer.grads[key]).max()))
            scale = max(scale, float(np.abs(layer.grads[key]).max()))
    return err / scale


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="*", default=["xy", "mnist64", "mnist1024"],
                   choices=["xy", "mnist64", "mnist1024"])
    p.add_argument("--batches", type=int, nargs="*",
                   help="batch sizes for every case (default: xy at 100, 1000, 4096, 16384, "
                        "the others at their own)")
    p.add_argument("--repeat", type=int, default=200, help="timed runs per batch (median)")
    p.add_argument("--threads", default="1", help="BLAS threads, read by bench_step at import")
    args = p.parse_args(argv)

    print(f"numpy {np.__version__}, BLAS threads: {bs.THREADS}, float32, "
          f"median of {args.repeat} interleaved runs")
    print(f"{'case':<10} {'batch':>6} {'numpykan us':>12} {'straight us':>12} {'floor us':>9} "
          f"{'numpykan/floor':>15} {'straight/floor':>15} {'grad rel err':>13}")
    for name in args.cases:
        width, G, k, B0, loss = bs.CASES[name]
        default = [100, 1000, 4096, 16384] if name == "xy" else [B0]
        for B in args.batches or default:
            run(name, B, args.repeat)
        bs.CASES[name] = (width, G, k, B0, loss)


def run(name, B, repeat):
    """One row of the table: the case ``name`` at batch ``B``."""
    width, G, k, _, loss = bs.CASES[name]
    bs.CASES[name] = (width, G, k, B, loss)
    floor, _ = bs.make_floor(name)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (B, width[0])).astype(F32)          # (B, I)
    if loss == "ce":
        y = rng.integers(0, width[-1], B)                      # (B,) labels
    else:
        y = rng.uniform(-1, 1, (B, width[-1])).astype(F32)     # (B, O)
    model = nk.KAN(width, grid=G, k=k, grid_range=GRID_RANGE[name], seed=0, dtype=F32)
    opt = nk.Adam(model.parameters(), lr=1e-3)

    def step():
        model.loss_and_grad(x, y, loss=loss)
        opt.step()

    bound = StraightLine(model, B)
    err = check_same_step(model, bound, x, y)
    if not err < 1e-4:
        raise SystemExit(f"straight-line gradients differ from numpykan's: {err:.2e}")
    t_np, t_sl, t_fl = bs.interleaved_medians([step, lambda: bound.step(x, y), floor],
                                              repeat, warmup=10)
    print(f"{name:<10} {B:6d} {t_np * 1e6:12.0f} {t_sl * 1e6:12.0f} {t_fl * 1e6:9.0f} "
          f"{t_np / t_fl:15.2f} {t_sl / t_fl:15.2f} {err:13.1e}", flush=True)


if __name__ == "__main__":
    main()
