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

import itertools
from collections.abc import Mapping

import numpy as np

from ..validation import check_nonnegative as _check_nonnegative, check_positive as _check_positive
from ..validation import check_real as _check_real
from ..validation import check_unit_interval as _check_unit_interval
from .lbfgs import LBFGS
from .protocol import check_groups as _check_groups
from .transaction import FlatCopy, atomic

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LBFGS", "OptimizerSnapshot", "get_optimizer"]

_STAMPS = itertools.count()     # marks each write of a fused moment buffer (see Adam.snapshot)

#: the constructors' rules, which a loaded state dict obeys too
_HYPER_CHECKS = {"momentum": _check_unit_interval, "beta1": _check_unit_interval,
                 "beta2": _check_unit_interval, "eps": _check_positive,
                 "weight_decay": _check_nonnegative}


def _number(sd, key):
    """``sd[key]`` as a float: a real number or a 0-d array of one; a ``ValueError`` naming it."""
    if key not in sd:
        raise ValueError(f"state_dict has no {key!r} entry")
    v = np.asarray(sd[key])
    if v.shape != () or v.dtype.kind not in "fiu":
        raise ValueError(f"state_dict[{key!r}] must be a number, got {sd[key]!r}")
    return float(v)


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

    def snapshot(self, into=None, copy=True):
        """The optimizer's state (moments, step counts), to put back with :meth:`restore`.

        The moment arrays are copied (a step writes into them in place), one
        copy per underlying buffer: Adam's fused moments are views of two flat
        arrays, so its whole state is two copies. The per-parameter state
        dicts are kept as shallow copies (their step counts ``t`` and which
        arrays they hold). ``into``: an older snapshot of this optimizer whose
        buffer is reused. Hyperparameters (``lr``, ...) are not part of it.
        ``copy=False`` lets an optimizer skip the copies where it can vouch for
        the arrays otherwise (:meth:`Adam.snapshot`); here it copies anyway.

        Examples
        --------
        >>> params, grads = {"w": np.zeros(3)}, {"w": np.ones(3)}
        >>> opt = Adam([(params, grads)], lr=0.1)
        >>> snap = opt.snapshot()
        >>> opt.step()
        >>> opt.restore(snap); params["w"][...] = 0
        >>> opt.state
        {}
        """
        snap = into if isinstance(into, OptimizerSnapshot) and into.owner is self else OptimizerSnapshot(self)
        entries, bases = [], {}
        for key, st in self.state.items():
            entries.append((key, st, dict(st)))
            for n in self._moments:
                a = st.get(n)
                if a is not None:
                    b = a if a.base is None else a.base        # a view of a fused flat array
                    bases[id(b)] = b
        snap.entries = entries
        snap.values.take(list(bases.values()))
        snap.extra = self._snapshot_extra()
        return snap

    def restore(self, snapshot):
        """Put the state back exactly as :meth:`snapshot` found it.

        Raises
        ------
        ValueError
            If the snapshot was taken of another optimizer.
        """
        if not isinstance(snapshot, OptimizerSnapshot) or snapshot.owner is not self:
            raise ValueError("snapshot must come from this optimizer's snapshot()")
        with atomic():                                         # Ctrl-C cannot cut it in two
            self.state = {key: st for key, st, _ in snapshot.entries}
            for _, st, saved in snapshot.entries:
                st.clear()
                st.update(saved)
            snapshot.values.put_back()
            for name, value in snapshot.extra.items():
                setattr(self, name, value)

    def _snapshot_extra(self):
        """Attributes besides ``state`` that :meth:`restore` sets back (subclasses add theirs)."""
        return {}

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
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict from state_dict(), got "
                            f"{type(state_dict).__name__}")
        sd = dict(state_dict)                   # every check first: a refused dict changes nothing
        name = str(np.asarray(sd.get("name", "")))
        if name != type(self).__name__:
            raise ValueError(
                f"state_dict is from optimizer {name!r}, cannot load it into "
                f"{type(self).__name__}"
            )
        lr = _check_positive(_number(sd, "lr"), "lr")
        hyper = {h: _HYPER_CHECKS.get(h, _check_real)(_number(sd, h), f"state_dict[{h!r}]")
                 for h in self._hyper}
        state = {}
        for k, v in sd.items():
            if not k.startswith("state."):
                continue
            try:
                gi, rest = k[len("state."):].split(".", 1)
                key, n = rest.rsplit(".", 1)
                gi = int(gi)
            except ValueError:
                raise ValueError(f"state_dict key {k!r} is not 'state.<group>.<key>.<name>'") from None
            if not 0 <= gi < len(self.groups):
                raise ValueError(
                    f"state_dict key {k!r} refers to group {gi}, but this optimizer "
                    f"has {len(self.groups)} (params, grads) pairs"
                )
            v = np.asarray(v)
            if n == "t":
                if v.shape != () or v.dtype.kind not in "iu" or v < 0:
                    raise ValueError(f"state_dict[{k!r}] must be an int >= 0, got {v!r}")
                value = int(v)
            else:
                if v.dtype.kind != "f" or not np.isfinite(v).all():
                    raise ValueError(f"state_dict[{k!r}] must be a finite float array, got "
                                     f"dtype {v.dtype}" + ("" if v.dtype.kind != "f" else " with NaN or inf"))
                value = np.array(v, copy=True)
            state.setdefault((gi, key), {})[n] = value
        self.lr = lr
        for h, value in hyper.items():
            setattr(self, h, value)
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

    def _direction(self, g, m, v, t, w, m_out=None, v_out=None):
        """Update the moments and put the step into ``w``.

        The equations of the class docstring, computed in the one scratch
        array ``w`` (so a step allocates nothing the size of ``g``); afterwards
        ``w = lr m_hat / (sqrt(v_hat) + eps)`` and the caller does ``p -= w``.
        ``t >= 1`` is the step number. The new moments go into ``m_out``,
        ``v_out`` (default: ``m``, ``v`` in place); the fused step writes them
        into its second pair of buffers, so the moments before the step stay
        intact for a restore (see :meth:`snapshot`), at no extra pass.
        """
        b1, b2 = self.beta1, self.beta2
        m_out = m if m_out is None else m_out
        v_out = v if v_out is None else v_out
        np.multiply(m, b1, out=m_out)           # m <- b1 m + (1 - b1) g
        np.multiply(g, 1 - b1, out=w)
        m_out += w
        np.multiply(v, b2, out=v_out)           # v <- b2 v + (1 - b2) g^2
        np.multiply(g, g, out=w)
        w *= 1 - b2
        v_out += w
        np.divide(v_out, 1 - b2 ** t, out=w)    # v_hat = v / (1 - b2^t)
        np.sqrt(w, out=w)
        w += self.eps                           # sqrt(v_hat) + eps
        np.divide(m_out, w, out=w)              # m / (sqrt(v_hat) + eps)
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

    def snapshot(self, into=None, copy=True):
        """The optimizer's state, to put back with :meth:`restore` (see :meth:`Optimizer.snapshot`).

        ``copy=False`` copies nothing when the moments live in the fused flat
        buffers: it pins them, so that the next fused step writes the new
        moments into a second buffer pair (see :meth:`_step_all`). The pair a
        snapshot points to then stays intact until the second step after it,
        which is all :func:`numpykan.fit` needs (it restores at most the state
        before the previous step, before that step's update). :meth:`restore`
        refuses such a snapshot once its buffers were written again. Otherwise
        the moments are copied.
        """
        flat = getattr(self, "_flat", None)
        fused = flat is not None and all(st.get("m") is m for st, m in
                                         zip(flat["states"], flat["slots"][flat["cur"]]["m_views"]))
        if copy or not fused or len(flat["states"]) != len(self.state):
            snap = super().snapshot(into)                       # copies the slot's two buffers
            snap.checked = None
        else:
            snap = into if isinstance(into, OptimizerSnapshot) and into.owner is self else OptimizerSnapshot(self)
            snap.entries = [(key, st, dict(st)) for key, st in self.state.items()]
            snap.values.take([])
            slot = flat["slots"][flat["cur"]]
            snap.checked = slot["v"]                            # finite(): v alone, see below
            flat["pinned"] = True                               # the next step writes the spare pair
        snap.extra = {"_flat": flat}
        snap.slot = None if flat is None else (flat["cur"], flat["slots"][flat["cur"]]["stamp"], copy)
        return snap

    def restore(self, snapshot):
        """Put the state back as :meth:`snapshot` found it; refuse a stale ``copy=False`` snapshot."""
        if not isinstance(snapshot, OptimizerSnapshot) or snapshot.owner is not self:
            raise ValueError("snapshot must come from this optimizer's snapshot()")
        flat = snapshot.extra.get("_flat")
        if flat is not None and snapshot.slot is not None:
            cur, stamp, copied = snapshot.slot
            slot = flat["slots"][cur]
            if not copied and slot["stamp"] != stamp:        # checked before anything changes
                raise RuntimeError("this optimizer snapshot (copy=False) is stale: its moments were "
                                   "overwritten by a later step; take snapshots with copy=True to "
                                   "keep them")
        with atomic():
            if flat is not None and snapshot.slot is not None:
                flat["cur"] = cur
                flat["pinned"] = not copied                     # the snapshot may be used again
                if copied:
                    slot["stamp"] = next(_STAMPS)               # its contents change below
            super().restore(snapshot)

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

        The moments normally change in place. After a :meth:`snapshot` with
        ``copy=False`` (what :func:`numpykan.fit` takes before each step) the
        current buffers are *pinned*: the next step writes the new moments
        into a second pair of flat buffers instead (the same passes), which
        then becomes current, and each state's ``m``, ``v`` are rebound to its
        views. The pinned moments stay intact for a restore, so the snapshot
        copies nothing. Without snapshots nothing changes: writing out of
        place enlarges the working set (mnist64: m, v and their spares are 1 MB)
        and would slow the plain step by ~7%.
        """
        small = sum(p.size for _, _, p, _ in todo) < self.fuse_below * len(todo)
        flat = self._flat_layout(todo) if self.fuse and small else None
        if flat is None:
            return super()._step_all(todo)
        g = flat["g"]
        np.concatenate([self._decay(p, gp).reshape(-1) for _, _, p, gp in todo], out=g)
        old = flat["slots"][flat["cur"]]
        for st in flat["states"]:
            st["t"] += 1
        if not flat["pinned"]:                                  # in place: the plain step
            old["stamp"] = next(_STAMPS)                        # its old contents are gone now
            self._direction(g, old["m"], old["v"], flat["states"][0]["t"], flat["w"])
        else:                                                   # a snapshot holds old: write the spare
            new = flat["slots"][1 - flat["cur"]] or self._slot(flat)
            new["stamp"] = next(_STAMPS)
            self._direction(g, old["m"], old["v"], flat["states"][0]["t"], flat["w"],
                            new["m"], new["v"])
            flat["cur"], flat["pinned"] = 1 - flat["cur"], False   # the new moments are the state
            for st, m, v in zip(flat["states"], new["m_views"], new["v_views"]):
                st["m"], st["v"] = m, v
        for (_, _, p, _), w in zip(todo, flat["w_views"]):
            p -= w

    @staticmethod
    def _slot(flat):
        """A new pair of flat moment buffers for ``flat``, put in its first empty slot."""
        n, dtype = flat["g"].size, flat["g"].dtype
        m, v = np.empty(n, dtype=dtype), np.empty(n, dtype=dtype)
        slot = {"m": m, "v": v, "m_views": flat["views"](m), "v_views": flat["views"](v),
                "stamp": next(_STAMPS)}
        flat["slots"][flat["slots"].index(None)] = slot
        return slot

    def _flat_layout(self, todo):
        """The flat arrays for :meth:`_step_all`, made again when the parameters or the state changed.

        Returns None when the parameters cannot share one step (mixed dtypes or
        step counts, e.g. after a grid refinement reset one parameter's state).
        """
        layout = tuple((gi, key, p.shape, p.dtype) for gi, key, p, _ in todo)
        flat = getattr(self, "_flat", None)
        if flat is not None and flat["layout"] == layout:
            slot = flat["slots"][flat["cur"]]
            if all(self.state.get((gi, key)) is st and st["m"] is m and st["v"] is v
                   for (gi, key, _, _), st, m, v in zip(todo, flat["states"], slot["m_views"],
                                                        slot["v_views"])):
                return flat if len({st["t"] for st in flat["states"]}) == 1 else None
        if not todo or len({p.dtype for _, _, p, _ in todo}) != 1:
            return None
        states = [self._state_for(gi, key, p) for gi, key, p, _ in todo]
        if len({st["t"] for st in states}) != 1:
            return None
        n = sum(p.size for _, _, p, _ in todo)
        dtype = todo[0][2].dtype
        ends = np.cumsum([0] + [p.size for _, _, p, _ in todo])

        def views(a):                           # one view of the flat a per parameter
            return [a[i:j].reshape(p.shape) for (_, _, p, _), i, j in zip(todo, ends, ends[1:])]

        w = np.empty(n, dtype=dtype)
        flat = {"layout": layout, "states": states, "g": np.empty(n, dtype=dtype), "w": w,
                "w_views": views(w), "views": views, "slots": [None, None], "cur": 0,
                "pinned": False}
        slots = flat["slots"]
        slots[0] = self._slot(flat)             # the moments; a spare pair comes when pinned
        for st, m, v in zip(states, slots[0]["m_views"], slots[0]["v_views"]):
            m[...] = st["m"]                    # keep the moments so far
            v[...] = st["v"]
            st["m"], st["v"] = m, v             # the state now lives in the flat arrays
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


class OptimizerSnapshot:
    """An optimizer's state as ``snapshot()`` took it; ``restore(snapshot)`` puts it back.

    Attributes
    ----------
    owner : the optimizer it belongs to
    entries : list of (key, state dict, shallow copy of it)
    values : FlatCopy
        Copies of the moment buffers.
    extra : dict
        Other attributes to set back (Adam's fused layout ``_flat``).
    """

    def __init__(self, owner):
        self.owner = owner
        self.entries = []
        self.values = FlatCopy()
        self.extra = {}
        self.slot = None
        self.checked = None

    def finite(self):
        """True if the moments are finite.

        A ``copy=False`` snapshot of Adam checks the second moments ``v``
        alone: with finite parameters after the step a non-finite ``m`` is
        impossible (it would have made the step ``lr m_hat / (sqrt(v_hat) +
        eps)`` and so the parameter non-finite), while an infinite ``v`` hides
        (it makes the step 0). ``v >= 0``, so its maximum is finite exactly
        when every entry is (NaN propagates): one read pass.
        """
        if self.checked is not None:
            return bool(np.isfinite(self.checked.max(initial=0.0)))
        return self.values.finite()


_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "lbfgs": LBFGS}


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


