"""Sphinx extension: two works by the same authors in the same year read "1990a" and "1990b".

The book cites author-year ("Bridle, 1990"). references.bib has two 1990 papers by Bridle,
both cited at once in chapter 2, which then read "[Bridle, 1990, Bridle, 1990]": two works,
one label. sphinxcontrib-bibtex's author-year style does not tell such works apart, so this
gives them the usual letters, in the order of references.bib: the citation reads
"[Bridle, 1990a, Bridle, 1990b]" and the bibliography entries end in 1990a and 1990b.
It runs when the builder starts, on the entries sphinxcontrib-bibtex has parsed.
"""
from __future__ import annotations

import re
import string
from collections import defaultdict


def _authors(entry) -> tuple[str, ...]:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    return tuple(" ".join(person.last_names) for person in people)


def letter_same_author_years(app) -> None:
    try:
        domain = app.env.get_domain("cite")
    except Exception:
        return
    entries = domain.bibdata.data.entries
    groups = defaultdict(list)
    for key, entry in entries.items():
        year = re.match(r"\d{4}", entry.fields.get("year", ""))
        if year:
            groups[(_authors(entry), year.group())].append(entry)
    for (_, year), same in groups.items():
        for i, entry in enumerate(same):
            # idempotent: a cached environment keeps the letters of an earlier build
            entry.fields["year"] = year + (string.ascii_lowercase[i] if len(same) > 1 else "")


def setup(app):
    app.connect("builder-inited", letter_same_author_years)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
