"""Pictures as regression problems: pixel coordinates in ``[-1, 1]^2`` -> intensity.

:func:`load_image` and :func:`sample_image` read a picture (``.npy`` with NumPy,
PNG and JPEG through matplotlib, imported only here), :func:`image_dataset` turns it
into the usual dataset dict, and :func:`psnr` scores a reconstruction.
"""

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .datasets import _check_float_dtype

__all__ = ["LUMA_WEIGHTS", "load_image", "SAMPLE_IMAGES", "sample_image", "size_for_short_side",
           "pixel_coordinates", "holdout_mask", "image_dataset", "psnr"]

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
    if ext in (".npy", ".png", ".jpg", ".jpeg") and path.exists() and not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    if ext == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise
        except (ValueError, OSError, EOFError) as err:         # pickled objects, a bad header
            raise ValueError(f"{path}: not a readable .npy image ({err})") from None
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{path}: not a .npy array")
    elif ext in (".png", ".jpg", ".jpeg"):
        a = _imread_matplotlib(path, ext)
    else:
        raise ValueError(f"{path}: unsupported image type {ext!r}; use .npy, .png, .jpg or "
                         ".jpeg")
    if a.ndim >= 2 and 0 in a.shape[:2]:
        raise ValueError(f"{path}: the image is empty (shape {a.shape})")
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
    except FileNotFoundError:
        raise
    except (SyntaxError, OSError, ValueError, EOFError, struct.error, zlib.error) as err:
        # Pillow's words for a corrupt file: SyntaxError ("not a PNG file"), OSError
        # ("Truncated File Read", "cannot identify image file"), ValueError, struct.error
        raise ValueError(f"{path}: not a readable {ext[1:].upper()} image "
                         f"({type(err).__name__}: {err})") from None


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


def size_for_short_side(shape, short_side):
    """``(h, w)`` of an image of ``shape`` resized so that its shorter side is ``short_side``.

    The aspect ratio is kept (the longer side is rounded to the nearest pixel), so a
    square stays square: ``(512, 512) -> (256, 256)``, ``(617, 778) -> (256, 323)``.
    """
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) \
            or short_side < 1:
        raise ValueError(f"short_side must be an int >= 1, got {short_side!r}")
    H, W = int(shape[0]), int(shape[1])
    if H <= W:
        return int(short_side), max(1, int(round(W * short_side / H)))
    return max(1, int(round(H * short_side / W))), int(short_side)


def pixel_coordinates(shape, dtype=np.float64):
    """Inputs ``[x, y]`` of every pixel of an ``(H, W)`` image, in raster order.

    Returns
    -------
    ndarray, shape (H * W, 2)
        Pixel ``(r, c)`` (row ``r``, column ``c``) is row ``r W + c`` and sits at
        ``x = -1 + 2 c / (W - 1)``, ``y = -1 + 2 r / (H - 1)``.
    """
    H, W = int(shape[0]), int(shape[1])
    ys, xs = np.meshgrid(np.linspace(-1.0, 1.0, H), np.linspace(-1.0, 1.0, W),
                         indexing="ij")                     # (H, W) each
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(dtype)   # (H*W, 2): [x, y]


def holdout_mask(shape, every):
    """Boolean ``(H, W)`` mask of the held-out pixels: one pixel of every ``every x every`` block.

    Pixel ``(r, c)`` is held out when ``r % every == every // 2`` and
    ``c % every == every // 2``: the centre of each block, so every held-out pixel
    has trained pixels on all sides (its 8 neighbours are trained for ``every >= 2``),
    and the held-out pixels form a regular lattice covering the whole picture. About
    ``1 / every^2`` of the pixels are held out (25% for ``every = 2``).
    """
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 2:
        raise ValueError(f"holdout_every must be an int >= 2, got {every!r}")
    H, W = int(shape[0]), int(shape[1])
    rows = np.arange(H) % every == every // 2               # (H,)
    cols = np.arange(W) % every == every // 2               # (W,)
    return rows[:, None] & cols[None, :]                    # (H, W)


def _channels(a, gray, source):
    """(H, W) or (H, W, C) in [0, 1] -> (H, W, C') with C' = 1 (gray) or 3 (colour)."""
    if a.ndim == 2:
        return a[:, :, None]
    if a.ndim != 3 or not 1 <= a.shape[2] <= 4:
        raise ValueError(f"{source}: expected an image of shape (H, W) or (H, W, C) with "
                         f"C in 1..4, got {a.shape}")
    if gray or a.shape[2] <= 2:                              # gray (+ alpha) stays gray
        return _to_gray(a, source)[:, :, None]
    return a[:, :, :3]                                       # RGB(A) -> RGB


def image_dataset(img, test_fraction=0.0, seed=0, dtype=np.float64, gray=True,
                  holdout_every=None):
    """Turn an image into a regression dataset ``(x, y) -> intensity``.

    Parameters
    ----------
    img : array_like or str or path-like
        Image of shape (H, W) or (H, W, C), values in [0, 1] (uint8 is divided by
        255); a path is read with :func:`load_image`.
    test_fraction : float
        Fraction of pixels, chosen at random, held out as the test split, in [0, 1).
        With 0 (and no ``holdout_every``) the test split is the train split (every pixel).
    seed : int
        Seed of the random split.
    dtype : numpy floating dtype
        dtype of inputs and labels.
    gray : bool
        True: one output, the gray value (RGB -> BT.601 luma). False: a colour
        image keeps its three channels R, G, B (alpha dropped) as three outputs; a
        gray image still has one.
    holdout_every : int, optional
        Hold out the regular lattice of :func:`holdout_mask` (one pixel in every
        ``holdout_every x holdout_every`` block) instead of a random fraction; the
        held-out pixels are the test split, the others the train split.

    Returns
    -------
    dict
        ``"train_input"`` (N_train, 2), ``"train_label"`` (N_train, C),
        ``"test_input"`` (N_test, 2), ``"test_label"`` (N_test, C),
        ``"train_index"``/``"test_index"`` (flat pixel indices ``r W + c``, int64),
        ``"shape"``: (H, W) (the image shape without channels), with ``C = 1`` when
        ``gray`` else the number of colour channels. With ``test_fraction=0`` and no
        ``holdout_every`` the rows are in raster order, so
        ``model(d["train_input"]).reshape(d["shape"])`` is the predicted gray image.

    Notes
    -----
    Pixel ``(r, c)`` (row, column) sits at ``x = -1 + 2 c / (W - 1)`` and
    ``y = -1 + 2 r / (H - 1)``: x runs along columns left to right, y along rows top
    to bottom (image convention), so the top-left pixel is ``(-1, -1)`` and the
    bottom-right one ``(1, 1)``. Inputs are ``[x, y]``.
    """
    if isinstance(img, (str, os.PathLike)):
        img = load_image(img, gray=gray)
    a = _to_unit_float(img, "img")
    if a.ndim not in (2, 3):
        raise ValueError(f"img must be 2-D after gray conversion, got shape {a.shape}")
    a = _channels(a, gray, "img")                           # (H, W, C)
    H, W, C = a.shape
    if H < 2 or W < 2:
        raise ValueError(f"img must be at least 2 x 2 pixels, got {a.shape[:2]}")
    test_fraction = float(test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    if holdout_every is not None and test_fraction > 0.0:
        raise ValueError(f"give test_fraction or holdout_every, not both (got "
                         f"{test_fraction} and {holdout_every})")
    dt = _check_float_dtype(dtype)

    inputs = pixel_coordinates((H, W))                      # (H*W, 2): [x, y]
    labels = a.reshape(H * W, C)                            # (H*W, C)
    index = np.arange(H * W)
    if holdout_every is not None:
        held = holdout_mask((H, W), holdout_every).ravel()  # (H*W,)
        test_idx, train_idx = index[held], index[~held]
    elif test_fraction > 0.0:
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
