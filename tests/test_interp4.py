"""pykan's ``Interp_4_feature_attribution`` flow with numpykan: feature scores and ``prune_input``.

pykan's notebook: ``KAN(width=[4, 5, 1])`` (``grid=3, k=3``) on
``x0^2 + 0.3 x1 + 0.1 x2^3 + 0 x3``, ``fit(steps=40, lamb=1e-3)`` (L-BFGS),
``model.feature_score`` -> ``[0.8916, 0.5155, 0.1079, 0.0040]`` (x3 / x2 = 0.037),
then ``prune_input()`` keeps ``[True, True, True, False]``.

numpykan with its default regularizer (the paper's; no switch) on seeds 0..5
measured ``[0.86..0.91, 0.50, 0.10..0.11, 1e-4..7e-3]``: x3 / x2 between 0.001
and 0.063, and ``prune_input`` keeps x0, x1, x2 on every seed. Seed 0 gives
``[0.8777, 0.4969, 0.1100, 0.0070]``, seed 1 ``[0.8719, 0.4962, 0.1057, 0.0001]``.
(With pykan's regularizer, ``reg_metric="edge_forward_spline_n"``, the scores
order the same way, but that metric does not penalize an edge's constant
offset, so x3's edges keep a mean of ~0.2 that ``prune_input`` drops with them.)
"""

import numpy as np
import pytest

import numpykan as nk
from numpykan.interpretation.pruning import subnetwork


def _target(x):
    return x[:, 0] ** 2 + 0.3 * x[:, 1] + 0.1 * x[:, 2] ** 3 + 0.0 * x[:, 3]


@pytest.mark.parametrize("seed", [0, 1])
def test_feature_score_and_prune_input(seed):
    data = nk.create_dataset(_target, n_var=4, train_num=1000, test_num=1000, seed=0)
    model = nk.KAN(width=[4, 5, 1], grid=3, k=3, seed=seed)
    history = model.fit(data, opt="LBFGS", steps=40, lamb=1e-3, log=40)
    assert history["test_rmse"][-1] < 2e-2                     # pykan's notebook: 8.47e-3
    x, xt = data["train_input"], data["test_input"]
    fs = model.attribute(x).feature_score                      # (4,)
    assert fs[0] > fs[1] > fs[2] > fs[3], fs
    assert fs[3] < 0.1 * fs[2], fs                             # measured 0.001 .. 0.063
    np.testing.assert_array_equal(model.feature_score, fs)     # the property: the last forward (x)

    small = model.prune_input(x=x)
    assert small.width == [3, 5, 1]
    np.testing.assert_array_equal(small.kept_inputs, [0, 1, 2])
    # exactly the original network with x3's edges removed, on the three kept columns
    silent = subnetwork(model, [np.arange(w) for w in model.width])   # a copy, every node kept
    silent.remove_node(0, 3)
    np.testing.assert_allclose(small.predict(xt[:, :3]), silent.predict(xt), rtol=1e-13, atol=1e-14)
    # and close to the original: x3's edges carried almost nothing
    change = np.max(np.abs(small.predict(xt[:, :3]) - model.predict(xt)))
    assert change < 1e-2, change                               # measured 4e-4 .. 4e-3
    with pytest.raises(ValueError, match="x"):
        small.predict(xt)                                      # it takes three columns now
