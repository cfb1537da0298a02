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
# # Lesson 12 — Second derivatives by hand: a physics-informed KAN
#
# A physics-informed network is trained on an equation, not on data: for the Poisson
# problem `lap u = f` the loss holds `lap u(x) = d^2u/dx^2 + d^2u/dy^2` of the network
# itself. pykan gets it from autograd, twice. Here we derive it: first the second
# derivatives of the network with respect to its inputs, carried forward layer by layer,
# then the gradient of a loss written on them with respect to every parameter, and we
# check both against finite differences before we trust them to solve an equation.
#
# **Goals.** After this lesson (about 30 minutes to read) you can
#
# 1. differentiate a B-spline basis any number of times and say where the derivatives jump;
# 2. derive the forward recursion `J' = sum phi' J`, `H' = sum phi'' J^2 + phi' H` for the
#    Jacobian and the Hessian diagonal of a network, and write it in NumPy;
# 3. derive its reverse pass (why a loss on second derivatives needs `phi'''`) and check it
#    with `check_model`, including what happens on a knot;
# 4. solve pykan's Poisson problem with a `[2, 2, 1]` KAN and L-BFGS, and compare it
#    with an MLP of the same size.
#
# **Running time.** About 12 s in full mode on a 2-core machine (CPU time, measured with
# one BLAS thread; 30 s of wall time with the machine shared), a few seconds with `QUICK=1`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan import derivatives, pde
from numpykan.activations import silu_derivatives
from numpykan.teaching.lesson import QUICK, savefig             # QUICK switch, figure folder


# %% [markdown]
# ## 1. Basis derivatives of any order
#
# Lesson 1 differentiated the Cox-de Boor recursion once:
#
# $$B'_{m,p}(x) = p\left[\frac{B_{m,p-1}(x)}{t_{m+p}-t_m} - \frac{B_{m+1,p-1}(x)}{t_{m+p+1}-t_{m+1}}\right].$$
#
# The right-hand side is a combination of degree-`(p-1)` bases with constant weights,
# so the same rule differentiates it again: the `q`-th derivative of a degree-`k`
# basis is the degree-`(k-q)` bases pushed up `q` levels by this operator. Each
# derivative costs a degree, so `B^(k)` is piecewise constant and `B^(k+1) = 0`
# between knots. At a knot a degree-`k` spline is only `C^(k-1)`: for the cubic
# (`k = 3`) splines we use, `B''` is continuous and `B'''` jumps.
#
# `nk.bspline.basis_derivative(x, grid, k, order=q)` computes it on the live bases
# (on a uniform grid as the `q`-th derivative of the fixed polynomial pieces).
# Check every order against central differences of the order below, away from knots:

# %%
k, G = 3, 4
t = nk.bspline.uniform_grid(G, k)                            # (G + 2k + 1,) knots
xs = np.linspace(t[0] + 1e-3, t[-1] - 1e-3, 241 if QUICK else 961)[:, None]   # (B, 1)
off = np.min(np.abs(xs - t[None, :]), axis=1) > 1e-3         # (B,) away from every knot
e = 1e-5
for q in range(1, k + 2):
    exact = nk.bspline.basis_derivative(xs, t, k, order=q)[off]                 # (B', 1, K)
    fd = (nk.bspline.basis_derivative(xs + e, t, k, order=q - 1)
          - nk.bspline.basis_derivative(xs - e, t, k, order=q - 1))[off] / (2 * e)
    scale = max(1.0, np.abs(exact).max())
    print(f"order {q}: max |B^({q}) - central difference of B^({q - 1})| = "
          f"{np.abs(exact - fd).max():.1e} (scale {scale:.1f})")
    assert np.abs(exact - fd).max() < 1e-6 * scale

fig, axes = plt.subplots(1, 4, figsize=(15, 3), sharex=True)
for q, ax in enumerate(axes):
    ax.plot(xs[:, 0], nk.bspline.basis_derivative(xs, t, k, order=q)[:, 0, :], lw=1)
    ax.set_title(f"B^({q}), k = 3" + (": jumps at knots" if q == 3 else ""))
    for knot in t:
        ax.axvline(knot, color="0.85", lw=0.5, zorder=0)
savefig(fig, "12_basis_derivatives.png")

# %% [markdown]
# ## 2. Input derivatives, forward
#
# A layer sums edges of one variable, `y_j = sum_i phi_ij(h_i)`. Suppose we know, at
# every sample, the layer's inputs `h_i`, their derivatives along each input direction
# `J_id = dh_i/dx_d` and the second derivatives along the same directions
# `H_id = d^2 h_i/dx_d^2`. The chain rule gives the outputs' first derivatives, and
# differentiating once more along `x_d` (product rule, then chain rule again on `phi'`):
#
# $$J'_{jd} = \sum_i \phi'_{ij}(h_i)\, J_{id}, \qquad
#   H'_{jd} = \sum_i \phi''_{ij}(h_i)\, J_{id}^2 + \phi'_{ij}(h_i)\, H_{id}.$$
#
# The network's input starts the chain with `h = x`, `J = I`, `H = 0`; after the last
# layer `J` is the Jacobian `(B, O, I)` and `H` the Hessian diagonal, whose sum over `d`
# is the Laplacian. The off-diagonal second derivatives never appear, so the cost is
# `I + 1` numbers per node and direction instead of one. The edge derivatives are
#
# $$\phi^{(q)}_{ij}(x) = w_b[i,j]\, b^{(q)}(x) + w_s[i,j] \sum_m c[i,j,m]\, B^{(q)}_m(x),$$
#
# with `b = silu`, whose derivatives follow from Leibniz's rule on `x sigma(x)`:
# `silu^(q) = q sigma^(q-1) + x sigma^(q)`. In NumPy, for a `[2, 3, 1]` KAN with splines
# that matter:

# %%
rng = np.random.default_rng(0)
model = nk.KAN([2, 3, 1], grid=5, k=3, seed=0)
for layer in model.layers:
    layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)   # (I, O, K)


def edge_derivative(layer, h, q):
    """phi^(q)_ij(h_i) for every sample and edge: (B, I) -> (B, I, O)."""
    Bq = nk.bspline.basis_derivative(h, layer.grid, layer.k, order=q)   # (B, I, K)
    bq = silu_derivatives(h, [q])[0]                                   # (B, I)
    spline = np.einsum("bim,ijm->bij", Bq, layer.coef)                 # (B, I, O)
    return layer.w_b[None] * bq[:, :, None] + layer.w_s[None] * spline


def jets_by_hand(model, x):
    """(u, J, H): outputs (B, O), Jacobian and Hessian diagonal (B, O, I), layer by layer."""
    B, I = x.shape
    h = x                                                    # (B, I)
    J = np.broadcast_to(np.eye(I), (B, I, I))                # (B, I, D): dh_i/dx_d
    H = np.zeros((B, I, I))                                  # (B, I, D): d^2 h_i/dx_d^2
    for layer in model.layers:
        A1, A2 = edge_derivative(layer, h, 1), edge_derivative(layer, h, 2)   # (B, I, O) each
        J, H = (np.einsum("bij,bid->bjd", A1, J),                             # (B, O, D)
                np.einsum("bij,bid->bjd", A2, J ** 2) + np.einsum("bij,bid->bjd", A1, H))
        h = layer(h)                                         # (B, O), inference
    return h, J, H


x = rng.uniform(-0.9, 0.9, (16 if QUICK else 64, 2))        # (B, 2)
u, J, H = jets_by_hand(model, x)
print("by hand vs model.jacobian:     ", np.abs(J - model.jacobian(x)).max())
print("by hand vs model.hessian_diag: ", np.abs(H - model.hessian_diag(x)).max())
assert np.abs(J - model.jacobian(x)).max() < 1e-12 and np.abs(H - model.hessian_diag(x)).max() < 1e-12

# %% [markdown]
# Agreement of two implementations of one formula proves nothing about the formula.
# The referee is the definition: central differences of `u` for `J`, and of the
# (analytic) `J` for `H` (a second difference of `u` would lose half the digits to
# round-off).

# %%
e = 1e-6
J_fd, H_fd = np.zeros_like(J), np.zeros_like(H)              # (B, O, I)
for d in range(2):
    dx = np.zeros_like(x)
    dx[:, d] = e
    J_fd[:, :, d] = (model.predict(x + dx) - model.predict(x - dx)) / (2 * e)
    H_fd[:, :, d] = (model.jacobian(x + dx)[:, :, d] - model.jacobian(x - dx)[:, :, d]) / (2 * e)
rel_J = np.abs(J - J_fd).max() / np.abs(J_fd).max()
rel_H = np.abs(H - H_fd).max() / np.abs(H_fd).max()
print(f"relative error vs finite differences: J {rel_J:.1e}, H {rel_H:.1e}")
assert rel_J < 1e-6 and rel_H < 1e-6

# %% [markdown]
# ## 3. A loss on the Laplacian, backward
#
# Now a loss `L(u, J, H)`, for instance `mean_b (lap u_b - f_b)^2`. Write `A_q[b,i,j] =
# phi^(q)_ij(h_bi)` and suppose the layer above hands us `gy = dL/dy`, `gJ' = dL/dJ'`,
# `gH' = dL/dH'`. Each forward line is a sum of products, so its reverse is read off
# term by term:
#
# $$\frac{\partial L}{\partial A_1[b,i,j]} = \sum_d gJ'_{bjd} J_{bid} + gH'_{bjd} H_{bid},\qquad
#   \frac{\partial L}{\partial A_2[b,i,j]} = \sum_d gH'_{bjd} J_{bid}^2,\qquad
#   \frac{\partial L}{\partial A_0[b,i,j]} = gy_{bj},$$
#
# $$\frac{\partial L}{\partial J_{bid}} = \sum_j gJ'_{bjd} A_1 + 2 J_{bid}\, gH'_{bjd} A_2,\qquad
#   \frac{\partial L}{\partial H_{bid}} = \sum_j gH'_{bjd} A_1 .$$
#
# The input `h` enters every `A_q`, and `dA_q/dh = A_{q+1}`:
#
# $$\frac{\partial L}{\partial h_{bi}} = \sum_j \sum_q \frac{\partial L}{\partial A_q[b,i,j]}\, A_{q+1}[b,i,j].$$
#
# So a loss on second derivatives needs the edges' **third** derivatives `phi'''`
# (`B'''` and `silu'''`). The parameters enter `A_q` linearly, exactly as they enter the
# layer's output in lesson 3, so `dL/dc[i,j,m] = w_s sum_{b,q} B^(q)_m(h_bi) dL/dA_q[b,i,j]`
# and likewise for `w_b`, `w_s` (and a formula edge's `a, b, c, d`).
# `numpykan.derivatives` implements this (`numpykan/models/derivative_layers.py` has
# every line with its shape); `DerivativeLoss` wraps a loss written on the jet so that
# `loss_and_grad` fills every layer's gradients, and `check_model` checks them, with
# `input_grad=True` also `dL/dx`:

# %%
def poisson_residual(jet, x, y):
    """L = mean_b (lap u_b - f(x_b))^2 and its derivative dL/dH = 2 r_b / B for every direction."""
    r = jet.H.sum(axis=2) - pde.source(x)                    # (B, 1) residual
    gH = np.repeat(2 * r[:, :, None] / r.shape[0], x.shape[1], axis=2)   # (B, 1, 2)
    gx = -2 * r * pde.source_grad(x) / r.shape[0]            # (B, 2): f depends on x too
    return float(np.mean(r ** 2)), {"H": gH, "x": gx}


loss = derivatives.DerivativeLoss(poisson_residual, order=2)
value = loss(model, x[:8])                                   # |L| ~ 1e2: residuals of an untrained net
floor = np.finfo(np.float64).eps * value / 1e-6              # round-off of one central difference
print(f"L = {value:.3e}; rounding floor macheps * |L| / eps = {floor:.1e}")
report = nk.check_model(model, x[:8], loss=loss, input_grad=True, atol=10 * floor)
print(report)
assert report.ok

# %% [markdown]
# The absolute tolerance is set from the loss: with `|L| ~ 300`, each difference
# quotient carries about `macheps |L| / eps ~ 6e-8` of round-off, more than the default
# `atol = 1e-9`, and a small gradient entry would "fail" by round-off alone. The report
# prints `|f|` and this floor in its header, and says so when a row fails within it.

# %% [markdown]
# ### On a knot
#
# The check above used random points, which sit away from knots. On a knot, `dL/dx`
# involves `phi'''`, which for `k = 3` jumps there: the library returns the right-hand
# value, the central difference straddles the knot, and they disagree. The parameter
# gradients only need `phi''` at the fixed point, which is continuous, so they pass.
# With `k = 5` (`C^4` splines) everything passes. `check_model` says which layer input
# sits on a knot and whether that matters for this check:

# %%
def one_edge(k):
    m = nk.KAN([1, 1], grid=4, k=k, seed=0, base_fun="zero")
    m.layers[0].params["coef"][...] = np.random.default_rng(1).normal(0, 1, m.layers[0].coef.shape)
    return m


def curvature_squared(jet, x, y):                            # L = sum (u'')^2
    return float(np.sum(jet.H[:, 0, 0] ** 2)), {"H": 2 * jet.H}


for k_edge in (3, 5):
    edge = one_edge(k_edge)
    on_knot = edge.layers[0].grid[:, [k_edge + 2]].T.copy()  # (1, 1): an interior knot
    r = nk.check_model(edge, on_knot, loss=derivatives.DerivativeLoss(curvature_squared),
                       input_grad=True)
    rows = {row.name: row.ok for row in r.rows}
    print(f"k = {k_edge}: rows ok {rows}\n  {r.notes[0]}")
    assert rows["layer0.coef"] and rows["x"] == (k_edge == 5)

# %% [markdown]
# ## 4. Solving the Poisson problem
#
# pykan's PDE tutorial: on `[-1, 1]^2`,
# `lap u = f = -2 pi^2 sin(pi x) sin(pi y)` with `u = 0` on the boundary, whose
# solution is `u* = sin(pi x) sin(pi y)`. The loss is
# `alpha mean_i (lap u(x_i) - f(x_i))^2 + mean_b u(x_b)^2` with `alpha = 0.01`, over 441
# interior points drawn uniformly and the 84 points of the four sides of a 21 x 21 mesh;
# a KAN `[2, 2, 1]`, `G = 5`, `k = 3` with pykan 0.2.8's initialization (`pde.PYKAN_INIT`:
# `noise_scale = 0.3`, `w_b ~ U(-1, 1)/sqrt(in)`); L-BFGS (20 steps of up to 20 iterations), grids
# updated from the interior points at steps 0, 5, 10, 15. `numpykan.pde.PoissonLoss`
# is the loss above (with its boundary term) and `pde.solve_poisson` the loop.
#
# The error reported is pykan's "l2": the mean squared error to `u*` at the interior
# points (not its root). pykan's published run reaches 3.78e-3.
#
# Beside it, an MLP of the same size: `[2, 15, 1]` with tanh has `2*15 + 15 + 15 + 1 = 61`
# parameters to the KAN's `2*2*(5+3+2) + 2*(5+3+2) = 60`. Its jets go through the same
# machinery (for a dense layer `z = hW + b`, `J_z = J W` and `H_z = H W`, then the
# activation's rule).

# %%
n, steps = (9, 4) if QUICK else (21, 20)
SEED = 11                                                    # a good start: see "Seeds" below
x_i = pde.interior_points(n, "random", seed=SEED)           # (n^2, 2)
x_b = pde.boundary_points(n)                                 # (4n, 2)
kan = nk.KAN([2, 2, 1], grid=5, k=3, seed=SEED, **pde.PYKAN_INIT)
mlp = nk.MLP([2, 15, 1], activation="tanh", seed=SEED)
print("parameters: KAN", kan.num_parameters(), " MLP", mlp.num_parameters())
start = {name: float(np.mean((m.predict(x_i) - pde.solution(x_i)) ** 2))
         for name, m in (("KAN", kan), ("MLP", mlp))}
hist = {"KAN": pde.solve_poisson(kan, x_i, x_b, steps=steps),
        "MLP": pde.solve_poisson(mlp, x_i, x_b, steps=steps)}
for name, h in hist.items():
    print(f"{name}: MSE to u* {start[name]:.2e} -> {h['l2'][-1]:.2e} after {steps} L-BFGS steps "
          f"({h['evals'][-1]} loss evaluations, {h['cpu'][-1]:.1f} s CPU)")
    assert h["l2"][-1] < 0.5 * start[name]
if not QUICK:
    assert hist["KAN"]["l2"][-1] <= 3.78e-3                  # pykan's published 3.78e-3

# %%
grid = np.linspace(-1, 1, 61 if QUICK else 101)
X, Y = np.meshgrid(grid, grid, indexing="ij")
pts = np.stack([X.ravel(), Y.ravel()], axis=1)               # (N, 2)
fig, axes = plt.subplots(1, 4, figsize=(19, 3.8), layout="constrained")
im = axes[0].pcolormesh(X, Y, pde.solution(pts).reshape(X.shape), cmap="RdBu_r", shading="auto")
fig.colorbar(im, ax=axes[0])
axes[0].set_title("u* = sin(pi x) sin(pi y)")
for ax, (name, m) in zip(axes[1:3], (("KAN", kan), ("MLP", mlp))):
    err = np.abs(m.predict(pts) - pde.solution(pts)).reshape(X.shape)
    im = ax.pcolormesh(X, Y, err, cmap="magma", shading="auto")
    fig.colorbar(im, ax=ax)
    ax.set_title(f"|{name} - u*|, MSE {hist[name]['l2'][-1]:.1e}")
for name, h in hist.items():
    axes[3].semilogy(np.array(h["step"]) + 1, h["l2"], "o-", ms=3, label=name)
axes[3].axhline(3.78e-3, color="k", ls=":", label="pykan's KAN, published")
axes[3].set_xlabel("L-BFGS step")
axes[3].set_ylabel("MSE to u*")
axes[3].legend()
savefig(fig, "12_poisson.png")

# %% [markdown]
# ### Seeds, and grid extension
#
# A `[2, 2, 1]` KAN represents the solution exactly through
# `sin(pi x) sin(pi y) = (cos(pi (x - y)) - cos(pi (x + y))) / 2`: two hidden nodes
# `x - y` and `x + y`, then a cosine on each. Whether L-BFGS finds that depends on the
# start. Seed 11 above is the best of 16: over 16 seeds, 6 reach the group of minima
# that pykan's published run is in (MSE 2e-4 to 5e-3 after 20 steps, PDE loss about 2) and
# the rest stop in a worse one (MSE ~3e-2, PDE loss ~12), where both hidden nodes compute
# nearly the same function of `x + y` (`numpykan reproduce poisson` reports them all; scipy's
# L-BFGS-B stops there too). The MLP has no such trouble here. Try a few seeds:

# %%
seeds = [0] if QUICK else [0, 1, 2, 3]
for s in seeds:
    pts_s = pde.interior_points(n, "random", seed=s)
    row = {}
    for name, m in (("KAN", nk.KAN([2, 2, 1], grid=5, k=3, seed=s, **pde.PYKAN_INIT)),
                    ("MLP", nk.MLP([2, 15, 1], activation="tanh", seed=s))):
        row[name] = pde.solve_poisson(m, pts_s, x_b, steps=steps)["l2"][-1]
    print(f"seed {s}: KAN {row['KAN']:.2e}   MLP {row['MLP']:.2e}")

# %% [markdown]
# Where the KAN does find the structure, grid extension pays off as in lesson 5:
# `refine` moves the trained splines onto finer grids and L-BFGS continues.

# %%
stair = [hist["KAN"]["l2"][-1]]
for G_new in (10, 20):
    kan = kan.refine(G_new, x=x_i)                           # splines refit on a finer grid
    stair.append(pde.solve_poisson(kan, x_i, x_b, steps=steps)["l2"][-1])
print("MSE to u* at G = 5, 10, 20:", " -> ".join(f"{v:.2e}" for v in stair))
if not QUICK:
    assert stair[2] < stair[0]

# %% [markdown]
# ## Summary
#
# - The `q`-th derivative of a B-spline basis is the degree-`(k-q)` bases pushed up by
#   the derivative rule `q` times; `B^(k)` jumps at knots and `B^(k+1) = 0` between them.
# - Input derivatives travel forward with the values: `J' = sum phi' J`,
#   `H' = sum phi'' J^2 + phi' H`, per input direction, so the Hessian diagonal and the
#   Laplacian cost `I + 1` numbers per node, not a second autograd pass.
# - The reverse pass of that recursion gives a loss on `lap u` its gradients into every
#   parameter and `x`; it needs `phi'''`. Checked by finite differences (`check_model`
#   with a `DerivativeLoss` and `input_grad=True`), and on a knot it fails exactly where
#   the smoothness runs out (`k < 4` for `dL/dx` of a Laplacian loss).
# - A 60-parameter KAN solves pykan's Poisson problem to pykan's accuracy from a good start
#   (6 or 7 of 16) and improves with grid extension; from the others it stops in a worse
#   minimum, while a 61-parameter tanh MLP solves it on every seed here.
#
# ## Exercises
#
# 1. Derive the forward rule for the *full* Hessian `d^2 u/dx_d dx_e` and count its cost.
#    Why does the Laplacian not need it?
# 2. Write the jets of a multiplication node `z = u v` (pykan's `mult` nodes): `z_d` and
#    `z_dd` from the jets of `u` and `v`. Then derive its reverse pass.
# 3. Replace the loss by the Dirichlet energy `mean (|grad u|^2 / 2 + f u)` (order 1), whose
#    minimizer solves the same equation. Train with it; which converges faster?
# 4. Put one interior point exactly on a knot of the first layer and run
#    `check_model(..., input_grad=True)` with `k = 3` and `k = 2`. Which rows fail, and why
#    does `k = 2` fail even the Laplacian's own continuity?
# 5. Run the KAN over ten seeds and plot the final PDE loss against the final MSE. How many
#    distinct minima do you see, and what do the two hidden nodes compute in each?
