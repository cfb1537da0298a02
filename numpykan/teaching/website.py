"""The course website: the lessons executed, with figures and math, and the API reference.

Built with Sphinx, myst-nb (notebooks and MyST Markdown) and numpydoc (the
docstrings' format), from the sources in ``docs/site/`` and the teacher
notebooks of :mod:`numpykan.teaching.course` (executed once, then rendered with
execution off). :func:`build_site` stages everything into ``OUT/_source`` and
writes the HTML into ``OUT/html``; open ``OUT/html/index.html``.

MathJax comes from the ``django-static-mathjax`` package of the docs extra
(MathJax 3, copied into the site), so the site needs no network to show its
math; without that package it loads MathJax from its CDN.

Needs the ``docs`` extra: ``pip install "numpykan[docs]"``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

__all__ = ["site_sources", "build_site", "add_site_parser"]


def site_sources():
    """The repository's ``docs/site/`` folder (next to the package in a clone)."""
    here = Path(__file__).resolve().parents[2] / "docs" / "site"
    if not (here / "conf.py").exists():
        raise FileNotFoundError(f"the website sources {here} were not found (a numpykan clone has them)")
    return here


def build_site(out, numbers=None, quick=False, lessons_dir=None, timeout=600, log=print):
    """Build the website into ``out/html``; returns the path of its ``index.html``.

    Parameters
    ----------
    out : str or Path
        Output folder; ``_source`` (the staged Sphinx sources) and ``html`` go inside.
    numbers : list of int, optional
        Only these lessons (a quick partial site, as the test builds).
    quick : bool
        Execute the lessons with ``QUICK=1``.
    """
    from .course import _require, build

    _require("sphinx", "myst_nb", "numpydoc")
    from sphinx.cmd.build import build_main

    out = Path(out)
    src = out / "_source"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(site_sources(), src, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    t0 = time.perf_counter()
    notebooks = build(out / "_notebooks", numbers, quick=quick, lessons_dir=lessons_dir,
                      timeout=timeout, log=log, hide_solutions=True)
    (src / "lessons").mkdir(exist_ok=True)
    for path in notebooks["teacher"]:
        shutil.copy(path, src / "lessons" / path.name)
    log(f"lessons executed in {time.perf_counter() - t0:.1f} s; running Sphinx ...")
    t1 = time.perf_counter()
    html = out / "html"
    status = build_main(["-b", "html", "-q", "-d", str(out / "_doctrees"), str(src), str(html)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed with status {status} (messages above)")
    log(f"Sphinx wrote {html} in {time.perf_counter() - t1:.1f} s")
    return html / "index.html"


def _cmd_site(args):
    from .course import _numbers

    index = build_site(args.out, _numbers(args.lessons), quick=args.quick,
                       lessons_dir=args.lessons_dir, timeout=args.timeout)
    print(f"website: {index}")
    return 0


def add_site_parser(csub, common):
    """Register ``numpykan course site`` on the ``course`` subcommands."""
    s = csub.add_parser("site", help="build the course website (lessons executed, API reference)")
    s.add_argument("--out", required=True, help="output folder; the site goes into OUT/html")
    common(s)
    s.set_defaults(func=_cmd_site)
    return s
