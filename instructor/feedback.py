"""Feedback a student can use: one self-contained HTML file per student and assignment.

Each file lists the score, what happened (statuses in words), every part with every check:
its name, its points and, for a failed check, why it failed; then what the submission printed.
It has no script and loads nothing (it reads the same offline, in an LMS and on a phone), and
follows the reader's light or dark mode.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from .model import STATUS_CODES, SubmissionResult

STYLE = """
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; }
@media (prefers-color-scheme: dark) { :root { --ok: #3fb950; --bad: #ff7b72; --muted: #9da7b3; } }
body { font: 16px/1.5 system-ui, sans-serif; max-width: 50rem; margin: 1.5rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
td.points { white-space: nowrap; text-align: right; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .muted { color: var(--muted); }
pre { overflow-x: auto; padding: .75rem; border: 1px solid #8886; white-space: pre-wrap; }
"""


def render(result: SubmissionResult, parts: dict[str, str]) -> str:
    """The feedback page of one graded submission."""
    h = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
         f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
         f"<title>{escape(result.assignment)}: feedback for {escape(result.student)}</title>"
         f"<style>{STYLE}</style></head><body>",
         f"<h1>{escape(result.assignment)}</h1>",
         f"<p>Student: <strong>{escape(result.student)}</strong><br>"
         f"Score: <strong>{result.score:g} / {result.max_score:g}</strong>"]
    if result.score != result.raw_score:
        h.append(f" <span class='muted'>(the checks gave {result.raw_score:g}; see below)</span>")
    h.append(f"<br><span class='muted'>Graded {escape(result.graded_at)}"
             + (f"; submitted {escape(result.submitted_at)}" if result.submitted_at else "")
             + "</span></p>")
    if result.statuses:
        h.append("<h2>What the grader noticed</h2><ul>")
        for s in result.statuses:
            words = STATUS_CODES.get(s.code, s.code)
            h.append(f"<li><strong>{escape(words)}</strong>"
                     + (f": {escape(s.detail)}" if s.detail else "") + "</li>")
        h.append("</ul>")
    failed = [c for c in result.checks if not c.passed]
    h.append(f"<p>{len(result.checks) - len(failed)} of {len(result.checks)} checks passed."
             + (" Every failed check is listed with its reason." if failed else "") + "</p>")
    totals = result.part_scores()
    for part, (points, maximum) in totals.items():
        title = parts.get(part, part)
        h.append(f"<h2>{escape(title)}: {points:g} / {maximum:g}</h2>")
        h.append("<table><thead><tr><th>check</th><th>result</th><th>points</th></tr></thead>"
                 "<tbody>")
        for c in (c for c in result.checks if c.part == part):
            mark = "<span class='ok'>passed</span>" if c.passed else \
                f"<span class='bad'>failed</span>: {escape(c.message)}"
            h.append(f"<tr><td>{escape(c.name)}</td><td>{mark}</td>"
                     f"<td class='points'>{c.points:g} / {c.max_points:g}</td></tr>")
        h.append("</tbody></table>")
    if result.output.strip():
        h.append("<h2>What your code printed while graded</h2>"
                 "<p class='muted'>Printing and warnings never cost points.</p>"
                 f"<pre>{escape(result.output)}</pre>")
    h.append("</body></html>")
    return "\n".join(h)


def write_all(results: list[SubmissionResult], parts: dict[str, str], folder: Path) -> list[Path]:
    """folder/<student>.html for each result; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        path = folder / f"{result.student}.html"
        path.write_text(render(result, parts), encoding="utf-8")
        written.append(path)
    return written
