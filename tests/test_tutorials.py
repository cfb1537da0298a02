"""Run every tutorial headless in QUICK mode; check the course's structure.

Each tutorial is a jupytext percent-format script whose ``assert`` checkpoints
state what the reader should see. Here each one is copied alone into an empty
folder and runs there as a subprocess (a fresh interpreter, as a reader would
run it) with ``QUICK=1`` and ``MPLBACKEND=Agg``, figures written to another
folder; it must exit 0, save at least one figure and leave the folder as it was.
Running a lesson runs its solutions: every exercise cell's solution and every
``solution`` cell (the student build removes them, tests/test_course.py).
"""

import os
import re
import shutil
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
    shutil.copy(path, work / path.name)                      # alone: no file of tutorials/ beside it
    proc = subprocess.run([sys.executable, path.name], cwd=work, env=_env(out),
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, (
        f"{path.name} failed (exit {proc.returncode})\n--- stdout (tail)\n{proc.stdout[-3000:]}"
        f"\n--- stderr (tail)\n{proc.stderr[-3000:]}")
    figures = sorted(p.name for p in out.glob("*.png"))
    assert figures, f"{path.name} saved no figure into NUMPYKAN_TUTORIAL_OUT"
    assert all(p.name.startswith(path.name[:2]) for p in out.glob("*.png")), figures
    left = sorted(p.name for p in work.iterdir())
    assert left == [path.name], f"{path.name} wrote into the working directory: {left}"


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
    assert "_lesson" not in text, f"{path.name} imports a file beside it; use numpykan.teaching.lesson"
    assert re.search(r"\*\*Running time\.\*\* About \d+ s in full mode", text), \
        f"{path.name}: state the measured full-mode running time"
    assert "## Solutions" not in text or re.search(r'^# %% \[markdown\] tags=\["solution"\]\n# ## Solutions',
                                                   text, flags=re.M), \
        f"{path.name}: the Solutions heading must sit in a solution cell (the student build drops it)"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_exercise_cells_are_well_formed(path):
    from numpykan.teaching.course import student_source
    from numpykan.teaching.grader import read_cells

    cells = read_cells(path)
    for cell in cells:
        if "exercise" in cell.tags:
            assert cell.kind == "code", f"{path.name}: an exercise cell must be code (line {cell.line})"
            stub = student_source(cell.source)                  # raises on a broken region
            assert "raise YourTurn(" in stub, f"{path.name}: exercise cell at line {cell.line} has no solution region"
    if any("exercise" in c.tags for c in cells):
        assert "YourTurn" in cells[1].source or "YourTurn" in next(c.source for c in cells if c.kind == "code"), \
            f"{path.name}: the first code cell must import YourTurn for the stubs"


def test_readme_lists_every_lesson_in_order():
    readme = (TUTORIALS / "README.md").read_text()
    positions = [readme.find(p.name) for p in LESSONS]
    assert all(pos >= 0 for pos in positions), [p.name for p, pos in zip(LESSONS, positions) if pos < 0]
    assert positions == sorted(positions), "README must list the lessons in order"
    assert "jupytext --to notebook" in readme


def test_no_notebooks_committed():
    """Ask git what it tracks: notebooks a teacher generated beside the lessons are fine."""
    proc = subprocess.run(["git", "ls-files", "--", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout ({proc.stderr.strip()})")
    tracked = proc.stdout.split()
    assert not tracked, f"notebooks are generated from the .py files, not committed: {tracked}"
