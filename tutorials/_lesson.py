"""What every lesson shares: the QUICK switch, the figure folder, and savefig.

A lesson runs as ``python tutorials/NN_name.py`` or as a notebook opened in this
folder; either way this file sits next to it and is imported as ``_lesson``.
"""

import os
import tempfile

import matplotlib
import matplotlib.pyplot as plt

QUICK = os.environ.get("QUICK", "0") not in ("", "0")       # small and fast, for the tests
OUT = os.environ.get("NUMPYKAN_TUTORIAL_OUT") or tempfile.mkdtemp(prefix="numpykan-tutorial-")
os.makedirs(OUT, exist_ok=True)


def savefig(fig, name):
    """Save a figure into OUT; show it when running interactively (a notebook), else close it."""
    path = os.path.join(OUT, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print("figure saved to", path)
    if "inline" in matplotlib.get_backend() or "ipympl" in matplotlib.get_backend():
        plt.show()
    else:
        plt.close(fig)
