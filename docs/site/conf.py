"""Sphinx configuration of the numpykan course website (built by ``numpykan course site``).

Sphinx with myst-nb and numpydoc: myst-nb renders the executed lesson notebooks
and MyST Markdown pages, numpydoc the API reference from the docstrings. See
README.md in this folder for why these tools and how to add a page.
"""

import shutil
from pathlib import Path

import numpykan

project = "numpykan"
author = "the numpykan authors"
copyright = "the numpykan authors, MIT licence"
release = numpykan.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"                 # the lessons arrive executed (numpykan course build)
nb_merge_streams = True
exclude_patterns = ["README.md", "_build", "**.ipynb_checkpoints"]
html_theme = "alabaster"
html_theme_options = {"description": "Kolmogorov-Arnold Networks in pure NumPy: a course",
                      "fixed_sidebar": True, "page_width": "1160px"}
html_static_path = ["_static"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_member_order = "bysource"
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# MathJax 3 from the docs extra (django-static-mathjax), copied into the site so that
# its math shows without network; without that package, Sphinx's default CDN.
here = Path(__file__).parent
(here / "_static").mkdir(exist_ok=True)
try:
    import mathjax as _mathjax_pkg

    _es5 = Path(_mathjax_pkg.__file__).parent / "static" / "mathjax" / "es5"
except ImportError:
    _es5 = None
if _es5 is not None and (_es5 / "tex-svg.js").exists():
    target = here / "_static" / "mathjax"
    target.mkdir(exist_ok=True)
    shutil.copy(_es5 / "tex-svg.js", target / "tex-svg.js")
    shutil.copytree(_es5 / "input" / "tex" / "extensions", target / "input" / "tex" / "extensions",
                    dirs_exist_ok=True)
    mathjax_path = "mathjax/tex-svg.js"
