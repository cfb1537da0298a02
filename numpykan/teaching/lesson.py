"""What every lesson shares: the QUICK switch, the figure folder, savefig, progress, YourTurn.

A lesson imports these from the package (``from numpykan.teaching.lesson import
QUICK, savefig``), so that it runs alone: copied into an empty folder, opened
as a notebook, or uploaded to a hosted notebook service.

- ``QUICK`` is true when the environment variable ``QUICK`` is set to anything
  but ``""`` or ``"0"``: tiny data and few steps, what the tests run.
- ``OUT`` is the figure folder: ``$NUMPYKAN_TUTORIAL_OUT``, or a new temporary
  folder. Nothing is written to the working directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

__all__ = ["QUICK", "OUT", "figure_folder", "savefig", "progress", "YourTurn"]

QUICK = os.environ.get("QUICK", "0") not in ("", "0")        # small and fast, for the tests
_out = []


def figure_folder():
    """The figure folder ``OUT``, made on first use (so importing numpykan creates nothing)."""
    if not _out:
        out = os.environ.get("NUMPYKAN_TUTORIAL_OUT") or tempfile.mkdtemp(prefix="numpykan-tutorial-")
        os.makedirs(out, exist_ok=True)
        _out.append(out)
    return _out[0]


def __getattr__(name):              # ``from numpykan.teaching.lesson import OUT``: made on first use
    if name == "OUT":
        return figure_folder()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class YourTurn(NotImplementedError):
    """Raised by an exercise stub that the student has not written yet.

    Examples
    --------
    >>> def cox_de_boor(x, t, m, p):
    ...     raise YourTurn("cox_de_boor")
    >>> cox_de_boor(0.0, [0, 1], 0, 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    numpykan.teaching.lesson.YourTurn: your turn: write `cox_de_boor` ...
    """

    def __init__(self, name="this function"):
        self.name = name
        super().__init__(
            f"your turn: write `{name}` in its exercise cell (replace the `raise YourTurn(...)` "
            f"line with your code), run that cell again, then this one. "
            f"Check your function with `numpykan grade NN your_file` (NN: the lesson number).")


def savefig(fig, name):
    """Save ``fig`` as ``OUT/name``; show it in a notebook (inline backend), else close it."""
    import matplotlib
    import matplotlib.pyplot as plt

    path = os.path.join(figure_folder(), name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print("figure saved to", path)
    backend = matplotlib.get_backend().lower()
    if "inline" in backend or "ipympl" in backend or "widget" in backend:
        plt.show()
    else:
        plt.close(fig)
    return path


def progress(total, every=None, label="step", stream=None):
    """A ``fit(..., callback=...)`` that prints a progress line every ``every`` steps.

    Parameters
    ----------
    total : int
        Number of optimizer steps the fit will take (for the ``n/total`` display).
    every : int, optional
        Print every ``every`` steps; default ``max(1, total // 5)`` (five lines).
    label : str
        Printed before the counter, e.g. ``"KAN step"``.
    stream : file, optional
        Default ``sys.stdout`` (a notebook shows it under the cell).

    Returns
    -------
    callable
        ``callback(step, model, loss)``; ``step`` counts from 1 or 0, both work.
    """
    every = max(1, int(total) // 5) if every is None else max(1, int(every))
    t0 = time.perf_counter()
    seen = [0]

    def callback(step, model, loss):
        seen[0] += 1
        n = seen[0]
        if n % every == 0 or n == total:
            out = stream or sys.stdout
            out.write(f"  {label} {n:>6d}/{total}  loss {float(loss):.3e}  "
                      f"({time.perf_counter() - t0:.1f} s)\n")
            out.flush()
    return callback
