"""The ``numpykan`` command.

``numpykan demo`` trains a small KAN in seconds and saves a figure;
``numpykan reproduce EXPERIMENT`` reruns one of the report's experiments
(see docs/RESULTS.md); ``numpykan --help`` lists the commands.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .experiments import add_reproduce_parser

__all__ = ["main"]


def exp_sin(x):
    """``f(x, y) = exp(sin(pi x) + y^2)``, the KAN paper's running example."""
    return np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)


def cmd_demo(args):
    from . import KAN, create_dataset
    from .interpretation.plot import plot_fit_2d, plot_history, pyplot

    print("numpykan demo: KAN [2, 5, 1], G=5, k=3 on f(x, y) = exp(sin(pi x) + y^2)")
    data = create_dataset(exp_sin, n_var=2, train_num=1000, test_num=1000, seed=args.seed)
    model = KAN([2, 5, 1], grid=5, k=3, seed=args.seed)
    t0 = time.perf_counter()
    history = model.fit(data, opt="Adam", steps=args.steps, lr=1e-2, batch=-1,
                        log=max(1, args.steps // 10), seed=args.seed, verbose=False)
    seconds = time.perf_counter() - t0
    for step, tr, te in zip(history["step"], history["train_loss"], history["test_loss"]):
        print(f"  step {step:5d}  train RMSE {np.sqrt(tr):.3e}  test RMSE {np.sqrt(te):.3e}")
    rmse = float(np.sqrt(history["test_loss"][-1]))
    print(f"trained {args.steps} steps in {seconds:.1f} s; final test RMSE {rmse:.3e}")
    plt = pyplot()
    stem = args.out[:-4] if args.out.endswith(".png") else args.out
    fit_path = stem + "-fit.png"
    plt.close(plot_fit_2d(exp_sin, model, path=fit_path,
                          title=f"KAN [2, 5, 1] fit, test RMSE {rmse:.2e}"))
    plt.close(plot_history(history, path=args.out))
    print(f"saved the fit to {fit_path} and the loss curve to {args.out}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="numpykan",
        description="Kolmogorov-Arnold Networks in pure NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train a small KAN on exp(sin(pi x) + y^2) in seconds")
    demo.add_argument("--steps", type=int, default=500, help="Adam steps (default 500)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="numpykan-demo.png",
                      help="loss-curve figure path; the fit goes to *-fit.png beside it")
    demo.set_defaults(func=cmd_demo)
    add_reproduce_parser(sub)
    from .teaching.commands import add_teaching_parsers   # numpykan grade, numpykan course
    add_teaching_parsers(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
