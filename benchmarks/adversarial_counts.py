"""Bad input, tried the way an attacker would, and what numpykan does with it (issue 14).

Every case calls one public entry point with one bad (or borderline) value and
classifies the outcome:

``named``
    a ``ValueError``/``TypeError`` whose message names the argument (or, for a
    file, the path), with the model, the optimizer state and the files
    unchanged, bit for bit;
``correct``
    a result that is right (checked against what the call should give), or a
    documented stop (the divergence guard's ``FloatingPointError`` with the
    last finite parameters kept);
``raw``
    any other exception (NumPy's, the zip module's, a ``MemoryError``), a
    named error that leaves state changed, or one that used far more memory
    or time than the input justifies;
``silent``
    bad input accepted: a result with NaN/inf, wrong values, or no error at all.

Run ``python benchmarks/adversarial_counts.py`` (``-v`` lists every case that
is not ``named``/``correct``); it prints the counts per category. About 10 s
of CPU.

Measured (issue 14), 724 cases, named / correct / raw / silent: on main before
the fixes (026fc81) 534 / 73 / 49 / 68; after them 649 / 72 / 0 / 3. The three
left are by choice or outside the models: ``optimizer.step()`` applies NaN or
inf gradients as given (``fit``'s guard checks what a step produced), and
``numpykan.bspline.uniform_grid`` called directly returns repeated knots for
``(1e16, 1e16 + 4)`` (a model refuses that range).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import struct
import sys
import tempfile
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpykan as nk  # noqa: E402 (this checkout's numpykan)
from numpykan import KAN, MLP
from numpykan.models.layer import KANLayer

RESULTS = []          # (category, name, outcome, note)


# ---------------------------------------------------------------------------
# state fingerprints and the classifier
# ---------------------------------------------------------------------------

def model_state(model):
    """Every array and attribute an operation could change, as bytes."""
    parts = [repr(model.width).encode()]
    for layer in model.layers:
        for key in sorted(layer.params):
            parts.append(layer.params[key].tobytes())
        for key in sorted(layer.grads):
            g = layer.grads[key]
            parts.append(b"None" if g is None else g.tobytes())
        for name in ("grid", "mask"):
            a = getattr(layer, name, None)
            if a is not None:
                parts.append(a.tobytes())
        parts.append(str(id(getattr(layer, "cache", None))).encode())
    return b"".join(parts)


def opt_state(opt):
    parts = [repr(getattr(opt, "lr", None)).encode()]
    for key in sorted(opt.state, key=repr):
        for name, v in sorted(opt.state[key].items()):
            parts.append(np.asarray(v).tobytes())
    return b"".join(parts)


def file_state(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def record(cat, name, outcome, note=""):
    RESULTS.append((cat, name, outcome, note))


def run(cat, name, call, arg, check=None, states=(), timeout=None, mem_limit=None,
        errors=(ValueError, TypeError)):
    """Run ``call()`` and classify it (see the module docstring).

    arg : str or tuple of str
        What a named error's message must mention (any one of them).
    check : callable(result) -> bool, optional
        For a call that may legitimately succeed: is the result right?
    states : callables returning bytes, compared before and after
    mem_limit : bytes, optional
        A peak allocation above it turns the outcome into ``raw``.
    errors : exception classes that count as named (with ``arg`` in the message)
        ``RuntimeError`` for calls in the wrong order (backward before forward),
        ``FileNotFoundError`` for a missing file.
    """
    args = (arg,) if isinstance(arg, str) else tuple(arg)
    before = [s() for s in states]
    if mem_limit:
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = call()
        err = None
    except BaseException as e:            # noqa: BLE001 - classifying is the point
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        result, err = None, e
    elapsed = time.perf_counter() - t0
    peak = 0
    if mem_limit:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    changed = [s() for s in states] != before
    extra = ""
    if mem_limit and peak > mem_limit:
        extra = f" (peak {peak / 1e6:.0f} MB)"
    if timeout and elapsed > timeout:
        extra += f" ({elapsed:.1f} s)"
    if err is not None:
        msg = f"{type(err).__name__}: {err}"
        if isinstance(err, FloatingPointError) and check is not None:
            ok = _safe(check, err)
            outcome = "correct" if ok and not extra else "raw"
        elif isinstance(err, errors) and any(a.lower() in str(err).lower()
                                                              for a in args):
            outcome = "raw" if (changed or extra) else "named"
            if changed:
                extra += " (state changed)"
        else:
            outcome = "raw"
        record(cat, name, outcome, (msg[:160] + extra).replace("\n", " "))
        return
    if check is not None and _safe(check, result):
        record(cat, name, "raw" if extra else "correct", extra)
    else:
        record(cat, name, "silent", f"returned {_short(result)}{extra}")


def _safe(check, value):
    try:
        return bool(check(value))
    except Exception:                     # noqa: BLE001
        return False


def _short(value):
    if isinstance(value, np.ndarray):
        return f"array{value.shape} {value.dtype} finite={bool(np.isfinite(value).all()) if value.dtype.kind in 'fc' else '-'}"
    return type(value).__name__


def finite(a):
    return np.isfinite(np.asarray(a)).all()


def small_kan(**kw):
    return KAN([2, 3, 1], grid=3, k=3, seed=0, **kw)


def data(n=40, seed=0, out=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = np.sin(x[:, :1]) * x[:, 1:] if out == 1 else rng.uniform(size=(n, out))
    return {"train_input": x, "train_label": y, "test_input": x[:10], "test_label": y[:10]}


# ---------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------

def grids_ok(model):
    return all(finite(l.grid) and np.all(np.diff(l.grid, axis=1) > 0) and
               all(finite(v) for v in l.params.values()) for l in model.layers)


def partition_of_unity(model):
    layer = model.layers[0]
    lo, hi = layer.grid[0, layer.k], layer.grid[0, -layer.k - 1]
    x = (lo + (hi - lo) * np.linspace(0.005, 0.995, 50))[:, None].repeat(layer.in_dim, 1)
    B = nk.bspline.basis(x, layer.grid, layer.k)
    return np.allclose(B.sum(axis=2), 1.0, atol=1e-6)


def sane_kan(model):
    """A constructed model whose parameters and knots are finite and increasing."""
    for layer in model.layers:
        if not all(finite(v) for v in layer.params.values()):
            return False
        if not (finite(layer.grid) and np.all(np.diff(layer.grid, axis=1) > 0)):
            return False
    return partition_of_unity(model)


def constructors():
    cat = "constructors"
    bad = {
        "k": [-1, 1.5, "3", None, True, 21, 25, 40, np.float64(3.0)],
        "grid": [0, -2, 2.5, "5", None, True, np.inf],
        "grid_range": [(1, 1), (1, 0), (np.nan, 1), (0, np.inf), (-1e308, 1e308), (1e16, 1e16 + 4),
                       (0, 1e-300), "ab", (1,), (0, 1, 2), None],
        "base_fun": ["foo", 3, None],
        "seed": [1.5, "abc", -1, np.nan, [1, 2.5], 2 ** 200],
        "noise_scale": [np.nan, np.inf, -1.0, "a", None, 1e308],
        "dtype": [int, np.complex128, np.float16, "float128", str, object],
        "grid_eps": [np.nan, 2.0, -0.1, "a"],
        "scale_base_mu": [np.nan, np.inf, "a"],
        "scale_base_sigma": [np.nan, -1.0, np.inf],
        "sparse_init": ["yes", 2],
        "sp_trainable": ["no"],
    }
    for arg, values in bad.items():
        for v in values:
            run(cat, f"KAN({arg}={v!r})", lambda v=v, arg=arg: KAN([2, 3, 1], **{arg: v}), arg,
                check=sane_kan if arg in ("k", "grid_range", "noise_scale") or
                (arg == "seed" and v == 2 ** 200) else None)
    for v in [0, -1, 2.5, "3", None, True]:
        run(cat, f"KANLayer(in_dim={v!r})", lambda v=v: KANLayer(v, 2), "in_dim")
        run(cat, f"KANLayer(out_dim={v!r})", lambda v=v: KANLayer(2, v), "out_dim")
    for v in [1.5, "abc", -1, np.nan]:
        run(cat, f"KANLayer(seed={v!r})", lambda v=v: KANLayer(2, 2, seed=v), "seed")
    run(cat, "KANLayer(grid_range=(1e16, 1e16 + 4))",
        lambda: KANLayer(2, 2, grid_range=(1e16, 1e16 + 4)), "grid_range",
        check=lambda l: np.all(np.diff(l.grid, axis=1) > 0))
    run(cat, "KANLayer(float32, grid_range=(-1e38, 3e38))",
        lambda: KANLayer(2, 2, grid_range=(-1e38, 3e38), dtype=np.float32), "grid_range",
        check=lambda l: finite(l.grid))
    for arg, v in [("activation", "foo"), ("seed", 1.5), ("seed", "abc"), ("seed", -1),
                   ("dtype", int), ("dtype", np.complex64), ("activation", None)]:
        run(cat, f"MLP({arg}={v!r})", lambda arg=arg, v=v: MLP([2, 3, 1], **{arg: v}), arg)
    for w in [[2], [], "21", [2, 0, 1], [2, 2.5, 1], [2, -1, 1], None, [2, True, 1]]:
        run(cat, f"KAN(width={w!r})", lambda w=w: KAN(w), "width")
    # a correct construction, as a control
    run(cat, "KAN([2, 3, 1], k=5) (valid)", lambda: KAN([2, 3, 1], k=5), "k", check=sane_kan)
    run(cat, "KAN float32 grid_range=(-10, 10) (valid)",
        lambda: KAN([2, 3, 1], grid_range=(-10, 10), dtype=np.float32), "grid_range", check=sane_kan)


# ---------------------------------------------------------------------------
# public calls
# ---------------------------------------------------------------------------

def public_calls():
    cat = "public calls"
    model = small_kan()
    x = np.random.default_rng(0).uniform(-1, 1, (8, 2))
    model.forward(x)
    ms = lambda: model_state(model)                     # noqa: E731
    ref = model.predict(x)
    bad_x = {
        "1-D": np.zeros(2), "3-D": np.zeros((2, 2, 1)), "width 3": np.zeros((4, 3)),
        "NaN": np.array([[np.nan, 0.0]]), "inf": np.array([[np.inf, 0.0]]),
        "strings": np.array([["a", "b"]]), "object": np.array([[1, None]], dtype=object),
        "complex": np.array([[1j, 0]]), "empty": np.zeros((0, 2)), "scalar": 3.0,
        "None": None, "dict": {"a": 1}, "longdouble 1e400": np.array([[np.longdouble("1e400"), 0]]),
        "huge python int": [[10 ** 30, 1]],
    }
    for name, bx in bad_x.items():
        for meth in ("forward", "predict", "__call__"):
            run(cat, f"KAN.{meth}(x {name})", lambda m=meth, bx=bx: getattr(model, m)(bx), "x",
                states=[ms])
        run(cat, f"MLP.predict(x {name})", lambda bx=bx: MLP([2, 3, 1])(bx), "x")
        run(cat, f"update_grid(x {name})", lambda bx=bx: model.update_grid(bx), "x", states=[ms])
    run(cat, "forward(list of lists) (valid)", lambda: model.predict(x.tolist()), "x",
        check=lambda y: np.array_equal(y, ref))
    run(cat, "forward(bool x) (valid)", lambda: model.predict(np.ones((3, 2), bool)), "x",
        check=lambda y: np.allclose(y, model.predict(np.ones((3, 2)))))
    for bs in [0, -1, 2.5, "a", True, None, np.inf]:
        run(cat, f"predict(batch_size={bs!r})", lambda bs=bs: model.predict(x, batch_size=bs),
            "batch_size", states=[ms])
    run(cat, "predict(batch_size=3) (valid)", lambda: model.predict(x, batch_size=3), "batch_size",
        check=lambda y: np.allclose(y, ref, rtol=0, atol=1e-12))
    # backward
    dy = np.ones((8, 1))
    for name, d in {"wrong rows": np.ones((3, 1)), "wrong cols": np.ones((8, 2)),
                    "NaN": np.full((8, 1), np.nan), "inf": np.full((8, 1), np.inf),
                    "strings": np.full((8, 1), "a"), "1-D": np.ones(8), "None": None,
                    "complex": np.ones((8, 1)) * 1j}.items():
        model.forward(x)
        run(cat, f"KAN.backward(dy {name})", lambda d=d: model.backward(d), "dy", states=[ms])
        layer = model.layers[1]
        run(cat, f"KANLayer.backward(dy {name})", lambda d=d, layer=layer: layer.backward(d), "dy",
            states=[ms])
    fresh = small_kan()
    run(cat, "KAN.backward before forward", lambda: fresh.backward(dy), ("forward", "cache"),
        states=[lambda: model_state(fresh)], errors=(RuntimeError,))
    model.forward(x, input_grad=False)
    run(cat, "backward(input_grad=True) after forward(input_grad=False)",
        lambda: model.backward(dy, input_grad=True), ("input_grad",), states=[ms],
        errors=(RuntimeError,))
    mlp = MLP([2, 4, 1], seed=0)
    mst = lambda: model_state(mlp)                      # noqa: E731
    run(cat, "MLP.backward before forward", lambda: mlp.backward(dy), ("forward", "cache"),
        states=[mst], errors=(RuntimeError,))
    mlp.forward(x)
    for name, d in {"1 row after 8": np.ones((1, 1)), "wrong cols": np.ones((8, 3)),
                    "NaN": np.full((8, 1), np.nan), "1-D": np.ones(8), "strings": np.full((8, 1), "a")}.items():
        run(cat, f"MLP.backward(dy {name})", lambda d=d: mlp.backward(d), "dy", states=[mst])
    # loss_and_grad / evaluate targets
    targets = {"NaN": np.full((8, 1), np.nan), "complex": np.ones((8, 1)) + 1j,
               "strings": np.full((8, 1), "a"), "object": np.full((8, 1), None, dtype=object),
               "wrong shape": np.ones((8, 2)), "wrong rows": np.ones((7, 1)), "None": None,
               "3-D": np.ones((8, 1, 1))}
    for name, t in targets.items():
        run(cat, f"loss_and_grad(y {name})", lambda t=t: model.loss_and_grad(x, t), "y", states=[ms])
        run(cat, f"evaluate(y {name})", lambda t=t: model.evaluate(x, t), "y", states=[ms])
        run(cat, f"MLP.loss_and_grad(y {name})", lambda t=t: mlp.loss_and_grad(x, t), "y", states=[mst])
    for name, t in {"float labels 0.5": np.full(8, 0.5), "label out of range": np.full(8, 5),
                    "negative label": np.full(8, -1), "complex labels": np.zeros(8) + 0j,
                    "bool labels": np.zeros(8, bool), "NaN labels": np.full(8, np.nan)}.items():
        m2 = KAN([2, 3, 3], grid=3, seed=0)
        run(cat, f"loss_and_grad(loss='ce', y {name})", lambda t=t, m2=m2: m2.loss_and_grad(x, t, loss="ce"),
            "y", states=[lambda m2=m2: model_state(m2)])
    for arg, v in [("lamb", np.nan), ("lamb", -1.0), ("lamb", "a"), ("lamb_l1", np.nan),
                   ("lamb_entropy", -1.0), ("loss", "foo"), ("loss", 3), ("lamb_coef", np.inf),
                   ("reg_metric", "foo"), ("input_grad", "yes")]:
        run(cat, f"loss_and_grad({arg}={v!r})",
            lambda arg=arg, v=v: model.loss_and_grad(x, np.zeros((8, 1)), **{arg: v}), arg, states=[ms])
    # prune
    model.forward(x)
    for arg, v in [("node_th", np.nan), ("edge_th", np.nan), ("node_th", "a"), ("edge_th", None),
                   ("node_th", np.inf), ("edge_th", -np.inf)]:
        run(cat, f"prune({arg}={v!r})", lambda arg=arg, v=v: model.prune(**{arg: v}), arg, states=[ms])
    # fit arguments
    ds = data()
    for arg, v in [("steps", 2.5), ("steps", -1), ("steps", np.inf), ("steps", "a"), ("steps", True),
                   ("epochs", 0), ("epochs", 1.5), ("batch", 0), ("batch", 2.5), ("batch", "a"),
                   ("grid_update_num", 2.5), ("grid_update_num", -1), ("seed", 1.5), ("seed", "abc"),
                   ("seed", -1), ("lr", np.nan), ("lr", 0.0), ("lr", -1.0), ("lamb", np.nan),
                   ("lamb_l1", -1.0), ("opt", "foo"), ("opt", 3), ("callback", 3), ("grid_eps", np.nan),
                   ("grid_eps", 3.0), ("log", 0), ("log", 1.5), ("loss", "foo"),
                   ("max_loss_growth", 0.5), ("max_loss_growth", np.nan), ("update_grid", "yes"),
                   ("start_grid_update_step", 1.5), ("stop_grid_update_step", "a"),
                   ("weight_decay", -1.0), ("opt_kwargs", "a"), ("verbose", "yes"),
                   ("progress_stream", 3), ("log_every_seconds", 0), ("reg_metric", "foo")]:
        m = small_kan()
        run(cat, f"fit({arg}={v!r})", lambda m=m, arg=arg, v=v: m.fit(ds, steps=3, **{arg: v})
            if arg != "steps" else m.fit(ds, **{arg: v}), arg,
            states=[lambda m=m: model_state(m)])
    m = small_kan()
    other = small_kan()
    run(cat, "fit(opt=Adam(other_model.parameters()))",
        lambda: m.fit(ds, steps=3, opt=nk.Adam(other.parameters())), "opt",
        states=[lambda: model_state(m), lambda: model_state(other)])
    for name, d in {
        "test_input without test_label": {k: v for k, v in ds.items() if k != "test_label"},
        "test_label without test_input": {k: v for k, v in ds.items() if k != "test_input"},
        "complex train_label": dict(ds, train_label=ds["train_label"] + 1j),
        "string train_label": dict(ds, train_label=np.full((40, 1), "a")),
        "object train_label": dict(ds, train_label=np.full((40, 1), None, dtype=object)),
        "NaN train_input": dict(ds, train_input=np.full((40, 2), np.nan)),
        "train rows disagree": dict(ds, train_label=ds["train_label"][:30]),
        "NaN test_label": dict(ds, test_label=np.full((10, 1), np.nan)),
        "list": [1, 2], "missing train_label": {"train_input": ds["train_input"]},
    }.items():
        m = small_kan()
        arg = ("test_label" if "test_label" in name else "test_input" if "test_input" in name
               else "train_label" if "train_label" in name else "train_input" if "train_input" in name
               else "dataset")
        run(cat, f"fit(dataset {name})", lambda m=m, d=d: m.fit(d, steps=3), (arg, "dataset"),
            states=[lambda m=m: model_state(m)])
    # a correct fit with an awkward last batch (1000 rows, batch=333)
    rng = np.random.default_rng(1)
    xb = rng.uniform(-1, 1, (1000, 2))
    big = {"train_input": xb, "train_label": xb[:, :1] * xb[:, 1:]}
    m = small_kan()
    run(cat, "fit(1000 rows, batch=333, epochs=2) (valid)",
        lambda: m.fit(big, epochs=2, batch=333, update_grid=True, grid_update_num=10,
                      stop_grid_update_step=8), "batch",
        check=lambda h: len(h["train_loss"]) == 2 and finite(h["train_loss"]))


# ---------------------------------------------------------------------------
# counts and seeds (outside fit)
# ---------------------------------------------------------------------------

def counts_seeds():
    cat = "counts/seeds"
    model = small_kan()
    ms = lambda: model_state(model)                     # noqa: E731
    x = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    for v in [0, -1, 2.5, "a", True, None, np.inf]:
        run(cat, f"refine(new_grid={v!r})", lambda v=v: model.refine(v), "new_grid", states=[ms])
    for arg, v in [("train_num", 0), ("train_num", 1.5), ("test_num", -1), ("n_var", 0),
                   ("seed", 1.5), ("seed", "abc"), ("seed", -1), ("train_num", "a")]:
        run(cat, f"create_dataset({arg}={v!r})",
            lambda arg=arg, v=v: nk.create_dataset("xy", **{arg: v}), arg)
    for arg, v in [("seed", 1.5), ("seed", "abc"), ("seed", -1), ("seed", np.nan)]:
        run(cat, f"KAN({arg}={v!r}) via counts", lambda arg=arg, v=v: KAN([1, 1], **{arg: v}), arg)
    run(cat, "KAN(seed=None) (valid)", lambda: KAN([2, 2, 1], seed=None), "seed",
        check=sane_kan)
    run(cat, "KAN(seed=np.int64(3)) (valid)", lambda: KAN([2, 2, 1], seed=np.int64(3)), "seed",
        check=lambda m: np.array_equal(m.layers[0].coef, KAN([2, 2, 1], seed=3).layers[0].coef))
    t0 = time.perf_counter()
    run(cat, "refine(200) without samples (bounded time)", lambda: model.refine(200), "new_grid",
        check=lambda m: m.layers[0].G == 200 and time.perf_counter() - t0 < 5)
    for v in [1, 1.5, "a", -3]:
        run(cat, f"update_grid(grid_eps={v!r})" if not isinstance(v, int) or v < 0 else
            "update_grid(x with 1 row)", (lambda v=v: model.update_grid(x, grid_eps=v))
            if not (isinstance(v, int) and v == 1) else (lambda: model.update_grid(x[:1])),
            ("grid_eps", "x", "sample"), states=[ms])


# ---------------------------------------------------------------------------
# numerics and dtype casts
# ---------------------------------------------------------------------------

def numerics():
    cat = "numerics/dtype-cast"
    m32 = small_kan(dtype=np.float32)
    ms = lambda: model_state(m32)                       # noqa: E731
    big = np.full((2, 2), 1e39)
    run(cat, "float32 forward(1e39)", lambda: m32.forward(big), "x", states=[ms])
    run(cat, "float32 predict(1e39)", lambda: m32.predict(big), "x", states=[ms])
    run(cat, "float32 update_grid(1e39)", lambda: m32.update_grid(big), "x", states=[ms])
    x = np.random.default_rng(0).uniform(-1, 1, (8, 2))
    run(cat, "float32 loss_and_grad(y=1e39)", lambda: m32.loss_and_grad(x, np.full((8, 1), 1e39)), "y",
        states=[ms])
    run(cat, "float32 evaluate(y=1e39)", lambda: m32.evaluate(x, np.full((8, 1), 1e39)), "y", states=[ms])
    ds = data()
    for name, d in {"train_input 1e39": dict(ds, train_input=np.full((40, 2), 1e39)),
                    "train_label 1e39": dict(ds, train_label=np.full((40, 1), 1e39)),
                    "test_input 1e39": dict(ds, test_input=np.full((10, 2), 1e39)),
                    "test_label 1e39": dict(ds, test_label=np.full((10, 1), 1e39))}.items():
        m = small_kan(dtype=np.float32)
        run(cat, f"float32 fit({name})", lambda m=m, d=d: m.fit(d, steps=2), name.split()[0],
            states=[lambda m=m: model_state(m)])
    mlp32 = MLP([2, 3, 1], dtype=np.float32)
    run(cat, "float32 MLP predict(1e39)", lambda: mlp32.predict(big), "x")
    run(cat, "float32 MLP loss_and_grad(y=1e39)", lambda: mlp32.loss_and_grad(x, np.full((8, 1), 1e39)),
        "y", states=[lambda: model_state(mlp32)])
    # float64 values that overflow inside the model (but are finite as inputs)
    m64 = small_kan()
    x300 = np.full((4, 2), 1e300) * np.arange(1, 5)[:, None]
    y300 = m64.predict(x300)
    run(cat, "float64 update_grid(1e300)", lambda: m64.update_grid(x300), "x",
        states=[lambda: model_state(m64)], check=lambda _: grids_ok(m64) and np.allclose(
            m64.predict(x300), y300, rtol=1e-6))
    run(cat, "float64 forward(1e300) (output overflow)", lambda: m64.predict(np.full((2, 2), 1e300)),
        "x", check=finite)
    # the divergence guard
    for opt, lr in [("Adam", 1e6), ("SGD", 1e6), ("AdamW", 1e6)]:
        m = small_kan(dtype=np.float32)
        run(cat, f"float32 fit(opt={opt}, lr={lr:g}, 200 steps)",
            lambda m=m, opt=opt, lr=lr: m.fit(ds, steps=200, opt=opt, lr=lr), "lr",
            check=lambda r, m=m: (isinstance(r, FloatingPointError) and all(
                finite(v) for l in m.layers for v in l.params.values())) or (
                isinstance(r, dict) and all(finite(v) for l in m.layers for v in l.params.values())
                and max(r["train_loss"]) < 1e6))
    m = small_kan()
    run(cat, "noise_scale=nan", lambda: KAN([2, 3, 1], noise_scale=np.nan), "noise_scale",
        check=sane_kan)
    run(cat, "float32 KAN(grid_range=(-1e38, 3e38))",
        lambda: KAN([2, 2, 1], grid_range=(-1e38, 3e38), dtype=np.float32), "grid_range", check=sane_kan)
    run(cat, "KAN(grid_range=(0, 1e-320))", lambda: KAN([2, 2, 1], grid_range=(0, 1e-320)),
        "grid_range", check=sane_kan)
    for k in (10, 15, 19, 20, 21, 24, 30):
        run(cat, f"KAN(k={k}) partition of unity", lambda k=k: KAN([2, 2, 1], grid=3, k=k), "k",
            check=sane_kan)


# ---------------------------------------------------------------------------
# grid operations
# ---------------------------------------------------------------------------

def grid_ops():
    cat = "grid operations"
    x = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    model = small_kan()
    ms = lambda: model_state(model)                     # noqa: E731
    run(cat, "update_grid (valid)", lambda: model.update_grid(x), "x",
        check=lambda _: all(np.all(np.diff(l.grid, axis=1) > 0) for l in model.layers))
    for name, bx in {"constant": np.ones((10, 2)), "two rows equal": np.zeros((2, 2)),
                     "tiny spread": 1 + np.arange(20).reshape(10, 2) * 1e-17,
                     "1e-300 spread": np.arange(20).reshape(10, 2) * 1e-300}.items():
        m = small_kan()
        before = m.predict(bx)
        run(cat, f"update_grid({name})", lambda m=m, bx=bx: m.update_grid(bx), "x",
            check=lambda _, m=m, bx=bx, before=before: all(
                finite(l.grid) and np.all(np.diff(l.grid, axis=1) > 0) for l in m.layers)
            and np.allclose(m.predict(bx), before, atol=1e-6),
            states=[])
    model.forward(x)
    run(cat, "refine keeps the original's cache", lambda: (model.refine(6), model.prune())[1], "x",
        check=lambda p: isinstance(p, KAN))
    run(cat, "refine(6, x with NaN)", lambda: model.refine(6, np.full((4, 2), np.nan)), "x", states=[ms])
    run(cat, "refine(6, x width 3)", lambda: model.refine(6, np.zeros((4, 3))), "x", states=[ms])
    for name, y in [("refine(6) (valid)", lambda: model.refine(6)),
                    ("refine(6, x) (valid)", lambda: model.refine(6, x))]:
        run(cat, name, y, "x", check=lambda r: np.allclose(r.predict(x), model.predict(x), atol=0.05))
    for name, bx in {"x 1e200": np.full((5, 2), 1e200) * np.arange(1, 6)[:, None]}.items():
        m = small_kan()
        before = m.layers[0](bx)
        run(cat, f"layer.update_grid({name})", lambda m=m, bx=bx: m.layers[0].update_grid(bx), "x",
            states=[lambda m=m: model_state(m)], check=lambda _, m=m, bx=bx, before=before:
            grids_ok(m) and np.allclose(m.layers[0](bx), before, rtol=1e-6))
    layer = KANLayer(2, 2)
    for v in [np.nan, 2.0, "a"]:
        run(cat, f"layer.update_grid(grid_eps={v!r})", lambda v=v: layer.update_grid(x, grid_eps=v),
            "grid_eps", states=[lambda: model_state(type("M", (), {"width": 0, "layers": [layer]})())])
    run(cat, "bspline.basis(k=-1)", lambda: nk.bspline.basis(x, layer.grid, -1), "k")
    run(cat, "bspline.basis(grid decreasing)", lambda: nk.bspline.basis(x, layer.grid[:, ::-1], 3), "grid")
    run(cat, "bspline.uniform_grid(G=0)", lambda: nk.bspline.uniform_grid(0, 3), "G")
    run(cat, "bspline.uniform_grid(range (1e16, 1e16+4))",
        lambda: nk.bspline.uniform_grid(4, 3, (1e16, 1e16 + 4)), "grid_range",
        check=lambda t: np.all(np.diff(t) > 0))


# ---------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------

def _members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, b in members.items():
            z.writestr(name, b)


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def _same_model(a, b):
    return model_state(a) == model_state(b) if type(a) is type(b) else False


def checkpoints(tmp, flips=60):
    cat = "checkpoint bytes"
    model = small_kan()
    good = os.path.join(tmp, "good.npz")
    model.save(good)
    blob = open(good, "rb").read()
    ref = KAN.load(good)
    p = os.path.join(tmp, "bad.npz")

    def load_bytes(b, cls=KAN):
        with open(p, "wb") as fh:
            fh.write(b)
        return lambda: cls.load(p)

    for cut in sorted(set(np.linspace(0, len(blob) - 1, 25).astype(int))):
        run(cat, f"truncated at {cut}", load_bytes(blob[:cut]), ("bad.npz",))
    rng = np.random.default_rng(0)
    for i in range(flips):
        b = bytearray(blob)
        pos = int(rng.integers(len(b)))
        b[pos] ^= 1 << int(rng.integers(8))
        run(cat, f"byte flip {i} at {pos}", load_bytes(bytes(b)), ("bad.npz",),
            check=lambda m: _same_model(m, ref))
    members = _members(good)

    def crafted(name, mutate, arg=("bad.npz",), cls=KAN, check=None, mem=None):
        mem_members = dict(members)
        mutate(mem_members)
        _write_zip(p, mem_members)
        run(cat, name, lambda: cls.load(p), arg, check=check, mem_limit=mem)

    for dtype_name, value in [("bool", np.ones((2, 3, 6), bool)), ("int", np.ones((2, 3, 6), np.int64)),
                              ("complex", np.ones((2, 3, 6), complex)), ("str", np.full((2, 3, 6), "a")),
                              ("float16", np.ones((2, 3, 6), np.float16)),
                              ("object (pickled)", np.full((2, 3, 6), None, dtype=object))]:
        crafted(f"coef as {dtype_name}", lambda m, v=value: m.__setitem__("layer0.coef.npy", _npy(v)),
                ("layer0.coef", "bad.npz"))
    coef = KAN.load(good).layers[0].coef.copy()
    for name, key, val in [("NaN in coef", "layer0.coef", np.where(coef > 0, np.nan, coef)),
                           ("inf in w_b", "layer0.w_b", np.full((2, 3), np.inf)),
                           ("NaN in mask", "layer0.mask", np.full((2, 3), np.nan)),
                           ("mask 0.5", "layer0.mask", np.full((2, 3), 0.5)),
                           ("NaN in grid", "layer0.grid", np.full((2, 10), np.nan)),
                           ("grid decreasing", "layer0.grid", -np.tile(np.arange(10.0), (2, 1))),
                           ("w_s wrong shape", "layer0.w_s", np.ones((3, 2))),
                           ("W of MLP in KAN", "layer0.W", np.ones((2, 3))),
                           ("0-d coef", "layer0.coef", np.array(1.0)),
                           ("fortran-order coef", "layer0.coef", np.asfortranarray(coef))]:
        crafted(name, lambda m, key=key, val=val: m.__setitem__(key + ".npy", _npy(val)),
                (key, "bad.npz"), check=(lambda r: _same_model(r, ref)) if "fortran" in name else None)
    # float32 checkpoint whose grid spans +-1e300
    m32 = small_kan(dtype=np.float32)
    p32 = os.path.join(tmp, "m32.npz")
    m32.save(p32)
    mem32 = _members(p32)
    mem32["layer0.grid.npy"] = _npy(np.tile(np.linspace(-1e300, 1e300, 10), (2, 1)))
    _write_zip(p, mem32)
    run(cat, "float32 checkpoint with grid +-1e300", lambda: KAN.load(p), ("layer0.grid", "bad.npz"))
    # huge declared shapes, config sizes
    header = b"\x93NUMPY\x01\x00" + b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 8), }"
    header += b" " * (63 - len(header) % 64) + b"\n"
    crafted("npy header declares (1e5, 1e5, 8)",
            lambda m: m.__setitem__("layer0.coef.npy", header + b"\0" * 64), ("layer0.coef", "bad.npz"),
            mem=50e6)
    for name, change in [("config width [2, 1000000, 1]", {"width": [2, 1000000, 1]}),
                         ("config grid 10**8", {"grid": 10 ** 8}),
                         ("config k 10**6", {"k": 10 ** 6}),
                         ("config width 2000 layers", {"width": [2] * 2000}),
                         ("config dtype complex", {"dtype": "complex128"}),
                         ("config extra key", {"evil": 1}),
                         ("config seed 'abc'", {"seed": "abc"}),
                         ("config grid_range NaN", {"grid_range": [float("nan"), 1.0]})]:
        def mut(m, change=change):
            cfg = json.loads(str(np.load(io.BytesIO(m["config.npy"]))))
            cfg.update(change)
            m["config.npy"] = _npy(np.array(json.dumps(cfg)))
        crafted(name, mut, ("config", "bad.npz", *change), mem=50e6)
    crafted("config not JSON", lambda m: m.__setitem__("config.npy", _npy(np.array("{nope"))), "config")
    crafted("config a JSON list", lambda m: m.__setitem__("config.npy", _npy(np.array("[1, 2]"))), "config")
    crafted("config as int array", lambda m: m.__setitem__("config.npy", _npy(np.arange(3))), "config")
    crafted("version 99", lambda m: m.__setitem__("version.npy", _npy(np.array(99))), "version")
    crafted("version as string", lambda m: m.__setitem__("version.npy", _npy(np.array("1"))), "version")
    crafted("kind MLP", lambda m: m.__setitem__("kind.npy", _npy(np.array("MLP"))), "MLP")
    crafted("format foreign", lambda m: m.__setitem__("format.npy", _npy(np.array("x"))), "numpykan")
    crafted("non-.npy member", lambda m: m.__setitem__("readme.txt", b"hello"), ("readme.txt",))
    crafted("member without .npy suffix", lambda m: m.__setitem__("layer0.coef", b"\x93NUMPY"), ("layer0.coef",))
    crafted("member not npy content", lambda m: m.__setitem__("layer0.coef.npy", b"garbage" * 10),
            ("layer0.coef",))
    crafted("directory member", lambda m: m.__setitem__("dir/", b""), ("dir/",))
    crafted("path traversal member", lambda m: m.__setitem__("../evil.npy", _npy(np.ones(2))),
            ("../evil.npy", "evil"))
    crafted("missing layer1.grid", lambda m: m.pop("layer1.grid.npy"), ("layer1.grid",))
    # zip features: encrypted flag, unknown compression
    for name, patch in [("encrypted flag", "enc"), ("compression method 99", "comp"),
                        ("deflate (valid, np.savez_compressed)", None)]:
        if patch is None:
            _write_zip(p, members, zipfile.ZIP_DEFLATED)
            run(cat, name, lambda: KAN.load(p), "bad.npz", check=lambda r: _same_model(r, ref))
            continue
        b = bytearray(blob)
        for sig, off_flag, off_comp in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
            start = 0
            while True:
                i = b.find(sig, start)
                if i < 0:
                    break
                if patch == "enc":
                    b[i + off_flag] |= 1
                else:
                    struct.pack_into("<H", b, i + off_comp, 99)
                start = i + 4
        run(cat, name, load_bytes(bytes(b)), ("bad.npz",))
    # duplicate member names, zip64 lies, empty zip
    _write_zip(p, {})
    run(cat, "empty zip", lambda: KAN.load(p), ("bad.npz",))
    run(cat, "not a zip", load_bytes(b"hello world" * 10), ("bad.npz",))
    run(cat, "pickle file", load_bytes(b"\x80\x04K\x01."), ("bad.npz",))
    # MLP checkpoints
    mlp = MLP([2, 3, 1])
    pm = os.path.join(tmp, "mlp.npz")
    mlp.save(pm)
    mm = _members(pm)
    for name, key, val in [("MLP W NaN", "layer0.W", np.full((2, 3), np.nan)),
                           ("MLP b int", "layer0.b", np.ones(3, np.int64)),
                           ("MLP W complex", "layer0.W", np.ones((2, 3), complex))]:
        m2 = dict(mm)
        m2[key + ".npy"] = _npy(val)
        _write_zip(p, m2)
        run(cat, name, lambda: MLP.load(p), (key,))
    # paths: FIFO, directory, missing, symlink to a directory
    fifo = os.path.join(tmp, "fifo.npz")
    os.mkfifo(fifo)
    result = {}

    def load_fifo():
        try:
            result["r"] = KAN.load(fifo)
        except BaseException as e:        # noqa: BLE001
            result["e"] = e

    t = threading.Thread(target=load_fifo, daemon=True)
    t.start()
    t.join(3)
    if t.is_alive():
        record(cat, "load(FIFO)", "silent", "blocked for 3 s")
        with open(fifo, "wb"):            # unblock the reader
            pass
        t.join(3)
    else:
        e = result.get("e")
        ok = isinstance(e, (ValueError, TypeError)) and "fifo" in str(e).lower()
        record(cat, "load(FIFO)", "named" if ok else "raw", repr(e)[:120])
    result.clear()
    fifo2 = os.path.join(tmp, "fifo2.npz")
    os.mkfifo(fifo2)
    t = threading.Thread(target=lambda: result.setdefault("e", _catch(lambda: model.save(fifo2))),
                         daemon=True)
    t.start()
    t.join(3)
    if t.is_alive():
        record(cat, "save(FIFO)", "silent", "blocked for 3 s")
        with open(fifo2, "rb"):
            pass
    else:
        e = result.get("e")
        ok = isinstance(e, (ValueError, TypeError)) and "fifo2" in str(e).lower()
        record(cat, "save(FIFO)", "named" if ok else "raw", repr(e)[:120])
    d = os.path.join(tmp, "dir.npz")
    os.mkdir(d)
    run(cat, "load(directory)", lambda: KAN.load(d), "dir.npz")
    run(cat, "save(directory)", lambda: model.save(d), "dir.npz")
    run(cat, "load(missing)", lambda: KAN.load(os.path.join(tmp, "none.npz")), "none.npz",
        errors=(FileNotFoundError,))
    run(cat, "load(path=3)", lambda: KAN.load(3.5), "path")
    # a failed save leaves the old file; two threads saving to one path
    target = os.path.join(tmp, "concurrent.npz")
    model.save(target)
    fs = lambda: file_state(target)                     # noqa: E731

    def failing():
        bad = small_kan()
        bad.layers[0].params["coef"] = np.full((2, 3, 6), None, dtype=object)
        return bad.save(target)
    run(cat, "save of an unsavable model keeps the old file", failing, ("coef", "object"), states=[fs])
    models = [KAN([2, 3, 1], grid=g, seed=g) for g in (3, 20)]
    errors, corrupt, stop = [], [0], threading.Event()

    def writer(m):
        for _ in range(25):
            try:
                m.save(target)
            except Exception as e:        # noqa: BLE001
                errors.append(e)

    def reader():
        while not stop.is_set():
            try:
                KAN.load(target)
            except FileNotFoundError:
                corrupt[0] += 1
            except ValueError:
                corrupt[0] += 1
    threads = [threading.Thread(target=writer, args=(m,)) for m in models]
    rt = threading.Thread(target=reader)
    rt.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    rt.join()
    leftovers = [f for f in os.listdir(tmp) if f.startswith("concurrent") and f != "concurrent.npz"]
    outcome = "correct" if not errors and not corrupt[0] and not leftovers else "raw"
    record(cat, "two threads save to one path, a reader loads", outcome,
           f"{len(errors)} save errors, {corrupt[0]} corrupt reads, leftovers {leftovers}"
           f"{': ' + repr(errors[0])[:80] if errors else ''}")
    # round trips (valid)
    for dtype in (np.float64, np.float32):
        m = small_kan(dtype=dtype)
        m.layers[0].mask[0, 0] = 0
        q = os.path.join(tmp, f"rt_{np.dtype(dtype).name}.npz")
        m.save(q)
        run(cat, f"round trip {np.dtype(dtype).name} (valid)", lambda q=q: KAN.load(q), "path",
            check=lambda r, m=m: _same_model(r, m))


def _catch(fn):
    try:
        fn()
    except BaseException as e:            # noqa: BLE001
        return e
    return None


# ---------------------------------------------------------------------------
# data loaders
# ---------------------------------------------------------------------------

def data_loaders(tmp):
    cat = "data loaders"
    from numpykan.data.images import load_image
    from numpykan.data.mnist import read_idx

    def idx(magic, dims, payload, gz=True, name="f.idx"):
        raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
        path = os.path.join(tmp, name + (".gz" if gz else ""))
        if gz:
            with gzip.open(path, "wb", compresslevel=1) as fh:
                fh.write(raw)
        else:
            with open(path, "wb") as fh:
                fh.write(raw)
        return path

    run(cat, "read_idx labels (valid)", lambda: read_idx(idx(2049, [5], bytes(range(5)))), "f.idx",
        check=lambda a: a.tolist() == [0, 1, 2, 3, 4])
    run(cat, "read_idx images (valid)", lambda: read_idx(idx(2051, [2, 3, 4], bytes(24), gz=False)),
        "f.idx", check=lambda a: a.shape == (2, 3, 4))
    for name, args in {
        "labels: n larger than data": (2049, [10], bytes(5)),
        "labels: n smaller than data": (2049, [3], bytes(5)),
        "images: rows*cols lie": (2051, [2, 3, 4], bytes(20)),
        "images: n = 2**31": (2051, [2 ** 31, 28, 28], bytes(100)),
        "images: header cut": (2051, [2], b""),
        "magic 2050": (2050, [5], bytes(5)),
        "magic 0": (0, [0], b""),
        "empty labels (n = 0)": (2049, [0], b""),
    }.items():
        for gz in (True, False):
            run(cat, f"read_idx({name}, gz={gz})", lambda args=args, gz=gz: read_idx(idx(*args, gz=gz)),
                "f.idx", mem_limit=50e6, check=(lambda a: a.shape == (0,)) if "n = 0" in name else None)
    # a gzip bomb: 5 labels declared, 200 MB of data
    bomb = os.path.join(tmp, "bomb-labels.gz")
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(struct.pack(">II", 2049, 5))
        chunk = bytes(1 << 20)
        for _ in range(200):
            fh.write(chunk)
    run(cat, "read_idx(gzip bomb: 5 labels, 200 MB)", lambda: read_idx(bomb), "bomb-labels",
        mem_limit=50e6)
    for name, content in {"garbage": b"garbage" * 20, "empty": b"",
                          "PNG signature then garbage": b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
                          "truncated real PNG": None}.items():
        path = os.path.join(tmp, "img.png")
        if content is None:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            plt.imsave(path, np.random.default_rng(0).uniform(size=(16, 16)))
            content = open(path, "rb").read()[:60]
        with open(path, "wb") as fh:
            fh.write(content)
        run(cat, f"load_image(PNG {name})", lambda path=path: load_image(path), "img.png")
    for name, arr in {"NaN floats": np.full((4, 4), np.nan), "object": np.full((4, 4), None, object),
                      "complex": np.ones((4, 4), complex), "4-D": np.ones((2, 2, 2, 2)),
                      "values > 1": np.full((4, 4), 3.0), "int64": np.ones((4, 4), np.int64),
                      "empty": np.zeros((0, 4))}.items():
        path = os.path.join(tmp, "img.npy")
        np.save(path, arr, allow_pickle=True)
        run(cat, f"load_image(npy {name})", lambda path=path: load_image(path), "img.npy")
    run(cat, "load_image(.bmp)", lambda: load_image(os.path.join(tmp, "x.bmp")), ("x.bmp", ".bmp"))
    good_img = os.path.join(tmp, "good.npy")
    np.save(good_img, np.full((4, 4), 0.5))
    run(cat, "load_image(size=0)", lambda: load_image(good_img, size=0), "size")
    run(cat, "load_image(size=2) (valid)", lambda: load_image(good_img, size=2), "size",
        check=lambda a: a.shape == (2, 2) and np.allclose(a, 0.5))
    # create_dataset
    for name, kw in {"f returns NaN": dict(f=lambda x: x[:, 0] * np.nan),
                     "f returns strings": dict(f=lambda x: np.full(len(x), "a")),
                     "f returns complex": dict(f=lambda x: x[:, 0] + 1j),
                     "f wrong rows": dict(f=lambda x: x[:3, 0]),
                     "ranges NaN": dict(f="xy", ranges=(np.nan, 1)),
                     "ranges reversed": dict(f="xy", ranges=(1, -1)),
                     "f unknown": dict(f="nope"), "f=3": dict(f=3),
                     "dtype int": dict(f="xy", dtype=int)}.items():
        arg = ("f:", "f must", "f returned") if name.startswith("f") else name.split()[0]
        run(cat, f"create_dataset({name})", lambda kw=kw: nk.create_dataset(**{"n_var": 2, **kw}), arg)


# ---------------------------------------------------------------------------
# optimizers
# ---------------------------------------------------------------------------

def optimizers():
    cat = "optimizers"
    model = small_kan()
    P = model.parameters()
    for cls, kw, arg in [(nk.Adam, dict(lr=-1), "lr"), (nk.Adam, dict(lr=np.nan), "lr"),
                         (nk.Adam, dict(lr="a"), "lr"), (nk.Adam, dict(lr=np.inf), "lr"),
                         (nk.Adam, dict(betas=(1.0, 0.9)), "betas"), (nk.Adam, dict(betas=(0.9,)), "betas"),
                         (nk.Adam, dict(betas=(np.nan, 0.9)), "betas"), (nk.Adam, dict(betas="ab"), "betas"),
                         (nk.Adam, dict(eps=0), "eps"), (nk.Adam, dict(eps=np.nan), "eps"),
                         (nk.Adam, dict(weight_decay=-1), "weight_decay"),
                         (nk.AdamW, dict(weight_decay=np.nan), "weight_decay"),
                         (nk.SGD, dict(momentum=1.0), "momentum"), (nk.SGD, dict(momentum=-0.1), "momentum"),
                         (nk.SGD, dict(lr=True), "lr"), (nk.SGD, dict(momentum="a"), "momentum")]:
        run(cat, f"{cls.__name__}({kw})", lambda cls=cls, kw=kw: cls(P, **kw), arg)
    for name, par in {"dict": {"a": 1}, "string": "abc", "list of arrays": [np.ones(3)],
                      "int params": [({"w": np.ones(3, int)}, {"w": np.ones(3)})],
                      "None": None}.items():
        run(cat, f"Adam(parameters={name})", lambda par=par: nk.Adam(par), ("parameters", "params"))
    from numpykan.training.lbfgs import LBFGS
    for kw, arg in [(dict(lr=-1), "lr"), (dict(max_iter=0), "max_iter"), (dict(max_iter=2.5), "max_iter"),
                    (dict(history_size=0), "history_size")]:
        run(cat, f"LBFGS({kw})", lambda kw=kw: LBFGS(P, **kw), arg)
    # a step on bad gradients
    x = np.random.default_rng(0).uniform(-1, 1, (8, 2))
    for name, grad in {"NaN grads": np.nan, "inf grads": np.inf}.items():
        m = small_kan()
        opt = nk.Adam(m.parameters())
        m.loss_and_grad(x, np.zeros((8, 1)))
        opt.step()
        for layer in m.layers:
            layer.grads["coef"][...] = grad
        run(cat, f"Adam.step({name})", opt.step, ("grads", "coef"),
            states=[lambda m=m: model_state(m), lambda opt=opt: opt_state(opt)])
    m = small_kan()
    opt = nk.Adam(m.parameters())
    m.layers[0].grads["coef"] = np.ones((3, 3))
    run(cat, "Adam.step(grad wrong shape)", opt.step, "grads",
        states=[lambda: model_state(m), lambda: opt_state(opt)])
    # load_state_dict
    m = small_kan()
    opt = nk.Adam(m.parameters())
    m.loss_and_grad(x, np.zeros((8, 1)))
    opt.step()
    sd = opt.state_dict()
    os_ = lambda: opt_state(opt)                        # noqa: E731
    run(cat, "Adam.load_state_dict(SGD's)", lambda: opt.load_state_dict(nk.SGD(m.parameters()).state_dict()),
        ("state_dict", "SGD", "Adam"), states=[os_])
    bad = {k: v for k, v in sd.items()}
    bad["lr"] = np.nan
    run(cat, "Adam.load_state_dict(lr NaN)", lambda: opt.load_state_dict(bad), "lr", states=[os_])
    run(cat, "Adam.load_state_dict(3)", lambda: opt.load_state_dict(3), "state_dict", states=[os_])
    # SGD with momentum in fit: a refused step keeps no momentum
    m = small_kan()
    sgd = nk.SGD(m.parameters(), lr=1e9, momentum=0.9)
    ds = data()
    before_m, before_o = model_state(m), opt_state(sgd)
    try:
        m.fit(ds, steps=20, opt=sgd, update_grid=False)
        record(cat, "fit(SGD momentum, lr=1e9)", "silent", "no stop")
    except FloatingPointError:
        ok = all(finite(v) for l in m.layers for v in l.params.values()) and all(
            finite(v) for st in sgd.state.values() for v in st.values())
        record(cat, "fit(SGD momentum, lr=1e9)", "correct" if ok else "silent",
               "" if ok else "non-finite state kept")
    except Exception as e:                # noqa: BLE001
        record(cat, "fit(SGD momentum, lr=1e9)", "raw", repr(e)[:120])
    del before_m, before_o


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="list every case not named/correct")
    ap.add_argument("--all", action="store_true", help="list every case")
    ap.add_argument("--flips", type=int, default=200, help="random byte flips of a checkpoint")
    args = ap.parse_args(argv)
    np.seterr(all="ignore")
    import warnings
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        for part in (constructors, public_calls, counts_seeds, numerics, grid_ops):
            part()
        checkpoints(tmp, args.flips)
        data_loaders(tmp)
        optimizers()
    counts = defaultdict(Counter)
    for cat, name, outcome, note in RESULTS:
        counts[cat][outcome] += 1
        if args.all or (args.verbose and outcome in ("raw", "silent")):
            print(f"  [{outcome:7s}] {cat}: {name}  {note}")
    kinds = ("named", "correct", "raw", "silent")
    print(f"{'category':22s} {'cases':>6s} " + " ".join(f"{k:>8s}" for k in kinds))
    total = Counter()
    for cat in counts:
        c = counts[cat]
        total.update(c)
        print(f"{cat:22s} {sum(c.values()):6d} " + " ".join(f"{c[k]:8d}" for k in kinds))
    print(f"{'total':22s} {sum(total.values()):6d} " + " ".join(f"{total[k]:8d}" for k in kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
