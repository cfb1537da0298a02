"""The toy experiments of the report: grid update on ``xy`` (Fig. 2), KAN vs MLP at equal size (Fig. 3)."""

from __future__ import annotations

import time

import numpy as np

from .common import (REPORT_INIT, _dtype, _finish, _fmt, _plt, _prepare, _save_figure,
                     _schedule, _stats, _steps_per_epoch, _summary_line)
from .registry import _training_options, register


def xy(x):
    """``f(x, y) = x y``."""
    return x[:, 0] * x[:, 1]


def exp_sin(x):
    """``f(x, y) = exp(sin(pi x) + y^2)``."""
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def _toy_data(f, seed, quick):
    from ..data.datasets import create_dataset
    n = 200 if quick else 1000
    return create_dataset(f, n_var=2, train_num=n, test_num=n, seed=seed)


# ---------------------------------------------------------------------------
# xy: grid update or not (report Fig. 2)
# ---------------------------------------------------------------------------

def _loss_bands(path, curves, series, seeds, title, quick=False):
    """Train and test MSE side by side: per series ``(name, color, label)``, the mean over seeds
    as a line and the min-max range as a band; saved to ``path``."""
    from ..interpretation.plot import plot_mean_band
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, key in zip(axes, ("train_loss", "test_loss")):
        for name, color, label in series:
            plot_mean_band(ax, curves[name]["epoch"], curves[name][key], label=label, color=color)
        ax.set_title(key.replace("_", " ") + f" (mean and min-max over {seeds} seeds)")
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("MSE")
    fig.suptitle(title, y=1.03)
    _save_figure(fig, path, quick)


def run_xy(out=None, seeds=5, quick=False, epochs=None, batch=32, lr=None, lamb=0.01,
           dtype="float64", verbose=False):
    """KAN [2, 5, 1], G = 3, k = 2 on ``f(x, y) = xy``, with and without grid update.

    Both variants train with Adam (``lr``, default 5e-4; 1e-2 when ``quick``, so
    that a few epochs show progress), regularization ``lamb`` (pykan's
    ``lamb_l1 = 1``, ``lamb_entropy = 2``) for ``epochs`` (default 50; 5 when
    ``quick``) on seeds ``0 .. seeds - 1``; seed ``s`` draws the data, the
    initial parameters and the batch order, the same for both variants. The grid
    update variant updates three times onto uniform grids (``grid_eps = 1``) at
    the starts of epochs 1, 9 and 17 (``start = spe``, ``stop = 25 spe`` steps).

    Returns the results dict also written to ``out/results.json``.
    """
    from .. import KAN
    t0 = time.perf_counter()
    out = _prepare(out, "xy", seeds)
    lr = (1e-2 if quick else 5e-4) if lr is None else float(lr)
    epochs = (5 if quick else 50) if epochs is None else int(epochs)
    dt = _dtype(dtype)
    variants = {"no_grid_update": False, "grid_update": True}
    curves = {v: {"epoch": None, "train_loss": [], "test_loss": []} for v in variants}
    per_seed = []
    for s in range(seeds):
        data = _toy_data(xy, s, quick)
        spe = _steps_per_epoch(len(data["train_input"]), batch)
        for name, update in variants.items():
            model = KAN([2, 5, 1], grid=3, k=2, seed=s, dtype=dt, grid_eps=1.0, **REPORT_INIT)
            h = model.fit(data, opt="Adam", epochs=epochs, batch=batch, lr=lr, loss="mse",
                          lamb=lamb, update_grid=update, grid_update_num=3,
                          start_grid_update_step=1 * spe, stop_grid_update_step=25 * spe,
                          log=1, seed=s, verbose=verbose)
            c = curves[name]
            c["epoch"] = [st // spe for st in h["step"]]
            c["train_loss"].append(h["train_loss"])
            c["test_loss"].append(h["test_loss"])
            _summary_line("xy", s, name.replace("_", " "), h, epochs)
            per_seed.append({"seed": s, "variant": name, "num_parameters": model.num_parameters(),
                             "final_train_loss": h["train_loss"][-1],
                             "final_test_loss": h["test_loss"][-1],
                             "final_reg": h["reg"][-1], "train_time_s": h["time"][-1]})
    finals = {v: [r["final_test_loss"] for r in per_seed if r["variant"] == v] for v in variants}
    wins = sum(g < n for g, n in zip(finals["grid_update"], finals["no_grid_update"]))
    summary = {v: _stats(finals[v]) for v in variants}
    summary["grid_update_wins"] = f"{wins}/{seeds}"
    summary["ratio_of_means_no_update_over_update"] = (summary["no_grid_update"]["mean"]
                                                      / summary["grid_update"]["mean"])

    _loss_bands(out / "xy_loss.png", curves,
                [(name, color, name.replace("_", " "))
                 for name, color in (("no_grid_update", "C0"), ("grid_update", "C3"))], seeds,
                f"KAN [2, 5, 1], G=3, k=2 on f(x, y) = xy; Adam lr {lr:g}, batch {batch}, "
                f"lamb {lamb:g}", quick)

    config = {"quick": quick, "function": "x*y", "width": [2, 5, 1], "grid": 3, "k": 2,
              "opt": "Adam", "lr": lr, "epochs": epochs, "batch": batch,
              "steps_per_epoch": spe, "lamb": lamb, "lamb_l1": 1.0, "lamb_entropy": 2.0,
              "train_num": len(data["train_input"]), "test_num": len(data["test_input"]),
              "seeds": list(range(seeds)), "dtype": np.dtype(dt).name,
              "grid_update": {"grid_eps": 1.0, "grid_update_num": 3,
                              "start_grid_update_step": 1 * spe,
                              "stop_grid_update_step": 25 * spe,
                              "update_epochs": sorted(st // spe for st in
                                                      _schedule(3, spe, 25 * spe))},
              "loss": "MSE; train_loss is the mean over the epoch's batches, regularization "
                      "excluded; test_loss on the whole test set after the epoch"}
    results = {"experiment": "xy", "config": config, "per_seed": per_seed, "curves": curves,
               "summary": summary, "report": {"claim": "grid update gives the lower loss "
                                                       "(Fig. 2, no numbers given)"},
               "files": ["xy_loss.png"]}
    table = ["| variant | final test MSE, mean | std | min | max | final train MSE, mean |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for v in variants:
        tr = np.mean([r["final_train_loss"] for r in per_seed if r["variant"] == v])
        st = summary[v]
        table.append(f"| {v.replace('_', ' ')} | {_fmt(st['mean'])} | {_fmt(st['std'])} | "
                     f"{_fmt(st['min'])} | {_fmt(st['max'])} | {_fmt(tr)} |")
    table += ["", f"Grid update has the lower final test MSE on {wins} of {seeds} seeds; "
              f"mean without / mean with = {summary['ratio_of_means_no_update_over_update']:.2f}."]
    return _finish(out, results, table, t0)


# ---------------------------------------------------------------------------
# kan-vs-mlp at equal parameter count (report Fig. 3)
# ---------------------------------------------------------------------------

def kan_edge_parameters(G, k):
    """Parameters of one KAN edge: ``G + k`` coefficients, ``w_b`` and ``w_s``."""
    return G + k + 2


def kan_candidates(target, n_in=2, n_out=1, max_hidden=40, degrees=(2, 3)):
    """All KANs ``[n_in, h, n_out]`` with degree in ``degrees`` and exactly ``target`` parameters.

    A KAN ``[n_in, h, n_out]`` has ``(n_in + n_out) h`` edges of ``G + k + 2``
    parameters each, so it needs ``(n_in + n_out) h (G + k + 2) = target``.
    Returns ``[(h, G, k), ...]``.
    """
    found = []
    for h in range(1, max_hidden + 1):
        for k in degrees:
            edges = (n_in + n_out) * h
            if target % edges == 0 and target // edges - k - 2 >= 1:
                found.append((h, target // edges - k - 2, k))
    return found


def run_kan_vs_mlp(out=None, seeds=5, quick=False, epochs=None, batch=32, lr=None,
                   dtype="float64", verbose=False):
    """KAN [2, 5, 1] (G = 3, k = 3: 120 parameters) vs MLP [2, 30, 1] (121) on exp(sin(pi x) + y^2).

    Both have one hidden layer. Adam (``lr``, default 5e-4; 1e-2 when ``quick``)
    for ``epochs`` (default 100; 3 when ``quick``), no regularization and no grid
    update, on seeds ``0 .. seeds - 1`` (seed ``s`` draws the data, both
    initializations and the batch order).
    """
    from .. import KAN, MLP
    t0 = time.perf_counter()
    out = _prepare(out, "kan-vs-mlp", seeds)
    lr = (1e-2 if quick else 5e-4) if lr is None else float(lr)
    epochs = (3 if quick else 100) if epochs is None else int(epochs)
    dt = _dtype(dtype)
    kan_width, G, k, mlp_width = [2, 5, 1], 3, 3, [2, 30, 1]
    n_kan = 3 * 5 * kan_edge_parameters(G, k)                   # 15 edges x 8
    n_mlp = 2 * 30 + 30 + 30 * 1 + 1                            # weights + biases
    matching = (f"MLP [2, 30, 1]: 2*30 + 30 (layer 1 weights, biases) + 30*1 + 1 (layer 2) "
                f"= {n_mlp}. A KAN [2, h, 1] has 3h edges of G + k + 2 parameters (G + k "
                f"B-spline coefficients, w_b, w_s), so 3h(G + k + 2) = 120 needs "
                f"h(G + k + 2) = 40; the candidates (h, G, k) with k in (2, 3) are "
                f"{kan_candidates(120)}. We take h = 5, G = 3, k = 3: 15 edges x 8 = {n_kan}, "
                f"the width of the report's other toy KAN.")
    print("numpykan reproduce kan-vs-mlp: " + matching)
    names = ("KAN", "MLP")
    curves = {v: {"epoch": None, "train_loss": [], "test_loss": []} for v in names}
    per_seed = []
    for s in range(seeds):
        data = _toy_data(exp_sin, s, quick)
        spe = _steps_per_epoch(len(data["train_input"]), batch)
        models = {"KAN": KAN(kan_width, grid=G, k=k, seed=s, dtype=dt, **REPORT_INIT),
                  "MLP": MLP(mlp_width, activation="silu", seed=s, dtype=dt)}
        for name, model in models.items():
            h = model.fit(data, opt="Adam", epochs=epochs, batch=batch, lr=lr, loss="mse",
                          update_grid=False, log=1, seed=s, verbose=verbose)
            _summary_line("kan-vs-mlp", s, name, h, epochs)
            c = curves[name]
            c["epoch"] = [st // spe for st in h["step"]]
            c["train_loss"].append(h["train_loss"])
            c["test_loss"].append(h["test_loss"])
            per_seed.append({"seed": s, "model": name, "num_parameters": model.num_parameters(),
                             "first_train_loss": h["train_loss"][0],
                             "final_train_loss": h["train_loss"][-1],
                             "final_test_loss": h["test_loss"][-1],
                             "train_time_s": h["time"][-1]})
    counts = {r["model"]: r["num_parameters"] for r in per_seed}
    if counts != {"KAN": n_kan, "MLP": n_mlp}:
        raise RuntimeError(f"parameter counts {counts} differ from the formulas "
                           f"(KAN {n_kan}, MLP {n_mlp})")
    finals = {v: [r["final_test_loss"] for r in per_seed if r["model"] == v] for v in names}
    summary = {v: _stats(finals[v]) for v in names}
    kan_wins = sum(a < b for a, b in zip(finals["KAN"], finals["MLP"]))
    summary["kan_wins"] = f"{kan_wins}/{seeds}"
    summary["ratio_of_means_mlp_over_kan"] = summary["MLP"]["mean"] / summary["KAN"]["mean"]

    _loss_bands(out / "kan_vs_mlp_loss.png", curves,
                [("KAN", "C3", f"KAN ({n_kan} parameters)"),
                 ("MLP", "C0", f"MLP ({n_mlp} parameters)")], seeds,
                f"exp(sin(pi x) + y^2): KAN {kan_width} G={G} k={k} vs MLP {mlp_width}; "
                f"Adam lr {lr:g}, batch {batch}", quick)

    config = {"quick": quick, "function": "exp(sin(pi x) + y^2)",
              "kan": {"width": kan_width, "grid": G, "k": k, "num_parameters": n_kan,
                      "update_grid": False, "lamb": 0.0},
              "mlp": {"width": mlp_width, "activation": "silu", "num_parameters": n_mlp},
              "parameter_matching": matching, "opt": "Adam", "lr": lr, "epochs": epochs,
              "batch": batch, "steps_per_epoch": spe,
              "train_num": len(data["train_input"]), "test_num": len(data["test_input"]),
              "seeds": list(range(seeds)), "dtype": np.dtype(dt).name, "loss": "MSE"}
    results = {"experiment": "kan-vs-mlp", "config": config, "per_seed": per_seed,
               "curves": curves, "summary": summary,
               "report": {"claim": "KAN (120 parameters) reaches a lower loss than the MLP "
                                   "(121) (Fig. 3, no numbers given)"},
               "files": ["kan_vs_mlp_loss.png"]}
    table = ["| model | parameters | final test MSE, mean | std | min | max | "
             "final train MSE, mean |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for v in names:
        tr = np.mean([r["final_train_loss"] for r in per_seed if r["model"] == v])
        st = summary[v]
        n = n_kan if v == "KAN" else n_mlp
        table.append(f"| {v} | {n} | {_fmt(st['mean'])} | {_fmt(st['std'])} | "
                     f"{_fmt(st['min'])} | {_fmt(st['max'])} | {_fmt(tr)} |")
    table += ["", f"KAN has the lower final test MSE on {kan_wins} of {seeds} seeds; "
              f"MLP mean / KAN mean = {summary['ratio_of_means_mlp_over_kan']:.2f}.", "",
              "Parameter matching: " + matching]
    return _finish(out, results, table, t0)


def _toy_options(p):
    _training_options(p, 5, "50 for xy, 100 for kan-vs-mlp", 32, "float64")


register("xy", run_xy, "f(x,y)=xy, KAN [2,5,1] with and without grid update (Fig. 2)",
         _toy_options)
register("kan-vs-mlp", run_kan_vs_mlp,
         "KAN (120 params) vs MLP (121) on exp(sin(pi x)+y^2) (Fig. 3)", _toy_options)
