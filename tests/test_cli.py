"""Tests of the ``numpykan`` command: the demo, one-line errors, --version, offline quick runs.

Every test here runs with the network off (``offline`` below): MNIST's download
function and socket connections raise, the MNIST cache points into ``tmp_path``
and ``$NUMPYKAN_DATA`` is unset, so nothing can reach the network or the real data.
"""

import io
import json
import re
import socket

import matplotlib.font_manager  # noqa: F401  (matplotlib sets up its cache folder now, not inside
import pytest                   # a test whose XDG_CACHE_HOME is that test's own tmp_path/cache)

import numpykan as nk
from numpykan import mnist as ds
from numpykan.cli import main
from numpykan.data.standin import STANDIN_LABEL
from numpykan.experiments import EXPERIMENTS, Progress


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No network, no real data, and a cache folder of the test's own."""
    def no_network(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(ds, "_urlopen", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMPYKAN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)                     # default output folders land here
    return tmp_path


def test_demo(tmp_path, capsys):
    out = tmp_path / "d.png"
    assert main(["demo", "--steps", "60", "--out", str(out)]) == 0
    fit_png = tmp_path / "d-fit.png"
    for path in (out, fit_png):
        assert path.exists()
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 1000
    text = capsys.readouterr().out
    match = re.search(r"final test RMSE ([0-9.eE+-]+)", text)
    assert match, text
    rmse = float(match.group(1))
    assert 0 < rmse < 1.0                                       # 60 Adam steps: measured ~0.3
    lines = re.findall(r"step +(\d+) +train RMSE (\S+) +test RMSE (\S+)", text)
    assert [int(s) for s, _, _ in lines] == list(range(6, 61, 6))   # every steps // 10
    assert float(lines[-1][2]) == pytest.approx(rmse, rel=1e-3)      # the same RMSE as printed


def test_demo_fit_figure_takes_the_format_of_out(tmp_path):
    assert main(["demo", "--steps", "5", "--quiet", "--out", str(tmp_path / "d.svg")]) == 0
    assert (tmp_path / "d-fit.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "d.svg").stat().st_size > 1000


def test_demo_quiet_prints_no_loss_lines(tmp_path, capsys):
    assert main(["demo", "--steps", "20", "--quiet", "--out", str(tmp_path / "q.png")]) == 0
    text = capsys.readouterr().out
    assert "train RMSE" not in text and "final test RMSE" in text


def test_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "demo" in text
    assert "usage: numpykan" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"numpykan {nk.__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


FAILURES = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["demo", "--steps", "-3"], "argument --steps: must be an integer >= 1, got -3"),
    (["demo", "--steps", "many"], "argument --steps: expected an integer, got 'many'"),
    (["demo", "--out", "nodir/x.png"], "--out nodir/x.png: the folder nodir does not exist"),
    (["demo", "--out", "notes.txt"], "--out notes.txt: matplotlib cannot write .txt figures"),
    (["demo", "--out", "plot"], "--out plot: no file extension"),
    (["demo", "--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
    (["reproduce"], "the following arguments are required: EXPERIMENT"),
    (["reproduce", "xy", "--seeds", "0"], "argument --seeds: must be an integer >= 1, got 0"),
    (["reproduce", "xy", "--batch", "0"], "argument --batch: must be -1 (full batch)"),
    (["reproduce", "mnist"], "MNIST not found"),
    (["reproduce", "mnist", "--data", "empty"], "MNIST not found"),
    (["reproduce", "image", "--image", "missing.png"], "--image missing.png: "),
    (["reproduce", "image", "--image", "notes.txt"],
     "--image notes.txt: unsupported image type '.txt'; use .npy, .png"),
    (["reproduce", "image", "--image", "bad.png"], "--image bad.png: not a readable PNG image"),
    (["reproduce", "image", "--holdout-every", "1"],
     "argument --holdout-every: must be an integer >= 2, got 1"),
    (["reproduce", "xy", "--out", "notes.txt"], "--out notes.txt is a file, not a folder"),
    (["reproduce", "xy", "--out", "notes.txt/sub"], "--out notes.txt/sub: cannot create the folder"),
    (["reproduce", "poisson", "--epochs", "3"],
     "unrecognized arguments: --epochs 3 (see numpykan reproduce poisson --help)"),
    (["reproduce", "poisson", "--steps", "0"], "argument --steps: must be an integer >= 1, got 0"),
    (["grade", "99"], "argument lesson: lesson 99 has no graded exercises"),
    (["grade", "abc"], "argument lesson: lesson must be a number such as 3 or 03, got 'abc'"),
    (["grade", "03", "missing.py"], "no such file: missing.py"),
    (["grade", "all", "notes.txt"], "numpykan grade all takes no file"),
    (["course", "build", "--out", "course", "--lessons", "xx"], "--lessons takes lesson numbers"),
    (["course", "build", "--out", "course/new", "--lessons-dir", "nowhere"],
     "the lessons folder nowhere does not exist"),
]


@pytest.mark.parametrize("argv, message", FAILURES, ids=[" ".join(a) for a, _ in FAILURES])
def test_mistakes_end_in_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("numpykan: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert "step" not in captured.out and not re.search(r"epoch \d+/", captured.err)  # no training
    assert sorted(p.name for p in tmp_path.iterdir()) == before        # no folder left behind


def test_mnist_not_found_speaks_of_data_option(capsys):
    assert main(["reproduce", "mnist", "--data", "elsewhere"]) == 2
    err = capsys.readouterr().err
    assert "--data DIR" in err and "elsewhere" in err and "--quick" in err
    assert "download=True" not in err and "path argument" not in err


def test_mnist_failed_download_leaves_no_cache_folder(tmp_path):
    with pytest.raises(ds.DatasetNotFoundError) as info:
        nk.load_mnist()
    assert not (tmp_path / "cache").exists()
    assert info.value.missing and info.value.download_errors and info.value.cache


def test_out_folder_is_created_first_and_kept(tmp_path):
    assert main(["reproduce", "kan-vs-mlp", "--quick", "--quiet", "--seeds", "1",
                 "--out", "deep/er/folder"]) == 0
    assert (tmp_path / "deep/er/folder/results.md").is_file()


def test_out_folder_exists_when_the_work_starts(tmp_path, monkeypatch):
    seen = []

    def run(out=None, quick=False, **kwargs):
        seen.append((tmp_path / "new/folder").is_dir())
        raise KeyboardInterrupt                          # stopped at once: nothing was written

    monkeypatch.setitem(EXPERIMENTS, "xy", run)
    assert main(["reproduce", "xy", "--quick", "--out", "new/folder"]) == 130
    assert seen == [True]
    assert not (tmp_path / "new").exists()                 # and removed again, being empty


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_every_quick_run_is_offline_and_stamped(experiment, tmp_path, capsys):
    """No data, no network: every experiment's --quick runs, shows progress, says it was a quick run."""
    assert main(["reproduce", experiment, "--quick"]) == 0
    out = tmp_path / "numpykan-results" / experiment
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["quick"] is True
    assert (out / "results.md").read_text().startswith(
        f"# numpykan reproduce {experiment} (quick run)")
    assert any(name.endswith(".png") for name in results["files"])
    for name in results["files"]:
        assert (out / name).stat().st_size > 0
    captured = capsys.readouterr()
    text = captured.out
    assert "quick run" in text
    progress = {"image": "KAN seed 0 | epoch 1/", "poisson": None}.get(experiment, "| step ")
    if progress is None:                                 # L-BFGS stages: a line per stage
        assert text.count(f"numpykan reproduce {experiment}: seed 0 G = ") == 2
    else:
        assert progress in captured.err and "left" in captured.err, captured.err
    if experiment == "mnist":
        assert results["config"]["synthetic"] is True
        assert STANDIN_LABEL in text and "not MNIST" in results["config"]["data"]


@pytest.mark.parametrize("experiment", ["xy", "image"])
def test_quiet_turns_progress_off(experiment, capsys):
    assert main(["reproduce", experiment, "--quick", "--quiet", "--seeds", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "numpykan reproduce" in captured.out


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def _feed(progress, epochs):
    for e in range(1, epochs + 1):
        progress.epoch(e, epochs, {"train_loss": 0.5 / e, "seconds": 0.01,
                                   "eval": {"train_psnr": 20.0 + e, "heldout_psnr": 19.0 + e}})
    progress.close()


def test_progress_rewrites_one_line_on_a_terminal():
    stream = _Stream(tty=True)
    _feed(Progress("KAN seed 0", stream=stream), 5)
    text = stream.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and text.count("\n") == 1
    assert "epoch 5/5" in text and "held-out 24.00 dB" in text and "left" in text


def test_progress_prints_plain_periodic_lines_elsewhere():
    stream = _Stream(tty=False)
    _feed(Progress("MLP seed 0", stream=stream, interval=3600), 50)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 2                                      # first and last epoch only
    assert lines[0].startswith("MLP seed 0 | epoch 1/50") and "epoch 50/50" in lines[1]
    stream = _Stream(tty=False)
    _feed(Progress("off", enabled=False, stream=stream), 3)
    assert stream.getvalue() == ""
