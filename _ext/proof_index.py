"""Sphinx extension: the proof index (prf-prf.html, and the PDF's "Proof Index") lists titles.

sphinx-proof's index lists each theorem, definition, ... by its label alone, one label per
group ("def-ch3-bce"), and sphinx-proof has no setting to change that. This replaces the
index's generate() so that it lists, grouped by chapter in book order and in page order
within a chapter, each statement as the book numbers and titles it: "Definition 11 (Binary cross-entropy)".
"""
from __future__ import annotations

from collections import defaultdict

from docutils import nodes
from sphinx.domains import IndexEntry
from sphinx_proof.domain import ProofIndex


def _titles_in(env, docname: str) -> dict[str, str]:
    """{label: title} of the proof-type statements of one document."""
    found = {}
    for node in env.get_doctree(docname).findall(nodes.Element):
        if "realtype" in node.attributes and "label" in node.attributes:
            title = node.children[0].astext().strip() if node.children else ""
            found[node["label"]] = title.removeprefix("(").removesuffix(")").strip()
    return found


def generate(self, docnames=None):
    env = self.domain.env
    proofs = getattr(env, "proof_list", {})
    by_doc = defaultdict(list)
    for label, values in proofs.items():
        if docnames is None or values["docname"] in docnames:
            by_doc[values["docname"]].append((label, values))
    order = {name: i for i, name in enumerate(env.toctree_includes.get(env.config.root_doc, []))}

    def doc_key(docname: str):
        return (order.get(docname, len(order)), docname)

    content = []
    for docname in sorted(by_doc, key=doc_key):
        titles = _titles_in(env, docname)   # in the order the page shows them
        position = {label: i for i, label in enumerate(titles)}
        numbers = env.toc_fignumbers.get(docname, {})
        entries = []
        for label, values in by_doc[docname]:
            kind = values["realtype"].title()
            number = numbers.get(values["countertype"], {}).get(label, ())
            name = f"{kind} {'.'.join(map(str, number))}".strip()
            if titles.get(label):
                name += f" ({titles[label]})"
            entries.append((position.get(label, len(position)), name, IndexEntry(
                name, 0, docname, label, "", "", "")))
        entries.sort(key=lambda e: (e[0], e[1]))
        chapter = env.titles[docname].astext() if docname in env.titles else docname
        content.append((chapter, [entry for *_, entry in entries]))
    return content, False


def setup(app):
    ProofIndex.generate = generate
    return {"parallel_read_safe": True, "parallel_write_safe": True}
