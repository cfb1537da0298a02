"""The graded exercises, lesson by lesson: what the student writes and how it is checked.

Each :class:`Exercise` names the function the student writes in the lesson's
``exercise`` cell and a ``check(fn)`` that calls it on small inputs and compares
it with numpykan (see :mod:`numpykan.teaching.grader` for the messages). The
inputs are float64 and drawn from fixed seeds, away from knots where a
derivative is compared, so a correct function always passes.

| lesson | function | compared with |
|---|---|---|
| 01 | ``cox_de_boor(x, t, m, p)`` | ``bspline.basis_reference`` |
| 01 | ``derivative_by_hand(xs, t, k)`` | ``bspline.basis_derivative``, finite differences |
| 02 | ``layer_forward(x, coef, w_b, w_s, grid, k)`` | ``layer.forward`` |
| 03 | ``silu_prime(x)`` | ``activations.silu_grad``, finite differences |
| 03 | ``layer_backward(dy, x, coef, w_b, w_s, grid, k)`` | ``layer.backward``, finite differences |
| 04 | ``adam_update(p, g, m, v, t, lr, beta1, beta2, eps)`` | ``nk.Adam`` |
| 04 | ``two_loop(g, S, Y)`` | the dense BFGS inverse, ``LBFGS``'s direction |
| 05 | ``refit_coef(x, old_values, new_grid, k)`` | ``bspline.fit_coef`` |
| 06 | ``l1_entropy_by_hand(A, lamb_l1, lamb_entropy)`` | ``regularization.l1_entropy``, finite differences |
| 06 | ``activations_backward_by_hand(dA, x, coef, w_b, w_s, grid, k)`` | ``layer.activations_backward`` |
| 08 | ``softmax_cross_entropy(z, labels)`` | ``losses.cross_entropy``, finite differences |
| 10 | ``formula_edge_grads(x, dv, a, b, c, d, f, df)`` | ``SymbolicEdges`` backward, finite differences |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .grader import Mistake, as_array, call, central_difference, compare

__all__ = ["Exercise", "EXERCISES", "exercises_of"]


@dataclass(frozen=True)
class Exercise:
    lesson: int
    name: str
    title: str
    check: Callable
    uses: tuple = ()        #: earlier exercises this one calls (their mistakes show up here too)


def _nonuniform_knots(k, G=5, seed=0):
    """A strictly increasing knot vector of ``G + 2k + 1`` knots with uneven spacing."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(0.3, 1.0, G + 2 * k)
    t = np.concatenate([[0.0], np.cumsum(steps)])
    return 2 * (t - t[k]) / (t[G + k] - t[k]) - 1.0             # base interval [-1, 1]


def _grids(I, G, k, seed=1):
    """``(I, G + 2k + 1)`` knots: a different (shifted, stretched) uniform grid per input."""
    from ..splines.bspline import uniform_grid

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(I):
        lo = -1.0 + 0.2 * rng.uniform(-1, 1)
        hi = 1.0 + 0.2 * rng.uniform(-1, 1)
        rows.append(uniform_grid(G, k, (lo, hi)))
    return np.array(rows)


def _away_from_knots(rng, shape, grid_row, margin=1e-3, lo=-1.1, hi=1.1):
    """Uniform points in ``[lo, hi]`` at least ``margin`` from every knot of ``grid_row``."""
    x = rng.uniform(lo, hi, shape)
    for _ in range(10):
        close = np.min(np.abs(x[..., None] - grid_row), axis=-1) < margin
        if not close.any():
            break
        x[close] = rng.uniform(lo, hi, int(close.sum()))
    return x


def _layer_case(B=7, I=3, O=2, G=4, k=3, seed=0):
    """Random layer parameters, per-input grids and inputs (away from knots), float64."""
    rng = np.random.default_rng(seed)
    grid = _grids(I, G, k, seed + 1)
    x = np.stack([_away_from_knots(rng, B, grid[i]) for i in range(I)], axis=1)   # (B, I)
    coef = rng.normal(0, 0.5, (I, O, G + k))
    w_b = rng.uniform(-1, 1, (I, O))
    w_s = rng.uniform(0.5, 1.5, (I, O))
    return x, coef, w_b, w_s, grid


# ---------------------------------------------------------------------------
# lesson 1
# ---------------------------------------------------------------------------

def check_cox_de_boor(fn):
    from ..splines.bspline import basis_reference, uniform_grid

    grids = {"a uniform grid": uniform_grid(4, 3), "a non-uniform grid": _nonuniform_knots(3, 4)}
    for gname, t in grids.items():
        xs = np.concatenate([np.linspace(t[0] - 0.3, t[-1] + 0.3, 23), t[1:-1]])   # knots included
        for p in range(4):
            K = len(t) - p - 1
            expected = basis_reference(xs[:, None], t, p)[:, 0, :]                # (B, K)
            got = np.array([[float(call(fn, float(x), t, m, p)) for m in range(K)] for x in xs])
            if p == 0:
                hint = ("degree 0 is the indicator of the half-open interval [t_m, t_{m+1}): "
                        "1 if t_m <= x < t_{m+1}, else 0. Check the comparisons, in particular "
                        "for x exactly on a knot.")
            else:
                hint = (f"degree {p - 1} is right, degree {p} is not: the recursion step. Check "
                        "the two weights (x - t_m)/(t_{m+p} - t_m) and (t_{m+p+1} - x)/(t_{m+p+1} "
                        "- t_{m+1}), and that they multiply B_{m,p-1} and B_{m+1,p-1}.")
                if gname == "a non-uniform grid":
                    hint += (" (It passed on a uniform grid: does a denominator use a fixed "
                             "spacing instead of the knot differences?)")
            labels = ("point", "m")
            try:
                compare(got, expected, f"B_(m,{p}) on {gname}", rtol=1e-10, atol=1e-12,
                        labels=labels, hint=hint)
            except Mistake as err:
                worst = str(err)
                b = _first_wrong(got, expected)
                raise Mistake(f"{worst} (the worst point is x = {xs[b]:.6g}; knots "
                              f"{np.round(t, 4).tolist()})") from None


def _first_wrong(got, expected):
    err = np.abs(got - expected) - 1e-12 - 1e-10 * np.abs(expected)
    return int(np.unravel_index(np.argmax(err), err.shape)[0])


def check_derivative(fn):
    from ..splines.bspline import basis, basis_derivative, uniform_grid

    rng = np.random.default_rng(3)
    for k in (1, 2, 3):
        for gname, t in (("a uniform grid", uniform_grid(5, k)),
                         ("a non-uniform grid", _nonuniform_knots(k, 5, seed=k))):
            xs = _away_from_knots(rng, 25, t, lo=t[0] + 1e-2, hi=t[-1] - 1e-2)
            expected = basis_derivative(xs[:, None], t, k)[:, 0, :]                   # (B, K)
            got = call(fn, xs.copy(), t, k)

            def fd(idx, xs=xs, t=t, k=k):
                b, m = idx
                e = 1e-6
                up = basis(np.array([[xs[b] + e]]), t, k)[0, 0, m]
                down = basis(np.array([[xs[b] - e]]), t, k)[0, 0, m]
                return (up - down) / (2 * e)

            compare(got, expected, f"dB_(m,{k})/dx on {gname}", rtol=1e-8, atol=1e-10,
                    labels=("point", "m"), fd=fd,
                    hint=("B'_{m,k} = k [B_{m,k-1}/(t_{m+k} - t_m) - B_{m+1,k-1}/(t_{m+k+1} - "
                          "t_{m+1})]: the factor k, the two denominators (knot differences, not a "
                          "spacing), and the degree k - 1 of the bases you differentiate with."))


# ---------------------------------------------------------------------------
# lesson 2
# ---------------------------------------------------------------------------

def _forward_ref(x, coef, w_b, w_s, grid, k):
    from ..models.layer import forward

    y, _ = forward(x, {"coef": coef, "w_b": w_b, "w_s": w_s}, grid, k)
    return y


def check_layer_forward(fn):
    for case in (dict(B=7, I=3, O=2, G=4, k=3), dict(B=5, I=1, O=1, G=5, k=2),
                 dict(B=6, I=2, O=4, G=3, k=1)):
        x, coef, w_b, w_s, grid = _layer_case(**case)
        x[0, 0] = grid[0, 0] - 0.5                                # one point beyond the grid
        expected = _forward_ref(x, coef, w_b, w_s, grid, case["k"])
        got = call(fn, x.copy(), coef.copy(), w_b.copy(), w_s.copy(), grid.copy(), case["k"])
        arr = as_array(got, "y", expected)
        if arr.shape == expected.shape and not np.allclose(arr, expected, rtol=1e-8, atol=1e-10):
            # which part is wrong? the base part alone (coef = 0), the spline part alone (w_b = 0)
            base_ok = np.allclose(call(fn, x.copy(), 0 * coef, w_b.copy(), w_s.copy(), grid.copy(),
                                       case["k"]),
                                  _forward_ref(x, 0 * coef, w_b, w_s, grid, case["k"]), atol=1e-10)
            spline_ok = np.allclose(call(fn, x.copy(), coef.copy(), 0 * w_b, w_s.copy(), grid.copy(),
                                         case["k"]),
                                    _forward_ref(x, coef, 0 * w_b, w_s, grid, case["k"]), atol=1e-10)
            if base_ok and not spline_ok:
                hint = ("the base part w_b silu(x) is right, the spline part is not: "
                        "w_s[i, j] * sum_m coef[i, j, m] B_m(x[b, i]), each input i on its own "
                        "knots grid[i].")
            elif spline_ok and not base_ok:
                hint = "the spline part is right, the base part is not: w_b[i, j] * silu(x[b, i])."
            else:
                hint = "y[b, j] = sum_i (w_b[i, j] silu(x[b, i]) + w_s[i, j] sum_m coef[i, j, m] B_m(x[b, i]))."
        else:
            hint = ""
        compare(arr, expected, f"y (I={case['I']}, O={case['O']}, k={case['k']})", labels=("b", "j"),
                hint=hint)


# ---------------------------------------------------------------------------
# lesson 3
# ---------------------------------------------------------------------------

def check_silu_prime(fn):
    from ..models.activations import sigmoid, silu, silu_grad

    x = np.linspace(-6, 6, 25).reshape(5, 5)
    got = call(fn, x.copy())
    expected = silu_grad(x)
    arr = as_array(got, "silu'(x)", expected)
    hint = ("silu(x) = x sigma(x); by the product rule silu'(x) = sigma(x) + x sigma'(x), "
            "and sigma'(x) = sigma(x) (1 - sigma(x)).")
    if arr.shape == expected.shape and np.allclose(arr, sigmoid(x)):
        hint = "that is sigma(x) alone: the product rule has a second term, x sigma'(x)."

    def fd(idx):
        e = 1e-6
        return (silu(x[idx] + e) - silu(x[idx] - e)) / (2 * e)

    compare(arr, expected, "silu'(x)", labels=("r", "c"), fd=fd, hint=hint)


def _backward_ref(dy, x, coef, w_b, w_s, grid, k):
    from ..models.layer import backward, forward

    _, cache = forward(x, {"coef": coef, "w_b": w_b, "w_s": w_s}, grid, k)
    dx, grads = backward(dy, cache)
    return dict(grads, x=dx)


_BACKWARD_HINTS = {
    "coef": ("dL/dcoef[i, j, m] = w_s[i, j] sum_b B_m(x[b, i]) dy[b, j]: the factor w_s, and "
             "which axes the sum over b contracts."),
    "w_b": "dL/dw_b[i, j] = sum_b silu(x[b, i]) dy[b, j], i.e. silu(x).T @ dy.",
    "w_s": ("dL/dw_s[i, j] = sum_b spline_ij(x[b, i]) dy[b, j] with spline_ij = sum_m coef[i, j, m] "
            "B_m: the spline without the w_s factor."),
    "x": ("dL/dx[b, i] = sum_j dy[b, j] phi'_ij(x[b, i]), phi'_ij = w_b b'(x) + w_s sum_m coef "
          "B'_m(x): both parts, and the sum over the outputs j."),
}
_LABELS = {"coef": ("i", "j", "m"), "w_b": ("i", "j"), "w_s": ("i", "j"), "x": ("b", "i")}


def _check_grad_dict(got, expected, fd_of, hints, what):
    """Compare a dict of gradients key by key (``coef``, ``w_b``, ``w_s``, ``x``)."""
    if not isinstance(got, dict):
        raise Mistake(f"{what}: expected a dict with keys {sorted(expected)}, got {type(got).__name__}")
    missing = [key for key in expected if key not in got]
    if missing:
        raise Mistake(f"{what}: the returned dict has no key {missing[0]!r} (it needs "
                      f"{sorted(expected)})")
    for key in ("coef", "w_b", "w_s", "x"):
        if key in expected:
            compare(got[key], expected[key], f"dL/d{key}", labels=_LABELS[key],
                    fd=lambda idx, key=key: fd_of(key, idx), hint=hints[key])


def check_layer_backward(fn):
    from ..models.layer import forward

    for case in (dict(B=6, I=3, O=2, G=4, k=3), dict(B=5, I=2, O=3, G=3, k=2)):
        x, coef, w_b, w_s, grid = _layer_case(**case, seed=5)
        k = case["k"]
        dy = np.random.default_rng(9).normal(0, 1, (case["B"], case["O"]))
        expected = _backward_ref(dy, x, coef, w_b, w_s, grid, k)
        arrays = {"coef": coef.copy(), "w_b": w_b.copy(), "w_s": w_s.copy(), "x": x.copy()}

        def loss():           # L = sum(dy * y): its gradient with respect to y is dy
            y, _ = forward(arrays["x"], {key: arrays[key] for key in ("coef", "w_b", "w_s")}, grid, k)
            return float(np.sum(dy * y))

        got = call(fn, dy.copy(), x.copy(), coef.copy(), w_b.copy(), w_s.copy(), grid.copy(), k)
        _check_grad_dict(got, expected, lambda key, idx: central_difference(loss, arrays[key], idx),
                         _BACKWARD_HINTS, "layer_backward")


# ---------------------------------------------------------------------------
# lesson 4
# ---------------------------------------------------------------------------

def _adam_variants(p, g_seq, lr, b1, b2, eps):
    """numpykan's Adam and three common slips, after each step: {name: [(p, m, v), ...]}."""
    from ..training.optim import Adam

    ref_p = p.copy()
    params, grads = {"p": ref_p}, {}
    opt = Adam([(params, grads)], lr=lr, betas=(b1, b2), eps=eps)
    out = {"numpykan": [], "no bias correction": [], "eps inside the square root": []}
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    q1, q2 = p.copy(), p.copy()
    m1, v1 = m.copy(), v.copy()
    for t, g in enumerate(g_seq, start=1):
        grads["p"] = g.copy()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out["numpykan"].append((ref_p.copy(), m.copy(), v.copy()))
        q1 = q1 - lr * m / (np.sqrt(v) + eps)
        out["no bias correction"].append((q1.copy(), m.copy(), v.copy()))
        q2 = q2 - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps)
        out["eps inside the square root"].append((q2.copy(), m.copy(), v.copy()))
        m1, v1 = m, v
    return out


def check_adam_update(fn):
    rng = np.random.default_rng(4)
    lr, b1, b2, eps = 1e-2, 0.9, 0.99, 1e-8
    p0 = rng.normal(0, 1, (3, 4))
    g_seq = [rng.normal(0, s, (3, 4)) for s in (1.0, 0.1, 2.0, 0.5)]
    ref = _adam_variants(p0, g_seq, lr, b1, b2, eps)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(g_seq, start=1):
        out = call(fn, p.copy(), g.copy(), m.copy(), v.copy(), t, lr, b1, b2, eps)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise Mistake(f"adam_update must return the tuple (p, m, v), got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        p, m, v = (as_array(a, name, p0) for a, name in zip(out, ("p", "m", "v")))
        ep, em, ev = ref["numpykan"][t - 1]
        compare(m, em, f"m after step {t}", labels=("r", "c"),
                hint="m <- beta1 m + (1 - beta1) g: the running mean of the gradient.")
        compare(v, ev, f"v after step {t}", labels=("r", "c"),
                hint="v <- beta2 v + (1 - beta2) g^2: the running mean of the squared gradient.")
        hint = ("p <- p - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t), "
                "v_hat = v / (1 - beta2^t).")
        for slip, seq in ref.items():
            if slip != "numpykan" and p.shape == ep.shape and np.allclose(p, seq[t - 1][0], rtol=1e-10):
                hint = f"your update matches Adam with {slip}. " + hint
        compare(p, ep, f"p after step {t}", labels=("r", "c"), hint=hint)


def _dense_bfgs_direction(g, S, Y):
    """``-H g`` with ``H`` built by the BFGS inverse update from ``H0 = gamma I`` (the reference)."""
    n = g.size
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if S else 1.0
    H = gamma * np.eye(n)
    for s, y in zip(S, Y):                                        # oldest -> newest
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return -H @ g


def _numpykan_direction(g, S, Y):
    """numpykan's own L-BFGS direction on these pairs, or None if its internals changed."""
    from ..training.lbfgs import LBFGS

    try:
        opt = LBFGS([({"w": np.zeros(g.size)}, {})])
        opt.state["s"], opt.state["y"] = list(S), list(Y)
        return opt._direction(g.copy())
    except (AttributeError, KeyError, TypeError):
        return None


def check_two_loop(fn):
    rng = np.random.default_rng(6)
    n = 6
    A = rng.normal(0, 1, (n, n))
    A = A @ A.T + n * np.eye(n)                                  # a positive definite Hessian
    for m in (1, 3, 5):
        S = [rng.normal(0, 1, n) for _ in range(m)]
        Y = [A @ s for s in S]                                    # y = A s on a quadratic: y.s > 0
        g = rng.normal(0, 1, n)
        expected = _dense_bfgs_direction(g, S, Y)
        ours = _numpykan_direction(g, S, Y)
        if ours is not None and not np.allclose(ours, expected, rtol=1e-10, atol=1e-12):
            raise RuntimeError("numpykan's L-BFGS direction disagrees with the dense BFGS update")
        got = call(fn, g.copy(), [s.copy() for s in S], [y.copy() for y in Y])
        compare(got, expected, f"d with {m} pair{'s' if m > 1 else ''}", labels=("entry",),
                hint=("first loop newest -> oldest: alpha_i = rho_i s_i.q, q -= alpha_i y_i; then "
                      "r = gamma q with gamma = s.y / y.y of the newest pair; second loop oldest -> "
                      "newest: beta = rho_i y_i.r, r += (alpha_i - beta) s_i; d = -r. Check the "
                      "two orders and that each alpha_i is used with its own pair."))


# ---------------------------------------------------------------------------
# lesson 5
# ---------------------------------------------------------------------------

def check_refit_coef(fn):
    from ..splines.bspline import evaluate, fit_coef

    rng = np.random.default_rng(7)
    for I, O, G, k in ((1, 3, 5, 3), (2, 2, 4, 2)):
        old_grid = _grids(I, 3, k, seed=11)
        new_grid = _grids(I, G, k, seed=12)
        x = rng.uniform(-0.9, 0.9, (200, I))                      # (N, I)
        coef = rng.normal(0, 1, (I, O, 3 + k))
        old_values = evaluate(x, old_grid, coef, k)               # (N, I, O)
        expected = fit_coef(x, old_values, new_grid, k)           # (I, O, K)
        got = call(fn, x.copy(), old_values.copy(), new_grid.copy(), k)
        compare(got, expected, f"coef (I={I}, O={O}, G={G}, k={k})", rtol=1e-6, atol=1e-8,
                labels=("i", "j", "m"),
                hint=("per input i: the design matrix B[b, m] = B_m(x[b, i]; new_grid[i]) of shape "
                      "(N, K), then lstsq(B, old_values[:, i, :]) gives (K, O): transpose it into "
                      "coef[i] of shape (O, K)."))


# ---------------------------------------------------------------------------
# lesson 6
# ---------------------------------------------------------------------------

def check_l1_entropy(fn):
    from ..training.regularization import l1_entropy

    rng = np.random.default_rng(8)
    A = rng.normal(0, 1, (12, 3, 2)) * rng.uniform(0.1, 2.0, (1, 3, 2))   # edges of unequal size
    for lamb_l1, lamb_entropy in ((1.0, 2.0), (0.0, 1.0), (1.0, 0.0)):
        R_ref, dA_ref = l1_entropy(A, lamb_l1, lamb_entropy)
        out = call(fn, A.copy(), lamb_l1, lamb_entropy)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Mistake("l1_entropy_by_hand must return the pair (R, dR/dA)")
        R, dA = out
        compare(np.asarray(R, dtype=float).reshape(()), R_ref,
                f"R with lamb_l1={lamb_l1}, lamb_entropy={lamb_entropy}",
                hint=("n_ij = mean_b |A[b, i, j]|, N = sum n, p = n / N, S = -sum p log p, "
                      "R = lamb_l1 N + lamb_entropy S."))
        arr = as_array(dA, "dR/dA", dA_ref)
        hint = ("dR/dA[b, i, j] = (lamb_l1 + lamb_entropy (-log p_ij - S) / N) sign(A[b, i, j]) / B.")
        if arr.shape == dA_ref.shape and lamb_entropy and np.allclose(
                arr, lamb_l1 * np.sign(A) / A.shape[0]):
            hint = "your gradient is the L1 part alone: the entropy term is missing. " + hint
        Av = A.copy()
        compare(arr, dA_ref, f"dR/dA with lamb_l1={lamb_l1}, lamb_entropy={lamb_entropy}",
                labels=("b", "i", "j"),
                fd=lambda idx: central_difference(lambda: l1_entropy(Av, lamb_l1, lamb_entropy)[0],
                                                  Av, idx),
                hint=hint)


_ACT_HINTS = {
    "coef": ("dL/dcoef[i, j, m] = w_s[i, j] sum_b B_m(x[b, i]) dA[b, i, j]: each edge has its own "
             "upstream gradient dA[b, i, j] (no dy[b, j] shared by the inputs)."),
    "w_b": "dL/dw_b[i, j] = sum_b silu(x[b, i]) dA[b, i, j].",
    "w_s": "dL/dw_s[i, j] = sum_b spline_ij(x[b, i]) dA[b, i, j], the spline without w_s.",
    "x": ("dL/dx[b, i] = sum_j dA[b, i, j] phi'_ij(x[b, i]): the same phi' as in lesson 3, now "
          "weighted by the edge's own dA."),
}


def check_activations_backward(fn):
    from ..models.layer import activations, activations_backward, forward

    x, coef, w_b, w_s, grid = _layer_case(B=6, I=3, O=2, G=4, k=3, seed=13)
    k = 3
    dA = np.random.default_rng(14).normal(0, 1, (6, 3, 2))
    params = {"coef": coef, "w_b": w_b, "w_s": w_s}
    _, cache = forward(x, params, grid, k)
    dx, grads = activations_backward(dA, cache)
    expected = dict(grads, x=dx)
    arrays = {"coef": coef.copy(), "w_b": w_b.copy(), "w_s": w_s.copy(), "x": x.copy()}

    def loss():
        _, c = forward(arrays["x"], {key: arrays[key] for key in ("coef", "w_b", "w_s")}, grid, k)
        return float(np.sum(dA * activations(c)))

    got = call(fn, dA.copy(), x.copy(), coef.copy(), w_b.copy(), w_s.copy(), grid.copy(), k)
    _check_grad_dict(got, expected, lambda key, idx: central_difference(loss, arrays[key], idx),
                     _ACT_HINTS, "activations_backward_by_hand")


# ---------------------------------------------------------------------------
# lesson 8
# ---------------------------------------------------------------------------

def check_cross_entropy(fn):
    from ..training.losses import cross_entropy

    rng = np.random.default_rng(15)
    for scale, what in ((2.0, "logits of size ~2"), (400.0, "logits of size ~400")):
        z = rng.normal(0, scale, (6, 5))
        labels = rng.integers(0, 5, 6)
        L_ref, dz_ref = cross_entropy(z, labels)
        out = call(fn, z.copy(), labels.copy())
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Mistake("softmax_cross_entropy must return the pair (L, dL/dz)")
        L, dz = out
        hint = "L = mean_b [log sum_c exp(z[b, c]) - z[b, y_b]]."
        if scale > 100:
            hint = ("with large logits exp overflows: subtract each row's maximum before exp "
                    "(it cancels in the softmax and in the log-sum-exp). " + hint)
        compare(np.asarray(L, dtype=float).reshape(()), L_ref, f"L ({what})", hint=hint)
        zv = z.copy()
        compare(dz, dz_ref, f"dL/dz ({what})", labels=("b", "c"),
                fd=lambda idx: central_difference(lambda: cross_entropy(zv, labels)[0], zv, idx),
                hint=("dL/dz[b, c] = (p[b, c] - [c = y_b]) / B with p the softmax of row b: the "
                      "one-hot subtraction and the 1/B of the mean."))


# ---------------------------------------------------------------------------
# lesson 10
# ---------------------------------------------------------------------------

def check_formula_edge(fn):
    from ..interpretation.symbolic import get_symbolic
    from ..interpretation.symbolic_edges import SymbolicEdges

    rng = np.random.default_rng(16)
    hints = {
        "a": "u = a x + b, v = c f(u) + d: dL/da = sum_b dv[b] c f'(u[b]) x[b] (chain rule through u).",
        "b": "dL/db = sum_b dv[b] c f'(u[b]).",
        "c": "dL/dc = sum_b dv[b] f(u[b]).",
        "d": "dL/dd = sum_b dv[b].",
        "x": "dL/dx[b] = dv[b] c f'(u[b]) a: one entry per sample, no sum.",
    }
    for name in ("sin", "x^2", "exp"):
        sym = get_symbolic(name)
        x = rng.uniform(-1, 1, 9)
        dv = rng.normal(0, 1, 9)
        abcd = np.array([1.3, -0.2, 0.7, 0.4])
        edges = SymbolicEdges(1, 1)
        edges.set_edge(0, 0, name, abcd)
        edges.forward(x[:, None])
        dx = edges.backward(dv[:, None])                          # (B, 1)
        g = edges.grads["abcd"][0]                                # (4,)
        expected = {"a": g[0], "b": g[1], "c": g[2], "d": g[3], "x": dx[:, 0]}
        got = call(fn, x.copy(), dv.copy(), *abcd, sym.f, sym.df)
        if not isinstance(got, dict) or any(key not in got for key in expected):
            raise Mistake(f"formula_edge_grads must return a dict with keys {sorted(expected)}")
        arrays = {"x": x.copy(), "abcd": abcd.copy()}

        def loss():
            a, b, c, d = arrays["abcd"]
            return float(np.sum(dv * (c * sym.f(a * arrays["x"] + b) + d)))

        for key in ("a", "b", "c", "d", "x"):
            if key == "x":
                fd = lambda idx: central_difference(loss, arrays["x"], idx)   # noqa: E731
            else:
                col = "abcd".index(key)
                fd = lambda idx, col=col: central_difference(loss, arrays["abcd"], (col,))  # noqa: E731
            compare(np.asarray(got[key], dtype=float).reshape(np.shape(expected[key])),
                    expected[key], f"dL/d{key} for f = {name}",
                    labels=("b",) if key == "x" else None, fd=fd, hint=hints[key])


EXERCISES = {
    1: [Exercise(1, "cox_de_boor", "the B-spline recursion", check_cox_de_boor),
        Exercise(1, "derivative_by_hand", "the B-spline derivative", check_derivative,
                 ("cox_de_boor",))],
    2: [Exercise(2, "layer_forward", "one layer's forward pass", check_layer_forward)],
    3: [Exercise(3, "silu_prime", "SiLU's derivative", check_silu_prime),
        Exercise(3, "layer_backward", "the layer's backward into coef, w_b, w_s, x",
                 check_layer_backward, ("silu_prime",))],
    4: [Exercise(4, "adam_update", "Adam's update", check_adam_update),
        Exercise(4, "two_loop", "L-BFGS's two-loop recursion", check_two_loop)],
    5: [Exercise(5, "refit_coef", "the least-squares refit", check_refit_coef)],
    6: [Exercise(6, "l1_entropy_by_hand", "the regularizer and its gradient", check_l1_entropy),
        Exercise(6, "activations_backward_by_hand", "the regularizer's gradient into the layer and x",
                 check_activations_backward)],
    8: [Exercise(8, "softmax_cross_entropy", "softmax cross-entropy and its gradient",
                 check_cross_entropy)],
    10: [Exercise(10, "formula_edge_grads", "a formula edge's gradients in a, b, c, d and x",
                  check_formula_edge)],
}


def exercises_of(lesson):
    """The exercises of lesson number ``lesson`` (ValueError if it has none)."""
    if lesson not in EXERCISES:
        have = ", ".join(f"{n:02d}" for n in sorted(EXERCISES))
        raise ValueError(f"lesson {lesson:02d} has no graded exercises; lessons with some: {have}")
    return EXERCISES[lesson]
