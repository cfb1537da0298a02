"""Long training runs that write checkpoints and resume from them, bit for bit.

:func:`train_epochs` trains a model for a number of epochs, one call of
:func:`numpykan.train.fit` per epoch, and every ``checkpoint_every`` epochs
writes everything the rest of the run depends on into a folder:

- the model (:meth:`KAN.save` / :meth:`MLP.save`: parameters, grids, masks);
- the optimizer's state (:meth:`Optimizer.state_dict`: step counts and moments);
- the state of the run's random generator (it draws each epoch's batch order and
  the grid-update samples);
- the history so far and the number of epochs done.

A run started again with ``resume=True`` reads the newest checkpoint and
continues from the epoch after it. Each epoch depends only on what the checkpoint
holds, so a stopped and resumed run ends with the same model, optimizer state,
random state and history as a run that was never stopped, to the last bit; only
the wall times differ (``history["time"]`` is summed over the sessions).

The checkpoint folder holds ``epoch-NNNNNN.model.npz`` and
``epoch-NNNNNN.state.npz`` and a pointer ``latest.json`` naming them. The pair is
written first and the pointer replaced after (``os.replace``, atomic), so a run
killed while saving leaves the previous checkpoint readable; older pairs are then
deleted. Files hold arrays and JSON text only: nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .optim import get_optimizer

__all__ = ["train_epochs", "read_checkpoint", "CheckpointMismatchError", "CheckpointExistsError"]

POINTER = "latest.json"


class CheckpointMismatchError(ValueError):
    """A checkpoint folder holds a run with other settings than the one asked for."""


class CheckpointExistsError(FileExistsError):
    """A checkpoint folder already holds a run, and resuming was not asked for.

    ``folder`` and ``epoch`` (the epochs that run has done) say which.
    """

    def __init__(self, message, folder, epoch):
        super().__init__(message)
        self.folder, self.epoch = str(folder), int(epoch)


def _atomic_write_text(path, text):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _save(folder, model, optimizer, rng, history, epoch, elapsed, cpu, config):
    """Write the checkpoint of the state after ``epoch`` epochs into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"epoch-{epoch:06d}"
    model_file = Path(model.save(folder / f"{stem}.model.npz")).name
    meta = {"epoch": epoch, "elapsed_s": elapsed, "cpu_s": cpu, "config": config,
            "rng": rng.bit_generator.state, "history": history,
            "model_kind": type(model).__name__}
    state = {f"opt.{key}": np.asarray(v) for key, v in optimizer.state_dict().items()}
    state["meta"] = np.array(json.dumps(meta))
    state_file = f"{stem}.state.npz"
    tmp = folder / (state_file + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **state)
    os.replace(tmp, folder / state_file)
    _atomic_write_text(folder / POINTER, json.dumps({"epoch": epoch, "model": model_file,
                                                     "state": state_file}))
    for old in folder.glob("epoch-*.npz"):                 # keep only the newest pair
        if old.name not in (model_file, state_file):
            old.unlink()


def read_checkpoint(folder):
    """Read the newest checkpoint of ``folder``; return None if it has none.

    Returns
    -------
    dict or None
        ``{"epoch", "model_path", "meta", "optimizer"}``: the epochs done, the model
        file (load it with ``KAN.load`` / ``MLP.load``, as ``meta["model_kind"]``
        says), the run's metadata (config, random state, history, elapsed seconds)
        and the optimizer's ``state_dict``.

    Raises
    ------
    ValueError
        The pointer or a file it names is missing or unreadable.
    """
    folder = Path(folder)
    pointer = folder / POINTER
    if not pointer.is_file():
        return None
    try:
        ptr = json.loads(pointer.read_text())
        with np.load(folder / ptr["state"], allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"checkpoint in {folder} is unreadable ({err}); delete the folder "
                         "to start over") from None
    model_path = folder / ptr["model"]
    if not model_path.is_file():
        raise ValueError(f"checkpoint in {folder} names {ptr['model']}, which is missing; "
                         "delete the folder to start over")
    optimizer = {key[len("opt."):]: v for key, v in arrays.items() if key.startswith("opt.")}
    return {"epoch": int(ptr["epoch"]), "model_path": model_path, "meta": meta,
            "optimizer": optimizer}


def _differences(saved, wanted, prefix=""):
    """``["key: saved a, now b", ...]`` for the entries where two JSON-like dicts differ."""
    out = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: saved {a!r}, now {b!r}")
    return out


def train_epochs(model, dataset, epochs, batch=-1, opt="Adam", lr=1e-3, loss="mse", seed=0,
                 checkpoint=None, checkpoint_every=10, resume=False, grid_update_epochs=(),
                 evaluate=None, eval_every=1, progress=None, config=None, opt_kwargs=None):
    """Train ``model`` for ``epochs`` epochs with checkpoints; resume a stopped run exactly.

    Epoch ``e`` (0-based) does, in this order: a grid update from ``batch`` training
    points drawn from the run's generator if ``e`` is in ``grid_update_epochs`` (KAN
    only); one shuffled pass over the training set in batches of ``batch``
    (``fit(epochs=1, seed=s_e, update_grid=False)`` with the optimizer kept across
    epochs and ``s_e`` the generator's next 63-bit integer); ``evaluate(model)`` when
    ``e + 1`` is a multiple of ``eval_every`` or the last epoch; a checkpoint when
    ``e + 1`` is a multiple of ``checkpoint_every`` or the last epoch; then
    ``progress(e + 1, epochs, info)``.

    Parameters
    ----------
    model : KAN or MLP
        The freshly built model (its parameters are replaced by the checkpoint's
        when resuming).
    dataset : dict
        ``train_input``, ``train_label``; a test split is not used (put the
        held-out measures into ``evaluate``).
    epochs : int
        Total number of epochs of the run, >= 1.
    batch, opt, lr, loss : as in :func:`numpykan.train.fit`
        ``opt`` is a name (``"Adam"``, ``"AdamW"``, ``"SGD"``); ``opt_kwargs`` more
        optimizer arguments.
    seed : int
        Seeds the run's generator (batch orders and grid-update samples).
    checkpoint : str or path-like, optional
        Folder of the checkpoints; None: no checkpoints (and no resuming).
    checkpoint_every : int
        Epochs between checkpoints, >= 1. The last epoch is always saved.
    resume : bool
        Continue from the newest checkpoint in ``checkpoint`` if there is one.
        Without it an existing checkpoint is an error (nothing is overwritten).
    grid_update_epochs : iterable of int
        Epochs that start with a grid update.
    evaluate : callable, optional
        ``evaluate(model) -> dict`` of floats, recorded in ``history["eval"]``.
    eval_every : int
        Epochs between evaluations, >= 1.
    progress : callable, optional
        ``progress(epochs_done, epochs, info)`` after every epoch; ``info`` holds
        ``train_loss``, ``seconds`` (this epoch), ``elapsed`` (the run so far), the
        last evaluation ``eval`` and ``resumed_from`` (epochs found in the checkpoint).
    config : dict, optional
        JSON-able settings of the run, stored in the checkpoint; resuming with a
        different config raises :class:`CheckpointMismatchError` naming the differences.

    Returns
    -------
    (model, history, optimizer)
        ``model`` is the trained model: a new object when it was read from a
        checkpoint. ``history``: ``epoch``, ``train_loss`` (mean batch loss of each
        epoch), ``time`` (training seconds so far, wall clock, summed over sessions;
        evaluations excluded), ``cpu_time`` (the same in CPU seconds of the process, all
        threads: on a shared machine it says what the run cost), ``eval_epoch`` and ``eval`` (name -> list, one entry per evaluation),
        ``grid_update_epochs``, ``resumed_from`` (list of the epochs at which a session
        started from a checkpoint).

    Raises
    ------
    CheckpointMismatchError
        The checkpoint was written with another config.
    CheckpointExistsError
        (a ``FileExistsError``) A checkpoint exists and ``resume`` is False.
    """
    for name, v, lo in (("epochs", epochs, 1), ("checkpoint_every", checkpoint_every, 1),
                        ("eval_every", eval_every, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    config = {} if config is None else json.loads(json.dumps(config))
    grid_epochs = sorted({int(e) for e in grid_update_epochs})
    opt_kwargs = dict(opt_kwargs or {})
    folder = None if checkpoint is None else Path(checkpoint)
    x_train = np.asarray(dataset["train_input"])
    n = x_train.shape[0]
    train_only = {"train_input": dataset["train_input"], "train_label": dataset["train_label"]}

    rng = np.random.default_rng(seed)
    history = {"epoch": [], "train_loss": [], "time": [], "cpu_time": [], "eval_epoch": [],
               "eval": {}, "grid_update_epochs": grid_epochs, "resumed_from": []}
    start, elapsed, cpu, opt_state = 0, 0.0, 0.0, None
    found = read_checkpoint(folder) if folder is not None else None
    if found is not None:
        if not resume:
            raise CheckpointExistsError(f"{folder} holds a checkpoint after epoch "
                                        f"{found['epoch']}; resume it (resume=True), or use "
                                        "another folder to start over", folder, found["epoch"])
        diff = _differences(found["meta"]["config"], config)
        if diff:
            raise CheckpointMismatchError(f"the checkpoint in {folder} is of another run: "
                                          + "; ".join(diff))
        kind = found["meta"]["model_kind"]
        if kind != type(model).__name__:
            raise CheckpointMismatchError(f"the checkpoint in {folder} holds a {kind}, "
                                          f"not a {type(model).__name__}")
        model = type(model).load(found["model_path"])
        rng.bit_generator.state = found["meta"]["rng"]
        history = found["meta"]["history"]
        start, elapsed = found["epoch"], float(found["meta"]["elapsed_s"])
        cpu = float(found["meta"].get("cpu_s", 0.0))
        history["resumed_from"].append(start)
        opt_state = found["optimizer"]

    optimizer = get_optimizer(opt, model.parameters(), lr=lr, **opt_kwargs)
    if opt_state is not None:
        optimizer.load_state_dict(opt_state)
    last_eval = ({name: values[-1] for name, values in history["eval"].items()}
                 if history["eval_epoch"] else None)
    if start == epochs and found is not None and progress is not None:
        progress(epochs, epochs, {"train_loss": history["train_loss"][-1], "seconds": 0.0,
                                  "elapsed": elapsed, "eval": last_eval, "resumed_from": start})

    for e in range(start, epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        if e in grid_epochs and hasattr(model, "update_grid"):
            idx = np.sort(rng.choice(n, min(n, n if batch in (-1, None) else int(batch)),
                                     replace=False))
            model.update_grid(x_train[idx])
        epoch_seed = int(rng.integers(0, 2 ** 63 - 1))
        h = model.fit(train_only, opt=optimizer, epochs=1, batch=batch, loss=loss,
                      update_grid=False, log=1, seed=epoch_seed, verbose=False)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        cpu += time.process_time() - c0
        history["epoch"].append(e + 1)
        history["train_loss"].append(float(h["train_loss"][-1]))
        history["time"].append(round(elapsed, 3))
        history["cpu_time"].append(round(cpu, 3))
        if evaluate is not None and ((e + 1) % eval_every == 0 or e + 1 == epochs):
            last_eval = {name: float(v) for name, v in evaluate(model).items()}
            history["eval_epoch"].append(e + 1)
            for name, v in last_eval.items():
                history["eval"].setdefault(name, []).append(v)
        if folder is not None and ((e + 1) % checkpoint_every == 0 or e + 1 == epochs):
            _save(folder, model, optimizer, rng, history, e + 1, elapsed, cpu, config)
        if progress is not None:
            progress(e + 1, epochs, {"train_loss": history["train_loss"][-1],
                                     "seconds": seconds, "elapsed": elapsed, "eval": last_eval,
                                     "resumed_from": start})
    return model, history, optimizer
