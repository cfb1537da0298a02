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
# # Lesson 8 — MNIST with a [784, 10, 10] KAN
#
# So far every input was one of two or three coordinates. Handwritten digits have 784
# inputs (one per pixel) and 10 classes. This is where a KAN's cost per edge shows, and
# where the speed tricks of lesson 2 matter.
#
# **Goals.** After this lesson (about 25 minutes) you can
#
# 1. load MNIST as a numpykan dataset and explain the pixel scaling to `[-1, 1]`;
# 2. write the softmax cross-entropy loss and its gradient, and match `nk.losses`;
# 3. train a `[784, 10, 10]` KAN in float32 with AdamW and compare it with an MLP of the
#    same widths (and far fewer parameters);
# 4. read a per-pixel importance map off the first layer's edges.
#
# **How to run.** `python tutorials/08_mnist.py` trains on the first 10,000 training
# digits for 5 epochs (about 40 s on 2 cores). `python tutorials/08_mnist.py --full`
# (or `MNIST_FULL=1`) uses all 60,000 for 20 epochs, the report's setting (about
# 2 minutes for the KAN alone, docs/RESULTS.md). The four MNIST files are looked for in
# `$NUMPYKAN_DATA`, then in numpykan's cache folder, and downloaded there if missing.
# With `QUICK=1` (seconds), or when MNIST cannot be found or downloaded, the lesson runs
# on a synthetic stand-in (about 20 s) and says so plainly in its printouts and
# figures. `numpykan reproduce mnist` runs the report's experiment from the
# command line.

#
# **Running time.** About 41 s in full mode on MNIST (about 20 s when it falls back to
# the stand-in) on a 2-core machine (measured with one BLAS thread), a few seconds
# with `QUICK=1`. Training cells print progress lines as they go.
# %%
import os
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.mnist import DatasetNotFoundError

from numpykan.data.standin import STANDIN_LABEL, mnist_standin
from numpykan.teaching.lesson import QUICK, YourTurn, progress, savefig   # QUICK switch, stubs, figures
FULL = ("--full" in sys.argv or os.environ.get("MNIST_FULL", "0") not in ("", "0")) and not QUICK

# %% [markdown]
# ## 1. The data
#
# `nk.load_mnist` returns the usual dataset dict, with images flattened to rows of 784
# values and integer labels `(N,)` for the cross-entropy loss. Pixels 0..255 are mapped
# to `[-1, 1]`, exactly the default grid range of the first layer.
#
# The stand-in (QUICK mode, or no MNIST available) is `numpykan.data.standin`: ten
# classes of stroke pictures, each sample redrawn with jittered strokes, a random
# rotation, scale, shift and width, a faint distractor stroke and pixel noise. It has
# MNIST's shapes and is hard enough that neither model reaches 100% (about 86% after
# 5 epochs on 5,000 pictures), but it is **not MNIST**: the lesson says so in every
# printout and figure when it runs on it.

# %%
source = "stand-in"
if QUICK:
    data = mnist_standin(480, 200)
else:
    try:
        data = nk.load_mnist(os.environ.get("NUMPYKAN_DATA"), subset=None if FULL else 10000)
        source = "MNIST" + (" (all 60,000)" if FULL else " (first 10,000 training digits)")
    except (DatasetNotFoundError, OSError) as err:
        print("MNIST not available:", err)
        data = mnist_standin(5000, 2000)
ON_STANDIN = source == "stand-in"
if ON_STANDIN:
    source = STANDIN_LABEL
    print("=" * 78)
    print("THIS RUN USES THE SYNTHETIC STAND-IN, NOT MNIST. The accuracies below are the")
    print("stand-in's; the prose quotes MNIST's numbers for comparison. Set NUMPYKAN_DATA to")
    print("a folder with the four MNIST .gz files to run on the real digits.")
    print("=" * 78)
print("data:", source, {key: (v.shape, v.dtype.name) for key, v in data.items()})
assert data["train_input"].shape[1] == 784
assert data["train_input"].min() >= -1 and data["train_input"].max() <= 1

fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for ax, img, lab in zip(axes, data["train_input"][:10], data["train_label"][:10]):
    ax.imshow(img.reshape(28, 28), cmap="gray_r")
    ax.set_title(str(lab))
    ax.axis("off")
fig.suptitle(source, fontsize=9)
savefig(fig, "08_samples.png")

# %% [markdown]
# ## 2. Cross-entropy, by hand
#
# The network outputs 10 *logits* `z_b` per image. Softmax turns them into
# probabilities `p_bc = e^{z_bc} / sum_c' e^{z_bc'}`; the loss is the mean negative
# log-probability of the true class,
#
# $$L = \frac{1}{B}\sum_b \Big[\log\sum_c e^{z_{bc}} - z_{b y_b}\Big].$$
#
# *The gradient.* Take one sample and write `Z = sum_c' e^{z_c'}`. The first term
# differentiates to
#
# $$\frac{\partial}{\partial z_c} \log Z = \frac{1}{Z}\frac{\partial Z}{\partial z_c}
#   = \frac{e^{z_c}}{Z} = p_c,$$
#
# and the second, `-z_y`, to `-1` if `c = y` and `0` otherwise. With the `1/B` of the
# mean,
#
# $$\frac{\partial L}{\partial z_{bc}} = \frac{1}{B}\big(p_{bc} - [c = y_b]\big):$$
#
# "predicted minus true", the same shape as MSE's `2 (y - t) / N`. Two consequences:
# each row of the gradient sums to 0 (softmax cannot change by adding a constant to
# every logit), and the gradient is bounded by `1/B` whatever the logits, so a
# confidently wrong network is not pushed infinitely hard.
#
# *Overflow.* `e^{z}` overflows float64 beyond `z ~ 709` (float32: ~ 88). Subtracting
# each row's maximum `m_b` changes nothing mathematically (`log sum e^{z} = m +
# log sum e^{z - m}`, and `p` is unchanged) and keeps every exponent `<= 0`.
#
# **Your turn.** Write `softmax_cross_entropy(z, labels)` returning `(L, dL/dz)` for
# logits `z` `(B, C)` and integer labels `(B,)`, safe for large logits.

# %% tags=["exercise"]
def softmax_cross_entropy(z, labels):
    """Mean softmax cross-entropy of logits z (B, C) with integer labels (B,), and dL/dz (B, C)."""
    ### BEGIN SOLUTION
    B = z.shape[0]
    zs = z - z.max(axis=1, keepdims=True)                    # (B, C) every row's max is 0
    e = np.exp(zs)                                           # (B, C)
    p = e / e.sum(axis=1, keepdims=True)                     # (B, C) softmax
    L = float(np.mean(np.log(e.sum(axis=1)) - zs[np.arange(B), labels]))
    dz = p.copy()
    dz[np.arange(B), labels] -= 1                            # p - onehot
    return L, dz / B
    ### END SOLUTION


# %%
rng = np.random.default_rng(0)
z = rng.normal(0, 3, (8, 10))                                # (B, C) logits
labels = rng.integers(0, 10, 8)                              # (B,)
L_mine, dz_mine = softmax_cross_entropy(z, labels)
L_lib, dz_lib = nk.losses.cross_entropy(z, labels)
print(f"loss by hand {L_mine:.6f}, library {L_lib:.6f}")
assert abs(L_mine - L_lib) < 1e-12 and np.abs(dz_mine - dz_lib).max() < 1e-12
assert np.abs(dz_mine.sum(axis=1)).max() < 1e-15              # each row sums to 0

z_var = z.copy()                                             # finite differences of L in z
report = nk.gradcheck(lambda: nk.losses.cross_entropy(z_var, labels)[0], {"z": z_var}, {"z": dz_mine})
print(report)
assert report.ok
L_big, dz_big = softmax_cross_entropy(1000 * z, labels)      # logits ~ 3000: exp alone would overflow
assert np.isfinite(L_big) and abs(L_big - nk.losses.cross_entropy(1000 * z, labels)[0]) < 1e-9

# %% [markdown]
# ## 3. The KAN and its MLP twin
#
# The report's KAN is `[784, 10, 10]` with `G = 3`, `k = 3`: 7,840 + 100 edges of
# `G + k + 2 = 8` numbers, **63,520** parameters. An MLP of the same widths has
# `784*10 + 10 + 10*10 + 10` = **7,960**. Note: same shape, eight times fewer
# parameters — the report compares these two, so we do too.
#
# We train in float32 (twice as fast as float64, and gradient checks are not needed
# here) with AdamW, learning rate `1e-3`, mini-batches of 64. The KAN updates its grids
# ten times during the first epoch, as `numpykan reproduce mnist` does: the first
# layer's inputs are pinned to `[-1, 1]` by construction, but the hidden layer's are
# not, and on the full run the updates are worth 0.8 points of test accuracy (94.42%
# with, 93.66% without, docs/RESULTS.md). The MLP has no grid. Each model prints a
# progress line every epoch.

# %%
epochs = 6 if QUICK else (20 if FULL else 5)
lr = 3e-3 if QUICK else 1e-3                                 # QUICK: few steps, so larger ones
steps_per_epoch = -(-data["train_input"].shape[0] // 64)     # ceil(N / 64)
settings = dict(opt="AdamW", epochs=epochs, batch=64, lr=lr, loss="ce", log=1, verbose=False)
kan = nk.KAN([784, 10, 10], grid=3, k=3, seed=0, dtype=np.float32)
mlp = nk.MLP([784, 10, 10], seed=0, dtype=np.float32)
print(kan, "\n", mlp)
assert kan.num_parameters() == 63520 and mlp.num_parameters() == 7960

t0 = time.perf_counter()
h_kan = kan.fit(data, update_grid=True, grid_update_num=10, start_grid_update_step=0,
                stop_grid_update_step=steps_per_epoch,
                callback=progress(epochs * steps_per_epoch, steps_per_epoch, "KAN step"), **settings)
t_kan = time.perf_counter() - t0
t0 = time.perf_counter()
h_mlp = mlp.fit(data, update_grid=False,
                callback=progress(epochs * steps_per_epoch, steps_per_epoch, "MLP step"), **settings)
t_mlp = time.perf_counter() - t0
for name, h, secs in (("KAN", h_kan, t_kan), ("MLP", h_mlp, t_mlp)):
    print(f"{name} on {'the STAND-IN' if ON_STANDIN else 'MNIST'}: train acc {h['train_acc'][-1]:.3f},"
          f" test acc {h['test_acc'][-1]:.3f}, test loss {h['test_loss'][-1]:.3f}, {secs:.1f} s")

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
for name, h in (("KAN", h_kan), ("MLP", h_mlp)):
    ep = np.arange(1, len(h["test_acc"]) + 1)
    a1.plot(ep, h["train_loss"], "o-", label=f"{name} train")
    a1.plot(ep, h["test_loss"], "s--", label=f"{name} test")
    a2.plot(ep, h["test_acc"], "o-", label=f"{name} test")
a1.set_xlabel("epoch")
a1.set_ylabel("cross-entropy")
a1.legend(fontsize=8)
a2.set_xlabel("epoch")
a2.set_ylabel("accuracy")
a2.legend(fontsize=8)
fig.suptitle(f"[784, 10, 10] on {source}")
savefig(fig, "08_training.png")

# Checkpoint: both learn. On MNIST, the KAN's test accuracy should be about 0.9 after 5 epochs
# on 10,000 digits and about 0.94 with --full (the report gives 92.5% and 93.5% for its two
# models); the MLP is close behind. On the stand-in both stay clearly below 100%.
if ON_STANDIN:
    acc_target = 0.3 if QUICK else 0.75
    assert max(h_kan["test_acc"][-1], h_mlp["test_acc"][-1]) < 0.97   # not solved: the comparison means something
else:
    acc_target = 0.92 if FULL else 0.87
assert h_kan["test_acc"][-1] > acc_target
assert h_mlp["test_acc"][-1] > acc_target - 0.05

# %% [markdown]
# On MNIST the two end up close — the KAN usually slightly ahead in accuracy, at
# many times the parameters and time per step. Digits are not a composition of a few
# smooth 1-D functions of individual pixels, so the structural advantage of lesson 7
# does not apply; what the KAN buys here is mostly capacity.
#
# ## 4. Which pixels does the network look at?
#
# Every first-layer edge starts at one pixel. Its size `n_ij = mean_b |phi_ij(x_bi)|`
# (lesson 6) says how much that pixel contributes to hidden node `j`. Taking the
# largest over `j` and reshaping to 28 x 28 gives an importance map.

# %%
sample = data["train_input"][:1000]                          # (1000, 784)
scores = kan.edge_scores(sample)                             # [(784, 10), (10, 10)]
importance = scores[0].max(axis=1).reshape(28, 28)           # (28, 28)
mean_img = sample.mean(axis=0).reshape(28, 28)               # (28, 28)

fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3.4))
a1.imshow(mean_img, cmap="gray_r")
a1.set_title("mean input")
im = a2.imshow(importance, cmap="viridis")
a2.set_title("max_j |phi_ij|_1 per pixel")
fig.colorbar(im, ax=a2, shrink=0.8)
for a in (a1, a2):
    a.axis("off")
savefig(fig, "08_pixel_importance.png")

# Checkpoint: pixels where the digits actually vary matter more than the always-blank border.
border = np.zeros((28, 28), bool)
border[:3], border[-3:], border[:, :3], border[:, -3:] = True, True, True, True
varying = sample.std(axis=0).reshape(28, 28) > 0.5
print(f"mean importance: border {importance[border].mean():.3f}, varying pixels {importance[varying].mean():.3f}")
assert importance[varying].mean() > 2 * importance[border].mean()

# %% [markdown]
# Border pixels are (almost) always -1, so `phi_ij(-1)` is a constant that the next
# layer can absorb: the network has no reason to make it large, and it doesn't. That
# is the same reading-off-the-edges we will do more carefully in lesson 10.
#
# ## Summary
#
# - MNIST becomes a `(N, 784)` dataset with pixels in `[-1, 1]`, the grid's range.
# - Cross-entropy's gradient is `(softmax - onehot) / B`; ours matches `nk.losses`.
# - A `[784, 10, 10]` KAN (63,520 parameters, float32, AdamW) reaches about 90% test
#   accuracy on a 10,000-digit subset in a few epochs; an MLP of the same widths
#   (7,960 parameters) comes close. Structure, not size, is what made the KAN shine in
#   lesson 7.
# - First-layer edge sizes form a pixel-importance map.
#
# ## Exercises
#
# 1. Give the MLP the KAN's parameter budget: `[784, 80, 10]` has about 63,600. Who
#    wins now?
# 2. Train the KAN in float64 and compare time per epoch with float32.
# 3. Turn the KAN's grid updates off (`update_grid=False`). Which layer's grid moved
#    when they were on, and how much accuracy do they buy on this subset?
# 4. Plot the 10 edges leaving the centre pixel (`i = 14 * 28 + 14`): evaluate
#    `kan.layers[0].activations(x)` for inputs where only that pixel varies.

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** `[784, 80, 10]` has `784*80 + 80 + 80*10 + 10 = 63,610` parameters, 90 more
# than the KAN. With the same budget the MLP usually matches or beats the KAN on MNIST
# (its 80 hidden units are more useful capacity than 8 numbers per pixel-edge): the
# KAN's edge in lesson 7 came from structure, which digits do not have.

# %% tags=["solution"]
wide = nk.MLP([784, 80, 10], seed=0, dtype=np.float32)
print("MLP [784, 80, 10]:", wide.num_parameters(), "parameters; KAN:", kan.num_parameters())
assert wide.num_parameters() == 63610

# %% [markdown] tags=["solution"]
# **2.** float64 doubles the bytes moved per step; expect an epoch to take 1.5-2 times
# as long, for the same accuracy (the extra digits do not help training).
#
# **3.** Only the second layer's grid matters: the first layer's inputs are pixels in
# `[-1, 1]`, and updates re-place them at the quantiles of mostly `-1` pixels (many
# edges see a constant input and keep their width). The hidden layer's inputs are sums
# of learned edges that leave `[-1, 1]`; the updates follow them. On the full run they
# are worth 0.8 points (docs/RESULTS.md); on the 10,000-digit subset expect a few
# tenths of a point.
#
# **4.** Build `x = np.full((101, 784), -1.0)`, set `x[:, 14 * 28 + 14] = np.linspace(-1,
# 1, 101)`, and plot `kan.layers[0].activations(x.astype(np.float32))[:, 14 * 28 + 14, :]`:
# ten curves, one per hidden node, of the centre pixel's value.
