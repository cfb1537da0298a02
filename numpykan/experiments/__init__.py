"""Reproduce the experiments of the reference report: ``numpykan reproduce EXPERIMENT``.

Five experiments, each a function that trains, writes its figures, a
``results.json`` and a ``results.md`` into a folder, and returns the results::

    run_xy(out)            # f(x, y) = xy: KAN [2, 5, 1] with and without grid update (Fig. 2)
    run_kan_vs_mlp(out)    # exp(sin(pi x) + y^2): KAN with 120 vs MLP with 121 parameters (Fig. 3)
    run_image(out)         # image: KAN [2,128,128,128,128,1] vs an MLP of equal size (Fig. 4-7)
    run_mnist(out)         # MNIST: KAN [784, 10, 10] vs MLP [784, 10, 10] (Table 1)
    run_poisson(out)       # beyond the report: pykan's Poisson PDE (numpykan.pde)

``quick=True`` shrinks every size so that a run takes a few seconds, offline
(MNIST on :func:`numpykan.standin.mnist_standin` unless data is given); the
numbers of a quick run mean nothing, and its figures and tables say "quick run".

The package: ``common`` (folders, results files, figures, progress), ``registry``
(one entry per experiment and the ``reproduce`` parser), ``toys`` (xy,
kan-vs-mlp), ``image``, ``mnist``, ``poisson`` (its entry only; the experiment
is :func:`numpykan.pde.run_poisson`). The KANs keep the Xavier-uniform base
weights the published runs drew (:data:`REPORT_INIT`), not the library's default.

Choices the report leaves open, fixed here and written into ``results.json``:

- An *epoch* is one shuffled pass over the training set in batches. For the
  two toy functions the batch size is 32 (1000 training points, so 32 optimizer
  steps per epoch). pykan's own ``fit`` is full batch by default, where an
  "epoch" would be a single step; with Adam at lr 5e-4, 50 such steps barely
  move the loss, so we use mini-batches. ``batch=-1`` restores full batch.
- xy grid update: three updates on uniform grids (``grid_eps = 1``) at the
  starts of epochs 1, 9 and 17, i.e. ``start = 1 * spe, stop = 25 * spe,
  grid_update_num = 3`` in optimizer steps (``spe`` = steps per epoch), as
  :func:`numpykan.train.grid_update_steps` spaces them.
- MNIST: batch 64, pixels scaled to [-1, 1], AdamW with weight decay 1e-2
  (PyTorch's default); the KAN updates its grids 10 times in the first epoch
  (on the full run: 94.42% test accuracy with, 93.66% without);
  ``--no-grid-update`` turns them off.
- Image: the picture resized to 256 pixels on its shorter side, batches of 4096
  pixels (12 Adam steps per epoch at 256 x 256), one pixel of every 2 x 2 block
  held out (the held-out PSNR says how well a model fills in between the pixels
  it was trained on); colour pictures fitted as R, G, B (three outputs); the KAN
  updates its grids at the starts of epochs 0, 5, ..., 45 (pykan's 10 updates,
  counted in epochs), without which the inner layers' inputs leave the grids'
  range [-1, 1]. The run writes checkpoints and resumes bit for bit
  (:mod:`numpykan.resumable`).
- kan-vs-mlp: no grid update (the inputs already lie in the grid range [-1, 1]).

The JSON holds, per experiment: ``experiment``, ``config``, ``machine``,
``wall_time_s``, ``per_seed`` (final numbers), ``curves`` (per logged epoch),
``summary``, ``report`` (the report's numbers, where it gives any) and ``files``.
"""

from __future__ import annotations

from .common import DataError, Progress, QUICK_STAMP, REPORT_INIT, default_out, machine_info
from .registry import CLI_OPTIONS, EXPERIMENTS, add_reproduce_parser, positive_int, register
from .toys import exp_sin, kan_candidates, kan_edge_parameters, run_kan_vs_mlp, run_xy, xy
from .image import mlp_hidden_width, mlp_parameters, neighbour_mean, run_image
from .mnist import LR_SCHEDULES, REPORT_MNIST, lr_at, run_mnist
from .poisson import run_poisson

__all__ = ["run_xy", "run_kan_vs_mlp", "run_image", "run_mnist", "run_poisson", "EXPERIMENTS",
           "CLI_OPTIONS", "register", "add_reproduce_parser", "machine_info", "mlp_hidden_width",
           "mlp_parameters", "kan_candidates", "kan_edge_parameters", "lr_at", "LR_SCHEDULES",
           "REPORT_MNIST", "REPORT_INIT", "Progress", "DataError", "default_out", "QUICK_STAMP",
           "neighbour_mean", "positive_int", "xy", "exp_sin"]
