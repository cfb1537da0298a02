"""A physics-informed KAN: pykan's Poisson problem on ``[-1, 1]^2``, with hand-derived gradients.

The problem (pykan's tutorials Example 6 and 7)::

    lap u = f,   f(x, y) = -2 pi^2 sin(pi x) sin(pi y)   on (-1, 1)^2
    u = 0                                                  on the boundary

whose solution is ``u*(x, y) = sin(pi x) sin(pi y)``. The network ``u`` is trained
on the loss

    ``L = alpha mean_i (lap u(x_i) - f(x_i))^2 + mean_b u(x_b)^2``

over interior points ``x_i`` and boundary points ``x_b``, with L-BFGS. ``lap u`` and
the gradient of ``L`` into every parameter come from the forward-derivative
recursion of :mod:`numpykan.derivatives` and its reverse pass, not from
automatic differentiation.

The points follow pykan's notebooks exactly:

- boundary: the four sides of an ``n x n`` mesh (``linspace(-1, 1, n)``), ``4 n``
  points, the corners twice (84 for ``n = 21``, 204 for ``n = 51``);
- interior: ``n^2`` points drawn uniformly in ``[-1, 1]^2`` (``sampling="random"``,
  Example 6), or the ``n x n`` mesh itself, boundary included (``"mesh"``, Example 7);
- pykan's ``l2`` is the mean squared error ``mean_i (u(x_i) - u*(x_i))^2`` at the
  interior (training) points, not its square root.

:func:`solve_poisson` is the training loop (grid updates from the interior points
every 5 steps before step 20 or 50, as the notebooks do); :func:`run_poisson`
behind ``numpykan reproduce poisson`` runs both notebooks' settings and writes
figures and tables.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .models import derivatives

__all__ = ["solution", "source", "source_grad", "boundary_points", "interior_points",
           "PoissonLoss", "solve_poisson", "run_poisson", "PYKAN_POISSON", "PYKAN_INIT"]

#: pykan 0.2.8's MultKAN initialization (noise_scale 0.3, scale_base = U(-1, 1) / sqrt(in);
#: scale_sp = 1 / sqrt(in) is numpykan's default too), pinned so the runs below do not move
#: when numpykan's own defaults change
PYKAN_INIT = dict(noise_scale=0.3, scale_base_mu=0.0, scale_base_sigma=1.0)

#: pykan's published numbers (tutorials Example_6_PDE_interpretation and
#: Example_7_PDE_accuracy, float32 on cuda, pykan 0.2.x): MSE to the solution ("l2")
PYKAN_POISSON = {
    "example6": {"grid": 5, "steps": 20, "l2": 3.78e-3, "pde_loss": 2.23e+00, "bc_loss": 5.99e-3,
                 "wall_time_s": 22.0},
    "example7": {"grids": [5, 10, 20], "steps": 50, "l2": [3.11e-3, 1.03e-3, 1.74e-4],
                 "pde_loss": [2.13e+00, 5.68e-01, 1.23e-01], "bc_loss": [1.80e-3, 5.30e-4, 1.51e-4],
                 "wall_time_s": [35.0, 35.0, 35.0]},
}


# ---------------------------------------------------------------------------
# the problem
# ---------------------------------------------------------------------------

def solution(x):
    """``u*(x, y) = sin(pi x) sin(pi y)``: ``(B, 2) -> (B, 1)``."""
    return np.sin(np.pi * x[:, [0]]) * np.sin(np.pi * x[:, [1]])


def source(x):
    """``f = lap u* = -2 pi^2 sin(pi x) sin(pi y)``: ``(B, 2) -> (B, 1)``."""
    return -2.0 * np.pi ** 2 * solution(x)


def source_grad(x):
    """``df/dx_d`` ``(B, 2)``: ``-2 pi^3 (cos(pi x) sin(pi y), sin(pi x) cos(pi y))``."""
    s, c = np.sin(np.pi * x), np.cos(np.pi * x)               # (B, 2) each
    return -2.0 * np.pi ** 3 * np.stack([c[:, 0] * s[:, 1], s[:, 0] * c[:, 1]], axis=1)


def boundary_points(n=21):
    """The four sides of pykan's ``n x n`` mesh: ``(4 n, 2)``, corners twice.

    In pykan's order: ``x = -1``, ``x = +1`` (``y`` along the mesh), then
    ``y = -1``, ``y = +1`` (``x`` along the mesh).
    """
    m = np.linspace(-1.0, 1.0, n)                             # (n,)
    one = np.ones(n)
    return np.concatenate([np.stack([-one, m], 1), np.stack([one, m], 1),
                           np.stack([m, -one], 1), np.stack([m, one], 1)])   # (4n, 2)


def interior_points(n=21, sampling="random", seed=0):
    """``n^2`` training points: uniform in ``[-1, 1]^2`` (``"random"``) or the ``n x n`` mesh (``"mesh"``)."""
    if sampling == "random":
        return np.random.default_rng(seed).uniform(-1.0, 1.0, (n * n, 2))   # (n^2, 2)
    if sampling == "mesh":
        m = np.linspace(-1.0, 1.0, n)
        X, Y = np.meshgrid(m, m, indexing="ij")
        return np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)              # (n^2, 2)
    raise ValueError(f"sampling must be 'random' or 'mesh', got {sampling!r}")


class PoissonLoss:
    """``L = alpha mean_i (lap u(x_i) - f(x_i))^2 + mean_b (u(x_b) - g_b)^2``, with its gradients.

    Parameters
    ----------
    x_boundary : ndarray, shape (N_b, 2)
    alpha : float
        Weight of the PDE residual (pykan's 0.01).
    boundary_values : ndarray, shape (N_b, 1), optional
        ``g_b`` (default 0, the problem's boundary condition).

    Notes
    -----
    With ``r_i = lap u(x_i) - f(x_i)`` and ``lap u = sum_d H[:, 0, d]``::

        dL/dH[i, 0, d] = 2 alpha r_i / N           (every direction d)
        dL/du(x_b)     = 2 (u(x_b) - g_b) / N_b
        dL/dx_i        = (through u)  -  2 alpha r_i / N  df/dx(x_i)

    The two terms run through :func:`numpykan.derivatives.forward` and
    :func:`~numpykan.derivatives.backward` (order 2 on the interior, order 0 on the
    boundary) and their parameter gradients are summed into the layers' ``grads``.
    ``loss_and_grad(model, x)`` takes the interior points as ``x``, so that
    ``check_model(model, x, loss=PoissonLoss(xb), input_grad=True)`` checks all of it.
    """

    order = 2

    def __init__(self, x_boundary, alpha=0.01, boundary_values=None):
        from .validation import check_input, check_nonnegative
        self.x_boundary = check_input(x_boundary, 2, np.float64, "x_boundary")
        self.alpha = check_nonnegative(alpha, "alpha")
        nb = self.x_boundary.shape[0]
        g = np.zeros((nb, 1)) if boundary_values is None else np.asarray(boundary_values, float)
        if g.shape != (nb, 1):
            raise ValueError(f"boundary_values must have shape ({nb}, 1), got {g.shape}")
        self.boundary_values = g
        self.last = None

    def __repr__(self):
        return f"PoissonLoss({self.x_boundary.shape[0]} boundary points, alpha={self.alpha:g})"

    def loss_and_grad(self, model, x, y=None, input_grad=False):
        """The loss at interior points ``x`` ``(N, 2)``; fills every layer's ``grads``.

        ``self.last`` (and ``model.last_loss``) hold the two parts ``pde`` (the
        mean squared residual, without ``alpha``) and ``bc``.
        """
        x = model._input(x)
        N = x.shape[0]
        jet, tape = derivatives.forward(model, x, 2, backward=True, input_grad=input_grad,
                                        check=False)
        r = jet.H.sum(axis=2) - source(x)                      # (N, 1) residual
        gH = np.repeat(2.0 * self.alpha / N * r[:, :, None], x.shape[1], axis=2)   # (N, 1, 2)
        gx, grads_i = derivatives.backward(tape, gH=gH)
        xb = self.x_boundary.astype(x.dtype, copy=False)
        ub, tape_b = derivatives.forward(model, xb, 0, backward=True, check=False)
        e = ub.u - self.boundary_values                        # (N_b, 1)
        _, grads_b = derivatives.backward(tape_b, gu=2.0 * e / e.shape[0])
        derivatives.assign_grads(grads_i, grads_b)
        pde, bc = float(np.mean(r ** 2)), float(np.mean(e ** 2))
        if input_grad:
            model.grad_input = gx - 2.0 * self.alpha / N * r * source_grad(x)   # (N, 2)
        else:
            model.grad_input = None
        value = self.alpha * pde + bc
        self.last = model.last_loss = dict(value=value, pde=pde, bc=bc)
        return value

    def __call__(self, model, x, y=None):
        """The loss value only."""
        jet, _ = derivatives.forward(model, x, 2)
        r = jet.H.sum(axis=2) - source(np.asarray(x, dtype=jet.u.dtype))
        ub = model.predict(self.x_boundary) - self.boundary_values
        return self.alpha * float(np.mean(r ** 2)) + float(np.mean(ub ** 2))


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------

def solve_poisson(model, x_interior, x_boundary, steps=20, alpha=0.01, grid_update_every=5,
                  grid_update_stop=50, lbfgs=None, optimizer=None, log=None):
    """Train ``model`` on the Poisson loss with L-BFGS, as pykan's notebooks do; return the history.

    Each step: at steps ``0, every, 2 every, ... < grid_update_stop`` update the
    grids from the interior points (``model.update_grid``, KAN only), then one
    ``LBFGS.step`` (up to ``max_iter`` = 20 iterations with a strong-Wolfe line
    search), then record the losses of the last evaluation and the MSE to the
    solution at the interior points at the new parameters.

    Parameters
    ----------
    model : KAN or MLP, float64
    x_interior : ndarray, shape (N, 2)
    x_boundary : ndarray, shape (N_b, 2)
    steps : int
    alpha : float
    grid_update_every, grid_update_stop : int
        pykan's ``_ % 5 == 0 and _ < 50`` (Example 6) or ``< 20`` (Example 7);
        ``grid_update_every=0`` turns the updates off.
    lbfgs : dict, optional
        Options of :class:`numpykan.optim.LBFGS`; default pykan's ``lr=1,
        history_size=10, line_search="strong_wolfe", tolerance_grad=1e-32,
        tolerance_change=1e-32`` (``max_iter`` 20).
    optimizer : LBFGS, optional
        Continue with this optimizer (its curvature pairs) instead of a new one.
    log : callable, optional
        ``log(step, record)`` after every step.

    Returns
    -------
    dict
        ``step``, ``pde_loss``, ``bc_loss``, ``l2`` (MSE to ``u*`` at the interior
        points), ``evals`` (loss evaluations so far), ``time`` (wall seconds),
        ``cpu`` (CPU seconds of this process: on a shared machine the fairer
        clock), and the ``optimizer``.
    """
    from .training.lbfgs import LBFGS
    x_i = model._input(x_interior)
    loss = PoissonLoss(x_boundary, alpha)
    settings = dict(lr=1.0, history_size=10, line_search="strong_wolfe", tolerance_grad=1e-32,
                    tolerance_change=1e-32, max_iter=20)
    settings.update(lbfgs or {})
    opt = LBFGS(model.parameters(), **settings) if optimizer is None else optimizer
    u_star = solution(x_i)                                     # (N, 1)
    hist = {key: [] for key in ("step", "pde_loss", "bc_loss", "l2", "evals", "time", "cpu")}
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(int(steps)):
        if grid_update_every and step % grid_update_every == 0 and step < grid_update_stop \
                and hasattr(model, "update_grid"):
            model.update_grid(x_i)
        opt.step(lambda: loss.loss_and_grad(model, x_i))
        l2 = float(np.mean((model.predict(x_i) - u_star) ** 2))
        rec = dict(step=step, pde_loss=loss.last["pde"], bc_loss=loss.last["bc"], l2=l2,
                   evals=opt.state["n_evals"], time=time.perf_counter() - t0,
                   cpu=time.process_time() - c0)
        for key, v in rec.items():
            hist[key].append(v)
        if log is not None:
            log(step, rec)
    hist["optimizer"] = opt
    return hist


# ---------------------------------------------------------------------------
# numpykan reproduce poisson
# ---------------------------------------------------------------------------

def _staircase(seed, grids, steps, n, dtype, log=None):
    """pykan's Example 7 for one seed: mesh ``n x n``, ``grids`` stages of ``steps`` L-BFGS steps each."""
    from .models.model import KAN
    x_i, x_b = interior_points(n, "mesh"), boundary_points(n)
    model = KAN([2, 2, 1], grid=grids[0], k=3, seed=seed, dtype=dtype, **PYKAN_INIT)
    stages, t0 = [], time.perf_counter()
    for s, G in enumerate(grids):
        if s:
            model = model.refine(G, x=x_i)                    # grid extension from the samples
        h = solve_poisson(model, x_i, x_b, steps=steps, grid_update_stop=20)   # a fresh L-BFGS
        stages.append(dict(grid=G, l2=h["l2"], pde_loss=h["pde_loss"], bc_loss=h["bc_loss"],
                           evals=h["evals"][-1], wall_time_s=round(h["time"][-1], 2),
                           cpu_time_s=round(h["cpu"][-1], 2)))
        if log:
            log(f"seed {seed} G = {G}: l2 {h['l2'][-1]:.3e}, pde loss {h['pde_loss'][-1]:.3e}, "
                f"bc loss {h['bc_loss'][-1]:.3e}, {h['time'][-1]:.1f} s ({h['cpu'][-1]:.1f} s CPU)")
    return model, stages, time.perf_counter() - t0


def _plot_solution(path, model, title):
    from .interpretation.plot import pyplot
    plt = pyplot()
    m = np.linspace(-1.0, 1.0, 101)
    X, Y = np.meshgrid(m, m, indexing="ij")
    pts = np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)   # (101^2, 2)
    u = model.predict(pts).reshape(X.shape)
    ustar = solution(pts).reshape(X.shape)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, z, name, cmap in ((axes[0], ustar, "u* = sin(pi x) sin(pi y)", "RdBu_r"),
                              (axes[1], u, "KAN u", "RdBu_r"),
                              (axes[2], np.abs(u - ustar), "|u - u*|", "magma")):
        im = ax.pcolormesh(X, Y, z, cmap=cmap, shading="auto")
        fig.colorbar(im, ax=ax)
        ax.set_title(name)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    fig.suptitle(title, y=1.02)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _plot_staircase(path, runs, grids, steps, best, quick):
    from .interpretation.plot import pyplot
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for seed, stages in runs.items():
        l2 = np.concatenate([st["l2"] for st in stages])
        pde = np.concatenate([st["pde_loss"] for st in stages])
        kw = dict(color="C3", lw=1.6, zorder=3, label=f"seed {seed} (lowest final MSE)") \
            if seed == best else dict(color="0.6", lw=0.8)
        axes[0].semilogy(np.arange(1, l2.size + 1), l2, **kw)
        axes[1].semilogy(np.arange(1, pde.size + 1), pde, **kw)
    ref = PYKAN_POISSON["example7"]
    ends = steps * np.arange(1, len(grids) + 1)
    if list(grids) == ref["grids"]:
        axes[0].plot(ends, ref["l2"], "k*", ms=10, label="pykan (published, one seed)")
        axes[1].plot(ends, ref["pde_loss"], "k*", ms=10, label="pykan (published)")
    for ax, name in ((axes[0], "MSE to u* on the mesh"), (axes[1], "PDE loss mean (lap u - f)^2")):
        for e in ends[:-1]:
            ax.axvline(e + 0.5, color="k", lw=0.5, ls=":")
        ax.set_xlabel("L-BFGS step (grid " + " -> ".join(map(str, grids)) + ")")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    title = "Poisson, KAN [2, 2, 1], k = 3: grid extension staircase, every seed"
    fig.suptitle(title + (" (quick run)" if quick else ""), y=1.02)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def run_poisson(out=None, seeds=None, quick=False, dtype="float64", epochs=None, batch=None,
                steps=None, verbose=True):
    """pykan's two Poisson notebooks, every seed ``0 .. seeds - 1``: numbers, figures, tables.

    - *Example 6*: KAN [2, 2, 1], G = 5, k = 3, 441 interior points drawn uniformly,
      84 boundary points, ``alpha = 0.01``, 20 L-BFGS steps, grid updates at steps
      0, 5, 10, 15; pykan's MSE to the solution: 3.78e-3. Beside it, on the same points
      and loss, an MLP [2, 15, 1] with tanh (61 parameters to the KAN's 60).
    - *Example 7*: the 51 x 51 mesh (2601 points, boundary included) and its 204
      boundary points, 50 steps at G = 5, then ``refine`` to 10 and 20 with 50
      steps each (a fresh L-BFGS per stage, grid updates at 0, 5, 10, 15 of every
      stage); pykan: 3.11e-3, 1.03e-3, 1.74e-4.

    The L-BFGS settings are pykan's (``lr=1``, history 10, strong Wolfe, tolerances
    1e-32, 20 iterations per step); so is every size, and the initialization is pykan
    0.2.8's (:data:`PYKAN_INIT`). Seeds draw the initial
    parameters and Example 6's points; pykan's numbers are one run (torch seed 1),
    whose random numbers NumPy cannot reproduce, so every seed is reported.

    Parameters
    ----------
    out : path, default ``numpykan-results/poisson``
    seeds : int, default 16 (1 when ``quick``)
    quick : bool
        A 9 x 9 mesh, 3 steps per stage, grids 5 -> 10: seconds; the numbers mean nothing.
    dtype : {"float64", "float32"}
    steps : int, optional
        L-BFGS steps per stage of Example 7 (default 50; Example 6 keeps 20).
    epochs, batch
        Not used (full batch, L-BFGS steps): must stay None.

    Returns
    -------
    dict (also written to ``results.json``; ``results.md`` holds the tables)
    """
    from .experiments.common import _dtype, _finish, _prepare, _stats
    if epochs is not None or batch is not None:
        raise ValueError("poisson trains full batch with L-BFGS steps: --epochs and --batch do "
                         "not apply (use --steps)")
    seeds = (1 if quick else 16) if seeds is None else seeds
    out = _prepare(out, "poisson", seeds)
    dt = _dtype(dtype)
    t0 = time.perf_counter()
    say = (lambda msg: print(f"numpykan reproduce poisson: {msg}", flush=True)) if verbose \
        else (lambda msg: None)
    n6, steps6 = (9, 3) if quick else (21, 20)
    n7, grids = (9, [5, 10]) if quick else (51, [5, 10, 20])
    steps7 = (3 if quick else 50) if steps is None else int(steps)
    from .models.mlp import MLP
    from .models.model import KAN

    ex6, mlp6 = [], []
    for s in range(seeds):
        x6, xb6 = interior_points(n6, "random", seed=s), boundary_points(n6)
        for name, model, rows in (("KAN", KAN([2, 2, 1], grid=5, k=3, seed=s, dtype=dt,
                                              **PYKAN_INIT), ex6),
                                  ("MLP", MLP([2, 15, 1], activation="tanh", seed=s, dtype=dt), mlp6)):
            h = solve_poisson(model, x6, xb6, steps=steps6, grid_update_stop=50)
            rows.append(dict(seed=s, model=name, num_parameters=model.num_parameters(),
                             l2=h["l2"][-1], pde_loss=h["pde_loss"][-1], bc_loss=h["bc_loss"][-1],
                             evals=h["evals"][-1], wall_time_s=round(h["time"][-1], 2),
                             cpu_time_s=round(h["cpu"][-1], 2)))
            say(f"example 6, seed {s}, {name}: l2 {h['l2'][-1]:.3e} after {steps6} steps, "
                f"{h['time'][-1]:.1f} s ({h['cpu'][-1]:.1f} s CPU)")

    runs, finals, models = {}, {}, {}
    for s in range(seeds):
        model, stages, wall = _staircase(s, grids, steps7, n7, dt, say)
        runs[s], finals[s], models[s] = stages, stages[-1]["l2"][-1], model
    best = min(finals, key=finals.get)
    _plot_solution(out / "poisson_solution.png", models[best],
                   f"Poisson: KAN [2, 2, 1] after G = {' -> '.join(map(str, grids))}, seed {best} "
                   f"(lowest of {seeds}); MSE on the mesh {finals[best]:.2e}" + (" (quick run)" if quick else ""))
    _plot_staircase(out / "poisson_staircase.png", runs, grids, steps7, best, quick)

    ref6, ref7 = PYKAN_POISSON["example6"], PYKAN_POISSON["example7"]
    l2_6, l2_mlp = [r["l2"] for r in ex6], [r["l2"] for r in mlp6]
    per_seed = [dict(r, setting="example6") for r in ex6 + mlp6]
    for s, stages in runs.items():
        for st in stages:
            per_seed.append(dict(setting="example7", seed=s, model="KAN", grid=st["grid"],
                                 l2=st["l2"][-1], pde_loss=st["pde_loss"][-1],
                                 bc_loss=st["bc_loss"][-1], evals=st["evals"],
                                 wall_time_s=st["wall_time_s"], cpu_time_s=st["cpu_time_s"]))
    stage_l2 = {G: [st["l2"][-1] for stages in runs.values() for st in stages if st["grid"] == G]
                for G in grids}
    summary = {
        "example6": dict(_stats(l2_6), median=float(np.median(l2_6)),
                         seeds_at_or_below_pykan=int(sum(v <= ref6["l2"] for v in l2_6))),
        "example6_mlp": dict(_stats(l2_mlp), median=float(np.median(l2_mlp)),
                             seeds_at_or_below_pykan=int(sum(v <= ref6["l2"] for v in l2_mlp))),
        "example7": {f"G={G}": dict(_stats(v), median=float(np.median(v)),
                                    seeds_at_or_below_pykan=int(sum(a <= ref for a in v)))
                     for (G, v), ref in zip(stage_l2.items(), ref7["l2"])},
        "example7_best_seed": best,
        "example7_seeds_following_pykan": [s for s, stages in runs.items()
                                           if all(st["l2"][-1] <= r for st, r in
                                                  zip(stages, ref7["l2"]))],
    }
    curves = {str(s): {f"G={st['grid']}": dict(l2=st["l2"], pde_loss=st["pde_loss"],
                                                bc_loss=st["bc_loss"]) for st in stages}
              for s, stages in runs.items()}
    config = {"quick": quick, "seeds": list(range(seeds)), "dtype": np.dtype(dt).name,
              "width": [2, 2, 1], "k": 3, "alpha": 0.01, "base_fun": "silu",
              "init": dict(PYKAN_INIT, w_s="1/sqrt(in)"),
              "example6": {"grid": 5, "steps": steps6, "interior": f"{n6 * n6} uniform random "
                           f"(seeded)", "boundary": 4 * n6, "grid_updates": "steps 0, 5, 10, 15",
                           "mlp": "MLP [2, 15, 1] tanh (61 parameters; the KAN has 60), same "
                                  "loss, points and L-BFGS, no grid"},
              "example7": {"grids": grids, "steps_per_stage": steps7,
                           "interior": f"{n7} x {n7} mesh (boundary included)",
                           "boundary": 4 * n7, "grid_updates": "steps 0, 5, 10, 15 of each stage",
                           "refine": "model.refine(G, x=mesh): knots from the samples"},
              "lbfgs": {"lr": 1.0, "history_size": 10, "line_search": "strong_wolfe",
                        "max_iter": 20, "tolerance_grad": 1e-32, "tolerance_change": 1e-32},
              "l2": "mean squared error to sin(pi x) sin(pi y) at the interior (training) points",
              "gradients": "by hand: numpykan.derivatives forward jets and their reverse pass"}
    results = {"experiment": "poisson", "config": config, "per_seed": per_seed, "curves": curves,
               "summary": summary, "report": PYKAN_POISSON,
               "files": ["poisson_solution.png", "poisson_staircase.png"]}

    def row(name, values, ref, walls, cpus):
        v = np.asarray(values)
        return (f"| {name} | {ref:.2e} | {np.min(v):.2e} | {np.median(v):.2e} | {np.max(v):.2e} | "
                f"{int(np.sum(v <= ref))} of {v.size} | {np.mean(walls):.1f} s "
                f"({np.mean(cpus):.1f} s CPU) |")

    table = ["| setting | pykan MSE | numpykan best | median | worst | seeds <= pykan | "
             "time per seed (mean) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
             row(f"Example 6: KAN G = 5, {steps6} steps, {n6 * n6} random points", l2_6, ref6["l2"],
                 [r["wall_time_s"] for r in ex6], [r["cpu_time_s"] for r in ex6]),
             row(f"Example 6 points, MLP [2, 15, 1] tanh (61 params), {steps6} steps", l2_mlp,
                 ref6["l2"], [r["wall_time_s"] for r in mlp6], [r["cpu_time_s"] for r in mlp6])]
    for i, G in enumerate(grids):
        walls = [stages[i]["wall_time_s"] for stages in runs.values()]
        cpus = [stages[i]["cpu_time_s"] for stages in runs.values()]
        ref = ref7["l2"][i] if i < len(ref7["l2"]) else float("nan")
        table.append(row(f"Example 7: KAN G = {G}, {steps7} steps, {n7} x {n7} mesh", stage_l2[G],
                         ref, walls, cpus))
    follow = summary["example7_seeds_following_pykan"]
    table += ["", f"Seeds whose staircase stays at or below pykan's at every stage: "
              f"{follow if follow else 'none'} (of {seeds}); figures: seed {best}, the lowest "
              f"final MSE.", "", "| seed | " + " | ".join(f"G = {G}" for G in grids) + " |",
              "| ---: | " + " | ".join("---:" for _ in grids) + " |"]
    for s, stages in runs.items():
        table.append(f"| {s} | " + " | ".join(f"{st['l2'][-1]:.2e}" for st in stages) + " |")
    return _finish(out, results, table, t0)
