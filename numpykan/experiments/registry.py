"""The registry behind ``numpykan reproduce EXPERIMENT``: one entry per experiment.

Each experiment module calls :func:`register` once with its run function, a help
line and a function adding its own options to its subparser; the parser gets one
subcommand per entry, in the order of registration. Every option's ``dest`` is the
run function's parameter name, so the command passes on whatever the user gave
(options left at None are not passed, and the function's own default applies).
Common to all: ``--out``, ``--quick``, ``--quiet`` (``verbose=False``, for the run
functions that take ``verbose``). To add an experiment: write ``run_NAME(out=None,
quick=False, ...)`` returning the results dict (see :mod:`.common`), call
``register("NAME", run_NAME, "help", options)`` at the end of its module, and
import that module in ``numpykan/experiments/__init__.py``.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np

from .common import default_out

__all__ = ["EXPERIMENTS", "CLI_OPTIONS", "register", "add_reproduce_parser", "positive_int"]

EXPERIMENTS = {}
"""name -> run function, in the order of registration."""

CLI_OPTIONS = {}
"""name -> (help line, function adding the experiment's options to its subparser, or None)."""


def register(name, run, help, options=None):
    """Make ``run`` the experiment ``numpykan reproduce NAME``; ``options(p)`` adds its flags."""
    EXPERIMENTS[name] = run
    CLI_OPTIONS[name] = (help, options)
    return run


def positive_int(text, minimum=1):
    """argparse type: an int >= ``minimum``, with a message in the CLI's words."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
    return value


def batch_size(text):
    """argparse type: -1 (full batch) or an int >= 1."""
    value = positive_int(text, minimum=-1)
    if value == 0:
        raise argparse.ArgumentTypeError("must be -1 (full batch) or an integer >= 1, got 0")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def unit_float(text):
    """argparse type: a number in [0, 1]."""
    value = nonnegative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text}")
    return value


def _training_options(p, seeds, epochs, batch, dtype):
    p.add_argument("--seeds", type=positive_int, default=None,
                   help=f"number of seeds 0..N-1 (default {seeds})")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"epochs (default {epochs})")
    p.add_argument("--batch", type=batch_size, default=None,
                   help=f"batch size, -1 for full batch (default {batch})")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help=f"default {dtype}")


_COMMON = ("out", "quick", "quiet", "command", "experiment", "func")


def _cmd_reproduce(args):
    run = EXPERIMENTS[args.experiment]
    kwargs = {key: v for key, v in vars(args).items() if key not in _COMMON and v is not None}
    if kwargs.get("holdout_every") == 0:                          # --no-holdout
        kwargs["holdout_every"] = None
    if "verbose" in inspect.signature(run).parameters:
        kwargs["verbose"] = not args.quiet
    results = run(out=args.out, quick=args.quick, **kwargs)
    out = Path(default_out(args.experiment) if args.out is None else args.out)
    print((out / "results.md").read_text())
    print(f"wrote {', '.join(results['files'])} to {out}")
    return 0


def add_reproduce_parser(sub):
    """Add ``reproduce EXPERIMENT`` (one subcommand per entry of EXPERIMENTS) to ``sub``."""
    rep = sub.add_parser("reproduce", help="rerun an experiment of the KAN report",
                         description="Rerun an experiment of the KAN report; writes figures, "
                                     "results.json and results.md to --out.")
    exps = rep.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name in EXPERIMENTS:
        help_, options = CLI_OPTIONS[name]
        p = exps.add_parser(name, help=help_, description=help_)
        p.add_argument("--out", default=None,
                       help=f"output folder, created if missing (default {default_out(name)})")
        p.add_argument("--quick", action="store_true",
                       help="tiny sizes, a few seconds, offline (for tests; numbers mean "
                            "nothing, and outputs say so)")
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        if options is not None:
            options(p)
        p.set_defaults(func=_cmd_reproduce)
    return rep
