"""Bad input the way an attacker would try it, over every public entry point and checkpoint bytes.

Each property draws a value (a count, a scalar, an array, a file's bytes) and
asserts one of two outcomes: a ``ValueError``/``TypeError`` whose message
names the argument, with the model, the optimizer state and the files
unchanged bit for bit; or a correct result (checked against what the call
must give). ``benchmarks/adversarial_counts.py`` runs the same kinds of
cases as a census and prints the counts per category.
"""

import io
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpykan as nk
from numpykan import KAN, MLP
from numpykan.data.mnist import read_idx
from numpykan.models.layer import KANLayer
from numpykan.validation import MAX_DEGREE

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------------------
# fingerprints and the one assertion
# ---------------------------------------------------------------------------


def model_bytes(model):
    """Every array an operation could change (parameters, gradients, grids, masks) and the caches' identities."""
    parts = [repr(model.width).encode()]
    for layer in model.layers:
        for d in (layer.params, layer.grads):
            for key in sorted(d):
                parts.append(b"None" if d[key] is None else d[key].tobytes())
        for name in ("grid", "mask"):
            a = getattr(layer, name, None)
            if a is not None:
                parts.append(a.tobytes())
        parts.append(str(id(layer.cache)).encode())
    return b"".join(parts)


def opt_bytes(opt):
    parts = [repr((opt.lr, sorted(opt.state, key=repr))).encode()]
    for key in sorted(opt.state, key=repr):
        for name, v in sorted(opt.state[key].items()):
            parts.append(np.asarray(v).tobytes())
    return b"".join(parts)


def file_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def refused(call, names, *states):
    """``call()`` raises ValueError/TypeError naming one of ``names``; every state is unchanged."""
    names = (names,) if isinstance(names, str) else names
    before = [s() for s in states]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert any(n.lower() in str(info.value).lower() for n in names), \
        f"{type(info.value).__name__}: {info.value} does not name {names}"
    assert [s() for s in states] == before, "state changed by a refused call"
    return info.value


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

#: values that are not ints: fractions, non-finite floats, strings, None, bools, containers
not_int = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not float(v).is_integer()),
    st.sampled_from([np.inf, -np.inf, np.nan, 2.0, np.float64(3.0)]),
    st.text(max_size=3), st.none(), st.booleans(),
    st.lists(st.integers(0, 3), min_size=3, max_size=3),     # not one entry per layer of a 2-layer KAN
    st.complex_numbers(allow_nan=False, max_magnitude=10),
)
#: values that are not finite reals
not_real = st.one_of(
    st.sampled_from([np.nan, np.inf, -np.inf, np.float32("nan")]),
    st.text(max_size=3), st.none(), st.booleans(), st.complex_numbers(max_magnitude=10),
    st.lists(st.floats(), max_size=2),
)
_specials = st.sampled_from([np.nan, np.inf, -np.inf, 1e39, -1e39, 1e308, 0.0, -0.0, 5e-324])


@st.composite
def arrays(draw, rows=(0, 6), cols=(1, 4), dims=(0, 3)):
    """An array of random shape, dtype kind and values, some of them special (NaN, inf, 1e39)."""
    ndim = draw(st.integers(*dims))
    shape = tuple(draw(st.integers(*rows)) if i == 0 else draw(st.integers(*cols))
                  for i in range(ndim))
    kind = draw(st.sampled_from(["f8", "f4", "i8", "u1", "b", "c16", "U", "O", "longdouble"]))
    n = int(np.prod(shape)) if shape else 1
    values = np.array(draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n)), dtype=np.float64)
    if n and draw(st.booleans()):
        values[draw(st.integers(0, n - 1))] = draw(_specials)
    values = values.reshape(shape)
    with np.errstate(all="ignore"):
        if kind == "U":
            return values.astype(str)
        if kind == "O":
            return values.astype(object)
        if kind == "longdouble":
            return values.astype(np.longdouble) * (np.longdouble(10) ** 400 if draw(st.booleans()) else 1)
        if kind in ("i8", "u1"):
            return np.nan_to_num(values, nan=0, posinf=0, neginf=0).clip(0, 3).astype(kind)
        if kind == "b":
            return np.nan_to_num(values) > 0
        return values.astype(kind)


def valid_for(a, shape_ok, dtype):
    """True if ``a`` is what a model of ``dtype`` accepts: real numeric, ``shape_ok``, finite after the cast."""
    if a.dtype.kind not in "fiub" or not shape_ok(a.shape):
        return False
    with np.errstate(all="ignore"):
        return bool(np.isfinite(a.astype(dtype)).all())


def kan(dtype=np.float64, seed=0):
    return KAN([2, 3, 1], grid=3, k=3, seed=seed, dtype=dtype)


_X = np.random.default_rng(0).uniform(-1, 1, (8, 2))
_DS = {"train_input": _X, "train_label": _X[:, :1] * _X[:, 1:],
       "test_input": _X[:4], "test_label": _X[:4, :1] * _X[:4, 1:]}

# ---------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------


def _sane(model):
    for layer in model.layers:
        g = layer.grid
        assert np.isfinite(g).all() and np.all(np.diff(g, axis=1) > 0)
        assert all(np.isfinite(v).all() for v in layer.params.values())
        lo, hi = g[0, layer.k], g[0, -layer.k - 1]
        x = (lo + (hi - lo) * np.linspace(0.01, 0.99, 30))[:, None].repeat(layer.in_dim, 1)
        B = nk.bspline.basis(x.astype(layer.dtype), g, layer.k)
        np.testing.assert_allclose(B.sum(axis=2), 1.0, atol=1e-4)   # partition of unity


@FAST
@given(k=st.one_of(st.integers(-3, 40), not_int))
def test_degree_is_an_int_that_keeps_partition_of_unity(k):
    ok = isinstance(k, int) and not isinstance(k, bool) and 0 <= k <= MAX_DEGREE
    if ok:
        _sane(KAN([2, 2, 1], grid=3, k=k))
    else:
        refused(lambda: KAN([2, 2, 1], grid=3, k=k), "k")


@FAST
@given(lo=st.one_of(st.floats(allow_nan=True, allow_infinity=True), _specials),
       span=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1, 1e308), _specials),
       dtype=st.sampled_from([np.float64, np.float32]), G=st.integers(1, 50))
def test_grid_range_gives_finite_distinct_knots_or_a_named_error(lo, span, dtype, G):
    rng = (lo, lo + span) if np.isfinite(lo) and np.isfinite(span) else (lo, span)
    try:
        model = KAN([2, 2, 1], grid=G, k=3, grid_range=rng, dtype=dtype)
    except (ValueError, TypeError) as err:
        assert "grid_range" in str(err)
        return
    _sane(model)


@FAST
@given(arg=st.sampled_from(["seed", "noise_scale", "grid", "grid_eps", "scale_base_sigma"]),
       value=st.one_of(not_int, not_real, st.integers(-5, -1)))
def test_constructor_scalars_named(arg, value):
    valid = {"seed": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0 or v is None,
             "noise_scale": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
             and np.isfinite(v) and v >= 0,
             "grid": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
             "grid_eps": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
             and 0 <= v <= 1,
             "scale_base_sigma": lambda v: v is None or (isinstance(v, (int, float)) and not
                                                         isinstance(v, bool) and np.isfinite(v)
                                                         and v >= 0)}[arg]
    if valid(value):
        _sane(KAN([2, 2, 1], **{arg: value}))
    else:
        refused(lambda: KAN([2, 2, 1], **{arg: value}), arg)
        if arg in ("seed", "noise_scale", "grid"):
            refused(lambda: KANLayer(2, 2, **{arg: value}), arg)
        if arg == "seed":
            refused(lambda: MLP([2, 2, 1], seed=value), "seed")


# ---------------------------------------------------------------------------
# public calls: inputs, targets, upstream gradients, counts
# ---------------------------------------------------------------------------


@FAST
@given(x=arrays(), dtype=st.sampled_from([np.float64, np.float32]),
       how=st.sampled_from(["forward", "predict", "call", "evaluate", "update_grid", "mlp"]))
def test_inputs_cast_first_then_checked(x, dtype, how):
    model = MLP([2, 3, 1], dtype=dtype) if how == "mlp" else kan(dtype)
    model.forward(_X.astype(dtype))
    state = lambda: model_bytes(model)                          # noqa: E731
    rows = 2 if how == "update_grid" else 1
    ok = valid_for(x, lambda s: len(s) == 2 and s[1] == 2 and s[0] >= rows, dtype)
    calls = {"forward": lambda: model.forward(x, cache=False), "predict": lambda: model.predict(x),
             "call": lambda: model(x), "mlp": lambda: model(x),
             "evaluate": lambda: model.evaluate(x, np.zeros((x.shape[0] if x.ndim else 1, 1))),
             "update_grid": lambda: model.update_grid(x)}
    if not ok:
        refused(calls[how], "x", state)
        return
    if how == "update_grid":
        xc = x.astype(dtype)
        span = float(np.max(xc.max(axis=0).astype(np.float64) - xc.min(axis=0)))
        if span > np.finfo(dtype).max / 16:       # the knots (span + 2k intervals) may overflow
            before = state()
            try:
                calls[how]()                            # fits, or is refused by name and undone
            except ValueError as err:
                assert "x" in str(err) and state() == before, err
            return
    result = calls[how]()
    if how in ("forward", "predict", "call", "mlp"):
        assert result.dtype == dtype and np.isfinite(result).all()
        np.testing.assert_array_equal(result, model.predict(x.astype(dtype)))


@FAST
@given(y=arrays(rows=(8, 8)), loss=st.sampled_from(["mse", "ce"]),
       dtype=st.sampled_from([np.float64, np.float32]), which=st.sampled_from(["kan", "mlp"]))
def test_targets_cast_first_then_checked(y, loss, dtype, which):
    out = 3 if loss == "ce" else 1
    model = KAN([2, 3, out], grid=3, dtype=dtype) if which == "kan" else MLP([2, 3, out], dtype=dtype)
    state = lambda: model_bytes(model)                          # noqa: E731
    x = _X.astype(dtype)
    if loss == "mse":
        ok = valid_for(y, lambda s: s in ((8, 1), (8,)), dtype)
    else:
        with np.errstate(all="ignore"):
            y_ = y.reshape(-1) if y.ndim == 2 and y.shape[1:] == (1,) else y
            ok = (y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.isfinite(y).all()
                                            and np.all(y == np.round(y)))) \
                and y_.shape == (8,) and y_.min() >= 0 and y_.max() < out
    if not ok:
        refused(lambda: model.loss_and_grad(x, y, loss=loss), "y", state)
        refused(lambda: model.evaluate(x, y, loss=loss), "y", state)
        return
    value = model.loss_and_grad(x, y, loss=loss)
    assert np.isfinite(value)


@FAST
@given(dy=arrays(rows=(0, 9), cols=(1, 2)), which=st.sampled_from(["kan", "layer", "mlp"]))
def test_backward_upstream_checked_before_any_gradient(dy, which):
    model = MLP([2, 3, 1]) if which == "mlp" else kan()
    model.forward(_X)
    target = model.layers[-1] if which == "layer" else model
    state = lambda: model_bytes(model)                          # noqa: E731
    if not valid_for(dy, lambda s: s == (8, 1), np.float64):
        refused(lambda: target.backward(dy), "dy", state)
        return
    dx = target.backward(dy)
    assert np.isfinite(dx).all()


def test_backward_before_forward_raises_runtime_error_before_any_write():
    for model in (kan(), MLP([2, 3, 1])):
        before = model_bytes(model)
        with pytest.raises(RuntimeError, match="forward"):
            model.backward(np.ones((8, 1)))
        assert model_bytes(model) == before


@FAST
@given(bs=st.one_of(not_int, st.integers(-3, 0), st.integers(1, 10)))
def test_predict_batch_size(bs):
    model = kan()
    if isinstance(bs, int) and not isinstance(bs, bool) and bs >= 1:
        np.testing.assert_allclose(model.predict(_X, batch_size=bs), model.predict(_X), atol=1e-14)
    else:
        refused(lambda: model.predict(_X, batch_size=bs), "batch_size", lambda: model_bytes(model))


_FIT_COUNTS = {"steps": 0, "epochs": 1, "batch": 1, "grid_update_num": 0, "seed": 0, "log": 1}


@settings(max_examples=30, deadline=None)
@given(arg=st.sampled_from(sorted(_FIT_COUNTS)), value=st.one_of(not_int, st.integers(-5, 0)))
def test_fit_counts_are_ints_at_or_above_their_minimum(arg, value):
    model = kan()
    opt = nk.Adam(model.parameters())
    minimum = _FIT_COUNTS[arg]
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return                                                   # a valid count: tested elsewhere
    if arg == "batch" and (value is None or (isinstance(value, int) and value == -1)):
        return                                                   # -1 or None: the whole training set
    if value is None and arg in ("seed", "steps", "epochs"):
        return                                                   # None: fresh entropy, the default
    kw = {arg: value} if arg in ("steps", "epochs") else {arg: value, "steps": 2}
    refused(lambda: model.fit(_DS, opt=opt, **kw), arg, lambda: model_bytes(model),
            lambda: opt_bytes(opt))


@FAST
@given(arg=st.sampled_from(["lamb", "lamb_l1", "lamb_entropy", "lr", "grid_eps",
                            "max_loss_growth", "weight_decay"]),
       value=st.one_of(not_real, st.floats(-1e3, -1e-3)))
def test_fit_scalars_named_and_nothing_changes(arg, value):
    if value is None and arg in ("lr", "grid_eps", "max_loss_growth", "weight_decay"):
        return                                                   # None: the default
    model = kan()
    refused(lambda: model.fit(_DS, steps=2, **{arg: value}), arg, lambda: model_bytes(model))


@pytest.mark.parametrize("case", ["test_input only", "test_label only", "complex label", "string label",
                                  "object label", "float32 overflow", "other model's optimizer"])
def test_fit_datasets_and_optimizers_refused_before_any_change(case):
    model = kan(np.float32)
    other = kan(np.float32, seed=1)
    ds, kw, name = dict(_DS), {}, "train_label"
    if case == "test_input only":
        del ds["test_label"]
        name = "test_label"
    elif case == "test_label only":
        del ds["test_input"]
        name = "test_input"
    elif case == "complex label":
        ds["train_label"] = ds["train_label"] + 1j
    elif case == "string label":
        ds["train_label"] = ds["train_label"].astype(str)
    elif case == "object label":
        ds["train_label"] = ds["train_label"].astype(object)
    elif case == "float32 overflow":
        ds["train_input"] = np.full((8, 2), 1e39)
        name = "train_input"
    else:
        kw["opt"], name = nk.Adam(other.parameters()), "opt"
    refused(lambda: model.fit(ds, steps=3, **kw), name, lambda: model_bytes(model),
            lambda: model_bytes(other))


def test_divergent_float32_adam_is_stopped_with_finite_parameters():
    model = kan(np.float32)
    opt = nk.Adam(model.parameters(), lr=1e6)
    with pytest.raises(FloatingPointError, match="step"):
        model.fit(_DS, steps=300, opt=opt, update_grid=False)
    for layer in model.layers:
        assert all(np.isfinite(v).all() for v in layer.params.values())
    assert all(np.isfinite(v).all() for s in opt.state.values() for v in s.values())


@FAST
@given(arg=st.sampled_from(["node_th", "edge_th"]), value=not_real)
def test_prune_thresholds(arg, value):
    model = kan()
    model.forward(_X)
    refused(lambda: model.prune(**{arg: value}), arg, lambda: model_bytes(model))


@FAST
@given(new_grid=st.one_of(not_int, st.integers(-3, 0)))
def test_refine_new_grid(new_grid):
    model = kan()
    refused(lambda: model.refine(new_grid), "new_grid", lambda: model_bytes(model))


# ---------------------------------------------------------------------------
# optimizers
# ---------------------------------------------------------------------------


@FAST
@given(cls=st.sampled_from(["SGD", "Adam", "AdamW"]),
       arg=st.sampled_from(["lr", "momentum", "eps", "weight_decay", "betas"]),
       value=st.one_of(not_real, st.floats(-10, -1e-9), st.just(1.0), st.tuples(not_real, st.floats(0, 0.99))))
def test_optimizer_hyperparameters(cls, arg, value):
    C = getattr(nk, cls)
    if (arg == "momentum") != (cls == "SGD") and arg in ("momentum", "eps", "betas"):
        return                                                   # not an option of this class
    if arg in ("lr", "eps") and value == 1.0:
        return                                                   # valid
    if arg == "weight_decay" and value == 1.0:
        return
    refused(lambda: C(kan().parameters(), **{arg: value}), arg.split("[")[0])


@FAST
@given(key=st.sampled_from(["lr", "beta1", "eps", "state"]), value=st.one_of(not_real, st.just(-1.0)))
def test_load_state_dict_checks_everything_before_setting_anything(key, value):
    model = kan()
    opt = nk.Adam(model.parameters())
    model.loss_and_grad(_X, _DS["train_label"])
    opt.step()
    sd = opt.state_dict()
    if key == "state":
        key = next(k for k in sd if k.startswith("state.") and not k.endswith(".t"))
        value = np.full(np.shape(sd[key]), np.nan if not isinstance(value, float) else value)
        if np.isfinite(value).all():
            return
    if key == "beta1" and value == -1.0:
        return                                                   # a finite real: accepted as saved
    sd[key] = value
    refused(lambda: opt.load_state_dict(sd), key.split(".")[0], lambda: opt_bytes(opt))


# ---------------------------------------------------------------------------
# checkpoints: bytes
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    model = kan()
    model.layers[1].mask[0, 0] = 0.0
    path = model.save(folder / "good.npz")
    return model, file_bytes(path), folder


def _load_bytes(folder, blob, cls=KAN):
    path = folder / "bad.npz"
    path.write_bytes(blob)
    return path, lambda: cls.load(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncated_or_flipped_checkpoint_refused_or_identical(saved, data):
    model, blob, folder = saved
    b = bytearray(blob)
    if data.draw(st.booleans()):
        b = b[:data.draw(st.integers(0, len(b) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(b) - 1))
            b[pos] ^= 1 << data.draw(st.integers(0, 7))
    path, load = _load_bytes(folder, bytes(b))
    try:
        loaded = load()
    except ValueError as err:
        assert "bad.npz" in str(err)
    else:
        assert model_bytes(loaded).replace(str(id(None)).encode(), b"") == \
            model_bytes(model).replace(str(id(None)).encode(), b"")
    assert file_bytes(path) == bytes(b)                          # loading never writes


def _members(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _zip(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


_MEMBER_VALUES = st.sampled_from([
    ("bool", lambda a: a > 0), ("int", lambda a: a.astype(np.int64)), ("complex", lambda a: a + 0j),
    ("str", lambda a: a.astype(str)), ("float32", lambda a: a.astype(np.float32)),
    ("object", lambda a: a.astype(object)), ("NaN", lambda a: np.where(a == a.flat[0], np.nan, a)),
    ("inf", lambda a: np.full_like(a, np.inf)), ("big-endian", lambda a: a.astype(">f8")),
    ("wrong shape", lambda a: a.reshape(-1)), ("transposed", lambda a: a.T.copy()),
    ("0-d", lambda a: np.array(1.0)),
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.sampled_from(["layer0.coef", "layer0.w_b", "layer0.w_s", "layer0.grid",
                               "layer0.mask", "layer1.coef"]), change=_MEMBER_VALUES)
def test_crafted_member_dtypes_values_shapes(saved, member, change):
    model, blob, folder = saved
    members = _members(blob)
    a = np.load(io.BytesIO(members[member + ".npy"]))
    members[member + ".npy"] = _npy(change[1](a))
    _, load = _load_bytes(folder, _zip(members))
    refused(load, (member, "bad.npz"))


@pytest.mark.parametrize("case", ["encrypted", "method 99", "not npy", "folder member", "duplicate",
                                  "huge npy shape", "width 1e6", "grid 1e8", "k 1e6", "extra array",
                                  "version string", "config list", "float32 grid 1e300"])
def test_crafted_zip_features_and_sizes_refused_before_allocating(saved, case):
    import tracemalloc
    model, blob, folder = saved
    members = _members(blob)
    if case in ("encrypted", "method 99"):
        b = bytearray(blob)
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = b.find(sig)
            while i >= 0:
                if case == "encrypted":
                    b[i + off] |= 1
                else:
                    struct.pack_into("<H", b, i + off + 2, 99)
                i = b.find(sig, i + 4)
        data = bytes(b)
    else:
        if case == "not npy":
            members["readme.txt"] = b"hello"
        elif case == "folder member":
            members["sub/x.npy"] = _npy(np.ones(2))
        elif case == "huge npy shape":
            header = b"\x93NUMPY\x01\x00" + \
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 8), }"
            header += b" " * (63 - len(header) % 64) + b"\n"
            members["layer0.coef.npy"] = header + bytes(64)
        elif case in ("width 1e6", "grid 1e8", "k 1e6", "config list"):
            cfg = json.loads(str(np.load(io.BytesIO(members["config.npy"]))))
            cfg.update({"width 1e6": {"width": [2, 10 ** 6, 1]}, "grid 1e8": {"grid": 10 ** 8},
                        "k 1e6": {"k": 10 ** 6}, "config list": {}}[case])
            members["config.npy"] = _npy(np.array(json.dumps(cfg if case != "config list" else [1])))
        elif case == "extra array":
            members["layer0.W.npy"] = _npy(np.ones((2, 3)))
        elif case == "version string":
            members["version.npy"] = _npy(np.array("1"))
        elif case == "float32 grid 1e300":
            m32 = kan(np.float32)
            p = m32.save(folder / "m32.npz")
            members = _members(file_bytes(p))
            members["layer0.grid.npy"] = _npy(np.tile(np.linspace(-1e300, 1e300, 10), (2, 1)))
        data = _zip(members)
        if case == "duplicate":                                  # a second layer0.coef.npy
            buf = io.BytesIO(data)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")                  # zipfile warns: "Duplicate name"
                with zipfile.ZipFile(buf, "a") as z:
                    z.writestr("layer0.coef.npy", members["layer0.coef.npy"])
            data = buf.getvalue()
    _, load = _load_bytes(folder, data)
    tracemalloc.start()
    try:
        refused(load, ("bad.npz",))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"{peak / 1e6:.0f} MB allocated before refusing"


def test_non_regular_paths_refused_without_blocking(tmp_path):
    model = kan()
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    refused(lambda: KAN.load(fifo), "fifo")                       # would block if opened plainly
    refused(lambda: model.save(fifo), "fifo")
    assert fifo.is_fifo()
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    refused(lambda: KAN.load(folder), "dir.npz")
    refused(lambda: model.save(folder), "dir.npz")


def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    model = kan()
    path = model.save(tmp_path / "m.npz")
    before = file_bytes(path)
    bad = kan()
    bad.layers[0].params["coef"] = bad.layers[0].params["coef"].astype(object)
    refused(lambda: bad.save(path), "coef", lambda: file_bytes(path))
    assert file_bytes(path) == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_concurrent_saves_never_expose_a_corrupt_checkpoint(tmp_path):
    import threading
    path = tmp_path / "c.npz"
    models = [KAN([2, 3, 1], grid=g, seed=g) for g in (3, 12)]
    models[0].save(path)
    errors, stop = [], threading.Event()

    def write(m):
        for _ in range(15):
            try:
                m.save(path)
            except Exception as err:                             # noqa: BLE001
                errors.append(err)

    def read():
        while not stop.is_set():
            try:
                KAN.load(path)
            except Exception as err:                             # noqa: BLE001
                errors.append(err)
    threads = [threading.Thread(target=write, args=(m,)) for m in models]
    reader = threading.Thread(target=read)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    assert errors == []
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]


# ---------------------------------------------------------------------------
# data loaders
# ---------------------------------------------------------------------------


@FAST
@given(magic=st.sampled_from([2049, 2051, 2050, 0]), dims=st.lists(st.integers(0, 2 ** 31), min_size=3,
                                                                    max_size=3),
       payload=st.integers(0, 64), gz=st.booleans())
def test_read_idx_headers_checked_against_the_data(tmp_path_factory, magic, dims, payload, gz):
    import gzip
    folder = tmp_path_factory.mktemp("idx")
    ndim = 1 if magic == 2049 else 3
    dims = [d % 8 if i else d for i, d in enumerate(dims)] if payload % 2 else dims
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims[:ndim]) + bytes(payload)
    path = folder / ("f.idx.gz" if gz else "f.idx")
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)
    if magic in (2049, 2051) and int(np.prod(dims[:ndim])) == payload:
        a = read_idx(path)
        assert a.shape == tuple(dims[:ndim]) and a.dtype == np.uint8
    else:
        refused(lambda: read_idx(path), "f.idx")


def test_read_idx_gzip_bomb_refused_with_bounded_memory(tmp_path):
    import gzip
    import tracemalloc
    path = tmp_path / "bomb-labels.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(struct.pack(">II", 2049, 5))
        for _ in range(50):
            fh.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        refused(lambda: read_idx(path), "bomb-labels")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5e6


@pytest.mark.parametrize("content", [b"", b"garbage" * 20, b"\x89PNG\r\n\x1a\n" + bytes(50), "cut"])
def test_garbage_png_named(tmp_path, content):
    from numpykan.data.images import load_image
    path = tmp_path / "img.png"
    if content == "cut":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.imsave(path, np.random.default_rng(0).uniform(size=(16, 16)))
        content = file_bytes(path)[:60]
    path.write_bytes(content)
    refused(lambda: load_image(path), "img.png")
