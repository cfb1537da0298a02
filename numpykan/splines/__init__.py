"""Splines: knot grids (:mod:`.grids`), B-spline bases and fits (:mod:`.bspline`), the fast live-basis evaluator (:mod:`.livebasis`)."""
