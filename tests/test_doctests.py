"""Every Examples section in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import numpykan

MODULES = sorted(m.name for m in pkgutil.walk_packages(numpykan.__path__, "numpykan."))


@pytest.mark.parametrize("name", ["numpykan"] + MODULES)
def test_module_doctests(name):
    module = importlib.import_module(name)       # the module even where a function shares its name
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", ["numpykan.bspline", "numpykan.layer", "numpykan.model",
                                  "numpykan.mlp", "numpykan.losses", "numpykan.optim",
                                  "numpykan.gradcheck"])
def test_core_modules_have_examples(name):
    assert doctest.testmod(importlib.import_module(name)).attempted > 0
