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
# # Lesson 3 — The backward pass by hand
#
# numpykan has no automatic differentiation. Every gradient is derived on paper,
# written in code, and checked against finite differences. In this lesson you do
# the derivation for a KAN layer yourself.
#
# **Goals.** After this lesson (about 25 minutes) you can
#
# 1. derive `dL/dcoef`, `dL/dw_b`, `dL/dw_s` and `dL/dx` for a KAN layer from the
#    forward formula;
# 2. implement them in a few NumPy lines and match `KANLayer.backward`;
# 3. use `nk.gradcheck` to compare an analytic gradient with central differences and
#    read its report;
# 4. explain why a gradient check fails at a knot for a degree-1 spline, and why
#    checks should use points away from knots.

# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.activations import silu, silu_grad

from _lesson import QUICK, savefig                          # QUICK switch, figure folder (next to this file)

# %% [markdown]
# ## 1. The derivation
#
# The forward pass of lesson 2, for sample `b`, output `j`:
#
# $$y_{bj} = \sum_i \Big( w_b[i,j]\, b(x_{bi}) + w_s[i,j] \sum_m c[i,j,m]\, B_m(x_{bi}) \Big).$$
#
# Somewhere downstream a scalar loss `L` is computed from `y`. Backpropagation hands
# the layer `dy[b, j] = dL/dy[b, j]`, shape `(B, O)`, and the layer must return the
# gradient for each parameter and for its input. The chain rule says: for any
# quantity `theta`, `dL/dtheta = sum_{b,j} dy[b,j] * dy_{bj}/dtheta`. We only need
# the partial derivatives of `y`, which are easy because `y` is a sum:
#
# **Base weight.** `w_b[i, j]` appears only in `y_{bj}`, multiplied by `b(x_{bi})`:
#
# $$\frac{\partial L}{\partial w_b[i,j]} = \sum_b b(x_{bi})\, dy_{bj}
#   \quad\Longrightarrow\quad g_{w_b} = b(x)^T\, dy \;\; (I, B) \times (B, O).$$
#
# **Coefficients.** `c[i, j, m]` appears in `y_{bj}` multiplied by `w_s[i,j] B_m(x_{bi})`:
#
# $$\frac{\partial L}{\partial c[i,j,m]} = w_s[i,j] \sum_b B_m(x_{bi})\, dy_{bj}.$$
#
# **Spline weight.** `w_s[i, j]` multiplies the whole spline `s_{ij}(x) = sum_m c[i,j,m] B_m(x)`:
#
# $$\frac{\partial L}{\partial w_s[i,j]} = \sum_b s_{ij}(x_{bi})\, dy_{bj}
#   = \sum_m c[i,j,m] \sum_b B_m(x_{bi})\, dy_{bj}.$$
#
# The inner sum `sum_b B_m(x_bi) dy_bj` appears in both; call it `P[i, j, m]`. Then
# `g_coef = w_s * P` and `g_ws = sum_m c * P`: compute `P` once.
#
# **Input.** `x_{bi}` enters every output `j` through `phi_ij`, so we sum over `j`, and
# differentiate each edge with the chain rule (`b'` is `silu'`, `B'` is lesson 1's
# derivative formula):
#
# $$\frac{\partial L}{\partial x_{bi}} = \sum_j dy_{bj}\, \phi'_{ij}(x_{bi}), \qquad
#   \phi'_{ij}(x) = w_b[i,j]\, b'(x) + w_s[i,j] \sum_m c[i,j,m]\, B'_m(x).$$
#
# This `dL/dx` is what the previous layer receives as its `dy`: it is how a deep KAN
# backpropagates.

# %% [markdown]
# ## 2. The same formulas in NumPy
#
# A layer with 3 inputs and 2 outputs, random coefficients so the splines matter, and
# the loss `L = 1/2 sum (y - target)^2`, whose `dL/dy = y - target`.

# %%
G, k = 5, 3
I, O = 3, 2
B = 16 if QUICK else 64
rng = np.random.default_rng(0)

layer = nk.KANLayer(I, O, grid=G, k=k, seed=0)               # float64 by default: needed for gradcheck
layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)   # (I, O, K)
x = rng.uniform(-0.95, 0.95, (B, I))                         # (B, I)
target = rng.normal(0, 1, (B, O))                            # (B, O)


def loss():
    """L = 1/2 sum (y - target)^2 for the layer's current parameters and the current x."""
    y = layer.forward(x)                                     # (B, O)
    return 0.5 * float(np.sum((y - target) ** 2))


y = layer.forward(x)                                         # (B, O)
dy = y - target                                              # (B, O) dL/dy

# %%
Bas = nk.bspline.basis(x, layer.grid, k)                     # (B, I, K)
dBas = nk.bspline.basis_derivative(x, layer.grid, k)         # (B, I, K)
c, w_b, w_s = layer.coef, layer.w_b, layer.w_s               # (I, O, K), (I, O), (I, O)

g_wb = silu(x).T @ dy                                        # (I, B) x (B, O) -> (I, O)
P = np.einsum("bim,bj->ijm", Bas, dy)                        # sum_b B_m(x_bi) dy_bj -> (I, O, K)
g_coef = w_s[:, :, None] * P                                 # (I, O, K)
g_ws = np.einsum("ijm,ijm->ij", c, P)                        # (I, O)
dphi = (w_b[None] * silu_grad(x)[:, :, None]                 # (B, I, O): phi'_ij(x_bi)
        + w_s[None] * np.einsum("bim,ijm->bij", dBas, c))
g_x = np.einsum("bj,bij->bi", dy, dphi)                      # (B, I)

mine = {"coef": g_coef, "w_b": g_wb, "w_s": g_ws}
print({key: v.shape for key, v in mine.items()}, "x:", g_x.shape)

# %% [markdown]
# Now the library's backward. `layer.backward(dy)` fills `layer.grads` (same keys as
# `layer.params`) and returns `dL/dx`. Internally it uses the matmul layout of
# lesson 2 (`Bd.T @ dy` instead of our `einsum`), and sums `B'` only over the `k + 1`
# live bases.

# %%
layer.forward(x)
dx_lib = layer.backward(dy)                                  # (B, I); fills layer.grads
for key in mine:
    err = np.abs(mine[key] - layer.grads[key]).max()
    print(f"{key:5s} max |by hand - library| = {err:.1e}")
    assert err < 1e-12
print(f"x     max |by hand - library| = {np.abs(g_x - dx_lib).max():.1e}")
assert np.abs(g_x - dx_lib).max() < 1e-12

# %% [markdown]
# ## 3. Checking against finite differences with `gradcheck`
#
# Agreement between two implementations of the *same* formula proves nothing about
# the formula. The independent referee is the definition of the derivative. For each
# entry `theta` of a parameter array, the central difference
#
# $$\frac{L(\theta + \varepsilon) - L(\theta - \varepsilon)}{2\varepsilon}$$
#
# has error `O(eps^2)` from truncation plus about `1e-16 |L| / eps` from round-off; with
# `eps = 1e-6` in float64, both are tiny. (In float32 round-off alone is ~0.1, so
# gradient checks use float64.)
#
# `nk.gradcheck(f, params, grads)` perturbs each array in `params` in place, calls
# `f()` to recompute the loss, compares with `grads`, restores the arrays, and returns
# a report. An element passes when `|a - n| <= atol + rtol * max(|a|, |n|)`.

# %%
report = nk.gradcheck(loss, layer.params, mine)
print(report)
assert report.ok

# %% [markdown]
# The input gradient is checked the same way, with `x` as the "parameter" (the
# `loss` function reads the global `x`, which gradcheck perturbs in place):

# %%
report_x = nk.gradcheck(loss, {"x": x}, {"x": g_x})
print(report_x)
assert report_x.ok

# %% [markdown]
# A gradient check is only useful if it can fail. Plant a classic mistake — forget
# `w_s` in the coefficient gradient — and watch the report name the culprit:

# %%
wrong = dict(mine, coef=P)                                   # missing the w_s factor
bad = nk.gradcheck(loss, layer.params, wrong)
print(bad)
assert not bad.ok and [r.name for r in bad.rows if not r.ok] == ["coef"]

# %% [markdown]
# ## 4. What breaks at knots, and why
#
# A degree-`k` spline is a polynomial between knots and only `C^{k-1}` across them:
# for `k = 3` the second derivative has a corner; for `k = 1` (hat functions) the
# *first* derivative jumps. At a point sitting exactly on a knot, a `k = 1` edge has
# two one-sided slopes. The library must pick one (it returns the right-hand value);
# the central difference straddles the knot and returns their *average*. They
# disagree, and the disagreement is not a bug in either: the function is not
# differentiable there.
#
# Let us see it with a single `k = 1` edge.

# %%
edge = nk.KANLayer(1, 1, grid=4, k=1, seed=0)
edge.params["coef"][...] = np.array([0.0, 1.0, -1.0, 0.5, 0.0])   # (1, 1, G + k)
knots = edge.grid[0]
print("knots:", knots)
x_knot = np.array([[knots[2]]])                              # (1, 1): exactly on an interior knot
x_away = np.array([[knots[2] + 0.17]])                       # (1, 1): inside an interval


def edge_gradcheck(x_point):
    """gradcheck of d phi / dx at one point, phi being the output of the 1x1 layer."""
    def f():
        return float(edge.forward(x_point)[0, 0])
    edge.forward(x_point)
    dx = edge.backward(np.ones((1, 1)))                      # d phi / dx at x_point
    return nk.gradcheck(f, {"x": x_point}, {"x": dx})


at_knot, away = edge_gradcheck(x_knot), edge_gradcheck(x_away)
print("on a knot:\n", at_knot, "\n\ninside an interval:\n", away)
# Checkpoint: the analytic slope (right-hand) and the central difference (average) differ at the knot.
assert not at_knot.ok and away.ok
row = at_knot.rows[0]
print(f"analytic {row.analytic:+.4f} vs numeric {row.numeric:+.4f}")

# %%
xs = np.linspace(knots[1] + 0.01, knots[3] - 0.01, 400 if not QUICK else 100)[:, None]   # (B, 1)
ys = edge.forward(xs)[:, 0]                                  # (B,)
slopes = edge.backward(np.ones((xs.shape[0], 1)))[:, 0]      # (B,) d phi/dx per sample
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3))
a1.plot(xs[:, 0], ys)
a1.axvline(knots[2], c="gray", ls="--")
a1.set_title("k = 1 edge: a corner at the knot")
a2.plot(xs[:, 0], slopes, ".", ms=2)
a2.axvline(knots[2], c="gray", ls="--")
a2.plot([x_knot[0, 0]], [row.numeric], "rx", ms=10, label="central difference at the knot")
a2.legend(fontsize=8)
a2.set_title("its derivative jumps")
savefig(fig, "03_knot_kink.png")

# %% [markdown]
# With `k = 3`, `phi'` is continuous, so even on a knot the check passes (the
# central difference's error there is still `O(eps^2)`). In general, though, test
# suites place random points and a random point lands within `eps` of a knot with
# probability about `eps * G`: harmless, but the convention in numpykan's tests is to
# draw points away from knots.

# %%
edge3 = nk.KANLayer(1, 1, grid=4, k=3, seed=0)
edge3.params["coef"][...] = rng.normal(0, 1, edge3.coef.shape)
x3 = np.array([[edge3.grid[0, 5]]])                          # exactly on an interior knot


def f3():
    return float(edge3.forward(x3)[0, 0])


edge3.forward(x3)
r3 = nk.gradcheck(f3, {"x": x3}, {"x": edge3.backward(np.ones((1, 1)))})
print("k = 3 on a knot:", "pass" if r3.ok else "FAIL", f"(rel err {r3.rows[0].max_rel_err:.1e})")
assert r3.ok

# %% [markdown]
# ## 5. The pure core
#
# The object `KANLayer` is a thin shell around two pure functions,
# `numpykan.layer.forward(x, params, grid, k) -> (y, cache)` and
# `numpykan.layer.backward(dy, cache) -> (dx, grads)`. They are handy when you want
# gradients without touching any object's state:

# %%
from numpykan import layer as core

y2, cache = core.forward(x, layer.params, layer.grid, k)     # (B, O), dict
dx2, grads2 = core.backward(y2 - target, cache)              # (B, I), dict of (I, O, K), (I, O), (I, O)
assert all(np.abs(grads2[key] - mine[key]).max() < 1e-12 for key in mine)
assert np.abs(dx2 - g_x).max() < 1e-12

# %% [markdown]
# ## Summary
#
# - Because a layer's output is a sum over edges, each parameter's gradient is a
#   single contraction with `dy`: `g_wb = b(x)^T dy`, `g_coef = w_s * P`,
#   `g_ws = sum_m c * P` with `P[i,j,m] = sum_b B_m(x_bi) dy_bj`, and
#   `dL/dx_bi = sum_j dy_bj phi'_ij(x_bi)`.
# - Our hand-written gradients equal the library's to 1e-12, and both match central
#   differences (gradcheck, rtol 1e-6).
# - gradcheck names the wrong parameter when a factor is missing.
# - At a knot a degree-1 spline has no derivative; the library returns the
#   right-hand slope, finite differences the average. Check gradients away from knots.
#
# ## Exercises
#
# 1. Derive the gradient of the loss with respect to the *knots* `grid[i]`. Which
#    terms appear? (numpykan does not train knots; it moves them with grid updates.)
# 2. Replace the loss by `L = sum(y ** 3) / 3`. What is `dy` now? Re-run the checks.
# 3. Run gradcheck with `eps = 1e-2` and `eps = 1e-10`. Explain both failures with the
#    truncation and round-off terms.
# 4. Cast the layer to float32 (`nk.KANLayer(..., dtype=np.float32)`) and try
#    gradcheck. Read the error message.
# 5. Put the `k = 1` edge's point at `knot - 1e-9` instead of on the knot. Does the
#    check pass? Why is the distance to the knot compared with `eps`?
