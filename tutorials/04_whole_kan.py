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
# 4. train a `[2, 5, 1]` KAN on `f(x, y) = exp(sin(pi x) + y^2)`, with your own loop
#    and with `model.fit`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk
from numpykan.plot import plot_fit_2d

from numpykan.teaching.lesson import OUT, QUICK, savefig   # QUICK switch, figure folder, savefig

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

# %%
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
                g = grads[key]
                m[key] = self.b1 * m[key] + (1 - self.b1) * g
                v[key] = self.b2 * v[key] + (1 - self.b2) * g * g
                m_hat = m[key] / (1 - self.b1 ** self.t)
                v_hat = v[key] / (1 - self.b2 ** self.t)
                p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)   # in place: the layer sees it


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
# ## 4. Training on exp(sin(pi x) + y^2)
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
                    log=max(1, steps // 50), verbose=False)
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
