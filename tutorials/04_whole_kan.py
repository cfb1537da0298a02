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
# # Lesson 4 — A whole KAN: stacking, loss, Adam, training
#
# **Goals.** After this lesson (about 25 minutes) you can
#
# 1. stack KAN layers by hand and match `nk.KAN.forward`, and backpropagate through
#    the stack;
# 2. write the mean-squared-error loss and its gradient, and gradient-check a whole
#    model with `nk.check_model`;
# 3. write Adam out in ten lines and reproduce `nk.Adam` to round-off;
# 4. derive L-BFGS's two-loop recursion and match numpykan's `LBFGS`;
# 5. train a `[2, 5, 1]` KAN on `f(x, y) = exp(sin(pi x) + y^2)`, with your own loop
#    and with `model.fit`.

#
# **Running time.** About 14 s in full mode on a 2-core machine (measured with one
# BLAS thread), a few seconds with `QUICK=1`. Training cells print progress lines as
# they go.
# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.plot import plot_fit_2d

from numpykan.teaching.lesson import OUT, QUICK, YourTurn, progress, savefig   # QUICK switch, stubs, figures

# %% [markdown]
# ## 1. Stacking layers
#
# A KAN of width `[2, 5, 1]` is two layers: `2 -> 5` and `5 -> 1`. Layer `l`'s output
# is layer `l + 1`'s input. The Kolmogorov-Arnold theorem says any continuous
# `f(x_1, ..., x_n)` can be written as `sum_q Phi_q(sum_p phi_qp(x_p))`: exactly a
# `[n, 2n + 1, 1]` KAN. Deeper and narrower KANs trade that guarantee for smoother,
# easier-to-learn edge functions.

# %%
f = nk.datasets.TOY_FUNCTIONS["exp_sin"]                     # exp(sin(pi x) + y^2), (n, 2) -> (n,)
n_train = 200 if QUICK else 1000
data = nk.create_dataset(f, n_var=2, train_num=n_train, test_num=n_train, seed=0)
print({key: v.shape for key, v in data.items()})

model = nk.KAN([2, 5, 1], grid=5, k=3, seed=0)
print(model)
x = data["train_input"]                                      # (B, 2)
h = x
for l, layer in enumerate(model.layers):
    h = layer.forward(h)                                     # (B, width[l + 1])
    print(f"after layer {l}: {h.shape}")
assert np.array_equal(h, model.forward(x))

# %% [markdown]
# ## 2. The loss and its gradient; backward through the stack
#
# Mean squared error over a batch, `L = mean_{b,o} (y_bo - t_bo)^2`, has gradient
# `dL/dy = 2 (y - t) / (B * O)`. Backpropagation then walks the layers in reverse:
# each layer's `backward(dy)` fills its own `grads` and returns `dL/dx`, which is the
# `dy` of the layer before. `model.backward` is exactly this loop, and
# `model.loss_and_grad(x, y)` does the forward pass, the loss and the backward pass
# in one call.

# %%
t = data["train_label"]                                      # (B, 1)
y = model.forward(x)                                         # (B, 1)
L = float(np.mean((y - t) ** 2))
d = 2 * (y - t) / y.size                                     # (B, 1) dL/dy
for layer in reversed(model.layers):
    d = layer.backward(d)                                    # (B, width[l]) becomes the dy of layer l - 1
mine = [{key: g.copy() for key, g in layer.grads.items()} for layer in model.layers]

L_lib = model.loss_and_grad(x, t, loss="mse")               # refills every layer.grads
print(f"loss by hand {L:.6f}, library {L_lib:.6f}")
assert abs(L - L_lib) < 1e-12
assert all(np.abs(mine[l][key] - model.layers[l].grads[key]).max() < 1e-12
           for l in range(2) for key in mine[l])

# %% [markdown]
# `nk.check_model` gradient-checks every parameter of every layer through
# `loss_and_grad`. For arrays larger than `max_elements` it switches to random
# directions (compares `<g, u>` with a central difference along `u`), which stays
# cheap on a whole model. Here we let it check element by element on a few samples.

# %%
report = nk.check_model(model, x[:32], t[:32], loss="mse")
print(report)
assert report.ok

# %% [markdown]
# ## 3. Adam, written out
#
# Plain gradient descent `p <- p - lr g` struggles when gradients have very
# different scales across parameters — and in a KAN they do: a coefficient of a basis
# that few samples touch gets a tiny gradient. Adam keeps, per parameter entry, running
# averages of the gradient `m` and of its square `v`, and steps by `m / sqrt(v)`: a
# step whose size is roughly `lr` whatever the gradient's scale.
#
# ```
# m <- beta1 m + (1 - beta1) g
# v <- beta2 v + (1 - beta2) g^2
# m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     (bias correction: m, v start at 0)
# p <- p - lr m_hat / (sqrt(v_hat) + eps)
# ```
#
# numpykan optimizers take `model.parameters()`, a list of `(params, grads)` dict
# pairs, one per layer, and update each parameter **in place**.
#
# **Your turn.** Write one Adam step for one array as a pure function,
# `adam_update(p, g, m, v, t, lr, beta1, beta2, eps) -> (p, m, v)` (the new values;
# `t` counts steps from 1). `MyAdam` below, given, applies it to every parameter of a
# model and writes the result back in place.

# %% tags=["exercise"]
def adam_update(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step: the new (p, m, v) for parameter p, gradient g, moments m, v, step t >= 1."""
    ### BEGIN SOLUTION
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION


class MyAdam:
    def __init__(self, parameters, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.parameters, self.lr, self.b1, self.b2, self.eps = parameters, lr, beta1, beta2, eps
        self.m = [{key: np.zeros_like(p) for key, p in params.items()} for params, _ in parameters]
        self.v = [{key: np.zeros_like(p) for key, p in params.items()} for params, _ in parameters]
        self.t = 0

    def step(self):
        self.t += 1
        for (params, grads), m, v in zip(self.parameters, self.m, self.v):
            for key, p in params.items():
                p[...], m[key], v[key] = adam_update(p, grads[key], m[key], v[key], self.t,
                                                     self.lr, self.b1, self.b2, self.eps)   # in place


# %% [markdown]
# Two identical models (same seed), one trained with our Adam and one with `nk.Adam`,
# on the same full batch: after 50 steps they must hold the same numbers.

# %%
def train_loop(model, opt, steps, x, t):
    losses = []
    for _ in range(steps):
        losses.append(model.loss_and_grad(x, t))             # forward + loss + backward
        opt.step()                                           # update in place
    return losses


m1, m2 = nk.KAN([2, 5, 1], grid=5, k=3, seed=1), nk.KAN([2, 5, 1], grid=5, k=3, seed=1)
l1 = train_loop(m1, MyAdam(m1.parameters(), lr=1e-2), 50, x, t)
l2 = train_loop(m2, nk.Adam(m2.parameters(), lr=1e-2), 50, x, t)
diff = max(np.abs(a.params[key] - b.params[key]).max() for a, b in zip(m1.layers, m2.layers) for key in a.params)
print(f"loss {l1[0]:.3f} -> {l1[-1]:.4f}; max parameter difference ours vs nk.Adam: {diff:.1e}")
assert diff < 1e-12
assert l1[-1] < 0.5 * l1[0]

# %% [markdown]
# ## 4. L-BFGS: curvature from the last few steps
#
# Adam rescales each coordinate on its own. Newton's method would step by
# `-H g` with `H` the inverse Hessian, which sees how coordinates interact, but a
# Hessian of `n` parameters has `n^2` entries. BFGS builds an approximation of the
# *inverse* Hessian from what the steps reveal: after a step `s = x_{t+1} - x_t` the
# gradient changed by `y = g_{t+1} - g_t`, and a good `H` should map `y` back to `s`
# (the *secant condition* `H y = s`, exact for a quadratic with `y = A s`). The BFGS
# update is the smallest change of `H` that satisfies it and stays symmetric positive
# definite, with `rho = 1 / (y . s)` and `V = I - rho y s^T`:
#
# $$H_{\text{new}} = V^T H V + \rho\, s s^T .$$
#
# (Check: `V y = y - rho y (s . y) = 0`, so `H_new y = rho s (s . y) = s`.)
#
# *Limited memory.* L-BFGS never forms `H`. It keeps the last `m` pairs
# `(s_i, y_i)`, starts from `H_0 = gamma I` with `gamma = (s . y) / (y . y)` of the
# newest pair (a scalar estimate of the curvature), and applies the `m` updates to the
# vector `g` directly. Unrolling `H = V_m^T ... V_1^T H_0 V_1 ... V_m + (the rank-one
# terms)`, the product `H g` splits into two passes:
#
# - the right-hand factors `V_m`, then `V_{m-1}`, ... act on `g` first, newest pair
#   first: `alpha_i = rho_i s_i . q`, `q <- q - alpha_i y_i` (this is `q <- V_i q`),
#   and each `alpha_i` is also the coefficient of the rank-one term `rho_i s_i s_i^T`;
# - then `r = gamma q` (that is `H_0 q`), and the left-hand factors `V_i^T` plus the
#   rank-one terms act oldest pair first: `beta = rho_i y_i . r`,
#   `r <- r + (alpha_i - beta) s_i`.
#
# The direction is `d = -r`: `O(m n)` work and memory instead of `O(n^2)`. numpykan's
# `LBFGS` (`model.fit(opt="LBFGS")`, pykan's default optimizer) uses it with a
# strong-Wolfe line search.
#
# **Your turn.** Write `two_loop(g, S, Y)` for lists `S`, `Y` of 1-D arrays, oldest
# pair first; return `d`. The cell after compares it with the dense update above on a
# quadratic and with numpykan's optimizer.

# %% tags=["exercise"]
def two_loop(g, S, Y):
    """L-BFGS direction d = -H g from the pairs (S[i], Y[i]), oldest first; H_0 = gamma I."""
    ### BEGIN SOLUTION
    q = g.copy()
    alphas = []
    for s, y in zip(reversed(S), reversed(Y)):              # newest -> oldest
        a = (s @ q) / (y @ s)
        q -= a * y
        alphas.append(a)
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if S else 1.0
    r = gamma * q
    for s, y, a in zip(S, Y, reversed(alphas)):             # oldest -> newest
        beta = (y @ r) / (y @ s)
        r += (a - beta) * s
    return -r
    ### END SOLUTION


# %%
rng_q = np.random.default_rng(5)
n_q = 8
A_q = rng_q.normal(0, 1, (n_q, n_q))
A_q = A_q @ A_q.T + n_q * np.eye(n_q)                       # (n, n) a positive definite Hessian
S_q = [rng_q.normal(0, 1, n_q) for _ in range(4)]           # four steps
Y_q = [A_q @ s for s in S_q]                                # y = A s on the quadratic 1/2 x^T A x
g_q = rng_q.normal(0, 1, n_q)                               # (n,)

H_q = (S_q[-1] @ Y_q[-1]) / (Y_q[-1] @ Y_q[-1]) * np.eye(n_q)   # H_0 = gamma I
for s, y in zip(S_q, Y_q):                                  # the dense BFGS updates, oldest first
    rho = 1.0 / (y @ s)
    V = np.eye(n_q) - rho * np.outer(y, s)
    H_q = V.T @ H_q @ V + rho * np.outer(s, s)
d_two = two_loop(g_q, S_q, Y_q)
lb = nk.optim.LBFGS([({"w": np.zeros(n_q)}, {})])
lb.state["s"], lb.state["y"] = list(S_q), list(Y_q)
print(f"max |two_loop - (-H g)| = {np.abs(d_two + H_q @ g_q).max():.1e}; "
      f"max |two_loop - numpykan's LBFGS| = {np.abs(d_two - lb._direction(g_q)).max():.1e}")
print(f"secant condition of the newest pair: max |H y - s| = {np.abs(H_q @ Y_q[-1] - S_q[-1]).max():.1e}")
assert np.abs(d_two + H_q @ g_q).max() < 1e-12
assert np.abs(d_two - lb._direction(g_q)).max() < 1e-12
assert np.abs(H_q @ Y_q[-1] - S_q[-1]).max() < 1e-12

# %% [markdown]
# L-BFGS shines on small full-batch problems: the `[2, 5, 1]` KAN of the next section
# reaches in 20 L-BFGS steps (each up to 20 iterations with a line search on the full
# batch) a loss that Adam needs thousands of steps for; on mini-batches its curvature
# pairs are polluted by the batch noise, so large data sets stay with Adam.

# %%
lbfgs_model = nk.KAN([2, 5, 1], grid=5, k=3, seed=0)
h_lbfgs = lbfgs_model.fit(data, opt="LBFGS", steps=5 if QUICK else 20, update_grid=False,
                          log=1, verbose=False)
print(f"L-BFGS: test RMSE {np.sqrt(h_lbfgs['test_loss'][-1]):.4f} after {h_lbfgs['step'][-1]} steps"
      f" ({h_lbfgs['time'][-1]:.1f} s)")
assert h_lbfgs["test_loss"][-1] < 0.1 * h_lbfgs["test_loss"][0]

# %% [markdown]
# ## 5. Training on exp(sin(pi x) + y^2)
#
# `model.fit(dataset, ...)` is our loop plus bookkeeping: mini-batches, a log of
# train and test loss, a stop with a clear message if the loss becomes NaN, and grid
# updates (lesson 5; we switch them off here to see the plain loop). A `[2, 5, 1]` KAN
# needs only one of its five hidden nodes for this function — `sin(pi x)` and `y^2` on
# the first layer, summed in one node, `exp` on the second — but it does not know that
# yet (lessons 6 and 10).

# %%
steps = 150 if QUICK else 2000
model = nk.KAN([2, 5, 1], grid=5, k=3, seed=0)
history = model.fit(data, opt="Adam", steps=steps, lr=1e-2, update_grid=False,
                    log=max(1, steps // 50), verbose=False, callback=progress(steps))   # a line every steps/5
rmse = np.sqrt(history["test_loss"][-1])
print(f"{steps} steps in {history['time'][-1]:.1f} s; test RMSE {rmse:.4f}"
      f" (the target's std is {data['test_label'].std():.2f})")

fig, ax = plt.subplots(figsize=(6, 3.5))
nk.plot.plot_history(history, ax=ax)
ax.set_title("[2, 5, 1] KAN on exp(sin(pi x) + y^2)")
savefig(fig, "04_history.png")
savefig(plot_fit_2d(f, model, title=f"test RMSE {rmse:.3f}"), "04_fit.png")

# Checkpoint: the KAN learns the function to a few percent of its spread (more in full mode).
assert rmse < (0.25 if QUICK else 0.03)

# %% [markdown]
# The trained network is just the layers we stacked by hand, with new numbers in
# them. We can save it and reload it (an `.npz` file, no pickle: loading never runs
# code):

# %%
path = model.save(os.path.join(OUT, "04_kan.npz"))
again = nk.KAN.load(path)
assert np.array_equal(again.predict(data["test_input"]), model.predict(data["test_input"]))

# %% [markdown]
# ## Summary
#
# - A KAN is a list of layers; forward feeds each output into the next, backward walks
#   them in reverse, passing `dL/dx` down as the next `dy`.
# - MSE's gradient is `2 (y - t) / (B * O)`; `check_model` confirms the whole chain.
# - Adam keeps per-entry moments and steps by `m_hat / sqrt(v_hat)`; ten lines of ours
#   match `nk.Adam` to 1e-12.
# - L-BFGS approximates `-H g` from the last `m` steps with the two-loop recursion, the
#   BFGS update applied to a vector; ours matches the dense update and `nk.optim.LBFGS`.
# - A `[2, 5, 1]` KAN learns `exp(sin(pi x) + y^2)`; `fit` is our loop plus logging.
#
# ## Exercises
#
# 1. Replace Adam by `nk.SGD(model.parameters(), lr=...)`. Find the largest learning
#    rate that does not diverge. How many steps does it need to reach Adam's loss?
# 2. Add weight decay to `MyAdam` in the "decoupled" AdamW way
#    (`p <- p - lr * wd * p` before the Adam step) and compare with `nk.AdamW`.
# 3. Train `[2, 1, 1]` (one hidden node). Why is that enough for this function?
#    (Hint: `exp(a + b)` with `a = sin(pi x)`, `b = y^2`.)
# 4. Train with `batch=64` instead of the full batch. What happens to the noise in
#    the train-loss curve, and to the time per step?

# %% [markdown] tags=["solution"]
# ## Solutions
#
# **1.** A learning-rate sweep for plain SGD on the full batch, 300 steps each (100 in
# QUICK mode): above a largest stable rate (0.3 to 1 here) the loss explodes, which
# `fit` reports as a FloatingPointError. Compare the best stable run with Adam after
# as many steps, then raise `sgd_steps` until SGD catches up.

# %% tags=["solution"]
sgd_steps = 100 if QUICK else 300
sgd_final = {}
for lr_try in (0.1, 0.3, 1.0, 3.0, 10.0):
    m_sgd = nk.KAN([2, 5, 1], grid=5, k=3, seed=1)
    try:
        with np.errstate(all="ignore"):                      # the diverging runs overflow
            h_sgd = m_sgd.fit(data, opt="SGD", steps=sgd_steps, lr=lr_try, update_grid=False,
                              log=sgd_steps, verbose=False)
        sgd_final[lr_try] = h_sgd["train_loss"][-1]
    except FloatingPointError:
        sgd_final[lr_try] = np.inf
    print(f"SGD lr {lr_try:5.1f}: final train loss {sgd_final[lr_try]:.3e}")
stable = [lr_try for lr_try, v in sgd_final.items() if np.isfinite(v) and v < sgd_final[0.1] * 10]
m_adam = nk.KAN([2, 5, 1], grid=5, k=3, seed=1)
adam_loss = m_adam.fit(data, steps=sgd_steps, lr=1e-2, update_grid=False, log=sgd_steps,
                       verbose=False)["train_loss"][-1]
print(f"largest stable SGD rate here: {max(stable)}; Adam (lr 1e-2) after {sgd_steps} steps: {adam_loss:.3e}")
assert stable and not np.isfinite(sgd_final[10.0])        # a largest stable rate exists

# %% [markdown] tags=["solution"]
# **2.** Decoupled decay shrinks `p` by `lr * wd * p` before the Adam step, outside
# the moments; with it `MyAdam` matches `nk.AdamW` to round-off.

# %% tags=["solution"]
class MyAdamW(MyAdam):
    def __init__(self, parameters, lr=1e-3, weight_decay=1e-2, **kw):
        super().__init__(parameters, lr=lr, **kw)
        self.wd = weight_decay

    def step(self):
        for params, _ in self.parameters:
            for p in params.values():
                p -= self.lr * self.wd * p                   # decoupled: not through m and v
        super().step()


m1, m2 = nk.KAN([2, 5, 1], grid=5, k=3, seed=1), nk.KAN([2, 5, 1], grid=5, k=3, seed=1)
train_loop(m1, MyAdamW(m1.parameters(), lr=1e-2, weight_decay=0.1), 30, x, t)
train_loop(m2, nk.AdamW(m2.parameters(), lr=1e-2, weight_decay=0.1), 30, x, t)
diff_w = max(np.abs(a.params[key] - b.params[key]).max() for a, b in zip(m1.layers, m2.layers) for key in a.params)
print(f"MyAdamW vs nk.AdamW: max parameter difference {diff_w:.1e}")
assert diff_w < 1e-12

# %% [markdown] tags=["solution"]
# **3.** One hidden node suffices: `f = exp(a + b)` with `a = sin(pi x)` on the edge
# from `x` and `b = y^2` on the edge from `y`, summed in the node, then `exp` on the
# output edge. `[2, 1, 1]` learns it as well as `[2, 5, 1]` with 12 edges fewer.

# %% tags=["solution"]
small = nk.KAN([2, 1, 1], grid=5, k=3, seed=0)
h_small = small.fit(data, steps=steps, lr=1e-2, update_grid=False, log=steps, verbose=False)
print(f"[2, 1, 1]: test RMSE {np.sqrt(h_small['test_loss'][-1]):.4f} with {small.num_parameters()} parameters")
assert np.sqrt(h_small["test_loss"][-1]) < (0.4 if QUICK else 0.05)

# %% [markdown] tags=["solution"]
# **4.** With `batch=64` each step sees a different random subset: the train-loss
# curve becomes noisy (each logged point is the mean over the batches since the last
# log point, which smooths it partly), and a step costs less because it does less
# work.

# %% tags=["solution"]
m_b = nk.KAN([2, 5, 1], grid=5, k=3, seed=0)
h_b = m_b.fit(data, steps=steps, lr=1e-2, batch=64, update_grid=False, log=max(1, steps // 50),
              verbose=False)
per_step_full = history["time"][-1] / history["step"][-1]
per_step_64 = h_b["time"][-1] / h_b["step"][-1]
print(f"time per step: full batch {1e3 * per_step_full:.2f} ms, batch 64 {1e3 * per_step_64:.2f} ms")
rough = lambda h: np.std(np.diff(np.log(h["train_loss"][len(h["train_loss"]) // 2:])))   # noqa: E731
print(f"step-to-step spread of log train loss (second half): full {rough(history):.3f}, batch 64 {rough(h_b):.3f}")
assert rough(h_b) > rough(history)
