"""Minimal optimizers: SGD (with momentum), Adam and AdamW.

The parameter protocol
----------------------
An optimizer takes ``model.parameters()``: a list of ``(params, grads)`` pairs
of dicts, one pair per layer, the two dicts sharing keys, e.g.::

    [({"coef": ndarray, "w_b": ndarray, "w_s": ndarray},   # params of layer 0
      {"coef": ndarray, "w_b": ndarray, "w_s": ndarray}),  # grads of layer 0
     ...]

- The optimizer keeps the dicts, not the arrays: ``params[key]`` and
  ``grads[key]`` are looked up again at every :meth:`Optimizer.step`, because a
  backward pass assigns *new* gradient arrays and a grid refinement may assign
  a new, differently shaped parameter.
- Parameters are updated **in place** (``p -= ...``): the layers hold references
  to these arrays, so rebinding a name would leave the layer untouched.
- A key whose gradient is missing or ``None`` is skipped (a frozen parameter).
- Optimizer state (moments) lives in ``self.state[(group index, key)]``, is
  created with zeros in the parameter's dtype, and is re-created when the
  parameter's shape or dtype changes. Each parameter carries its own step
  count ``t`` used by the bias correction, so re-created state starts again
  at ``t = 1``.

Every ``_update`` method below is the textbook rule of its class docstring,
line for line, in the same symbols: ``p`` parameter, ``g`` gradient, ``lr``
learning rate, ``m``/``v`` first/second moments, ``t`` step number.

Examples
--------
Minimize :math:`f(w) = (w - 3)^2`, whose gradient is :math:`2 (w - 3)`:

>>> import numpy as np
>>> w = np.array([0.0])
>>> params, grads = {"w": w}, {}
>>> opt = SGD([(params, grads)], lr=0.1, momentum=0.5)
>>> for _ in range(100):
...     grads["w"] = 2 * (params["w"] - 3)   # a "backward pass" assigns a new array
...     opt.step()
>>> round(float(w[0]), 9)                    # w itself was updated in place
3.0
"""

from collections.abc import Mapping
import math
import numbers

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "get_optimizer"]

_PROTOCOL = (
    "parameters must be a list of (params, grads) pairs of dicts, one pair per layer, "
    "e.g. model.parameters() -> [({'coef': ndarray, ...}, {'coef': ndarray, ...}), ...]"
)


def _check_groups(parameters):
    """Validate the (params, grads) protocol; return the pairs as a list of tuples."""
    if isinstance(parameters, Mapping) or isinstance(parameters, (str, bytes, np.ndarray)):
        raise TypeError(f"{_PROTOCOL}; got a {type(parameters).__name__}")
    try:
        groups = list(parameters)
    except TypeError:
        raise TypeError(f"{_PROTOCOL}; got a {type(parameters).__name__}") from None
    out = []
    for i, pair in enumerate(groups):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and isinstance(pair[0], Mapping) and isinstance(pair[1], Mapping)):
            raise TypeError(f"{_PROTOCOL}; item {i} is a {type(pair).__name__}, not such a pair")
        params, grads = pair
        for key, p in params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                what = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
                raise TypeError(
                    f"params[{key!r}] of pair {i} must be a floating-point ndarray "
                    f"(it is updated in place), got {what}"
                )
        out.append((params, grads))
    return out


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_positive(value, name):
    value = _check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _check_nonnegative(value, name):
    value = _check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _check_unit_interval(value, name):
    value = _check_real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def _check_betas(betas):
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return (_check_unit_interval(betas[0], "betas[0]"),
            _check_unit_interval(betas[1], "betas[1]"))


class Optimizer:
    """Base class: walks the (params, grads) pairs and applies ``_update``.

    Parameters
    ----------
    parameters : list of (dict, dict)
        ``model.parameters()``; see the module docstring for the protocol.
    lr : float
        Learning rate, > 0. It is a plain attribute: a schedule may set
        ``opt.lr`` between steps.

    Attributes
    ----------
    groups : list of (dict, dict)
        The (params, grads) pairs, kept by reference.
    state : dict
        ``(group index, key) -> {"t": int, <moment name>: ndarray, ...}``.
    """

    #: names of the per-parameter arrays this optimizer keeps (subclasses set it)
    _moments = ()
    #: hyperparameters saved by state_dict (besides lr)
    _hyper = ()

    def __init__(self, parameters, lr):
        self.groups = _check_groups(parameters)
        self.lr = _check_positive(lr, "lr")
        self.state = {}

    def _state_for(self, gi, key, p):
        """Return the state of ``p``, (re)created with zeros if missing or stale."""
        st = self.state.get((gi, key))
        if st is None or "t" not in st or any(
                n not in st or st[n].shape != p.shape or st[n].dtype != p.dtype
                for n in self._moments):
            st = {"t": 0}
            for n in self._moments:
                st[n] = np.zeros_like(p)
            self.state[(gi, key)] = st
        return st

    def step(self):
        """Update every parameter that has a gradient, in place, by one step.

        Raises
        ------
        ValueError
            If a gradient's shape differs from its parameter's shape (nothing
            is updated in that case).
        """
        todo = []
        for gi, (params, grads) in enumerate(self.groups):
            for key, p in params.items():
                g = grads.get(key)
                if g is None:
                    continue  # frozen, or no backward pass yet
                g = np.asarray(g)
                if g.shape != p.shape:
                    raise ValueError(
                        f"grads[{key!r}] of pair {gi} must have the shape of its "
                        f"parameter {p.shape}, got {g.shape}"
                    )
                todo.append((gi, key, p, g.astype(p.dtype, copy=False)))
        self._step_all(todo)        # validated everything first: no partial step

    def _step_all(self, todo):
        """Apply ``_update`` to each ``(group index, key, p, g)`` of ``todo``."""
        for gi, key, p, g in todo:
            st = self._state_for(gi, key, p)
            st["t"] += 1
            self._update(p, g, st)

    def _update(self, p, g, st):  # pragma: no cover - abstract
        raise NotImplementedError

    def zero_grad(self):
        """Set every gradient to a new zero array of its parameter's shape and dtype."""
        for params, grads in self.groups:
            for key, p in params.items():
                grads[key] = np.zeros_like(p)

    def state_dict(self):
        """Return the optimizer's state as a flat dict of numbers, strings and arrays.

        Keys are ``"name"``, ``"lr"``, the hyperparameters, and
        ``"state.<group>.<key>.<moment>"`` / ``"state.<group>.<key>.t"`` for
        each parameter. The arrays are copies, and the dict can be stored with
        ``np.savez(path, **opt.state_dict())`` and read back with
        ``dict(np.load(path))`` without pickle.
        """
        out = {"name": type(self).__name__, "lr": self.lr}
        for h in self._hyper:
            out[h] = getattr(self, h)
        for (gi, key), st in self.state.items():
            out[f"state.{gi}.{key}.t"] = st["t"]
            for n in self._moments:
                out[f"state.{gi}.{key}.{n}"] = st[n].copy()
        return out

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and moments saved by :meth:`state_dict`.

        Values may be 0-d arrays (as ``np.load`` returns them). Moments are
        copied; a moment whose shape no longer matches its parameter is reset
        at the next step, as after a grid refinement.

        Raises
        ------
        ValueError
            If the dict comes from another optimizer class or names a
            parameter group that does not exist.
        """
        sd = dict(state_dict)
        name = str(np.asarray(sd.get("name", "")))
        if name != type(self).__name__:
            raise ValueError(
                f"state_dict is from optimizer {name!r}, cannot load it into "
                f"{type(self).__name__}"
            )
        self.lr = _check_positive(float(np.asarray(sd["lr"])), "lr")
        for h in self._hyper:
            setattr(self, h, float(np.asarray(sd[h])))
        state = {}
        for k, v in sd.items():
            if not k.startswith("state."):
                continue
            gi, rest = k[len("state."):].split(".", 1)
            key, n = rest.rsplit(".", 1)
            gi = int(gi)
            if not 0 <= gi < len(self.groups):
                raise ValueError(
                    f"state_dict key {k!r} refers to group {gi}, but this optimizer "
                    f"has {len(self.groups)} (params, grads) pairs"
                )
            st = state.setdefault((gi, key), {})
            st[n] = int(np.asarray(v)) if n == "t" else np.array(v, copy=True)
        self.state = state


class SGD(Optimizer):
    r"""Stochastic gradient descent with (heavy-ball) momentum.

    Parameters
    ----------
    parameters : list of (dict, dict)
        ``model.parameters()``.
    lr : float, default 1e-2
        Learning rate, > 0.
    momentum : float, default 0.0
        Momentum coefficient :math:`\mu`, in [0, 1).

    Notes
    -----
    With velocity :math:`v_0 = 0`, at each step

    .. math:: v \leftarrow \mu v + g, \qquad p \leftarrow p - \mathrm{lr}\, v.

    With :math:`\mu = 0` this is plain gradient descent
    :math:`p \leftarrow p - \mathrm{lr}\, g` (no state is kept).
    This is the form of ``torch.optim.SGD`` (no dampening).
    """

    _hyper = ("momentum",)

    def __init__(self, parameters, lr=1e-2, momentum=0.0):
        super().__init__(parameters, lr)
        self.momentum = _check_unit_interval(momentum, "momentum")

    @property
    def _moments(self):
        return ("v",) if self.momentum else ()

    def _update(self, p, g, st):
        if not self.momentum:
            p -= self.lr * g
            return
        mu, v = self.momentum, st["v"]
        v[...] = mu * v + g   # v <- mu v + g
        p -= self.lr * v      # p <- p - lr v


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) with classic L2 weight decay.

    Parameters
    ----------
    parameters : list of (dict, dict)
        ``model.parameters()``.
    lr : float, default 1e-3
        Learning rate, > 0.
    betas : (float, float), default (0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2` of the moments, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator, > 0.
    weight_decay : float, default 0.0
        L2 coefficient :math:`\lambda \ge 0`, added to the gradient.

    Notes
    -----
    With :math:`m_0 = v_0 = 0` and the step number :math:`t = 1, 2, \dots`:

    .. math::

        g &\leftarrow g + \lambda p \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \hat m &= m / (1 - \beta_1^t), \qquad \hat v = v / (1 - \beta_2^t) \\
        p &\leftarrow p - \mathrm{lr}\, \hat m / (\sqrt{\hat v} + \epsilon)

    The L2 term :math:`\lambda p` goes through the moments, so it is rescaled
    per coordinate like the gradient; see :class:`AdamW` for the decoupled form.
    """

    _moments = ("m", "v")
    _hyper = ("beta1", "beta2", "eps", "weight_decay")

    def __init__(self, parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(parameters, lr)
        self.beta1, self.beta2 = _check_betas(betas)
        self.eps = _check_positive(eps, "eps")
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay")

    @property
    def betas(self):
        return (self.beta1, self.beta2)

    def _direction(self, g, m, v, t, w):
        """Update the moments ``m``, ``v`` in place and put the step into ``w``.

        The equations of the class docstring, computed in place in the one
        scratch array ``w`` (so a step allocates nothing the size of ``g``);
        afterwards ``w = lr m_hat / (sqrt(v_hat) + eps)`` and the caller does
        ``p -= w``. ``t >= 1`` is the step number.
        """
        b1, b2 = self.beta1, self.beta2
        m *= b1                                 # m <- b1 m + (1 - b1) g
        np.multiply(g, 1 - b1, out=w)
        m += w
        v *= b2                                 # v <- b2 v + (1 - b2) g^2
        np.multiply(g, g, out=w)
        w *= 1 - b2
        v += w
        np.divide(v, 1 - b2 ** t, out=w)        # v_hat = v / (1 - b2^t)
        np.sqrt(w, out=w)
        w += self.eps                           # sqrt(v_hat) + eps
        np.divide(m, w, out=w)                  # m / (sqrt(v_hat) + eps)
        w *= self.lr / (1 - b1 ** t)            # lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t)

    def _decay(self, p, g):
        """The weight-decay part of the rule, before the moments: ``g + lambda p`` (L2)."""
        return g + self.weight_decay * p if self.weight_decay else g

    def _update(self, p, g, st):
        g = self._decay(p, g)                   # g <- g + lambda p
        w = st.get("scratch")
        if w is None or w.shape != p.shape or w.dtype != p.dtype:
            w = st["scratch"] = np.empty_like(p)
        self._direction(g, st["m"], st["v"], st["t"], w)
        p -= w

    #: run the rule once over all parameters laid end to end (see _step_all); False: one by one
    fuse = True
    #: ... when the parameter arrays hold fewer numbers than this on average: for
    #: larger ones the per-call overhead is negligible and the flat copy of the
    #: gradients would only cost memory
    fuse_below = 1 << 14

    def _step_all(self, todo):
        """One Adam step for all parameters at once, on flat arrays.

        The rule is elementwise, so it can run on all parameters laid end to
        end: the gradients are copied into one flat array ``g``, the moments
        ``m``, ``v`` of every parameter are views into two flat arrays, and
        :meth:`_direction` runs once, its ~13 NumPy calls independent of the
        number of parameter arrays (a small KAN has 3 per layer, each a few
        hundred numbers, so per-call overhead is most of a per-parameter step).
        The result is bit-for-bit that of the per-parameter loop. Falls back
        to that loop when the parameters differ in dtype or step count, or are
        large (``fuse_below``).
        """
        small = sum(p.size for _, _, p, _ in todo) < self.fuse_below * len(todo)
        flat = self._flat_layout(todo) if self.fuse and small else None
        if flat is None:
            return super()._step_all(todo)
        g = flat["g"]
        np.concatenate([self._decay(p, gp).reshape(-1) for _, _, p, gp in todo], out=g)
        for st in flat["states"]:
            st["t"] += 1
        self._direction(g, flat["m"], flat["v"], flat["states"][0]["t"], flat["w"])
        for (_, _, p, _), w in zip(todo, flat["w_views"]):
            p -= w

    def _flat_layout(self, todo):
        """The flat arrays for :meth:`_step_all`, made again when the parameters or the state changed.

        Returns None when the parameters cannot share one step (mixed dtypes or
        step counts, e.g. after a grid refinement reset one parameter's state).
        """
        layout = tuple((gi, key, p.shape, p.dtype) for gi, key, p, _ in todo)
        flat = getattr(self, "_flat", None)
        if flat is not None and flat["layout"] == layout and all(
                self.state.get((gi, key)) is st and st["m"] is m and st["v"] is v
                for (gi, key, _, _), st, m, v in zip(todo, flat["states"], flat["m_views"], flat["v_views"])):
            return flat if len({st["t"] for st in flat["states"]}) == 1 else None
        if not todo or len({p.dtype for _, _, p, _ in todo}) != 1:
            return None
        states = [self._state_for(gi, key, p) for gi, key, p, _ in todo]
        if len({st["t"] for st in states}) != 1:
            return None
        n = sum(p.size for _, _, p, _ in todo)
        dtype = todo[0][2].dtype
        flat = {"layout": layout, "states": states,
                **{name: np.empty(n, dtype=dtype) for name in ("m", "v", "g", "w")}}
        ends = np.cumsum([0] + [p.size for _, _, p, _ in todo])
        views = {name: [flat[name][a:b].reshape(p.shape) for (_, _, p, _), a, b in zip(todo, ends, ends[1:])]
                 for name in ("m", "v", "w")}
        for st, m, v in zip(states, views["m"], views["v"]):
            m[...] = st["m"]                    # keep the moments so far
            v[...] = st["v"]
            st["m"], st["v"] = m, v             # the state now lives in the flat arrays
        flat.update(m_views=views["m"], v_views=views["v"], w_views=views["w"])
        self._flat = flat
        return flat


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Parameters
    ----------
    parameters : list of (dict, dict)
        ``model.parameters()``.
    lr : float, default 1e-3
        Learning rate, > 0.
    betas : (float, float), default (0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2` of the moments, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator, > 0.
    weight_decay : float, default 1e-2
        Decoupled decay coefficient :math:`\lambda \ge 0`.

    Notes
    -----
    The decay shrinks the parameter directly, before and outside the moments,
    then the Adam step of :class:`Adam` follows with the raw gradient:

    .. math::

        p &\leftarrow p - \mathrm{lr}\, \lambda\, p \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        p &\leftarrow p - \mathrm{lr}\, \frac{m / (1 - \beta_1^t)}
                                             {\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    This is the order used by ``torch.optim.AdamW`` (the decay is scaled by
    ``lr``, unlike the paper's separate schedule multiplier).
    """

    def __init__(self, parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _decay(self, p, g):
        if self.weight_decay:
            p -= self.lr * self.weight_decay * p    # p <- p - lr lambda p, outside the moments
        return g


_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get_optimizer(name, parameters, **kw):
    """Build the optimizer called ``name`` (case-insensitive).

    Parameters
    ----------
    name : str
        ``"SGD"``, ``"Adam"`` or ``"AdamW"``.
    parameters : list of (dict, dict)
        ``model.parameters()``.
    **kw
        Passed to the class (``lr``, ``betas``, ...).

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        If ``name`` is not one of the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    cls = _OPTIMIZERS.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer name {name!r}; valid names are 'SGD', 'Adam', 'AdamW', 'LBFGS'")
    return cls(parameters, **kw)


# --------------------------------------------------------------------------- #
# L-BFGS (full batch, needs a closure)
# --------------------------------------------------------------------------- #

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

    def zero_grad(self):
        """Set every gradient to zeros of its parameter's shape."""
        for params, grads in self.groups:
            for key, p in params.items():
                grads[key] = np.zeros_like(p)


_OPTIMIZERS["lbfgs"] = LBFGS
__all__.append("LBFGS")
