"""Data for KAN experiments: toy functions, MNIST and images as coordinate datasets.

Every loader returns the same kind of dictionary, so that ``model.fit(dataset)``
works on all of them::

    {"train_input": (N_train, I), "train_label": (N_train, O),
     "test_input":  (N_test, I),  "test_label":  (N_test, O)}

(MNIST labels are integer class indices of shape ``(N,)`` for the cross-entropy loss.)

Three sources:

- :func:`create_dataset` samples a function ``f`` on a box, like pykan's function of
  the same name; :data:`TOY_FUNCTIONS` holds the classic targets of the KAN paper.
- :func:`load_mnist` reads the four standard IDX files (:func:`read_idx`) from a
  folder, or downloads them into a cache folder and checks their SHA-256 digests.
- :func:`load_image`, :func:`sample_image` and :func:`image_dataset` turn a picture
  into a regression problem ``(x, y) -> intensity`` on ``[-1, 1]^2``; :func:`psnr`
  scores the reconstruction.

Only NumPy and the standard library are imported at module level; matplotlib is
imported inside the image functions that need it.
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

__all__ = [
    "TOY_FUNCTIONS",
    "create_dataset",
    "read_idx",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "DatasetNotFoundError",
    "mnist_cache_dir",
    "load_mnist",
    "load_image",
    "SAMPLE_IMAGES",
    "sample_image",
    "image_dataset",
    "psnr",
]


# ---------------------------------------------------------------------------
# Toy functions
# ---------------------------------------------------------------------------

def _columns(x, n_var, name):
    """Check that ``x`` has shape ``(n, n_var)`` and return it as a float array."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_var:
        raise ValueError(f"{name} needs x of shape (n, {n_var}), got {x.shape}")
    return x


def _xy(x):
    """``f(x, y) = x * y`` (n, 2) -> (n,). Multiplication, the KAN paper's Figure 2.4."""
    x = _columns(x, 2, "xy")
    return x[:, 0] * x[:, 1]


def _exp_sin(x):
    """``f(x, y) = exp(sin(pi x) + y^2)`` (n, 2) -> (n,). The paper's first example."""
    x = _columns(x, 2, "exp_sin")
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def _sin_pi(x):
    """``f(x) = sin(pi x)`` (n, 1) -> (n,). One smooth bump per half period."""
    x = _columns(x, 1, "sin_pi")
    return np.sin(np.pi * x[:, 0])


def _exp_mean_sin2(x):
    """``f(x) = exp(mean_i sin^2(pi x_i / 2))`` (n, d) -> (n,), any d.

    With d = 100 this is the paper's high-dimensional example
    ``exp(1/100 sum_{i=1}^{100} sin^2(pi x_i / 2))``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"exp_mean_sin2 needs x of shape (n, d) with d >= 1, got {x.shape}")
    return np.exp(np.mean(np.sin(np.pi * x / 2) ** 2, axis=1))


def _four_var(x):
    """``f = exp(0.5 (sin(pi (x1^2 + x2^2)) + sin(pi (x3^2 + x4^2))))`` (n, 4) -> (n,).

    The paper's four-variable example, a [4, 4, 2, 1] KAN in closed form.
    """
    x = _columns(x, 4, "four_var")
    s12 = np.sin(np.pi * (x[:, 0] ** 2 + x[:, 1] ** 2))
    s34 = np.sin(np.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
    return np.exp(0.5 * (s12 + s34))


TOY_FUNCTIONS = {
    "sin_pi": _sin_pi,
    "xy": _xy,
    "exp_sin": _exp_sin,
    "four_var": _four_var,
    "exp_mean_sin2": _exp_mean_sin2,
}
"""Named targets from the KAN paper (arXiv:2404.19756), each ``f(x) -> (n,)``.

=================  ======  ==================================================
name               n_var   formula
=================  ======  ==================================================
``sin_pi``         1       sin(pi x)
``xy``             2       x y
``exp_sin``        2       exp(sin(pi x) + y^2)
``four_var``       4       exp(0.5 (sin(pi (x1^2+x2^2)) + sin(pi (x3^2+x4^2))))
``exp_mean_sin2``  any     exp(mean_i sin^2(pi x_i / 2))  (paper: n_var = 100)
=================  ======  ==================================================
"""


def _check_count(value, name, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_float_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dt}")
    return dt


def _parse_ranges(ranges, n_var):
    """Return ``(lo, hi)`` arrays of shape (n_var,) from a pair or a list of pairs."""
    r = np.asarray(ranges, dtype=np.float64)
    if r.shape == (2,):
        r = np.tile(r, (n_var, 1))                       # (n_var, 2)
    elif r.shape != (n_var, 2):
        raise ValueError(
            f"ranges must be a pair (lo, hi) or {n_var} pairs of shape ({n_var}, 2), "
            f"got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"ranges must be finite, got {r.tolist()}")
    bad = np.flatnonzero(r[:, 0] >= r[:, 1])
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"ranges needs lo < hi for every variable; variable {i} has "
            f"lo={r[i, 0]}, hi={r[i, 1]}")
    return r[:, 0], r[:, 1]


def create_dataset(f, n_var=2, ranges=(-1, 1), train_num=1000, test_num=1000, seed=0,
                   normalize_input=False, normalize_label=False, dtype=np.float64):
    """Sample ``f`` at uniform random points of a box: a regression dataset.

    Parameters
    ----------
    f : callable or str
        ``f(x)`` with ``x`` of shape ``(n, n_var)`` returning shape ``(n,)`` or
        ``(n, O)``. A string names an entry of :data:`TOY_FUNCTIONS`.
    n_var : int
        Number of input variables ``I``, >= 1.
    ranges : array_like, shape (2,) or (n_var, 2)
        ``(lo, hi)`` for every variable, or one pair per variable; ``lo < hi``.
    train_num, test_num : int
        Number of train and test points, each >= 1.
    seed : int
        Seed of the one ``np.random.default_rng`` that draws all points. The train
        points are drawn first, so they do not depend on ``test_num``.
    normalize_input, normalize_label : bool
        Standardize inputs (labels) to zero mean and unit standard deviation per
        column, using the *train* statistics for both splits (as pykan does).
    dtype : numpy floating dtype
        dtype of the returned arrays; ``f`` is always evaluated in float64.

    Returns
    -------
    dict
        ``"train_input"`` (train_num, I), ``"train_label"`` (train_num, O),
        ``"test_input"`` (test_num, I), ``"test_label"`` (test_num, O).

    Raises
    ------
    ValueError
        Bad ``n_var``, ``ranges``, counts or ``dtype``; ``f`` returning the wrong
        number of rows or a non-finite value; a constant column to normalize.

    Examples
    --------
    >>> d = create_dataset(lambda x: x[:, 0] * x[:, 1], n_var=2, train_num=3, test_num=2)
    >>> d["train_input"].shape, d["train_label"].shape, d["test_label"].shape
    ((3, 2), (3, 1), (2, 1))
    >>> bool(np.allclose(d["train_label"][:, 0], d["train_input"].prod(axis=1)))
    True
    """
    if isinstance(f, str):
        if f not in TOY_FUNCTIONS:
            raise ValueError(f"f: unknown toy function {f!r}; known: {sorted(TOY_FUNCTIONS)}")
        f = TOY_FUNCTIONS[f]
    if not callable(f):
        raise TypeError(f"f must be callable or a TOY_FUNCTIONS name, got {type(f).__name__}")
    n_var = _check_count(n_var, "n_var", 1)
    train_num = _check_count(train_num, "train_num", 1)
    test_num = _check_count(test_num, "test_num", 1)
    dt = _check_float_dtype(dtype)
    lo, hi = _parse_ranges(ranges, n_var)                # (I,), (I,)

    rng = np.random.default_rng(seed)
    x_train = lo + (hi - lo) * rng.random((train_num, n_var))   # (N_train, I)
    x_test = lo + (hi - lo) * rng.random((test_num, n_var))     # (N_test, I)
    y_train = _evaluate(f, x_train, "train")                    # (N_train, O)
    y_test = _evaluate(f, x_test, "test")                       # (N_test, O)
    if y_train.shape[1] != y_test.shape[1]:
        raise ValueError(f"f returned {y_train.shape[1]} outputs on the train points "
                         f"but {y_test.shape[1]} on the test points")

    if normalize_input:
        x_train, x_test = _standardize(x_train, x_test, "normalize_input")
    if normalize_label:
        y_train, y_test = _standardize(y_train, y_test, "normalize_label")
    return {
        "train_input": x_train.astype(dt),
        "train_label": y_train.astype(dt),
        "test_input": x_test.astype(dt),
        "test_label": y_test.astype(dt),
    }


def _evaluate(f, x, split):
    """Call ``f`` on ``x`` (n, I) and return labels of shape (n, O), validated."""
    n = x.shape[0]
    y = np.asarray(f(x.copy()), dtype=np.float64)        # copy: f may not modify our x
    if y.ndim == 1:
        y = y[:, None]                                   # (n,) -> (n, 1)
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"f must return shape ({n},) or ({n}, O) for x of shape {x.shape}, "
                         f"got {np.shape(y)}")
    finite = np.isfinite(y).all(axis=1)                  # (n,)
    if not finite.all():
        i = np.flatnonzero(~finite)[0]
        raise ValueError(f"f returned {np.count_nonzero(~finite)} non-finite label rows on "
                         f"the {split} points, first at x={x[i].tolist()}: {y[i].tolist()}")
    return y


def _standardize(train, test, name):
    """Standardize both splits with the train mean and std (per column)."""
    mean = train.mean(axis=0, keepdims=True)             # (1, C)
    std = train.std(axis=0, keepdims=True)               # (1, C)
    if np.any(std == 0):
        cols = np.flatnonzero(std[0] == 0).tolist()
        raise ValueError(f"{name}: columns {cols} are constant on the train split, "
                         "so they cannot be scaled to unit standard deviation")
    return (train - mean) / std, (test - mean) / std


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
    """Data files are neither on disk nor downloadable (an ``OSError``)."""


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
    if path.name.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        except gzip.BadGzipFile as err:
            raise ValueError(f"{path} ends in .gz but is not a gzip file ({err})") from err
        except (EOFError, zlib.error) as err:
            raise ValueError(f"{path} is a truncated or corrupt gzip file ({err})") from err
    else:
        data = path.read_bytes()

    if len(data) < 8:
        raise ValueError(f"{path} is too short for an IDX header: {len(data)} bytes, need 8")
    magic = int.from_bytes(data[0:4], "big")
    n = int.from_bytes(data[4:8], "big")
    if magic == _IDX_LABELS:
        header, shape = 8, (n,)
    elif magic == _IDX_IMAGES:
        if len(data) < 16:
            raise ValueError(f"{path} is too short for an IDX image header: "
                             f"{len(data)} bytes, need 16")
        rows = int.from_bytes(data[8:12], "big")
        cols = int.from_bytes(data[12:16], "big")
        header, shape = 16, (n, rows, cols)
    else:
        raise ValueError(f"{path} has IDX magic number {magic}, expected {_IDX_LABELS} "
                         f"(labels) or {_IDX_IMAGES} (images)")
    expected = math.prod(shape)                          # Python int: no overflow
    available = len(data) - header
    if available != expected:
        what = "truncated" if available < expected else "longer than declared"
        raise ValueError(f"{path} is {what}: the header declares shape {shape} "
                         f"({expected} bytes of data) but the file holds {available}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


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
        for name in list(missing):
            try:
                found[name] = _download(name, cache)
            except OSError as err:                 # no network: do not try the others
                download_errors.append(str(err))
                break
            missing.remove(name)
    if missing:
        searched = ", ".join(str(f) for f in folders)
        how = ("downloading failed: " + "; ".join(download_errors)) if download else \
            "download=False, so nothing was downloaded"
        raise DatasetNotFoundError(
            f"MNIST files missing: {', '.join(missing)}. Searched: {searched}. {how}. "
            f"Put the four files ({', '.join(MNIST_FILES)}) in one of those folders "
            "(or a folder named by $NUMPYKAN_DATA or the path argument), "
            "or rerun with network access and download=True.")

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


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights of R, G, B in the gray value ``Y``."""

_PILLOW_HINT = ("install Pillow (pip install pillow) or convert the image to .png/.npy "
                "(np.save('image.npy', array) loads with NumPy alone)")


def _to_unit_float(a, source):
    """Map an image array to float64 in [0, 1]: uint8 / 255, uint16 / 65535, floats as is."""
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a / 255.0
    if a.dtype == np.uint16:
        return a / 65535.0
    if a.dtype == np.bool_:
        return a.astype(np.float64)
    if a.dtype.kind == "f":
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{source}: image contains NaN or inf")
        if a.size and (a.min() < 0.0 or a.max() > 1.0):
            raise ValueError(f"{source}: float image values must lie in [0, 1], got "
                             f"[{a.min()}, {a.max()}]; rescale it first")
        return a
    raise ValueError(f"{source}: image dtype must be uint8, uint16, bool or float, got {a.dtype}")


def _to_gray(a, source):
    """(H, W), (H, W, 1|2|3|4) -> (H, W): luma of RGB, alpha dropped."""
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] in (1, 2):               # gray or gray + alpha
        return a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):               # RGB or RGBA
        return a[:, :, :3] @ np.asarray(LUMA_WEIGHTS)      # (H, W, 3) x (3,) -> (H, W)
    raise ValueError(f"{source}: expected an image of shape (H, W) or (H, W, C) with "
                     f"C in 1..4, got {a.shape}")


def _area_weights(n_in, n_out):
    """Matrix ``A`` (n_out, n_in) averaging input cells over each output cell.

    Output cell ``i`` covers ``[i s, (i + 1) s)`` with ``s = n_in / n_out`` in input
    pixel units; ``A[i, j]`` is the overlap of that interval with pixel ``[j, j + 1)``
    divided by ``s``, so each row sums to 1.
    """
    s = n_in / n_out
    start = np.arange(n_out)[:, None] * s                  # (n_out, 1)
    j = np.arange(n_in)[None, :]                           # (1, n_in)
    overlap = np.minimum(start + s, j + 1) - np.maximum(start, j)   # (n_out, n_in)
    return np.clip(overlap, 0.0, None) / s


def _resize(a, size):
    """Resize (H, W[, C]) to ``size`` by area averaging (block means when integral)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in size)):
        raise ValueError(f"size must be None, an int or a pair of ints (H, W), got {size!r}")
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {(h, w)}")
    H, W = a.shape[:2]
    if (h, w) == (H, W):
        return a
    if H % h == 0 and W % w == 0:                          # integral factor: block means
        fh, fw = H // h, W // w
        return a.reshape(h, fh, w, fw, *a.shape[2:]).mean(axis=(1, 3))
    rows = _area_weights(H, h)                             # (h, H)
    cols = _area_weights(W, w)                             # (w, W)
    a = np.einsum("iy,yx...->ix...", rows, a)              # (h, H) x (H, W, ..) -> (h, W, ..)
    return np.einsum("jx,ix...->ij...", cols, a)           # (w, W) x (h, W, ..) -> (h, w, ..)


def load_image(path, gray=True, size=None):
    """Read an image file as floats in [0, 1].

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (read with ``np.load(allow_pickle=False)``, NumPy only), ``.png``
        or ``.jpg``/``.jpeg`` (read with ``matplotlib.image.imread``, which uses
        Pillow, a dependency of matplotlib).
    gray : bool
        Convert to one channel: RGB -> ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601
        luma), alpha dropped.
    size : int or (int, int), optional
        Output ``(H, W)``; an int means a square. When the input size is an integer
        multiple of it, each output pixel is the mean of its block of input pixels;
        otherwise each output pixel is the area-weighted mean of the input pixels it
        overlaps (the same rule, with fractional pixels at the block borders).

    Returns
    -------
    ndarray of float64
        Shape ``(H, W)`` when ``gray``, else the channels as stored: ``(H, W)`` for a
        gray file, ``(H, W, C)`` otherwise (alpha kept). Values in [0, 1]: uint8
        files are divided by 255, uint16 by 65535, float files must already lie in
        [0, 1].

    Raises
    ------
    ImportError
        Pillow is needed (PNG/JPEG) and missing; the message says what to do.
    ValueError
        Unsupported extension, shape or dtype.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".npy":
        a = np.load(path, allow_pickle=False)
    elif ext in (".png", ".jpg", ".jpeg"):
        a = _imread_matplotlib(path, ext)
    else:
        raise ValueError(f"path: unsupported image type {ext!r} ({path}); "
                         "use .npy, .png, .jpg or .jpeg")
    a = _to_unit_float(a, str(path))
    if gray:
        a = _to_gray(a, str(path))
    elif not (a.ndim == 2 or (a.ndim == 3 and 1 <= a.shape[2] <= 4)):
        raise ValueError(f"{path}: expected an image of shape (H, W) or (H, W, C), "
                         f"got {a.shape}")
    if size is not None:
        a = _resize(a, size)
    return a


def _imread_matplotlib(path, ext):
    """``matplotlib.image.imread`` with a clear message when Pillow is missing."""
    try:
        import matplotlib.image as mpimg                   # imports Pillow itself
    except ImportError as err:
        raise ImportError(f"reading {ext} files needs Pillow, which could not be "
                          f"imported ({err}); {_PILLOW_HINT}") from err
    try:
        return mpimg.imread(path)
    except ImportError as err:
        raise ImportError(f"reading {path} needs Pillow ({err}); {_PILLOW_HINT}") from err


SAMPLE_IMAGES = {
    "jacksboro_fault_dem": ("jacksboro_fault_dem.npz", "elevation"),
    "topobathy": ("topobathy.npz", "topo"),
    "grace_hopper": ("grace_hopper.jpg", None),
}
"""Images in matplotlib's ``mpl-data/sample_data``: name -> (file, npz array key).

``jacksboro_fault_dem`` (default): a 344 x 403 elevation map of a fault zone in
Tennessee, stored as an ``.npz`` so it loads with NumPy alone; a smooth field with
sharp ridges, a good target for a coordinate KAN. ``topobathy``: 91 x 120 topography
and bathymetry. ``grace_hopper``: a 600 x 512 photograph, a JPEG (needs Pillow).
"""


def _sample_data_path(fname):
    """Path of a file in matplotlib's ``mpl-data/sample_data``.

    Asks ``matplotlib.cbook.get_sample_data``; if matplotlib cannot be imported
    (matplotlib imports Pillow at start-up), finds the installed package folder with
    ``importlib`` instead, so the ``.npz`` samples still load with NumPy alone.
    """
    try:
        import matplotlib.cbook as cbook
    except ImportError:
        import importlib.util

        spec = importlib.util.find_spec("matplotlib")
        if spec is None or not spec.submodule_search_locations:
            raise
        folder = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "sample_data"
        path = folder / fname
        if not path.is_file():
            raise
        return str(path)
    return cbook.get_sample_data(fname, asfileobj=False)


def sample_image(name="jacksboro_fault_dem", size=None):
    """Load a gray image that ships with matplotlib, as floats in [0, 1].

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLE_IMAGES`. The default is an elevation map stored as a
        NumPy ``.npz``, chosen because it needs no image decoder (no Pillow), so it
        works on any machine with numpy and matplotlib, even where matplotlib itself
        cannot be imported for want of Pillow.
    size : int or (int, int), optional
        Resize as in :func:`load_image`.

    Returns
    -------
    ndarray of float64, shape (H, W)
        Gray values in [0, 1]; elevation maps are rescaled so min -> 0, max -> 1,
        with row 0 the northern edge.
    """
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"name: unknown sample image {name!r}; known: {sorted(SAMPLE_IMAGES)}")
    fname, key = SAMPLE_IMAGES[name]
    path = _sample_data_path(fname)
    if key is None:
        return load_image(path, gray=True, size=size)
    with np.load(path, allow_pickle=False) as npz:
        z = np.asarray(npz[key], dtype=np.float64)          # (H, W)
        if name == "topobathy" and npz["latitude"][0] < npz["latitude"][-1]:
            z = z[::-1]                                     # row 0 = north
    z = (z - z.min()) / (z.max() - z.min())
    if size is not None:
        z = _resize(z, size)
    return z


def image_dataset(img, test_fraction=0.0, seed=0, dtype=np.float64):
    """Turn an image into a regression dataset ``(x, y) -> intensity``.

    Parameters
    ----------
    img : array_like or str or path-like
        Image of shape (H, W) or (H, W, C) (converted to gray), values in [0, 1]
        (uint8 is divided by 255); a path is read with :func:`load_image`.
    test_fraction : float
        Fraction of pixels, chosen at random, held out as the test split, in [0, 1).
        With 0 the test split is the train split (every pixel).
    seed : int
        Seed of the random split.
    dtype : numpy floating dtype
        dtype of inputs and labels.

    Returns
    -------
    dict
        ``"train_input"`` (N_train, 2), ``"train_label"`` (N_train, 1),
        ``"test_input"`` (N_test, 2), ``"test_label"`` (N_test, 1),
        ``"train_index"``/``"test_index"`` (flat pixel indices ``r W + c``, int64),
        ``"shape"``: (H, W). With ``test_fraction=0`` the rows are in raster order,
        so ``model(d["train_input"]).reshape(d["shape"])`` is the predicted image.

    Notes
    -----
    Pixel ``(r, c)`` (row, column) sits at ``x = -1 + 2 c / (W - 1)`` and
    ``y = -1 + 2 r / (H - 1)``: x runs along columns left to right, y along rows top
    to bottom (image convention), so the top-left pixel is ``(-1, -1)`` and the
    bottom-right one ``(1, 1)``. Inputs are ``[x, y]``.
    """
    if isinstance(img, (str, os.PathLike)):
        img = load_image(img, gray=True)
    a = _to_unit_float(img, "img")
    if a.ndim == 3:
        a = _to_gray(a, "img")                              # (H, W, C) -> (H, W)
    if a.ndim != 2:
        raise ValueError(f"img must be 2-D after gray conversion, got shape {a.shape}")
    H, W = a.shape
    if H < 2 or W < 2:
        raise ValueError(f"img must be at least 2 x 2 pixels, got {a.shape}")
    test_fraction = float(test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    dt = _check_float_dtype(dtype)

    ys, xs = np.meshgrid(np.linspace(-1.0, 1.0, H), np.linspace(-1.0, 1.0, W),
                         indexing="ij")                     # (H, W) each
    inputs = np.stack([xs.ravel(), ys.ravel()], axis=1)     # (H*W, 2): [x, y]
    labels = a.reshape(-1, 1)                               # (H*W, 1)
    index = np.arange(H * W)
    if test_fraction > 0.0:
        n_test = max(1, int(round(test_fraction * H * W)))
        perm = np.random.default_rng(seed).permutation(H * W)
        test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    else:
        train_idx = test_idx = index
    return {
        "train_input": inputs[train_idx].astype(dt),
        "train_label": labels[train_idx].astype(dt),
        "test_input": inputs[test_idx].astype(dt),
        "test_label": labels[test_idx].astype(dt),
        "train_index": train_idx.astype(np.int64),
        "test_index": test_idx.astype(np.int64),
        "shape": (H, W),
    }


def psnr(pred, target, data_range=1.0):
    """Peak signal-to-noise ratio in decibels.

    Parameters
    ----------
    pred, target : array_like, same shape
        Images (or any arrays) to compare.
    data_range : float
        Largest possible value minus smallest, ``> 0`` (1 for images in [0, 1]).

    Returns
    -------
    float
        ``10 log10(data_range^2 / MSE)`` with ``MSE = mean((pred - target)^2)``;
        ``inf`` when the arrays are equal.

    Examples
    --------
    >>> psnr(np.zeros(4), np.full(4, 0.1))   # MSE = 0.01 -> 20 dB
    20.0
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} "
                         f"and {target.shape}")
    if pred.size == 0:
        raise ValueError("pred and target must not be empty")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(target))):
        raise ValueError("pred and target must be finite")
    if not (np.isfinite(data_range) and data_range > 0):
        raise ValueError(f"data_range must be a positive number, got {data_range}")
    mse = float(np.mean((pred - target) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range ** 2 / mse))
