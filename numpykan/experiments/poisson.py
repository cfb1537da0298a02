"""``numpykan reproduce poisson``: pykan's Poisson problem (the experiment lives in :mod:`numpykan.pde`).

Only the registry entry is here: the CLI options of the experiment, passed on to
:func:`numpykan.pde.run_poisson`. It trains full batch with L-BFGS steps, so it
takes ``--steps`` instead of ``--epochs`` / ``--batch`` / ``--lr``.
"""

from __future__ import annotations

from .registry import positive_int, register


def run_poisson(out=None, **kwargs):
    """pykan's Poisson problem, KAN [2, 2, 1]: see :func:`numpykan.pde.run_poisson`."""
    from ..pde import run_poisson as run                       # the pde module owns it
    return run(out=out, **kwargs)


def _poisson_options(p):
    p.add_argument("--seeds", type=positive_int, default=None,
                   help="number of seeds 0..N-1 (default 16)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="L-BFGS steps per grid of the staircase (default 50)")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="default float64")


register("poisson", run_poisson, "pykan's Poisson PDE, KAN [2,2,1] with hand-derived Laplacian "
                                 "gradients", _poisson_options)
