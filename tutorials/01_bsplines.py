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
# # Lesson 1 — B-splines from scratch
#
# Every edge of a Kolmogorov-Arnold Network carries a small learnable curve, and
# that curve is a *B-spline*: a weighted sum of simple bump functions. Before we
# build a network we build the bumps.
#
# **Goals.** After this lesson (about 20 minutes) you can
#
# 1. write down the knot vector numpykan uses and say why it is extended by `k`
#    knots on each side;
# 2. evaluate B-spline bases with the Cox-de Boor recursion by hand and check your
#    code against `numpykan.bspline`;
# 3. state and check the three properties a KAN relies on: *partition of unity*,
#    *local support* (only `k + 1` bases are non-zero at any point) and a simple
#    closed-form *derivative*;
# 4. fit a curve with a spline by least squares.
#
# **Glossary** (used in every lesson): `B` batch, `I` inputs, `O` outputs,
# `G` grid intervals, `k` the spline *degree* (pykan calls it the "order"),
# `K = G + k` basis functions, `G + 2k + 1` knots.

#
# **Running time.** About 4 s in full mode on a 2-core machine (measured with one BLAS
# thread), a few seconds with `QUICK=1`.
# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk

from numpykan.teaching.lesson import QUICK, YourTurn, savefig   # QUICK switch, exercise stubs, figures

# %% [markdown]
# ## 1. The knot vector
#
# A spline of degree `k` is a piecewise polynomial of degree `k`. The places where
# the pieces meet are the *knots* `t_0 < t_1 < ... `. We want `G` equal intervals on
# the range where our data lives, the *base interval* `[lo, hi]` (default `[-1, 1]`).
#
# A degree-`k` basis function spans `k + 1` consecutive intervals. For the
# functions that touch the ends of `[lo, hi]` to be complete, we need `k` more
# intervals on each side. So numpykan extends the `G + 1` base knots by `k` knots
# on the left and `k` on the right: `G + 2k + 1` knots in total, and
# `(G + 2k + 1) - (k + 1) = G + k` basis functions.

# %%
G, k = 5, 3
t = nk.bspline.uniform_grid(G, k, grid_range=(-1.0, 1.0))   # (G + 2k + 1,) = (12,)
print("knots:", np.round(t, 3))
print("number of knots", t.size, "= G + 2k + 1 =", G + 2 * k + 1)
print("base interval [t_k, t_{G+k}] =", t[k], t[G + k])

assert t.shape == (G + 2 * k + 1,)
assert t[k] == -1.0 and np.isclose(t[G + k], 1.0)           # the base interval sits inside
assert np.allclose(np.diff(t), 2.0 / G)                     # uniform spacing h = (hi - lo) / G

# %% [markdown]
# ## 2. Cox-de Boor by hand
#
# The bases are defined by a recursion on the degree `p`. Degree 0 is an indicator:
#
# $$B_{m,0}(x) = 1 \text{ if } t_m \le x < t_{m+1}, \text{ else } 0.$$
#
# Degree `p` blends two neighbouring degree `p - 1` bases with weights that ramp
# linearly across their supports:
#
# $$B_{m,p}(x) = \frac{x - t_m}{t_{m+p} - t_m} B_{m,p-1}(x)
#               + \frac{t_{m+p+1} - x}{t_{m+p+1} - t_{m+1}} B_{m+1,p-1}(x).$$
#
# Each level is one polynomial degree higher and one interval wider.
#
# **Your turn.** Write the recursion exactly as the formula reads, for one point and
# one basis at a time: `cox_de_boor(x, t, m, p)` returns `B_{m,p}(x)` on the knots `t`.
# It is slow (it recomputes the same lower-degree values over and over), but every
# line can match the formula. `bases_by_hand` below it, given, evaluates all bases at
# all points with it. The cell after checks your function against the library; the
# grader (`numpykan grade 01 your_file.py`) tells you which entry is wrong and where
# to look.

# %% tags=["exercise"]
def cox_de_boor(x, t, m, p):
    """B_{m,p}(x) on knots t, by the textbook recursion (scalar x)."""
    ### BEGIN SOLUTION
    if p == 0:
        return 1.0 if t[m] <= x < t[m + 1] else 0.0
    left = (x - t[m]) / (t[m + p] - t[m]) * cox_de_boor(x, t, m, p - 1)
    right = (t[m + p + 1] - x) / (t[m + p + 1] - t[m + 1]) * cox_de_boor(x, t, m + 1, p - 1)
    return left + right
    ### END SOLUTION


def bases_by_hand(xs, t, k):
    """All K = len(t) - k - 1 bases at every point: (B,) -> (B, K)."""
    K = len(t) - k - 1
    return np.array([[cox_de_boor(x, t, m, k) for m in range(K)] for x in xs])


# %%
n_points = 41 if QUICK else 201
xs = np.linspace(-1.9, 1.9, n_points)                      # (B,) also a little beyond [-1, 1]
mine = bases_by_hand(xs, t, k)                              # (B, K)
print("by hand:", mine.shape)

# %% [markdown]
# numpykan has two evaluators. `basis_reference` is the same recursion, vectorized
# over points and bases (still slow: it computes all `G + 2k` degree-0 indicators and
# climbs every level). `basis` is the one the layers use: it computes only the
# `k + 1` bases that can be non-zero at each point (see section 4) and scatters them
# into a dense array. Both take `x` of shape `(B, I)` — a column per input — and
# return `(B, I, K)`.

# %%
x2d = xs[:, None]                                           # (B, I) with I = 1
ref = nk.bspline.basis_reference(x2d, t, k)                 # (B, 1, K)
fast = nk.bspline.basis(x2d, t, k)                          # (B, 1, K)
print("library:", fast.shape)

err_ref = np.abs(mine - ref[:, 0, :]).max()
err_fast = np.abs(mine - fast[:, 0, :]).max()
print(f"max |by hand - basis_reference| = {err_ref:.1e}")
print(f"max |by hand - basis|           = {err_fast:.1e}")
# Checkpoint: our recursion and both library evaluators agree to round-off.
assert err_ref < 1e-12 and err_fast < 1e-12

# %% [markdown]
# ## 3. What the bases look like, for k = 0, 1, 2, 3
#
# Degree 0 gives boxes, degree 1 hats, degree 2 and 3 smooth bells. The dashed lines
# mark the base interval `[-1, 1]`; everything outside it is the extension.

# %%
fig, axes = plt.subplots(1, 4, figsize=(15, 3), sharey=True)
xx = np.linspace(-2.4, 2.4, 961 if not QUICK else 241)[:, None]  # (B, 1)
for deg, ax in zip(range(4), axes):
    tt = nk.bspline.uniform_grid(G, deg)                     # (G + 2 deg + 1,)
    Bx = nk.bspline.basis(xx, tt, deg)[:, 0, :]              # (B, G + deg)
    for m in range(Bx.shape[1]):
        ax.plot(xx[:, 0], Bx[:, m], lw=1.4)
    ax.plot(xx[:, 0], Bx.sum(axis=1), "k:", lw=1, label="sum of bases")
    ax.axvline(-1, ls="--", c="gray", lw=0.8)
    ax.axvline(1, ls="--", c="gray", lw=0.8)
    ax.plot(tt, np.zeros_like(tt), "k|", ms=10)
    ax.set_title(f"k = {deg}: {Bx.shape[1]} bases, {tt.size} knots")
axes[0].legend(loc="upper left", fontsize=8)
savefig(fig, "01_bases_k0-3.png")

# %% [markdown]
# ## 4. Three properties a KAN relies on
#
# **Partition of unity.** On the base interval the bases sum to exactly 1 (the
# dotted line above). Consequence: a spline with all coefficients equal to `c` is the
# constant `c` there, so a spline can always represent an offset. Outside the base
# interval the sum drops to 0, because the knots needed there were never added.
#
# **Non-negativity and local support.** `B_m >= 0`, and `B_m` is non-zero only on
# `[t_m, t_{m+k+1})`, that is on `k + 1` intervals. Turned around: at any point at
# most `k + 1` bases are non-zero. Changing one coefficient changes the curve only
# locally, and evaluating a spline costs `O(k)` per point, not `O(G)`. numpykan's
# fast path computes exactly those `k + 1` values.

# %%
inside = (xs >= -1) & (xs < 1)
total = mine.sum(axis=1)                                    # (B,)
print("sum of bases inside [-1, 1): min", total[inside].min(), "max", total[inside].max())
print("sum of bases at x = -1.9, 1.9:", total[0], total[-1])
assert np.abs(total[inside] - 1).max() < 1e-12              # partition of unity
assert np.all(mine >= 0)                                    # non-negative
assert total[0] < 1 and total[-1] < 1                       # not beyond the base interval

live = (mine > 0).sum(axis=1)                               # (B,) non-zero bases per point
print("non-zero bases per point: at most", live.max(), "(k + 1 =", k + 1, ")")
assert live.max() <= k + 1

# where does B_m live? exactly on [t_m, t_{m+k+1})
for m in range(mine.shape[1]):
    outside = (xs < t[m]) | (xs >= t[m + k + 1])
    assert np.all(mine[outside, m] == 0)

# %% [markdown]
# The library exposes the live values directly. `local_basis` returns, for every
# point, the `k + 1` values and the index of the basis each belongs to; `basis`
# is that, scattered into zeros.

# %%
lb = nk.bspline.local_basis(x2d, t, k)
print("live values:", lb.values.shape, "(k + 1, B, I); dense K =", lb.K)
assert lb.values.shape == (k + 1, n_points, 1)
assert np.allclose(lb.values.sum(axis=0)[inside, 0], 1.0, atol=1e-12)

# %% [markdown]
# **On a uniform grid every span looks the same.** Write a point of the span
# `[t_s, t_{s+1})` as `x = t_s + u h` with `u` in `[0, 1)`. Its live bases
# `B_{s-k} .. B_s` are then fixed polynomials of `u`, the same in every span: the
# recursion with equal knot spacing never sees `s`. For `k = 3` their coefficients
# are the *cubic B-spline matrix* of computer graphics, `piece_matrix(3)` (row `r`
# is `B_{s-k+r}`, column `p` the coefficient of `u^p`). The fast path evaluates
# uniform grids this way: the powers of `u` and one small matrix product.

# %%
C = nk.bspline.piece_matrix(k)                              # (k + 1, k + 1)
print("6 * piece_matrix(3) =\n", np.round(6 * C, 12))
s_span = k + 2                                              # any span inside the base interval
u = np.linspace(0, 1, 7, endpoint=False)                    # (7,)
x_span = t[s_span] + u * (t[s_span + 1] - t[s_span])        # (7,) points of that span
pieces = np.vander(u, k + 1, increasing=True) @ C.T         # (7, k + 1): u^p times C[r, p]
by_hand = bases_by_hand(x_span, t, k)[:, s_span - k:s_span + 1]   # (7, k + 1) B_{s-k} .. B_s
print(f"max |polynomial pieces - recursion| = {np.abs(pieces - by_hand).max():.1e}")
assert np.abs(pieces - by_hand).max() < 1e-12

# %% [markdown]
# **Derivatives.** The backward pass of a KAN needs `dB/dx` (lesson 3, for `dL/dx`).
# The result is a formula with no new ingredients — the degree `k - 1` bases of the
# same knots:
#
# $$B'_{m,k}(x) = k \left[\frac{B_{m,k-1}(x)}{t_{m+k} - t_m}
#                 - \frac{B_{m+1,k-1}(x)}{t_{m+k+1} - t_{m+1}}\right].$$
#
# *Where it comes from, on a uniform grid* (spacing `h`, numpykan's default). A
# degree-`p` basis is the degree-`p - 1` basis averaged over a window of width `h`:
#
# $$B_{m,p}(x) = \frac{1}{h}\int_{x-h}^{x} B_{m,p-1}(s)\, ds .$$
#
# For `p = 1` this averages the box `[t_m, t_{m+1})` and gives the hat on
# `[t_m, t_{m+2}]`; the recursion above is the same statement written out piece by
# piece. Differentiate with the fundamental theorem of calculus, and use that
# shifting a basis by one knot is moving its index, `B_{m,p-1}(x - h) = B_{m+1,p-1}(x)`:
#
# $$B'_{m,p}(x) = \frac{1}{h}\big[B_{m,p-1}(x) - B_{m,p-1}(x - h)\big]
#                = \frac{B_{m,p-1}(x) - B_{m+1,p-1}(x)}{h}.$$
#
# With `t_{m+p} - t_m = t_{m+p+1} - t_{m+1} = p h` this is the formula above. On
# arbitrary knots the same formula holds; it is proved by induction on `p`, by
# differentiating the recursion and using the formula for `p - 1` (see de Boor, *A
# Practical Guide to Splines*). We check it on a non-uniform grid below.
#
# Two consequences. A degree-`k` spline's derivative is a degree-`k - 1` spline, so
# a cubic's second derivative is piecewise linear and its third jumps at knots; and
# for `k = 1` the derivative itself jumps at knots (lesson 3 meets this in gradient
# checks).
#
# **Your turn.** Write `derivative_by_hand(xs, t, k)`: all `K` derivatives at every
# point, from `bases_by_hand(xs, t, k - 1)` (which has `K + 1` columns). We check it
# three ways: against `nk.bspline.basis_derivative`, against central finite
# differences, and on non-uniform knots.

# %% tags=["exercise"]
def derivative_by_hand(xs, t, k):
    """dB_{m,k}/dx at every point from degree k-1 bases: (B,) -> (B, K)."""
    ### BEGIN SOLUTION
    K = len(t) - k - 1
    lower = bases_by_hand(xs, t, k - 1)                      # (B, K + 1) degree k-1 bases
    out = np.zeros((len(xs), K))
    for m in range(K):
        out[:, m] = k * (lower[:, m] / (t[m + k] - t[m]) - lower[:, m + 1] / (t[m + k + 1] - t[m + 1]))
    return out
    ### END SOLUTION


# %%
# points away from the knots: a cubic spline's second derivative jumps there
xs_d = np.linspace(-1.93, 1.87, n_points)                   # (B,)
dmine = derivative_by_hand(xs_d, t, k)                      # (B, K)
dlib = nk.bspline.basis_derivative(xs_d[:, None], t, k)[:, 0, :]   # (B, K)
eps = 1e-6
dnum = (nk.bspline.basis(xs_d[:, None] + eps, t, k) - nk.bspline.basis(xs_d[:, None] - eps, t, k))[:, 0, :] / (2 * eps)
print(f"max |formula - library| = {np.abs(dmine - dlib).max():.1e}")
print(f"max |library - finite differences| = {np.abs(dlib - dnum).max():.1e}")
assert np.abs(dmine - dlib).max() < 1e-12
assert np.abs(dlib - dnum).max() < 1e-7                     # central differences: O(eps^2) + round-off / eps

# the formula holds on non-uniform knots too
t_odd = np.concatenate([[-2.0, -1.6, -1.0, -0.7, -0.1, 0.2, 0.8, 1.0, 1.5, 2.2, 2.4]])   # (11,) uneven
x_odd = np.linspace(-1.55, 2.15, n_points)                  # (B,) between the knots
d_odd = derivative_by_hand(x_odd, t_odd, k)                 # (B, K)
d_lib = nk.bspline.basis_derivative(x_odd[:, None], t_odd, k)[:, 0, :]
print(f"non-uniform knots: max |formula - library| = {np.abs(d_odd - d_lib).max():.1e}")
assert np.abs(d_odd - d_lib).max() < 1e-12

# %% [markdown]
# ## 5. A spline is a weighted sum of bases: fitting a curve
#
# A spline is `s(x) = sum_m c_m B_m(x)`. Given samples `(x_b, y_b)`, the best
# coefficients in the least-squares sense solve a linear problem with the design
# matrix `B[b, m] = B_m(x_b)`. numpykan's `fit_coef` does that per input (and is
# what grid updates use in lesson 5); `evaluate` is its inverse.
#
# Here we fit `sin(pi x)` on `[-1, 1]` with more and more intervals. For a smooth
# target, a cubic spline's error should fall like `h^4 = (2/G)^4`: doubling `G`
# divides the error by about 16.

# %%
def target(x):
    return np.sin(np.pi * x)


x_fit = np.linspace(-1, 1, 400 if not QUICK else 120, endpoint=False)[:, None]  # (B, 1)
x_test = np.linspace(-0.999, 0.999, 1000)[:, None]                              # (B', 1)
errors = {}
for GG in (4, 8, 16, 32):
    tt = nk.bspline.uniform_grid(GG, k)[None, :]            # (1, GG + 2k + 1)
    c = nk.bspline.fit_coef(x_fit, target(x_fit), tt, k)    # (1, GG + k)  (I, K) for O = 1
    pred = nk.bspline.evaluate(x_test, tt, c[:, None, :], k)[:, 0, 0]   # (B', I, O) -> (B',)
    errors[GG] = np.abs(pred - target(x_test[:, 0])).max()
    print(f"G = {GG:2d}: max error {errors[GG]:.2e}")

ratios = [errors[a] / errors[2 * a] for a in (4, 8, 16)]
print("error ratios when G doubles:", np.round(ratios, 1))
# Checkpoint: fourth-order convergence, ratios near 2^4 = 16.
assert all(10 < r < 25 for r in ratios)
assert errors[32] < 1e-5

fig, ax = plt.subplots(figsize=(6, 3))
ax.loglog(list(errors), list(errors.values()), "o-", label="cubic spline fit")
ax.loglog(list(errors), [errors[4] * (4 / g) ** 4 for g in errors], "k--", label="slope -4")
ax.set_xlabel("G (intervals)")
ax.set_ylabel("max error")
ax.legend()
savefig(fig, "01_fit_convergence.png")

# %% [markdown]
# ## Summary
#
# - numpykan's knot vector has `G` intervals on `[lo, hi]` plus `k` on each side:
#   `G + 2k + 1` knots, `K = G + k` bases.
# - Cox-de Boor builds degree `p` from degree `p - 1`; our 6-line recursion matches
#   `basis_reference` and the fast `basis` to 1e-12.
# - On a uniform grid the `k + 1` live bases are fixed polynomials of the position
#   `u` in the span (`piece_matrix`), which is how the fast path evaluates them.
# - On the base interval the bases are non-negative and sum to 1; each is non-zero
#   on only `k + 1` intervals, so at most `k + 1` are alive at any point; outside the
#   extended grid they are all 0.
# - `B'` is a difference of degree `k - 1` bases; it matches finite differences.
# - A cubic spline approximates a smooth function with error `O(h^4)`. This is the
#   "scaling law" KANs inherit per edge.
#
# ## Exercises
#
# 1. Repeat the convergence experiment with `k = 1` and `k = 2`. What slopes do you
#    expect, and what do you see?
# 2. Evaluate `bases_by_hand` exactly at a knot for `k = 0` and `k = 1`. Which
#    bases are non-zero there, and why does the half-open interval `[t_m, t_{m+1})`
#    matter?
# 3. Count calls to `cox_de_boor` for one point and `k = 3`. How does the count grow
#    with `k`? Compare with the `k + 1` values `local_basis` computes.
# 4. Build a non-uniform knot vector (e.g. denser near 0), pass it to
#    `nk.bspline.basis`, and check partition of unity on the base interval again.
# 5. Fit `|x|` instead of `sin(pi x)`. Why does the error fall more slowly, and where
#    is it largest?

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** A degree-`k` spline approximates a smooth function with error `O(h^(k+1))`:
# slope 2 for `k = 1` (ratios near 4 when `G` doubles) and 3 for `k = 2` (ratios
# near 8).

# %% tags=["solution"]
for kk, expect in ((1, 4), (2, 8)):
    errs = []
    for GG in (8, 16, 32):
        tt = nk.bspline.uniform_grid(GG, kk)[None, :]                    # (1, GG + 2kk + 1)
        c = nk.bspline.fit_coef(x_fit, target(x_fit), tt, kk)            # (1, GG + kk)
        pred = nk.bspline.evaluate(x_test, tt, c[:, None, :], kk)[:, 0, 0]
        errs.append(np.abs(pred - target(x_test[:, 0])).max())
    r = [errs[i] / errs[i + 1] for i in range(2)]
    print(f"k = {kk}: error ratios {np.round(r, 1)} (expected about {expect})")
    assert all(0.6 * expect < q < 1.6 * expect for q in r)

# %% [markdown] tags=["solution"]
# **2.** At `x = t_m` exactly, `k = 0` gives `B_m = 1` and every other basis 0: the
# half-open interval `[t_m, t_{m+1})` contains its left end only, so exactly one box
# claims the point and the sum stays 1 (closed intervals would count it twice). For
# `k = 1` the hat `B_{m-1}` peaks at `t_m` with value 1 and its neighbours are 0 there.

# %% tags=["solution"]
m_knot = 5
at_knot = bases_by_hand([t[m_knot]], t, 0)[0]               # (K,) for k = 0
print("k = 0 at t_5:", at_knot)
assert at_knot[m_knot] == 1 and at_knot.sum() == 1
t1 = nk.bspline.uniform_grid(G, 1)
hat = bases_by_hand([t1[m_knot]], t1, 1)[0]
print("k = 1 at t_5:", hat)
assert hat[m_knot - 1] == 1 and hat.sum() == 1

# %% [markdown] tags=["solution"]
# **3.** Each call of degree `p > 0` makes two calls of degree `p - 1`, so one basis
# costs `1 + 2 + ... + 2^k = 2^(k+1) - 1` calls (15 for `k = 3`), and all `K` bases
# at one point `K (2^(k+1) - 1)`: exponential in `k`, linear in `G`, against the
# `k + 1` values `local_basis` computes per point.

# %% tags=["solution"]
calls = [0]


def counted(x, t, m, p):
    calls[0] += 1
    if p == 0:
        return 1.0 if t[m] <= x < t[m + 1] else 0.0
    return ((x - t[m]) / (t[m + p] - t[m]) * counted(x, t, m, p - 1)
            + (t[m + p + 1] - x) / (t[m + p + 1] - t[m + 1]) * counted(x, t, m + 1, p - 1))


for kk in range(5):
    calls[0] = 0
    counted(0.1, nk.bspline.uniform_grid(G, kk), 2, kk)
    print(f"k = {kk}: {calls[0]} calls for one basis at one point")
    assert calls[0] == 2 ** (kk + 1) - 1

# %% [markdown] tags=["solution"]
# **4.** Partition of unity holds on the base interval of any increasing knot
# vector; here knots denser near 0.

# %% tags=["solution"]
dense_mid = np.sign(np.linspace(-1, 1, G + 1)) * np.linspace(-1, 1, G + 1) ** 2   # (G + 1,) denser near 0
t_nu = nk.bspline.extend_grid(dense_mid[None, :], k)        # (1, G + 2k + 1)
x_nu = np.linspace(-1, 1, 101, endpoint=False)[:, None]     # (101, 1) on the base interval
total_nu = nk.bspline.basis(x_nu, t_nu, k).sum(axis=2)      # (101, 1)
print("non-uniform knots:", np.round(t_nu[0], 3), " max |sum - 1| =", np.abs(total_nu - 1).max())
assert np.abs(total_nu - 1).max() < 1e-12

# %% [markdown] tags=["solution"]
# **5.** `|x|` has a kink at 0. A cubic spline is `C^2` across its knots, so even
# with a knot at 0 it must round the corner: the error sits at 0 and falls only like
# `h` (ratios near 2), not `h^4`.

# %% tags=["solution"]
errs, where = [], []
for GG in (4, 8, 16, 32):
    tt = nk.bspline.uniform_grid(GG, k)[None, :]
    c = nk.bspline.fit_coef(x_fit, np.abs(x_fit), tt, k)
    err = np.abs(nk.bspline.evaluate(x_test, tt, c[:, None, :], k)[:, 0, 0] - np.abs(x_test[:, 0]))
    errs.append(err.max())
    where.append(x_test[np.argmax(err), 0])
print("|x|: max errors", np.format_float_scientific(errs[0], 2), "...",
      np.format_float_scientific(errs[-1], 2), "ratios", np.round(np.array(errs[:-1]) / errs[1:], 1),
      "at x =", np.round(where, 3))
assert all(1.5 < a / b < 3 for a, b in zip(errs, errs[1:]))
assert all(abs(w) < 0.1 for w in where)
