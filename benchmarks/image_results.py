"""Tables and figures of ``numpykan reproduce image`` runs, finished or still running.

    python benchmarks/image_results.py RUN [RUN ...] [--images DIR] [--figures DIR]

For each output folder ``RUN`` of ``numpykan reproduce image --out RUN``:

- finished (``RUN/results.json`` exists): one markdown row per model from the run's
  own numbers (train, held-out and all-pixel PSNR, training time), and, with
  ``--figures``, its ``image_reconstruction.png`` and ``image_curves.png`` copied to
  ``FIGURES/image_<RUN name>_reconstruction.png`` and ``..._curves.png``;
- still running (or stopped): the same row from its newest checkpoints, labelled
  INTERIM with the epoch reached (the PSNRs are those the run measured at its last
  evaluation epoch). With ``--images DIR`` (the folder holding the picture the run
  was given) the row gets the 4-neighbour baseline, and ``--figures`` writes
  ``FIGURES/image_<RUN name>_interim.png``: the picture beside each model's
  reconstruction from its checkpoint, stamped "interim".

It only reads the run folders, so it can run beside the training. Without ``--figures``
nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

MODELS = ("KAN", "MLP")


def _hms(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _checkpoint(folder, tries=5):
    """The newest checkpoint of ``folder`` (None if none), retried while the run replaces it."""
    from numpykan.training.resumable import read_checkpoint
    for attempt in range(tries):
        try:
            return read_checkpoint(folder)
        except ValueError:                       # the pair was being replaced: read again
            if attempt == tries - 1:
                raise
            time.sleep(1.0)


def _picture(images, config):
    """The resized target picture (H, W, C) of a run, its held-out mask and the 4-neighbour PSNR."""
    from numpykan.data.images import holdout_mask, load_image, psnr
    from numpykan.experiments import neighbour_mean
    shape = tuple(config["shape"])
    img = load_image(Path(images) / config["image"], gray=config["color"] == "gray", size=shape)
    target = img if img.ndim == 3 else img[:, :, None]                   # (H, W, C)
    held = holdout_mask(shape, config["holdout_every"])                   # (H, W)
    return target, held, psnr(neighbour_mean(target, held), target[held])


def finished_rows(run, figures=None):
    """Markdown rows of a finished run (and its figures copied into ``figures``)."""
    r = json.loads((run / "results.json").read_text())
    c = r["config"]
    rows = []
    for p in r["per_seed"]:
        rows.append(f"| {c['image']} {c['size'][0]} x {c['size'][1]} | {p['model']} | "
                    f"{c['epochs']} of {c['epochs']} (final) | {p['train_psnr_db']:.2f} | "
                    f"{p['heldout_psnr_db']:.2f} | {p['psnr_db']:.2f} | "
                    f"{r['summary']['neighbour_mean_heldout_psnr_db']:.2f} | "
                    f"{_hms(p['train_time_s'])} / {_hms(p['train_cpu_s'])} |")
    if figures is not None:
        for name in ("image_reconstruction.png", "image_curves.png"):
            shutil.copyfile(run / name, Path(figures) / f"image_{run.name}_{name[6:]}")
    return rows


def interim_rows(run, images=None, figures=None):
    """Markdown rows from a running run's checkpoints (and an interim figure)."""
    rows, panels, baseline, target = [], [], None, None
    for name in MODELS:
        ck = _checkpoint(run / "checkpoints" / f"seed0-{name}")
        if ck is None:
            continue
        meta, config = ck["meta"], ck["meta"]["config"]
        if images is not None and target is None:
            target, held, baseline = _picture(images, config)
        ev, h = meta["history"]["eval"], meta["history"]
        at = h["eval_epoch"][-1] if h["eval_epoch"] else None
        shape = config["shape"]
        done = ck["epoch"] >= config["epochs"]
        rows.append(f"| {config['image']} {shape[0]} x {shape[1]} | {name} | "
                    + (f"{ck['epoch']} of {config['epochs']} (done; the run goes on) | " if done
                       else f"INTERIM: {ck['epoch']} of {config['epochs']} | ")
                    + (f"{ev['train_psnr'][-1]:.2f} | {ev['heldout_psnr'][-1]:.2f} | - | "
                       if at is not None else "- | - | - | ")
                    + (f"{baseline:.2f} | " if baseline is not None else "- | ")
                    + f"{_hms(meta['elapsed_s'])} / {_hms(meta['cpu_s'])} so far |")
        if figures is not None and target is not None:
            import numpykan as nk
            from numpykan.data.images import pixel_coordinates, psnr
            model = getattr(nk, meta["model_kind"]).load(ck["model_path"])
            xy = pixel_coordinates(tuple(shape), np.float32)                  # (H*W, 2)
            pred = model.predict(xy).reshape(target.shape)                    # (H, W, C)
            panels.append((pred, f"{name} after epoch {ck['epoch']} of {config['epochs']}\n"
                                 f"train {psnr(pred[~held], target[~held]):.2f} dB, held-out "
                                 f"{psnr(pred[held], target[held]):.2f} dB"))
    if panels:
        from numpykan.interpretation.plot import pyplot
        plt = pyplot()
        every = config["holdout_every"]
        panels.insert(0, (target, f"original {target.shape[0]}x{target.shape[1]}\n(held out: "
                                  f"1 pixel in {every}x{every}; 4-neighbour mean "
                                  f"{baseline:.2f} dB)"))
        aspect = target.shape[1] / target.shape[0]
        fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels) * aspect + 0.5, 4))
        for ax, (picture, title) in zip(np.atleast_1d(axes), panels):
            picture = np.clip(picture, 0.0, 1.0)
            ax.imshow(picture[:, :, 0] if picture.shape[2] == 1 else picture, cmap="gray",
                      vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        fig.suptitle(f"{run.name}: INTERIM, the run is still training "
                     f"({time.strftime('%Y-%m-%d')})", color="red", fontsize=10)
        fig.savefig(Path(figures) / f"image_{run.name}_interim.png", dpi=80,
                    bbox_inches="tight")
        plt.close(fig)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="output folders of reproduce image")
    p.add_argument("--images", default=None,
                   help="folder of the pictures the runs were given (interim baseline, figure)")
    p.add_argument("--figures", default=None, help="write or copy the figures here")
    args = p.parse_args(argv)
    print("| picture | model | epochs | train PSNR (dB) | held-out PSNR (dB) | all pixels (dB) "
          "| 4-neighbour mean (dB) | wall / CPU time of training |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for run in args.runs:
        rows = (finished_rows(run, args.figures) if (run / "results.json").is_file()
                else interim_rows(run, args.images, args.figures))
        print("\n".join(rows) if rows else f"| {run.name} | no checkpoint yet | | | | | | |")


if __name__ == "__main__":
    main()
