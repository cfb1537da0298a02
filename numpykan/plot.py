"""Figures with matplotlib (imported lazily, so the core never needs it).

Every function returns the matplotlib ``Figure`` and saves it when ``path`` is
given; nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pyplot", "plot_history", "plot_fit_2d", "save"]


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


def plot_history(history, ax=None, keys=("train_loss", "test_loss"), logy=True, path=None, label=""):
    """Loss curves from a :func:`numpykan.fit` history (x axis: ``history["step"]``)."""
    plt = pyplot()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.5))
    ax = ax if ax is not None else fig.add_subplot(111)
    for key in keys:
        if history.get(key):
            ax.plot(history["step"][:len(history[key])], history[key], label=f"{label}{key}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
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
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    vmin, vmax = true.min(), true.max()
    for ax, img, name in zip(axes, (true, pred, pred - true), ("target", "model", "model - target")):
        kw = dict(vmin=vmin, vmax=vmax) if name != "model - target" else dict(cmap="RdBu")
        im = ax.imshow(img, origin="lower", extent=(lo, hi, lo, hi), **kw)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    return save(fig, path)
