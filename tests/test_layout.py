"""The package layout: short import paths still work, and module imports form no circle."""

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest

import numpykan

PACKAGE = pathlib.Path(numpykan.__file__).parent


@pytest.mark.parametrize("short, path", sorted(numpykan._MODULES.items()))
def test_short_names_are_the_same_modules(short, path):
    assert importlib.import_module(f"numpykan.{short}") is importlib.import_module(f"numpykan.{path}")
    if short != "gradcheck":                 # nk.gradcheck is the function (the API contract)
        assert getattr(numpykan, short) is importlib.import_module(f"numpykan.{path}")


def test_from_short_path_import_works_in_a_fresh_interpreter():
    code = ("from numpykan.livebasis import piece_matrix; from numpykan.optim import LBFGS; "
            "import numpykan.train as t; import sys; print(t.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "numpykan.training.train"


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _top_level_imports(path):
    """Package modules imported at module level (not inside functions) by the file at ``path``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("numpykan"):
                continue
            for alias in node.names:        # "from . import bspline" imports a module
                sub = f"{mod}.{alias.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          else mod)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("numpykan"))
    found.discard(name)
    return found


def test_no_import_circles():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in _top_level_imports(p) if d in modules and not modules[d].name == "__init__.py"}
             for m, p in modules.items() if p.name != "__init__.py"}
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                raise AssertionError("import circle: " + " -> ".join(stack + [m, d]))
            if d not in state:
                visit(d, stack + [m])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert "numpykan.training.optim" not in graph["numpykan.training.lbfgs"]
    assert "numpykan.training.train" in graph["numpykan.models.network"]
    assert "numpykan.models.network" not in graph["numpykan.training.train"]
