"""MNIST from the four standard IDX files: read, find, download, verify.

:func:`load_mnist` reads the files (:func:`read_idx`) from a folder, or downloads
them into a cache folder, checking their SHA-256 digests; it returns the usual
dataset dict with integer labels of shape ``(N,)`` for the cross-entropy loss.
Only NumPy and the standard library are used.
"""

import gzip
import hashlib
import math
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .datasets import _check_count, _check_float_dtype

__all__ = ["read_idx", "MNIST_FILES", "MNIST_MIRRORS", "DatasetNotFoundError",
           "mnist_cache_dir", "load_mnist"]

# ---------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------

_IDX_LABELS, _IDX_IMAGES = 2049, 2051

MNIST_FILES = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""The four MNIST files (``.gz``, as distributed) and the SHA-256 of each."""

# SHA-256 of the same four files decompressed, so an uncompressed copy is accepted too.
_MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Base URLs tried in order; each serves the four ``.gz`` files of :data:`MNIST_FILES`."""

DOWNLOAD_TIMEOUT = 30.0
"""Seconds to wait for a mirror before trying the next one."""

# The function that opens a URL. Tests replace it with a fake, so they never use the
# network: it must return a readable binary file object usable in a ``with`` block.
_urlopen = urllib.request.urlopen


class DatasetNotFoundError(FileNotFoundError):
    """Data files are neither on disk nor downloadable (an ``OSError``).

    Besides the message, the parts of it, so that a caller (the command line) can
    say the same in its own words: ``missing`` (file names), ``searched`` (folders),
    ``download_errors`` (one text per failed attempt; empty if none was made) and
    ``cache`` (the folder downloads go to).
    """

    def __init__(self, message, missing=(), searched=(), download_errors=(), cache=None):
        super().__init__(message)
        self.missing = list(missing)
        self.searched = [str(f) for f in searched]
        self.download_errors = list(download_errors)
        self.cache = None if cache is None else str(cache)


def read_idx(path):
    """Read an IDX file (the MNIST format), gzip-compressed or raw.

    Parameters
    ----------
    path : str or path-like
        A file whose name ends in ``.gz`` is decompressed with gzip; any other name
        is read as raw bytes.

    Returns
    -------
    ndarray of uint8
        Shape ``(n, rows, cols)`` for an image file (magic number 2051) or ``(n,)``
        for a label file (magic number 2049).

    Raises
    ------
    ValueError
        The ``.gz`` file is not gzip or its stream is cut short; the magic number is
        not 2049/2051; the data is shorter or longer than the header declares.

    Notes
    -----
    An IDX file is a big-endian header followed by the raw values:
    ``magic (int32), n (int32)[, rows (int32), cols (int32)], n*rows*cols uint8``.
    The magic number's last byte is the number of dimensions (1 or 3) and its third
    byte the type (0x08 = unsigned byte): 2049 = 0x00000801, 2051 = 0x00000803.
    """
    path = Path(path)
    gz = path.name.endswith(".gz")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ValueError(f"{path} is not a regular file")
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError(f"{path} is too short for an IDX header: {len(head)} bytes, need 8")
            magic = int.from_bytes(head[0:4], "big")
            n = int.from_bytes(head[4:8], "big")
            if magic == _IDX_LABELS:
                header, shape = 8, (n,)
            elif magic == _IDX_IMAGES:
                more = fh.read(8)
                if len(more) < 8:
                    raise ValueError(f"{path} is too short for an IDX image header: "
                                     f"{8 + len(more)} bytes, need 16")
                header = 16
                shape = (n, int.from_bytes(more[0:4], "big"), int.from_bytes(more[4:8], "big"))
            else:
                raise ValueError(f"{path} has IDX magic number {magic}, expected {_IDX_LABELS} "
                                 f"(labels) or {_IDX_IMAGES} (images)")
            expected = math.prod(shape)                  # Python int: no overflow
            # what the file can hold, known before reading the data: its size, or for gzip
            # the most that deflate can expand it (about 1032 : 1)
            can_hold = 1032 * size + 1024 if gz else size - header
            if expected > can_hold:
                raise ValueError(f"{path} is truncated: the header declares shape {shape} "
                                 f"({expected} bytes of data) but the file "
                                 + (f"({size} bytes compressed) cannot hold that many" if gz
                                    else f"holds {size - header}"))
            data = fh.read(expected + 1)                 # one byte more: is there extra data?
    except gzip.BadGzipFile as err:
        raise ValueError(f"{path} ends in .gz but is not a gzip file ({err})") from err
    except (EOFError, zlib.error) as err:
        raise ValueError(f"{path} is a truncated or corrupt gzip file ({err})") from err
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than declared"
        held = f"holds {len(data)}" if len(data) < expected else "holds more"
        raise ValueError(f"{path} is {what}: the header declares shape {shape} "
                         f"({expected} bytes of data) but the file {held}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


def mnist_cache_dir():
    """Return the folder MNIST is downloaded to.

    ``$XDG_CACHE_HOME/numpykan/mnist`` when ``XDG_CACHE_HOME`` is set, else
    ``~/.cache/numpykan/mnist``. The folder is created only when a download needs it.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "numpykan" / "mnist"


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find_local(name, folders, verify):
    """Return the path of ``name`` (or its uncompressed twin) in the first folder that has it."""
    raw = name[:-3]
    candidates = ((name, MNIST_FILES[name]), (raw, _MNIST_RAW_SHA256.get(raw)))
    for folder in folders:
        for fname, digest in candidates:
            p = folder / fname
            if p.is_file():
                if verify and digest is not None:
                    actual = _sha256(p)
                    if actual != digest:
                        raise ValueError(
                            f"checksum mismatch for {p}: expected sha256 {digest}, got "
                            f"{actual}. The file is corrupt or not the original; delete it "
                            "(it is downloaded again) or pass verify=False to use it anyway.")
                return p
    return None


def _download(name, folder):
    """Download ``name`` from the mirrors into ``folder``, verified and atomic.

    Returns the final path. Raises ``ValueError`` if every mirror that answered sent
    bytes with the wrong checksum, or ``OSError`` listing each mirror's failure.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected = MNIST_FILES[name]
    failures, mismatch = [], None
    for base in MNIST_MIRRORS:
        url = base + name
        fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=folder)
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, _urlopen(url, timeout=DOWNLOAD_TIMEOUT) as src:
                for chunk in iter(lambda: src.read(1 << 16), b""):
                    h.update(chunk)
                    out.write(chunk)
            actual = h.hexdigest()
            if actual != expected:
                mismatch = (f"checksum mismatch for {name} downloaded from {url}: "
                            f"expected sha256 {expected}, got {actual}; the file was deleted")
                failures.append(f"{url}: wrong sha256 {actual}")
                os.unlink(tmp)
                continue
            final = folder / name
            os.replace(tmp, final)                       # atomic: never a half file
            return final
        except OSError as err:                           # URLError, HTTPError, timeouts
            failures.append(f"{url}: {err}")
            _remove_quietly(tmp)
        except BaseException:
            _remove_quietly(tmp)
            raise
    if mismatch is not None:
        raise ValueError(mismatch + ". Mirror results: " + "; ".join(failures))
    raise OSError(f"could not download {name}: " + "; ".join(failures))


def _remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def load_mnist(path=None, download=True, flatten=True, scale=(-1.0, 1.0), dtype=np.float32,
               subset=None, verify=True):
    """Load MNIST (60,000 train and 10,000 test digits) as a numpykan dataset.

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding the four files of :data:`MNIST_FILES` (``.gz`` or
        uncompressed). Searched first; without it, ``$NUMPYKAN_DATA`` is searched
        first if set. The cache folder (:func:`mnist_cache_dir`) is searched last.
    download : bool
        Download missing files from :data:`MNIST_MIRRORS` into the cache folder.
    flatten : bool
        Images as rows of 784 values (True) or as 28 x 28 arrays (False).
    scale : (float, float) or None
        ``(lo, hi)`` with ``lo < hi``: pixel value ``v`` in 0..255 becomes
        ``lo + (hi - lo) * v / 255``, so 0 -> lo and 255 -> hi exactly. The default
        ``(-1, 1)`` matches the default KAN grid range. ``None`` keeps uint8 pixels.
    dtype : numpy floating dtype
        dtype of the scaled images (ignored when ``scale`` is None).
    subset : int, optional
        Keep only the first ``subset`` train and the first ``min(subset, 10000)``
        test examples, for quick runs.
    verify : bool
        Check the SHA-256 of files found on disk. Downloads are always checked.

    Returns
    -------
    dict
        ``"train_input"`` (60000, 784), ``"train_label"`` int64 (60000,),
        ``"test_input"`` (10000, 784), ``"test_label"`` int64 (10000,); images are
        (n, 28, 28) when ``flatten`` is False.

    Raises
    ------
    DatasetNotFoundError
        (a ``FileNotFoundError``) Files missing and not downloadable; the message
        names the files, the folders searched and where to put the files.
    ValueError
        A checksum mismatch (local or downloaded; a bad download leaves no file),
        a malformed IDX file, or bad ``scale``/``subset``/``dtype``.
    """
    if scale is not None:
        s = np.asarray(scale, dtype=np.float64)
        if s.shape != (2,) or not np.all(np.isfinite(s)) or not s[0] < s[1]:
            raise ValueError(f"scale must be None or a finite pair (lo, hi) with lo < hi, "
                             f"got {scale!r}")
        dt = _check_float_dtype(dtype)
    if subset is not None:
        subset = _check_count(subset, "subset", 1)

    if path is not None:
        folders = [Path(path)]
    elif os.environ.get("NUMPYKAN_DATA"):
        folders = [Path(os.environ["NUMPYKAN_DATA"])]
    else:
        folders = []
    cache = mnist_cache_dir()
    folders.append(cache)

    found, missing = {}, []
    for name in MNIST_FILES:
        p = _find_local(name, folders, verify)
        if p is None:
            missing.append(name)
        else:
            found[name] = p
    download_errors = []
    if missing and download:
        new_folders = [f for f in (cache, *cache.parents) if not f.exists()]
        for name in list(missing):
            try:
                found[name] = _download(name, cache)
            except OSError as err:                 # no network: do not try the others
                download_errors.append(str(err))
                break
            missing.remove(name)
        for folder in new_folders:                 # leave no empty folder behind
            try:
                folder.rmdir()                     # only succeeds on an empty folder
            except OSError:
                break
    if missing:
        searched = ", ".join(str(f) for f in folders)
        how = ("downloading failed: " + "; ".join(download_errors)) if download else \
            "download=False, so nothing was downloaded"
        raise DatasetNotFoundError(
            f"MNIST files missing: {', '.join(missing)}. Searched: {searched}. {how}. "
            f"Put the four files ({', '.join(MNIST_FILES)}) in one of those folders "
            "(or a folder named by $NUMPYKAN_DATA or the path argument), "
            "or rerun with network access and download=True.",
            missing=missing, searched=folders, download_errors=download_errors, cache=cache)

    arrays = {k: read_idx(p) for k, p in found.items()}
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = arrays[f"{prefix}-images-idx3-ubyte.gz"]     # (n, 28, 28) uint8
        labels = arrays[f"{prefix}-labels-idx1-ubyte.gz"]     # (n,) uint8
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"MNIST {split} images {images.shape} and labels "
                             f"{labels.shape} do not match")
        if subset is not None:
            images, labels = images[:subset], labels[:subset]
        if flatten:
            images = images.reshape(images.shape[0], -1)      # (n, 784)
        if scale is not None:
            table = np.linspace(s[0], s[1], 256).astype(dt)   # (256,) value of each byte
            images = table[images]                            # same shape, dtype dt
        out[f"{split}_input"] = images
        out[f"{split}_label"] = labels.astype(np.int64)
    return out
