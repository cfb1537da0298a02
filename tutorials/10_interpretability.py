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
# # Lesson 10 — Interpretability: reading the edges, fitting formulas
#
# An MLP's knowledge is spread over a weight matrix. A KAN's is in a handful of 1-D
# curves, and a 1-D curve can be *looked at*. If it looks like `sin`, we can test the
# hypothesis, replace the spline by the formula, and end with a network that is an
# equation.
#
# **Goals.** After this lesson (about 25 minutes) you can
#
# 1. draw a trained KAN with every edge's curve (`model.plot`, `model.plot_edge`);
# 2. fit `c f(a x + b) + d` for candidate functions `f` to an edge and read the ranking
#    (`model.suggest_symbolic`), including ties between equivalent answers;
# 3. freeze edges to formulas (`fix_symbolic`, or `auto_symbolic` for all), keep training their
#    four constants, and print the whole network as a formula (`symbolic_formula`);
# 4. check that formula against the truth.

#
# **Running time.** About 29 s in full mode on a 2-core machine (measured with one
# BLAS thread), a few seconds with `QUICK=1`. Training cells print progress lines as
# they go.
# %%
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk

from numpykan.teaching.lesson import QUICK, YourTurn, savefig   # QUICK switch, exercise stubs, figures

# %% [markdown]
# ## 1. A small network to read
#
# We return to `f(x, y) = exp(sin(pi x) + y^2)` and the `[2, 1, 1]` KAN of lesson 5:
# the shape that regularization and pruning (lesson 6) aim for when a target is a
# composition of few 1-D functions. (Starting from `[2, 5, 1]`, pruning often stops at
# two hidden nodes that *approximate* the function instead — exercise 1. We start from
# the small shape to keep this lesson about reading edges.)

# %%
f = nk.datasets.TOY_FUNCTIONS["exp_sin"]
n = 300 if QUICK else 1000
data = nk.create_dataset(f, n_var=2, train_num=n, test_num=n, seed=0)
x_train = data["train_input"]                                # (N, 2)

model = nk.KAN([2, 1, 1], grid=5, k=3, seed=0)
steps = 400 if QUICK else 600
hist = model.fit(data, steps=steps, lr=1e-2, stop_grid_update_step=steps // 2, log=steps, verbose=False)
print(f"spline KAN: test RMSE {np.sqrt(hist['test_loss'][-1]):.2e}")
assert hist["test_loss"][-1] < 0.05

fig = model.plot(x=x_train, in_vars=["x", "y"], out_vars=["f"])
savefig(fig, "10_network.png")

# %% [markdown]
# ## 2. Looking at each edge
#
# Three edges: `x -> h`, `y -> h` and `h -> f`. `plot_edge` draws a curve over the range
# its input actually takes on the data (grey dots: the samples).

# %%
edges = [(0, 0, 0), (0, 1, 0), (1, 0, 0)]
labels = ["x -> h", "y -> h", "h -> f"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, (l, i, j), lab in zip(axes, edges, labels):
    model.plot_edge(l, i, j, x=x_train, ax=ax)
    ax.set_title(f"layer {l}, edge ({i}, {j}): {lab}", fontsize=9)
fig.tight_layout()
savefig(fig, "10_edges.png")

# %% [markdown]
# By eye: the first looks like one period of a (flipped) sine, the second like a
# parabola, the third like a (decaying) exponential. Each is only determined *up to an affine change of input
# and output*: the hidden node's scale and offset are arbitrary (whatever the first
# layer multiplies, the second can divide). So the question for each edge is whether
#
# $$\phi(x) \approx c\, f(a x + b) + d$$
#
# for some library function `f` and constants `(a, b, c, d)`.
#
# ## 3. Fitting candidate formulas
#
# For fixed `(a, b)` the model is *linear* in `(c, d)`, so those come from least
# squares, and the fit quality is `R^2` (the squared correlation of `f(a x + b)` with
# `phi(x)`). Only `(a, b)` need a search: a coarse grid, zooming in, then a few
# Levenberg-Marquardt steps on all four constants. `suggest_symbolic` does this for
# every library function and ranks them in two steps. Each candidate has a **score**
#
# `score = min(nines, 10) - (complexity + n_free / 2)`, with `nines = -log10(1 - R^2)`
#
# (`R^2 = 0.999` is three nines; `n_free` counts the fitted constants). One more unit
# of complexity must buy one more digit of fit, so `x^2` beats a polynomial that fits
# a hair better. But the score alone misleads when no candidate has many nines: on an
# edge of a two-moons classifier, `x` with `R^2 = 0.13` (0.06 nines, price 2: score
# -1.94) outscored `sin` with `R^2 = 0.97` (1.5 nines, price 4: score -2.48). So the
# score only orders the candidates in a **window**: those whose
# `R^2` is within `window = 0.01` of the best one come first, by score; all others
# follow, by `R^2`. The first row never fits worse than the best by more than the
# window. (pykan's own rule, `0.8 complexity + 0.2 log2(1 - R^2)`, is there too:
# `suggest_symbolic(..., weight_simple=0.8)`; `rank="nines"` is the score alone.)

# %%
suggestions = {}
for (l, i, j), lab in zip(edges, labels):
    ranked = model.suggest_symbolic(l, i, j, topk=4, x=x_train)
    suggestions[(l, i, j)] = ranked
    print(f"{lab}:")
    for r in ranked:
        print(f"    {r['name']:>9s}  score {r['score']:+.2f}  R^2 = {r['r2']:.6f}   a = {r['a']:+.4f}, b = {r['b']:+.4f},"
              f" c = {r['c']:+.4f}, d = {r['d']:+.4f}")

best = {key: ranked[0] for key, ranked in suggestions.items()}   # the first row of each edge
print({lab: best[key]["name"] for key, lab in zip(edges, labels)})
old_first = model.suggest_symbolic(1, 0, 0, topk=1, x=x_train, rank="nines")[0]
print(f"the score alone would put first on the output edge: {old_first['name']} "
      f"(R^2 = {old_first['r2']:.4f})")
assert all(r["r2"] >= ranked[0]["r2"] - 0.01 for ranked in suggestions.values() for r in ranked[:1])
# Checkpoint: sin (or its twin cos) for x, x^2 for y, exp for the output edge.
assert best[(0, 0, 0)]["name"] in ("sin", "cos") and abs(abs(best[(0, 0, 0)]["a"]) - np.pi) < 0.1
assert best[(0, 1, 0)]["name"] == "x^2"
assert best[(1, 0, 0)]["name"] == "exp"

# %% [markdown]
# Read the ranking with care. The window is what keeps a simpler, much worse candidate
# from the first row. In QUICK mode, where the output edge is less trained, the score
# alone puts the identity `x` (`R^2 ~ 0.88`) above `exp` (`R^2 ~ 0.996`, about 2.4
# nines): by the score, 2.4 digits of fit barely pay for `exp`'s price (the cell above
# prints what the score alone would choose in this run). `x` is far outside the window
# of the best `R^2`, so it is not in the first rows any more, and we can take the
# first row of each edge. `auto_symbolic` below takes an `R^2` threshold as well: an
# edge no function fits stays a spline. (The constant `0`, whose `R^2` is always 0, is
# not among the candidates unless you ask for it with `lib=[..., "0"]`.)
#
# Notice also the **ties**. `sin(pi x - pi)` and `cos(pi x + pi/2)` are the same function, so
# they get the same `R^2`; the library returns one canonical form per function but
# cannot tell two different functions apart when they coincide on the data. And for
# the `x^2` edge a `cos` with a tiny `a` and a huge `c` fits almost as well: near 0,
# `cos(a y) ~ 1 - a^2 y^2 / 2`, a parabola in disguise. The complexity penalty and a
# glance at the constants settle such cases; a human should still look.
#
# ## 4. Freezing the edges to formulas
#
# `fix_symbolic(l, i, j, name)` replaces an edge by its formula: the spline is masked
# out (exactly zero from now on) and the formula edge `c f(a x + b) + d` takes its
# place. We pass the fits we just chose (`fit=`), so nothing is refitted.
# `auto_symbolic(r2_threshold=...)` does the same loop over every edge by itself,
# taking the best-ranked candidate that passes the `R^2` threshold (exercise 2).
#
# The four constants stay trainable — their gradients are written by hand like
# everything else — so a few more training steps polish them. We use L-BFGS: a handful
# of smooth constants is its home ground, while Adam's fixed-size steps overshoot when a
# fitted `a` is large (an `exp(a h)` on a narrow hidden range).
#
# **The gradients of a formula edge.** One edge computes, for every sample `b`,
# `u_b = a x_b + b` and `v_b = c f(u_b) + d`. The layer adds `v_b` to its output node
# `j`, so the upstream gradient of the edge is `dv_b = dL/dy[b, j]` (and, for the
# regularizer, `dA[b, i, j]` on top). The chain rule through `u` gives, with
# `g_b = dv_b c f'(u_b)` (the gradient reaching `u`),
#
# $$\frac{\partial L}{\partial a} = \sum_b g_b\, x_b, \quad
#   \frac{\partial L}{\partial b} = \sum_b g_b, \quad
#   \frac{\partial L}{\partial c} = \sum_b dv_b\, f(u_b), \quad
#   \frac{\partial L}{\partial d} = \sum_b dv_b, \quad
#   \frac{\partial L}{\partial x_b} = g_b\, a .$$
#
# The constants are shared by all samples, hence the sums; `x_b` belongs to one sample,
# so its gradient has none. Every library function carries its derivative `f'`
# (`nk.symbolic.get_symbolic("sin").df` is `cos`), so no formula needs automatic
# differentiation.
#
# **Your turn.** Write `formula_edge_grads(x, dv, a, b, c, d, f, df)` for one edge:
# `x` and `dv` of shape `(B,)`, the four constants as floats, `f` and `df` elementwise
# functions; return a dict with keys `a`, `b`, `c`, `d` (floats) and `x` `(B,)`.

# %% tags=["exercise"]
def formula_edge_grads(x, dv, a, b, c, d, f, df):
    """Gradients of L through v = c f(a x + b) + d, given dv = dL/dv (B,)."""
    ### BEGIN SOLUTION
    u = a * x + b                                            # (B,)
    g_u = dv * c * df(u)                                     # (B,) dL/du
    return {"a": float(np.sum(g_u * x)), "b": float(np.sum(g_u)),
            "c": float(np.sum(dv * f(u))), "d": float(np.sum(dv)), "x": g_u * a}
    ### END SOLUTION


# %%
sym_sin = nk.symbolic.get_symbolic("sin")
x_e = np.random.default_rng(2).uniform(-1, 1, 30)            # (B,)
dv_e = np.random.default_rng(3).normal(0, 1, 30)             # (B,)
abcd = np.array([3.1, -0.2, 0.8, 0.1])
mine_e = formula_edge_grads(x_e, dv_e, *abcd, sym_sin.f, sym_sin.df)
one_edge = nk.symbolic_edges.SymbolicEdges(1, 1)             # what a layer carries as layer.symbolic
one_edge.set_edge(0, 0, "sin", abcd)
one_edge.forward(x_e[:, None])
dx_e = one_edge.backward(dv_e[:, None])                      # (B, 1); fills grads["abcd"] (1, 4)
lib_e = one_edge.grads["abcd"][0]
print("by hand:", np.round([mine_e[key] for key in "abcd"], 6), " library:", np.round(lib_e, 6))
assert np.allclose([mine_e[key] for key in "abcd"], lib_e, rtol=1e-12, atol=1e-12)
assert np.abs(mine_e["x"] - dx_e[:, 0]).max() < 1e-12

P_e = abcd.copy()                                            # finite differences in (a, b, c, d)
report_e = nk.gradcheck(lambda: float(np.sum(dv_e * (P_e[2] * np.sin(P_e[0] * x_e + P_e[1]) + P_e[3]))),
                        {"abcd": P_e}, {"abcd": np.array([mine_e[key] for key in "abcd"])})
print(report_e)
assert report_e.ok

# %% [markdown]
# Now freeze the three edges to the formulas we chose and train their constants.

# %%
for (l, i, j), lab in zip(edges, labels):
    chosen = best[(l, i, j)]
    model.fix_symbolic(l, i, j, chosen["name"], fit=chosen)
    print(f"{lab}: fixed to {chosen['name']} (R^2 {chosen['r2']:.6f})")
assert all(np.all(layer.mask == 0) for layer in model.layers)   # no spline left anywhere
loss_fixed = model.evaluate(data["test_input"], data["test_label"])["loss"]
hist2 = model.fit(data, opt="LBFGS", steps=20 if QUICK else 50, update_grid=False, log=5, verbose=False)
loss_tuned = hist2["test_loss"][-1]
print(f"test MSE right after fixing {loss_fixed:.2e}, after tuning the constants {loss_tuned:.2e}")
assert loss_tuned < loss_fixed
assert loss_tuned < (1e-4 if QUICK else 1e-7)                # far below the spline KAN's error

formula = model.symbolic_formula(var_names=["x", "y"])[0]
print("f(x, y) =", formula)

# %% [markdown]
# ## 5. Is the formula right?
#
# In full mode tuning the constants lowers the test MSE by several orders of magnitude
# (to about 1e-9 or below in our runs, far below what the spline network reached): the
# formula edges have found the function. Read the printout: it has the form
# `C exp(A sin(a x + b) + B y^2 + E) + D` with `a ~ pi`. Since `sin(pi x - pi) = -sin(pi x)`, and `C e^E` folds into one factor, this
# is `exp(sin(pi x) + y^2)` when `A ~ -1` (or `+1` with `b ~ 0`), `B ~ 1`, `C e^E ~ 1`,
# `D ~ 0`. Instead of trusting our eyes, evaluate the string with NumPy's functions and
# compare with the true `f` on fresh points, *including points outside the training
# box*, where a formula should keep working and a spline (zero outside its grid) would
# not.

# %%
def as_numpy(expr):
    """The formula string as a NumPy function of (x, y) (only the functions it may contain)."""
    names = {"sin": np.sin, "cos": np.cos, "exp": np.exp, "sqrt": np.sqrt, "log": np.log,
             "tanh": np.tanh, "abs": np.abs, "pi": np.pi}
    code = expr.replace("^", "**")
    return lambda x, y: eval(code, {"__builtins__": {}}, dict(names, x=x, y=y))


g = as_numpy(formula)
rng = np.random.default_rng(1)
inside = rng.uniform(-1, 1, (2000, 2))                       # (2000, 2) the training box
outside = rng.uniform(-1.3, 1.3, (2000, 2))                  # (2000, 2) a little beyond it
for name, pts in (("inside [-1, 1]^2", inside), ("on [-1.3, 1.3]^2", outside)):
    rel = np.abs(g(pts[:, 0], pts[:, 1]) - f(pts)) / f(pts)
    print(f"{name}: formula vs truth, max relative error {rel.max():.2e}")
rel_in = np.abs(g(inside[:, 0], inside[:, 1]) - f(inside)) / f(inside)
rel_out = np.abs(g(outside[:, 0], outside[:, 1]) - f(outside)) / f(outside)
# Checkpoint: the recovered formula matches exp(sin(pi x) + y^2), also outside the box: to a few
# percent in QUICK mode, and in full mode to the 4 significant digits the formula is printed with.
assert rel_in.max() < (0.03 if QUICK else 0.005)
assert rel_out.max() < (0.03 if QUICK else 0.005)

# %% [markdown]
# ## Summary
#
# - A trained KAN is a set of 1-D curves; `model.plot` and `plot_edge` show them on the
#   data's range.
# - Each curve is compared with `c f(a x + b) + d` for library functions; `(c, d)` by
#   least squares, `(a, b)` by search; the ranking trades `R^2` against complexity
#   among the candidates within 0.01 of the best `R^2`, and puts all others after them.
#   Equivalent forms tie, and near-ties deserve a look at the constants.
# - Frozen formula edges keep training their constants; the network then *is* a
#   formula. Here the tuned network is `exp(sin(pi x) + y^2)` to a test MSE of about
#   1e-9, and the printed formula (4 significant digits) is right to about 0.2%, also
#   outside the training box.
#
# ## Exercises
#
# 1. Start from `[2, 5, 1]`, train with `lamb = 0.01` to `0.1`, prune (lesson 6), and run
#    the same steps. When does pruning reach `[2, 1, 1]`, and what formula do you get
#    when it stops at two hidden nodes?
# 2. Retrain the spline KAN of section 1 and run `model.auto_symbolic(x=x_train,
#    r2_threshold=0.99, verbose=True)` instead of fixing edges by hand. Then try again
#    with the `y` edge fixed to `cos` (`model.fix_symbolic(0, 1, 0, "cos")`): what
#    constants come out, and how does that formula behave on `[-3, 3]`?
# 3. Add your own function to the library with `numpykan.symbolic.add_symbolic` (say
#    `x * sin(x)`) and fit a target that uses it.
# 4. Try the `xy` target (`f = x y`). Which edges appear? (Hint:
#    `x y = ((x + y)^2 - (x - y)^2) / 4`.)

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** An experiment: with `lamb` near `0.01` pruning usually stops at two hidden
# nodes whose sum approximates the target; larger `lamb` (`0.05-0.1`) reaches
# `[2, 1, 1]` more often, at some cost in accuracy before fine-tuning. With two nodes the
# fitted formula is a sum of two `exp`-like terms, accurate on the box but not the true
# expression.
#
# **2.** `auto_symbolic` picks `sin` (or `cos`), `x^2` and `exp` like our manual choice.
# Forcing the `y` edge to `cos` gives `c cos(a y + b) + d` with a tiny `a` and a huge `c`
# (the parabola in disguise of section 3): it matches on `[-1, 1]` but leaves `y^2` for
# `|y|` beyond about `1/a`, so on `[-3, 3]` it drifts away from the truth.
#
# **3.** `add_symbolic("x*sin(x)", lambda u: u * np.sin(u), lambda u: np.sin(u) + u *
# np.cos(u), 2, "{px}*sin({px})")`; a target such as `x sin(x) + y` then gets that name
# on its `x` edge. The derivative is optional for fitting and fixing, but training the
# constants needs it: without it a training step stops with a `MissingDerivativeError`
# that names the function.
#
# **4.** `x y = ((x + y)^2 - (x - y)^2) / 4`: a `[2, 2, 1]` KAN can represent it with
# linear edges into two hidden nodes (`x + y` and `x - y`) and `x^2` edges (with
# opposite signs) out of them, so `suggest_symbolic` should name `x` on the first
# layer's edges and `x^2` on the second's.
