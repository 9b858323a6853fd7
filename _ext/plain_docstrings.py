"""Sphinx extension: show ce_lib's plain-text docstrings on the API page as written.

ce_lib's docstrings are plain text with ASCII formulas, aligned by hand, e.g.

    loss_i = -w[t_i] * input[i, t_i]          (0 where t_i == ignore_index)

autodoc would parse them as reStructuredText, where `|x|` is a substitution, `*` starts
emphasis and an indented formula is a block quote: the formulas come out mangled and the
strict build (-W) fails. So this extension shows each docstring the way `help()` does:
its first paragraph as escaped text, the rest as a plain monospace block.

Docstrings written in NumPy style (a "Parameters" / "Returns" / "Notes" ... heading
underlined with dashes) are left alone, for sphinx.ext.napoleon to format.
"""
from __future__ import annotations

import re

NUMPYDOC_HEADING = re.compile(
    r"^\s*(Parameters|Returns|Yields|Raises|Notes|Examples|See Also|References)\s*$"
)


def _is_numpydoc(lines: list[str]) -> bool:
    return any(
        NUMPYDOC_HEADING.match(line) and set(nxt.strip()) == {"-"}
        for line, nxt in zip(lines, lines[1:])
    )


def _escape(text: str) -> str:
    """Backslash-escape every punctuation character: reST then shows the text as is."""
    return re.sub(r"([^\w\s])", r"\\\1", text)


def show_as_written(app, what, name, obj, options, lines: list[str]) -> None:
    if not lines or _is_numpydoc(lines):
        return
    try:
        end = lines.index("")  # the first paragraph ends at the first blank line
    except ValueError:
        end = len(lines)
    summary, rest = lines[:end], lines[end + 1:]
    while rest and not rest[-1].strip():
        rest.pop()
    new = [_escape(line) for line in summary]
    if rest:
        # "none": no syntax colouring, the block is prose and formulas, not Python.
        new += ["", ".. code-block:: none", ""] + [("   " + line).rstrip() for line in rest]
    lines[:] = new + [""]


def setup(app):
    # Priority 400 runs this before napoleon (500), which then sees only NumPy-style docstrings.
    app.connect("autodoc-process-docstring", show_as_written, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
