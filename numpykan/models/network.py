"""What every numpykan model shares: parameters, state, snapshots, predict, evaluate, fit.

A model is a list of ``layers``; each layer has ``params`` and ``grads`` dicts
with the same keys, ``forward(x)`` that caches, and ``backward(dy)`` that fills
``grads`` and returns ``dL/dx``. :class:`~numpykan.KAN` and
:class:`~numpykan.MLP` both build on :class:`Network`. The checks of model
inputs and targets live in :mod:`numpykan.validation` (re-exported here).

``model(x)`` and :meth:`Network.predict` are inference: they keep no cache
for a backward pass (and leave the cache of the last ``forward`` as it was);
``model.forward(x)`` caches, so ``y = model.forward(x); dx = model.backward(dy)``.
"""

from __future__ import annotations

import numpy as np

from ..training.losses import _takes_labels, get_loss
from ..training.train import fit as _fit
from ..training.transaction import FlatCopy, atomic
from ..validation import check_count, check_input, check_output, check_target

__all__ = ["Network", "ModelSnapshot", "check_input", "check_target", "check_output"]

#: layer attributes that operations replace (never write into): kept by reference
_LAYER_REFS = ("grid", "mask", "symbolic", "cache", "frozen")   # frozen: matches the grads' Nones
#: model attributes a training step sets
_MODEL_REFS = ("last_loss", "grad_input", "node_cache")   # node_cache: a KAN's multiplication nodes


class ModelSnapshot:
    """A model's state as :meth:`Network.snapshot` took it; :meth:`Network.restore` puts it back.

    Attributes
    ----------
    model : Network
        The model it belongs to (a snapshot restores only that model).
    values : FlatCopy
        Copies of the parameter arrays (and, if asked, grids and masks).
    layers : list
        Per layer: the layer, its ``params`` and ``grads`` items, the
        attributes of ``_LAYER_REFS`` it had, and its symbolic edges' state.
    """

    def __init__(self, model):
        self.model = model
        self.values = FlatCopy()
        self.layers = []
        self.layer_list = []
        self.attrs = {}

    def finite(self):
        """True if every copied value (parameters, and grids/masks if copied) is finite."""
        return self.values.finite()


class Network:
    """Base class: a stack of layers with a loss, used by ``KAN`` and ``MLP``."""

    layers: list
    width: list
    dtype: type

    def parameters(self):
        """``[(params, grads), ...]``, one pair of dicts per layer: what the optimizers take.

        Layers with symbolic edges add one more pair for the formulas' parameters.
        """
        pairs = [(layer.params, layer.grads) for layer in self.layers]
        pairs += [(layer.symbolic.params, layer.symbolic.grads) for layer in self.layers
                  if getattr(layer, "symbolic", None) is not None]
        return pairs

    def num_parameters(self):
        """Number of trainable scalars (symbolic edges' parameters included)."""
        return sum(v.size for params, _ in self.parameters() for v in params.values())

    def state(self):
        """A copy of every trainable array (to restore with :meth:`set_state`)."""
        return [{key: v.copy() for key, v in params.items()} for params, _ in self.parameters()]

    def set_state(self, state):
        """Copy arrays from :meth:`state` back into the parameters, in place.

        Parameters only; :meth:`snapshot` and :meth:`restore` cover everything
        a training step or a grid update changes.
        """
        for (params, _), saved in zip(self.parameters(), state):
            for key, v in saved.items():
                if params[key].shape == v.shape:
                    params[key][...] = v
                else:
                    params[key] = v.copy()

    def snapshot(self, into=None, grids=True):
        """Everything a training step or a grid update changes, to put back with :meth:`restore`.

        Parameters
        ----------
        into : ModelSnapshot, optional
            An older snapshot of this model that is no longer needed: its
            buffer is reused (a training loop allocates nothing per step).
        grids : bool, default True
            Also copy the grids and masks. They are kept by reference in any
            case, which suffices for every numpykan operation (a grid update
            or a pruning assigns new arrays, none writes into the old ones);
            the copy protects against code that writes into them in place.
            :func:`numpykan.fit` copies them on grid-update steps only.

        Returns
        -------
        ModelSnapshot
            Holds copies of the parameter arrays (including the symbolic
            edges' ``abcd``), which optimizers write into in place, all laid
            end to end in one buffer; and references to what operations
            replace: each layer's gradient arrays, grid, mask, symbolic edges
            (their names, edges and cache too), cache, and the model's
            ``last_loss`` and ``grad_input``.

        Examples
        --------
        >>> from numpykan import KAN
        >>> model = KAN([2, 3, 1], seed=0)
        >>> snap = model.snapshot()
        >>> model.layers[0].params["w_b"] += 1.0
        >>> model.update_grid(np.linspace(-2, 2, 20).reshape(10, 2))
        >>> model.restore(snap)
        >>> bool(np.all(model.layers[0].grid[0, :3] == KAN([2, 3, 1], seed=0).layers[0].grid[0, :3]))
        True
        """
        snap = into if isinstance(into, ModelSnapshot) and into.model is self else ModelSnapshot(self)
        arrays, layers = [], []
        for layer in self.layers:
            d = layer.__dict__
            refs = {name: d[name] for name in _LAYER_REFS if name in d}
            sym = d.get("symbolic")
            if sym is not None:
                arrays.extend(sym.params.values())
                sym = (sym, dict(sym.params), dict(sym.grads), list(sym.names), sym.ij, sym.cache)
            arrays.extend(layer.params.values())
            if grids and "grid" in d:
                arrays.append(layer.grid)
                arrays.append(layer.mask)
            layers.append((layer, dict(layer.params), dict(layer.grads), refs, sym))
        snap.values.take(arrays)
        snap.layers = layers
        snap.attrs = {name: self.__dict__[name] for name in _MODEL_REFS if name in self.__dict__}
        snap.layer_list = list(self.layers)
        return snap

    def restore(self, snapshot):
        """Put the model back exactly as :meth:`snapshot` found it (arrays, dicts and attributes).

        The ``params`` and ``grads`` dicts stay the same objects (optimizers
        hold them); their entries, the parameter values and every attribute
        the snapshot kept are set back. Ctrl-C cannot interrupt it half-way.

        Raises
        ------
        ValueError
            If the snapshot was taken of another model.
        """
        if not isinstance(snapshot, ModelSnapshot) or snapshot.model is not self:
            raise ValueError("snapshot must come from this model's snapshot()")
        with atomic():
            self.layers[:] = snapshot.layer_list
            for layer, params, grads, refs, sym in snapshot.layers:
                _set_items(layer.params, params)
                _set_items(layer.grads, grads)
                d = layer.__dict__
                for name in _LAYER_REFS:
                    if name in refs:
                        d[name] = refs[name]
                    else:
                        d.pop(name, None)
                if sym is not None:
                    edges, sparams, sgrads, names, ij, cache = sym
                    _set_items(edges.params, sparams)
                    _set_items(edges.grads, sgrads)
                    edges.names, edges.ij, edges.cache = list(names), ij, cache
            snapshot.values.put_back()
            for name in _MODEL_REFS:
                if name in snapshot.attrs:
                    self.__dict__[name] = snapshot.attrs[name]
                else:
                    self.__dict__.pop(name, None)

    def _input(self, x, name="x"):
        return check_input(x, self.width[0], self.dtype, name)

    def __call__(self, x):
        """Inference: the output of :meth:`forward` without a cache (:meth:`predict`)."""
        return self.predict(x)

    def predict(self, x, batch_size=8192):
        """Outputs ``(B, out)`` without caching anything for backward (inference).

        ``batch_size`` rows at a time, so memory stays that of one block;
        the layers' caches of the last :meth:`forward` are left as they were.
        """
        batch_size = check_count(batch_size, "batch_size", 1)
        return self._predict(self._input(x), batch_size)

    def _predict(self, x, batch_size=8192):
        """:meth:`predict` of a checked ``x``."""
        outs = []
        nodes = getattr(self, "nodes", None)                   # a KAN's multiplication nodes
        for start in range(0, x.shape[0], batch_size):
            h = x[start:start + batch_size]
            if nodes is not None:
                h = self._infer(h)
            else:
                for layer in self.layers:
                    h = layer.forward(h, cache=False, check=False)
            outs.append(h)
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    def evaluate(self, x, y, loss="mse"):
        """Prediction loss on ``(x, y)`` (and accuracy for ``ce``) -> dict."""
        fn = get_loss(loss, checked=False)     # targets and outputs are checked here
        x = self._input(x)
        y = check_target(y, loss, x.shape[0], self.width[-1], self.dtype)
        out = self.predict(x)
        check_output(out)
        value, _ = fn(out, y)
        result = {"loss": value}
        if _takes_labels(loss):
            result["acc"] = float(np.mean(out.argmax(axis=1) == y))
        return result

    def fit(self, dataset, **kwargs):
        """Train on ``dataset``; see :func:`numpykan.train.fit` for the arguments."""
        return _fit(self, dataset, **kwargs)


def _set_items(d, saved):
    """Make dict ``d`` hold exactly the items of ``saved``, keeping ``d`` the same object."""
    if d.keys() != saved.keys():
        d.clear()
    d.update(saved)
