"""Plots render, save a non-blank PNG, and show what they claim."""

import numpy as np
import pytest

import numpykan as nk

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def _non_white_fraction(path):
    img = mpimg.imread(path)                                   # (H, W, 3 or 4) floats in [0, 1]
    rgb = img[..., :3]
    return float(np.mean(np.any(rgb < 0.9, axis=-1)))


@pytest.mark.parametrize("width", [[2, 5, 1], [3, 2, 2, 1], [4, 1]])
def test_plot_network_renders_and_saves(tmp_path, width):
    model = nk.KAN(width, grid=4, seed=0)
    path = tmp_path / "net.png"
    fig = model.plot(path=path, in_vars=[f"x{i}" for i in range(width[0])],
                     out_vars=[f"y{j}" for j in range(width[-1])], title="net")
    assert path.stat().st_size > 1000
    assert 0.005 < _non_white_fraction(path) < 0.9
    insets = len(fig.axes) - 1                                 # one inset per live edge
    assert insets == sum(a * b for a, b in zip(width[:-1], width[1:]))
    plt.close(fig)


def test_plot_network_leaves_out_pruned_edges_and_marks_formulas(tmp_path):
    model = nk.KAN([2, 3, 1], grid=4, seed=0)
    model.layers[0].mask[0, 1] = 0                             # pruned edge
    model.fix_symbolic(0, 1, 2, "sin")
    x = np.random.default_rng(0).uniform(-1, 1, (64, 2))
    fig = model.plot(x=x)
    assert len(fig.axes) - 1 == 2 * 3 + 3 - 1
    titles = [ax.get_title() for ax in fig.axes[1:]]
    assert titles.count("sin") == 1
    plt.close(fig)


def test_plot_edge_draws_the_edge_curve(tmp_path):
    model = nk.KAN([2, 2, 1], grid=5, seed=0)
    x = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    path = tmp_path / "edge.png"
    fig = model.plot_edge(0, 1, 0, x=x, path=path)
    line = fig.axes[0].lines[0]
    xs, ys = line.get_data()
    layer = model.layers[0]
    expected = layer.activations(np.stack([xs, xs], axis=1))[:, 1, 0]
    np.testing.assert_allclose(ys, expected, atol=1e-12)
    assert _non_white_fraction(path) > 0.005
    plt.close(fig)


def test_plot_names_must_match_widths():
    with pytest.raises(ValueError, match="expected 2 names"):
        nk.KAN([2, 1], grid=3).plot(in_vars=["x"])


def test_plot_history_says_what_each_curve_shows():
    """Legends and axis name the quantity (MSE, RMSE, accuracy), not the raw dict keys."""
    data = nk.create_dataset(lambda x: x[:, :1] ** 2, n_var=2, train_num=30, test_num=10, seed=0)
    h = nk.KAN([2, 3, 1], seed=0).fit(data, steps=4, log=2, verbose=False)
    fig = nk.plot.plot_history(h)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train MSE (mean of the batches)", "test MSE (whole test set)"]
    assert ax.get_ylabel() == "MSE" and ax.get_xlabel() == "optimizer step"
    plt.close(fig)
    fig = nk.plot.plot_history(h, keys=("train_rmse", "test_rmse"), label="KAN ")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "RMSE"
    assert ax.get_legend().get_texts()[1].get_text() == "KAN test RMSE (whole test set)"
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), h["test_rmse"])
    plt.close(fig)
    fig = nk.plot.plot_history(h, keys=("train_loss", "reg"))
    assert fig.axes[0].get_ylabel() == "value"                 # two quantities on one axis
    plt.close(fig)
