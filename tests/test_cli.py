"""Tests of the ``numpykan`` command."""

import re

import pytest

from numpykan.cli import main


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


def test_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "demo" in text
    assert "usage: numpykan" in text


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_unknown_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
