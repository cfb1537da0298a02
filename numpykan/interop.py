"""Models in and out of pykan, and pykan's autograd gradients checked against numpykan's.

pykan (PyTorch; ``kan.MultKAN``, also called ``kan.KAN``) computes the same
edges as numpykan::

    pykan     phi_ij(x) = mask_ij (scale_base_ij b(x) + scale_sp_ij sum_m coef_ijm B_m(x))
    numpykan  phi_ij(x) = mask_ij (w_b_ij b(x)        + w_s_ij      sum_m coef_ijm B_m(x))

with the same array layouts: ``grid (I, G+2k+1)``, ``coef (I, O, G+k)`` and
``(I, O)`` scales and masks, one knot vector per input, half-open knot
intervals (a point on the last knot of the extended grid gets no basis in
either library). So a model moves between the two by copying arrays, bit for
bit, and three functions do that and check it:

- :func:`to_pykan` -- a numpykan :class:`~numpykan.KAN` as a ``kan.MultKAN``;
- :func:`from_pykan` -- a ``kan.MultKAN`` as a numpykan ``KAN``, refusing with
  a named error what numpykan cannot represent instead of dropping it;
- :func:`compare_gradients` -- pykan's forward, loss (MSE or cross-entropy, with
  or without pykan's regularizer) and ``backward()`` against numpykan's
  hand-derived gradients on the same parameters and data (float64): a table like
  :func:`numpykan.check_model`'s, with the forward outputs. The regularizer is
  compared on the metrics both libraries define (:data:`SHARED_METRICS`, pykan's
  ``reg_metric`` names; numpykan's default ``"paper"`` metric has no pykan twin).

What pykan has and numpykan maps or refuses
-------------------------------------------
- ``node_scale/node_bias/subnode_scale/subnode_bias`` (an affine map after each
  node and subnode): :func:`to_pykan` leaves them at the identity (scale 1,
  bias 0); :func:`from_pykan` refuses any other value.
- Formula edges (``symbolic_fun[l]``: ``mask (O, I)``, ``affine (O, I, 4)`` =
  ``[a, b, c, d]`` of ``c f(a x + b) + d``): the same formula as
  :class:`numpykan.symbolic_edges.SymbolicEdges`, whose ``abcd (E, 4)`` holds
  the rows of the live edges. Library names common to both move over, each to
  the entry of the same name (pykan's ``x^0.5`` to numpykan's ``x^0.5``, its
  ``sqrt`` to ``sqrt``); a name numpykan's library lacks (``x^5``, ``arcsin``, ``1/x^3``, a callable
  "anonymous" ...) is refused unless registered with
  :func:`numpykan.symbolic.add_symbolic`. Where a function has a singularity
  or a restricted domain the two libraries differ off it: numpykan's
  ``sqrt``/``log`` use ``|u|``, ``1/x``, ``1/x^2`` and ``log`` keep ``|u| >= 1e-4``,
  ``tan`` clips at ``pi/2 - 0.01``, ``exp`` at ``u = 50``, while pykan's forward
  gives NaN or inf there. On the textbook domains the values agree.
- ``base_fun``: numpykan's names (:data:`numpykan.models.activations.ACTIVATIONS`)
  both ways. :func:`to_pykan` gives pykan ``"silu"``, ``"identity"`` and
  ``"zero"`` by name (pykan builds ``torch.nn.SiLU()``, ``Identity()`` and
  ``x*0``), and ``torch.nn.Tanh()`` / ``torch.nn.ReLU()`` for ``"tanh"`` /
  ``"relu"`` (pykan 0.2.8 has no such names and would keep the string);
  numpykan's callable tuples ``(f, f', ...)`` are NumPy code, refused with a
  ``ValueError`` naming ``base_fun``. :func:`from_pykan` recognizes a pykan base
  function by its values (silu, identity, zero, tanh, relu: a callable equal to
  one of them is accepted); anything else is refused.
- Per-layer ``grid`` and ``k`` (pykan's ``grid=[5, 3]``, ``k=[3, 2]``): the same
  per-layer lists in numpykan, both ways.
- ``input_id`` other than ``0 .. I-1`` (after pykan's ``prune_input``): refused
  (numpykan's ``KAN`` takes exactly its inputs; select the columns yourself).
  The other way, a numpykan model from ``prune_input`` (``kept_inputs``) becomes
  a pykan model taking the kept columns, ``input_id = 0 .. I-1``, as numpykan's does.
- Multiplication nodes (``width=[2, [5, 2], 1]``, ``mult_arity`` an int or
  per-node lists): the same in both, subnodes in the same order (each mult node
  multiplies its ``arity`` consecutive subnodes after the sum nodes'), so the
  layers' arrays (``(width_in[l], width_out[l+1])``) copy over as they are. pykan
  accepts mult nodes among the inputs or the outputs too; numpykan refuses those.
- ``symbolic_enabled=False``: pykan then skips every formula edge, and so
  does the converted model (the formulas are not carried over).
- Frozen scales (``requires_grad=False`` on ``scale_sp``/``scale_base``, pykan's
  ``sp_trainable``/``sb_trainable``) map to numpykan's per-layer freezing of ``w_s``/``w_b``
  both ways; a frozen ``coef`` is refused.
- Devices other than the CPU, and dtypes other than float32/float64, or a mix
  of dtypes: refused (move the model with ``model.to("cpu")``). One mix is
  accepted: masks of 0s and 1s in float32 inside a float64 model (pykan 0.2.8's
  ``prune_edge``, so its ``prune``, leaves every ``act_fun[l].mask`` float32);
  they take the model's dtype, exactly.

Side effects of pykan that this module undoes or avoids
-------------------------------------------------------
- Every ``MultKAN(...)`` call reseeds Python's, NumPy's and torch's global
  random generators (``seed=1`` by default); :func:`to_pykan` saves the three
  states and restores them, so a caller's random streams continue unchanged.
- ``MultKAN(auto_save=True)`` (pykan's default) creates ``./model/`` and writes
  a checkpoint; :func:`to_pykan` passes ``auto_save=False``, so nothing is
  written anywhere. pykan's own ``refine``, ``prune``, ``prune_node`` and
  ``prune_input`` return models with ``auto_save=True`` again (and pykan's
  ``copy()`` always writes ``copy_temp_*`` files into the working directory):
  set ``model.auto_save = False`` after them.

torch and pykan are imported only when one of these functions runs; without
them the functions raise an ``ImportError`` naming the ``numpykan[pykan]``
extra and the commands that install it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
import random

import numpy as np

from .models.activations import ACTIVATIONS
from .models.model import KAN
from .validation import check_input, check_nonnegative, check_positive, check_target

__all__ = ["to_pykan", "from_pykan", "compare_gradients", "InteropReport", "InteropRow",
           "INSTALL_HINT", "SHARED_METRICS"]

#: the commands that install what this module needs (also in the README)
INSTALL_HINT = ('pip install "numpykan[pykan]" && pip install --no-deps pykan==0.2.8 '
                '(from a clone: pip install -e ".[pykan]" && pip install --no-deps pykan==0.2.8)')

#: numpykan base function names pykan 0.2.8 takes as names (it builds the torch module itself)
_PYKAN_BASE_NAMES = ("silu", "identity", "zero")


def _require():
    """``(torch, kan)``, imported now; an ``ImportError`` naming the extra if either is missing."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"numpykan.interop needs PyTorch and pykan, and torch is not "
                          f"installed: {INSTALL_HINT}") from err
    try:
        import kan
    except ImportError as err:
        raise ImportError(f"numpykan.interop needs pykan (and its imports: tqdm, pandas, sympy, "
                          f"pyyaml, scikit-learn), and `import kan` failed ({err}): "
                          f"{INSTALL_HINT}") from err
    return torch, kan


@contextmanager
def _global_rngs_kept(torch):
    """Restore Python's, NumPy's and torch's (CPU) global generators on exit.

    ``MultKAN.__init__`` calls ``torch.manual_seed``, ``np.random.seed`` and
    ``random.seed``, and draws from torch's generator.
    """
    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])


# ---------------------------------------------------------------------------
# numpykan -> pykan
# ---------------------------------------------------------------------------

def _torch_dtype(torch, dtype):
    return {np.float64: torch.float64, np.float32: torch.float32}[np.dtype(dtype).type]


def to_pykan(model):
    """A ``kan.MultKAN`` computing exactly what ``model`` computes.

    Parameters
    ----------
    model : numpykan.KAN
        float64 or float32; the pykan model gets the same dtype.

    Returns
    -------
    kan.MultKAN
        Same ``width`` (and ``mult_arity``), per-layer ``grid``/``k`` (an int when all layers share
        it, else a list), ``grid_range``, ``grid_eps`` and base function
        (a name; ``torch.nn.Tanh()`` / ``torch.nn.ReLU()`` for tanh / relu);
        every layer's ``grid``, ``coef``, ``scale_base`` (numpykan's ``w_b``),
        ``scale_sp`` (``w_s``) and ``mask`` are copies of numpykan's arrays;
        formula edges become pykan formula edges (``symbolic_fun[l]``: mask 1,
        ``affine[j, i] = [a, b, c, d]``); node and subnode affine parameters are
        the identity. Built with ``auto_save=False`` and on the CPU; move it
        with ``.to(device)``. Inputs must then have the model's dtype
        (``torch.float64`` for a float64 model).

    Raises
    ------
    TypeError
        ``model`` is not a numpykan ``KAN``.
    ValueError
        A formula edge uses a function pykan's library has no entry for,
        ``k = 0`` (pykan cannot build such a layer), or ``base_fun`` is a tuple
        of callables (named: only numpykan's base function names convert).
    ImportError
        torch or pykan is missing.

    Notes
    -----
    Nothing is written to disk, and the global random states that
    ``MultKAN.__init__`` reseeds (Python's, NumPy's, torch's) are restored
    before returning. The initial values pykan draws are all overwritten.
    """
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a numpykan.KAN, got {type(model).__name__}")
    torch, kan = _require()
    from kan.utils import SYMBOLIC_LIB as PYKAN_LIB
    layers = model.layers
    for l, layer in enumerate(layers):                         # refuse before building anything
        if layer.symbolic is not None:
            for (i, j), name in zip(layer.symbolic.ij, layer.symbolic.names):
                if name not in PYKAN_LIB:
                    raise ValueError(f"layer {l} edge ({i}, {j}) is the formula {name!r}, which "
                                     f"pykan's library lacks (it has {sorted(PYKAN_LIB)}); "
                                     f"register it with kan.utils.add_symbolic first")
    base_fun = _pykan_base(torch, layers[0].base_fun)
    Gs, ks = [layer.G for layer in layers], [layer.k for layer in layers]
    if min(ks) < 1:
        raise ValueError(f"model has spline degree k = {min(ks)}; pykan 0.2.8 cannot build a layer "
                         f"with k = 0 (its KANLayer slices grid[:, k:-k], empty for k = 0)")
    grid = Gs[0] if len(set(Gs)) == 1 else Gs
    k = ks[0] if len(set(ks)) == 1 else ks
    frozen = [getattr(layer, "frozen", frozenset()) for layer in layers]
    with _global_rngs_kept(torch):
        pk = kan.MultKAN(width=_pykan_width(model.width), grid=grid, k=k,
                         mult_arity=_pykan_arity(model.mult_arity),
                         base_fun=base_fun, grid_eps=float(model.grid_eps),
                         grid_range=[float(v) for v in model.config["grid_range"]],
                         sp_trainable=not any("w_s" in f for f in frozen),
                         sb_trainable=not any("w_b" in f for f in frozen),
                         auto_save=False, device="cpu")
    if np.dtype(model.dtype) == np.float64:
        pk.double()                                            # nn.Module.double: every float tensor
    else:
        pk.float()
    with torch.no_grad():
        for l, (layer, act) in enumerate(zip(layers, pk.act_fun)):
            for target, array in ((act.grid, layer.grid), (act.coef, layer.coef),
                                  (act.scale_base, layer.w_b), (act.scale_sp, layer.w_s),
                                  (act.mask, layer.mask)):
                target.copy_(torch.from_numpy(np.ascontiguousarray(array)))
            act.scale_sp.requires_grad_("w_s" not in frozen[l])     # numpykan freezes per layer
            act.scale_base.requires_grad_("w_b" not in frozen[l])
            if layer.symbolic is None:
                continue
            sym = pk.symbolic_fun[l]
            for (i, j), name, abcd in zip(layer.symbolic.ij, layer.symbolic.names,
                                          layer.symbolic.params["abcd"]):
                i, j = int(i), int(j)
                sym.fix_symbolic(i, j, name, verbose=False)    # pykan's function, affine [1, 0, 1, 0]
                sym.affine[j, i] = torch.from_numpy(np.array(abcd))   # then numpykan's a, b, c, d
                sym.mask[j, i] = 1.0
    return pk


def _pykan_base(torch, base_fun):
    """What pykan's ``MultKAN(base_fun=...)`` needs for numpykan's ``base_fun``; ValueError for callables."""
    if isinstance(base_fun, str) and base_fun in _PYKAN_BASE_NAMES:
        return base_fun                                        # pykan builds SiLU / Identity / x*0
    if base_fun == "tanh":
        return torch.nn.Tanh()
    if base_fun == "relu":
        return torch.nn.ReLU()
    raise ValueError(f"base_fun is {base_fun!r}: to_pykan converts numpykan's named base functions "
                     f"({sorted(ACTIVATIONS)}); a tuple of NumPy callables (f, f', ...) has no "
                     f"torch twin (build the pykan model with base_fun=<a torch function> and "
                     f"copy the arrays yourself)")


def _pykan_width(width):
    """A fresh copy of ``width`` with ``[sum, mult]`` pairs as lists (pykan edits it in place)."""
    return [int(w) if isinstance(w, (int, np.integer)) else [int(v) for v in w] for w in width]


def _pykan_arity(mult_arity):
    """``mult_arity`` as pykan takes it: an int, or per width entry a list of ints."""
    if isinstance(mult_arity, (int, np.integer)):
        return int(mult_arity)
    return [[int(a) for a in per] for per in mult_arity]


# ---------------------------------------------------------------------------
# pykan -> numpykan
# ---------------------------------------------------------------------------

def _probe_base(torch, fun, where):
    """The numpykan name of pykan base function ``fun``, found by its values; ValueError if none."""
    u = np.linspace(-4.0, 4.0, 17)
    try:
        with torch.no_grad():
            v = fun(torch.from_numpy(u)).detach().cpu().numpy()
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"{where}: base function {fun!r} could not be evaluated ({err}); numpykan "
                         f"supports {sorted(ACTIVATIONS)}") from None
    for name, (f, _) in ACTIVATIONS.items():
        if np.shape(v) == u.shape and np.allclose(v, f(u), rtol=1e-12, atol=1e-12):
            return name
    raise ValueError(f"{where}: base function {fun!r} is not one numpykan supports "
                     f"({sorted(ACTIVATIONS)}; the values at -4..4 match none of them)")


def _is_mask(name):
    """``act_fun.{l}.mask``: pykan 0.2.8's ``prune_edge`` writes it back as float32 whatever the model's dtype."""
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "act_fun" and parts[2] == "mask"


def _zeros_and_ones(t):
    """A mask of exact 0s and 1s, the same number in every float dtype."""
    v = t.detach().cpu()
    return bool(((v == 0) | (v == 1)).all())


def _check_pykan(torch, kan, m):
    """Everything :func:`from_pykan` refuses, checked before anything is built; returns the dtype."""
    if not isinstance(m, kan.MultKAN):
        raise TypeError(f"pykan_model must be a kan.MultKAN (kan.KAN), got {type(m).__name__}")
    dtypes = {}
    for name, t in list(m.named_parameters()) + list(m.named_buffers()):
        if t.device.type != "cpu":
            raise ValueError(f"pykan model parameter {name} is on device {t.device}; numpykan "
                             f"computes on the CPU: move the model first, model.to('cpu')")
        if t.is_floating_point() and not (_is_mask(name) and _zeros_and_ones(t)):
            dtypes.setdefault(t.dtype, name)
    if len(dtypes) > 1:
        raise TypeError(f"pykan model mixes dtypes: " + ", ".join(
            f"{dt} (e.g. {name})" for dt, name in dtypes.items()) + "; convert it with "
            "model.double() or model.float()")
    (dtype, _), = dtypes.items()
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"pykan model has dtype {dtype}; numpykan holds float32 or float64")
    for l, w in enumerate(m.width):
        if w[1] != 0 and l in (0, len(m.width) - 1):
            raise ValueError(f"pykan width[{l}] = {w} has {w[1]} multiplication node(s) among the "
                             f"{'inputs' if l == 0 else 'outputs'}; numpykan's KAN has them in "
                             f"hidden layers only")
    n_in = m.width_in[0]
    ids = m.input_id.detach().cpu().numpy()
    if not np.array_equal(ids, np.arange(n_in)):
        raise ValueError(f"pykan model selects inputs input_id = {ids.tolist()} (from prune_input); "
                         f"numpykan's KAN takes exactly its {n_in} inputs: set "
                         f"model.input_id = torch.arange({n_in}) and feed x[:, {ids.tolist()}]")
    for l in range(m.depth):
        for kind, values, identity in (("node_scale", m.node_scale[l], 1.0),
                                       ("node_bias", m.node_bias[l], 0.0),
                                       ("subnode_scale", m.subnode_scale[l], 1.0),
                                       ("subnode_bias", m.subnode_bias[l], 0.0)):
            v = values.detach().cpu().numpy()
            bad = np.flatnonzero(v != identity)
            if bad.size:
                raise ValueError(f"pykan {kind}_{l}[{int(bad[0])}] = {v[bad[0]]!r}, not {identity}: "
                                 f"numpykan has no affine map after its nodes (only identity "
                                 f"node/subnode scales and biases convert)")
    for l, act in enumerate(m.act_fun):
        if not act.coef.requires_grad:
            raise ValueError(f"pykan act_fun[{l}].coef is frozen (requires_grad=False); numpykan "
                             f"freezes w_b and w_s (sb_trainable, sp_trainable), not coef")
    return dtype


def _formula_edges(m, l, where):
    """Live formula edges of pykan layer ``l``: list of ``(i, j, numpykan name, abcd)``."""
    from .interpretation.symbolic import SYMBOLIC_LIB
    if not m.symbolic_enabled:
        return []
    sym = m.symbolic_fun[l]
    mask = sym.mask.detach().cpu().numpy()                     # (O, I), pykan's order
    affine = sym.affine.detach().cpu().numpy()                 # (O, I, 4)
    edges = []
    for j, i in zip(*np.nonzero(mask)):
        if mask[j, i] != 1:
            raise ValueError(f"{where}: symbolic_fun[{l}].mask[{j}, {i}] = {mask[j, i]!r}; "
                             f"numpykan's formula edges are on (1) or off (0)")
        name = sym.funs_name[j][i]
        nk_name = name
        if nk_name not in SYMBOLIC_LIB:
            raise ValueError(f"{where}: layer {l} edge ({i}, {j}) is the formula {name!r}, which "
                             f"numpykan's library lacks (it has {sorted(SYMBOLIC_LIB)}); register "
                             f"it with numpykan.symbolic.add_symbolic(name, f, df, ...) to convert")
        edges.append((int(i), int(j), nk_name, affine[j, i].copy()))
    return edges


def from_pykan(pykan_model):
    """A numpykan ``KAN`` computing exactly what ``pykan_model`` computes.

    Parameters
    ----------
    pykan_model : kan.MultKAN
        On the CPU, float32 or float64 throughout, multiplication nodes in
        hidden layers only, identity
        node/subnode affine maps, base function silu, identity, zero, tanh or
        relu, formula edges from numpykan's library; ``grid`` and ``k`` may
        differ per layer.

    Returns
    -------
    numpykan.KAN
        Same dtype and widths; every layer's ``grid``, ``coef``, ``w_b``
        (pykan's ``scale_base``), ``w_s`` (``scale_sp``) and ``mask`` are copies
        of pykan's arrays; live formula edges (symbolic mask 1, when
        ``symbolic_enabled``) become ``layer.symbolic`` edges with ``abcd`` =
        pykan's ``affine[j, i]``. ``grid_range`` and ``grid_eps`` are pykan's.

    Raises
    ------
    TypeError
        Not a ``kan.MultKAN``; mixed or unsupported dtypes.
    ValueError
        A feature numpykan cannot represent (the message names it and the
        parameter that holds it): multiplication nodes among the inputs or
        outputs, non-identity affine
        parameters, an unknown base function or formula,
        ``input_id`` from ``prune_input``, a frozen ``coef``, a non-increasing
        grid, a device other than the CPU.
    ImportError
        torch or pykan is missing.
    """
    torch, kan = _require()
    m = pykan_model
    dtype = _check_pykan(torch, kan, m)
    nk_dtype = np.float64 if dtype == torch.float64 else np.float32
    from .splines.grids import check_grid
    from .interpretation.symbolic_edges import SymbolicEdges

    def arr(t):
        return t.detach().cpu().numpy().copy()

    layers = []
    for l, act in enumerate(m.act_fun):
        where = f"pykan act_fun[{l}]"
        base = _probe_base(torch, act.base_fun, where)
        grid = check_grid(arr(act.grid), act.k, act.in_dim, f"{where}.grid")
        layers.append(dict(base=base, grid=grid, coef=arr(act.coef), w_b=arr(act.scale_base),
                           w_s=arr(act.scale_sp), mask=arr(act.mask).astype(nk_dtype), k=int(act.k),
                           edges=_formula_edges(m, l, where),
                           sp=bool(act.scale_sp.requires_grad), sb=bool(act.scale_base.requires_grad)))
    bases = {d["base"] for d in layers}
    if len(bases) > 1:
        raise ValueError(f"pykan layers use different base functions {[d['base'] for d in layers]}; "
                         f"numpykan's KAN has one")
    width = [int(w[0]) if int(w[1]) == 0 else [int(w[0]), int(w[1])] for w in m.width]
    Gs = [d["grid"].shape[1] - 2 * d["k"] - 1 for d in layers]
    ks = [d["k"] for d in layers]
    grid_range = tuple(float(v) for v in m.grid_range)
    model = KAN(width, grid=Gs[0] if len(set(Gs)) == 1 else Gs, k=ks[0] if len(set(ks)) == 1 else ks,
                grid_range=grid_range, base_fun=bases.pop(),
                seed=None, dtype=nk_dtype, grid_eps=float(m.grid_eps),
                sp_trainable=all(d["sp"] for d in layers), sb_trainable=all(d["sb"] for d in layers),
                mult_arity=_pykan_arity(m.mult_arity))
    for layer, d in zip(model.layers, layers):
        layer.grid = d["grid"]
        for key in ("coef", "w_b", "w_s"):
            layer.params[key] = d[key]
        layer.set_trainable(sp_trainable=d["sp"], sb_trainable=d["sb"])   # fresh grads, None if frozen
        layer.mask = d["mask"]
        layer.cache = None
        if d["edges"]:
            layer.symbolic = SymbolicEdges(layer.in_dim, layer.out_dim, nk_dtype)
            for i, j, name, abcd in d["edges"]:
                layer.symbolic.set_edge(i, j, name, abcd)
    return model


# ---------------------------------------------------------------------------
# gradients: pykan's autograd against numpykan's hand-derived backward
# ---------------------------------------------------------------------------

@dataclass
class InteropRow:
    """One line of an :class:`InteropReport`: a quantity both libraries computed.

    Attributes
    ----------
    name : str
        numpykan's name: ``"output"``, ``"loss"``, ``"layer{l}.coef"``,
        ``"layer{l}.w_b"``, ``"layer{l}.w_s"``, ``"layer{l}.symbolic.abcd"``, ``"dL/dx"``.
    pykan : str
        The same quantity in pykan (``act_fun.{l}.scale_base.grad``, ...).
    shape : tuple of int
    max_abs_err, max_rel_err : float
        ``max |n - p|`` and ``max |n - p| / max(|n|, |p|, atol / rtol)`` over the elements.
    worst_index : tuple of int or None
        The element with the largest error relative to its tolerance.
    numpykan, pykan_value : float
        The two values there.
    ok : bool
        ``|n - p| <= atol + rtol max(|n|, |p|)`` for every element.
    """

    name: str
    pykan: str
    shape: tuple
    max_abs_err: float
    max_rel_err: float
    worst_index: object
    numpykan: float
    pykan_value: float
    ok: bool


@dataclass
class InteropReport:
    """Result of :func:`compare_gradients`; ``str(report)`` is a fixed-width table.

    Attributes
    ----------
    ok : bool
        Every row agreed within the tolerances.
    rows : list of InteropRow
        ``output``, ``loss``, one row per parameter gradient, ``dL/dx``.
    rtol, atol : float
    loss : str
    regularizer : str
        What the regularizer term compared was, in both libraries' words.
    out_numpykan, out_pykan : ndarray, shape (B, O)
        The two forward outputs.
    loss_numpykan, loss_pykan : float
        The two total losses (prediction loss + ``lamb`` * regularizer).
    """

    ok: bool
    rows: list = field(default_factory=list)
    rtol: float = 1e-10
    atol: float = 1e-13
    loss: str = "mse"
    regularizer: str = "none (lamb = 0)"
    out_numpykan: np.ndarray = None
    out_pykan: np.ndarray = None
    loss_numpykan: float = float("nan")
    loss_pykan: float = float("nan")

    def __str__(self):
        head = ["numpykan", "pykan", "shape", "max abs err", "max rel err", "worst",
                "numpykan value", "pykan value", ""]
        body = [[r.name, r.pykan, str(r.shape), f"{r.max_abs_err:.2e}", f"{r.max_rel_err:.2e}",
                 "-" if r.worst_index is None else str(r.worst_index), f"{r.numpykan:+.12e}",
                 f"{r.pykan_value:+.12e}", "ok" if r.ok else "FAIL"] for r in self.rows]
        widths = [max(len(row[c]) for row in [head] + body) for c in range(len(head))]
        align = ["<", "<", "<", ">", ">", "<", ">", ">", "<"]

        def line(cells):
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

        lines = [f"numpykan (by hand) vs pykan (autograd): loss={self.loss}, "
                 f"regularizer: {self.regularizer}; rtol={self.rtol:g}, atol={self.atol:g}",
                 line(head)] + [line(row) for row in body]
        rule = "|n - p| <= atol + rtol * max(|n|, |p|)"
        failed = [r.name for r in self.rows if not r.ok]
        lines.append(f"PASS: all {len(self.rows)} rows satisfy {rule}" if self.ok else
                     f"FAIL: {len(failed)} of {len(self.rows)} rows violate {rule}: "
                     + ", ".join(failed))
        return "\n".join(lines)


def _row(name, pykan_name, n, p, rtol, atol):
    """Compare numpykan's ``n`` with pykan's ``p`` (same shape) element by element."""
    n, p = np.asarray(n, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if n.shape != p.shape:
        raise ValueError(f"{name}: numpykan's shape {n.shape} differs from pykan's {p.shape} "
                         f"({pykan_name})")
    if n.size == 0:
        return InteropRow(name, pykan_name, n.shape, 0.0, 0.0, None, float("nan"),
                          float("nan"), True)
    err = np.abs(n - p)                                        # |n - p|
    scale = np.maximum(np.abs(n), np.abs(p))                   # max(|n|, |p|)
    tol = atol + rtol * scale
    ok = bool(np.all(err <= tol))                              # False if any NaN
    rel = err / np.maximum(scale, atol / rtol)
    ratio = np.where(np.isnan(err), np.inf, err / tol)         # NaN is the worst
    worst = np.unravel_index(int(np.argmax(ratio)), n.shape)
    return InteropRow(name, pykan_name, n.shape, float(np.max(err)), float(np.max(rel)),
                      tuple(int(i) for i in worst), float(n[worst]), float(p[worst]), ok)


def _as_numpy(a, name):
    """A torch tensor or array-like as a NumPy array (tensors detached and on the CPU)."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


_LOSS_NAMES = {"mse": "mse", "ce": "ce", "cross_entropy": "ce"}


#: the regularizer metrics pykan and numpykan both define (same formulas, see numpykan.regmetrics)
SHARED_METRICS = ("edge_forward_spline_n", "edge_forward_spline_u", "edge_forward_sum")


def compare_gradients(pykan_model, x, y, loss="mse", lamb=0.0, *, lamb_l1=1.0, lamb_entropy=2.0,
                      reg_metric="edge_forward_spline_n", lamb_coef=0.0, lamb_coefdiff=0.0,
                      rtol=1e-10, atol=1e-13):
    """pykan's autograd gradients against numpykan's hand-derived ones, in float64.

    pykan side: ``out = pykan_model(x)``, the loss on ``out``, then
    ``.backward()``; numpykan side: :func:`from_pykan` then
    ``loss_and_grad(x, y, loss, input_grad=True)`` on the same parameters.
    The two outputs, total losses, every parameter gradient and ``dL/dx``
    are compared element by element.

    Parameters
    ----------
    pykan_model : kan.MultKAN
        float64 (convert a float32 model with ``copy.deepcopy(m).double()``),
        and convertible by :func:`from_pykan`.
    x : ndarray or torch.Tensor, shape (B, I)
    y : ndarray or torch.Tensor
        ``(B, O)`` targets for ``"mse"``, int labels ``(B,)`` for ``"ce"``.
    loss : {"mse", "ce"}
        ``"mse"``: ``mean((out - y)^2)`` over all elements, pykan's default
        ``loss_fn`` in ``fit``; ``"ce"``: softmax cross-entropy, the mean
        over the batch (``torch.nn.functional.cross_entropy``, what pykan users
        pass as ``loss_fn=torch.nn.CrossEntropyLoss()``).
    lamb : float
        Weight of the regularizer; with ``lamb > 0`` both sides add
        ``lamb * R`` (pykan: ``model.get_reg(reg_metric, lamb_l1, lamb_entropy,
        lamb_coef, lamb_coefdiff)`` after a forward pass with ``save_act``, as in
        its ``fit``; numpykan: ``loss_and_grad(..., reg_metric=...)``), and a row
        ``lamb * reg`` compares the two values. Needs ``B >= 2`` (unbiased std).
    lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff : float
        pykan's weights of the L1 term, the entropies and the two coefficient
        penalties, the same in both libraries.
    reg_metric : str
        One of :data:`SHARED_METRICS`, the edge sizes both libraries define:
        ``"edge_forward_spline_n"`` (pykan's default: std of the spline edge over
        std of its input + 0.1), ``"edge_forward_spline_u"`` (std of the whole
        edge, formula included), ``"edge_forward_sum"`` (a value without
        gradient in both). numpykan's ``"paper"`` metric (mean ``|phi|``,
        natural-log entropy) has no pykan counterpart and is refused.
    rtol, atol : float
        Element ``(n, p)`` agrees when ``|n - p| <= atol + rtol max(|n|, |p|)``.
        The two libraries sum in different orders, so they differ by float64
        rounding: about 1e-16 absolute for gradients of size 1e-3 to 1 (1e-14
        relative at most, measured). ``rtol = 1e-10`` leaves room for larger
        sums; ``atol = 1e-13`` covers entries that cancel to near 0.

    Returns
    -------
    InteropReport
        ``report.ok``, ``print(report)`` for the table, the forward outputs
        ``out_numpykan``, ``out_pykan`` and the losses.

    Notes
    -----
    The pykan model is left as it was, except what any forward pass changes
    (its cached activations and ``cache_data``): the ``.grad`` of its
    parameters is restored, and so is ``save_act``. Gradients of pykan
    parameters that numpykan does not have (the identity node/subnode affine
    maps when ``affine_trainable``, formula parameters of switched-off edges)
    are not compared.
    """
    torch, kan = _require()
    m = pykan_model
    dtype = _check_pykan(torch, kan, m)
    if dtype != torch.float64:
        raise TypeError(f"compare_gradients runs in float64, and pykan_model has dtype {dtype}; "
                        f"compare a float64 copy: copy.deepcopy(model).double()")
    if not isinstance(loss, str) or loss.lower() not in _LOSS_NAMES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    loss = _LOSS_NAMES[loss.lower()]
    lamb = check_nonnegative(lamb, "lamb")
    weights = {name: check_nonnegative(v, name) for name, v in (
        ("lamb_l1", lamb_l1), ("lamb_entropy", lamb_entropy), ("lamb_coef", lamb_coef),
        ("lamb_coefdiff", lamb_coefdiff))}
    if reg_metric not in SHARED_METRICS:
        raise ValueError(f"reg_metric must be one both libraries define, {list(SHARED_METRICS)}, "
                         f"got {reg_metric!r}" + (" (numpykan's 'paper' metric, mean |phi| with a "
                         "natural-log entropy, has no pykan counterpart)" if reg_metric == "paper"
                         else ""))
    rtol, atol = check_positive(rtol, "rtol"), check_nonnegative(atol, "atol")
    model = from_pykan(m)
    x = check_input(_as_numpy(x, "x"), model.width[0], np.float64, "x")
    y = check_target(_as_numpy(y, "y"), loss, x.shape[0], model.width[-1], np.float64, "y")
    if lamb > 0 and x.shape[0] < 2:
        raise ValueError(f"lamb > 0 needs at least 2 samples (the metrics use an unbiased std), "
                         f"got x of shape {x.shape}")
    regularizer = "none (lamb = 0)" if lamb == 0 else (
        f"reg_metric={reg_metric!r} in both, lamb={lamb:g}, " + ", ".join(
            f"{name}={v:g}" for name, v in weights.items()))

    # numpykan: the hand-derived backward
    value_n = model.loss_and_grad(x, y, loss=loss, lamb=lamb, input_grad=True,
                                  reg_metric=reg_metric, **weights)
    out_n, reg_n = model.last_loss["out"], model.last_loss["reg"]

    # pykan: autograd, with the model's grads and save_act restored afterwards
    params = dict(m.named_parameters())
    saved = {name: (None if p.grad is None else p.grad.clone()) for name, p in params.items()}
    saved_save_act = m.save_act
    try:
        for p in params.values():
            p.grad = None
        if lamb > 0:
            m.save_act = True                                  # the metrics read the saved statistics
        with torch.enable_grad():
            xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            out_t = m(xt)                                      # (B, O)
            if loss == "mse":
                pred = torch.mean((out_t - torch.tensor(y)) ** 2)
            else:
                pred = torch.nn.functional.cross_entropy(out_t, torch.tensor(y))
            reg_t = lamb * m.get_reg(reg_metric, weights["lamb_l1"], weights["lamb_entropy"],
                                     weights["lamb_coef"], weights["lamb_coefdiff"]) \
                if lamb > 0 else torch.zeros((), dtype=torch.float64)
            total = pred + reg_t
            total.backward()
        value_p, reg_p = float(total.detach()), float(reg_t.detach())
        out_p = out_t.detach().numpy().copy()
        grads_p = {name: (None if p.grad is None else p.grad.detach().numpy().copy())
                   for name, p in params.items()}
        dx_p = xt.grad.detach().numpy().copy()
    finally:
        for name, p in params.items():
            p.grad = saved[name]
        m.save_act = saved_save_act

    rows = [_row("output", "model(x)", out_n, out_p, rtol, atol),
            _row("loss", "loss", value_n, value_p, rtol, atol)]
    if lamb > 0:
        rows.append(_row("lamb * reg", "lamb * get_reg(...)", reg_n, reg_p, rtol, atol))
    for l, layer in enumerate(model.layers):
        for key, pk_key in (("coef", "coef"), ("w_b", "scale_base"), ("w_s", "scale_sp")):
            g, gn = grads_p[f"act_fun.{l}.{pk_key}"], layer.grads.get(key)
            if gn is None and g is None:
                continue                                       # frozen in both
            missing = np.full(layer.params[key].shape, np.nan)    # a gradient on one side only fails
            rows.append(_row(f"layer{l}.{key}", f"act_fun.{l}.{pk_key}.grad",
                             missing if gn is None else gn, missing if g is None else g, rtol, atol))
        if layer.symbolic is not None:
            sym = layer.symbolic
            g = grads_p[f"symbolic_fun.{l}.affine"]            # (O, I, 4)
            g = np.zeros((len(sym), 4)) if g is None else g[sym.ij[:, 1], sym.ij[:, 0]]
            rows.append(_row(f"layer{l}.symbolic.abcd", f"symbolic_fun.{l}.affine.grad[j, i]",
                             sym.grads["abcd"], g, rtol, atol))
    rows.append(_row("dL/dx", "x.grad", model.grad_input, dx_p, rtol, atol))
    return InteropReport(ok=all(r.ok for r in rows), rows=rows, rtol=rtol, atol=atol, loss=loss,
                         regularizer=regularizer, out_numpykan=out_n, out_pykan=out_p,
                         loss_numpykan=float(value_n), loss_pykan=value_p)
