"""Checkpoints as ``.npz`` files holding only numeric and string arrays.

A checkpoint holds ``format`` (the string ``"numpykan"``), ``version`` (an int),
``kind`` (``"KAN"`` or ``"MLP"``), ``config`` (a JSON string with the
constructor arguments) and the model's arrays under names such as
``layer0.coef``. Loading never runs code and never trusts a size it has not
checked against the file:

1. the path must be a regular file (a FIFO or a directory is refused without
   blocking); it is read once, into memory;
2. every zip member is checked before it is read: not encrypted, stored or
   deflated (no other compression method), a plain ``name.npy`` (no folders,
   no duplicates), a declared size within what its compressed bytes can hold;
3. every ``.npy`` header is parsed without pickle and checked before its data
   is allocated: a dtype numpykan writes (float32/float64, int64, unicode;
   little-endian), a declared shape whose byte count equals the member's size;
4. every float value is finite;
5. the config is bounded against the arrays (a model no larger than the file
   describes) before the model is built, and each array must have exactly the
   shape and the dtype of the model it fills (a float64 grid does not go into
   a float32 model), masks hold only 0 and 1, and no member is left unused.

Anything else gets a ``ValueError`` that names the file and the member.
Saving writes a unique temporary file in the target's folder and renames it
into place (atomic on POSIX), so a failed or concurrent save never leaves a
half-written checkpoint under the path.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib

import numpy as np

__all__ = ["FORMAT", "VERSION", "save_checkpoint", "load_checkpoint", "load_kan", "load_mlp"]

FORMAT = "numpykan"
VERSION = 1

#: deflate cannot expand data more than about 1032 : 1; a member declaring more is a lie
_MAX_RATIO = 1032
#: the dtypes numpykan writes (little-endian, as ``np.save`` on these machines writes them)
_FLOATS = (np.dtype("<f8"), np.dtype("<f4"))
_INTS = (np.dtype("<i8"),)
_HEADER = ("format", "version", "kind", "config")


def _fspath(path, name="path"):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a str or a path-like object, got "
                        f"{type(path).__name__}") from None


def _regular_or_absent(path):
    """Raise ``ValueError`` if ``path`` exists and is not a regular file (a directory, FIFO, device)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        what = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "not a regular file")
        raise ValueError(f"path {path!r} is {what}: a checkpoint is a regular .npz file")
    return True


def save_checkpoint(path, kind, config, arrays):
    """Write ``arrays`` (dict name -> ndarray) and ``config`` (JSON-able dict) to ``path``.

    The file is written to a temporary name unique to this call, in the same
    folder, and renamed into place, so an interrupted or failed save never
    leaves a half-written checkpoint behind, the old file survives it, and two
    saves to one path never share a temporary file (the last rename wins).
    A ``path`` that is a directory or a FIFO is refused with a ``ValueError``.
    """
    path = _fspath(path)
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
    existed = _regular_or_absent(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode) if existed else _new_file_mode())
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _new_file_mode():
    """The mode ``open(path, "w")`` would give a new file: ``0o666`` less the umask.

    (``mkstemp`` creates its file ``0o600``.) The umask is read from
    ``/proc/self/status`` where there is one, since setting it to read it is
    not thread-safe; elsewhere ``0o644``.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _read_file(path):
    """The bytes of the regular file ``path``; never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path!r}") from None
    except IsADirectoryError:
        raise ValueError(f"path {path!r} is a directory: a checkpoint is a regular .npz file") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            _regular_or_absent(path)                           # raises, saying what it is
            raise ValueError(f"path {path!r} is not a regular file")
        return fh.read()


def _bad(path, member, why):
    return ValueError(f"{path!r} is not a valid numpykan checkpoint: member {member!r} {why}")


def _check_members(zf, path, size):
    """Every zip member's features and declared size, before any is read."""
    seen, total = set(), 0
    for info in zf.infolist():
        name = info.filename
        if info.flag_bits & 0x1:
            raise _bad(path, name, "is encrypted (numpykan never writes encrypted members)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _bad(path, name, f"uses compression method {info.compress_type} "
                                   "(only stored and deflated are read)")
        if not name.endswith(".npy") or "/" in name or "\\" in name or name.startswith("."):
            raise _bad(path, name, "is not a plain .npy array (checkpoints hold arrays only)")
        if name in seen:
            raise _bad(path, name, "appears twice")
        seen.add(name)
        limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
            _MAX_RATIO * info.compress_size + 1024
        if info.file_size > limit or info.compress_size > size:
            raise _bad(path, name, f"declares {info.file_size} bytes, more than its "
                                   f"{info.compress_size} stored bytes can hold")
        total += info.file_size
    if total > _MAX_RATIO * size + 1024 * len(seen):
        raise ValueError(f"{path!r} declares {total} bytes of arrays in a {size}-byte file")


def _read_member(zf, info, path):
    """One member as an ndarray: header parsed (no pickle) and checked before the data is allocated."""
    name = info.filename
    with zf.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"npy format version {version} (numpykan writes 1.0 and 2.0)")
        except ValueError as err:
            raise _bad(path, name, f"has no valid .npy header ({err})") from None
        header = fh.tell()
        if dtype.hasobject:
            raise _bad(path, name, "holds pickled objects; numpykan checkpoints contain arrays "
                                   "only and are never unpickled")
        if not (dtype in _FLOATS or dtype in _INTS or (dtype.kind == "U" and dtype.byteorder in "<="
                                                       and dtype.itemsize <= 4 * (1 << 20))):
            raise _bad(path, name, f"has dtype {dtype.str} (a checkpoint holds float32/float64, "
                                   "int64 and strings)")
        if not all(isinstance(s, int) and s >= 0 for s in shape) or len(shape) > 8:
            raise _bad(path, name, f"declares the shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize                  # Python ints: no overflow
        if nbytes != info.file_size - header:
            raise _bad(path, name, f"declares shape {shape} of {dtype.str} ({nbytes} bytes) but "
                                   f"holds {info.file_size - header} bytes of data")
        data = fh.read(nbytes + 1)
    if len(data) != nbytes:
        raise _bad(path, name, f"holds {len(data)} bytes of data, its header declares {nbytes}")
    a = np.frombuffer(data, dtype=dtype)
    a = (a.reshape(shape, order="F" if fortran else "C") if shape else a.reshape(())).copy()
    if dtype.kind == "f" and not np.isfinite(a).all():
        raise _bad(path, name[:-4], "contains NaN or inf")
    return a


def load_checkpoint(path, kind):
    """Read a checkpoint written by :func:`save_checkpoint`; return ``(config, arrays)``.

    ``arrays`` maps names (``layer0.coef``, ...) to arrays that passed the
    checks 1-4 of the module docstring; the caller checks them against the
    model (5).

    Raises
    ------
    FileNotFoundError
        No such file.
    TypeError
        ``path`` is not a path.
    ValueError
        Not a regular file, not a zip/npz file, truncated, corrupt, a zip
        feature numpykan does not write, a member that is not a plain array
        of a dtype numpykan writes, a declared size the file cannot hold,
        non-finite values, pickled content, not a numpykan file, a newer
        version, or a checkpoint of another kind of model.
    """
    path = _fspath(path)
    _regular_or_absent(path)
    blob = _read_file(path)
    if blob[:4] != b"PK\x03\x04":                              # every .npz is a zip archive
        raise ValueError(f"{path!r} is not a numpykan checkpoint: not an .npz (zip) file "
                         f"(it starts with {blob[:4]!r})")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            _check_members(zf, path, len(blob))
            arrays = {info.filename[:-4]: _read_member(zf, info, path) for info in zf.infolist()}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, struct.error) as err:
        raise ValueError(f"{path!r} is not a readable .npz checkpoint (truncated or corrupt): "
                         f"{type(err).__name__}: {err}") from None
    for key in _HEADER:
        if key not in arrays:
            raise ValueError(f"{path!r} is not a numpykan checkpoint (no {key!r} entry)")
        a = arrays[key]
        want = "i" if key == "version" else "U"
        if a.shape != () or a.dtype.kind != want:
            raise _bad(path, key + ".npy", f"must be a single {'int' if want == 'i' else 'string'}, "
                                           f"got {a.dtype.str} of shape {a.shape}")
    if str(arrays.pop("format")) != FORMAT:
        raise ValueError(f"{path!r} is not a numpykan checkpoint (format entry is not {FORMAT!r})")
    version = int(arrays.pop("version"))
    if not 1 <= version <= VERSION:
        raise ValueError(f"{path!r} is checkpoint version {version}; this numpykan reads "
                         f"versions 1 to {VERSION}" + (": upgrade numpykan" if version > VERSION else ""))
    found = str(arrays.pop("kind"))
    if found != kind:
        raise ValueError(f"{path!r} holds a {found}, not a {kind}; load it with "
                         f"numpykan.{found}.load" if found in ("KAN", "MLP") else
                         f"{path!r} holds a model of kind {found!r}, not a {kind}")
    try:
        config = json.loads(str(arrays.pop("config")))
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{path!r} has a corrupt config entry: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path!r} has a corrupt config entry: a JSON {type(config).__name__}, "
                         f"not an object")
    return config, arrays


def _ints_in(value):
    """Every int in a JSON value (a width such as ``[2, [5, 2], 1]`` included)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _ints_in(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _ints_in(item)]
    return []


def bound_config(config, arrays, path, per_edge):
    """Refuse a config that would build a model much larger than the file's arrays.

    The model's size is bounded from above by ``sum_l (w_l + ...)(w_{l+1} + ...) per_edge``
    over the config's ``width`` (every int in it, so a multiplication node's
    arity counts too); the file's arrays must hold at least a quarter of it.
    ``per_edge`` is the number of values per edge (``grid + 2k + 4`` for a KAN).
    """
    width = config.get("width")
    if not isinstance(width, list) or not width:
        raise ValueError(f"checkpoint {path!r} has an invalid config: width must be a list, "
                         f"got {width!r}")
    sizes = [sum(_ints_in(w)) * (1 + len(_ints_in(w))) for w in width]  # generous per node count
    if any(s < 0 for s in sizes):
        raise ValueError(f"checkpoint {path!r} has an invalid config: width {width!r}")
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    held = sum(a.size for a in arrays.values())
    if edges * max(per_edge, 1) > 16 * held + 4096:
        raise ValueError(f"checkpoint {path!r} has an invalid config: it declares a model of about "
                         f"{edges * max(per_edge, 1)} values (width {width!r}) but the file holds "
                         f"{held}")


def _config_int(config, key, path, default):
    """The largest value of ``config[key]``: an int >= 0, or a list of them (one per layer)."""
    value = config.get(key, default)
    values = value if isinstance(value, list) and value else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"checkpoint {path!r} has an invalid config: {key} must be an int "
                             f">= 0 or a list of them, got {value!r}")
    return max(values)


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


def take(arrays, name, shape, dtype, path):
    """``arrays.pop(name)``, which must have exactly ``shape`` and ``dtype`` (as the model writes it)."""
    require(arrays, [name], path)
    a = arrays.pop(name)
    if a.shape != tuple(shape):
        raise ValueError(f"checkpoint {path!r}: {name} has shape {a.shape}, expected {tuple(shape)}")
    if a.dtype != np.dtype(dtype):
        raise ValueError(f"checkpoint {path!r}: {name} has dtype {a.dtype}, expected "
                         f"{np.dtype(dtype).name} (the model's dtype; a checkpoint holds the "
                         f"arrays as the model computed with them)")
    return a


def no_leftovers(arrays, path):
    if arrays:
        name = sorted(arrays)[0]
        raise ValueError(f"checkpoint {path!r} holds the array {name!r}, which this model does not "
                         f"have (another model's file, or a crafted one)")


def load_kan(cls, path):
    """The body of :meth:`KAN.load`: read, bound, build, check every array, fill."""
    from ..splines import bspline
    config, arrays = load_checkpoint(path, "KAN")
    grid, k = _config_int(config, "grid", path, 5), _config_int(config, "k", path, 3)
    bound_config(config, arrays, path, grid + 2 * k + 4)
    model = construct(cls, config, path)
    for l, layer in enumerate(model.layers):
        I, O, dtype = layer.in_dim, layer.out_dim, model.dtype
        names = [f"layer{l}.{key}" for key in ("coef", "w_b", "w_s", "grid", "mask")]
        require(arrays, names, path)
        coef = arrays[names[0]]
        if coef.ndim != 3 or coef.shape[:2] != (I, O) or coef.shape[2] < layer.k + 1:
            raise ValueError(f"checkpoint {path!r}: {names[0]} has shape {coef.shape}, "
                             f"expected ({I}, {O}, K) with K >= k + 1 = {layer.k + 1}")
        K = coef.shape[2]
        new = {"coef": take(arrays, names[0], (I, O, K), dtype, path)}
        for key in ("w_b", "w_s"):
            new[key] = take(arrays, f"layer{l}.{key}", (I, O), dtype, path)
        knots = take(arrays, f"layer{l}.grid", (I, K + layer.k + 1), dtype, path)
        try:
            knots = bspline.check_grid(knots, layer.k, I, f"layer{l}.grid")
        except (TypeError, ValueError) as err:
            raise ValueError(f"checkpoint {path!r}: {err}") from None
        mask = take(arrays, f"layer{l}.mask", (I, O), dtype, path)
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError(f"checkpoint {path!r}: layer{l}.mask must hold only 0 and 1")
        for key, v in new.items():
            layer.params[key] = v
            layer.grads[key] = None if key in layer.frozen else np.zeros_like(v)
        layer.grid, layer.mask = np.ascontiguousarray(knots), mask
        prefix = f"layer{l}.symbolic."
        sym = {name[len(prefix):]: arrays.pop(name) for name in list(arrays) if name.startswith(prefix)}
        if sym:
            from ..interpretation.symbolic_edges import SymbolicEdges
            if "abcd" in sym and sym["abcd"].dtype != np.dtype(dtype):
                raise ValueError(f"checkpoint {path!r}: {prefix}abcd has dtype {sym['abcd'].dtype}, "
                                 f"expected {np.dtype(dtype).name}")
            try:
                layer.symbolic = SymbolicEdges.from_arrays(sym, layer)
            except (TypeError, ValueError, KeyError, IndexError) as err:
                raise ValueError(f"checkpoint {path!r}: {prefix}*: {err}") from None
    if "kept_inputs" in arrays:                  # written by a model that prune_input made
        n = model.width_in[0]
        kept = take(arrays, "kept_inputs", (n,), np.int64, path)
        if (kept < 0).any() or not (np.diff(kept) > 0).all():
            raise ValueError(f"checkpoint {path!r}: kept_inputs must be increasing column indices "
                             f">= 0, got {kept.tolist()}")
        model.kept_inputs = kept.astype(int)
    no_leftovers(arrays, path)
    return model


def load_mlp(cls, path):
    """The body of :meth:`MLP.load`: read, bound, build, check every array, fill."""
    config, arrays = load_checkpoint(path, "MLP")
    bound_config(config, arrays, path, 1)
    model = construct(cls, config, path)
    for l, layer in enumerate(model.layers):
        for key in ("W", "b"):
            p = layer.params[key]
            layer.params[key] = take(arrays, f"layer{l}.{key}", p.shape, model.dtype, path)
    no_leftovers(arrays, path)
    return model
