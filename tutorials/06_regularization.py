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
# # Lesson 6 — Regularization and pruning
#
# A KAN is meant to be *read*: small enough that you can look at each edge. Training
# alone rarely gives you that — every edge ends up doing a little of everything. This
# lesson makes a network sparse, then cuts away what it no longer uses.
#
# **Goals.** After this lesson (about 25 minutes) you can
#
# 1. compute the KAN paper's L1 norm and entropy of a layer's edge activations, and
#    derive their gradients;
# 2. check the regularizer's gradient by finite differences, alone and inside a model;
# 3. train a KAN on a target that only needs one of its three inputs, and see the
#    regularizer switch the useless edges off;
# 4. prune the network and draw it before and after.

#
# **Running time.** About 10 s in full mode on a 2-core machine (measured with one
# BLAS thread), a few seconds with `QUICK=1`. Training cells print progress lines as
# they go.
# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.regularization import edge_norms, l1_entropy

from numpykan.teaching.lesson import QUICK, YourTurn, savefig   # QUICK switch, exercise stubs, figures

# %% [markdown]
# ## 1. The size of an edge, and of a layer
#
# An MLP weight has an obvious size, `|w|`. A KAN edge is a function, so the paper
# measures it on the data: the mean magnitude of its output over the `B` samples,
#
# $$|\phi_{ij}|_1 = \frac{1}{B}\sum_b |\phi_{ij}(x_{bi})| =: n_{ij}, \qquad
#   |\Phi|_1 = \sum_{ij} n_{ij} =: N.$$
#
# Penalizing `N` shrinks every edge, but the paper observes that this alone does not
# make the network sparse: many medium edges cost the same as a few large ones. So it
# adds the *entropy* of the distribution `p_ij = n_ij / N`,
#
# $$S = -\sum_{ij} p_{ij} \log p_{ij},$$
#
# which is largest when all edges are the same size and 0 when one edge carries
# everything. Minimizing `S` concentrates the size on few edges. (The report's
# formula omits the minus sign; with it, `S >= 0` and it is minimized.) Per layer,
#
# $$R = \lambda_{1} N + \lambda_{S} S, \qquad
#   \text{total loss} = \text{loss}_{pred} + \lambda \sum_{\text{layers}} R.$$
#
# A layer hands us its activations `A[b, i, j] = phi_ij(x_bi)`, shape `(B, I, O)`.

# %%
rng = np.random.default_rng(0)
layer = nk.KANLayer(3, 2, grid=5, k=3, seed=0)
layer.params["coef"][...] = rng.normal(0, 0.5, layer.coef.shape)   # (I, O, K)
x = rng.uniform(-1, 1, (50, 3))                              # (B, I)
A = layer.activations(x)                                     # (B, I, O)

lamb_l1, lamb_ent = 1.0, 2.0
n = np.abs(A).mean(axis=0)                                   # (I, O) edge sizes
N = n.sum()
p = n / N                                                    # (I, O), sums to 1
S = -(p * np.log(p)).sum()
R_mine = lamb_l1 * N + lamb_ent * S
R_lib, dA_lib = l1_entropy(A, lamb_l1, lamb_ent)             # float, (B, I, O)
print(f"N = {N:.4f}, S = {S:.4f} (max possible log(6) = {np.log(6):.4f}); R = {R_mine:.6f}, library {R_lib:.6f}")
assert abs(R_mine - R_lib) < 1e-12
assert np.allclose(edge_norms(A), n)

# %% [markdown]
# ## 2. The gradient of the regularizer
#
# Work backwards through the three definitions.
#
# - `dN/dn_ij = 1`.
# - `p_kl = n_kl / N` depends on every `n_ij` through `N`:
#   `dp_kl/dn_ij = (delta_{kl,ij} - p_kl) / N`. Then
#   `dS/dn_ij = sum_kl -(log p_kl + 1) dp_kl/dn_ij`. The `+1` terms cancel because
#   `sum_kl (delta - p_kl) = 1 - 1 = 0`, and what remains is
#   $$\frac{\partial S}{\partial n_{ij}} = \frac{-\log p_{ij} - S}{N}.$$
#   An edge *smaller* than typical (`-log p_ij > S`) gets a positive gradient: descent
#   shrinks it further. Large edges get a negative one: they grow. Rich get richer.
# - `n_ij = mean_b |A_bij|`, so `dn_ij/dA_bij = sign(A_bij) / B`.
#
# Together: `dR/dA_bij = (lambda_1 + lambda_S (-log p_ij - S) / N) sign(A_bij) / B`.
#
# **Your turn.** Write `l1_entropy_by_hand(A, lamb_l1, lamb_entropy)` returning the
# pair `(R, dR/dA)` for activations `A` `(B, I, O)` (you may assume no edge is exactly
# zero; the library handles that case with `0 log 0 = 0`).

# %% tags=["exercise"]
def l1_entropy_by_hand(A, lamb_l1, lamb_entropy):
    """R = lamb_l1 N + lamb_entropy S of one layer's activations A (B, I, O), and dR/dA (B, I, O)."""
    ### BEGIN SOLUTION
    n = np.abs(A).mean(axis=0)                               # (I, O) edge sizes
    N = n.sum()
    p = n / N                                                # (I, O)
    S = -(p * np.log(p)).sum()
    dn = lamb_l1 + lamb_entropy * (-np.log(p) - S) / N       # (I, O) dR/dn
    return lamb_l1 * N + lamb_entropy * S, dn[None] * np.sign(A) / A.shape[0]   # float, (B, I, O)
    ### END SOLUTION


# %%
R_hand, dA_mine = l1_entropy_by_hand(A, lamb_l1, lamb_ent)   # float, (B, I, O)
print(f"R by hand {R_hand:.6f}; max |dR/dA by hand - library| = {np.abs(dA_mine - dA_lib).max():.1e}")
assert abs(R_hand - R_lib) < 1e-12
assert np.abs(dA_mine - dA_lib).max() < 1e-12

A_var = A.copy()                                             # gradcheck perturbs this array in place
report = nk.gradcheck(lambda: l1_entropy(A_var, lamb_l1, lamb_ent)[0], {"A": A_var}, {"A": dA_mine})
print(report)
assert report.ok                                             # A has no exact zeros: |a| is smooth here

# %% [markdown]
# ### How the regularizer's gradient reaches `x` and earlier layers
#
# `dR/dA` is a gradient with respect to *every edge's own output*. Lesson 3's layer
# backward started from `dy[b, j]`, one number per output node shared by all edges
# into it; here each edge `(i, j)` has its own upstream gradient `dA[b, i, j]`. The
# chain rule through `A[b, i, j] = phi_ij(x_bi)` gives the same formulas with `dA` in
# place of `dy`, and one sum fewer:
#
# $$\frac{\partial L}{\partial c[i,j,m]} = w_s[i,j] \sum_b B_m(x_{bi})\, dA_{bij},\quad
#   \frac{\partial L}{\partial w_b[i,j]} = \sum_b b(x_{bi})\, dA_{bij},\quad
#   \frac{\partial L}{\partial w_s[i,j]} = \sum_b s_{ij}(x_{bi})\, dA_{bij},$$
#
# $$\frac{\partial L}{\partial x_{bi}} = \sum_j dA_{bij}\, \phi'_{ij}(x_{bi}).$$
#
# (With `dA[b, i, j] = dy[b, j]` for every `i` these are lesson 3's formulas exactly:
# `y_j = sum_i A_ij`.) The last line is the important one: the input `x` of layer `l`
# is the output `y` of layer `l - 1`, so `dL/dx` joins that layer's ordinary upstream
# gradient. `KAN.backward` adds the two streams in one visible place,
#
# ```
# dx = layer.backward(d) + layer.backward_activations(dA)   # then d = dx for layer l - 1
# ```
#
# and from there the regularizer of layer `l` moves the parameters of every earlier
# layer too. In numpykan this is `numpykan.layer.activations_backward`, behind
# `KANLayer.backward_activations`.
#
# **Your turn.** Write `activations_backward_by_hand(dA, x, coef, w_b, w_s, grid, k)`
# returning a dict with `coef`, `w_b`, `w_s` and `x`, as `layer_backward` did in
# lesson 3 (`silu_grad` from `nk.activations` is lesson 3's `silu_prime`).

# %% tags=["exercise"]
def activations_backward_by_hand(dA, x, coef, w_b, w_s, grid, k):
    """Gradients of L through A[b, i, j] = phi_ij(x[b, i]), given dA = dL/dA (B, I, O)."""
    ### BEGIN SOLUTION
    from numpykan.activations import silu, silu_grad

    Bas = nk.bspline.basis(x, grid, k)                       # (B, I, K)
    dBas = nk.bspline.basis_derivative(x, grid, k)           # (B, I, K)
    P = np.einsum("bim,bij->ijm", Bas, dA)                   # sum_b B_m(x_bi) dA_bij -> (I, O, K)
    dphi = (w_b[None] * silu_grad(x)[:, :, None]             # (B, I, O): phi'_ij(x_bi)
            + w_s[None] * np.einsum("bim,ijm->bij", dBas, coef))
    return {"coef": w_s[:, :, None] * P,                     # (I, O, K)
            "w_b": np.einsum("bi,bij->ij", silu(x), dA),     # (I, O)
            "w_s": np.einsum("ijm,ijm->ij", coef, P),        # (I, O)
            "x": np.einsum("bij,bij->bi", dA, dphi)}         # (B, I)
    ### END SOLUTION


# %%
mine_act = activations_backward_by_hand(dA_mine, x, layer.coef, layer.w_b, layer.w_s, layer.grid, layer.k)
layer.forward(x)
for key in layer.grads:
    layer.grads[key] = np.zeros_like(layer.grads[key])       # backward_activations adds to grads
dx_act = layer.backward_activations(dA_mine)                 # (B, I)
for key in ("coef", "w_b", "w_s"):
    assert np.abs(mine_act[key] - layer.grads[key]).max() < 1e-12
print(f"max |dL/dx by hand - backward_activations| = {np.abs(mine_act['x'] - dx_act).max():.1e}")
assert np.abs(mine_act["x"] - dx_act).max() < 1e-12

x_var = x.copy()                                             # the regularizer as a function of x


def reg_of_x():
    return l1_entropy(layer.activations(x_var), lamb_l1, lamb_ent)[0]


report_x = nk.gradcheck(reg_of_x, {"x": x_var}, {"x": mine_act["x"]})
print(report_x)
assert report_x.ok

# %% [markdown]
# The whole chain, both streams through every layer, is checked by `check_model` with
# `lamb > 0`:

# %%
small = nk.KAN([3, 2, 1], grid=3, k=3, seed=0)
xs, ys = rng.uniform(-1, 1, (20, 3)), rng.normal(0, 1, (20, 1))
report = nk.check_model(small, xs, ys, lamb=0.1, lamb_l1=1.0, lamb_entropy=2.0)
print(report)
assert report.ok

# %% [markdown]
# ## 3. A target that needs only one input
#
# `f(x1, x2, x3) = sin(pi x1)`. The inputs `x2` and `x3` are pure distraction. We
# train a `[3, 3, 1]` KAN twice from the same initialization: once without
# regularization, once with `lamb = 0.01`.

# %%
def f(x):
    return np.sin(np.pi * x[:, 0])


n_samples, steps = (300, 300) if QUICK else (1000, 1000)
data = nk.create_dataset(f, n_var=3, train_num=n_samples, test_num=n_samples, seed=0)
x_train = data["train_input"]                                # (N, 3)

plain = nk.KAN([3, 3, 1], grid=5, k=3, seed=0)
h_plain = plain.fit(data, steps=steps, lr=1e-2, lamb=0.0, verbose=False, log=steps // 10)
sparse = nk.KAN([3, 3, 1], grid=5, k=3, seed=0)
h_sparse = sparse.fit(data, steps=steps, lr=1e-2, lamb=0.01, lamb_l1=1.0, lamb_entropy=2.0,
                      verbose=False, log=steps // 10)
for name, h in (("no regularization", h_plain), ("lamb = 0.01", h_sparse)):
    print(f"{name:18s}: test MSE {h['test_loss'][-1]:.2e}, lamb * R {h['reg'][-1]:.3f}")

scores_plain = plain.edge_scores(x_train)                    # [(3, 3), (3, 1)] edge sizes n_ij
scores_sparse = sparse.edge_scores(x_train)
print("layer-0 edge sizes, rows = inputs x1 x2 x3, columns = hidden nodes")
print("no reg:\n", np.round(scores_plain[0], 3))
print("lamb = 0.01:\n", np.round(scores_sparse[0], 3))

# Checkpoint: both fit; with regularization the edges leaving x2 and x3 are tiny next to x1's.
assert h_plain["test_loss"][-1] < 1e-2 and h_sparse["test_loss"][-1] < 1e-2
assert scores_sparse[0][1:].max() < 0.05 * scores_sparse[0][0].max()
assert scores_plain[0][1:].max() > 0.1 * scores_plain[0][0].max()     # without it they are not

# %% [markdown]
# ## 4. Pruning
#
# Once the size is concentrated, pruning is bookkeeping. `model.prune(node_th,
# edge_th, x, by="forward")` keeps a hidden node only if it has an incoming *and* an outgoing edge
# larger than `node_th` (as in the paper), drops the other nodes, and masks the
# remaining edges smaller than `edge_th` (a masked edge is exactly zero and stays zero
# during further training). Inputs and outputs are always kept, so a useless input
# shows up as an input with no live edges. This is `by="forward"`; `prune()`'s
# default is pykan's rule, by backward attribution (lesson 11).

# %%
pruned_plain = plain.prune(node_th=1e-2, edge_th=3e-2, x=x_train, by="forward")   # the paper's rule
pruned = sparse.prune(node_th=1e-2, edge_th=3e-2, x=x_train, by="forward")
print("widths after pruning: no reg", pruned_plain.width, " lamb = 0.01", pruned.width)
live_from_input = pruned.layers[0].mask.sum(axis=1)          # (3,) live edges leaving x1, x2, x3
print("live edges leaving x1, x2, x3:", live_from_input)
assert live_from_input[0] >= 1 and live_from_input[1] == 0 and live_from_input[2] == 0
assert pruned_plain.layers[0].mask[1:].sum() > 0             # the unregularized net still uses x2 / x3

before = sparse.evaluate(data["test_input"], data["test_label"])["loss"]
after = pruned.evaluate(data["test_input"], data["test_label"])["loss"]
print(f"test MSE before pruning {before:.2e}, after {after:.2e}, parameters {sparse.num_parameters()} -> {pruned.num_parameters()}")
assert after < 2 * before + 1e-4

# %% [markdown]
# Pruning removes a little function along with the edges, so a short fine-tune without
# regularization follows. Masked edges stay at zero:

# %%
h_fine = pruned.fit(data, steps=steps // 2, lr=1e-3, lamb=0.0, update_grid=False, verbose=False, log=steps // 10)
print(f"after fine-tuning: test MSE {h_fine['test_loss'][-1]:.2e}")
A0 = pruned.layers[0].activations(x_train)                   # (N, 3, width[1])
assert np.all(A0[:, 1:, :] == 0)                             # x2 and x3 contribute exactly nothing
assert h_fine["test_loss"][-1] < 1e-2

# %% [markdown]
# ## 5. The picture
#
# A small helper draws a network from its edge sizes: one line per edge, darker for
# larger `n_ij` (relative to the largest edge of its layer), inputs at the bottom,
# masked edges left out. (Lesson 10 uses the library's `model.plot`, which also draws
# each edge's curve.)

# %%
def draw_kan(ax, model, scores, title, names=None):
    """Nodes in rows (inputs at the bottom), edges with opacity ~ n_ij / max n of the layer."""
    width = model.width
    pos = [[((j + 0.5) / w, l) for j in range(w)] for l, w in enumerate(width)]
    for l, (layer, s) in enumerate(zip(model.layers, scores)):
        s = s * layer.mask                                   # masked edges are gone
        top = s.max() if s.max() > 0 else 1.0
        for i in range(width[l]):
            for j in range(width[l + 1]):
                if s[i, j] > 0:
                    (x0, y0), (x1, y1) = pos[l][i], pos[l + 1][j]
                    ax.plot([x0, x1], [y0, y1], "k-", alpha=float(np.clip(s[i, j] / top, 0.03, 1)), lw=2)
    for l, row in enumerate(pos):
        ax.scatter(*zip(*row), s=120, c="white", edgecolors="k", zorder=3)
    for j, (xj, yj) in enumerate(pos[0]):
        ax.text(xj, yj - 0.18, (names or [f"x{q + 1}" for q in range(width[0])])[j], ha="center", va="top")
    ax.set_title(title)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(width) - 0.6)
    ax.axis("off")


fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
draw_kan(axes[0], plain, scores_plain, "trained, no regularization")
draw_kan(axes[1], sparse, scores_sparse, "trained, lamb = 0.01")
draw_kan(axes[2], pruned, pruned.edge_scores(x_train), f"pruned: width {pruned.width}")
savefig(fig, "06_prune.png")

# %% [markdown]
# ## Summary
#
# - Edge size `n_ij = mean_b |phi_ij|`; the regularizer is `lambda_1 sum n + lambda_S S`
#   with `S` the entropy of `n / sum n`. L1 shrinks everything, entropy concentrates.
# - `dS/dn_ij = (-log p_ij - S) / N`: small edges are pushed down, large ones up.
#   Our formula matches the library and finite differences, and the gradient reaches
#   earlier layers through `backward_activations`.
# - With `lamb = 0.01` a `[3, 3, 1]` KAN on `sin(pi x1)` switches off every edge from
#   `x2` and `x3`; pruning then removes them (and unused hidden nodes) with no loss in
#   accuracy. Without regularization the same pruning keeps the distractors.
#
# ## Exercises
#
# 1. Set `lamb_entropy=0` (L1 only) and then `lamb_l1=0` (entropy only). Which one
#    sparsifies, and what does the other one do to the accuracy?
# 2. Sweep `lamb` over `1e-4 ... 1e-1`. Plot test MSE against the number of live edges
#    after pruning. Where is the sweet spot?
# 3. Our edge size is `mean |phi|`, as in the paper. pykan now uses the ratio of the
#    output's to the input's standard deviation. Why would a scale-free measure help
#    when a hidden node's range is large?
# 4. Replace the target with `sin(pi x1) + 0.1 x2^2`. Does regularization now remove a
#    *useful* input? How does `lamb` decide?

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** Entropy alone sparsifies: it concentrates the total size on few edges without
# asking for it to be small. L1 alone shrinks every edge by the same pressure per unit
# of size; it drives weak edges towards 0 only slowly and costs accuracy on the edge
# that matters, since that one is shrunk too. Together (the paper's choice) L1 keeps
# the overall scale in check while entropy picks the winners.
#
# **2.** An experiment: expect the number of live edges after pruning to fall as
# `lamb` grows, with the test MSE flat until the regularizer starts removing or
# shrinking the `x1` edges (around `lamb ~ 0.1` here), then rising fast. The sweet spot
# is the largest `lamb` before that knee.
#
# **3.** `mean |phi|` grows with the range of the edge's input: a hidden node with a
# large range makes every edge leaving it look important, whatever its shape. The ratio
# `std(phi(x)) / std(x)` measures how much the edge *changes* with its input and is
# unchanged when the previous layer rescales that input; it also ignores a constant
# offset, which the next node can absorb anyway.
#
# **4.** `0.1 x2^2` has a size of about `0.1 * mean(x2^2) = 0.03`, a tenth of the
# `sin` edge's. With `lamb = 0.01` the entropy term's pull on it outweighs its
# contribution to the fit, and pruning tends to remove `x2` (a useful input) at a cost
# of about `var(0.1 x2^2) ~ 1e-3` in test MSE; a smaller `lamb` (`1e-3`) keeps it. `lamb`
# sets the exchange rate between fit and sparsity.
