"""Image fitting (report Fig. 4-7): KAN vs an MLP of equal size, train and held-out PSNR."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import (REPORT_INIT, DataError, Progress, _check_seeds, _count, _duration, _dtype,
                     _finish, _fmt, _plt, _prepare, _save_figure, _schedule, _stats,
                     _steps_per_epoch)
from .registry import _training_options, positive_int, register


# ---------------------------------------------------------------------------
# Image fitting (report Fig. 4-7)
# ---------------------------------------------------------------------------

def mlp_parameters(width):
    """Weights and biases of an MLP of ``width``."""
    return sum(a * b + b for a, b in zip(width[:-1], width[1:]))


def mlp_hidden_width(target, n_in, n_out, n_hidden):
    """The hidden width ``h`` whose MLP ``[n_in, h * n_hidden, n_out]`` is closest to ``target``.

    Ties go to the smaller ``h``.
    """
    best = None
    for h in range(1, 100_000):
        n = mlp_parameters([n_in] + [h] * n_hidden + [n_out])
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (h, n)
        if n > target:
            break
    return best[0]


def _color_mode(color, raw):
    """``"gray"`` or ``"rgb"``: what to fit of the picture ``raw`` ((H, W) or (H, W, C))."""
    if color not in ("auto", "gray", "rgb"):
        raise ValueError(f"color must be 'auto', 'gray' or 'rgb', got {color!r}")
    has_color = raw.ndim == 3 and raw.shape[2] >= 3 and not (
        np.array_equal(raw[..., 0], raw[..., 1]) and np.array_equal(raw[..., 0], raw[..., 2]))
    if color == "auto":
        return "rgb" if has_color else "gray"
    if color == "rgb" and not has_color:
        raise ValueError("color='rgb' needs a colour picture; this one is gray")
    return color


def neighbour_mean(img, mask):
    """The mean of the 4 neighbours of each pixel of ``mask``: a baseline for held-out pixels.

    ``img`` (H, W[, C]); ``mask`` (H, W) bool, no two masked pixels adjacent (as
    :func:`numpykan.images.holdout_mask` makes them). Neighbours outside the picture
    are skipped. Returns the values at the masked pixels, ``(N_masked, C)``.
    """
    a = img if img.ndim == 3 else img[:, :, None]                  # (H, W, C)
    pad = np.pad(a, ((1, 1), (1, 1), (0, 0)))                     # (H+2, W+2, C)
    inside = np.pad(np.ones(a.shape[:2]), 1)                      # (H+2, W+2)
    total = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:])   # (H, W, C)
    count = (inside[:-2, 1:-1] + inside[2:, 1:-1] + inside[1:-1, :-2] + inside[1:-1, 2:])
    return (total / count[:, :, None])[mask]                      # (N_masked, C)


def run_image(out=None, seeds=1, quick=False, image=None, size=None, epochs=None, batch=None,
              lr=None, dtype="float32", hidden=None, grid=10, k=3, update_grid=True,
              color="auto", holdout_every=2, checkpoint_every=None, resume=False,
              eval_every=None, verbose=False):
    """KAN ``[2, hidden..., C]`` (G = 10, k = 3) vs an MLP of equal depth and size on one picture.

    Parameters
    ----------
    image : str or path-like, optional
        ``.npy``/``.png``/``.jpg`` read with :func:`numpykan.images.load_image`;
        default :func:`numpykan.images.sample_image` (ships with matplotlib).
    size : int
        The picture is resized (area average) so that its shorter side has
        ``size`` pixels, keeping its aspect ratio (default 256; 16 when ``quick``).
    epochs : int
        Shuffled passes over the training pixels (default 1000, the report's count
        for the cameraman; it uses 500 for The Starry Night; 6 when ``quick``).
    lr : float
        Adam's learning rate (default 1e-3, the report's; 1e-2 when ``quick``).
    batch : int
        Pixels per Adam step (default 4096; 64 when ``quick``); -1: all of them.
    hidden : list of int
        Hidden widths (default ``[128] * 4``; ``[8] * 4`` when ``quick``).
    update_grid : bool
        pykan's default count and spacing, in epochs: the KAN updates its grids
        (``grid_eps`` 0.02) from a batch of training pixels at the starts of epochs
        0, 5, ..., 45, so that every layer's grid covers its inputs.
    color : {"auto", "gray", "rgb"}
        Fit the gray value (one output) or R, G, B (three outputs). ``"auto"``:
        three for a colour picture, one for a gray one.
    holdout_every : int or None
        Hold out one pixel of every ``holdout_every x holdout_every`` block (the
        lattice of :func:`numpykan.images.holdout_mask`; 25% for 2); the models never
        see them, and their PSNR says how well each model fills in between the
        pixels it was trained on. None: train on every pixel.
    checkpoint_every : int
        Epochs between checkpoints (default 10; 2 when ``quick``), in
        ``out/checkpoints/seed<s>-<model>``; see :mod:`numpykan.resumable`.
    resume : bool
        Continue a stopped run from its checkpoints in ``out``; the result is the
        one of an uninterrupted run, bit for bit. Without it, checkpoints in ``out``
        are an error.
    eval_every : int
        Epochs between PSNR measurements (default ``epochs // 100``, at least 1).
    verbose : bool
        A progress line per epoch on stderr (see :class:`Progress`).

    The MLP (SiLU) gets the same number of hidden layers, each of the width that
    makes its parameter count closest to the KAN's. PSNR is of the raw model output
    against the resized picture in [0, 1], over the channels fitted.
    """
    from .. import KAN, MLP
    from ..data.images import (holdout_mask, image_dataset, load_image, pixel_coordinates,
                              psnr, sample_image, size_for_short_side)
    from ..training.resumable import train_epochs
    t0 = time.perf_counter()
    _check_seeds(seeds)
    size = (16 if quick else 256) if size is None else _count(size, "size", 2)
    epochs = (6 if quick else 1000) if epochs is None else _count(epochs, "epochs", 1)
    batch = (64 if quick else 4096) if batch is None else int(batch)
    if batch != -1 and batch < 1:
        raise ValueError(f"batch must be -1 (all pixels) or >= 1, got {batch}")
    hidden = ([8] * 4 if quick else [128] * 4) if hidden is None else list(hidden)
    lr = (1e-2 if quick else 1e-3) if lr is None else float(lr)
    checkpoint_every = ((2 if quick else 10) if checkpoint_every is None
                        else _count(checkpoint_every, "checkpoint_every", 1))
    eval_every = (max(1, epochs // 100) if eval_every is None
                  else _count(eval_every, "eval_every", 1))
    if holdout_every is not None:
        holdout_every = _count(holdout_every, "holdout_every", 2)
    dt = _dtype(dtype)
    try:
        if image is None:
            raw, image_name = sample_image(), "matplotlib sample jacksboro_fault_dem"
        else:
            raw, image_name = load_image(image, gray=False), Path(image).name
        mode = _color_mode(color, raw)
    except (OSError, ValueError, ImportError) as err:
        text = str(err)
        for prefix in (f"{image}: ", f"{Path(image)}: "):        # the path is said once
            text = text[len(prefix):] if text.startswith(prefix) else text
        raise DataError(f"cannot use the image {image}: {text}") from err
    shape = size_for_short_side(raw.shape, size)
    img = load_image(image, gray=mode == "gray", size=shape) if image is not None \
        else sample_image(size=shape)                         # (H, W) or (H, W, 3)
    target = img if img.ndim == 3 else img[:, :, None]        # (H, W, C)
    n_out = target.shape[2]
    data = image_dataset(img, dtype=dt, gray=mode == "gray", holdout_every=holdout_every)
    held = (holdout_mask(shape, holdout_every) if holdout_every is not None
            else np.zeros(shape, dtype=bool))
    everything = pixel_coordinates(shape, dt)                 # (H*W, 2)
    if holdout_every is None:                                 # no test split: train only
        data = {key: data[key] for key in ("train_input", "train_label", "shape")}
    baseline = (psnr(neighbour_mean(target, held), target[held]) if held.any() else None)

    kan_width = [2] + hidden + [n_out]
    n_kan = KAN(kan_width, grid=grid, k=k, seed=0, dtype=dt, **REPORT_INIT).num_parameters()
    h_mlp = mlp_hidden_width(n_kan, 2, n_out, len(hidden))
    mlp_width = [2] + [h_mlp] * len(hidden) + [n_out]
    n_mlp = mlp_parameters(mlp_width)
    n_train = len(data["train_input"])
    spe = _steps_per_epoch(n_train, batch)
    grid_epochs = sorted(_schedule(10, -1, 50)) if update_grid else []
    out = _prepare(out, "image")
    print(f"numpykan reproduce image: {image_name} at {shape[0]} x {shape[1]}, fitting "
          f"{'R, G, B (3 outputs)' if mode == 'rgb' else 'the gray value (1 output)'}; "
          f"{n_train} training pixels"
          + (f", {int(held.sum())} held out (1 in {holdout_every}x{holdout_every})"
             if held.any() else "")
          + f"; KAN {kan_width} G={grid} k={k}: {n_kan} parameters; MLP {mlp_width}: "
          f"{n_mlp}; {epochs} epochs of {spe} steps (batch {batch})"
          + (" [quick run]" if quick else ""), flush=True)

    def evaluate(model):
        scores = {"train_psnr": psnr(model.predict(data["train_input"]), data["train_label"])}
        if held.any():
            scores["heldout_psnr"] = psnr(model.predict(data["test_input"]),
                                          data["test_label"])
        return scores

    names = ("KAN", "MLP")
    curves = {v: {"epoch": [], "train_loss": [], "eval_epoch": [], "train_psnr": [],
                  "heldout_psnr": []} for v in names}
    per_seed, recon = [], {}
    for s in range(seeds):
        models = {"KAN": KAN(kan_width, grid=grid, k=k, seed=s, dtype=dt, **REPORT_INIT),
                  "MLP": MLP(mlp_width, activation="silu", seed=s, dtype=dt)}
        for name, model in models.items():
            run_config = {"image": image_name, "shape": list(shape), "color": mode,
                          "holdout_every": holdout_every, "model": name,
                          "width": kan_width if name == "KAN" else mlp_width,
                          "grid": grid if name == "KAN" else None, "k": k if name == "KAN"
                          else None, "lr": lr, "batch": batch, "epochs": epochs, "seed": s,
                          "dtype": np.dtype(dt).name, "eval_every": eval_every,
                          "grid_update_epochs": grid_epochs if name == "KAN" else []}
            progress = Progress(f"{name} seed {s}", enabled=verbose)
            model, h, _ = train_epochs(
                model, data, epochs, batch=batch, opt="Adam", lr=lr, loss="mse", seed=s,
                checkpoint=out / "checkpoints" / f"seed{s}-{name}",
                checkpoint_every=checkpoint_every, resume=resume,
                grid_update_epochs=run_config["grid_update_epochs"], evaluate=evaluate,
                eval_every=eval_every, progress=progress.epoch, config=run_config)
            progress.close()
            pred = model.predict(everything).reshape(target.shape)    # (H, W, C)
            final = evaluate(model)
            c = curves[name]
            c["epoch"].append(h["epoch"])
            c["train_loss"].append(h["train_loss"])
            c["eval_epoch"].append(h["eval_epoch"])
            for key in ("train_psnr", "heldout_psnr"):
                c[key].append(h["eval"].get(key, []))
            row = {"seed": s, "model": name, "num_parameters": model.num_parameters(),
                   "first_train_loss": h["train_loss"][0],
                   "final_train_loss": h["train_loss"][-1],
                   "train_psnr_db": final["train_psnr"],
                   "heldout_psnr_db": final.get("heldout_psnr"),
                   "psnr_db": psnr(pred, target), "train_time_s": h["time"][-1],
                   "train_cpu_s": h["cpu_time"][-1],
                   "seconds_per_epoch": h["time"][-1] / epochs,
                   "resumed_from_epochs": h["resumed_from"]}
            per_seed.append(row)
            print(f"numpykan reproduce image: seed {s} {name}: train PSNR "
                  f"{row['train_psnr_db']:.2f} dB"
                  + (f", held-out {row['heldout_psnr_db']:.2f} dB" if held.any() else "")
                  + f" after {epochs} epochs, {row['train_time_s']:.0f} s of training"
                  + (f" (resumed after epoch {', '.join(map(str, h['resumed_from']))})"
                     if h["resumed_from"] else ""), flush=True)
            if s == 0:
                recon[name] = (pred, row)
    summary = {v: {key: _stats([r[key] for r in per_seed if r["model"] == v])
                   for key in ("train_psnr_db", "psnr_db", "train_time_s", "train_cpu_s")
                   + (("heldout_psnr_db",) if held.any() else ())}
               for v in names}
    for v in names:
        summary[v]["num_parameters"] = n_kan if v == "KAN" else n_mlp
    summary["neighbour_mean_heldout_psnr_db"] = baseline

    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(3.4 * 3 * shape[1] / shape[0] + 0.5, 4.0))
    panels = [(target, f"original {shape[0]}x{shape[1]}" + (
        f"\n(held out: 1 pixel in {holdout_every}x{holdout_every})" if held.any() else ""))]
    for name, n in (("KAN", n_kan), ("MLP", n_mlp)):
        pred, row = recon[name]
        panels.append((pred, f"{name}, {n:,} parameters\ntrain {row['train_psnr_db']:.2f} dB"
                       + (f", held-out {row['heldout_psnr_db']:.2f} dB" if held.any() else "")))
    for ax, (picture, title) in zip(axes, panels):
        picture = np.clip(picture, 0.0, 1.0)
        if picture.shape[2] == 1:
            ax.imshow(picture[:, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(picture, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{image_name}: KAN {kan_width} G={grid} k={k} vs MLP {mlp_width}, "
                 f"Adam lr {lr:g}, {epochs} epochs, batch {batch}", fontsize=9)
    _save_figure(fig, out / "image_reconstruction.png", quick)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, color_ in (("KAN", "C3"), ("MLP", "C0")):
        c = curves[name]
        for i in range(seeds):
            label = name if i == 0 else None
            axes[0].plot(c["epoch"][i], c["train_loss"][i], color=color_, label=label)
            axes[1].plot(c["eval_epoch"][i], c["train_psnr"][i], "--", color=color_,
                         label=f"{name} train pixels" if i == 0 else None)
            if held.any():
                axes[1].plot(c["eval_epoch"][i], c["heldout_psnr"][i], "-", color=color_,
                             label=f"{name} held-out pixels" if i == 0 else None)
    if baseline is not None:
        axes[1].axhline(baseline, color="0.4", lw=1, ls=":",
                        label=f"mean of 4 neighbours ({baseline:.1f} dB)")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("train MSE (mean over each epoch's batches)")
    axes[1].set_ylabel("PSNR (dB)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{image_name} at {shape[0]}x{shape[1]}: training loss and PSNR", y=1.02)
    _save_figure(fig, out / "image_curves.png", quick)

    n_batch = n_train if batch == -1 else min(batch, n_train)
    config = {"quick": quick, "image": image_name, "size": list(shape), "color": mode,
              "outputs": n_out, "holdout_every": holdout_every,
              "train_pixels": n_train, "heldout_pixels": int(held.sum()),
              "kan": {"width": kan_width, "grid": grid, "k": k, "num_parameters": n_kan,
                      "update_grid": update_grid,
                      "grid_update": f"grid_eps 0.02, from {n_batch} training pixels at the "
                                     f"starts of epochs {grid_epochs}"
                      if update_grid else None},
              "mlp": {"width": mlp_width, "activation": "silu", "num_parameters": n_mlp},
              "parameter_matching": f"MLP hidden width {h_mlp} is the one whose parameter "
                                    f"count ({n_mlp}) is closest to the KAN's ({n_kan}) at "
                                    f"the same depth",
              "opt": "Adam", "lr": lr, "epochs": epochs, "batch": batch,
              "steps_per_epoch": spe, "checkpoint_every": checkpoint_every,
              "eval_every": eval_every, "seeds": list(range(seeds)),
              "dtype": np.dtype(dt).name,
              "psnr": "10 log10(1 / MSE) of the raw output (not clipped), intensities in "
                      "[0, 1], over the channels fitted; train: the training pixels, "
                      "held-out: the held-out pixels, all: every pixel",
              "neighbour_mean": "PSNR of the held-out pixels predicted by the mean of their "
                                "4 (trained) neighbours: a baseline for filling in"}
    results = {"experiment": "image", "config": config, "per_seed": per_seed, "curves": curves,
               "summary": summary,
               "report": {"cameraman_epochs": 1000, "starry_night_epochs": 500,
                          "claim": "KAN and MLP reconstructions shown side by side "
                                   "(Fig. 4-7, no PSNR given)"},
               "files": ["image_reconstruction.png", "image_curves.png"]}
    table = ["| model | width | parameters | train PSNR (dB) | held-out PSNR (dB) | "
             "all pixels (dB) | final train MSE | training time (wall / CPU) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for v, w in (("KAN", kan_width), ("MLP", mlp_width)):
        rows = [r for r in per_seed if r["model"] == v]
        st = summary[v]
        table.append(f"| {v} | {w} | {rows[0]['num_parameters']:,} | "
                     f"{st['train_psnr_db']['mean']:.2f} | "
                     + (f"{st['heldout_psnr_db']['mean']:.2f} | " if held.any() else "- | ")
                     + f"{st['psnr_db']['mean']:.2f} | "
                     f"{_fmt(np.mean([r['final_train_loss'] for r in rows]))} | "
                     f"{_duration(st['train_time_s']['mean'])} / "
                     f"{_duration(st['train_cpu_s']['mean'])} |")
    if baseline is not None:
        table.append(f"| mean of the 4 neighbours | - | - | - | {baseline:.2f} | - | - | - |")
    table += ["", f"Image: {image_name}, resized to {shape[0]}x{shape[1]}, fitting "
              f"{'R, G, B' if mode == 'rgb' else 'the gray value'}; {epochs} epochs of "
              f"{spe} Adam steps (batch {batch}, lr {lr:g}), {config['dtype']}; "
              + (f"1 pixel in {holdout_every}x{holdout_every} held out." if held.any()
                 else "no pixel held out.")]
    return _finish(out, results, table, t0)


def _image_options(p):
    _training_options(p, 1, "1000, the report's for the cameraman; it used 500 for The "
                            "Starry Night", 4096, "float32")
    p.add_argument("--image", default=None,
                   help=".npy/.png/.jpg picture (default: a matplotlib sample image)")
    p.add_argument("--size", type=lambda t: positive_int(t, 2), default=None,
                   help="shorter side in pixels after resizing, aspect ratio kept "
                        "(default 256)")
    p.add_argument("--color", choices=["auto", "gray", "rgb"], default=None,
                   help="fit the gray value or R, G, B (default auto: RGB for a colour "
                        "picture)")
    p.add_argument("--holdout-every", dest="holdout_every", type=lambda t: positive_int(t, 2),
                   default=None, help="hold out one pixel of every NxN block (default 2)")
    p.add_argument("--no-holdout", dest="holdout_every", action="store_const", const=0,
                   help="train on every pixel")
    p.add_argument("--hidden", type=positive_int, nargs="+", default=None,
                   help="KAN hidden widths (default 128 128 128 128)")
    p.add_argument("--no-grid-update", dest="update_grid", action="store_false",
                   default=None, help="no KAN grid updates (default: 10, at the starts of "
                                      "epochs 0, 5, ..., 45)")
    p.add_argument("--checkpoint-every", dest="checkpoint_every", type=positive_int,
                   default=None, help="epochs between checkpoints in OUT/checkpoints "
                                      "(default 10)")
    p.add_argument("--eval-every", dest="eval_every", type=positive_int, default=None,
                   help="epochs between PSNR measurements (default epochs/100)")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue a stopped run from its checkpoints in --out (bit for bit "
                        "the uninterrupted result)")


register("image", run_image, "image fitting, KAN vs MLP of equal size, train and held-out "
                             "PSNR, resumable (Fig. 4-7)", _image_options)
