"""Sphinx extension: the PDF edition's proof boxes, tables and bibliography.

Only the LaTeX builder is affected (each transform has formats = ("latex",)); the site is not.

1. Proof boxes. sphinx-proof writes a proof as an admonition with no title, starting
   "Proof. ...", and the LaTeX box takes its title from the first token after it: an empty
   title bar. This gives the box the title "Proof" and drops the "Proof. " that began it.
2. Tables. Sphinx sets a table with tabulary (it cannot break across pages, so a long table
   starts after half an empty page) and justified columns, whose narrow columns gape and
   whose short headers ("Case") get clipped. This gives every table column widths from its
   content (a narrow column as wide as its content, the rest shared by the text columns,
   never narrower than its longest word), which Sphinx then sets as p{} columns (ragged
   right: see the preamble in _config.yml), and sets a long table (more than
   LONGTABLE_ROWS body rows, outside any box) as a longtable, which breaks across pages.
3. One bibliography. Each chapter ends with the works it cites (the site's per-chapter
   lists, with key prefixes such as ch2-), and the References page lists them all. Sphinx's
   LaTeX writer gathers every citation into a single bibliography at the end of the book, so
   the PDF repeated each work once per chapter that cites it, plus once more. This keeps one
   entry per work, the References page's, and points every citation at it; the
   bibliography is then the References chapter itself (the preamble in _config.yml keeps
   it from opening a chapter "Bibliography" of its own), and a chapter's "References"
   section, left with a heading only, is dropped.
"""
from __future__ import annotations

import re
from collections import defaultdict

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

LONGTABLE_ROWS = 10     # a table with more body rows than this breaks across pages
LINE_CHARS = 90         # about how many characters of table text fit the text width
PAD = 4                 # a column's separation and a margin, in characters
MAX_WORD = 28           # a longer "word" (code) may break, so it does not set the minimum
REFERENCES_DOC = "references"   # the page whose bibliography lists every work (:all:)


class ProofBoxTitle(SphinxPostTransform):
    default_priority = 200
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        from sphinx_proof.nodes import proof_node

        for proof in self.document.findall(proof_node):
            for box in proof.children:
                if not isinstance(box, nodes.admonition) or isinstance(box.next_node(), nodes.title):
                    continue
                if box.children and isinstance(box.children[0], nodes.title):
                    continue
                para = box.next_node(nodes.paragraph)
                first = para.next_node(nodes.Text) if para is not None else None
                if first is not None and first.startswith("Proof. "):
                    first.parent.replace(first, nodes.Text(first[len("Proof. "):]))
                box.insert(0, nodes.title("", "Proof"))


def _column_widths(table: nodes.table) -> list[int] | None:
    tgroup = table.next_node(nodes.tgroup)
    if tgroup is None:
        return None
    ncols = int(tgroup.get("cols", 0))
    longest = [0] * ncols   # the longest cell text of each column
    word = [0] * ncols      # the longest word of each column
    for row in tgroup.findall(nodes.row):
        col = 0
        for entry in row.children:
            if not isinstance(entry, nodes.entry) or col >= ncols:
                continue
            span = 1 + int(entry.get("morecols", 0))
            text = " ".join(entry.astext().split())
            if span == 1:
                longest[col] = max(longest[col], len(text))
                words = [len(w) for w in text.split()] or [0]
                word[col] = max(word[col], min(max(words), MAX_WORD))
            col += span
    natural = [n + PAD for n in longest]
    minimum = [w + PAD for w in word]
    fixed: dict[int, float] = {}
    while len(fixed) < ncols:
        flex = [j for j in range(ncols) if j not in fixed]
        room = max(LINE_CHARS - sum(fixed.values()), 1)
        if sum(natural[j] for j in flex) <= room:      # the rest fit as they are
            fixed.update({j: natural[j] for j in flex})
            break
        narrow = [j for j in flex if natural[j] <= room / len(flex)]
        if not narrow:                                  # text columns share what is left
            total = sum(natural[j] for j in flex)
            fixed.update({j: max(room * natural[j] / total, minimum[j]) for j in flex})
            break
        fixed.update({j: natural[j] for j in narrow})  # a narrow column keeps its width
    return [max(1, round(10 * fixed[j])) for j in range(ncols)]


class TableLayout(SphinxPostTransform):
    default_priority = 200
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for table in list(self.document.findall(nodes.table)):
            classes = table["classes"]
            index = table.parent.index(table) if table.parent is not None else 0
            previous = table.parent[index - 1] if index > 0 else None
            if "colwidths-given" in classes or isinstance(previous, addnodes.tabular_col_spec):
                continue
            widths = _column_widths(table)
            if not widths:
                continue
            for colspec, width in zip(table.findall(nodes.colspec), widths):
                colspec["colwidth"] = width
            classes.append("colwidths-given")
            body = table.next_node(nodes.tbody)
            rows = len(body.children) if body is not None else 0
            boxed = any(isinstance(a, (nodes.Admonition, nodes.table, nodes.list_item, nodes.sidebar))
                        for a in _ancestors(table))
            if rows > LONGTABLE_ROWS and not boxed and "longtable" not in classes:
                classes.append("longtable")


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


class OneBibliography(SphinxPostTransform):
    # after the citations are made and the references resolved, before Sphinx gathers the
    # citations at the end of the book (sphinx.builders.latex.transforms, priority 750)
    default_priority = 700
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        domain = self.env.get_domain("cite")
        entry_of = {(c.bibliography_key.docname, c.citation_id): c.entry.key
                    for c in domain.citations}
        by_entry = defaultdict(list)
        for node in self.document.findall(nodes.citation):
            key = entry_of.get((node.get("docname"), node["ids"][0] if node["ids"] else None))
            if key is not None:
                by_entry[key].append(node)
        target = {}   # "docname:id" of a dropped entry -> "docname:id" of the kept one
        for key, copies in by_entry.items():
            kept = next((n for n in copies if n["docname"] == REFERENCES_DOC), copies[0])
            for node in copies:
                if node is not kept:
                    target[f"{node['docname']}:{node['ids'][0]}"] = f"{kept['docname']}:{kept['ids'][0]}"
                    node.parent.remove(node)
        if not target:
            return
        self.drop_emptied_sections()
        from sphinxcontrib.bibtex.nodes import raw_latex

        link = re.compile(r"\\hyperlink\{cite\.([^}]*)\}")
        for node in list(self.document.findall(raw_latex)):
            new = link.sub(lambda m: "\\hyperlink{cite.%s}" % target.get(m.group(1), m.group(1)),
                           node.rawsource)
            if new != node.rawsource:
                node.replace_self(raw_latex(new))


    def drop_emptied_sections(self) -> None:
        """Remove a chapter's "References" section once its entries moved to the References page.

        Left in, it would print a heading over nothing at the end of every chapter.
        """
        for section in list(self.document.findall(nodes.section)):
            title = section.next_node(nodes.title)
            if title is None or title.astext().strip() != "References":
                continue
            body = "".join(child.astext() for child in section.children if child is not title)
            if not body.strip() and section.parent is not None:
                section.parent.remove(section)


def setup(app):
    app.add_post_transform(ProofBoxTitle)
    app.add_post_transform(TableLayout)
    app.add_post_transform(OneBibliography)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
