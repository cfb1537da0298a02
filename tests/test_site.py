"""The course website builds, and a real headless browser finds math, figures and no broken links.

Builds a partial site (lesson 01 in QUICK mode, the index and the API reference)
with ``numpykan.teaching.website.build_site``, then opens its pages in Debian's
Chromium over the DevTools pipe (tests/browser.py). Skipped, with the reason, when
the docs extra (Sphinx, myst-nb, numpydoc, jupytext, nbclient, ipykernel) or
Chromium is missing; .ci/run installs both.
"""

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from browser import Browser, find_chromium

NEEDED = ["sphinx", "myst_nb", "numpydoc", "jupytext", "nbclient", "ipykernel"]
missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(bool(missing), reason=f"the docs extra is not installed (missing {missing}): "
                                             f'pip install "numpykan[docs]"'),
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"),
]

MATH_READY = ("(window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve())"
              ".then(() => document.querySelectorAll('mjx-container svg').length)")
IMAGES = ("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
LINKS = "Array.from(document.links).map(a => a.href)"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from numpykan.teaching.website import build_site

    out = tmp_path_factory.mktemp("site")
    index = build_site(out, numbers=[1], quick=True, log=lambda *a: None)
    return index.parent


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


def _page(browser, path):
    browser.open(path.as_uri())
    return browser


def test_index_links_to_the_lesson_and_the_reference(site, browser):
    links = _page(browser, site / "index.html").evaluate(LINKS)
    assert any(link.endswith("lessons/01_bsplines.html") for link in links), links
    assert any(link.endswith("api.html") for link in links), links


def test_lesson_page_has_rendered_math_and_figures(site, browser):
    page = _page(browser, site / "lessons" / "01_bsplines.html")
    rendered = page.evaluate(MATH_READY)
    assert rendered >= 3, f"MathJax rendered {rendered} formulas on lesson 01 (expected the lesson's display math)"
    images = page.evaluate(IMAGES)
    assert len(images) >= 2, f"lesson 01 saves two figures; the page has {images}"
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"images that did not load: {broken}"
    text = page.evaluate("document.body.innerText")
    assert "max |by hand - basis_reference|" in text         # the executed outputs are there


def test_api_page_documents_the_docstrings(site, browser):
    page = _page(browser, site / "api.html")
    text = page.evaluate("document.body.innerText")
    assert "basis_derivative" in text and "Parameters" in text
    assert page.evaluate(MATH_READY) >= 1                   # numpydoc's .. math:: in the docstrings


@pytest.mark.parametrize("name", ["index.html", "lessons/01_bsplines.html", "api.html"])
def test_no_broken_links_between_pages(site, browser, name):
    links = _page(browser, site / name).evaluate(LINKS)
    root = site.resolve()
    checked = 0
    for link in links:
        url = urlparse(link)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        assert target.exists(), f"{name} links to a missing page: {link}"
        if url.fragment and target.suffix == ".html" and root in target.resolve().parents:
            ids = set(re.findall(r'id="([^"]+)"', target.read_text(encoding="utf-8")))
            assert unquote(url.fragment) in ids, f"{name} links to a missing anchor: {link}"
        checked += 1
    assert checked >= 3, f"{name}: only {checked} links between pages"
