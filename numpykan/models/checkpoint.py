"""Checkpoints as ``.npz`` files holding only numeric and string arrays.

A checkpoint holds ``format`` (the string ``"numpykan"``), ``version`` (an int),
``kind`` (``"KAN"`` or ``"MLP"``), ``config`` (a JSON string with the
constructor arguments) and the model's arrays under names such as
``layer0.coef``. It is read with ``allow_pickle=False``, so loading a file never
runs code; a pickled, truncated, foreign or newer file gets a ``ValueError``
that says which.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

__all__ = ["FORMAT", "VERSION", "save_checkpoint", "load_checkpoint"]

FORMAT = "numpykan"
VERSION = 1


def save_checkpoint(path, kind, config, arrays):
    """Write ``arrays`` (dict name -> ndarray) and ``config`` (JSON-able dict) to ``path``.

    The file is written to a temporary name and renamed into place, so an
    interrupted save never leaves a half-written checkpoint behind.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    payload = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "kind": np.array(kind),
        "config": np.array(json.dumps(config, sort_keys=True)),
    }
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype == object:
            raise TypeError(f"checkpoint array {name!r} has dtype object; only numeric arrays are saved")
        payload[name] = a
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path, kind):
    """Read a checkpoint written by :func:`save_checkpoint`; return ``(config, arrays)``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a zip/npz file, truncated, pickled content, not a numpykan file,
        a newer version, or a checkpoint of another kind of model.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":                                # every .npz is a zip archive
        raise ValueError(f"{path!r} is not a numpykan checkpoint: not an .npz (zip) file "
                         f"(it starts with {magic!r})")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(f"{path!r} is not a readable .npz checkpoint (truncated or not a "
                         f"numpykan file): {err}") from None
    except ValueError as err:
        if "pickle" in str(err):
            raise ValueError(f"{path!r} holds pickled objects; numpykan checkpoints contain "
                             f"arrays only and are never unpickled") from None
        raise ValueError(f"{path!r} is not a readable .npz checkpoint: {err}") from None
    for key in ("format", "version", "kind", "config"):
        if key not in arrays:
            raise ValueError(f"{path!r} is not a numpykan checkpoint (no {key!r} entry)")
    if str(arrays.pop("format")) != FORMAT:
        raise ValueError(f"{path!r} is not a numpykan checkpoint")
    version = int(arrays.pop("version"))
    if version > VERSION:
        raise ValueError(f"{path!r} is checkpoint version {version}; this numpykan reads "
                         f"versions <= {VERSION}: upgrade numpykan")
    found = str(arrays.pop("kind"))
    if found != kind:
        raise ValueError(f"{path!r} holds a {found}, not a {kind}; load it with "
                         f"numpykan.{found}.load")
    try:
        config = json.loads(str(arrays.pop("config")))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path!r} has a corrupt config entry: {err}") from None
    return config, arrays


def construct(cls, config, path):
    """``cls(**config)``, with a ``ValueError`` naming the file when the config does not fit."""
    try:
        return cls(**config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"checkpoint {path!r} has an invalid config: {err}") from None


def require(arrays, names, path):
    """Raise a ``ValueError`` naming the first of ``names`` missing from ``arrays``."""
    for name in names:
        if name not in arrays:
            raise ValueError(f"checkpoint {path!r} is missing the array {name!r} (partial file?)")
