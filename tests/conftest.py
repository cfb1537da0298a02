"""Shared pytest configuration: one hypothesis profile for the whole suite.

``deadline=None`` because the first call of a NumPy function can be slow on a
shared machine; ``max_examples=40`` keeps the property tests quick. Choose
another profile with ``pytest --hypothesis-profile=<name>``.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "numpykan",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("numpykan-thorough", deadline=None, max_examples=400)
settings.load_profile("numpykan")


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.slow`` tests are opt-in: they run only under ``-m slow`` (or a -m naming them)."""
    if "slow" in (config.getoption("-m") or ""):
        return
    import pytest
    skip = pytest.mark.skip(reason="slow experiment run: opt in with pytest -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
