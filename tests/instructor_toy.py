"""A toy assignment for the instructor kit's own tests: small, fast, and not the course's.

``make_course(folder)`` writes folder/source/toy/{toy.ipynb, checks.py} and folder/course.toml:
one part, "double", whose answer is ``double(x) = 2 * x`` keeping x's dtype, and whose checks
are one of each kind (value, dtype, unchanged, raises).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

SETUP = "import numpy as np"
ANSWER = '''def double(x):
    """2 x, with x's dtype."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    return x * x.dtype.type(2)
    ### END SOLUTION'''
VISIBLE = "# visible test\nassert double(np.array([1.0]))[0] == 2.0, 'double(1.0) should be 2.0'"

CHECKS = '''
import numpy as np
from instructor.checks import Call, Check

PARTS = {"double": "(a) double(x)"}
POINTS = {"double": 4}


def checks():
    x = np.array([1.0, -2.5, np.inf, np.nan])
    x32 = np.array([1.5, 3.0], dtype=np.float32)
    call, call32 = Call("double", (x,)), Call("double", (x32,))
    return [
        Check("double", "float64 values", 1.5, call, 2 * x),
        Check("double", "x is left unchanged", 0.5, call, kind="unchanged"),
        Check("double", "float32 values", 0.5, call32, 2 * x32, rtol=1e-6),
        Check("double", "float32 in, float32 out", 0.5, call32, 2 * x32, kind="dtype"),
        Check("double", "a string is a TypeError", 1.0, Call("double", ("a",)), "TypeError",
              kind="raises"),
    ]
'''

TOML = '''
[defaults]
allowed_imports = ["numpy", "math", "sys", "logging", "warnings"]
on_forbidden = "zero"
timeout_s = 20
call_timeout_s = 2
memory_mb = 1024
late_penalty_per_day = 0.25
max_late_days = 2

[assignments.toy]
deadline = "2027-01-10T12:00:00+00:00"
'''


def cell(kind: str, source: str, grade_id: str, *, solution=False, locked=False):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    c = make(source)
    c.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": locked,
                              "schema_version": 3, "solution": solution, "task": False}
    return c


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Toy assignment"),
                cell("code", SETUP, "setup", locked=True),
                cell("code", ANSWER, "double", solution=True),
                cell("code", VISIBLE, "double_visible", locked=True)]
    return nb


def make_course(folder: Path) -> Path:
    toy = folder / "source" / "toy"
    toy.mkdir(parents=True)
    nbformat.write(source_notebook(), toy / "toy.ipynb")
    (toy / "checks.py").write_text(textwrap.dedent(CHECKS))
    (folder / "course.toml").write_text(TOML)
    return folder


def with_answer(code: str, nb: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The source notebook with the answer cell's code replaced."""
    nb = nb or source_notebook()
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "double":
            c.source = code
    return nb
