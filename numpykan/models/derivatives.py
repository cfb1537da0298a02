"""Derivatives of a network with respect to its inputs, by hand, and losses written on them.

Glossary: ``B`` batch, ``I = width[0]`` inputs (also the number ``D`` of input
directions), ``O = width[-1]`` outputs.

A physics-informed loss needs ``u(x)``, its Jacobian ``du_o/dx_d`` and the
second derivatives ``d^2 u_o/dx_d^2`` (whose sum over ``d`` is the Laplacian).
They are carried *forward* through the network, layer by layer, as a jet
``(h, J, H)`` of every layer's input (:mod:`numpykan.derivative_layers`): with
``h^0 = x``, ``J^0 = identity``, ``H^0 = 0`` and, for a layer of edges
``phi_ij`` (chain rule, then the product rule)::

    h'_j    = sum_i phi_ij(h_i)
    J'_jd   = sum_i phi'_ij(h_i) J_id
    H'_jd   = sum_i phi''_ij(h_i) J_id^2 + phi'_ij(h_i) H_id

So ``J^L`` is the Jacobian ``(B, O, I)`` and ``H^L`` the Hessian diagonal
``(B, O, I)``; the off-diagonal second derivatives are never formed (a
Laplacian does not need them). Cost: ``D + 1`` numbers per node instead of 1.

A loss on them (``L(u, J, H, x)``) gets its gradients by the reverse pass of
that recursion (each layer's is derived in :mod:`numpykan.derivative_layers`):
it needs the edges' *third* derivatives ``phi'''`` for ``dL/dh`` and reaches
every parameter (``coef``, ``w_b``, ``w_s``; formula edges' ``abcd``; an MLP's
``W``, ``b``) and ``x``. :class:`DerivativeLoss` wraps such a loss so that
``loss.loss_and_grad(model, x)`` fills the layers' ``grads`` like
``model.loss_and_grad`` does, and :func:`numpykan.check_model` checks it.

Between layers a network may have node operations (pykan's multiplication
nodes, ``u v`` of two subnodes). They fit in as one more *stage* of the chain:
any object with ``forward(h, J, H, order, backward, input_grad) -> (h, J, H, cache)``,
``backward(cache, gh, gJ, gH) -> (gh, gJ, gH, grads)`` and ``groups()``; a model
that has them lists its stages in a method ``derivative_stages()``, which
:func:`stages` uses instead of one stage per layer. For a product node the
forward rules are ``(uv)_d = u_d v + u v_d`` and ``(uv)_dd = u_dd v + 2 u_d v_d + u v_dd``
(per direction ``d``, so the diagonal stays closed). A KAN with multiplication nodes
lists :class:`numpykan.models.multnodes.MultStage` after each layer that feeds them
(:meth:`numpykan.KAN.derivative_stages`); the product rule of any arity and its reverse
pass are derived there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .derivative_layers import DenseStage, KANStage
from .layer import KANLayer

__all__ = ["Jet", "stages", "forward", "backward", "assign_grads", "input_derivatives",
           "jacobian", "hessian_diag", "laplacian", "DerivativeLoss"]


class Jet(NamedTuple):
    """A network's outputs with their input derivatives.

    Attributes
    ----------
    u : ndarray, shape (B, O)
    J : ndarray, shape (B, O, I), or None (order 0)
        ``J[b, o, d] = du_o / dx_d``.
    H : ndarray, shape (B, O, I), or None (order < 2)
        ``H[b, o, d] = d^2 u_o / dx_d^2``: the Hessian diagonal; ``H.sum(-1)`` is the Laplacian.
    """

    u: np.ndarray
    J: object = None
    H: object = None


class Tape(NamedTuple):
    """What :func:`backward` reads: the stages, their caches and the input."""

    stages: list
    caches: list
    x: np.ndarray
    order: int
    out_dim: int


def stages(model):
    """The chain of stages of ``model``: ``model.derivative_stages()`` if it has one, else one per layer."""
    hook = getattr(model, "derivative_stages", None)
    if callable(hook):
        return list(hook())
    from .mlp import DenseLayer                                # mlp imports model: keep it lazy
    out = []
    for l, layer in enumerate(model.layers):
        if isinstance(layer, KANLayer):
            out.append(KANStage(layer))
        elif isinstance(layer, DenseLayer):
            out.append(DenseStage(layer))
        else:
            raise TypeError(f"layer {l} is a {type(layer).__name__}; input derivatives know "
                            f"KANLayer and the MLP's DenseLayer (or give the model a "
                            f"derivative_stages() method)")
    return out


def _check_order(order):
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"order must be an int 0, 1 or 2, got {order!r}")
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0 (values), 1 (Jacobian) or 2 (and the Hessian "
                         f"diagonal), got {order}")
    return int(order)


def forward(model, x, order=2, backward=False, input_grad=False, check=True):
    """Outputs and their input derivatives up to ``order``, layer by layer (module docstring).

    Parameters
    ----------
    model : KAN or MLP
    x : ndarray, shape (B, I)
    order : {0, 1, 2}
        0: ``u`` only; 1: and the Jacobian; 2: and the Hessian diagonal.
    backward : bool
        Keep what :func:`backward` needs (else the tape holds no caches).
    input_grad : bool
        Also prepare ``dL/dx`` (the first layer then evaluates one more derivative).
    check : bool
        Validate ``x`` (width, finite values; cast to the model's dtype).

    Returns
    -------
    jet : Jet
    tape : Tape
        For :func:`backward`.
    """
    order = _check_order(order)
    if check:
        x = model._input(x)
    chain = stages(model)
    h, J, H = x, None, None                                    # J = identity, H = 0 (see derivative_layers)
    caches = []
    for l, stage in enumerate(chain):
        h, J, H, cache = stage.forward(h, J, H, order, backward, input_grad or l > 0)
        caches.append(cache)                                   # h (B, O_l); J, H (B, O_l, I)
    return Jet(h, J, H), Tape(chain, caches, x, order, h.shape[1])


def backward(tape, gu=None, gJ=None, gH=None):
    """Reverse pass of :func:`forward`: ``(dL/dx or None, grads)``.

    Parameters
    ----------
    tape : Tape
        From :func:`forward` with ``backward=True``.
    gu : ndarray, shape (B, O), optional
        ``dL/du``; None for zero.
    gJ, gH : ndarray, shape (B, O, I), optional
        ``dL/dJ`` and ``dL/dH``; None for zero.

    Returns
    -------
    gx : ndarray, shape (B, I), or None
        ``dL/dx`` through the network (if the forward had ``input_grad``).
    grads : list of (dict, dict)
        ``(layer_grads, computed)`` for every ``(params, grads)`` pair the stages
        own: write them with :func:`assign_grads` (nothing is written here).
    """
    if any(c is None for c in tape.caches):
        raise RuntimeError("backward needs a tape from forward(..., backward=True)")
    B, I = tape.x.shape
    O = tape.out_dim
    for name, g, shape in (("gu", gu, (B, O)), ("gJ", gJ, (B, O, I)), ("gH", gH, (B, O, I))):
        if g is not None and np.shape(g) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {np.shape(g)}")
    if (gJ is not None and tape.order < 1) or (gH is not None and tape.order < 2):
        raise ValueError(f"the forward pass had order {tape.order}; gJ needs order >= 1 and "
                         f"gH order 2")
    gh, gJ_, gH_ = gu, gJ, gH
    pairs = []
    for stage, cache in zip(reversed(tape.stages), reversed(tape.caches)):
        gh, gJ_, gH_, grads = stage.backward(cache, gh, gJ_, gH_)
        pairs = [(target, g) for (_, target), g in zip(stage.groups(), grads)] + pairs
    return gh, pairs


def assign_grads(*grad_lists):
    """Sum the grads of several :func:`backward` calls and write them into the layers' ``grads``.

    Each argument is the ``grads`` list of one :func:`backward` (same model); the
    ``grads`` dicts are updated in place (optimizers hold them). A frozen
    parameter's gradient is None and stays None.
    """
    total = {}
    for grads in grad_lists:
        for target, g in grads:
            key = id(target)
            if key not in total:
                total[key] = (target, {name: v.copy() for name, v in g.items() if v is not None})
            else:
                acc = total[key][1]
                for name, v in g.items():
                    if v is not None:
                        acc[name] += v
    for target, g in total.values():
        for name, v in g.items():
            target[name] = v.astype(target[name].dtype, copy=False) if name in target else v


# ---------------------------------------------------------------------------
# the model methods
# ---------------------------------------------------------------------------

def input_derivatives(model, x, order=2):
    """``Jet(u, J, H)`` of ``model`` at ``x`` (see :class:`Jet`); nothing is cached."""
    jet, _ = forward(model, x, order)
    return jet


def jacobian(model, x):
    """``J[b, o, d] = du_o/dx_d`` at the points ``x`` ``(B, I)`` -> ``(B, O, I)``."""
    return forward(model, x, 1)[0].J


def hessian_diag(model, x):
    """``H[b, o, d] = d^2 u_o / dx_d^2`` (the Hessian's diagonal) -> ``(B, O, I)``."""
    return forward(model, x, 2)[0].H


def laplacian(model, x):
    """``lap u_o = sum_d d^2 u_o / dx_d^2`` at the points ``x`` ``(B, I)`` -> ``(B, O)``."""
    return forward(model, x, 2)[0].H.sum(axis=2)


# ---------------------------------------------------------------------------
# losses on input derivatives
# ---------------------------------------------------------------------------

class DerivativeLoss:
    """A loss on a network's outputs and their input derivatives, with hand-derived gradients.

    Parameters
    ----------
    fn : callable
        ``fn(jet, x, y) -> (value, grads)``: ``jet`` is a :class:`Jet` (``J`` None
        below order 1, ``H`` below order 2), ``x`` the points, ``y`` whatever
        target was passed (may be None); ``value`` a float and ``grads`` a dict
        with any of ``"u"`` ``(B, O)``, ``"J"``, ``"H"`` ``(B, O, I)`` (the loss's
        derivatives with respect to them) and ``"x"`` ``(B, I)`` (its direct
        dependence on ``x``, e.g. through a source term); missing keys are zero.
    order : {0, 1, 2}
        Highest input derivative ``fn`` reads.

    Examples
    --------
    ``L = mean_b (lap u - f(x))^2`` for a one-output model (``dL/dH[b, 0, d] = 2 r_b / B``
    for every direction ``d``, since ``lap u = sum_d H[:, 0, d]``):

    >>> import numpykan as nk
    >>> def residual(jet, x, y):
    ...     r = jet.H.sum(axis=2)[:, 0] - y                    # (B,)
    ...     gH = np.repeat((2 * r / r.size)[:, None, None], x.shape[1], axis=2)   # (B, 1, I)
    ...     return float(np.mean(r ** 2)), {"H": gH}
    >>> loss = nk.derivatives.DerivativeLoss(residual, order=2)
    >>> model = nk.KAN([2, 3, 1], grid=5, k=3, seed=0)
    >>> x = np.random.default_rng(0).uniform(-0.9, 0.9, (8, 2))
    >>> value = loss.loss_and_grad(model, x, np.zeros(8))  # fills every layer's grads
    >>> nk.check_model(model, x, np.zeros(8), loss=loss).ok
    True
    """

    def __init__(self, fn, order=2):
        if not callable(fn):
            raise TypeError(f"fn must be a callable fn(jet, x, y) -> (value, grads), got "
                            f"{type(fn).__name__}")
        self.fn = fn
        self.order = _check_order(order)

    def __repr__(self):
        return f"DerivativeLoss({getattr(self.fn, '__name__', self.fn)!r}, order={self.order})"

    def __call__(self, model, x, y=None):
        """The loss value only (no gradients, nothing cached)."""
        jet, _ = forward(model, x, self.order)
        return float(self._call(jet, x, y)[0])

    def _call(self, jet, x, y):
        out = self.fn(jet, x, y)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            raise TypeError("fn must return (value, grads) with grads a dict of 'u', 'J', 'H', 'x'")
        value, grads = out
        unknown = set(grads) - {"u", "J", "H", "x"}
        if unknown:
            raise ValueError(f"fn's grads may have the keys 'u', 'J', 'H', 'x', got {sorted(unknown)}")
        return value, grads

    def loss_and_grad(self, model, x, y=None, input_grad=False):
        """Loss value; fills every layer's ``grads`` (and ``model.grad_input`` if ``input_grad``).

        ``model.last_loss`` holds ``value``, the jet and ``y``.
        """
        x = model._input(x)
        jet, tape = forward(model, x, self.order, backward=True, input_grad=input_grad, check=False)
        value, g = self._call(jet, x, y)
        value = float(value)
        gx, grads = backward(tape, g.get("u"), g.get("J"), g.get("H"))
        assign_grads(grads)
        if input_grad:
            if g.get("x") is not None:
                gx = gx + np.asarray(g["x"], dtype=gx.dtype)   # the loss's direct dependence on x
            model.grad_input = gx
        else:
            model.grad_input = None
        model.last_loss = dict(value=value, jet=jet, y=y)
        return value
