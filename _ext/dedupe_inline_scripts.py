"""Sphinx extension: drop duplicated inline <script> blocks from every page.

Sphinx 7.4 adds an inline script registered after the builder started (sphinx-thebe's
`const THEBE_JS_URL = ...`, sphinx-togglebutton's settings) twice: once as
`_JavaScript(None, body=...)` and once as `_JavaScript('', body=...)`, which do not
compare equal. The second `const` declaration is a JavaScript SyntaxError on every page
("Identifier 'THEBE_JS_URL' has already been declared"), which the browser check reports.
This keeps the first copy of each inline script.
"""
from __future__ import annotations


def drop_duplicate_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    kept = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if not getattr(script, "filename", None) and body:
            key = (body, tuple(sorted((k, str(v)) for k, v in script.attributes.items())))
            if key in seen:
                continue
            seen.add(key)
        kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", drop_duplicate_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
