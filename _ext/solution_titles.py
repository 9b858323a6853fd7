"""Sphinx extension: "Solution to Exercise 8", not "Solution to_Exercise 8".

sphinx-exercise titles a solution "Solution to" followed by a link whose text starts with a
space (" Exercise 8 (...)"), so the underlined link begins with a blank and the title looks
as if it had two spaces. This moves the space out of the link, after "Solution to". It runs
just after sphinx-exercise resolves the titles (its post-transform has priority 21).
"""
from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx_exercise.nodes import solution_node


class SpaceBeforeSolutionLink(SphinxPostTransform):
    default_priority = 22

    def run(self, **kwargs) -> None:
        for solution in self.document.findall(solution_node):
            title = solution.children[0] if solution.children else None
            if not isinstance(title, nodes.title) or len(title.children) < 2:
                continue
            text, link = title.children[0], title.children[1]
            if not isinstance(text, nodes.Text) or not isinstance(link, nodes.reference):
                continue
            first = link.children[0] if link.children else None
            if isinstance(first, nodes.Text) and first.startswith(" "):
                link.replace(first, nodes.Text(first.lstrip()))
                title.replace(text, nodes.Text(text.rstrip() + " "))


def setup(app):
    app.add_post_transform(SpaceBeforeSolutionLink)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
