"""Run every tutorial headless in QUICK mode; check the course's structure.

Each tutorial is a jupytext percent-format script whose ``assert`` checkpoints
state what the reader should see. Here each one runs as a subprocess (a fresh
interpreter, as a reader would run it) with ``QUICK=1``, ``MPLBACKEND=Agg``, the
working directory a temporary folder and figures written to another; it must
exit 0 and save at least one figure.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
LESSONS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))


def _env(out):
    env = dict(os.environ)
    env.update(QUICK="1", MPLBACKEND="Agg", NUMPYKAN_TUTORIAL_OUT=str(out))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("MNIST_FULL", None)
    # Small matrices: one BLAS thread is faster, and avoids oversubscribing shared CPUs.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def test_lessons_found():
    assert len(LESSONS) >= 9
    numbers = [int(p.name[:2]) for p in LESSONS]
    # lessons written on parallel branches keep the numbers they were given, so a number
    # may be missing until every branch has landed; none may repeat
    assert numbers[0] == 1 and len(set(numbers)) == len(numbers), \
        f"lessons must be numbered 01, 02, ... without repeats: {numbers}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_tutorial_runs_quick(path, tmp_path):
    out = tmp_path / "figures"
    work = tmp_path / "cwd"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(path)], cwd=work, env=_env(out),
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, (
        f"{path.name} failed (exit {proc.returncode})\n--- stdout (tail)\n{proc.stdout[-3000:]}"
        f"\n--- stderr (tail)\n{proc.stderr[-3000:]}")
    figures = sorted(p.name for p in out.glob("*.png"))
    assert figures, f"{path.name} saved no figure into NUMPYKAN_TUTORIAL_OUT"
    assert all(p.name.startswith(path.name[:2]) for p in out.glob("*.png")), figures
    assert not list(work.iterdir()), f"{path.name} wrote into the working directory: {list(work.iterdir())}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_tutorial_structure(path):
    text = path.read_text()
    cells = re.findall(r"^# %%(.*)$", text, flags=re.M)
    assert len(cells) >= 6, f"{path.name}: expected a jupytext percent-format file with many cells"
    assert cells[0].strip() == "[markdown]", f"{path.name} must open with a markdown cell"
    assert "**Goals.**" in text, f"{path.name}: goals at the top"
    assert "## Summary" in text and "## Exercises" in text, f"{path.name}: closing Summary and Exercises"
    assert re.search(r"^assert ", text, flags=re.M), f"{path.name}: assert checkpoints"
    assert "import numpykan" in text


def test_readme_lists_every_lesson_in_order():
    readme = (TUTORIALS / "README.md").read_text()
    positions = [readme.find(p.name) for p in LESSONS]
    assert all(pos >= 0 for pos in positions), [p.name for p, pos in zip(LESSONS, positions) if pos < 0]
    assert positions == sorted(positions), "README must list the lessons in order"
    assert "jupytext --to notebook" in readme


def test_no_notebooks_committed():
    assert not list(TUTORIALS.glob("*.ipynb")), "notebooks are generated from the .py files, not committed"
