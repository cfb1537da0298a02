"""Student and teacher notebooks from the lessons, one source for both.

The lessons in ``tutorials/`` are the single source (jupytext percent format).
Two kinds of marks in them:

- a code cell tagged ``exercise`` (``# %% tags=["exercise"]``) is a graded
  "your turn" cell; inside it, the lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` are the solution. The student version replaces them by
  ``raise YourTurn("name")`` (``name``: the function they sit in), at the
  same indentation; everything else in the cell (the signature, the docstring,
  given helpers) stays;
- a cell tagged ``solution`` (code or markdown) answers one of the closing
  Exercises; the student version drops it.

:func:`build` writes ``OUT/student/NN_name.ipynb`` (solutions removed, stubs in
place, not executed) and ``OUT/teacher/NN_name.ipynb`` (everything, executed).
Run as a script, a lesson defines each stub's solution and runs every
solution cell, which is how the tests run the solutions.

Needs the ``tutorials`` extra (jupytext, nbformat, nbclient, ipykernel):
``pip install "numpykan[tutorials]"``.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["BEGIN", "END", "student_source", "lesson_paths", "read_notebook", "student_notebook",
           "teacher_notebook", "execute", "build"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(")


def _require(*modules):
    """Import the optional modules or raise one ImportError that names the extra to install."""
    import importlib

    found = []
    for name in modules:
        try:
            found.append(importlib.import_module(name))
        except ImportError as err:
            raise ImportError(f"building notebooks needs {name} ({err}); install the course tools "
                              f'with: pip install "numpykan[tutorials]"') from None
    return found


def student_source(source):
    """``source`` of an exercise cell with every solution region replaced by a stub.

    Raises ValueError on an unclosed region or one outside a function.
    """
    out, inside, name = [], False, None
    lines = source.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"line {n + 1}: {BEGIN} inside a solution region")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            name = None
            for prev in reversed(lines[:n]):
                m = _DEF.match(prev)
                if m and len(m.group(1)) < len(indent):
                    name = m.group(2)
                    break
            if name is None:
                raise ValueError(f"line {n + 1}: a solution region must sit inside a function")
            out.append(f'{indent}raise YourTurn("{name}")')
        elif stripped == END:
            if not inside:
                raise ValueError(f"line {n + 1}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def lesson_paths(folder=None, numbers=None):
    """The lessons ``NN_*.py`` of ``folder`` (default: the repository's tutorials/), optionally some."""
    from .grader import tutorials_dir

    if folder is not None and not Path(folder).is_dir():
        raise FileNotFoundError(f"the lessons folder {folder} does not exist")
    folder = Path(folder) if folder is not None else tutorials_dir()
    if folder is None:
        raise FileNotFoundError("no tutorials/ folder found; pass --lessons-dir")
    paths = sorted(folder.glob("[0-9][0-9]_*.py"))
    if numbers:
        wanted = {int(n) for n in numbers}
        paths = [p for p in paths if int(p.name[:2]) in wanted]
        missing = wanted - {int(p.name[:2]) for p in paths}
        if missing:
            raise FileNotFoundError(f"no lesson {sorted(missing)} in {folder}")
    return paths


def read_notebook(path):
    """The lesson at ``path`` as a notebook (``nbformat.NotebookNode``)."""
    (jupytext,) = _require("jupytext")
    nb = jupytext.read(str(path), fmt="py:percent")
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python",
                                          "name": "python3"})
    return nb


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def student_notebook(nb):
    """A copy of ``nb`` without solution cells, with stubs in the exercise cells."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = _tags(cell)
        if "solution" in tags:
            continue
        if "exercise" in tags and cell.cell_type == "code":
            cell.source = student_source(cell.source)
        cells.append(cell)
    nb.cells = cells
    return nb


def teacher_notebook(nb, hide_solutions=False):
    """A copy of ``nb`` with everything; ``hide_solutions`` folds solution code on the website."""
    nb = copy.deepcopy(nb)
    if hide_solutions:
        for cell in nb.cells:
            if cell.cell_type == "code" and "solution" in _tags(cell):
                tags = cell.metadata.setdefault("tags", [])
                if "hide-input" not in tags:
                    tags.append("hide-input")
    return nb


def execute(nb, quick=False, timeout=600, cwd=None):
    """Run every cell of ``nb`` in a fresh python3 kernel (in place); returns ``nb``.

    The kernel runs in ``cwd`` (default: a new empty folder), with ``QUICK``
    set as asked, figures going into a temporary folder, and this numpykan
    first on its path. A failing cell raises ``nbclient``'s ``CellExecutionError``.
    """
    (nbclient,) = _require("nbclient")
    _require("ipykernel")
    package_root = str(Path(__file__).resolve().parents[2])
    figures = tempfile.mkdtemp(prefix="numpykan-figures-")
    work = cwd or tempfile.mkdtemp(prefix="numpykan-run-")
    env = {"QUICK": "1" if quick else "0", "NUMPYKAN_TUTORIAL_OUT": figures,
           "MPLBACKEND": "module://matplotlib_inline.backend_inline",    # figures inline, not Agg
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, os.environ.get(var, "1"))
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)                                     # the kernel inherits them
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(work)}})
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(figures, ignore_errors=True)
        if cwd is None:
            shutil.rmtree(work, ignore_errors=True)
    return nb


def build(out, numbers=None, quick=False, execute_teacher=True, lessons_dir=None, timeout=600,
          log=print, hide_solutions=False):
    """Write the student and teacher notebooks of the lessons into ``out``.

    Parameters
    ----------
    out : str or Path
        Folder to write ``student/`` and ``teacher/`` into (created).
    numbers : list of int, optional
        Only these lessons (default all).
    quick : bool
        Execute the teacher notebooks with ``QUICK=1`` (seconds per lesson).
    execute_teacher : bool
        Run the teacher notebooks (default); False writes them unexecuted.
    lessons_dir : str or Path, optional
        Where the lessons are (default: the repository's tutorials/).

    Returns
    -------
    dict
        ``{"student": [paths], "teacher": [paths], "seconds": {name: s}}``.
    """
    paths = lesson_paths(lessons_dir, numbers)          # the user's arguments first, then the tools
    (nbformat,) = _require("nbformat")
    out = Path(out)
    (out / "student").mkdir(parents=True, exist_ok=True)
    (out / "teacher").mkdir(parents=True, exist_ok=True)
    written = {"student": [], "teacher": [], "seconds": {}}
    for path in paths:
        nb = read_notebook(path)
        name = path.stem + ".ipynb"
        student = out / "student" / name
        nbformat.write(student_notebook(nb), str(student))
        written["student"].append(student)
        teacher_nb = teacher_notebook(nb, hide_solutions)
        t0 = time.perf_counter()
        if execute_teacher:
            log(f"running {path.name} ({'QUICK' if quick else 'full'} mode) ...")
            execute(teacher_nb, quick=quick, timeout=timeout)
        seconds = time.perf_counter() - t0
        teacher = out / "teacher" / name
        nbformat.write(teacher_nb, str(teacher))
        written["teacher"].append(teacher)
        written["seconds"][path.stem] = seconds
        log(f"  {student}\n  {teacher}" + (f"  (executed in {seconds:.1f} s)" if execute_teacher else ""))
    return written


def _cmd_build(args):
    numbers = _numbers(args.lessons)
    result = build(args.out, numbers, quick=args.quick, execute_teacher=not args.no_execute,
                   lessons_dir=args.lessons_dir, timeout=args.timeout)
    print(f"wrote {len(result['student'])} student and {len(result['teacher'])} teacher notebooks "
          f"into {args.out}")
    return 0


def _numbers(text):
    if not text:
        return None
    try:
        return [int(n) for n in re.split(r"[,\s]+", text.strip()) if n]
    except ValueError:
        raise SystemExit(f"--lessons takes lesson numbers such as 01,03, got {text!r}") from None


def add_course_parser(sub):
    """Register ``numpykan course build`` and ``numpykan course site``."""
    p = sub.add_parser("course", help="student and teacher notebooks, and the course website",
                       description="Build the course from the lessons in tutorials/.")
    csub = p.add_subparsers(dest="course_command", metavar="ACTION", required=True)
    b = csub.add_parser("build", help="write student notebooks (stubs, no solutions) and teacher "
                                      "notebooks (executed, with solutions)")
    b.add_argument("--out", required=True, help="output folder (student/ and teacher/ go inside)")
    _common(b)
    b.add_argument("--no-execute", action="store_true", help="write the teacher notebooks unexecuted")
    b.set_defaults(func=_cmd_build)
    from .website import add_site_parser

    add_site_parser(csub, _common)
    return p


def _common(p):
    p.add_argument("--lessons", default=None, help="only these lessons, e.g. 01,03 (default: all)")
    p.add_argument("--quick", action="store_true", help="execute with QUICK=1 (seconds per lesson)")
    p.add_argument("--lessons-dir", default=None, help="folder of the lessons (default: tutorials/)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")


def main(argv=None):
    """``python -m numpykan.teaching.course build --out DIR``: the same as ``numpykan course``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m numpykan.teaching.course")
    sub = parser.add_subparsers(dest="command", required=True)
    add_course_parser(sub)
    args = parser.parse_args(["course"] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
