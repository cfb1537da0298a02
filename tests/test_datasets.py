"""Tests for numpykan.datasets: toy data, the MNIST loader (offline) and images."""

import gzip
import hashlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import numpykan.datasets as ds
from numpykan.datasets import (
    TOY_FUNCTIONS,
    DatasetNotFoundError,
    create_dataset,
    image_dataset,
    load_image,
    load_mnist,
    psnr,
    read_idx,
    sample_image,
)


# ---------------------------------------------------------------------------
# create_dataset and the toy functions
# ---------------------------------------------------------------------------

def test_create_dataset_shapes_dtype_and_labels():
    d = create_dataset(lambda x: x[:, 0] * x[:, 1], n_var=2, train_num=50, test_num=20,
                       dtype=np.float32)
    assert set(d) == {"train_input", "train_label", "test_input", "test_label"}
    assert d["train_input"].shape == (50, 2) and d["train_label"].shape == (50, 1)
    assert d["test_input"].shape == (20, 2) and d["test_label"].shape == (20, 1)
    assert all(v.dtype == np.float32 for v in d.values())
    np.testing.assert_allclose(d["train_label"][:, 0], d["train_input"].prod(axis=1),
                               rtol=1e-6)


def test_create_dataset_multi_output_and_ranges_per_variable():
    ranges = [(0.0, 1.0), (-3.0, -2.0), (10.0, 20.0)]
    d = create_dataset(lambda x: np.stack([x.sum(axis=1), x[:, 0]], axis=1), n_var=3,
                       ranges=ranges, train_num=400, test_num=10)
    x = d["train_input"]
    for i, (lo, hi) in enumerate(ranges):
        assert lo <= x[:, i].min() and x[:, i].max() < hi
        assert x[:, i].max() - x[:, i].min() > 0.9 * (hi - lo)   # spread over the range
    assert d["train_label"].shape == (400, 2)
    np.testing.assert_array_equal(d["train_label"][:, 1], x[:, 0])


def test_create_dataset_is_deterministic_and_train_ignores_test_num():
    a = create_dataset("exp_sin", seed=3, train_num=30, test_num=5)
    b = create_dataset("exp_sin", seed=3, train_num=30, test_num=50)
    c = create_dataset("exp_sin", seed=4, train_num=30, test_num=5)
    np.testing.assert_array_equal(a["train_input"], b["train_input"])
    np.testing.assert_array_equal(a["train_label"], b["train_label"])
    assert not np.array_equal(a["train_input"], c["train_input"])


def test_create_dataset_normalize_uses_train_statistics():
    d = create_dataset("exp_sin", train_num=500, test_num=100, normalize_input=True,
                       normalize_label=True)
    for key in ("train_input", "train_label"):
        np.testing.assert_allclose(d[key].mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(d[key].std(axis=0), 1.0, rtol=1e-12)
    assert abs(d["test_input"].mean()) > 1e-6          # test split not re-centred itself


@pytest.mark.parametrize("name, x, expected", [
    ("sin_pi", [[0.5]], 1.0),
    ("xy", [[0.5, 2.0]], 1.0),
    ("exp_sin", [[0.5, 0.0]], np.e),
    ("four_var", [[0.0, 0.0, 0.0, 0.0]], 1.0),
    ("exp_mean_sin2", [[1.0, 1.0, 1.0]], np.e),
    ("exp_mean_sin2", [[1.0, 0.0]], np.exp(0.5)),
])
def test_toy_functions_known_values(name, x, expected):
    y = TOY_FUNCTIONS[name](np.array(x))
    assert y.shape == (1,)
    assert y[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_toy_function_wrong_width_names_function():
    with pytest.raises(ValueError, match=r"four_var needs x of shape \(n, 4\)"):
        create_dataset("four_var", n_var=2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_var=0), "n_var must be >= 1"),
    (dict(ranges=(-1, 0, 1)), "ranges must be a pair"),
    (dict(ranges=[(-1, 1)] * 3), r"ranges must be .* shape \(2, 2\)"),
    (dict(ranges=(1, 1)), "lo < hi"),
    (dict(ranges=[(-1, 1), (2, -2)]), "variable 1"),
    (dict(train_num=0), "train_num must be >= 1"),
    (dict(test_num=0), "test_num must be >= 1"),
    (dict(dtype=np.int32), "dtype must be a floating-point type"),
    (dict(f="nope"), "unknown toy function"),
])
def test_create_dataset_validation(kwargs, match):
    args = dict(f=lambda x: x[:, 0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        create_dataset(**args)


def test_create_dataset_rejects_bad_f_output():
    with pytest.raises(ValueError, match=r"f must return shape \(1000,\)"):
        create_dataset(lambda x: x[:10, 0])
    with pytest.raises(ValueError, match="non-finite"):
        with np.errstate(invalid="ignore"):
            create_dataset(lambda x: np.log(x[:, 0]))     # log of negatives -> nan
    with pytest.raises(TypeError, match="train_num must be an integer"):
        create_dataset(lambda x: x[:, 0], train_num=10.0)


# ---------------------------------------------------------------------------
# IDX files and MNIST (all offline: tiny files written here, a fake downloader)
# ---------------------------------------------------------------------------

def write_idx(path, array, compress=True):
    """Write a uint8 array as IDX (labels if 1-D, images if 3-D); return its bytes."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 2049 if array.ndim == 1 else 2051
    header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *array.shape))
    raw = header + array.tobytes()
    data = gzip.compress(raw, mtime=0) if compress else raw
    Path(path).write_bytes(data)
    return data


def test_read_idx_round_trip_gz_and_raw(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    write_idx(tmp_path / "im.gz", images)
    write_idx(tmp_path / "lab", labels, compress=False)
    got = read_idx(tmp_path / "im.gz")
    assert got.dtype == np.uint8 and got.flags.writeable
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_idx(tmp_path / "lab"), labels)


def test_read_idx_wrong_magic(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes((1234).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    with pytest.raises(ValueError, match=r"magic number 1234, expected 2049 .* or 2051"):
        read_idx(p)


def test_read_idx_truncated_data_and_header(tmp_path):
    p = tmp_path / "im.gz"
    data = gzip.decompress(write_idx(p, np.zeros((5, 4, 4))))
    p.write_bytes(gzip.compress(data[:-10]))
    with pytest.raises(ValueError, match=r"truncated: .*\(5, 4, 4\) \(80 bytes.* holds 70"):
        read_idx(p)
    p.write_bytes(gzip.compress(data[:6]))
    with pytest.raises(ValueError, match="too short for an IDX header"):
        read_idx(p)


def test_read_idx_gz_name_but_not_gzip_or_cut_stream(tmp_path):
    p = tmp_path / "labels.gz"
    raw = write_idx(p, np.arange(5), compress=False)
    with pytest.raises(ValueError, match="ends in .gz but is not a gzip file"):
        read_idx(p)
    p.write_bytes(gzip.compress(raw)[:-12])              # cut inside the stream
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        read_idx(p)


N_TRAIN, N_TEST = 5, 3


def make_mnist_files(folder):
    """Write tiny stand-ins for the four MNIST files; return name -> (bytes, array)."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 2, 1], dtype=np.uint8),
    }
    arrays["train-images-idx3-ubyte.gz"][0, 0, :2] = (0, 255)   # both extremes present
    return {name: (write_idx(folder / name, a), a) for name, a in arrays.items()}


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Tiny MNIST files in tmp_path/src, their checksums installed, network disabled."""
    files = make_mnist_files(tmp_path / "src")
    monkeypatch.setattr(ds, "MNIST_FILES",
                        {n: hashlib.sha256(b).hexdigest() for n, (b, _) in files.items()})
    monkeypatch.setattr(ds, "_MNIST_RAW_SHA256", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMPYKAN_DATA", raising=False)
    calls = []

    def no_network(url, timeout=None):
        calls.append(url)
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr(ds, "_urlopen", no_network)
    return {"files": files, "src": tmp_path / "src", "cache": tmp_path / "cache/numpykan/mnist",
            "calls": calls}


def test_load_mnist_from_path_scaling_and_shapes(fake_mnist):
    d = load_mnist(fake_mnist["src"])
    images = fake_mnist["files"]["train-images-idx3-ubyte.gz"][1]
    assert d["train_input"].shape == (N_TRAIN, 784) and d["train_input"].dtype == np.float32
    assert d["test_input"].shape == (N_TEST, 784)
    assert d["train_label"].dtype == np.int64
    np.testing.assert_array_equal(d["train_label"], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(d["test_label"], [7, 2, 1])
    assert d["train_input"][0, 0] == -1.0 and d["train_input"][0, 1] == 1.0
    np.testing.assert_allclose(d["train_input"], images.reshape(N_TRAIN, -1) / 127.5 - 1,
                               atol=1e-6)
    assert fake_mnist["calls"] == []


def test_load_mnist_options(fake_mnist):
    raw = load_mnist(fake_mnist["src"], flatten=False, scale=None)
    np.testing.assert_array_equal(raw["train_input"],
                                  fake_mnist["files"]["train-images-idx3-ubyte.gz"][1])
    unit = load_mnist(fake_mnist["src"], scale=(0, 1), dtype=np.float64)
    assert unit["train_input"].dtype == np.float64
    assert unit["train_input"].min() == 0.0 and unit["train_input"].max() == 1.0
    small = load_mnist(fake_mnist["src"], subset=2)
    assert small["train_input"].shape == (2, 784) and small["test_input"].shape == (2, 784)
    np.testing.assert_array_equal(small["train_label"], [5, 0])
    with pytest.raises(ValueError, match="scale must be None or a finite pair"):
        load_mnist(fake_mnist["src"], scale=(1, 0))
    with pytest.raises(ValueError, match="subset must be >= 1"):
        load_mnist(fake_mnist["src"], subset=0)


def test_load_mnist_honours_numpykan_data(fake_mnist, monkeypatch):
    monkeypatch.setenv("NUMPYKAN_DATA", str(fake_mnist["src"]))
    d = load_mnist(download=False)
    np.testing.assert_array_equal(d["test_label"], [7, 2, 1])


def test_load_mnist_accepts_uncompressed_files(fake_mnist, tmp_path, monkeypatch):
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, (data, _) in fake_mnist["files"].items():
        (folder / name[:-3]).write_bytes(gzip.decompress(data))
    monkeypatch.setattr(ds, "_MNIST_RAW_SHA256", {
        n[:-3]: hashlib.sha256(gzip.decompress(b)).hexdigest()
        for n, (b, _) in fake_mnist["files"].items()})
    d = load_mnist(folder, download=False)
    np.testing.assert_array_equal(d["train_label"], [5, 0, 4, 1, 9])


def test_corrupt_local_file_is_reported(fake_mnist):
    p = fake_mnist["src"] / "t10k-labels-idx1-ubyte.gz"
    good = ds.MNIST_FILES[p.name]
    write_idx(p, [7, 2, 2])                               # valid IDX, wrong content
    with pytest.raises(ValueError, match=rf"checksum mismatch for .*{p.name}: "
                                         rf"expected sha256 {good}, got [0-9a-f]{{64}}"):
        load_mnist(fake_mnist["src"])
    d = load_mnist(fake_mnist["src"], verify=False)      # the user's choice to accept it
    np.testing.assert_array_equal(d["test_label"], [7, 2, 2])


def serve(files, log, mirror_ok=lambda url: True, corrupt=False):
    """A fake urlopen that serves ``files`` (name -> (bytes, array))."""
    def urlopen(url, timeout=None):
        log.append(url)
        if not mirror_ok(url):
            raise OSError(f"mirror down: {url}")
        data = files[url.rsplit("/", 1)[1]][0]
        return io.BytesIO(data + b"junk" if corrupt else data)
    return urlopen


def test_download_into_cache_verified_and_atomic(fake_mnist, monkeypatch, tmp_path):
    log = []
    monkeypatch.setattr(ds, "_urlopen", serve(fake_mnist["files"], log,
                                              mirror_ok=lambda u: "googleapis" in u))
    d = load_mnist(tmp_path / "empty")
    np.testing.assert_array_equal(d["train_label"], [5, 0, 4, 1, 9])
    cache = fake_mnist["cache"]
    assert sorted(p.name for p in cache.iterdir()) == sorted(ds.MNIST_FILES)   # no .part
    assert len(log) == 8 and log[0].startswith(ds.MNIST_MIRRORS[0])            # 2 per file
    log.clear()
    load_mnist(tmp_path / "empty")                        # second time: from the cache
    assert log == []


def test_download_checksum_mismatch_leaves_no_file(fake_mnist, monkeypatch, tmp_path):
    monkeypatch.setattr(ds, "_urlopen", serve(fake_mnist["files"], [], corrupt=True))
    name = "train-images-idx3-ubyte.gz"
    with pytest.raises(ValueError, match=rf"checksum mismatch for {name} .*expected sha256 "
                                         rf"{ds.MNIST_FILES[name]}, got [0-9a-f]{{64}}"):
        load_mnist(tmp_path / "empty")
    assert list(fake_mnist["cache"].iterdir()) == []


def test_download_interrupted_mid_stream_leaves_no_file(fake_mnist, monkeypatch, tmp_path):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise KeyboardInterrupt
            return super().read(10)

    monkeypatch.setattr(ds, "_urlopen", lambda url, timeout=None: Broken(b"x" * 100))
    with pytest.raises(KeyboardInterrupt):
        load_mnist(tmp_path / "empty")
    assert list(fake_mnist["cache"].iterdir()) == []


def test_missing_files_and_no_network_names_files_and_folders(fake_mnist, tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    keep = "train-labels-idx1-ubyte.gz"
    (folder / keep).write_bytes(fake_mnist["files"][keep][0])
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(folder)
    msg = str(info.value)
    assert isinstance(info.value, OSError)
    for name in ds.MNIST_FILES:
        assert (name in msg.split("Searched")[0]) == (name != keep)
    assert str(folder) in msg and str(fake_mnist["cache"]) in msg
    assert "network disabled" in msg and "Put the four files" in msg
    assert len(fake_mnist["calls"]) == len(ds.MNIST_MIRRORS)    # gave up after one file


def test_missing_files_with_download_false_never_touch_network(fake_mnist, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_mnist(tmp_path / "empty", download=False)
    assert fake_mnist["calls"] == []


@pytest.mark.skipif(not os.environ.get("NUMPYKAN_TEST_MNIST"),
                    reason="set NUMPYKAN_TEST_MNIST to a folder with the real MNIST files")
def test_real_mnist_cross_checks():
    d = load_mnist(os.environ["NUMPYKAN_TEST_MNIST"], download=False, scale=(0.0, 1.0),
                   dtype=np.float64)
    assert d["train_input"].shape == (60000, 784) and d["test_input"].shape == (10000, 784)
    np.testing.assert_array_equal(d["train_label"][:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(np.bincount(d["train_label"]),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    np.testing.assert_array_equal(np.bincount(d["test_label"]),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert d["train_input"].mean() == pytest.approx(0.1307, abs=5e-5)
    assert d["train_input"].std() == pytest.approx(0.3081, abs=5e-5)


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

def test_gray_conversion_of_known_rgb(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0]],
                    [[0, 0, 255], [255, 255, 255]]], dtype=np.uint8)      # (2, 2, 3)
    np.save(tmp_path / "rgb.npy", rgb)
    gray = load_image(tmp_path / "rgb.npy")
    np.testing.assert_allclose(gray, [[0.299, 0.587], [0.114, 1.0]], atol=1e-15)
    rgba = np.concatenate([rgb, np.zeros((2, 2, 1), np.uint8)], axis=2)   # alpha 0
    np.save(tmp_path / "rgba.npy", rgba)
    np.testing.assert_allclose(load_image(tmp_path / "rgba.npy"), gray, atol=0)
    color = load_image(tmp_path / "rgb.npy", gray=False)
    assert color.shape == (2, 2, 3)
    np.testing.assert_array_equal(color, rgb / 255.0)


def test_png_round_trip(tmp_path):
    import matplotlib.image as mpimg

    rgb = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    mpimg.imsave(tmp_path / "im.png", rgb)
    back = load_image(tmp_path / "im.png", gray=False)
    assert back.shape[:2] == (6, 9)
    np.testing.assert_allclose(back[:, :, :3], rgb / 255.0, atol=1e-6)
    gray = load_image(tmp_path / "im.png")
    np.testing.assert_allclose(gray, rgb @ np.array(ds.LUMA_WEIGHTS) / 255.0, atol=1e-6)


def test_npy_values_and_validation(tmp_path):
    np.save(tmp_path / "f.npy", np.array([[0.0, 0.25], [0.5, 1.0]]))
    np.testing.assert_array_equal(load_image(tmp_path / "f.npy"), [[0.0, 0.25], [0.5, 1.0]])
    np.save(tmp_path / "u16.npy", np.array([[0, 65535]], dtype=np.uint16))
    np.testing.assert_array_equal(load_image(tmp_path / "u16.npy"), [[0.0, 1.0]])
    np.save(tmp_path / "big.npy", np.array([[0.0, 2.0]]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        load_image(tmp_path / "big.npy")
    with pytest.raises(ValueError, match="unsupported image type '.bmp'"):
        load_image(tmp_path / "x.bmp")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"got \(2, 2, 2, 2\)"):
        load_image(tmp_path / "cube.npy")


def test_resize_block_average_is_exact(tmp_path):
    ramp = np.tile(np.arange(8.0) / 8, (6, 1))                        # (6, 8), value c/8
    np.save(tmp_path / "ramp.npy", ramp)
    small = load_image(tmp_path / "ramp.npy", size=(3, 4))
    np.testing.assert_array_equal(small, np.tile((2 * np.arange(4) + 0.5) / 8, (3, 1)))
    np.save(tmp_path / "const.npy", np.full((10, 10, 3), 0.3))
    np.testing.assert_allclose(load_image(tmp_path / "const.npy", gray=False, size=5),
                               np.full((5, 5, 3), 0.3), atol=1e-15)


def test_resize_non_integral_factor_keeps_constants_and_mean():
    img = np.random.default_rng(2).random((10, 7))
    out = ds._resize(img, (4, 3))
    assert out.shape == (4, 3)
    assert out.mean() == pytest.approx(img.mean(), abs=1e-12)          # area-weighted
    np.testing.assert_allclose(ds._resize(np.full((10, 7), 0.6), (4, 3)), 0.6, atol=1e-12)
    # the area rule equals block averaging when the factor is integral
    np.testing.assert_allclose(ds._area_weights(6, 3) @ img[:6, :6] @ ds._area_weights(6, 2).T,
                               ds._resize(img[:6, :6], (3, 2)), atol=1e-15)
    with pytest.raises(ValueError, match="size must be"):
        ds._resize(img, (0, 3))


def test_image_dataset_coordinates_and_labels():
    img = np.arange(12, dtype=np.float64).reshape(3, 4) / 11          # (H, W) = (3, 4)
    d = image_dataset(img)
    assert d["shape"] == (3, 4)
    assert d["train_input"].shape == (12, 2) and d["train_label"].shape == (12, 1)
    np.testing.assert_array_equal(d["train_input"][0], [-1.0, -1.0])  # top-left
    np.testing.assert_array_equal(d["train_input"][3], [1.0, -1.0])   # top-right: x = 1
    np.testing.assert_array_equal(d["train_input"][-1], [1.0, 1.0])   # bottom-right
    np.testing.assert_array_equal(d["train_label"].reshape(d["shape"]), img)
    np.testing.assert_array_equal(d["test_input"], d["train_input"])


def test_image_dataset_random_split_partitions_pixels():
    img = np.random.default_rng(0).integers(0, 256, (10, 10, 3), dtype=np.uint8)   # RGB
    d = image_dataset(img, test_fraction=0.25, seed=1, dtype=np.float32)
    assert len(d["test_index"]) == 25 and len(d["train_index"]) == 75
    assert sorted(np.r_[d["train_index"], d["test_index"]]) == list(range(100))
    gray = (img @ np.array(ds.LUMA_WEIGHTS) / 255).ravel()
    np.testing.assert_allclose(d["test_label"][:, 0], gray[d["test_index"]], rtol=1e-6)
    assert d["train_input"].dtype == np.float32


@pytest.mark.parametrize("img, kwargs, match", [
    (np.zeros(5), {}, "2-D after gray conversion"),
    (np.zeros((1, 5)), {}, "at least 2 x 2"),
    (np.zeros((3, 3)), {"test_fraction": 1.0}, r"test_fraction must lie in \[0, 1\)"),
])
def test_image_dataset_validation(img, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_dataset(img, **kwargs)


def test_psnr_values():
    a = np.random.default_rng(0).random((8, 8))
    assert psnr(a, a) == np.inf
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-9)           # MSE 0.01
    assert psnr(a, a + 10.0, data_range=255.0) == pytest.approx(
        10 * np.log10(255.0 ** 2 / 100.0), rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:4])


def test_sample_image_default_is_gray_unit_range():
    img = sample_image()
    assert img.ndim == 2 and img.shape == (344, 403)
    assert img.min() == 0.0 and img.max() == 1.0
    assert sample_image(size=(172, 100)).shape == (172, 100)
    with pytest.raises(ValueError, match="unknown sample image"):
        sample_image("lena")


def test_sample_image_needs_no_pillow_and_jpeg_says_so():
    """In a fresh interpreter where ``import PIL`` fails, the default sample loads
    and a JPEG gives an ImportError that says how to fix it."""
    code = textwrap.dedent(f"""
        import importlib.util, sys
        sys.modules["PIL"] = None                       # any `import PIL...` now fails
        spec = importlib.util.spec_from_file_location("d", {ds.__file__!r})
        d = importlib.util.module_from_spec(spec); spec.loader.exec_module(d)
        img = d.sample_image()
        assert img.ndim == 2 and 0.0 <= img.min() and img.max() <= 1.0, img.shape
        try:
            d.sample_image("grace_hopper")
        except ImportError as err:
            assert "install Pillow" in str(err)
            assert ".png/.npy" in str(err)
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
