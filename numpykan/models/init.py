"""Initialization options of a KAN layer: the base weights ``w_b`` and a sparse start.

Two ways to draw ``w_b`` ``(I, O)``, from the same uniform numbers
``u ~ U(-1, 1)`` (so the rest of the layer's random draws do not move when
one switches between them):

- ``scale_base_sigma=None``: Xavier-uniform, ``w_b = sqrt(6 / (I + O)) u``;
- otherwise pykan's rule, ``w_b = (scale_base_mu + scale_base_sigma u) / sqrt(I)``
  (pykan's defaults ``mu = 0``, ``sigma = 1``; uniform, although pykan's
  docstrings say normal).

``sparse_init`` starts with pykan's sparse mask (:func:`sparse_mask`): each
input connected to its nearest output and each output to its nearest input,
on evenly spaced positions in ``[0, 1]``; the other edges start pruned.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_real

__all__ = ["check_base_init", "base_weights", "sparse_mask"]


def check_base_init(scale_base_mu, scale_base_sigma):
    """Validate the pair; ``(None, None)`` or ``(mu, sigma)`` as floats (``mu`` alone gets ``sigma = 1``)."""
    if scale_base_mu is None and scale_base_sigma is None:
        return None, None
    mu = 0.0 if scale_base_mu is None else check_real(scale_base_mu, "scale_base_mu")
    sigma = 1.0 if scale_base_sigma is None else check_real(scale_base_sigma, "scale_base_sigma")
    if sigma < 0:
        raise ValueError(f"scale_base_sigma must be >= 0, got {sigma}")
    return mu, sigma


def base_weights(rng, I, O, scale_base_mu=None, scale_base_sigma=None):
    """Initial ``w_b`` ``(I, O)`` (float64) by the rule of the module docstring.

    Exactly one ``rng.uniform(-1, 1, (I, O))`` draw either way.
    """
    u = rng.uniform(-1.0, 1.0, (I, O))                         # (I, O)
    if scale_base_mu is None and scale_base_sigma is None:
        return np.sqrt(6.0 / (I + O)) * u
    mu, sigma = check_base_init(scale_base_mu, scale_base_sigma)
    return (mu + sigma * u) / np.sqrt(I)


def sparse_mask(I, O):
    """pykan's sparse start ``(I, O)`` of 0/1 (float64).

    Inputs sit at ``(i + 1/2) / I`` and outputs at ``(j + 1/2) / O``; edge
    ``(i, j)`` is live when ``j`` is the output nearest input ``i`` or ``i``
    the input nearest output ``j`` (ties: the lower index). Every input and
    every output keeps at least one edge.

    Examples
    --------
    >>> sparse_mask(2, 4)
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """
    pin = (np.arange(I) + 0.5) / I                             # (I,)
    pout = (np.arange(O) + 0.5) / O                            # (O,)
    dist = np.abs(pin[:, None] - pout[None, :])                # (I, O)
    mask = np.zeros((I, O))
    mask[np.arange(I), np.argmin(dist, axis=1)] = 1.0          # each input's nearest output
    mask[np.argmin(dist, axis=0), np.arange(O)] = 1.0          # each output's nearest input
    return mask
