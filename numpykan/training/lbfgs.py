"""L-BFGS for full-batch problems: a closure recomputes the loss, a line search picks the step.

It takes the same ``(params, grads)`` pairs as the optimizers of
:mod:`numpykan.optim` (which re-exports :class:`LBFGS` and builds it by name in
``get_optimizer``), but needs a closure that recomputes the loss and refills
the gradients, as pykan's ``fit(opt="LBFGS")`` does.
"""

import math
import numbers

import numpy as np

from ..validation import check_nonnegative as _check_nonnegative, check_positive as _check_positive
from .protocol import check_groups as _check_groups
from .transaction import atomic

__all__ = ["LBFGS", "LBFGSSnapshot"]


def _cubic_min(t1, f1, d1, t2, f2, d2, lo, hi):
    """Minimizer of the cubic through ``(t1, f1, f'=d1)`` and ``(t2, f2, d2)``, clipped to ``[lo, hi]``.

    Nocedal & Wright (3.59): ``e1 = d1 + d2 - 3 (f1 - f2) / (t1 - t2)``,
    ``e2 = sign(t2 - t1) sqrt(e1^2 - d1 d2)``,
    ``t = t2 - (t2 - t1) (d2 + e2 - e1) / (d2 - d1 + 2 e2)``.
    Falls back to the midpoint when the cubic has no minimizer or a value is not finite.
    """
    mid = 0.5 * (lo + hi)
    if not all(math.isfinite(v) for v in (f1, d1, f2, d2)) or t1 == t2:
        return mid
    e1 = d1 + d2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = e1 * e1 - d1 * d2
    if disc < 0:
        return mid
    e2 = math.copysign(math.sqrt(disc), t2 - t1)
    den = d2 - d1 + 2.0 * e2
    if den == 0:
        return mid
    t = t2 - (t2 - t1) * (d2 + e2 - e1) / den
    return min(max(t, lo), hi) if math.isfinite(t) else mid


class LBFGS:
    r"""Limited-memory BFGS for full-batch problems.

    Parameters
    ----------
    parameters : list of (dict, dict)
        ``model.parameters()`` (the same protocol as the other optimizers).
    lr : float, default 1.0
        Initial step length tried by the line search (the first iteration
        ever uses ``min(1, 1 / |g|_1) lr``); without line search the step itself.
    history_size : int, default 10
        Number ``m`` of ``(s, y)`` pairs kept.
    max_iter : int, default 20
        Iterations per :meth:`step` call.
    tolerance_grad : float, default 1e-9
        Stop when ``max |g| <= tolerance_grad``.
    tolerance_change : float, default 1e-12
        Stop when ``max |x_{k+1} - x_k|`` or ``|f_{k+1} - f_k|`` is below this
        (0 disables both tests: then only ``tolerance_grad``, ``max_iter`` or a
        failed line search stop it).
    line_search : {"strong_wolfe", None}
        ``None`` takes the fixed step ``lr`` along the L-BFGS direction.
    c1, c2 : float, default 1e-4, 0.9
        Constants of the Wolfe conditions, ``0 < c1 < c2 < 1``.
    max_ls : int, default 25
        Function evaluations per line search.

    Notes
    -----
    The parameters of all pairs are flattened into one vector ``x`` (float64),
    the gradients into ``g``. ``closure()`` must recompute the loss at the
    current parameters, fill the ``grads`` dicts, and return the loss.

    *Direction (two-loop recursion).* With pairs ``s_i = x_{i+1} - x_i``,
    ``y_i = g_{i+1} - g_i``, ``rho_i = 1 / (y_i . s_i)`` (a pair is kept only
    if ``y_i . s_i > 1e-10 |y_i| |s_i|``, which keeps ``H`` positive definite;
    the test is relative, so a loss of 1e-10 is minimized as well as one of
    1), ``d = -H g``::

        q = g
        for i = newest .. oldest:  alpha_i = rho_i s_i . q;  q -= alpha_i y_i
        r = gamma q,   gamma = (s . y) / (y . y) of the newest pair (1 if none)
        for i = oldest .. newest:  beta = rho_i y_i . r;    r += (alpha_i - beta) s_i
        d = -r

    *Line search (strong Wolfe).* Along ``phi(t) = f(x + t d)``, with
    ``phi'(0) = g . d < 0``, accept a step ``t`` satisfying

    - sufficient decrease: ``phi(t) <= phi(0) + c1 t phi'(0)``,
    - curvature (strong): ``|phi'(t)| <= c2 |phi'(0)|``.

    Close to a minimum with a nonzero loss (a least-squares residual) the
    true decrease falls below what ``phi`` can resolve. There, as in Hager &
    Zhang's approximate Wolfe conditions, a step whose loss is within the
    rounding ``eps_f = 1e-13 |phi(0)|`` of ``phi(0)`` also passes the decrease
    test when ``phi'(t) <= (1 - 2 c1) |phi'(0)|`` (exact for a quadratic), and
    "no better than" comparisons allow ``eps_f``; the gradient still drives
    the progress.

    This is Algorithm 3.5 of Nocedal & Wright: try ``t``; if it breaks the
    decrease condition or is no better than the previous trial, the bracket
    ``[t_prev, t]`` holds an acceptable step and ``zoom`` finds it; if it meets
    both conditions, accept; if ``phi'(t) >= 0``, zoom in ``[t, t_prev]``;
    else double ``t``. ``zoom`` (Algorithm 3.6) keeps a bracket ``(lo, hi)``
    where ``lo`` satisfies the decrease condition with the lowest ``phi`` so
    far, and tries the minimizer of the cubic through both ends (kept at
    least 10 % of the bracket away from them, else bisection). A non-finite
    loss counts as ``+inf``, so a step into NaN is shrunk, never taken.

    After :meth:`step`, the parameters, the ``grads`` dicts and whatever the
    closure records (e.g. ``model.last_loss``) all belong to the same point.

    Examples
    --------
    Minimize ``f(w) = sum (w - 3)^2``:

    >>> import numpy as np
    >>> params, grads = {"w": np.zeros(3)}, {}
    >>> def closure():
    ...     grads["w"] = 2 * (params["w"] - 3)
    ...     return float(np.sum((params["w"] - 3) ** 2))
    >>> opt = LBFGS([(params, grads)])
    >>> opt.step(closure) < 1e-20
    True
    """

    #: fit() and other drivers: call ``step(closure)``, not ``step()``
    needs_closure = True

    def __init__(self, parameters, lr=1.0, history_size=10, max_iter=20, tolerance_grad=1e-9,
                 tolerance_change=1e-12, line_search="strong_wolfe", c1=1e-4, c2=0.9, max_ls=25):
        self.groups = _check_groups(parameters)
        self.lr = _check_positive(lr, "lr")
        for name, v in (("history_size", history_size), ("max_iter", max_iter), ("max_ls", max_ls)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        self.history_size, self.max_iter, self.max_ls = int(history_size), int(max_iter), int(max_ls)
        self.tolerance_grad = _check_nonnegative(tolerance_grad, "tolerance_grad")
        self.tolerance_change = _check_nonnegative(tolerance_change, "tolerance_change")
        if line_search not in ("strong_wolfe", None):
            raise ValueError(f"line_search must be 'strong_wolfe' or None, got {line_search!r}")
        self.line_search = line_search
        self.c1, self.c2 = _check_positive(c1, "c1"), _check_positive(c2, "c2")
        if not self.c1 < self.c2 < 1:
            raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
        self.state = {"s": [], "y": [], "n_iter": 0, "n_evals": 0, "layout": None}

    # -- the flat view of the parameters ------------------------------------------
    def _layout(self):
        return [(gi, key, p.shape) for gi, (params, _) in enumerate(self.groups)
                for key, p in params.items()]

    def _get_x(self):
        arrays = [p.ravel() for params, _ in self.groups for p in params.values()]
        return np.concatenate(arrays).astype(np.float64) if arrays else np.zeros(0)

    def _get_g(self):
        out = []
        for gi, (params, grads) in enumerate(self.groups):
            for key, p in params.items():
                g = grads.get(key)
                if g is None:
                    out.append(np.zeros(p.size))             # frozen: never moves
                    continue
                if np.shape(g) != p.shape:
                    raise ValueError(f"grads[{key!r}] of pair {gi} must have the shape of its "
                                     f"parameter {p.shape}, got {np.shape(g)}")
                out.append(np.asarray(g, dtype=np.float64).ravel())
        return np.concatenate(out) if out else np.zeros(0)

    def _set_x(self, x):
        pos = 0
        for params, _ in self.groups:
            for p in params.values():
                p[...] = x[pos:pos + p.size].reshape(p.shape)   # in place, cast to p.dtype
                pos += p.size

    def _evaluate(self, closure, x):
        """Set the parameters to ``x``, run the closure: ``(f, g)``; NaN/inf loss -> ``inf``."""
        self._set_x(x)
        self._last_x = x
        f = float(closure())
        self.state["n_evals"] += 1
        if not math.isfinite(f):
            return math.inf, np.full_like(x, np.nan)
        return f, self._get_g()

    # -- direction ----------------------------------------------------------------
    def _direction(self, g):
        """``d = -H g`` by the two-loop recursion of the class docstring."""
        S, Y = self.state["s"], self.state["y"]
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(S), reversed(Y)):            # newest -> oldest
            a = (s @ q) / (y @ s)
            q -= a * y
            alphas.append(a)
        gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if S else 1.0
        r = gamma * q
        for (s, y), a in zip(zip(S, Y), reversed(alphas)):    # oldest -> newest
            beta = (y @ r) / (y @ s)
            r += (a - beta) * s
        return -r

    # -- line search --------------------------------------------------------------
    def _strong_wolfe(self, closure, x, f0, g0, d, t):
        """Step ``t`` along ``d`` meeting the strong Wolfe conditions: ``(t, f, g, evaluated_last)``.

        Returns ``t = 0`` (with ``f0, g0``) when no decrease was found within ``max_ls`` evaluations.
        """
        c1, c2 = self.c1, self.c2
        dphi0 = float(g0 @ d)
        best = (0.0, f0, g0)
        trials = []

        def phi(t):
            f, g = self._evaluate(closure, x + t * d)
            trials.append(t)
            return f, g, (float(g @ d) if math.isfinite(f) else math.nan)

        slack = 1e-13 * abs(f0)                              # eps_f: rounding of f near f0

        def decrease_ok(t, f, dp):
            return f <= f0 + c1 * t * dphi0 or (f <= f0 + slack and dp <= (2 * c1 - 1) * dphi0)

        def zoom(lo, f_lo, dp_lo, hi, f_hi, dp_hi):
            nonlocal best
            while len(trials) < self.max_ls:
                a, b = min(lo, hi), max(lo, hi)
                w = b - a
                if w * float(np.max(np.abs(d))) <= self.tolerance_change:
                    break
                tj = _cubic_min(lo, f_lo, dp_lo, hi, f_hi, dp_hi, a + 0.1 * w, b - 0.1 * w)
                fj, gj, dpj = phi(tj)
                if not decrease_ok(tj, fj, dpj) or fj > f_lo + slack:
                    hi, f_hi, dp_hi = tj, fj, dpj
                else:
                    if fj < best[1]:
                        best = (tj, fj, gj)
                    if abs(dpj) <= -c2 * dphi0:
                        return tj, fj, gj
                    if dpj * (hi - lo) >= 0:
                        hi, f_hi, dp_hi = lo, f_lo, dp_lo
                    lo, f_lo, dp_lo = tj, fj, dpj
            return best

        t_prev, f_prev, dp_prev = 0.0, f0, dphi0
        while len(trials) < self.max_ls:
            f, g, dp = phi(t)
            if not decrease_ok(t, f, dp) or (len(trials) > 1 and f > f_prev + slack):
                return zoom(t_prev, f_prev, dp_prev, t, f, dp)
            if f < best[1]:
                best = (t, f, g)
            if abs(dp) <= -c2 * dphi0:
                return t, f, g
            if dp >= 0:
                return zoom(t, f, dp, t_prev, f_prev, dp_prev)
            t_prev, f_prev, dp_prev = t, f, dp
            t = 2.0 * t
        return best

    # -- the step -------------------------------------------------------------------
    def reset_history(self):
        """Forget the curvature pairs (after the loss itself changed, e.g. a grid update)."""
        self.state.update(s=[], y=[])

    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; return the final loss.

        Parameters
        ----------
        closure : callable
            ``closure() -> float``: recomputes the loss at the current
            parameters and fills the ``grads`` dicts (e.g.
            ``lambda: model.loss_and_grad(x, y)``).
        """
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step needs a closure that recomputes the loss and fills the "
                            "grads, e.g. opt.step(lambda: model.loss_and_grad(x, y))")
        st = self.state
        layout = self._layout()
        if layout != st["layout"]:                             # new or reshaped parameters
            st.update(s=[], y=[], layout=layout)
        x = self._get_x()
        f, g = self._evaluate(closure, x)
        if not math.isfinite(f):
            raise FloatingPointError("LBFGS.step: the loss at the starting point is not finite")
        for _ in range(self.max_iter):
            if float(np.max(np.abs(g), initial=0.0)) <= self.tolerance_grad:
                break
            d = self._direction(g)
            gtd = float(g @ d)
            if not gtd < 0:                                    # not a descent direction: restart
                st["s"], st["y"] = [], []
                d = -g
                gtd = float(g @ d)
            t = self.lr * (min(1.0, 1.0 / float(np.sum(np.abs(g)))) if st["n_iter"] == 0 else 1.0)
            st["n_iter"] += 1
            if self.line_search == "strong_wolfe":
                t, f_new, g_new = self._strong_wolfe(closure, x, f, g, d, t)
                if t == 0.0:                                   # no decrease found: converged
                    break
            else:
                f_new, g_new = self._evaluate(closure, x + t * d)
                if not math.isfinite(f_new):
                    raise FloatingPointError(f"LBFGS.step: the loss became {f_new} with the fixed "
                                             f"step lr={self.lr}; use line_search='strong_wolfe'")
            s_vec = t * d
            y_vec = g_new - g
            ys = float(y_vec @ s_vec)
            if ys > 1e-10 * float(np.linalg.norm(y_vec) * np.linalg.norm(s_vec)):
                st["s"].append(s_vec)
                st["y"].append(y_vec)
                if len(st["s"]) > self.history_size:
                    st["s"].pop(0)
                    st["y"].pop(0)
            x = x + s_vec
            f_old, f, g = f, f_new, g_new
            if float(np.max(np.abs(s_vec))) < self.tolerance_change:
                break
            if abs(f - f_old) < self.tolerance_change:
                break
        # leave parameters, grads and the closure's side effects at the accepted point
        if self._last_x is not x and not np.array_equal(self._last_x, x):
            f, g = self._evaluate(closure, x)
        return f

    def snapshot(self, into=None, copy=True):
        """The curvature pairs and counters, to put back with :meth:`restore`.

        Nothing is copied: the ``(s, y)`` arrays are never written into (each
        iteration makes new ones), so the snapshot keeps the lists' items by
        reference. ``into`` and ``copy`` are accepted for the protocol of :func:`numpykan.fit`.
        """
        return LBFGSSnapshot(self, {key: list(v) if isinstance(v, list) else v
                                    for key, v in self.state.items()},
                             self.__dict__.get("_last_x"))

    def restore(self, snapshot):
        """Put the pairs and counters back exactly as :meth:`snapshot` found them.

        Raises
        ------
        ValueError
            If the snapshot was taken of another optimizer.
        """
        if not isinstance(snapshot, LBFGSSnapshot) or snapshot.owner is not self:
            raise ValueError("snapshot must come from this optimizer's snapshot()")
        saved = {key: list(v) if isinstance(v, list) else v for key, v in snapshot.state.items()}
        with atomic():                                         # Ctrl-C cannot cut it in two
            self.state.clear()
            self.state.update(saved)
            if snapshot.last_x is None:
                self.__dict__.pop("_last_x", None)
            else:
                self._last_x = snapshot.last_x

    def zero_grad(self):
        """Set every gradient to zeros of its parameter's shape."""
        for params, grads in self.groups:
            for key, p in params.items():
                grads[key] = np.zeros_like(p)


class LBFGSSnapshot:
    """What :meth:`LBFGS.restore` needs: the state dict (lists copied) and the last point."""

    def __init__(self, owner, state, last_x):
        self.owner, self.state, self.last_x = owner, state, last_x

    def finite(self):
        """Always True: only accepted, finite points enter the pairs."""
        return True
