"""KAN: a stack of :class:`~numpykan.layer.KANLayer`; loss, gradient, grid update, save/load.

Layer ``l`` maps ``width[l]`` nodes to ``width[l + 1]`` nodes; the nodes only
sum their incoming edges, except multiplication nodes (``width=[2, [5, 2], 1]``),
which multiply some of them (``numpykan.models.multnodes``): then layer ``l`` maps
``width_in[l]`` nodes to ``width_out[l + 1]`` subnodes. Training uses :meth:`KAN.loss_and_grad`, which runs
the forward pass, the loss, the regularizer (:mod:`numpykan.regularization`)
and the backward pass, and leaves every layer's ``grads`` filled.
"""

from __future__ import annotations

import copy as _copy

import numpy as np

from ..training.losses import get_loss
from ..training.regmetrics import apply_to_layer as apply_reg_grad
from ..training.regmetrics import check_metric, layer_regularization
from ..training.regularization import edge_norms
from ..training.transaction import atomic
from ..validation import check_kan_args, check_nonnegative
from . import checkpoint, multnodes
from .init import check_base_init
from .layer import KANLayer, _check_dtype, check_grid_eps
from .layer import _base_repr as _layer_base_repr
from .network import Network, check_output, check_target

__all__ = ["KAN"]


def _per_layer(value, name, n):
    """``value`` (an int, or a list of one int per layer) as a list of ``n`` values, one per layer.

    The values themselves are checked by :class:`KANLayer`; here only the length.
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a list of one int per layer, {n} here, "
                             f"got {len(value)}: {list(value)}")
        return list(value)
    return [value] * n


def _as_given(values, given):
    """The config entry for per-layer ``values``: an int if one was ``given``, else the list."""
    if isinstance(given, (list, tuple, np.ndarray)):
        return [int(v) for v in values]
    return int(values[0])


def _shown(values):
    """``5`` when every layer has 5, ``[5, 3]`` when they differ (for ``__repr__``)."""
    return values[0] if len(set(values)) == 1 else list(values)


def _check_savable(value, name):
    """A ``ValueError`` naming ``name`` if ``value`` holds callables (a checkpoint holds no code)."""
    if not isinstance(value, str):
        raise ValueError(f"{name} is a tuple of callables ({value!r}); a checkpoint holds arrays "
                         f"and a JSON config, never code, so only a named {name} can be saved "
                         f"(save the arrays yourself, or rebuild the model with the same "
                         f"functions and set_state(state()))")


#: what :func:`copy_model` leaves out: caches and reused buffers of the last pass, last step's by-products
_NOT_COPIED = ("cache", "_workspace", "_jet_workspace", "_jet_generation", "last_loss",
               "grad_input", "node_cache")


def copy_model(model):
    """An independent deep copy of a KAN or MLP: no array is shared with ``model``.

    Everything is copied (parameters, gradients, grids, masks, formula edges,
    frozen keys, config) except what only describes the last pass: the
    caches (run ``forward`` before ``backward``), the reused workspaces,
    ``last_loss`` and ``grad_input`` (None in the copy).
    """
    holders = [model] + list(model.layers)
    holders += [layer.symbolic for layer in model.layers if getattr(layer, "symbolic", None) is not None]
    memo = {}
    for obj in holders:                    # deepcopy returns the memo's None for these objects
        for name in _NOT_COPIED:
            v = obj.__dict__.get(name)
            if v is not None and not isinstance(v, (int, float, str)):   # never memo shared atoms
                memo[id(v)] = None
    new = _copy.deepcopy(model, memo)
    new_holders = [new] + list(new.layers)
    new_holders += [layer.symbolic for layer in new.layers if getattr(layer, "symbolic", None) is not None]
    for obj in new_holders:
        for name in _NOT_COPIED:
            obj.__dict__.pop(name, None)
        if hasattr(type(obj), "forward"):
            obj.cache = None
    new.grad_input = None
    return new


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_reg_grad(layer, d):
    """Shapes of one layer's ``dA`` entry (an array ``dL/dA`` or a ``RegGrad``), before anything is written."""
    if isinstance(d, np.ndarray):
        layer._check_upstream(d, (None, layer.in_dim, layer.out_dim), "dA", values=False)
        return
    for piece, shape in (("A", (None, layer.in_dim, layer.out_dim)), ("x", (None, layer.in_dim)),
                         ("coef", layer.coef.shape)):
        value = getattr(d, piece, None)
        if value is not None:
            layer._check_upstream(value, shape, f"dA.{piece}", values=False)


def _check_width(width):
    if isinstance(width, (str, bytes, set, frozenset, dict)) or not hasattr(width, "__len__"):
        raise TypeError(f"width must be a list of ints such as [2, 5, 1], got {width!r}")
    if len(width) < 2:
        raise ValueError(f"width needs at least an input and an output size, got {list(width)}")
    for w in width:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"width must hold positive ints (an MLP's layer sizes; "
                             f"multiplication nodes are a KAN's), got {list(width)}")
    return [int(w) for w in width]


class KAN(Network):
    """Kolmogorov-Arnold Network.

    Parameters
    ----------
    width : list
        Nodes per layer, e.g. ``[2, 5, 1]``; a hidden entry may be a pair
        ``[sum, mult]`` of sum and multiplication nodes, e.g. ``[2, [5, 2], 1]``
        (pykan 2.0; see :mod:`numpykan.models.multnodes`). ``model.width`` keeps
        the pairs; ``model.width_in[l]`` counts layer ``l``'s nodes (``sum + mult``),
        ``model.width_out[l]`` its subnodes (``sum + sum of arities``).
    grid : int or list of int
        Grid intervals ``G`` per edge; a list gives one per layer
        (``len(width) - 1`` entries), e.g. ``grid=[5, 3]``.
    k : int or list of int
        Spline degree (pykan's "order"), or one per layer.
    grid_range : (float, float)
        Base interval of the initial grids.
    base_fun : str or tuple of callables
        ``"silu"`` (default), ``"tanh"``, ``"relu"``, ``"identity"``, ``"zero"``
        (the MLP's names), a pair ``(f, f')`` of elementwise NumPy functions
        (training and :meth:`jacobian`; :meth:`laplacian` and
        :meth:`hessian_diag` then raise
        :class:`~numpykan.models.activations.MissingDerivativeError`), or
        ``(f, f1, f2, f3)`` with the first three derivatives (everything).
        See :mod:`numpykan.activations`. A model with callables cannot be
        saved; :meth:`copy` works for every kind.
    seed : int
        Seeds all initial parameters (each layer gets its own stream).
    dtype : float64 (default) or float32
        float64 for teaching and gradient checks, float32 for speed; every
        array of the model, its gradients and its optimizer state use it.
    noise_scale : float
        Size of the initial spline coefficients (see :class:`KANLayer`).
    grid_eps : float in [0, 1]
        Default mix of uniform and sample-quantile grids in :meth:`update_grid`.
    scale_base_mu, scale_base_sigma : float or None
        Initial base weights: ``None, None`` Xavier-uniform; otherwise pykan's
        ``w_b = (mu + sigma U(-1, 1)) / sqrt(I)`` (see :mod:`numpykan.models.init`).
    sparse_init : bool
        Start every layer with pykan's sparse mask (each node linked to its nearest neighbours).
    sp_trainable, sb_trainable : bool
        ``False`` freezes every layer's ``w_s`` (resp. ``w_b``) at its initial
        value: no gradient, no optimizer step.
    mult_arity : int or list
        Factors per multiplication node: an int (all of them, pykan's default 2),
        or pykan's per-entry lists (``[[], [2, 3], []]``: the hidden layer's two
        mult nodes multiply 2 and 3 subnodes).

    Examples
    --------
    >>> model = KAN([2, 5, 1], grid=5, k=3, seed=0)
    >>> model(np.zeros((4, 2))).shape
    (4, 1)
    >>> model.num_parameters()          # 2*5*(5+3+2) + 5*1*(5+3+2)
    150
    >>> KAN([2, 5, 1], grid=[5, 3], k=[3, 2], base_fun="tanh")
    KAN(width=[2, 5, 1], grid=[5, 3], k=[3, 2], base_fun='tanh', dtype=float64, parameters=135)
    >>> mult = KAN([2, [5, 2], 1], mult_arity=2, seed=0)   # 5 sum nodes, 2 products of 2 subnodes
    >>> mult.width_out, mult.width_in                      # layer 0: 2 -> 9, layer 1: 7 -> 1
    ([2, 9, 1], [2, 7, 1])
    """

    #: no layer has multiplication nodes (a model built by __new__, e.g. by prune, has none)
    nodes = None
    mult_arity = 2

    def __init__(self, width, grid=5, k=3, grid_range=(-1.0, 1.0), base_fun="silu", seed=0,
                 dtype=np.float64, noise_scale=0.5, grid_eps=0.02, scale_base_mu=0.0,
                 scale_base_sigma=1.0, sparse_init=False, sp_trainable=True, sb_trainable=True,
                 mult_arity=2):
        multnodes.set_layout(self, width, mult_arity)   # width, width_in, width_out, nodes
        check_kan_args(grid, k, grid_range, seed, noise_scale, grid_eps, dtype)
        self.dtype = _check_dtype(dtype)
        self.grid_eps = float(grid_eps)
        if not 0.0 <= self.grid_eps <= 1.0:
            raise ValueError(f"grid_eps must be in [0, 1], got {grid_eps}")
        mu, sigma = check_base_init(scale_base_mu, scale_base_sigma)
        sparse_init, sp_trainable, sb_trainable = (
            _check_bool(v, name) for v, name in ((sparse_init, "sparse_init"),
                                                  (sp_trainable, "sp_trainable"),
                                                  (sb_trainable, "sb_trainable")))
        seeds = np.random.SeedSequence(seed).spawn(len(self.width) - 1)
        grids, ks = _per_layer(grid, "grid", len(seeds)), _per_layer(k, "k", len(seeds))
        self.layers = [
            KANLayer(self.width_in[l], self.width_out[l + 1], grid=grids[l], k=ks[l],
                     grid_range=grid_range,
                     base_fun=base_fun, noise_scale=noise_scale,
                     seed=np.random.default_rng(seeds[l]), dtype=self.dtype,
                     scale_base_mu=mu, scale_base_sigma=sigma, sparse_init=sparse_init,
                     sp_trainable=sp_trainable, sb_trainable=sb_trainable)
            for l in range(len(self.width) - 1)
        ]
        self.config = dict(width=self.width, grid=_as_given(grids, grid), k=_as_given(ks, k),
                           grid_range=[float(v) for v in grid_range], base_fun=base_fun,
                           seed=None if seed is None else int(seed),
                           dtype=np.dtype(self.dtype).name, noise_scale=float(noise_scale),
                           grid_eps=self.grid_eps, scale_base_mu=mu, scale_base_sigma=sigma,
                           sparse_init=sparse_init, sp_trainable=sp_trainable,
                           sb_trainable=sb_trainable)
        if self.nodes is not None:
            self.config["mult_arity"] = self.mult_arity
        self.grad_input = None

    width_in = property(lambda self: self.__dict__.get("width_in", self.width),
                        doc="Nodes per width entry (what layer ``l`` takes); ``width`` without mult nodes.")
    width_out = property(lambda self: self.__dict__.get("width_out", self.width),
                         doc="Subnodes per width entry (what layer ``l - 1`` outputs); ``width`` without mult nodes.")

    @width_in.setter
    def width_in(self, value):
        self.__dict__["width_in"] = value

    @width_out.setter
    def width_out(self, value):
        self.__dict__["width_out"] = value

    def __repr__(self):
        base = self.layers[0].base_fun
        base = "" if base == "silu" else f"base_fun={_layer_base_repr(base)}, "
        mult = "" if self.nodes is None else f", mult_arity={self.mult_arity}"
        return (f"KAN(width={self.width}{mult}, grid={_shown([la.G for la in self.layers])}, "
                f"k={_shown([la.k for la in self.layers])}, {base}"
                f"dtype={np.dtype(self.dtype).name}, parameters={self.num_parameters()})")

    def copy(self):
        """An independent deep copy: parameters, grids, masks, formula edges, config; no shared array.

        Caches are not copied (run ``forward`` before ``backward`` on the copy);
        see :func:`copy_model`.
        """
        return copy_model(self)

    # -- forward and backward ---------------------------------------------------
    def forward(self, x, *, cache=True, input_grad=True, check=True):
        """Model output ``(B, width[-1])`` for ``x`` ``(B, width[0])``; every layer caches.

        The flags are those of :mod:`numpykan.layer`: ``cache=False`` is
        inference (what ``model(x)`` and :meth:`predict` do: no cache kept, the
        last caches left as they were); ``input_grad=False`` lets the first
        layer skip what only ``dL/dx`` needs, so the following :meth:`backward`
        must have ``input_grad=False`` too; ``check=False`` skips validating
        ``x`` (for callers that just did).
        """
        if not cache:
            return self.predict(x) if check else self._predict(x)
        h = self._input(x) if check else x
        if self.nodes is not None:
            return self._forward_mult(h, input_grad)
        for l, layer in enumerate(self.layers):
            h = layer.forward(h, check=False, input_grad=input_grad or l > 0)   # (B, width[l+1])
        return h

    def _forward_mult(self, h, input_grad):
        """:meth:`forward` through layers and their multiplication nodes; ``self.node_cache`` set at the end."""
        caches = []
        for l, (layer, nodes) in enumerate(zip(self.layers, self.nodes)):
            h = layer.forward(h, check=False, input_grad=input_grad or l > 0)   # (B, width_out[l+1])
            cache = None
            if nodes is not None:
                h, cache = nodes.forward(h)                    # (B, width_in[l+1])
                cache["layer_cache"] = layer.cache             # which layer pass it belongs to
            caches.append(cache)
        self.node_cache = caches
        return h

    def _infer(self, h, start=0, stop=None):
        """Inference (no cache) of a checked ``h`` through layers ``start .. stop - 1`` and their nodes.

        ``_infer(x, 0, l)`` is the input of layer ``l`` (``(B, width_in[l])``).
        """
        nodes = self.nodes
        for l in range(start, len(self.layers) if stop is None else stop):
            h = self.layers[l]._infer(h)                       # (B, width_out[l+1])
            if nodes is not None and nodes[l] is not None:
                h = nodes[l].forward(h, cache=False)[0]        # (B, width_in[l+1])
        return h

    def backward(self, dy, dA=None, input_grad=True):
        """Backpropagate ``dy = dL/dout`` through all layers; return ``dL/dx``.

        ``dA`` (one entry per layer: None, a ``(B, I_l, O_l)`` array ``dL/dA``, or
        a :class:`~numpykan.training.regmetrics.RegGrad`) adds a loss on the
        edge activations (the regularizer) to each layer's gradients. This
        is the one place where the two gradient streams meet::

            dL/dx_l = (through the layer's output) + (through its activations)
                      [+ (through statistics of x_l itself, for std-based metrics)]

        With ``input_grad=False`` the first layer fills its parameter gradients
        only, and None is returned (training needs no ``dL/dx`` of the data).
        Multiplication nodes pass ``dL/d(node)`` back to their subnodes by the
        product rule (:meth:`numpykan.models.multnodes.MultNodes.backward`).

        Raises
        ------
        RuntimeError
            If a layer's cache is missing (no :meth:`forward` yet: ``model(x)``
            keeps none), stale, or lacks what ``input_grad`` needs; ``ValueError``
            if ``dy`` or a ``dA`` has the wrong shape. Both before any
            gradient is written.
        """
        for l, layer in enumerate(self.layers):                # every check before any write
            c = layer.cache
            if (c is None or c["generation"] != c["ws"].generation
                    or (c["lb"].derivs is None and (input_grad or l > 0))
                    or (layer.symbolic is not None and layer.symbolic.cache is None)):
                layer.check_cache(input_grad or l > 0)         # raises, saying why
        nodes = self.nodes
        if nodes is not None:
            caches = self.__dict__.get("node_cache") or [None] * len(nodes)
            for l, op in enumerate(nodes):
                if op is not None and (caches[l] is None
                                       or caches[l]["layer_cache"] is not self.layers[l].cache):
                    raise RuntimeError(f"the multiplication nodes after layer {l} have no cache of "
                                       f"that layer's last forward pass (the layer ran alone, or "
                                       f"the model was restored): run model.forward(x) again")
        last = self.layers[-1]
        dy = last._check_upstream(dy, (None, last.out_dim), "dy")   # real, finite in dtype
        if dA is not None:
            if len(dA) != len(self.layers):
                raise ValueError(f"dA must hold one entry (an array, a RegGrad or None) per layer, {len(self.layers)}, "
                                 f"got {len(dA)}")
            for layer, d in zip(self.layers, dA):
                if d is not None:
                    _check_reg_grad(layer, d)
        d = dy
        for l in reversed(range(len(self.layers))):
            layer = self.layers[l]
            want = input_grad or l > 0
            if nodes is not None and nodes[l] is not None:
                d = nodes[l].backward(d, caches[l])            # (B, width_in[l+1]) -> (B, width_out[l+1])
            dx = layer.backward(d, want, check=False)          # (B, width[l]) or None
            if dA is not None and dA[l] is not None:
                dxa = apply_reg_grad(layer, dA[l], want)       # regularizer's share
                dx = (dx if dxa is None else dx + dxa) if want else None
            d = dx
        self.grad_input = d
        return d

    def regularization(self, lamb_l1=1.0, lamb_entropy=2.0, reg_metric=None, lamb_coef=0.0,
                       lamb_coefdiff=0.0):
        """Regularizer ``sum_l R_l`` of the last forward pass and its gradient per layer.

        ``reg_metric`` names how an edge's size is measured (see
        :mod:`numpykan.training.regmetrics`; None: the default,
        ``regmetrics.DEFAULT_METRIC``); ``lamb_coef`` and ``lamb_coefdiff``
        weigh pykan's penalties on the coefficients.

        Returns
        -------
        R : float
        grads : list of RegGrad
            One per layer, for :meth:`backward`'s ``dA``.
        """
        reg_metric = check_metric(reg_metric)
        total, grads = 0.0, []
        for layer in self.layers:
            R, g = layer_regularization(layer, reg_metric, lamb_l1, lamb_entropy, lamb_coef,
                                        lamb_coefdiff)
            total += R
            grads.append(g)
        return total, grads

    def loss_and_grad(self, x, y, loss="mse", lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0,
                      input_grad=False, reg_metric=None, lamb_coef=0.0, lamb_coefdiff=0.0):
        """Total loss and every layer's gradient.

        ``total = loss(model(x), y) + lamb * sum_l (R_l + lamb_coef C1_l + lamb_coefdiff C2_l)``

        with ``R_l = lamb_l1 |Phi_l|_1 + lamb_entropy S(Phi_l)`` measured by
        ``reg_metric`` (see :mod:`numpykan.training.regmetrics`).

        Parameters
        ----------
        x : ndarray, shape (B, width[0])
        y : ndarray, shape (B, width[-1]) for ``mse``; int labels ``(B,)`` for ``ce``
        loss : {"mse", "ce"}
        lamb, lamb_l1, lamb_entropy : float
            Regularization weights (see :mod:`numpykan.regularization`).
        input_grad : bool, default False
            Also compute ``dL/dx`` into ``self.grad_input`` (else it is None).
            Training does not need it, and it costs the first layer a matrix
            product, a gather and the basis derivatives.
        reg_metric : str, optional
            ``"paper"``, ``"edge_forward_spline_n"``, ``"edge_forward_spline_u"`` or
            ``"edge_forward_sum"``; None is ``regmetrics.DEFAULT_METRIC``.
        lamb_coef, lamb_coefdiff : float
            Weights of pykan's coefficient penalties (mean ``|coef|`` and mean
            ``|diff coef|`` over outputs, summed), inside ``lamb``.

        Returns
        -------
        float
            The total loss. Gradients are in ``layer.grads`` for every layer;
            ``self.last_loss`` holds the parts (``pred``, ``reg``) and the
            outputs ``out``.
        """
        fn = get_loss(loss, checked=False)   # targets and outputs are checked here
        x = self._input(x)
        y = check_target(y, loss, x.shape[0], self.width[-1], self.dtype)
        lamb, lamb_l1, lamb_entropy = (check_nonnegative(v, name) for v, name in (
            (lamb, "lamb"), (lamb_l1, "lamb_l1"), (lamb_entropy, "lamb_entropy")))
        input_grad = _check_bool(input_grad, "input_grad")
        reg_metric = check_metric(reg_metric)
        lamb_coef = check_nonnegative(lamb_coef, "lamb_coef")
        lamb_coefdiff = check_nonnegative(lamb_coefdiff, "lamb_coefdiff")
        out = self.forward(x, input_grad=input_grad, check=False)   # (B, width[-1]); x checked above
        check_output(out)
        value, dout = fn(out, y)
        check_output(dout)                   # a gradient that overflows is a divergence too
        reg, dA = 0.0, None
        if lamb > 0:
            reg, dA = self.regularization(lamb_l1, lamb_entropy, reg_metric, lamb_coef,
                                          lamb_coefdiff)
            dA = [lamb * d if isinstance(d, np.ndarray) else d.scaled(lamb) for d in dA]
        self.backward(dout, dA, input_grad)
        self.last_loss = dict(pred=value, reg=lamb * reg, out=out, y=y)
        return value + lamb * reg

    # -- input derivatives (see numpykan.derivatives) ------------------------------------
    def derivative_stages(self):
        """The chain of :mod:`numpykan.derivatives`: each layer, then its multiplication nodes if any."""
        from .derivative_layers import KANStage
        out = []
        for l, layer in enumerate(self.layers):
            out.append(KANStage(layer))
            if self.nodes is not None and self.nodes[l] is not None:
                out.append(multnodes.MultStage(self.nodes[l]))
        return out

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

    # -- grids --------------------------------------------------------------------
    def update_grid(self, x, grid_eps=None):
        """Grid update from samples, layer by layer (see :meth:`KANLayer.update_grid`).

        Layer ``l`` is updated from its input, which is recomputed with the
        updated layer ``l - 1``; each refit keeps the layer's function at the
        samples. Every layer's new grid and coefficients are computed first
        and then set together, so an error (samples that overflow in a later
        layer, say) or a Ctrl-C leaves every layer as it was.
        """
        grid_eps = self.grid_eps if grid_eps is None else check_grid_eps(grid_eps)
        h = self._input(x)
        new = []
        for l, layer in enumerate(self.layers):
            grid, coef = layer._regrid(h, grid_eps)                 # nothing set yet
            new.append((layer, grid, coef))
            h = layer._infer(h, grid=grid, coef=coef)              # (B, O_l) with the new grid
            if self.nodes is not None and self.nodes[l] is not None:
                h = self.nodes[l].forward(h, cache=False)[0]       # through the mult nodes
            if not np.isfinite(h).all():
                raise ValueError(f"x makes the input of layer {len(new)} non-finite: the grid "
                                 "update cannot place its knots; no layer was changed")
        with atomic():
            for layer, grid, coef in new:
                layer._set_grid(grid, coef)

    def update_grid_from_samples(self, x, grid_eps=None):
        """pykan's name for :meth:`update_grid`, kept for code written for pykan."""
        self.update_grid(x, grid_eps)

    def refine(self, new_grid, x=None):
        """Grid extension: a new KAN whose layers have ``new_grid`` intervals.

        ``new_grid`` is an int (every layer) or a list of one int per layer. Each layer's splines are refit by least squares to the old ones: with
        samples ``x`` (propagated through the model) on knots placed from the
        samples, else on uniform knots over each old base interval; see
        :meth:`KANLayer.resized`. This model is not changed (its caches
        included, so a later ``prune()`` still sees its last forward pass).
        """
        grids = _per_layer(new_grid, "new_grid", len(self.layers))
        new = KAN.__new__(KAN)
        new.width, new.dtype, new.grid_eps = list(self.width), self.dtype, self.grid_eps
        if self.nodes is not None:
            new.mult_arity, new.nodes = self.mult_arity, self.nodes   # node ops hold no state
            new.width_in, new.width_out = list(self.width_in), list(self.width_out)
        new.grad_input = None
        h = None if x is None else self._input(x)
        new.layers = []
        for l, (layer, G) in enumerate(zip(self.layers, grids)):
            new.layers.append(layer.resized(G, h, self.grid_eps))
            if h is not None:
                h = self._infer(h, l, l + 1)                        # no cache touched; mult nodes too
        new.config = dict(self.config, grid=_as_given(grids, new_grid))
        if getattr(self, "kept_inputs", None) is not None:     # from prune_input: the same columns
            new.kept_inputs = np.array(self.kept_inputs)
        return new

    # -- importance and pruning ---------------------------------------------------------
    def edge_scores(self, x):
        """Edge sizes ``|phi_ij|_1 = mean_b |phi_ij(x_b)|`` per layer, from samples ``x``."""
        self.forward(x)                                        # every layer caches (mult nodes too)
        return [edge_norms(layer.activations()) for layer in self.layers]   # (I_l, O_l) each

    def attribute(self, x=None):
        """pykan's backward attribution: node and edge scores; see :mod:`numpykan.interpretation.attribution`.

        From samples ``x`` ``(B, width[0])`` (a forward pass that caches) or,
        without, the last :meth:`forward`. Returns an ``Attribution``:
        ``node_scores[l]`` ``(width_in[l],)`` for ``l = 0 .. L``, ``edge_scores[l]``
        ``(width_in[l], width_out[l+1])`` indexed ``[i, j]`` like ``mask`` (pykan's are
        ``(out, in)``), ``subnode_scores`` (a multiplication node hands its score
        to each factor, as pykan), and all per output. Also kept as ``self.attribution``.
        (:meth:`edge_scores` is the forward edge size ``mean_b |phi|``, not these.)
        """
        from ..interpretation.attribution import attribute
        self.attribution = attribute(self, x)
        return self.attribution

    @property
    def feature_score(self):
        """Input scores ``(width[0],)``: :meth:`attribute` of the last forward pass, ``node_scores[0]``.

        A property, as in pykan (``model.feature_score``, no call); it
        recomputes the attribution from the last :meth:`forward` (``model(x)``
        keeps none: run ``model.forward(x)`` or ``model.attribute(x)`` first).
        """
        return self.attribute().feature_score

    def prune(self, node_th=1e-2, edge_th=3e-2, x=None, by="attribution"):
        """A smaller KAN without the unimportant hidden nodes, with small edges masked.

        ``by="attribution"`` (default, pykan's ``prune``): hidden nodes with
        attribution score ``<= node_th`` are removed, the smaller network is
        attributed again and its edges with score ``<= edge_th`` are masked.
        ``by="forward"`` (the KAN paper's rule, this method's before): a hidden
        node stays when an incoming and an outgoing edge have
        ``mean_b |phi| > node_th``, and edges with ``mean_b |phi| < edge_th`` are
        masked. Scores come from samples ``x`` or, without, the last forward
        pass; inputs and outputs always stay, and a layer where no node passes
        keeps its best one. Kept edges compute exactly what they computed
        before; masked edges stay zero during further training. See
        :mod:`numpykan.interpretation.pruning`.

        Multiplication nodes are scored and kept as nodes: a kept one keeps
        its ``arity`` subnode columns, and an entry left without any becomes an int.

        Returns
        -------
        KAN
            With ``kept_nodes`` (index arrays per node layer), ``kept_subnodes``
            (the subnode columns they own) and a cache of the forward pass on the samples.
        """
        from ..interpretation.pruning import prune        # checks node_th, edge_th, by first
        return prune(self, node_th, edge_th, x, by)

    def prune_node(self, threshold=1e-2, x=None, by="attribution"):
        """pykan's ``prune_node``: a new KAN without the hidden nodes scoring ``<= threshold``."""
        from ..interpretation.pruning import prune_nodes
        return prune_nodes(self, threshold, x, by)

    def prune_edge(self, threshold=3e-2, x=None, by="attribution"):
        """pykan's ``prune_edge``: mask, in place, the edges scoring ``<= threshold``.

        Returns the newly masked edges per layer (boolean ``(width[l], width[l+1])``);
        see :func:`numpykan.interpretation.pruning.prune_edges`.
        """
        from ..interpretation.pruning import prune_edges
        return prune_edges(self, threshold, x, by)

    def prune_input(self, threshold=1e-2, x=None, active_inputs=None, verbose=False):
        """A KAN with only the inputs whose feature score exceeds ``threshold``.

        The result takes ``x[:, kept]`` and says which columns it kept in
        ``kept_inputs``; see :func:`numpykan.interpretation.pruning.prune_input`.
        """
        from ..interpretation.pruning import prune_input
        return prune_input(self, threshold, x, active_inputs, verbose)

    def remove_edge(self, l, i, j):
        """Mask edge ``(l, i, j)`` in place (and drop its formula); see :mod:`numpykan.interpretation.pruning`."""
        from ..interpretation.pruning import remove_edge
        remove_edge(self, l, i, j)

    def remove_node(self, l, i, mode="all"):
        """Mask the edges into (``"down"``) and out of (``"up"``) node ``i`` of node layer ``l`` in place."""
        from ..interpretation.pruning import remove_node
        remove_node(self, l, i, mode)

    # -- plots and formulas (see numpykan.plot and numpykan.symbolic) ---------------------
    def plot(self, path=None, x=None, **kwargs):
        """The network drawn with every edge's curve; see :func:`numpykan.plot.plot_network`."""
        from ..interpretation.plot import plot_network
        return plot_network(self, path=path, x=x, **kwargs)

    def plot_edge(self, l, i, j, x=None, **kwargs):
        """One edge's curve ``phi_lij``; see :func:`numpykan.plot.plot_edge`."""
        from ..interpretation.plot import plot_edge
        return plot_edge(self, l, i, j, x=x, **kwargs)

    def suggest_symbolic(self, l, i, j, topk=5, lib=None, **kwargs):
        """Library functions ranked for edge ``(l, i, j)``; see :func:`numpykan.symbolic_edges.suggest_symbolic`."""
        from ..interpretation.symbolic_edges import suggest_symbolic
        return suggest_symbolic(self, l, i, j, topk=topk, lib=lib, **kwargs)

    def fix_symbolic(self, l, i, j, name, **kwargs):
        """Freeze edge ``(l, i, j)`` to ``c f(a x + b) + d``; see :func:`numpykan.symbolic_edges.fix_symbolic`."""
        from ..interpretation.symbolic_edges import fix_symbolic
        return fix_symbolic(self, l, i, j, name, **kwargs)

    def unfix_symbolic(self, l, i, j):
        """Give edge ``(l, i, j)`` back to its spline; see :func:`numpykan.symbolic_edges.unfix_symbolic`."""
        from ..interpretation.symbolic_edges import unfix_symbolic
        return unfix_symbolic(self, l, i, j)

    def auto_symbolic(self, lib=None, r2_threshold=0.9, **kwargs):
        """Freeze every live edge to its best formula; see :func:`numpykan.symbolic_edges.auto_symbolic`."""
        from ..interpretation.symbolic_edges import auto_symbolic
        return auto_symbolic(self, lib=lib, r2_threshold=r2_threshold, **kwargs)

    def symbolic_formula(self, var_names=None, precision=4, **kwargs):
        """One formula string per output; see :func:`numpykan.symbolic_edges.symbolic_formula`."""
        from ..interpretation.symbolic_edges import symbolic_formula
        return symbolic_formula(self, var_names=var_names, precision=precision, **kwargs)

    # -- checkpoints ------------------------------------------------------------------
    def save(self, path):
        """Write the model to ``path`` (``.npz``, arrays and a JSON config only); return the path.

        A model whose ``base_fun`` is a tuple of callables raises ``ValueError``
        (a checkpoint holds no code).
        """
        _check_savable(self.config["base_fun"], "base_fun")
        arrays = {}
        for l, layer in enumerate(self.layers):
            for key, v in layer.params.items():
                arrays[f"layer{l}.{key}"] = v
            arrays[f"layer{l}.grid"] = layer.grid
            arrays[f"layer{l}.mask"] = layer.mask
            if layer.symbolic is not None:
                arrays.update(layer.symbolic.to_arrays(f"layer{l}.symbolic."))
        if getattr(self, "kept_inputs", None) is not None:      # from prune_input
            arrays["kept_inputs"] = np.asarray(self.kept_inputs, dtype=np.int64)
        return checkpoint.save_checkpoint(path, "KAN", self.config, arrays)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save` (never unpickles; see :mod:`numpykan.models.checkpoint`)."""
        return checkpoint.load_kan(cls, path)
