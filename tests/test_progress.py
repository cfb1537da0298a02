"""Tests of numpykan.training.progress and fit(verbose=True): one line on a terminal, plain lines in logs."""

import io
import re

import numpy as np
import pytest

import numpykan as nk
from numpykan.training.progress import Progress, format_seconds


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


class Clock:
    """A fake clock: ``tick`` seconds per call."""

    def __init__(self, tick):
        self.t, self.tick = 0.0, tick

    def __call__(self):
        self.t += self.tick
        return self.t


@pytest.fixture(scope="module")
def data():
    return nk.create_dataset(lambda x: np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2, n_var=2,
                             train_num=60, test_num=30, seed=0)


@pytest.mark.parametrize("s, text", [(0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3600, "1:00:00"),
                                     (3725, "1:02:05"), (None, "?"), (float("inf"), "?")])
def test_format_seconds(s, text):
    assert format_seconds(s) == text


def test_line_shows_epoch_step_losses_rate_elapsed_and_time_left():
    p = Progress(100, io.StringIO(), per_epoch=10, loss_name="mse", clock=Clock(0.0))
    text = p.line(25, train=1.5e-3, test=2.5e-3, now=5.0)
    assert text == ("epoch 3/10 | step 25/100 (25%) | train mse 1.50e-03 | test mse 2.50e-03 | "
                    "5.0 steps/s | 0:05 elapsed, 0:15 left")


def test_not_a_terminal_gives_plain_lines_per_tenth_and_the_last():
    out = io.StringIO()
    p = Progress(100, out, clock=Clock(2.0))           # 2 s per step: every tenth is due
    for step in range(1, 101):
        p.update(step, train=1.0)
    p.close()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert [int(re.search(r"step (\d+)/", l).group(1)) for l in lines] == list(range(10, 101, 10))


def test_not_a_terminal_short_run_writes_only_the_last_line():
    out = io.StringIO()
    p = Progress(1000, out, clock=Clock(1e-4))         # 0.1 s in all
    for step in range(1, 1001):
        p.update(step)
    assert out.getvalue().count("\n") == 1 and "step 1000/1000" in out.getvalue()


def test_not_a_terminal_long_run_writes_every_log_every_seconds():
    out = io.StringIO()
    p = Progress(10 ** 6, out, log_every_seconds=30, clock=Clock(1.0))   # a tenth takes 1e5 s
    for step in range(1, 301):
        p.update(step)
    assert len(out.getvalue().splitlines()) == 300 // 30


def test_terminal_redraws_one_line():
    out = Terminal()
    p = Progress(50, out, clock=Clock(0.2))
    for step in range(1, 51):
        p.update(step)
    p.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 50                      # each redraw is due at 0.2 s per step
    assert "step 50/50 (100%)" in text.split("\r")[-1]


def test_fit_verbose_writes_to_the_stream(data):
    out = io.StringIO()
    nk.KAN([2, 3, 1], seed=0).fit(data, steps=20, log=5, verbose=True, progress_stream=out)
    last = out.getvalue().splitlines()[-1]
    assert re.fullmatch(r"step 20/20 \(100%\) \| train mse \S+ \| test mse \S+ \| \S+ steps/s \| "
                        r"\d+:\d\d elapsed, \d+:\d\d left", last), last


def test_fit_verbose_shows_epochs_and_ce(data):
    out = io.StringIO()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 2))
    ds = {"train_input": x, "train_label": (x[:, 0] > 0).astype(int)}
    nk.KAN([2, 3, 2], seed=0).fit(ds, epochs=2, batch=10, loss="ce", verbose=True,
                                  progress_stream=out)
    assert out.getvalue().splitlines()[-1].startswith("epoch 2/2 | step 8/8 (100%) | train ce ")


def test_fit_quiet_by_default_off_a_terminal(data, capsys):
    nk.KAN([2, 3, 1], seed=0).fit(data, steps=3, progress_stream=io.StringIO())
    out = io.StringIO()
    nk.KAN([2, 3, 1], seed=0).fit(data, steps=3, progress_stream=out)
    assert out.getvalue() == ""
    term = Terminal()
    nk.KAN([2, 3, 1], seed=0).fit(data, steps=3, progress_stream=term)
    assert "step 3/3" in term.getvalue()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, error", [(dict(progress_stream=3), TypeError),
                                           (dict(log_every_seconds=0), ValueError)])
def test_fit_refuses_bad_progress_arguments(data, kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        nk.KAN([2, 3, 1], seed=0).fit(data, steps=3, verbose=True, **kwargs)
