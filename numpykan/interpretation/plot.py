"""Figures with matplotlib (imported lazily, so the core never needs it).

Every function returns the matplotlib ``Figure`` and saves it when ``path`` is
given; nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pyplot", "plot_history", "plot_fit_2d", "save", "HISTORY_LABELS"]


def pyplot():
    """``matplotlib.pyplot`` with a non-interactive backend when there is no display."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
    import os
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path):
    """Save ``fig`` to ``path`` (if given) and return ``fig``."""
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


#: what each history key holds, as a plot label (see numpykan.fit's Returns)
HISTORY_LABELS = {
    "train_loss": "train loss (mean of the batches)",
    "test_loss": "test loss (whole test set)",
    "train_rmse": "train RMSE (root of the batches' mean MSE)",
    "test_rmse": "test RMSE (whole test set)",
    "reg": "regularization lamb * R (mean of the batches)",
    "train_acc": "train accuracy (mean of the batches)",
    "test_acc": "test accuracy (whole test set)",
}


def _loss_kind(history):
    """``"MSE"``, ``"cross-entropy"`` or ``"loss"``: what ``train_loss``/``test_loss`` of ``history`` are."""
    if "train_rmse" in history:
        return "MSE"
    if "train_acc" in history:
        return "cross-entropy"
    return "loss"


def _unit(key, kind):
    """The quantity a history key measures, for the y axis."""
    if key in ("train_loss", "test_loss"):
        return kind
    if key.endswith("rmse"):
        return "RMSE"
    if key.endswith("acc"):
        return "accuracy"
    return "regularization" if key == "reg" else key


def plot_history(history, ax=None, keys=("train_loss", "test_loss"), logy=True, path=None, label="",
                 ylabel=None):
    """Curves of a :func:`numpykan.fit` history against ``history["step"]``, labelled by what they show.

    Parameters
    ----------
    history : dict
        As :func:`numpykan.fit` returns it.
    keys : sequence of str
        Which entries to draw (empty ones are skipped): ``train_loss``,
        ``test_loss``, ``train_rmse``, ``test_rmse``, ``reg``, ``train_acc``, ``test_acc``.
    label : str
        Put before each legend entry (to tell runs apart in one axes).
    ylabel : str, optional
        Default: what the drawn keys have in common, e.g. ``"MSE"`` for
        ``train_loss``/``test_loss`` of an ``mse`` run, ``"RMSE"``, ``"accuracy"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.5))
    ax = ax if ax is not None else fig.add_subplot(111)
    kind = _loss_kind(history)
    drawn = []
    for key in keys:
        if history.get(key):
            text = HISTORY_LABELS.get(key, key)
            if key in ("train_loss", "test_loss"):
                text = text.replace("loss", kind, 1)          # "train MSE (mean of the batches)"
            ax.plot(history["step"][:len(history[key])], history[key], label=f"{label}{text}")
            drawn.append(key)
    ax.set_xlabel("optimizer step")
    if ylabel is None:
        units = {_unit(key, kind) for key in drawn}
        ylabel = units.pop() if len(units) == 1 else "value"
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if drawn:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return save(fig, path)


def plot_fit_2d(f, model, ranges=(-1.0, 1.0), n=101, path=None, title=None):
    """Target ``f`` and the model's output side by side on a 2-D grid of ``n x n`` points."""
    plt = pyplot()
    lo, hi = ranges
    g = np.linspace(lo, hi, n)
    X, Y = np.meshgrid(g, g)
    xy = np.stack([X.ravel(), Y.ravel()], axis=1)              # (n*n, 2)
    true = np.asarray(f(xy)).reshape(n, n)
    pred = model.predict(xy).reshape(n, n)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
    vmin, vmax = true.min(), true.max()
    err = np.abs(pred - true).max()
    for ax, img, name in zip(axes, (true, pred, pred - true), ("target", "model", "model - target")):
        kw = dict(vmin=vmin, vmax=vmax) if name != "model - target" else dict(cmap="RdBu", vmin=-err, vmax=err)
        im = ax.imshow(img, origin="lower", extent=(lo, hi, lo, hi), **kw)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        fig.colorbar(im, ax=ax, shrink=0.85)
    if title:
        fig.suptitle(title)
    return save(fig, path)


__all__ += ["plot_mean_band", "plot_images"]


def plot_mean_band(ax, x, runs, label="", color=None, logy=True):
    """Mean of several runs' curves as a line, their min-max range as a shaded band.

    Parameters
    ----------
    ax : matplotlib Axes
    x : array_like, shape (T,)
        Common x values (epochs or steps) of every run.
    runs : array_like, shape (R, T)
        One curve per run (seed).
    """
    runs = np.asarray(runs, dtype=np.float64)                  # (R, T)
    x = np.asarray(x)[:runs.shape[1]]                          # (T,)
    line, = ax.plot(x, runs.mean(axis=0), color=color, label=label)
    ax.fill_between(x, runs.min(axis=0), runs.max(axis=0), color=line.get_color(), alpha=0.2,
                    linewidth=0)
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def plot_images(images, titles, path=None, vmin=0.0, vmax=1.0):
    """Gray images side by side (e.g. original and reconstructions), one title each."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(3.3 * len(images), 3.6))
    for ax, img, title in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(np.clip(img, vmin, vmax), cmap="gray", vmin=vmin, vmax=vmax,
                  interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return save(fig, path)


__all__ += ["plot_network", "plot_edge"]


def _edge_ranges(model, x, n=256, seed=0):
    """Samples of every layer's input: from model inputs ``x`` or uniform on layer 0's grids.

    Returns ``(x, hs)``: the model inputs used and a list of per-layer inputs ``(B, I_l)``.
    """
    if x is None:
        layer0 = model.layers[0]
        k = layer0.k
        lo, hi = layer0.grid[:, k], layer0.grid[:, -k - 1]                # (I,), (I,)
        u = np.random.default_rng(seed).random((n, model.width[0]))        # (n, I)
        x = lo + u * (hi - lo)
    h = model._input(x)
    hs = []
    for l, layer in enumerate(model.layers):
        hs.append(h)
        h = model._infer(h, l, l + 1) if hasattr(model, "_infer") else layer(h)   # mult nodes too
    return x, hs


def plot_network(model, path=None, x=None, in_vars=None, out_vars=None, beta=3.0, n_points=101,
                 title=None, scale=1.0):
    """A KAN drawn as nodes and edges, each edge with its curve in a small inset.

    Layer ``l``'s nodes sit on row ``l`` (inputs at the bottom). Between rows
    ``l`` and ``l + 1`` there is one inset per edge ``(i, j)``, in the order
    ``i * O + j``, showing ``phi_lij`` over the range of its input; lines join
    node ``i`` to the inset and the inset to node ``j``. Opacity shows
    importance: ``alpha = tanh(beta * n_lij / max n)``, with
    ``n_lij = mean_b |phi_lij|`` from :meth:`KAN.edge_scores` (floor 0.05).
    Formula edges are drawn in red with their function's name; pruned edges
    (mask 0, no formula) are left out. Multiplication nodes are drawn as
    white squares marked ``x``; their subnodes (where the edges of the layer
    below end) as small dots just under the row, joined to the node they feed.

    Parameters
    ----------
    model : KAN
    path : str, optional
        Save the figure there.
    x : ndarray, shape (B, width[0]), optional
        Samples that set the curves' ranges and the importances; default 256
        uniform points on the first layer's grid intervals.
    in_vars, out_vars : list of str, optional
        Names written under the inputs and above the outputs.
    beta : float
        Contrast of the opacity.
    n_points : int
        Points per curve.
    title : str, optional
    scale : float
        Size of the figure relative to the default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .symbolic_edges import edge_values
    plt = pyplot()
    from ..training.regularization import edge_norms
    x, hs = _edge_ranges(model, x)
    nodes = getattr(model, "nodes", None)                                 # multiplication nodes
    if nodes is None:
        scores = model.edge_scores(x)                                     # list of (I, O)
    else:
        scores = [edge_norms(layer.activations(h)) for layer, h in zip(model.layers, hs)]
    width_in = getattr(model, "width_in", model.width)
    top = max(float(s.max()) for s in scores) or 1.0
    L = len(model.layers)
    slots = max(max(layer.in_dim * layer.out_dim for layer in model.layers), max(width_in))
    fig = plt.figure(figsize=(scale * max(4.0, 0.75 * slots), scale * 2.4 * L))
    ax = fig.add_axes([0, 0, 1, 1])
    ylo, yhi = -0.3, L + (0.45 if title else 0.3)
    ax.set_xlim(0, 1)
    ax.set_ylim(ylo, yhi)
    ax.axis("off")

    def to_fig(px, py):                                                   # data -> figure fraction
        return px, (py - ylo) / (yhi - ylo)

    def node_x(n_nodes):
        return (np.arange(n_nodes) + 0.5) / n_nodes

    sub_dy = 0.12                                                         # subnodes sit this far below
    for l in range(L + 1):
        xs = node_x(width_in[l])
        op = nodes[l - 1] if nodes is not None and l > 0 else None
        n_sum = len(xs) if op is None else op.n_sum
        ax.scatter(xs[:n_sum], np.full(n_sum, l), s=120, c="black", zorder=3)
        if op is not None:                                                # mult nodes and their subnodes
            ax.scatter(xs[n_sum:], np.full(len(xs) - n_sum, l), s=200, marker="s", c="white",
                       edgecolors="black", zorder=3)
            ax.scatter(xs[n_sum:], np.full(len(xs) - n_sum, l), s=60, marker="x", c="black", zorder=4)
            sx = node_x(op.n_sub)
            ax.scatter(sx[n_sum:], np.full(op.n_sub - n_sum, l - sub_dy), s=25, c="black", zorder=3)
            for m, cols in enumerate(op.factors):
                for r in cols:
                    ax.plot([sx[r], xs[n_sum + m]], [l - sub_dy, l], color="black", lw=0.8)
    ins_h = 0.5                                                           # inset height (rows)
    for l, layer in enumerate(model.layers):
        I, O = layer.in_dim, layer.out_dim
        x_in, x_out = node_x(I), node_x(O)
        op = nodes[l] if nodes is not None else None
        y_out = np.full(O, l + 1.0)                                       # where edge j ends
        if op is not None:
            y_out[op.n_sum:] -= sub_dy
            x_out[:op.n_sum] = node_x(op.n_nodes)[:op.n_sum]
        n_slots = I * O
        w_slot = 1.0 / n_slots
        ins_w = min(0.8 * w_slot, 0.18)
        h = hs[l]
        for i in range(I):
            lo, hi = float(h[:, i].min()), float(h[:, i].max())
            xi = np.linspace(lo, hi if hi > lo else lo + 1.0, n_points)
            for j in range(O):
                e = None if layer.symbolic is None else layer.symbolic.find(i, j)
                if layer.mask[i, j] == 0 and e is None:
                    continue
                alpha = max(0.05, float(np.tanh(beta * scores[l][i, j] / top)))
                color = "red" if e is not None else "black"
                cx = (i * O + j + 0.5) * w_slot                           # inset centre
                y0, y1 = l + 0.5 - ins_h / 2, l + 0.5 + ins_h / 2
                ax.plot([x_in[i], cx], [l, y0], color=color, alpha=alpha, lw=1)
                ax.plot([cx, x_out[j]], [y1, y_out[j]], color=color, alpha=alpha, lw=1)
                fx, fy0 = to_fig(cx - ins_w / 2, y0)
                _, fy1 = to_fig(cx, y1)
                ins = fig.add_axes([fx, fy0, ins_w, fy1 - fy0])
                ins.plot(xi, edge_values(layer, i, j, xi), color=color, alpha=alpha, lw=1.5)
                ins.set_xticks([])
                ins.set_yticks([])
                for side in ins.spines.values():
                    side.set_alpha(alpha)
                if e is not None:
                    ins.set_title(layer.symbolic.names[e], fontsize=7, color="red", pad=1)
    for names, row, va, off in ((in_vars, 0, "top", -0.12), (out_vars, L, "bottom", 0.12)):
        if names is not None:
            xs = node_x(width_in[row])
            if len(names) != len(xs):
                raise ValueError(f"expected {len(xs)} names for row {row}, got {len(names)}")
            for px, name in zip(xs, names):
                ax.text(px, row + off, str(name), ha="center", va=va, fontsize=11)
    if title:
        ax.text(0.5, yhi - 0.02, title, ha="center", va="top", fontsize=12)
    return save(fig, path)


def plot_edge(model, l, i, j, x=None, ax=None, path=None, n_points=201):
    """The curve ``phi_lij`` over its input range, with the samples if ``x`` is given.

    The range is that of layer ``l``'s input ``i`` over the samples ``x``
    (model inputs), else the grid's base interval. A formula edge is titled
    with its ``c f(a x + b) + d``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .symbolic_edges import _check_edge, edge_inputs, edge_values
    plt = pyplot()
    layer = _check_edge(model, l, i, j)
    xs = edge_inputs(model, l, i, x)
    grid_x = np.linspace(xs.min(), xs.max() if xs.max() > xs.min() else xs.min() + 1.0, n_points)
    fig = ax.figure if ax is not None else plt.figure(figsize=(4, 3))
    ax = ax if ax is not None else fig.add_subplot(111)
    ax.plot(grid_x, edge_values(layer, i, j, grid_x), lw=2)
    if x is not None:
        ax.scatter(xs, edge_values(layer, i, j, xs), s=4, alpha=0.4, color="gray")
    e = None if layer.symbolic is None else layer.symbolic.find(i, j)
    if e is not None:
        a, b, c, d = (float(v) for v in layer.symbolic.params["abcd"][e])
        what = f"{c:.4g}*{layer.symbolic.names[e]}({a:.4g}x + {b:.4g}) + {d:.4g}"
    elif layer.mask[i, j] == 0:
        what = "pruned"
    else:
        what = "spline"
    ax.set_title(f"layer {l}, edge ({i}, {j}): {what}", fontsize=9)
    ax.set_xlabel(f"input {i} of layer {l}")
    ax.set_ylabel("phi")
    ax.grid(True, alpha=0.3)
    return save(fig, path)
