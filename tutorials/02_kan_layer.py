# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2 — One KAN edge, then one layer
#
# An MLP puts a number (a weight) on every edge and a fixed non-linearity on every
# node. A KAN does the opposite: every edge carries a *learnable function* `phi`, and
# a node only adds up what its incoming edges deliver.
#
# **Goals.** After this lesson (about 20 minutes) you can
#
# 1. write one edge `phi(x) = w_b silu(x) + w_s sum_m c_m B_m(x)` and explain each
#    of its three kinds of parameters;
# 2. compute a whole layer `y_j = sum_i phi_ij(x_i)` with two loops, then as a single
#    matrix product, and match `nk.KANLayer.forward` to round-off;
# 3. read the shape of every array on the way, and count a layer's parameters.
#
# Glossary: `B` batch, `I` inputs, `O` outputs, `G` intervals, `k` degree,
# `K = G + k` bases per input.

#
# **Running time.** About 3 s in full mode on a 2-core machine (measured with one BLAS
# thread), a few seconds with `QUICK=1`.
# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.activations import silu

from numpykan.teaching.lesson import QUICK, YourTurn, savefig   # QUICK switch, exercise stubs, figures

# %% [markdown]
# ## 1. One edge
#
# The KAN paper writes an edge as
#
# $$\phi(x) = w_b\, b(x) + w_s\, \mathrm{spline}(x), \qquad
#   \mathrm{spline}(x) = \sum_{m=0}^{K-1} c_m B_m(x).$$
#
# - `spline(x)` is the flexible part: the B-splines of lesson 1 with learnable
#   coefficients `c`.
# - `b(x) = silu(x) = x / (1 + e^{-x})` is a fixed *base function*. It plays the role
#   of a residual connection: at initialization the spline is almost 0, so the edge
#   starts as a scaled SiLU and gradients can flow from step one; and outside the grid,
#   where every `B_m` is 0, the edge still responds to its input.
# - `w_b` and `w_s` are scalars that set how much of each part the edge uses. The
#   spline could absorb `w_s`, but keeping it separate lets the initialization and
#   the optimizer scale the whole spline at once.
#
# Let us build one edge by hand, with our own coefficients.

# %%
G, k = 5, 3
t = nk.bspline.uniform_grid(G, k)                            # (G + 2k + 1,) = (12,)
c = np.array([0.0, 0.4, -0.6, 0.8, 0.2, -0.5, 0.3, 0.0])     # (K,) = (G + k,)
w_b, w_s = 0.5, 1.0

x = np.linspace(-2.5, 2.5, 501 if not QUICK else 101)       # (B,)
Bx = nk.bspline.basis(x[:, None], t, k)[:, 0, :]             # (B, 1, K) -> (B, K)
spline = Bx @ c                                              # (B, K) x (K,) -> (B,)
phi = w_b * silu(x) + w_s * spline                           # (B,)

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(x, w_b * silu(x), "--", label="w_b silu(x)")
ax.plot(x, w_s * spline, ":", label="w_s spline(x)")
ax.plot(x, phi, "k", lw=2, label="phi(x)")
ax.axvspan(-1, 1, color="0.93", zorder=0, label="base interval")
ax.legend(fontsize=8)
ax.set_xlabel("x")
savefig(fig, "02_one_edge.png")

# Outside the extended grid [t_0, t_last] the spline is exactly 0: the edge is its base part.
far = np.abs(x) > t[-1]
assert np.all(spline[far] == 0) and np.allclose(phi[far], w_b * silu(x[far]))

# %% [markdown]
# Now the same edge inside numpykan: a `KANLayer` with one input and one output.
# Its parameters live in the dict `layer.params` with keys `coef` `(I, O, K)`, `w_b`
# `(I, O)` and `w_s` `(I, O)`; we overwrite them with ours and ask the layer for its
# per-edge activations `(B, I, O)`.

# %%
layer = nk.KANLayer(1, 1, grid=G, k=k, seed=0)
print(layer)
print({key: v.shape for key, v in layer.params.items()}, "grid", layer.grid.shape)
layer.params["coef"][...] = c                                # (1, 1, K)
layer.params["w_b"][...] = w_b
layer.params["w_s"][...] = w_s
A = layer.activations(x[:, None])                            # (B, I, O) = (B, 1, 1)
print("activations:", A.shape)
# Checkpoint: the library's edge is our edge.
assert np.abs(A[:, 0, 0] - phi).max() < 1e-12

# %% [markdown]
# ## 2. Initialization: every edge starts as a scaled SiLU
#
# numpykan follows the paper and pykan: `coef` is small noise (so `spline(x) ~ 0`),
# `w_s = 1 / sqrt(I)`, and `w_b` is pykan's `U(-1, 1) / sqrt(I)` (Xavier-uniform,
# `U(-a, a)` with `a = sqrt(6 / (I + O))`, with `scale_base_mu=None, scale_base_sigma=None`).
# A fresh layer therefore computes nearly
# `y_j = sum_i w_b[i, j] silu(x_i)` — a linear layer after a SiLU.

# %%
I, O = 3, 2
fresh = nk.KANLayer(I, O, grid=G, k=k, seed=1)
xb = np.random.default_rng(0).uniform(-1, 1, (200, I))       # (B, I)
y_fresh = fresh.forward(xb)                                  # (B, O)
y_silu = silu(xb) @ fresh.w_b                                # (B, I) x (I, O) -> (B, O)
spline_size = np.abs(fresh.spline_values(xb)).max()
print(f"w_s = {fresh.w_s[0, 0]:.4f} (1/sqrt(3) = {1 / np.sqrt(3):.4f});  max |spline| = {spline_size:.3f}")
print(f"max |y - silu(x) @ w_b| = {np.abs(y_fresh - y_silu).max():.3f}")
assert np.allclose(fresh.w_s, 1 / np.sqrt(I))
assert np.all(np.abs(fresh.w_b) <= 1 / np.sqrt(I))
assert spline_size < 0.3 / G + 1e-12                         # coef in [-0.25, 0.25] / G, bases sum to 1
assert np.abs(y_fresh - y_silu).max() < 0.2

# %% [markdown]
# ## 3. A layer, with loops
#
# A layer with `I` inputs and `O` outputs has `I * O` edges, each with its own
# `coef[i, j, :]`, `w_b[i, j]`, `w_s[i, j]`, and one knot vector per *input*
# `grid[i]` (all edges leaving input `i` share it). Output node `j` adds up:
#
# $$y_{bj} = \sum_{i} \phi_{ij}(x_{bi}).$$
#
# **Your turn.** Write the sum literally: `layer_forward(x, coef, w_b, w_s, grid, k)`
# returns `y` of shape `(B, O)` for `x` `(B, I)`, `coef` `(I, O, K)`, `w_b` and `w_s`
# `(I, O)` and one knot vector per input, `grid` `(I, G + 2k + 1)`. Use
# `nk.bspline.basis` for the bases (it takes all inputs at once and returns
# `(B, I, K)`, each input on its own row of `grid`) and `silu` for the base function;
# two loops over `i` and `j` are fine. The cell after gives a fresh layer random
# coefficients, so that the splines matter, and compares your `y` with `layer.forward`.

# %% tags=["exercise"]
def layer_forward(x, coef, w_b, w_s, grid, k):
    """y[b, j] = sum_i (w_b[i, j] silu(x[b, i]) + w_s[i, j] sum_m coef[i, j, m] B_m(x[b, i])): (B, O)."""
    ### BEGIN SOLUTION
    Bas = nk.bspline.basis(x, grid, k)                       # (B, I, K): each input on its own grid
    I, O = w_b.shape
    y = np.zeros((x.shape[0], O))                            # (B, O)
    for i in range(I):
        for j in range(O):
            spline_ij = Bas[:, i, :] @ coef[i, j]            # (B, K) x (K,) -> (B,)
            y[:, j] += w_b[i, j] * silu(x[:, i]) + w_s[i, j] * spline_ij
    return y
    ### END SOLUTION


# %%
rng = np.random.default_rng(2)
fresh.params["coef"][...] = rng.normal(0, 0.5, fresh.coef.shape)   # (I, O, K)
B = xb.shape[0]
Bas = nk.bspline.basis(xb, fresh.grid, k)                    # (B, I, K): each input on its own grid

y_loop = layer_forward(xb, fresh.coef, fresh.w_b, fresh.w_s, fresh.grid, k)   # (B, O)
y_lib = fresh.forward(xb)                                    # (B, O)
print(f"max |loops - layer.forward| = {np.abs(y_loop - y_lib).max():.1e}")
assert np.abs(y_loop - y_lib).max() < 1e-12

# %% [markdown]
# ## 4. The same layer as one matrix product
#
# The loops hide a simple structure. Fold `w_s` into the coefficients,
# `W[i, m, j] = w_s[i, j] c[i, j, m]`. Then
#
# $$y_{bj} = \sum_i w_b[i,j]\, \mathrm{silu}(x_{bi})
#           + \sum_{i, m} B_m(x_{bi})\, W[i, m, j].$$
#
# The second sum runs over the pair `(i, m)`. Flatten that pair into one axis of
# length `I * K` and it is an ordinary matrix product. The whole layer is two matmuls:
#
# ```
# y = silu(x) @ w_b   +   Bas.reshape(B, I*K) @ W.reshape(I*K, O)
#     (B, I) x (I, O)     (B, I*K) x (I*K, O)                      -> (B, O)
# ```
#
# This is the trick that makes a NumPy KAN fast (efficient-kan popularized it): the
# spline part costs what a dense layer with `I * K` inputs costs, and we never build
# the `(B, I, O, K)` tensor of every basis on every edge.

# %%
W = fresh.w_s[:, :, None] * fresh.coef                       # (I, O, K)
W = W.transpose(0, 2, 1).reshape(I * (G + k), O)             # (I, K, O) -> (I*K, O)
y_mm = silu(xb) @ fresh.w_b + Bas.reshape(B, I * (G + k)) @ W   # (B, I)x(I, O) + (B, I*K)x(I*K, O) -> (B, O)
print(f"max |matmul - layer.forward| = {np.abs(y_mm - y_lib).max():.1e}")
assert np.abs(y_mm - y_lib).max() < 1e-12

# %% [markdown]
# The library does the same, with the basis laid out `(B, K, I)` instead of
# `(B, I, K)` (a different flattening order, the same sum). Its pure function
# `numpykan.layer.forward(x, params, grid, k)` returns the output and a `cache` of
# what the backward pass will need (lesson 3):

# %%
from numpykan import layer as layer_core

y_pure, cache = layer_core.forward(xb, fresh.params, fresh.grid, k)   # (B, O), dict
print("cache holds:", sorted(cache))
assert np.array_equal(y_pure, y_lib)

# %% [markdown]
# How much does the matmul form buy? Time both on a bigger layer. (Not an assert:
# timings depend on the machine.)

# %%
big_B, big_I, big_O = (256, 16, 16) if QUICK else (2048, 64, 32)
big = nk.KANLayer(big_I, big_O, grid=G, k=k, seed=0)
xbig = np.random.default_rng(3).uniform(-1, 1, (big_B, big_I))    # (B, I)

t0 = time.perf_counter()
Bb = nk.bspline.basis(xbig, big.grid, k)                           # (B, I, K)
y_slow = np.zeros((big_B, big_O))
for i in range(big_I):
    for j in range(big_O):
        y_slow[:, j] += big.w_b[i, j] * silu(xbig[:, i]) + big.w_s[i, j] * (Bb[:, i, :] @ big.coef[i, j])
t_loop = time.perf_counter() - t0

t0 = time.perf_counter()
y_fast = big(xbig)                                             # inference: no cache
t_lib = time.perf_counter() - t0
print(f"{big_I * big_O} edges, batch {big_B}: loops {1e3 * t_loop:.1f} ms, layer(x) {1e3 * t_lib:.1f} ms")
assert np.allclose(y_slow, y_fast, atol=1e-10)

# %% [markdown]
# ## 5. Counting parameters
#
# Each edge has `K = G + k` coefficients plus `w_b` and `w_s`: `I * O * (G + k + 2)`
# parameters per layer. A `[2, 5, 1]` KAN with `G = 5`, `k = 3` has
# `(2*5 + 5*1) * 10 = 150`. Compare an MLP layer, `I * O + O`: a KAN layer holds
# about `G + k + 2` times more numbers per edge, so fair comparisons (lesson 7) use
# narrower KANs.

# %%
for (ii, oo) in [(1, 1), (3, 2), (2, 5)]:
    lay = nk.KANLayer(ii, oo, grid=G, k=k)
    assert lay.num_parameters() == ii * oo * (G + k + 2)
model = nk.KAN([2, 5, 1], grid=5, k=3)
print(model, "->", model.num_parameters(), "parameters")
assert model.num_parameters() == 150

# %% [markdown]
# ## Summary
#
# - An edge is `phi(x) = w_b silu(x) + w_s sum_m c_m B_m(x)`; outside its grid only the
#   SiLU part remains. A fresh edge is nearly `w_b silu(x)`.
# - A node sums its incoming edges; a layer is `I * O` edges, one knot vector per input.
# - Folding `w_s` into `coef` turns the spline part into one `(B, I*K) x (I*K, O)`
#   matrix product. Loops, the matmul and `KANLayer.forward` agree to 1e-12.
# - A layer has `I * O * (G + k + 2)` parameters.
#
# ## Exercises
#
# 1. Build a `KANLayer(1, 1, base_fun="zero")` and set its coefficients so that the
#    edge approximates `x^2` on `[-1, 1]` (hint: `nk.bspline.fit_coef`). What happens
#    for `|x| > 1`?
# 2. With `base_fun="identity"`, what function does a fresh layer compute? Why might
#    one prefer it, or not, to SiLU?
# 3. In the matmul form we flattened `(i, m)` with `m` fastest; the library flattens
#    `(m, i)`. Rewrite section 4 with the library's layout and check you get the same `y`.
# 4. Estimate the memory of the naive `(B, I, O, K)` tensor for MNIST's first layer
#    (`B = 1024, I = 784, O = 10, G = 3, k = 3`) in float32. Compare with `(B, I*K)`.

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** `fit_coef` on samples of `x^2` gives the coefficients; on `[-1, 1]` a cubic
# spline with `G = 5` is exact for a quadratic (it lies in the spline space). For
# `|x| > 1` only the extension bases are left, and beyond the extended grid
# (`|x| > 1 + 3 * 2/5 = 2.2`) the edge is exactly 0.

# %% tags=["solution"]
sq = nk.KANLayer(1, 1, grid=5, k=3, base_fun="zero", seed=0)
xs_sq = np.linspace(-1, 1, 200)[:, None]                     # (200, 1)
sq.params["coef"][...] = nk.bspline.fit_coef(xs_sq, xs_sq ** 2, sq.grid, 3)[:, None, :]   # (1, 1, K)
sq.params["w_s"][...] = 1.0
inside_err = np.abs(sq.forward(xs_sq)[:, 0] - xs_sq[:, 0] ** 2).max()
far_x = np.array([[2.5], [-3.0]])
print(f"x^2 edge: max error on [-1, 1] {inside_err:.1e}; at x = 2.5, -3: {sq.forward(far_x)[:, 0]}")
assert inside_err < 1e-12 and np.all(sq.forward(far_x) == 0)

# %% [markdown] tags=["solution"]
# **2.** With `base_fun="identity"` a fresh layer computes nearly `x @ w_b`: a linear
# layer (the splines start near 0). Linear is a neutral start and keeps the edge
# unbounded outside the grid; SiLU gives a little curvature from the first step and
# damps negative inputs. Which is better depends on the data: an open question, no
# single answer.

# %% tags=["solution"]
lin = nk.KANLayer(I, O, grid=G, k=k, base_fun="identity", seed=1)
gap = np.abs(lin.forward(xb) - xb @ lin.w_b).max()
print(f"identity base: max |y - x @ w_b| = {gap:.3f} (the small initial splines)")
assert gap < 0.2

# %% [markdown] tags=["solution"]
# **3.** Flattening `(m, i)` with `i` fastest: the basis as `(B, K, I)`, the weights
# as `(K, I, O)`, both reshaped over the joint axis. Same sum, same `y`.

# %% tags=["solution"]
W_lib = (fresh.w_s[:, :, None] * fresh.coef).transpose(2, 0, 1).reshape((G + k) * I, O)   # (K*I, O)
Bas_lib = Bas.transpose(0, 2, 1).reshape(B, (G + k) * I)     # (B, K*I)
y_lib_layout = silu(xb) @ fresh.w_b + Bas_lib @ W_lib       # (B, O)
assert np.abs(y_lib_layout - y_lib).max() < 1e-12

# %% [markdown] tags=["solution"]
# **4.** `(B, I, O, K)` in float32 for `B = 1024, I = 784, O = 10, K = 6`:
# 1024 * 784 * 10 * 6 * 4 bytes = 193 MB; `(B, I*K)` is 19 MB, ten times less (a
# factor `O`).

# %% tags=["solution"]
naive = 1024 * 784 * 10 * 6 * 4 / 1e6
flat = 1024 * 784 * 6 * 4 / 1e6
print(f"naive {naive:.0f} MB, flat {flat:.0f} MB")
assert round(naive) == 193 and round(flat) == 19
