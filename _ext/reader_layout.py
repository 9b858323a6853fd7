"""Sphinx extension: the site reads well on a phone, and search snippets show no TeX delimiters.

Adds three files of _ext/static/ to every page of the HTML site:

- course-layout.css: at 390 px no page scrolls sideways. Inline code and long words wrap
  (Sphinx's <span class="pre"> never wraps, so one long identifier widened the whole page),
  API signatures wrap, index tables and wide output tables scroll inside their own box, and
  display maths scroll inside their own box. tools/check_site.py checks every page at 390 px.
- course-figures.js: on a phone, figures keep a width at which their smallest text reads at the
  page's small print, and scroll sideways inside their own box (the page does not).
- course-search.js: Sphinx's search makes each result's snippet from the page's HTML, where
  the maths is still TeX between \\( \\) (MathJax typesets it only in the browser), so snippets
  read "\\(\\varepsilon / C\\)". The script drops the delimiters from the snippet text.

The files live in _ext/static/ (not _static/, whose every .css and .js Jupyter Book would add
by itself; and _ext/ is excluded from the book's sources).
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app) -> None:
    if app.builder.format == "html" and str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", add_static_path)
    app.add_css_file("course-layout.css")
    app.add_js_file("course-search.js")
    app.add_js_file("course-figures.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
