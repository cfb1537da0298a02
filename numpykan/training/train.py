"""The training loop: batches, optimizer steps, grid-update schedule, history.

One step is::

    loss = model.loss_and_grad(x_batch, y_batch, loss, lamb, lamb_l1, lamb_entropy)
    opt.step()

with, on the steps of the grid-update schedule, ``model.update_grid(x_batch)``
just before. Everything random (batches) comes from one ``seed``, so a run is
reproducible bit for bit.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ..validation import check_target
from .losses import _takes_labels, get_loss
from .optim import get_optimizer
from .progress import Progress

__all__ = ["fit", "grid_update_steps"]


def grid_update_steps(update_grid, grid_update_num, start_grid_update_step, stop_grid_update_step):
    """Steps at which the grid is updated: ``grid_update_num`` evenly spaced in ``[start, stop)``.

    ``start + i * (stop - start) // grid_update_num`` for ``i = 0 .. num - 1``,
    with ``start = -1`` read as 0. With pykan's defaults (start -1, stop 50,
    num 10) these are steps 0, 5, ..., 45, as in pykan; "three updates between
    epoch 1 and epoch 25" is ``start = 1 * spe, stop = 25 * spe, num = 3`` with
    ``spe`` steps per epoch.
    """
    if not update_grid or grid_update_num <= 0:
        return set()
    start = max(int(start_grid_update_step), 0)
    stop = int(stop_grid_update_step)
    if stop <= start:
        return set()
    return {start + i * (stop - start) // grid_update_num for i in range(grid_update_num)}


def _check_dataset(dataset):
    if not hasattr(dataset, "keys"):
        raise TypeError("dataset must be a dict with train_input, train_label, test_input, test_label")
    for key in ("train_input", "train_label"):
        if key not in dataset:
            raise ValueError(f"dataset is missing {key!r} (keys: {sorted(dataset.keys())})")
    n = len(dataset["train_input"])
    if len(dataset["train_label"]) != n:
        raise ValueError(f"dataset train_input has {n} rows but train_label has "
                         f"{len(dataset['train_label'])}")


def _reg_options(reg_metric, lamb_coef, lamb_coefdiff):
    """The regularizer options for ``loss_and_grad``, checked; only those not at their default.

    (So a model without them, an MLP, is called as before unless they are set.)
    """
    from ..validation import check_nonnegative
    from .regmetrics import check_metric
    out = {}
    if reg_metric is not None:
        out["reg_metric"] = check_metric(reg_metric)
    if check_nonnegative(lamb_coef, "lamb_coef"):
        out["lamb_coef"] = float(lamb_coef)
    if check_nonnegative(lamb_coefdiff, "lamb_coefdiff"):
        out["lamb_coefdiff"] = float(lamb_coefdiff)
    return out


def fit(model, dataset, opt="Adam", steps=None, epochs=None, batch=-1, lr=None, loss="mse",
        lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0, update_grid=True, grid_update_num=10,
        start_grid_update_step=-1, stop_grid_update_step=50, grid_eps=None, log=1, seed=0,
        weight_decay=None, verbose=None, callback=None, progress_stream=None,
        log_every_seconds=30.0, reg_metric=None, lamb_coef=0.0, lamb_coefdiff=0.0,
        **opt_kwargs):
    """Train ``model`` on ``dataset`` and return the history.

    Parameters
    ----------
    model : KAN or MLP
    dataset : dict
        ``train_input (N, in)``, ``train_label`` (``(N, out)``, or int ``(N,)`` for ``ce``),
        and optionally ``test_input``, ``test_label``.
    opt : {"Adam", "AdamW", "SGD", "LBFGS"} or an optimizer object
        With L-BFGS each step runs up to ``max_iter`` (default 20) iterations
        with a line search on the same batch; pass ``max_iter=...`` to change it.
    steps : int, optional
        Number of optimizer steps, each on a random batch (drawn without
        replacement within the batch), as pykan does. Default 100 when
        ``epochs`` is not given either.
    epochs : int, optional
        Number of shuffled passes over the training set instead of ``steps``.
    batch : int
        Batch size; ``-1`` for the full training set.
    lr : float, optional
        Default 1e-3, or 1.0 for L-BFGS (whose line search scales the step).
    loss : {"mse", "ce"}
    lamb, lamb_l1, lamb_entropy : float
        Regularization (KAN only; see :meth:`KAN.loss_and_grad`).
    reg_metric : str, optional
        How the regularizer measures an edge (KAN only): ``"paper"``,
        ``"edge_forward_spline_n"`` (pykan's default), ``"edge_forward_spline_u"``,
        ``"edge_forward_sum"``; None is the default of :mod:`numpykan.training.regmetrics`.
    lamb_coef, lamb_coefdiff : float
        pykan's coefficient penalties (KAN only), inside ``lamb``.
    update_grid : bool
        Update the grid from the batch on the schedule of :func:`grid_update_steps`
        (KAN only; ignored for models without ``update_grid``).
    grid_update_num, start_grid_update_step, stop_grid_update_step : int
        The schedule, counted in optimizer steps.
    grid_eps : float, optional
        Passed to ``update_grid`` (default: the model's).
    log : int
        Record the history every ``log`` steps (with ``steps``) or epochs (with ``epochs``).
    seed : int
        Seeds the batch order.
    weight_decay : float, optional
        Passed to the optimizer when given.
    verbose : bool, optional
        Show progress (epoch/step, losses, steps/s, elapsed and time left; see
        :mod:`numpykan.training.progress`) on ``progress_stream``. Default: on
        when that stream is a terminal.
    progress_stream : file-like, optional
        Where the progress goes; default ``sys.stderr``. A terminal gets one
        line redrawn in place; any other stream (a CI log, a file) gets plain
        lines, one per tenth of the run and at least every ``log_every_seconds``.
    log_every_seconds : float, default 30
        See ``progress_stream``.
    callback : callable, optional
        ``callback(step, model, loss)`` after every step.
    **opt_kwargs
        More optimizer arguments (``betas``, ``momentum`` ...).

    Returns
    -------
    dict of lists
        ``step``, ``train_loss`` (mean prediction loss of the batches since the
        last log point, regularization excluded), ``reg`` (mean ``lamb * R``), ``test_loss`` (whole test set), ``time`` (seconds since the
        start); ``train_acc`` and ``test_acc`` for ``ce``.

    Raises
    ------
    FloatingPointError
        When a step makes the loss or the parameters non-finite. The model keeps
        the parameters of the last finite step.
    """
    _check_dataset(dataset)
    get_loss(loss)
    reg_kw = _reg_options(reg_metric, lamb_coef, lamb_coefdiff)
    # validate every array before anything changes
    x_train = model._input(dataset["train_input"], "train_input")
    n = x_train.shape[0]
    y_train = check_target(dataset["train_label"], loss, n, model.width[-1], model.dtype,
                           "train_label")
    has_test = "test_input" in dataset and "test_label" in dataset
    if has_test:
        x_test = model._input(dataset["test_input"], "test_input")
        y_test = check_target(dataset["test_label"], loss, x_test.shape[0], model.width[-1],
                              model.dtype, "test_label")
    is_ce = _takes_labels(loss)
    if steps is not None and epochs is not None:
        raise ValueError(f"give steps or epochs, not both (got steps={steps}, epochs={epochs})")
    batch = n if batch in (-1, None) or batch > n else int(batch)
    if batch < 1:
        raise ValueError(f"batch must be -1 (full batch) or >= 1, got {batch}")
    per_epoch = math.ceil(n / batch)
    if epochs is not None:
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        total = int(epochs) * per_epoch
    else:
        total = 100 if steps is None else int(steps)
        if total < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
    log = int(log)
    if log < 1:
        raise ValueError(f"log must be >= 1, got {log}")
    log_every = log * per_epoch if epochs is not None else log

    if isinstance(opt, str):
        kw = dict(opt_kwargs)
        if weight_decay is not None:
            kw["weight_decay"] = weight_decay
        if lr is None:
            lr = 1.0 if opt.lower() == "lbfgs" else 1e-3
        optimizer = get_optimizer(opt, model.parameters(), lr=lr, **kw)
    else:
        optimizer = opt
    needs_closure = getattr(optimizer, "needs_closure", False)
    can_update = update_grid and hasattr(model, "update_grid")
    schedule = grid_update_steps(can_update, grid_update_num, start_grid_update_step,
                                 stop_grid_update_step)
    stream = sys.stderr if progress_stream is None else progress_stream
    if not hasattr(stream, "write"):
        raise TypeError(f"progress_stream must be a writable stream, got {type(stream).__name__}")
    if verbose is None:
        verbose = Progress(1, stream).terminal
    log_every_seconds = float(log_every_seconds)
    if not log_every_seconds > 0:
        raise ValueError(f"log_every_seconds must be > 0, got {log_every_seconds}")

    rng = np.random.default_rng(seed)
    history = {"step": [], "train_loss": [], "reg": [], "test_loss": [], "time": []}
    if is_ce:
        history.update(train_acc=[], test_acc=[])
    order = None
    sums = dict(loss=0.0, reg=0.0, acc=0.0, count=0)
    t0 = time.perf_counter()
    progress = Progress(total, stream, per_epoch if epochs is not None else None,
                        loss_name="ce" if is_ce else "mse",
                        log_every_seconds=log_every_seconds) if verbose else None

    for step in range(total):
        if epochs is not None:
            pos = step % per_epoch
            if pos == 0:
                order = rng.permutation(n)
            idx = order[pos * batch:(pos + 1) * batch]
        elif batch == n:
            idx = slice(None)
        else:
            idx = rng.choice(n, batch, replace=False)
        xb, yb = x_train[idx], y_train[idx]

        if step in schedule:
            model.update_grid(xb, grid_eps)
            if hasattr(optimizer, "reset_history"):
                optimizer.reset_history()              # L-BFGS curvature pairs are stale now

        def closure():
            return model.loss_and_grad(xb, yb, loss=loss, lamb=lamb, lamb_l1=lamb_l1,
                                       lamb_entropy=lamb_entropy, **reg_kw)

        saved = model.state()
        try:
            if needs_closure:
                value = optimizer.step(closure)        # evaluates the loss itself, many times
            else:
                value = closure()
        except FloatingPointError:
            value = float("nan")
        if not np.isfinite(value):
            model.set_state(saved)
            raise FloatingPointError(f"step {step}: the loss is {value}; stopped, the model keeps "
                                     f"the parameters from before this step")
        if not needs_closure:
            optimizer.step()
        if not all(np.all(np.isfinite(v)) for params, _ in model.parameters() for v in params.values()):
            model.set_state(saved)
            raise FloatingPointError(f"step {step}: the parameters became non-finite (loss was "
                                     f"{value:.6g}); stopped, the model keeps the parameters "
                                     f"before this step (try a smaller lr)")
        if callback is not None:
            callback(step, model, value)

        last = model.last_loss                                 # parts of this step's loss
        sums["loss"] += last["pred"]
        sums["reg"] += last["reg"]
        sums["count"] += 1
        if is_ce:
            sums["acc"] += float(np.mean(last["out"].argmax(axis=1) == last["y"]))

        if (step + 1) % log_every == 0 or step == total - 1:
            c = sums["count"]
            history["step"].append(step + 1)
            history["train_loss"].append(sums["loss"] / c)
            history["reg"].append(sums["reg"] / c)
            history["time"].append(time.perf_counter() - t0)
            if is_ce:
                history["train_acc"].append(sums["acc"] / c)
            if has_test:
                try:
                    ev = model.evaluate(x_test, y_test, loss)
                except FloatingPointError:
                    model.set_state(saved)
                    raise FloatingPointError(
                        f"step {step}: the test outputs became non-finite (train loss was "
                        f"{value:.6g}); stopped, the model keeps the parameters before this "
                        f"step (try a smaller lr)") from None
                history["test_loss"].append(ev["loss"])
                if is_ce:
                    history["test_acc"].append(ev["acc"])
            sums = dict(loss=0.0, reg=0.0, acc=0.0, count=0)
        if progress is not None:
            train = sums["loss"] / sums["count"] if sums["count"] else history["train_loss"][-1]
            progress.update(step + 1, train, history["test_loss"][-1] if history["test_loss"] else None,
                            force=not sums["count"])
    if progress is not None:
        progress.close()
    return history
