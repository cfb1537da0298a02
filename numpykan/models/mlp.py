"""MLP baseline with the same interface as :class:`~numpykan.KAN`.

Each hidden layer is ``h = act(x @ W + b)``, the last one is linear. Used for
the report's KAN-vs-MLP comparisons at equal parameter count.
"""

from __future__ import annotations

import numpy as np

from ..training.losses import get_loss
from ..validation import check_bool, check_count, check_nonnegative, check_seed, check_upstream
from . import checkpoint
from .activations import ACTIVATIONS, check_base, get_base
from .layer import _base_repr, _check_dtype, times_transpose
from .model import _check_savable, _check_width, copy_model
from .network import Network, check_output, check_target

__all__ = ["MLP", "DenseLayer"]

_ACTIVATIONS = ACTIVATIONS          # the names a KAN's base_fun takes too (numpykan.activations)


class DenseLayer:
    """``y = act(x @ W + b)``: ``(B, I) -> (B, O)``; ``W`` ``(I, O)``, ``b`` ``(O,)``.

    Initialization as PyTorch's ``nn.Linear``: ``W, b ~ U(-1/sqrt(I), 1/sqrt(I))``.
    ``activation``: a name or a tuple of callables, as a KAN's ``base_fun``
    (see :mod:`numpykan.activations`).
    """

    def __init__(self, in_dim, out_dim, activation="silu", seed=0, dtype=np.float64):
        activation = check_base(activation, "activation")
        check_seed(seed)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        a = 1.0 / np.sqrt(in_dim)
        self.params = {"W": rng.uniform(-a, a, (in_dim, out_dim)).astype(dtype),
                       "b": rng.uniform(-a, a, out_dim).astype(dtype)}
        self.grads = {key: np.zeros_like(v) for key, v in self.params.items()}
        self.activation = activation
        self.cache = None

    def forward(self, x, *, cache=True, check=False):
        """``act(x @ W + b)``; ``cache`` as in :mod:`numpykan.layer` (``False``: the old cache stays)."""
        act, _ = get_base(self.activation, "activation")
        z = x @ self.params["W"] + self.params["b"]            # (B, I) x (I, O) -> (B, O)
        if cache:
            self.cache = (x, z)
        return act(z)                                          # (B, O)

    def check_cache(self, input_grad=True):
        """Raise ``RuntimeError`` unless :meth:`backward` has a cache to run on."""
        if self.cache is None:
            raise RuntimeError("backward needs the cache of a previous forward(x) (model(x) and "
                               "predict are inference and keep none)")

    def backward(self, dy, input_grad=True):
        """``dz = dy * act'(z)``; ``dW = x.T @ dz``; ``db = sum_b dz``; ``dx = dz @ W.T`` (None if not ``input_grad``)."""
        x, z = self.cache
        _, dact = get_base(self.activation, "activation")
        dz = dy * dact(z)                                      # (B, O)
        self.grads.update(W=x.T @ dz, b=dz.sum(axis=0))        # (I, O), (O,)
        if not input_grad:
            return None
        return times_transpose(dz, self.params["W"])           # (B, O) x (O, I) -> (B, I)


class MLP(Network):
    """Multi-layer perceptron with biases; same ``forward/backward/parameters/fit`` as KAN.

    Parameters
    ----------
    width : list of int
        Nodes per layer, e.g. ``[2, 30, 1]``.
    activation : str or tuple of callables
        Of the hidden layers; the output layer is linear. ``"silu"``, ``"tanh"``,
        ``"relu"``, ``"identity"``, ``"zero"``, a pair ``(f, f')`` or
        ``(f, f1, f2, f3)``: the same choices as a KAN's ``base_fun`` (see
        :mod:`numpykan.activations`). Callables cannot be saved.
    seed : int
    dtype : float64 (default) or float32

    Examples
    --------
    >>> mlp = MLP([2, 30, 1], seed=0)
    >>> mlp.num_parameters()            # 2*30 + 30 + 30*1 + 1
    121
    """

    def __init__(self, width, activation="silu", seed=0, dtype=np.float64):
        self.width = _check_width(width)
        self.dtype = _check_dtype(dtype)
        check_base(activation, "activation")
        if seed is not None:
            check_count(seed, "seed", 0)
        seeds = np.random.SeedSequence(seed).spawn(len(self.width) - 1)
        n = len(self.width) - 1
        self.layers = [
            DenseLayer(self.width[l], self.width[l + 1],
                       activation if l < n - 1 else "identity",
                       np.random.default_rng(seeds[l]), self.dtype)
            for l in range(n)
        ]
        self.config = dict(width=self.width, activation=activation,
                           seed=None if seed is None else int(seed), dtype=np.dtype(self.dtype).name)
        self.grad_input = None

    def __repr__(self):
        return (f"MLP(width={self.width}, activation={_base_repr(self.config['activation'])}, "
                f"parameters={self.num_parameters()})")

    def copy(self):
        """An independent deep copy (parameters, gradients, config; no shared array, no cache).

        See :func:`numpykan.models.model.copy_model`.
        """
        return copy_model(self)

    def forward(self, x, *, cache=True, check=True):
        """Output ``(B, width[-1])`` for ``x`` ``(B, width[0])``; the flags as in :mod:`numpykan.layer`.

        ``cache=False`` is inference (``model(x)``); ``check=False`` skips validating ``x``.
        """
        h = self._input(x) if check else x
        for layer in self.layers:
            h = layer.forward(h, cache=cache)
        return h

    def backward(self, dy, input_grad=True):
        """Backpropagate ``dy = dL/dout``; return ``dL/dx`` (None if not ``input_grad``).

        Raises ``RuntimeError`` without a previous :meth:`forward`, ``TypeError``
        or ``ValueError`` for a ``dy`` that is not real, not ``(B, width[-1])``
        for that forward's ``B``, or not finite in the model's dtype: all before
        any gradient is written.
        """
        for layer in self.layers:                              # every check before any write
            layer.check_cache(input_grad)
        B = self.layers[0].cache[0].shape[0]
        d = check_upstream(dy, (B, self.width[-1]), self.dtype, "dy")
        for l in reversed(range(len(self.layers))):
            d = self.layers[l].backward(d, input_grad or l > 0)
        self.grad_input = d
        return d

    def loss_and_grad(self, x, y, loss="mse", lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0,
                      input_grad=False):
        """Prediction loss and gradients. ``lamb`` must be 0: an MLP has no edge activations.

        ``input_grad=True`` also puts ``dL/dx`` in ``self.grad_input``, as for a KAN.
        """
        input_grad = check_bool(input_grad, "input_grad")
        if check_nonnegative(lamb, "lamb"):
            raise ValueError(f"lamb must be 0 for an MLP (no edge activations to regularize), got {lamb}")
        fn = get_loss(loss, checked=False)   # targets and outputs are checked here
        x = self._input(x)
        y = check_target(y, loss, x.shape[0], self.width[-1], self.dtype)
        out = self.forward(x, check=False)                    # x checked above
        check_output(out)
        value, dout = fn(out, y)
        check_output(dout)                   # a gradient that overflows is a divergence too
        self.backward(dout, input_grad=input_grad)
        self.last_loss = dict(pred=value, reg=0.0, out=out, y=y)
        return value

    # -- input derivatives (see numpykan.derivatives) ------------------------------------
    def jacobian(self, x):
        """``J[b, o, d] = du_o/dx_d`` -> ``(B, O, I)``, propagated forward by hand; see :mod:`numpykan.derivatives`."""
        from .derivatives import jacobian
        return jacobian(self, x)

    def hessian_diag(self, x):
        """``d^2 u_o / dx_d^2`` -> ``(B, O, I)``: the Hessian's diagonal; see :mod:`numpykan.derivatives`."""
        from .derivatives import hessian_diag
        return hessian_diag(self, x)

    def laplacian(self, x):
        """``sum_d d^2 u_o / dx_d^2`` -> ``(B, O)``; a loss on it: :class:`numpykan.derivatives.DerivativeLoss`."""
        from .derivatives import laplacian
        return laplacian(self, x)

    def save(self, path):
        """Write the model to ``path`` (``.npz``); a callable ``activation`` raises ``ValueError``."""
        _check_savable(self.config["activation"], "activation")
        arrays = {f"layer{l}.{key}": v for l, layer in enumerate(self.layers)
                  for key, v in layer.params.items()}
        return checkpoint.save_checkpoint(path, "MLP", self.config, arrays)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save` (never unpickles; see :mod:`numpykan.models.checkpoint`)."""
        return checkpoint.load_mlp(cls, path)
