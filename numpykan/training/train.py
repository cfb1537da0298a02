"""The training loop: batches, optimizer steps, grid-update schedule, history.

One step is::

    loss = model.loss_and_grad(x_batch, y_batch, loss, lamb, lamb_l1, lamb_entropy)
    opt.step()

with, on the steps of the grid-update schedule, ``model.update_grid(x_batch)``
just before. Everything random (batches) comes from one ``seed``, so a run is
reproducible bit for bit.

A step is a transaction (:mod:`numpykan.training.transaction`): the grid
update, forward, backward, optimizer update and step counters all happen, or,
under an exception, a ``KeyboardInterrupt`` or a value the divergence guard
refuses, none does. The guard stops a run whose loss is not finite or grows
past ``max_loss_growth`` times its scale, or whose parameters or optimizer
state become non-finite; the model and the optimizer then go back to the last
state whose loss was accepted.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import sys
import time

import numpy as np

from ..splines.grids import _check_int
from ..validation import check_nonnegative, check_positive, check_real, check_target
from .losses import _takes_labels, get_loss, loss_name
from .optim import _OPTIMIZERS, get_optimizer
from .progress import Progress
from .regmetrics import check_metric
from .transaction import StepSnapshots

__all__ = ["fit", "grid_update_steps", "FIT_RENAMED"]

#: keywords fit does not take, with what to use instead: pykan's names, mostly.
#: A new entry is one line; fit's message quotes it.
FIT_RENAMED = {
    "loss_fn": "pykan's loss_fn is numpykan's loss=: a name ('mse', 'ce') or a callable "
               "loss(y_pred, y) -> (value, dL/dy_pred) (no autograd: the callable returns its "
               "gradient too)",
    "metrics": "not supported; the history has train_loss, test_loss (and train_rmse, "
               "test_rmse for mse; train_acc, test_acc for ce); compute more in "
               "callback(step, model, loss)",
    "display_metrics": "not supported; verbose=True shows the losses, steps/s and the time left",
    "save_fig": "not supported; draw with model.plot(path) in callback(step, model, loss)",
    "save_fig_freq": "not supported; draw with model.plot(path) in callback(step, model, loss)",
    "img_folder": "not supported; draw with model.plot(path) in callback(step, model, loss)",
    "in_vars": "not supported in fit; model.plot(in_vars=...) takes it",
    "out_vars": "not supported in fit; model.plot(out_vars=...) takes it",
    "beta": "not supported in fit; model.plot(beta=...) takes it",
    "singularity_avoiding": "not supported: numpykan's symbolic edges use their formulas as given",
    "y_th": "not supported: numpykan's symbolic edges use their formulas as given",
}


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
    if ("test_input" in dataset) != ("test_label" in dataset):
        have, missing = ("test_input", "test_label") if "test_input" in dataset else \
            ("test_label", "test_input")
        raise ValueError(f"dataset has {have!r} but no {missing!r}: give both or neither")
    n = len(dataset["train_input"])
    if len(dataset["train_label"]) != n:
        raise ValueError(f"dataset train_input has {n} rows but train_label has "
                         f"{len(dataset['train_label'])}")


def _reg_options(model, reg_metric, lamb_coef, lamb_coefdiff):
    """The regularizer options for ``loss_and_grad``, checked; only those not at their default.

    (So a model without them, an MLP, is called as before unless they are set;
    for such a model, setting them is refused here, before anything changes.)
    """
    out = {}
    if reg_metric is not None:
        out["reg_metric"] = check_metric(reg_metric)
    if check_nonnegative(lamb_coef, "lamb_coef"):
        out["lamb_coef"] = float(lamb_coef)
    if check_nonnegative(lamb_coefdiff, "lamb_coefdiff"):
        out["lamb_coefdiff"] = float(lamb_coefdiff)
    if out and not hasattr(model, "regularization"):
        raise ValueError(f"{', '.join(out)} must be left at the default for a "
                         f"{type(model).__name__} (no edge activations to regularize)")
    return out


def _unknown_keywords(unknown, opt):
    """The TypeError for keywords fit does not take: a pykan name, an optimizer option, a typo."""
    name = sorted(unknown)[0]
    msg = f"fit() got an unexpected keyword argument {name!r}"
    owners = [c.__name__ for c in dict.fromkeys(_OPTIMIZERS.values())
              if name in set(inspect.signature(c.__init__).parameters) - {"self", "parameters"}]
    if name in FIT_RENAMED:
        msg += f": {FIT_RENAMED[name]}"
    elif owners:
        chosen = opt if isinstance(opt, str) else type(opt).__name__
        of = chosen if chosen.lower() in (o.lower() for o in owners) else " and ".join(owners)
        msg += (f": it is an option of {of}; optimizer options go in opt_kwargs, "
                f"e.g. fit(..., opt={of.split(' ')[0]!r}, opt_kwargs={{{name!r}: ...}})")
    else:
        known = list(inspect.signature(fit).parameters)[2:-1]
        close = difflib.get_close_matches(name, known + list(FIT_RENAMED), n=1, cutoff=0.6)
        if close:
            msg += f"; did you mean {close[0]!r}?"
    if len(unknown) > 1:
        msg += f" (also unexpected: {', '.join(repr(k) for k in sorted(unknown)[1:])})"
    return TypeError(msg)


class _Refused(Exception):
    """A step the divergence guard refuses: ``message`` for the user, ``back`` steps to go back."""

    def __init__(self, message, back):
        super().__init__(message)
        self.message, self.back = message, back


def _optional(value, check, name, *args):
    return None if value is None else check(value, name, *args)


def _make_optimizer(model, opt, lr, weight_decay, opt_kwargs):
    """The optimizer fit will use, checked against the model; nothing of the model changes."""
    pairs = model.parameters()
    if isinstance(opt, str):
        if opt_kwargs is not None and not (isinstance(opt_kwargs, dict)
                                           and all(isinstance(k, str) for k in opt_kwargs)):
            raise TypeError(f"opt_kwargs must be a dict of optimizer options, got {opt_kwargs!r}")
        kw = dict(opt_kwargs or {})
        for key in ("lr", "weight_decay"):
            if key in kw:
                raise ValueError(f"opt_kwargs must not hold {key!r}: pass fit(..., {key}=...)")
        if weight_decay is not None:
            kw["weight_decay"] = weight_decay
        if lr is None:
            lr = 1.0 if opt.lower() == "lbfgs" else 1e-3
        return get_optimizer(opt, pairs, lr=lr, **kw)
    for arg, value in (("lr", lr), ("weight_decay", weight_decay), ("opt_kwargs", opt_kwargs)):
        if value is not None:
            raise ValueError(f"{arg} applies when opt is a name; set it on the optimizer object "
                             f"you pass (e.g. Adam(model.parameters(), {arg}=...))")
    needed = ("groups", "step", "snapshot", "restore")
    if not all(hasattr(opt, a) for a in needed):
        raise TypeError(f"opt must be a name ('Adam', 'AdamW', 'SGD', 'LBFGS') or an optimizer "
                        f"with {', '.join(needed)} (numpykan's SGD, Adam, AdamW, LBFGS), "
                        f"got {type(opt).__name__}")
    mine = {(id(p), id(g)) for p, g in pairs}
    for i, (p, g) in enumerate(opt.groups):
        if (id(p), id(g)) not in mine:
            raise ValueError(f"opt's parameter group {i} is not one of this model's "
                             f"(params, grads) dicts: the optimizer was built on another model "
                             f"(or before a refine/prune/load made new dicts); build it with "
                             f"opt={type(opt).__name__}(model.parameters(), ...)")
    if not opt.groups:
        raise ValueError("opt has no parameter groups: build it with model.parameters()")
    return opt


def fit(model, dataset, opt="Adam", steps=None, epochs=None, batch=-1, lr=None, loss="mse",
        lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0, update_grid=True, grid_update_num=10,
        start_grid_update_step=-1, stop_grid_update_step=50, grid_eps=None, log=1, seed=0,
        weight_decay=None, opt_kwargs=None, max_loss_growth=1e6, verbose=None, callback=None,
        reg_metric=None, lamb_coef=0.0, lamb_coefdiff=0.0, progress_stream=None,
        log_every_seconds=30.0, **unknown):
    """Train ``model`` on ``dataset`` and return the history.

    Every argument is checked before anything changes; a keyword fit does not
    take is refused with a ``TypeError`` that suggests the one meant (pykan's
    names included: ``loss_fn`` is ``loss``; see ``FIT_RENAMED``).

    Parameters
    ----------
    model : KAN or MLP
    dataset : dict
        ``train_input (N, in)``, ``train_label`` (``(N, out)``, or int ``(N,)`` for ``ce``),
        and optionally both ``test_input`` and ``test_label``.
    opt : {"Adam", "AdamW", "SGD", "LBFGS"} or an optimizer object
        An object must have been built on this model's ``parameters()``
        (else ``ValueError``). With L-BFGS each step runs up to ``max_iter``
        (default 20) iterations with a line search on the same batch; pass
        ``opt_kwargs={"max_iter": ...}`` to change it.
    steps : int >= 0, optional
        Number of optimizer steps, each on a random batch (drawn without
        replacement within the batch), as pykan does. Default 100 when
        ``epochs`` is not given either.
    epochs : int >= 1, optional
        Number of shuffled passes over the training set instead of ``steps``.
    batch : int
        Batch size, ``>= 1``; ``-1`` (or None) for the full training set.
    lr : float > 0, optional
        Default 1e-3, or 1.0 for L-BFGS (whose line search scales the step).
        Only with an optimizer name.
    loss : {"mse", "ce"} or callable
        Or ``loss(y_pred, y) -> (value, dL/dy_pred)``: ``value`` a real number,
        ``dL/dy_pred`` an array shaped like ``y_pred``; what it returns is
        checked at every call (:func:`numpykan.losses.user_loss`), and its
        targets are passed as given (floats cast to the model's dtype).
    lamb, lamb_l1, lamb_entropy : float >= 0
        Regularization (KAN only; see :meth:`KAN.loss_and_grad`).
    reg_metric : str, optional
        How the regularizer measures an edge (KAN only): ``"paper"``,
        ``"edge_forward_spline_n"`` (pykan's default), ``"edge_forward_spline_u"``,
        ``"edge_forward_sum"``; None is the default of :mod:`numpykan.training.regmetrics`.
    lamb_coef, lamb_coefdiff : float >= 0
        pykan's coefficient penalties (KAN only), inside ``lamb``.
    update_grid : bool
        Update the grid from the batch on the schedule of :func:`grid_update_steps`
        (KAN only; ignored for models without ``update_grid``). A grid is
        placed from at least 2 samples: a scheduled update that meets a batch
        of one row (the last batch of an epoch, e.g. 1000 rows with
        ``batch=333``) waits for the next step's batch; ``batch=1`` with a
        non-empty schedule is refused.
    grid_update_num : int >= 0
    start_grid_update_step, stop_grid_update_step : int
        The schedule, counted in optimizer steps.
    grid_eps : float in [0, 1], optional
        Passed to ``update_grid`` (default: the model's).
    log : int >= 1
        Record the history every ``log`` steps (with ``steps``) or epochs (with ``epochs``).
    seed : int >= 0 or None
        Seeds the batch order.
    weight_decay : float >= 0, optional
        Passed to the optimizer (with an optimizer name). It has its own
        argument because AdamW is used with it most of the time.
    opt_kwargs : dict, optional
        Other options of the named optimizer: ``{"betas": (0.9, 0.99)}``,
        ``{"momentum": 0.9}`` for SGD, ``{"max_iter": 5}`` for L-BFGS.
    max_loss_growth : float >= 1 or None, default 1e6
        The divergence bound: stop when a step's loss exceeds
        ``max_loss_growth * L_ref``, where ``L_ref`` is the larger of the first
        step's loss and the loss of an all-zero output on the training set
        (the scale of the targets: ``mean(y^2)`` for ``mse``, ``log C`` for
        ``ce``); no bound when both are 0, or with None.
    verbose : bool, optional
        Show progress (epoch/step, losses, steps/s, elapsed and time left; see
        :mod:`numpykan.training.progress`) on ``progress_stream``. Default: on
        when that stream is a terminal.
    callback : callable, optional
        ``callback(step, model, loss)`` after every completed step. If it
        changes the model, the change is part of the state the next step
        starts from (and would go back to).
    progress_stream : file-like, optional
        Where the progress goes; default ``sys.stderr``. A terminal gets one
        line redrawn in place; any other stream (a CI log, a file) gets plain
        lines, one per tenth of the run and at least every ``log_every_seconds``.
    log_every_seconds : float > 0, default 30
        See ``progress_stream``.

    Returns
    -------
    dict of lists, one entry per log point
        ``step``: steps done. ``train_loss``: the mean prediction loss of
        the batches since the previous log point (MSE for ``mse``, mean
        cross-entropy for ``ce``, the callable's value), regularization
        excluded. ``reg``: the mean of ``lamb * R`` over the same batches.
        ``test_loss``: the prediction loss on the whole test set. For
        ``mse`` also ``train_rmse = sqrt(train_loss)`` and ``test_rmse =
        sqrt(test_loss)`` (what pykan reports as its losses); for ``ce``
        ``train_acc`` and ``test_acc``. ``time``: seconds since the start.

    Raises
    ------
    TypeError, ValueError
        For a bad argument, before anything changed.
    FloatingPointError
        When the guard stops the run (the message names the step and the
        loss): the loss is not finite or exceeds the ``max_loss_growth`` bound
        (the model and the optimizer go back to the state before the
        previous step, the last whose loss was accepted; with L-BFGS, whose
        loss is that after its update, to the state before this step), or the
        parameters, the optimizer state or the test outputs become non-finite
        (back to the state before this step). The history so far is the
        exception's ``history`` attribute.
    KeyboardInterrupt, or any exception of a step
        The step is undone: the model and the optimizer are as before it.
    """
    if unknown:
        raise _unknown_keywords(unknown, opt)
    # -- every check, before anything changes ----------------------------------------
    _check_dataset(dataset)
    get_loss(loss)
    x_train = model._input(dataset["train_input"], "train_input")
    n = x_train.shape[0]
    y_train = check_target(dataset["train_label"], loss, n, model.width[-1], model.dtype,
                           "train_label")
    has_test = "test_input" in dataset
    if has_test:
        x_test = model._input(dataset["test_input"], "test_input")
        y_test = check_target(dataset["test_label"], loss, x_test.shape[0], model.width[-1],
                              model.dtype, "test_label")
    is_ce, is_mse = _takes_labels(loss), loss_name(loss) == "mse"
    if steps is not None and epochs is not None:
        raise ValueError(f"give steps or epochs, not both (got steps={steps}, epochs={epochs})")
    steps = _optional(steps, _check_int, "steps", 0)
    epochs = _optional(epochs, _check_int, "epochs", 1)
    batch = n if batch is None or (not isinstance(batch, bool) and batch == -1) \
        else _check_int(batch, "batch", 1)
    batch = min(batch, n)
    per_epoch = math.ceil(n / batch)
    total = epochs * per_epoch if epochs is not None else 100 if steps is None else steps
    log = _check_int(log, "log", 1)
    log_every = log * per_epoch if epochs is not None else log
    lamb = check_nonnegative(lamb, "lamb")
    lamb_l1 = check_nonnegative(lamb_l1, "lamb_l1")
    lamb_entropy = check_nonnegative(lamb_entropy, "lamb_entropy")
    if lamb and not hasattr(model, "regularization"):
        raise ValueError(f"lamb must be 0 for a {type(model).__name__} (no edge activations to "
                         f"regularize), got {lamb}")
    reg_kw = _reg_options(model, reg_metric, lamb_coef, lamb_coefdiff)
    if not isinstance(update_grid, (bool, np.bool_)):
        raise TypeError(f"update_grid must be True or False, got {update_grid!r}")
    grid_update_num = _check_int(grid_update_num, "grid_update_num", 0)
    start_grid_update_step = _check_int(start_grid_update_step, "start_grid_update_step", -1)
    stop_grid_update_step = _check_int(stop_grid_update_step, "stop_grid_update_step", -1)
    if grid_eps is not None:
        from ..models.layer import check_grid_eps
        grid_eps = check_grid_eps(grid_eps)
    if seed is not None:
        seed = _check_int(seed, "seed", 0)
    weight_decay = _optional(weight_decay, check_nonnegative, "weight_decay")
    lr = _optional(lr, check_positive, "lr")
    if max_loss_growth is not None:
        max_loss_growth = check_real(max_loss_growth, "max_loss_growth")
        if max_loss_growth < 1:
            raise ValueError(f"max_loss_growth must be >= 1 (or None), got {max_loss_growth}")
    if verbose is not None and not isinstance(verbose, (bool, np.bool_)):
        raise TypeError(f"verbose must be True, False or None, got {verbose!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(step, model, loss), got {type(callback).__name__}")
    stream = sys.stderr if progress_stream is None else progress_stream
    if not hasattr(stream, "write"):
        raise TypeError(f"progress_stream must be a writable stream, got {type(stream).__name__}")
    if isinstance(log_every_seconds, bool) or not isinstance(log_every_seconds, numbers.Real) \
            or not log_every_seconds > 0:
        raise ValueError(f"log_every_seconds must be a number > 0, got {log_every_seconds!r}")
    optimizer = _make_optimizer(model, opt, lr, weight_decay, opt_kwargs)
    needs_closure = getattr(optimizer, "needs_closure", False)
    can_update = bool(update_grid) and hasattr(model, "update_grid")
    schedule = grid_update_steps(can_update, grid_update_num, start_grid_update_step,
                                 stop_grid_update_step)
    schedule = {s for s in schedule if s < total}
    if schedule and batch < 2:
        raise ValueError(f"a grid update places the knots from the batch, which needs at least 2 "
                         f"rows; got batch={batch} (pass update_grid=False, or a larger batch)")
    fn = get_loss(loss, checked=False)
    zero = np.zeros((n, model.width[-1]), dtype=model.dtype)   # the loss of an all-zero output:
    zero_loss, _ = fn(zero, y_train)                           # the scale of the targets
    if verbose is None:
        verbose = Progress(1, stream).terminal
    snaps = StepSnapshots(model, optimizer, grids=0 in schedule)
    if not snaps.finite():
        raise ValueError("the model's parameters or the optimizer's state are not finite "
                         "before training")

    # -- the steps --------------------------------------------------------------------
    rng = np.random.default_rng(seed)
    history = {"step": [], "train_loss": [], "reg": [], "test_loss": [], "time": []}
    if is_mse:
        history.update(train_rmse=[], test_rmse=[])
    if is_ce:
        history.update(train_acc=[], test_acc=[])
    order = None
    sums = dict(loss=0.0, reg=0.0, acc=0.0, count=0)
    bound = math.inf
    pending = False                                    # a scheduled grid update waiting for a batch
    t0 = time.perf_counter()
    progress = Progress(total, stream, per_epoch if epochs is not None else None,
                        loss_name=loss_name(loss),
                        log_every_seconds=log_every_seconds) if verbose else None

    def stop(message, back):
        gone = snaps.restore(back)
        where = "this step" if gone == 0 else "the previous step"
        err = FloatingPointError(f"step {step}: {message}; stopped, the model and the optimizer "
                                 f"are back at the state before {where}")
        err.history = history
        return err

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
        pending = pending or step in schedule
        regrid = pending and xb.shape[0] >= 2

        def closure():
            return model.loss_and_grad(xb, yb, loss=loss, lamb=lamb, lamb_l1=lamb_l1,
                                       lamb_entropy=lamb_entropy, **reg_kw)

        try:                                           # the step: all of it, or none of it
            try:
                if regrid:
                    model.update_grid(xb, grid_eps)
                    if hasattr(optimizer, "reset_history"):
                        optimizer.reset_history()      # L-BFGS curvature pairs are stale now
                value = optimizer.step(closure) if needs_closure else closure()
                why = None
            except FloatingPointError as err:          # non-finite outputs or loss
                value, why = math.nan, str(err)
            if not (math.isfinite(value) and value <= bound):
                raise _Refused(f"the loss is not finite ({why})" if why else
                               f"the loss is {value}" if not math.isfinite(value) else
                               f"the loss {value:.6g} exceeds max_loss_growth * L_ref = {bound:.6g}",
                               back=0 if needs_closure else 1)
            if step == 0 and max_loss_growth is not None:
                ref = max(value, zero_loss)
                bound = max_loss_growth * ref if ref > 0 else math.inf
            if not needs_closure:
                optimizer.step()
            if not snaps.commit(grids=step + 1 in schedule or (pending and not regrid)):
                raise _Refused(f"the parameters or the optimizer state became non-finite (the "
                               f"loss was {value:.6g}; try a smaller lr)", back=0)
        except _Refused as refused:
            raise stop(refused.message, refused.back) from None
        except BaseException:
            snaps.restore(0)
            raise
        pending = pending and not regrid
        # -- the step is done; what follows only reads it ------------------------------
        if callback is not None:
            callback(step, model, value)
            snaps.retake(grids=step + 1 in schedule or pending)

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
            if is_mse:
                history["train_rmse"].append(math.sqrt(history["train_loss"][-1]))
            if is_ce:
                history["train_acc"].append(sums["acc"] / c)
            if has_test:
                try:
                    ev = model.evaluate(x_test, y_test, loss)
                except FloatingPointError:
                    for key in history:
                        del history[key][len(history["step"]) - 1:]
                    raise stop(f"the test outputs became non-finite (the train loss was "
                               f"{value:.6g}; try a smaller lr)", back=1) from None
                history["test_loss"].append(ev["loss"])
                if is_mse:
                    history["test_rmse"].append(math.sqrt(ev["loss"]))
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
