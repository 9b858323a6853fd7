"""Assignment notebooks: the student version, and the code of a submission, ready to run.

A source notebook (assignments/source/NAME/NAME.ipynb) marks its cells with nbgrader-style
metadata, ``cell.metadata["nbgrader"]`` (plain JSON; nbgrader itself is not needed):

- ``solution: true``: an answer cell. Its code between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` is the reference answer; the student version replaces it with
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``;
- ``locked: true``: a cell the student must not change (setup code, visible tests). Grading
  uses the source's version of every locked cell, and reports a cell that was edited or deleted;
- ``grade_id``: the cell's name. A visible-test cell's name ends in ``_visible``: it checks the
  basics while the student works and never runs at grading (the graded checks live in
  checks.py, not in the notebook).
"""
from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .model import Status

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_CODE = "# YOUR CODE HERE\nraise NotImplementedError()"
STUB_MARKDOWN = "YOUR ANSWER HERE"
MAGIC = re.compile(r"^(\s*)([%!].*)$")


class NotebookError(ValueError):
    """A source notebook breaks the conventions above (the message names the cell)."""


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str:
    return meta(cell).get("grade_id", "")


def is_answer(cell) -> bool:
    return bool(meta(cell).get("solution"))


def is_locked(cell) -> bool:
    return bool(meta(cell).get("locked")) and not is_answer(cell)


def is_visible_test(cell) -> bool:
    return grade_id(cell).endswith("_visible")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


# ------------------------------------------------------------------------------ student version
def strip_solution(source: str, markdown: bool = False) -> str:
    """The cell's text with each BEGIN/END SOLUTION region replaced by the stub, indented alike."""
    out, inside = [], False
    for line in source.splitlines():
        if BEGIN in line:
            if inside:
                raise NotebookError(f"nested {BEGIN!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            stub = STUB_MARKDOWN if markdown else STUB_CODE
            out += [indent + s for s in stub.splitlines()]
        elif END in line:
            if not inside:
                raise NotebookError(f"{END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{BEGIN!r} without {END!r}")
    return "\n".join(out)


def student_version(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook handed to students: answers stubbed, outputs cleared, metadata kept."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if is_answer(cell):
            if BEGIN not in cell.source:
                raise NotebookError(f"answer cell {grade_id(cell)!r} has no {BEGIN!r}")
            cell.source = strip_solution(cell.source, markdown=cell.cell_type == "markdown")
        elif BEGIN in cell.source or END in cell.source:
            raise NotebookError(f"cell {grade_id(cell) or cell.source[:40]!r} has solution "
                                "markers but is not an answer cell (nbgrader solution: true)")
    return nb


# ------------------------------------------------------------------------------ a submission
@dataclass
class Submission:
    """What grading runs of one submission: cells of code in order, and what was noticed."""
    cells: list[tuple[str, str]] = field(default_factory=list)   # (name, code)
    statuses: list[Status] = field(default_factory=list)


def defined_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def without_magics(code: str) -> str:
    """IPython's %magics and !shell lines become `pass` (they are not Python, and not graded)."""
    return "\n".join(MAGIC.sub(r"\1pass  # not run at grading: \2", line)
                     for line in code.splitlines())


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def submission_code(source: nbformat.NotebookNode, path: Path) -> Submission:
    """The code to grade from the submitted notebook at ``path``, against its source notebook.

    - every locked code cell of the source runs in its original version, first (setup code);
      one the student edited or deleted is reported as ``restored_cell``; visible-test cells
      never run, so editing them changes nothing (and is not reported);
    - every other code cell of the submission runs, in the submission's order: the answers and
      any cells the student added. Cells that lost their grading metadata are matched to the
      source by their content (or, for answers, by the functions they define) and reported as
      ``lost_metadata``.
    Raises NotebookError if the file is not a readable notebook.
    """
    try:
        nb = read(path)
    except Exception as e:  # nbformat raises many kinds (JSON, validation, encoding)
        raise NotebookError(f"{path.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    result = Submission()
    by_id = {grade_id(c): c for c in nb.cells if grade_id(c)}
    source_cells = [c for c in source.cells if c.cell_type == "code"]
    locked = [c for c in source_cells if is_locked(c)]
    answers = {grade_id(c): c for c in source_cells if is_answer(c)}
    submitted = [c for c in nb.cells if c.cell_type == "code"]

    lost: list[str] = []
    used: set[int] = set()      # indices into submitted of cells matched to a locked cell
    for cell in locked:
        cid = grade_id(cell)
        mine = by_id.get(cid)
        if mine is None:   # metadata lost? find the cell by its content
            match = next((i for i, c in enumerate(submitted)
                          if not grade_id(c) and _same(c.source, cell.source)), None)
            if match is not None:
                used.add(match)
                lost.append(cid)
            elif not is_visible_test(cell):
                result.statuses.append(Status("restored_cell", f"{cid} (deleted)"))
        else:
            used.add(next(i for i, c in enumerate(submitted) if c is mine))
            if not _same(mine.source, cell.source) and not is_visible_test(cell):
                result.statuses.append(Status("restored_cell", f"{cid} (edited)"))
            if mine.cell_type != "code" and not is_visible_test(cell):
                result.statuses.append(Status("restored_cell", f"{cid} (not a code cell)"))
        if not is_visible_test(cell):
            result.cells.append((cid, cell.source))

    for i, cell in enumerate(submitted):
        if i in used:
            continue
        cid = grade_id(cell)
        if cid and cid not in answers:
            continue   # a test or setup cell of the source under a changed id: not the student's
        if not cid:
            # An answer cell that lost its metadata: it defines what a source answer defines.
            names = defined_names(cell.source)
            twin = next((a for a, c in answers.items() if a not in by_id and
                         names & defined_names(c.source)), None)
            if twin is not None:
                lost.append(twin)
                by_id[twin] = cell
                cid = twin
        result.cells.append((cid or f"cell {i + 1}", without_magics(cell.source)))
    if lost:
        result.statuses.append(Status("lost_metadata", ", ".join(lost)))
    missing = [a for a in answers if a not in by_id or by_id[a].cell_type != "code"]
    if missing:
        result.statuses.append(Status("missing_answer", ", ".join(missing)))
    return result


