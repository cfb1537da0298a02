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
# # Lesson 13 — To pykan and back: training in PyTorch, checking its gradient by hand
#
# numpykan is where you learn a KAN and check every derivative; pykan (PyTorch) is where
# a KAN trains on a GPU. The two compute the same edges,
#
#     pykan     phi_ij(x) = mask_ij (scale_base_ij b(x) + scale_sp_ij sum_m coef_ijm B_m(x))
#     numpykan  phi_ij(x) = mask_ij (w_b_ij b(x)        + w_s_ij      sum_m coef_ijm B_m(x))
#
# with the arrays laid out the same way, so a model moves between them by copying arrays.
#
# **Running time.** About 27 s in full mode on a busy 2-core machine (load average 10),
# a few of them importing torch; seconds without torch.
#
# **Goals.** After this lesson (about 15 minutes) you can
#
# 1. move a numpykan `KAN` to pykan (`nk.interop.to_pykan`) and say which pykan parameter
#    holds which numpykan array;
# 2. train it there with pykan's `fit`, and read pykan's reported losses (RMSE, not MSE);
# 3. bring it back (`nk.interop.from_pykan`) and check that nothing changed on the way;
# 4. verify pykan's autograd gradient against numpykan's hand-derived one, for a whole
#    model (`nk.interop.compare_gradients`) and for one entry written out by hand.
#
# Sections 3 to 7 need PyTorch and pykan (`pip install -e ".[pykan]"` and
# `pip install --no-deps pykan==0.2.8`, see the README). Without them those cells print why
# and do nothing; sections 1 and 2 still run.

# %%
import os
import tempfile

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import numpykan as nk

QUICK = os.environ.get("QUICK", "0") not in ("", "0")       # small and fast, for the tests
OUT = os.environ.get("NUMPYKAN_TUTORIAL_OUT") or tempfile.mkdtemp(prefix="numpykan-tutorial-")
os.makedirs(OUT, exist_ok=True)


def savefig(fig, name):
    """Save a figure into OUT; show it in a notebook, else close it."""
    path = os.path.join(OUT, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print("figure saved to", path)
    if "inline" in matplotlib.get_backend() or "ipympl" in matplotlib.get_backend():
        plt.show()
    else:
        plt.close(fig)


# %% [markdown]
# ## 1. A model trained in numpykan
#
# The report's toy target `f(x, y) = exp(sin(pi x) + y^2)` and a `[2, 5, 1]` KAN, trained
# for a few hundred Adam steps. This is the model we will send to pykan.

# %%
f = nk.datasets.TOY_FUNCTIONS["exp_sin"]
n = 200 if QUICK else 1000
data = nk.create_dataset(f, n_var=2, train_num=n, test_num=n, seed=0)
model = nk.KAN([2, 5, 1], grid=5, k=3, seed=0)
steps = 200 if QUICK else 600
history = model.fit(data, opt="Adam", steps=steps, lr=1e-2, log=steps // 20, verbose=False)
rmse_numpykan = np.sqrt(history["test_loss"][-1])
print(f"numpykan: test RMSE after {steps} Adam steps: {rmse_numpykan:.4f}")
assert rmse_numpykan < 0.3

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(np.sqrt(history["train_loss"]), label="train RMSE (numpykan)")
ax.semilogy(np.sqrt(history["test_loss"]), label="test RMSE (numpykan)")
ax.set_xlabel(f"log point (every {steps // 20} steps)")
ax.set_ylabel("RMSE")
ax.legend()
savefig(fig, "13_numpykan_training.png")

# %% [markdown]
# ## 2. Is pykan here?
#
# `numpykan.interop` imports torch and pykan only when one of its functions runs, so
# numpykan itself never needs them. Here we ask once.

# %%
try:
    import kan
    import torch
    HAVE_PYKAN = True
    torch.set_num_threads(1)      # tiny tensors: one thread is faster on a shared machine
    print(f"torch {torch.__version__} and pykan found")
except ImportError as err:
    HAVE_PYKAN = False
    print(f"skipping sections 3-7 (pykan parts): {err}; install with {nk.interop.INSTALL_HINT}")

# %% [markdown]
# ## 3. numpykan -> pykan
#
# `to_pykan` builds a `kan.MultKAN` with the same widths, `G`, `k`, grid range and base
# function, and copies every array: `layer.grid -> act_fun[l].grid`,
# `layer.coef -> act_fun[l].coef`, `layer.w_b -> act_fun[l].scale_base`,
# `layer.w_s -> act_fun[l].scale_sp`, `layer.mask -> act_fun[l].mask`. pykan has one thing
# more: an affine map `scale * x + bias` after every node (and "subnode"), which numpykan
# does not have; `to_pykan` leaves it at the identity.
#
# Two of pykan's habits are switched off on the way: `MultKAN(...)` reseeds Python's,
# NumPy's and torch's global random generators (`to_pykan` restores them), and by default
# writes a checkpoint folder `./model/` (`to_pykan` passes `auto_save=False`).
#
# The model is float64, so pykan's is too, and its inputs must be float64 tensors.

# %%
if HAVE_PYKAN:
    pk = nk.interop.to_pykan(model)
    x_test = data["test_input"]                                  # (N, 2) float64
    gap = np.max(np.abs(pk(torch.tensor(x_test)).detach().numpy() - model(x_test)))
    print(f"largest difference of the two forward passes on the test set: {gap:.1e}")
    assert gap < 1e-12
    print("w_s[0, 0] =", model.layers[0].w_s[0, 0], "  scale_sp[0, 0] =", pk.act_fun[0].scale_sp[0, 0].item())
    assert pk.act_fun[0].scale_sp[0, 0].item() == model.layers[0].w_s[0, 0]

# %% [markdown]
# The forward passes differ in the last bits only: pykan evaluates the B-splines by the
# full Cox-de Boor recursion, numpykan only the `k + 1` live ones in closed form, and the
# sums run in different orders.
#
# ## 4. Training in pykan
#
# pykan's `fit` takes the same dataset dict, as tensors. Its defaults differ from
# numpykan's: the optimizer is L-BFGS (each "step" is up to 20 L-BFGS iterations), the grid
# is updated from the training inputs at steps 0, 5, ... , 45, and `results["train_loss"]`
# and `results["test_loss"]` hold the **RMSE** (numpykan's history holds the MSE).

# %%
if HAVE_PYKAN:
    dataset_t = {key: torch.tensor(value) for key, value in data.items()}   # float64 tensors
    pk_steps = 3 if QUICK else 10
    results = pk.fit(dataset_t, opt="LBFGS", steps=pk_steps, log=pk_steps)
    rmse_pykan = float(results["test_loss"][-1])
    print(f"pykan: test RMSE after {pk_steps} L-BFGS steps: {rmse_pykan:.5f} (was {rmse_numpykan:.4f})")
    assert rmse_pykan < rmse_numpykan

# %% [markdown]
# ## 5. pykan -> numpykan
#
# `from_pykan` copies the arrays back. pykan's grid update has moved the knots (they are no
# longer uniform); numpykan evaluates any increasing knot vector, so the model computes
# exactly what pykan's does, and the test RMSE that numpykan measures is pykan's.

# %%
if HAVE_PYKAN:
    back = nk.interop.from_pykan(pk)
    rmse_back = np.sqrt(back.evaluate(data["test_input"], data["test_label"])["loss"])
    print(f"numpykan measures the pykan-trained model: test RMSE {rmse_back:.5f}")
    assert abs(rmse_back - rmse_pykan) < 1e-12
    knots = back.layers[0].grid[0]
    print("layer 0, input 0, knot spacing after pykan's grid update:", np.round(np.diff(knots), 3))
    assert np.ptp(np.diff(knots)) > 1e-3                         # no longer uniform
    again = nk.interop.to_pykan(back)                            # and the way back is exact too
    assert all(torch.equal(a, b) for a, b in zip(pk.state_dict().values(), again.state_dict().values()))

# %% [markdown]
# ## 6. pykan's gradient, checked by hand
#
# numpykan's backward pass was derived on paper (lesson 3) and checked against finite
# differences. That makes it a reference for a framework's autograd: `compare_gradients`
# runs pykan's forward, loss and `backward()`, and numpykan's `loss_and_grad` on the same
# parameters and data, and compares every gradient element by element, and `dL/dx`.

# %%
if HAVE_PYKAN:
    x, y = data["train_input"][:64], data["train_label"][:64]
    report = nk.interop.compare_gradients(pk, x, y, loss="mse")
    print(report)
    assert report.ok
    assert max(r.max_rel_err for r in report.rows) < 1e-10     # 2e-12 measured in full mode

# %% [markdown]
# With `lamb > 0` the regularizer enters both sides. numpykan's default edge size is the KAN
# paper's `mean |phi|`, which pykan does not have, so the comparison uses a metric both
# define: pykan's default `reg_metric="edge_forward_spline_n"` (std of the spline edge over
# std of its input + 0.1), whose gradient reaches earlier layers through that std.

# %%
if HAVE_PYKAN:
    with_reg = nk.interop.compare_gradients(pk, x, y, lamb=0.01, reg_metric="edge_forward_spline_n")
    print(with_reg.regularizer)
    print("worst relative difference over", len(with_reg.rows), "rows:",
          f"{max(r.max_rel_err for r in with_reg.rows):.1e}")
    assert with_reg.ok

# %% [markdown]
# One entry written out. The output layer is `y = sum_i phi_i0(h_i)` over the hidden
# values `h`, so with the MSE `L = mean_b (y_b - t_b)^2`
#
#     dL/dy_b       = 2 (y_b - t_b) / B
#     dL/dw_s[i, 0] = sum_b dL/dy_b * mask[i, 0] * spline_i0(h_bi)     (spline_i0 = sum_m coef B_m)
#
# numpykan's layer gives `spline_i0(h)` (`spline_values`); pykan's autograd gives
# `act_fun[1].scale_sp.grad`.

# %%
if HAVE_PYKAN:
    h = back.layers[0].forward(x)                                # (64, 5) hidden values
    out = back.layers[1].forward(h)                              # (64, 1)
    dy = 2 * (out[:, 0] - y[:, 0]) / len(x)                      # (64,)
    spline = back.layers[1].spline_values(h)[:, :, 0]            # (64, 5)
    by_hand = back.layers[1].mask[:, 0] * (dy @ spline)          # (5,)

    pk.zero_grad()
    loss_t = torch.mean((pk(torch.tensor(x)) - torch.tensor(y)) ** 2)
    loss_t.backward()
    autograd = pk.act_fun[1].scale_sp.grad[:, 0].numpy()         # (5,)
    print("by hand :", by_hand)
    print("autograd:", autograd)
    assert np.allclose(by_hand, autograd, rtol=1e-12, atol=1e-15)

    fig, ax = plt.subplots(figsize=(6, 3))
    errs = [max(r.max_rel_err, 1e-18) for r in report.rows]
    ax.barh([r.name for r in report.rows], errs)
    ax.axvline(np.finfo(float).eps, color="k", ls="--", label="float64 eps")
    ax.set_xscale("log")
    ax.set_xlabel("max relative difference, numpykan vs pykan")
    ax.invert_yaxis()
    ax.legend()
    savefig(fig, "13_gradient_agreement.png")

# %% [markdown]
# ## 7. What does not move
#
# pykan can hold things numpykan cannot: multiplication nodes, a non-identity node affine
# map, base functions other than silu/identity/zero, formulas outside numpykan's library
# (functions added with `kan.utils.add_symbolic`; the built-in names are shared). `from_pykan`
# refuses such a model with an error that names the
# feature and where it sits, rather than converting it into a different function.

# %%
if HAVE_PYKAN:
    with_mult = kan.MultKAN(width=[2, [3, 1], 1], auto_save=False)   # 3 sum nodes, 1 multiplication node
    try:
        nk.interop.from_pykan(with_mult)
        raise AssertionError("a model with multiplication nodes was converted")
    except ValueError as err:
        print("refused:", err)

# %% [markdown]
# ## Summary
#
# - A numpykan `KAN` and a pykan `MultKAN` hold the same arrays under other names
#   (`w_b`/`scale_base`, `w_s`/`scale_sp`, and `grid`, `coef`, `mask` as they are);
#   `to_pykan` and `from_pykan` copy them bit for bit, and the forward passes agree to
#   ~1e-15.
# - pykan's `fit` defaults differ from numpykan's: L-BFGS, grid updates at steps 0..45, and
#   reported losses that are RMSE.
# - `compare_gradients` puts a framework's autograd next to a hand-derived backward pass:
#   here they agree to a few units of float64 rounding on every parameter and on `dL/dx`,
#   with and without pykan's regularizer.
#   A real disagreement (a wrong formula, a detached tensor) shows as a row that fails.
#
# ## Exercises
#
# 1. Fix an edge of `back` to a formula (`back.fix_symbolic(0, 0, 0, "sin")`), send it to
#    pykan and check where the formula's `a, b, c, d` end up (`symbolic_fun[0].affine`).
#    Run `compare_gradients` again: which new row appears?
# 2. Repeat section 6 with `loss="ce"` on a 3-class problem (`width=[2, 5, 3]`, integer
#    labels). pykan users pass `loss_fn=torch.nn.CrossEntropyLoss()` to `fit`: what does
#    pykan then report as "train_loss"?
# 3. Plant a mistake: multiply `dy` in section 6's hand computation by 1.000001. How large
#    is the difference now, compared with the `eps` line in the figure?
# 4. Convert a float32 pykan model with `from_pykan`. Why does `compare_gradients` refuse
#    it, and what does its error message suggest?
