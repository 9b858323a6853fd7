"""Sphinx extension: put the book's PDF edition into the site and link it.

The PDF is built by jupyter-book's LaTeX builder (`./course pdf`) into
_build/latex/<name>.pdf, where <name> comes from `latex.latex_documents.targetname`.
When the HTML is built and that PDF exists, this extension

  - copies it to the root of the site (_build/html/<name>.pdf, a fixed address);
  - adds "Book (PDF)" to the download menu at the top of every page (the theme's menu
    holds only this page's .ipynb/.md and "print to PDF");
  - renders the `{pdf-edition}` directive (used on the intro page) as a sentence with a
    link to it and its size.

Without a PDF (no TeX installed, or `./course build` alone) the site has no PDF link at
all, rather than a broken one, and the directive renders nothing. In the PDF itself the
directive renders nothing either.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)


class pdf_edition_placeholder(nodes.General, nodes.Element):
    """Where the sentence with the PDF link goes; replaced once the output is known."""


class PdfEditionDirective(SphinxDirective):
    has_content = False

    def run(self):
        return [pdf_edition_placeholder()]


def pdf_name(app) -> str:
    """File name of the PDF: the LaTeX target name with .pdf instead of .tex."""
    documents = app.config.latex_documents
    target = documents[0][1] if documents else "book.tex"
    return Path(target).with_suffix(".pdf").name


def built_pdf(app) -> Path | None:
    """The PDF the LaTeX builder left beside the HTML output (_build/latex/), if any."""
    pdf = Path(app.outdir).parent / "latex" / pdf_name(app)
    return pdf if pdf.is_file() else None


def _is_html(app) -> bool:
    return app.builder.format == "html"


def render_placeholders(app, doctree, docname) -> None:
    pdf = built_pdf(app) if _is_html(app) else None
    for node in list(doctree.findall(pdf_edition_placeholder)):
        if pdf is None:
            node.parent.remove(node)
            continue
        uri = relative_uri(app.builder.get_target_uri(docname), pdf.name)
        size = f"{pdf.stat().st_size / 1e6:.1f} MB"
        para = nodes.paragraph(classes=["pdf-edition"])
        para += nodes.strong(text="Prefer paper, or reading offline? ")
        para += nodes.Text("The whole course is also one PDF, built from the same notebooks, "
                           "with every exercise and its solution: ")
        para += nodes.reference("", pdf.name, refuri=uri, classes=["pdf-edition-link"])
        para += nodes.Text(f" ({size}).")
        node.replace_self(para)


def add_download_entry(app, pagename, templatename, context, doctree) -> None:
    """Add the book PDF to the theme's download menu (built at priority 501)."""
    if not _is_html(app) or built_pdf(app) is None:
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append({
                "type": "link",
                "url": context["pathto"](pdf_name(app), 1),
                "text": "Book (PDF)",
                "tooltip": "Download the whole book as one PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            })


def copy_pdf(app, exception) -> None:
    if exception is not None or not _is_html(app):
        return
    target = Path(app.outdir) / pdf_name(app)
    pdf = built_pdf(app)
    if pdf is None:
        target.unlink(missing_ok=True)  # no stale copy of an earlier PDF in the site
        logger.info("pdf_edition: no PDF at %s, so the site links none "
                    "(build it with ./course pdf)", Path(app.outdir).parent / "latex")
        return
    shutil.copyfile(pdf, target)
    logger.info("pdf_edition: copied %s into the site as %s", pdf, target.name)


def _skip(self, node):
    raise nodes.SkipNode


def setup(app):
    app.add_node(pdf_edition_placeholder, **{
        fmt: (_skip, None) for fmt in ("html", "latex", "text", "man", "texinfo")})
    app.add_directive("pdf-edition", PdfEditionDirective)
    app.connect("doctree-resolved", render_placeholders)
    app.connect("html-page-context", add_download_entry, priority=600)
    app.connect("build-finished", copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
