"""IDX files and MNIST, all offline: tiny files written here and a fake downloader."""

import gzip
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

import numpykan.mnist as ds
from numpykan.mnist import DatasetNotFoundError, load_mnist, read_idx

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
