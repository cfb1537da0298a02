"""The ``(params, grads)`` protocol that every optimizer takes.

``model.parameters()`` is a list of ``(params, grads)`` pairs of dicts, one pair
per layer, the two dicts sharing keys. :mod:`numpykan.training.optim` (SGD, Adam,
AdamW) and :mod:`numpykan.training.lbfgs` both validate it here, so neither
module needs the other.
"""

from collections.abc import Mapping

import numpy as np

__all__ = ["check_groups"]

_PROTOCOL = (
    "parameters must be a list of (params, grads) pairs of dicts, one pair per layer, "
    "e.g. model.parameters() -> [({'coef': ndarray, ...}, {'coef': ndarray, ...}), ...]"
)


def check_groups(parameters):
    """Validate the (params, grads) protocol; return the pairs as a list of tuples."""
    if isinstance(parameters, Mapping) or isinstance(parameters, (str, bytes, np.ndarray)):
        raise TypeError(f"{_PROTOCOL}; got a {type(parameters).__name__}")
    try:
        groups = list(parameters)
    except TypeError:
        raise TypeError(f"{_PROTOCOL}; got a {type(parameters).__name__}") from None
    out = []
    for i, pair in enumerate(groups):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and isinstance(pair[0], Mapping) and isinstance(pair[1], Mapping)):
            raise TypeError(f"{_PROTOCOL}; item {i} is a {type(pair).__name__}, not such a pair")
        params, grads = pair
        for key, p in params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                what = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
                raise TypeError(
                    f"params[{key!r}] of pair {i} must be a floating-point ndarray "
                    f"(it is updated in place), got {what}"
                )
        out.append((params, grads))
    return out
