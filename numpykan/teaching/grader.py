"""Grade a student's exercises against numpykan's own functions.

A lesson's graded exercises are code cells tagged ``exercise`` (in the
percent format: ``# %% tags=["exercise"]``). The grader reads a student's file
(the lesson as a ``.py`` script or as a notebook ``.ipynb``), runs only the
first code cell (the lesson's imports) and those cells, in order, in a fresh
namespace that holds ``np``, ``nk`` and :class:`YourTurn`, and then calls each exercise's check
(:mod:`numpykan.teaching.exercises`) on the function the student wrote. A file
without tagged cells (a plain module with the functions) is run whole, with
``QUICK=1``.

Each check compares the student's function with numpykan's on a few small
inputs: the type and shape first, then the values (the worst entry, by how
much, and whether the whole answer is off by a constant factor or a sign), and
for gradients a central finite difference at the worst entry, which tells a
wrong formula from a right one. A failure message names the place: the file
and line of the student's function (or of the line that raised), the entry
that is wrong, and what to look at.

Command line: ``numpykan grade 03 my_lesson.py`` (see :func:`add_grade_parser`);
from Python: ``print(grade(3, "my_lesson.py"))``.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .lesson import YourTurn

__all__ = ["Mistake", "Cell", "read_cells", "load_student", "compare", "central_difference",
           "Result", "Report", "grade", "find_lesson", "add_grade_parser"]


class Mistake(AssertionError):
    """A check found a wrong answer; the message says where and what to look at."""


# ---------------------------------------------------------------------------
# reading a student's file
# ---------------------------------------------------------------------------

@dataclass
class Cell:
    """One cell of a lesson: ``kind`` "code" or "markdown", its ``tags``, its ``source``.

    ``line`` is the 1-based line of the file where the source starts (``.py``),
    or None in a notebook, where ``index`` (0-based) numbers the cell instead.
    """

    kind: str
    source: str
    tags: tuple = ()
    line: int | None = None
    index: int = 0
    header: str = ""


_HEADER = re.compile(r"^# %%(.*)$")


def _parse_header(rest):
    """``' [markdown] tags=["x"]'`` -> ("markdown", ("x",)) for a percent-format cell header."""
    rest = rest.strip()
    kind = "code"
    m = re.match(r"^\[(\w+)\]\s*", rest)
    if m:
        kind = "markdown" if m.group(1) in ("markdown", "md") else m.group(1)
        rest = rest[m.end():]
    tags = ()
    m = re.search(r"tags=(\[[^\]]*\])", rest)
    if m:
        tags = tuple(json.loads(m.group(1)))
    return kind, tags


def read_cells(path):
    """The cells of a percent-format ``.py`` lesson or of an ``.ipynb`` notebook.

    The ``.py`` reader handles what the lessons use: ``# %%`` headers with an
    optional ``[markdown]`` and ``tags=[...]``; text before the first header
    (the jupytext front matter) is not a cell.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        nb = json.loads(text)
        cells = []
        for n, c in enumerate(nb.get("cells", [])):
            src = c.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            kind = "markdown" if c.get("cell_type") == "markdown" else c.get("cell_type", "code")
            cells.append(Cell(kind, src, tuple(c.get("metadata", {}).get("tags", ())), None, n))
        return cells
    cells, current, start, header = [], None, 0, ""
    lines = text.splitlines()
    for n, line in enumerate(lines, start=1):
        m = _HEADER.match(line)
        if m:
            if current is not None:
                cells.append(_make_cell(current, start, header, len(cells)))
            current, start, header = [], n + 1, m.group(1)
        elif current is not None:
            current.append(line)
    if current is not None:
        cells.append(_make_cell(current, start, header, len(cells)))
    return cells


def _make_cell(lines, start, header, index):
    kind, tags = _parse_header(header)
    return Cell(kind, "\n".join(lines) + "\n", tags, start, index, header)


def _code_name(path, cell):
    """The filename under which a cell's code runs: the path itself for ``.py`` (line numbers match)."""
    return str(path) if cell.line is not None else f"{path} (cell {cell.index + 1})"


def load_student(path):
    """Run the exercise cells of ``path`` (or the whole file if none is tagged); return the namespace.

    Returns
    -------
    namespace : dict
    problems : list of str
        A message per cell that raised while it ran (its location included);
        the other cells still ran.
    """
    import numpykan as nk

    path = Path(path)
    cells = read_cells(path) if path.suffix in (".py", ".ipynb") else []
    code = [c for c in cells if c.kind == "code" and "exercise" in c.tags]
    first = next((c for c in cells if c.kind == "code"), None)
    if code and first is not None and first is not code[0]:
        code.insert(0, first)                    # the lesson's imports
    ns = {"__name__": "__student__", "np": np, "nk": nk, "YourTurn": YourTurn}
    problems = []
    if not code:                                 # a plain module: run it whole, in QUICK mode
        old = os.environ.get("QUICK")
        os.environ["QUICK"] = "1"
        try:
            source = path.read_text(encoding="utf-8")
            _run(compile(source, str(path), "exec"), ns, path, problems, "the file")
        finally:
            if old is None:
                os.environ.pop("QUICK", None)
            else:
                os.environ["QUICK"] = old
        return ns, problems
    for cell in code:
        pad = "\n" * (cell.line - 1) if cell.line is not None else ""
        where = f"line {cell.line}" if cell.line is not None else f"cell {cell.index + 1}"
        try:
            compiled = compile(pad + cell.source, _code_name(path, cell), "exec")
        except SyntaxError as err:
            problems.append(f"{err.filename}:{err.lineno}: syntax error in the exercise cell at {where}: "
                            f"{err.msg}")
            continue
        _run(compiled, ns, path, problems, f"the exercise cell at {where}")
    return ns, problems


def _run(compiled, ns, path, problems, what):
    try:
        exec(compiled, ns)
    except YourTurn:
        pass                                     # a stub called at the top level: graded as "todo"
    except Exception as err:                     # the student's code: report it, keep grading
        problems.append(f"{_where(err, path)}: {type(err).__name__} while running {what}: {err}")


def _where(err, path):
    """``file:line`` of the deepest traceback frame in the student's file, else of the last frame."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename.startswith(str(path))]
    f = (mine or frames)[-1] if frames else None
    return f"{f.filename}:{f.lineno}" if f else str(path)


def location(fn):
    """``file:line`` where the function ``fn`` is defined (the student's cell, mapped to the file)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return "?"
    return f"{code.co_filename}:{code.co_firstlineno}"


# ---------------------------------------------------------------------------
# comparing answers, with messages that teach
# ---------------------------------------------------------------------------

def _index_text(idx, labels):
    if labels and len(labels) == len(idx):
        return "[" + ", ".join(f"{n}={i}" for n, i in zip(labels, idx)) + "]"
    return "[" + ", ".join(str(i) for i in idx) + "]"


def as_array(got, what, expected):
    """``got`` as a float array, or a :class:`Mistake` saying what came back instead."""
    if got is None:
        raise Mistake(f"{what}: your function returned None; expected an array of shape "
                      f"{np.shape(expected)}. Is a `return` missing?")
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mistake(f"{what}: expected an array of shape {np.shape(expected)}, got "
                      f"{type(got).__name__} that is not a numeric array") from None
    return arr


def compare(got, expected, what, *, rtol=1e-8, atol=1e-10, labels=None, hint="", fd=None):
    """Raise :class:`Mistake` unless ``got`` matches ``expected`` elementwise.

    Parameters
    ----------
    got, expected : array_like
    what : str
        Names the quantity in the message (e.g. ``"dL/dcoef"``).
    rtol, atol : float
        An entry passes when ``|got - expected| <= atol + rtol |expected|``.
    labels : sequence of str, optional
        One name per axis, so the worst entry reads ``[b=3, i=1]``.
    hint : str
        What to look at, appended to a value mismatch.
    fd : callable, optional
        ``fd(index) -> float``: a central finite difference of the same entry,
        printed beside the two values (for gradients).
    """
    expected = np.asarray(expected, dtype=np.float64)
    got = as_array(got, what, expected)
    if got.shape != expected.shape:
        msg = f"{what}: shape {got.shape}, expected {expected.shape}"
        if labels:
            msg += " = (" + ", ".join(labels) + ")"
        if got.ndim == expected.ndim and sorted(got.shape) == sorted(expected.shape):
            msg += ". Same sizes in another order: are two axes swapped (a transpose missing)?"
        elif got.size == expected.size:
            msg += ". Same number of entries: reshape, or check which axes you summed over."
        elif got.ndim < expected.ndim:
            msg += ". An axis is missing: did you sum over an axis that should stay?"
        raise Mistake(msg)
    if not np.all(np.isfinite(got)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        raise Mistake(f"{what}: {got[bad]} at {_index_text(bad, labels)}. A division by zero, or "
                      f"exp of a large number? (expected {expected[bad]:.6g} there)"
                      + (" Look at: " + hint if hint else ""))
    err = np.abs(got - expected)
    tol = atol + rtol * np.abs(expected)
    wrong = err > tol
    if not wrong.any():
        return
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(err - tol), err.shape))
    g, e = float(got[worst]), float(expected[worst])
    msg = (f"{what}: {int(wrong.sum())} of {wrong.size} entries wrong; the worst is "
           f"{what}{_index_text(worst, labels)}: yours {g:.6g}, expected {e:.6g} "
           f"(off by {g - e:+.3g}")
    msg += f", {abs(g - e) / abs(e):.1%})" if e != 0 else ")"
    if fd is not None:
        try:
            msg += f"; a central finite difference gives {float(fd(worst)):.6g}"
        except Exception:                        # the check's own helper: never hide the mistake
            pass
    msg += "."
    pattern = _pattern(got, expected)
    if pattern:
        msg += " " + pattern
    if hint:
        msg += " Look at: " + hint
    raise Mistake(msg)


def _pattern(got, expected):
    """Recognize a whole answer off by a sign or a constant factor, or all zero."""
    e = expected.ravel()
    g = got.ravel()
    if not np.any(e):
        return ""
    if not np.any(g):
        return "Your answer is all zeros."
    c = float(g @ e) / float(e @ e)
    resid = np.linalg.norm(g - c * e) / (np.linalg.norm(g) + 1e-300)
    if resid < 1e-6:
        if abs(c + 1) < 1e-6:
            return "Every entry has the wrong sign."
        return f"Every entry is {c:.6g} times the right one: a factor is missing or extra."
    return ""


def central_difference(f, array, index, eps=1e-6):
    """``(f() at array[index] + eps - f() at array[index] - eps) / (2 eps)``, ``array`` restored after."""
    old = array[index]
    try:
        array[index] = old + eps
        up = float(f())
        array[index] = old - eps
        down = float(f())
    finally:
        array[index] = old
    return (up - down) / (2 * eps)


def call(fn, *args, **kwargs):
    """Call the student's ``fn``; exceptions other than :class:`YourTurn` become a :class:`Mistake`."""
    try:
        return fn(*args, **kwargs)
    except YourTurn:
        raise
    except Exception as err:
        raise Mistake(f"{_where_any(err)}: your function raised {type(err).__name__}: {err}") from err


def _where_any(err):
    frames = traceback.extract_tb(err.__traceback__)
    own = os.path.dirname(os.path.abspath(__file__))
    mine = [f for f in frames if not os.path.abspath(f.filename).startswith(own)]
    f = (mine or frames)[-1] if frames else None
    return f"{f.filename}:{f.lineno}" if f else "?"


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

@dataclass
class Result:
    """One exercise's outcome: ``status`` is pass, fail, todo (still a stub), missing or error."""

    name: str
    title: str
    status: str
    message: str = ""
    where: str = ""

    @property
    def ok(self):
        return self.status == "pass"


@dataclass
class Report:
    """What :func:`grade` found: one :class:`Result` per exercise of the lesson."""

    lesson: int
    path: str
    results: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def score(self):
        return sum(r.ok for r in self.results), len(self.results)

    def result(self, name):
        return next(r for r in self.results if r.name == name)

    def __str__(self):
        done, total = self.score
        lines = [f"lesson {self.lesson:02d}, {self.path}: {done} of {total} exercises pass"]
        for r in self.results:
            mark = {"pass": "PASS", "fail": "FAIL", "todo": "TODO", "missing": "MISSING",
                    "error": "ERROR"}[r.status]
            lines.append(f"  {mark:7s} {r.name}  ({r.title})")
            if r.message:
                for part in r.message.splitlines():
                    lines.append(f"          {part}")
        for p in self.problems:
            lines.append(f"  note: {p}")
        return "\n".join(lines)


def grade(lesson, path=None):
    """Grade the exercises of ``lesson`` found in the student's file ``path``.

    Parameters
    ----------
    lesson : int or str
        Lesson number (``3`` or ``"03"``).
    path : str or Path, optional
        The student's lesson (``.py`` or ``.ipynb``) or a module with the
        functions. Default: the repository's lesson, i.e. the solutions.

    Returns
    -------
    Report
        ``str(report)`` is the text the command prints; ``report.ok`` is True
        when every exercise passes.
    """
    from .exercises import exercises_of

    number = _lesson_number(lesson)
    path = Path(path) if path is not None else find_lesson(number)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    exercises = exercises_of(number)
    ns, problems = load_student(path)
    report = Report(number, str(path), problems=problems)
    for ex in exercises:
        fn = ns.get(ex.name)
        if not callable(fn):
            report.results.append(Result(ex.name, ex.title, "missing",
                                         f"no function `{ex.name}` found in {path} "
                                         f"(is its cell still tagged \"exercise\"?)"))
            continue
        where = location(fn)
        try:
            with np.errstate(all="ignore"):      # a NaN is reported by the check, not warned about
                ex.check(fn)
        except YourTurn:
            report.results.append(Result(ex.name, ex.title, "todo",
                                         f"{where}: still the stub: write `{ex.name}`.", where))
        except Mistake as m:
            failed = [r.name for r in report.results if r.name in ex.uses and not r.ok]
            note = (f" (It uses your {', '.join(failed)}, which does not pass yet: fix that first.)"
                    if failed else "")
            report.results.append(Result(ex.name, ex.title, "fail", f"{where}: `{ex.name}`: {m}{note}",
                                         where))
        else:
            report.results.append(Result(ex.name, ex.title, "pass", "", where))
    return report


def _lesson_number(lesson):
    try:
        number = int(str(lesson).lstrip("0") or "0")
    except ValueError:
        raise ValueError(f"lesson must be a number such as 3 or 03, got {lesson!r}") from None
    return number


def tutorials_dir():
    """The repository's ``tutorials/`` folder (next to the package in a clone), or None."""
    here = Path(__file__).resolve().parents[2] / "tutorials"
    return here if here.is_dir() else None


def find_lesson(number):
    """Path of the repository's lesson ``NN_*.py``."""
    folder = tutorials_dir()
    if folder is None:
        raise FileNotFoundError("the tutorials/ folder of a numpykan clone was not found; "
                                "give the lesson file: numpykan grade NN FILE")
    found = sorted(folder.glob(f"{number:02d}_*.py"))
    if not found:
        raise FileNotFoundError(f"no lesson {number:02d} in {folder}")
    return found[0]


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------

def _cmd_grade(args):
    from .exercises import EXERCISES

    numbers = sorted(EXERCISES) if args.lesson == "all" else [_lesson_number(args.lesson)]
    if args.lesson == "all" and args.file:
        raise SystemExit("numpykan grade all takes no file (it grades the repository's lessons)")
    ok = True
    for number in numbers:
        report = grade(number, args.file)
        print(report)
        ok = ok and report.ok
    return 0 if ok else 1


def _lesson_arg(text):
    """argparse type of ``numpykan grade LESSON``: ``all`` or a lesson with graded exercises."""
    import argparse

    from .exercises import exercises_of

    if text != "all":
        try:
            exercises_of(_lesson_number(text))
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return text


def add_grade_parser(sub):
    """Register ``numpykan grade LESSON [FILE]`` on an argparse subparsers object."""
    from .exercises import EXERCISES

    listing = ", ".join(f"{n:02d}" for n in sorted(EXERCISES))
    p = sub.add_parser(
        "grade", help="grade a student's exercises of one lesson",
        description=f"Check the functions a student wrote in a lesson's exercise cells against "
                    f"numpykan's. Lessons with graded exercises: {listing}. Exit status 0 when "
                    f"every exercise passes.")
    p.add_argument("lesson", type=_lesson_arg,
                   help="lesson number (e.g. 03), or 'all' for the repository's lessons")
    p.add_argument("file", nargs="?", default=None,
                   help="the student's lesson (.py or .ipynb); default: the repository's lesson "
                        "(the solutions)")
    p.set_defaults(func=_cmd_grade)
    return p
