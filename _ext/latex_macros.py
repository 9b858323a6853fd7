"""Sphinx extension: the maths of the site, also in the PDF.

1. The book's macros (\\KL, \\E, \\softmax, ...) are defined once, for MathJax, in
   _config.yml (sphinx.config.mathjax3_config.tex.macros). The LaTeX builder knows nothing
   of MathJax, so without this the PDF stops at the first "Undefined control sequence".
   This turns each macro into a \\newcommand in the LaTeX preamble, so they stay defined
   in one place. (\\newcommand, not \\renewcommand: a clash with a LaTeX command fails.)
2. Maths in a section title also goes into the PDF's bookmarks, as text. With unicode-math
   (which the PDF template loads), hyperref cannot turn \\varepsilon, \\varphi, \\vartheta,
   \\varrho or \\varpi into text and the build stops ("Improper alphabetic constant"; the
   other Greek letters work). The preamble tells hyperref the Unicode letter of each.
"""
from __future__ import annotations


def _newcommand(name: str, definition) -> str:
    if isinstance(definition, (list, tuple)):  # MathJax form [body, number of arguments]
        body, nargs = definition[0], int(definition[1])
        return f"\\newcommand{{\\{name}}}[{nargs}]{{{body}}}"
    return f"\\newcommand{{\\{name}}}{{{definition}}}"


# In PDF bookmarks (hyperref's \\pdfstringdef), the letters unicode-math leaves undefined there.
BOOKMARK_LETTERS = {"varepsilon": "\u03b5", "varphi": "\u03c6", "vartheta": "\u03d1",
                    "varrho": "\u03f1", "varpi": "\u03d6"}


def add_macros_to_preamble(app, config) -> None:
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    lines = ["% maths macros of the site (_config.yml mathjax3_config), by _ext/latex_macros.py"]
    lines += [_newcommand(name, definition) for name, definition in macros.items()]
    lines.append("% Greek letters in PDF bookmarks (section titles with maths), by _ext/latex_macros.py")
    lines.append("\\pdfstringdefDisableCommands{"
                 + "".join(f"\\def\\{name}{{{letter}}}" for name, letter in BOOKMARK_LETTERS.items())
                 + "}")
    elements = config.latex_elements
    elements["preamble"] = elements.get("preamble", "") + "\n" + "\n".join(lines) + "\n"


def setup(app):
    app.connect("config-inited", add_macros_to_preamble)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
