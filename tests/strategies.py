"""Hypothesis strategies shared by the test modules: degrees, grids, knot vectors, points.

Knot vectors are drawn as a start and positive gaps, so they are strictly
increasing by construction. Gaps stay within a factor 10 of each other: the
identities tested to 1e-12 hold on any grid, but the tolerances of the
derivative and fitting tests scale with the ratio of the largest to the
smallest gap, and a bounded ratio keeps those tolerances honest and fixed.
"""

import numpy as np
from hypothesis import strategies as st

from numpykan.bspline import uniform_grid

degrees = st.integers(min_value=0, max_value=5)          # k
intervals = st.integers(min_value=1, max_value=7)        # G
small_dims = st.integers(min_value=1, max_value=3)       # in / out sizes
batches = st.integers(min_value=1, max_value=6)          # B

_gap = st.floats(min_value=0.1, max_value=1.0, allow_nan=False, allow_infinity=False)
_start = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)
_unit = st.floats(min_value=0.05, max_value=0.95, allow_nan=False, allow_infinity=False)


@st.composite
def knot_vector(draw, G, k, uniform=None):
    """One strictly increasing knot vector of ``G + 2k + 1`` knots, shape ``(n,)``.

    ``uniform=True`` gives :func:`uniform_grid` over a random base interval,
    ``False`` random gaps, ``None`` either.
    """
    if uniform is None:
        uniform = draw(st.booleans())
    n = G + 2 * k + 1
    if uniform:
        lo = draw(_start)
        width = draw(st.floats(min_value=0.5, max_value=6.0))
        return uniform_grid(G, k, (lo, lo + width))
    gaps = draw(st.lists(_gap, min_size=n - 1, max_size=n - 1))
    return draw(_start) + np.concatenate([[0.0], np.cumsum(gaps)])


@st.composite
def knot_grid(draw, n_in, G, k, uniform=None):
    """Knots per input, shape ``(n_in, G + 2k + 1)``; every row drawn independently."""
    return np.stack([draw(knot_vector(G, k, uniform)) for _ in range(n_in)])


@st.composite
def points_between_knots(draw, t, n, lo=0, hi=None):
    """``n`` points strictly inside knot intervals ``[t_j, t_{j+1}]``, ``lo <= j < hi``.

    Each is at least 5 % of its interval away from both knots, so smooth
    quantities (values, derivatives, finite differences) are well defined there.
    """
    hi = len(t) - 1 if hi is None else hi
    js = draw(st.lists(st.integers(lo, hi - 1), min_size=n, max_size=n))
    us = draw(st.lists(_unit, min_size=n, max_size=n))
    return np.array([t[j] + u * (t[j + 1] - t[j]) for j, u in zip(js, us)])


@st.composite
def points_on_knots(draw, t, n):
    """``n`` points that are exactly knots of ``t`` (any knot, the ends included)."""
    js = draw(st.lists(st.integers(0, len(t) - 1), min_size=n, max_size=n))
    return t[np.array(js)]


@st.composite
def points_outside(draw, t, n):
    """``n`` points below ``t_0`` or at/above the last knot (where every basis is 0)."""
    span = t[-1] - t[0]
    out = []
    for _ in range(n):
        d = draw(st.floats(min_value=0.0, max_value=2.0)) * span
        out.append(t[-1] + d if draw(st.booleans()) else t[0] - d - 1e-3 * span)
    return np.array(out)


@st.composite
def grid_and_points(draw, where="between", uniform=None, k=None, G=None, n_in=None, batch=None):
    """``(k, grid (I, n), x (B, I))`` with points ``where`` = between / on / outside / mixed."""
    k = draw(degrees) if k is None else k
    G = draw(intervals) if G is None else G
    n_in = draw(small_dims) if n_in is None else n_in
    batch = draw(batches) if batch is None else batch
    grid = draw(knot_grid(n_in, G, k, uniform))
    cols = []
    for i in range(n_in):
        t = grid[i]
        kinds = [where] * batch if where != "mixed" else \
            draw(st.lists(st.sampled_from(["between", "on", "outside"]),
                          min_size=batch, max_size=batch))
        col = [draw(_POINTS[kind](t, 1))[0] for kind in kinds]
        cols.append(np.array(col))
    return k, grid, np.stack(cols, axis=1)


_POINTS = {"between": points_between_knots, "on": points_on_knots, "outside": points_outside}
