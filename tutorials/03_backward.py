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

#
# **Running time.** About 3 s in full mode on a 2-core machine (measured with one BLAS
# thread), a few seconds with `QUICK=1`.
# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.activations import sigmoid, silu, silu_grad

from numpykan.teaching.lesson import QUICK, YourTurn, savefig   # QUICK switch, exercise stubs, figures

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
#
# **The base function's derivative.** With `sigma(x) = 1 / (1 + e^{-x})`,
#
# $$\sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2}
#   = \frac{1}{1 + e^{-x}} \cdot \frac{e^{-x}}{1 + e^{-x}} = \sigma(x)\,(1 - \sigma(x)),$$
#
# and `silu(x) = x sigma(x)`, so by the product rule
#
# $$\mathrm{silu}'(x) = \sigma(x) + x\,\sigma(x)(1 - \sigma(x))
#   = \sigma(x)\,\big(1 + x\,(1 - \sigma(x))\big).$$
#
# The second form reuses `sigma(x)`, which the forward pass computed anyway: numpykan
# keeps it from `b(x)` to `b'(x)`. **Your turn:** write `silu_prime(x)` (elementwise,
# any shape; `sigmoid` is imported). The cell after checks it against
# `nk.activations.silu_grad` and against central differences of `silu`.

# %% tags=["exercise"]
def silu_prime(x):
    """silu'(x) = sigma(x) (1 + x (1 - sigma(x))), elementwise."""
    ### BEGIN SOLUTION
    s = sigmoid(x)
    return s * (1 + x * (1 - s))
    ### END SOLUTION


# %%
xs_silu = np.linspace(-8, 8, 161)                            # (161,)
eps = 1e-6
fd_silu = (silu(xs_silu + eps) - silu(xs_silu - eps)) / (2 * eps)   # (161,) central differences
print(f"max |silu_prime - silu_grad| = {np.abs(silu_prime(xs_silu) - silu_grad(xs_silu)).max():.1e}, "
      f"max |silu_prime - finite differences| = {np.abs(silu_prime(xs_silu) - fd_silu).max():.1e}")
assert np.abs(silu_prime(xs_silu) - silu_grad(xs_silu)).max() < 1e-12
assert np.abs(silu_prime(xs_silu) - fd_silu).max() < 1e-8

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

# **Your turn.** Write the four gradients of section 1 as
# `layer_backward(dy, x, coef, w_b, w_s, grid, k)`, returning a dict with keys `coef`
# `(I, O, K)`, `w_b` `(I, O)`, `w_s` `(I, O)` and `x` `(B, I)`. You need
# `nk.bspline.basis` and `nk.bspline.basis_derivative` (both `(B, I, K)`), `silu` and
# your `silu_prime`; `np.einsum` writes each sum as it reads
# (`np.einsum("bim,bj->ijm", Bas, dy)` is `P[i, j, m] = sum_b B_m(x_bi) dy_bj`).

# %% tags=["exercise"]
def layer_backward(dy, x, coef, w_b, w_s, grid, k):
    """dL/dcoef, dL/dw_b, dL/dw_s and dL/dx of a KAN layer, given dy = dL/dy (B, O)."""
    ### BEGIN SOLUTION
    Bas = nk.bspline.basis(x, grid, k)                       # (B, I, K)
    dBas = nk.bspline.basis_derivative(x, grid, k)           # (B, I, K)
    g_wb = silu(x).T @ dy                                    # (I, B) x (B, O) -> (I, O)
    P = np.einsum("bim,bj->ijm", Bas, dy)                    # sum_b B_m(x_bi) dy_bj -> (I, O, K)
    g_coef = w_s[:, :, None] * P                             # (I, O, K)
    g_ws = np.einsum("ijm,ijm->ij", coef, P)                 # (I, O)
    dphi = (w_b[None] * silu_prime(x)[:, :, None]            # (B, I, O): phi'_ij(x_bi)
            + w_s[None] * np.einsum("bim,ijm->bij", dBas, coef))
    g_x = np.einsum("bj,bij->bi", dy, dphi)                  # (B, I)
    return {"coef": g_coef, "w_b": g_wb, "w_s": g_ws, "x": g_x}
    ### END SOLUTION


# %%
grads_by_hand = layer_backward(dy, x, layer.coef, layer.w_b, layer.w_s, layer.grid, k)
g_x = grads_by_hand["x"]                                     # (B, I)
mine = {key: grads_by_hand[key] for key in ("coef", "w_b", "w_s")}
P = mine["coef"] / layer.w_s[:, :, None]                     # (I, O, K) the shared sum, for later
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
# Smoother splines help, but only from `k = 3` on at the default tolerance. The
# central difference straddles the point: by Taylor's theorem on each side,
#
# $$\frac{\phi(x + \varepsilon) - \phi(x - \varepsilon)}{2\varepsilon}
#   = \phi'(x) + \frac{\varepsilon}{4}\big(\phi''(x^+) - \phi''(x^-)\big) + O(\varepsilon^2).$$
#
# For `k = 2`, `phi'` is continuous but `phi''` jumps at a knot, so on a knot the
# error is of order `eps` (about 1e-6 relative for `eps = 1e-6`) instead of `eps^2`:
# right at gradcheck's default `rtol = 1e-6`, and here just above it — the check fails
# although the analytic slope is the true derivative. For `k = 3`, `phi''` is
# continuous too and the error is `O(eps^2)` again: the check passes on a knot. Test
# suites draw random points; one lands within `eps` of a knot with probability about
# `eps * G`, which is why numpykan's tests draw points away from knots.

# %%
def knot_check(kk, eps=1e-6):
    """gradcheck of d phi / dx for a random degree-kk edge at an interior knot."""
    e = nk.KANLayer(1, 1, grid=4, k=kk, seed=0)
    e.params["coef"][...] = np.random.default_rng(0).normal(0, 1, e.coef.shape)
    xk = np.array([[e.grid[0, 5]]])                          # exactly on an interior knot

    def f():
        return float(e.forward(xk)[0, 0])

    e.forward(xk)
    return nk.gradcheck(f, {"x": xk}, {"x": e.backward(np.ones((1, 1)))}, eps=eps)


r2, r2_big, r3 = knot_check(2), knot_check(2, eps=1e-4), knot_check(3)
for name, r in (("k = 2, eps 1e-6", r2), ("k = 2, eps 1e-4", r2_big), ("k = 3, eps 1e-6", r3)):
    print(f"{name} on a knot: {'pass' if r.ok else 'FAIL'} (rel err {r.rows[0].max_rel_err:.1e})")
# Checkpoint: k = 2 fails with an error proportional to eps (100x larger eps, ~100x larger error);
# k = 3 passes.
assert not r2.ok and r3.ok
assert 50 < r2_big.rows[0].max_rel_err / r2.rows[0].max_rel_err < 200

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
# - `silu'(x) = sigma(x) (1 + x (1 - sigma(x)))`, from the product rule and
#   `sigma' = sigma (1 - sigma)`.
# - At a knot a degree-1 spline has no derivative; the library returns the
#   right-hand slope, finite differences the average. A degree-2 spline has one, but
#   its jumping `phi''` puts an `O(eps)` error into the central difference, enough to
#   fail at the default tolerance; from `k = 3` on the check passes. Check gradients
#   away from knots.
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

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** The knots enter only through the bases: `dL/dt_q = sum_{b,j} dy_bj w_s[i,j]
# sum_m c[i,j,m] dB_m(x_bi)/dt_q` for the knots `t_q` of input `i`. Differentiating
# the Cox-de Boor recursion with respect to `t_q` gives terms from every weight
# `(x - t_m)/(t_{m+p} - t_m)` that contains `t_q`, i.e. from the `k + 2` bases whose
# support contains `t_q`; they are rational in the knots and blow up as two knots
# merge, one reason KANs move knots by grid updates instead of gradients.
#
# **2.** `L = sum(y^3) / 3` has `dL/dy = y^2`; the same code, with that `dy`, passes.

# %% tags=["solution"]
def loss_cubed():
    return float(np.sum(layer.forward(x) ** 3) / 3)


dy3 = layer.forward(x) ** 2                                   # (B, O) dL/dy for L = sum y^3 / 3
g3 = layer_backward(dy3, x, layer.coef, layer.w_b, layer.w_s, layer.grid, k)
r_cubed = nk.gradcheck(loss_cubed, dict(layer.params, x=x), g3)
print(r_cubed)
assert r_cubed.ok

# %% [markdown] tags=["solution"]
# **3.** A surprise first: for the *parameters* `eps = 1e-2` passes. `y` is linear in
# each of `coef`, `w_b`, `w_s`, so `L` is a quadratic in each entry, and a central
# difference is exact for a quadratic. For the input `x` it is not: there
# `eps = 1e-2` fails on truncation, `eps^2 |L'''| / 6`, far above `rtol = 1e-6`.
# `eps = 1e-10` fails on round-off, `1e-16 |L| / eps`, about 1e-6 of `|L|`: the small
# entries fail first.

# %% tags=["solution"]
r_params = nk.gradcheck(loss, layer.params, mine, eps=1e-2)
print("parameters, eps = 1e-2:", "pass" if r_params.ok else "FAIL")
assert r_params.ok
for eps_try in (1e-2, 1e-10):
    r_eps = nk.gradcheck(loss, {"x": x}, {"x": g_x}, eps=eps_try)
    print(f"x, eps = {eps_try:.0e}: {'pass' if r_eps.ok else 'FAIL'}, "
          f"worst relative error {r_eps.rows[0].max_rel_err:.1e}")
    assert not r_eps.ok

# %% [markdown] tags=["solution"]
# **4.** gradcheck refuses float32 with a message that says why: float32 round-off
# (about 1e-7 relative per operation, divided by `eps`) would swamp any tolerance
# worth checking.

# %% tags=["solution"]
layer32 = nk.KANLayer(I, O, grid=G, k=k, seed=0, dtype=np.float32)
x32 = x.astype(np.float32)
layer32.forward(x32)
layer32.backward((layer32.forward(x32) - target).astype(np.float32))
try:
    nk.gradcheck(lambda: float(np.sum(layer32.forward(x32))), layer32.params, layer32.grads)
except (TypeError, ValueError) as err:
    print(type(err).__name__ + ":", err)
    refused = True
else:
    refused = False
assert refused

# %% [markdown] tags=["solution"]
# **5.** No: at `knot - 1e-9` the point is inside an interval, but the central
# difference samples `x +- eps` with `eps = 1e-6`, which still straddles the knot. What
# matters is the distance to the knot compared with `eps`: the check passes once the
# point is farther than `eps` from it.

# %% tags=["solution"]
near = edge_gradcheck(np.array([[knots[2] - 1e-9]]))
farther = edge_gradcheck(np.array([[knots[2] - 1e-5]]))
print("1e-9 from the knot:", "pass" if near.ok else "FAIL", "; 1e-5 from it:", "pass" if farther.ok else "FAIL")
assert not near.ok and farther.ok
