"""Pictures: loading, gray conversion, resizing, coordinate datasets, PSNR."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import numpykan.images as ds
from numpykan.images import image_dataset, load_image, psnr, sample_image

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
    code = textwrap.dedent("""
        import sys
        sys.modules["PIL"] = None                       # any `import PIL...` now fails
        import numpykan.images as d
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


def test_size_for_short_side_keeps_aspect():
    assert ds.size_for_short_side((512, 512), 256) == (256, 256)
    assert ds.size_for_short_side((617, 778), 256) == (256, 323)     # The Starry Night
    assert ds.size_for_short_side((778, 617), 256) == (323, 256)
    with pytest.raises(ValueError, match="short_side must be an int >= 1"):
        ds.size_for_short_side((4, 4), 0)


def test_holdout_lattice_partitions_and_surrounds():
    mask = ds.holdout_mask((7, 10), 2)
    assert mask.sum() == 3 * 5 and mask[1, 1] and not mask[0, 0] and not mask[1, 2]
    r, c = np.nonzero(mask)
    padded = np.pad(mask, 1)
    for dr in (-1, 0, 1):                                  # no two held-out pixels touch
        for dc in (-1, 0, 1):
            if dr or dc:
                assert not padded[r + 1 + dr, c + 1 + dc].any()
    assert ds.holdout_mask((9, 9), 3).sum() == 9            # block centres
    img = np.random.default_rng(0).random((7, 10))
    d = image_dataset(img, holdout_every=2)
    assert sorted(np.r_[d["train_index"], d["test_index"]]) == list(range(70))
    np.testing.assert_array_equal(d["test_index"], np.flatnonzero(mask.ravel()))
    np.testing.assert_array_equal(d["test_label"][:, 0], img[mask])
    np.testing.assert_array_equal(d["test_input"], ds.pixel_coordinates((7, 10))[mask.ravel()])
    with pytest.raises(ValueError, match="holdout_every must be an int >= 2"):
        image_dataset(img, holdout_every=1)
    with pytest.raises(ValueError, match="not both"):
        image_dataset(img, holdout_every=2, test_fraction=0.1)


def test_colour_dataset_has_three_outputs():
    rgba = np.random.default_rng(0).integers(0, 256, (4, 5, 4), dtype=np.uint8)
    d = image_dataset(rgba, gray=False)
    assert d["train_label"].shape == (20, 3)                 # alpha dropped
    np.testing.assert_array_equal(d["train_label"], rgba[:, :, :3].reshape(20, 3) / 255)
    gray = image_dataset(rgba[:, :, 0], gray=False)          # a gray picture stays one output
    assert gray["train_label"].shape == (20, 1)


def test_neighbour_mean_baseline():
    from numpykan.experiments import neighbour_mean
    img = np.arange(25, dtype=float).reshape(5, 5)           # linear: the mean is exact inside
    mask = ds.holdout_mask(img.shape, 2)
    np.testing.assert_allclose(neighbour_mean(img, mask)[:, 0], img[mask])
    corner = np.zeros((3, 3), bool)
    corner[0, 0] = True                                      # two neighbours only
    assert neighbour_mean(img[:3, :3], corner)[0, 0] == (img[0, 1] + img[1, 0]) / 2
