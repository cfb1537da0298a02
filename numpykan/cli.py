"""The ``numpykan`` command.

``numpykan demo`` trains a small KAN in seconds and saves a figure;
``numpykan reproduce EXPERIMENT`` reruns one of the report's experiments
(see docs/RESULTS.md); ``numpykan --help`` lists the commands.

Everything the user got wrong (an option's value, a missing file, data that cannot
be found) ends in one line, ``numpykan: error: ...``, and exit status 2, before any
training where it can be known before; a traceback means a bug in numpykan.
Progress lines go to stderr (``--quiet`` turns them off), results to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from .experiments import DataError, add_reproduce_parser, default_out, positive_int

__all__ = ["main", "build_parser", "CLIError"]

PROG = "numpykan"


class CLIError(Exception):
    """A mistake of the user's, said in the command line's words (one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line, ``numpykan: error: ...`` (subcommands inherit it)."""

    def error(self, message):
        command = self.prog[len(PROG):].strip()
        hint = f" (see {PROG} {command + ' ' if command else ''}--help)"
        raise CLIError(message + hint)


def exp_sin(x):
    """``f(x, y) = exp(sin(pi x) + y^2)``, the KAN paper's running example."""
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def _writable_file(path, option):
    """Refuse an output file whose folder is missing or not writable, or a figure format
    matplotlib cannot write (before any work)."""
    folder = Path(path).parent if str(Path(path).parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"{option} {path}: the folder {folder} does not exist; create it first "
                       "or choose another path")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{option} {path}: the folder {folder} is not writable")
    if Path(path).is_dir():
        raise CLIError(f"{option} {path} is a folder; give a file name such as "
                       f"{Path(path) / 'numpykan-demo.png'}")
    from matplotlib.figure import Figure
    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower()[1:]
    if suffix not in formats:
        raise CLIError(f"{option} {path}: " + (f"matplotlib cannot write .{suffix} figures"
                                               if suffix else "no file extension")
                       + "; use .png (or .pdf, .svg, .jpg)")


def cmd_demo(args):
    from . import KAN, create_dataset
    from .interpretation.plot import plot_fit_2d, pyplot

    _writable_file(args.out, "--out")
    out = Path(args.out)
    fit_path = str(out.with_name(out.stem + "-fit" + out.suffix))
    print("numpykan demo: KAN [2, 5, 1], G=5, k=3 on f(x, y) = exp(sin(pi x) + y^2); "
          f"{args.steps} full-batch Adam steps, lr 1e-2", flush=True)
    data = create_dataset(exp_sin, n_var=2, train_num=1000, test_num=1000, seed=args.seed)
    model = KAN([2, 5, 1], grid=5, k=3, seed=args.seed)
    log = max(1, args.steps // 10)
    curve = {"step": [], "train": [], "test": []}

    def record(step, model, loss):
        """After every ``log`` steps: RMSE of the current model on all train and test points."""
        if (step + 1) % log and step + 1 != args.steps:
            return
        train = np.sqrt(model.evaluate(data["train_input"], data["train_label"])["loss"])
        test = np.sqrt(model.evaluate(data["test_input"], data["test_label"])["loss"])
        for key, v in (("step", step + 1), ("train", train), ("test", test)):
            curve[key].append(v)
        if not args.quiet:
            print(f"  step {step + 1:5d}  train RMSE {train:.3e}  test RMSE {test:.3e}",
                  flush=True)

    t0 = time.perf_counter()
    model.fit(data, opt="Adam", steps=args.steps, lr=1e-2, batch=-1, log=log,
              seed=args.seed, verbose=False, callback=record)
    seconds = time.perf_counter() - t0
    rmse = curve["test"][-1]
    print(f"trained {args.steps} steps in {seconds:.1f} s; final test RMSE {rmse:.3e}")
    plt = pyplot()
    plt.close(plot_fit_2d(exp_sin, model, path=fit_path,
                          title=f"KAN [2, 5, 1] fit, test RMSE {rmse:.2e}"))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(curve["step"], curve["train"], "--", color="C3",
            label="train RMSE (all 1000 training points)")
    ax.plot(curve["step"], curve["test"], "-", color="C0",
            label="test RMSE (1000 test points)")
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("RMSE of the current model")
    ax.set_title("numpykan demo: root-mean-square error, as printed", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"saved the fit to {fit_path} and the RMSE curve to {args.out}")
    return 0


def build_parser():
    from . import __version__

    parser = _Parser(prog=PROG, description="Kolmogorov-Arnold Networks in pure NumPy.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train a small KAN on exp(sin(pi x) + y^2) in seconds")
    demo.add_argument("--steps", type=positive_int, default=500,
                      help="Adam steps (default 500)")
    demo.add_argument("--seed", type=lambda t: positive_int(t, 0), default=0,
                      help="seeds the data and the model (default 0)")
    demo.add_argument("--out", default="numpykan-demo.png",
                      help="RMSE-curve figure path (its folder must exist); the fit goes to "
                           "NAME-fit.png (same format) beside it")
    demo.add_argument("--quiet", action="store_true", help="no loss lines while training")
    demo.set_defaults(func=cmd_demo)
    add_reproduce_parser(sub)
    from .teaching.commands import add_teaching_parsers   # numpykan grade, numpykan course
    add_teaching_parsers(sub)
    return parser


def _dataset_message(err):
    """MNIST not found, in the command line's words."""
    text = f"MNIST not found: {', '.join(err.missing) or 'files'} missing"
    if err.searched:
        text += f" (looked in {', '.join(err.searched)})"
    if err.download_errors:
        text += f"; downloading failed: {err.download_errors[0]}"
    return (text + ". Pass --data DIR, a folder with the four files, or run once with "
            "network access to download them" + (f" into {err.cache}" if err.cache else "")
            + "; --quick runs offline on a synthetic stand-in")


def _out_folder(args):
    """The output folder of a command that writes one (``reproduce``, ``course``), else None."""
    command = getattr(args, "command", None)
    if command == "reproduce":
        return Path(default_out(args.experiment) if args.out is None else args.out)
    if command == "course" and getattr(args, "out", None):
        return Path(args.out)
    return None


#: the exceptions the teaching commands (``grade``, ``course``) raise for a user's mistake: a
#: file or lesson that is not there, a tool of the course extras that is not installed, and
#: SystemExit with a message (their own argument checks); said in one line like the others
_TEACHING_ERRORS = (FileNotFoundError, ImportError)


def _missing_top(folder):
    """The outermost of ``folder`` and its parents that does not exist yet (None if it exists)."""
    if folder is None or folder.exists():
        return None
    top = folder
    for parent in folder.parents:
        if parent.exists():
            break
        top = parent
    return top


def _remove_empty(top):
    """Remove the folders below ``top`` and ``top`` itself (made by this run) that are empty."""
    if top is None or not top.is_dir():
        return
    for root, dirs, files in os.walk(top, topdown=False):
        try:
            os.rmdir(root)                      # fails, as it should, unless empty
        except OSError:
            pass


def _run(args):
    from .data.mnist import DatasetNotFoundError
    from .training.resumable import CheckpointExistsError, CheckpointMismatchError

    out = _out_folder(args)
    created = _missing_top(out)
    if out is not None and args.command == "reproduce":
        if out.exists() and not out.is_dir():
            raise CLIError(f"--out {out} is a file, not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)         # before the work starts
        except OSError as err:
            raise CLIError(f"--out {out}: cannot create the folder ({err.strerror})") from None
    teaching = args.command in ("grade", "course")
    try:
        return args.func(args)
    except DatasetNotFoundError as err:
        raise CLIError(_dataset_message(err)) from None
    except CheckpointExistsError as err:
        raise CLIError(f"--out {out} holds the checkpoints of an earlier run ({err.epoch} "
                       "epochs done): add --resume to continue it (or, if it finished, to "
                       "remake its figures and tables), or choose another --out") from None
    except CheckpointMismatchError as err:
        raise CLIError(f"{err}; use the options of that run with --resume, or choose "
                       "another --out") from None
    except DataError as err:
        raise CLIError(str(err).replace("cannot use the image", "--image")) from None
    except _TEACHING_ERRORS as err:            # after DatasetNotFoundError, a subclass
        if not teaching:
            raise
        raise CLIError(str(err)) from None
    except SystemExit as err:
        if teaching and isinstance(err.code, str):
            raise CLIError(err.code) from None
        raise
    except KeyboardInterrupt:
        if out is not None and (out / "checkpoints").is_dir():
            sys.stderr.write(f"\n{PROG}: interrupted; rerun the same command with --resume "
                             f"to continue from the last checkpoint in {out / 'checkpoints'}\n")
        else:
            sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    finally:
        _remove_empty(created)


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:                       # argparse would send the user to the top-level --help
            where = [getattr(args, key, None) for key in ("command", "experiment",
                                                          "course_command")]
            raise CLIError(f"unrecognized arguments: {' '.join(extra)} (see "
                           f"{' '.join([PROG] + [w for w in where if w])} --help)")
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return _run(args)
    except CLIError as err:
        sys.stdout.flush()
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 2
    except BrokenPipeError:                 # output piped into head & co., which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
