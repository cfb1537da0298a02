"""Student and teacher notebooks from one source: no solutions for students, stubs that say so.

Builds lesson 01 with ``numpykan.teaching.course.build`` (QUICK mode), then runs
the student notebook (it must stop at the first stub with YourTurn) and the
teacher notebook copied alone into an empty folder (it must run end to end).
Skipped, with the reason, without the tutorials extra.
"""

import importlib.util
import shutil

import pytest

from numpykan.teaching.course import BEGIN, END, student_source

NEEDED = ["jupytext", "nbformat", "nbclient", "ipykernel"]
missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
needs_extra = pytest.mark.skipif(bool(missing), reason=f"the tutorials extra is not installed "
                                                       f'(missing {missing}): pip install "numpykan[tutorials]"')


def test_student_source_replaces_each_region_by_a_stub():
    src = ("def f(x):\n    \"\"\"doc\"\"\"\n    y = 1\n    " + BEGIN + "\n    return x + y\n    " + END
           + "\n\n\ndef g():\n    return 2\n")
    out = student_source(src)
    assert "return x + y" not in out and BEGIN not in out
    assert '    raise YourTurn("f")' in out and "    y = 1" in out and "return 2" in out


@pytest.mark.parametrize("src", [f"def f():\n    {BEGIN}\n    return 1\n", f"{BEGIN}\nx = 1\n{END}\n",
                                 f"def f():\n    return 1\n    {END}\n"])
def test_student_source_refuses_broken_regions(src):
    with pytest.raises(ValueError):
        student_source(src)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from numpykan.teaching.course import build

    out = tmp_path_factory.mktemp("course")
    result = build(out, numbers=[1], quick=True, log=lambda *a: None)
    return out, result


@needs_extra
def test_student_notebook_has_stubs_and_no_solution(built):
    import nbformat

    out, result = built
    nb = nbformat.read(str(out / "student" / "01_bsplines.ipynb"), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert BEGIN not in text and END not in text
    assert "t[m + 1] else 0.0" not in text                   # the recursion's solution is gone
    assert not [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert "## Solutions" not in text
    assert 'raise YourTurn("cox_de_boor")' in text and 'raise YourTurn("derivative_by_hand")' in text
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


@needs_extra
def test_student_notebook_stops_at_the_first_stub(built, tmp_path):
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from numpykan.teaching.course import execute

    out, _ = built
    nb = nbformat.read(str(out / "student" / "01_bsplines.ipynb"), as_version=4)
    with pytest.raises(CellExecutionError) as err:
        execute(nb, quick=True, cwd=str(tmp_path))
    assert "YourTurn" in str(err.value) and "your turn: write `cox_de_boor`" in str(err.value)


@needs_extra
def test_teacher_notebook_runs_alone_in_an_empty_folder(built, tmp_path):
    import nbformat

    from numpykan.teaching.course import execute

    out, _ = built
    nb = nbformat.read(str(out / "teacher" / "01_bsplines.ipynb"), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])), "the executed notebook shows its figures"
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(out / "teacher" / "01_bsplines.ipynb", alone)
    again = nbformat.read(str(alone / "01_bsplines.ipynb"), as_version=4)
    execute(again, quick=True, cwd=str(alone))              # raises on any failing cell
    assert sorted(p.name for p in alone.iterdir()) == ["01_bsplines.ipynb"]
