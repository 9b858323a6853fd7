"""The instructor kit end to end: every assignment through nbgrader, as an instructor runs it.

For each assignment of assignments/source/, in a temporary copy of the course folder:

1. `tools/instructor.py assign NAME` makes the student version, which must hold no solution
   code and no hidden test.
2. A folder of submissions, SUBMISSIONS/<student>/NAME.ipynb, the layout the instructor gets:
   - `reference`: the source notebook itself (full marks);
   - one student per planted mistake, tests/assignments/mistakes/NAME/<mistake>.py, and per
     correct alternative, tests/assignments/alternatives/NAME/<variant>.py: the source
     notebook with its answer cells replaced by the file's code (see `read_case`);
   - robustness cases built here (see `robustness_cases`): a submission that crashes, one that
     redefines the test helpers, one that edits and deletes test cells, one that deletes an
     answer with its tests, an untouched student version; and, for the first assignment only,
     a cell that never finishes (30 s timeout), a kernel that dies, a file that is not a
     notebook and a notebook under another name.
3. `tools/instructor.py grade NAME SUBMISSIONS` (one nbgrader autograde for the whole folder)
   and `tools/instructor.py grades grades.csv`.
4. Every student's score on every part, read from the CSV, must be what the case expects.

The four assignments are graded two at a time (one course folder each, 2 cores). Everything
happens under pytest's tmp_path; nothing is written into the repository. Select these tests
with `-m instructor`, skip them with `-m "not instructor"`.
"""
from __future__ import annotations

import ast
import copy
import csv
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="no instructor tools (requirements-instructor.txt)")
import nbformat  # noqa: E402 (installed with nbgrader)

pytestmark = pytest.mark.instructor

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "assignments"
CASES = Path(__file__).resolve().parent / "assignments"
INSTRUCTOR = ROOT / "tools" / "instructor.py"
NAMES = sorted(p.name for p in (COURSE / "source").iterdir() if (p / f"{p.name}.ipynb").exists())
ONCE = NAMES[0]  # the slow or odd robustness cases run for this assignment only

CRASH = 'raise RuntimeError("this submission crashes before defining anything")\n\n'
NEVER_ENDS = "while True:  # never finishes: stopped by the 30 s cell timeout\n    pass\n\n"
KERNEL_DIES = "import os\n\nos._exit(1)  # the kernel dies\n\n"
# Everything a student might redefine to make tests pass, then a wrong answer.
TAMPER = '''
import math, numpy, numpy.testing, torch, torch.testing

numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_almost_equal = lambda *args, **kwargs: None
numpy.allclose = lambda *args, **kwargs: True
torch.allclose = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True


def assert_close(*args, **kwargs):
    pass


check = close = assert_close
'''


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    student: str
    notebook: nbformat.NotebookNode | str   # a str is written as is (not a notebook)
    expect: dict[str, float] = field(default_factory=dict)  # part -> score; others: full marks
    zero_from: list[str] = field(default_factory=list)       # parts expected to score 0
    status: str = "ok"                       # expected 'status' column; None: not in the CSV
    description: str = ""
    filename: str = ""                       # default: NAME.ipynb


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def is_test(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def part_of(cell_id: str) -> str:
    return re.sub(r"_(visible|hidden)$", "", cell_id)


def read_case(path: Path) -> tuple[str, dict[str, float], dict[str, str]]:
    """(description, expected scores, {answer cell id: new code}) from a mistake/alternative file.

    The file: comment lines describing the mistake; `# expect: PART SCORE, PART SCORE` (parts
    not named keep full marks; no line: full marks everywhere); then one section per replaced
    answer cell, opened by `# %% CELL_ID`.
    """
    head, *sections = re.split(r"^# %% (\S+)[ \t]*\n", path.read_text(), flags=re.M)
    expect_line = re.search(r"^# expect:(.*)$", head, flags=re.M)
    expect = {}
    if expect_line:
        for item in expect_line.group(1).split(","):
            part, score = item.split()
            expect[part] = float(score)
    description = " ".join(line[2:] for line in head.splitlines()
                           if line.startswith("# ") and not line.startswith("# expect:"))
    return description, expect, dict(zip(sections[::2], (s.strip() + "\n" for s in sections[1::2])))


def with_answers(source: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source)
    cells = {grade_id(c): c for c in nb.cells if is_solution(c)}
    unknown = set(answers) - set(cells)
    assert not unknown, f"no answer cell {sorted(unknown)}; answer cells: {sorted(cells)}"
    for cell_id, code in answers.items():
        cells[cell_id].source = code
    return nb


def file_cases(name: str, source: nbformat.NotebookNode) -> list[Case]:
    cases = []
    for kind in ("mistakes", "alternatives"):
        for path in sorted((CASES / kind / name).glob("*.py")):
            description, expect, answers = read_case(path)
            assert answers, f"{path}: no '# %% CELL_ID' section"
            assert kind == "alternatives" or expect, f"{path}: a mistake needs an '# expect:' line"
            cases.append(Case(f"{kind[:-1]}-{path.stem}", with_answers(source, answers), expect,
                              description=description))
    return cases


def robustness_cases(name: str, source: nbformat.NotebookNode, release) -> list[Case]:
    """Hostile or broken submissions, aimed at the last answer cell (nothing else uses it)."""
    cells = source.cells
    last = max(i for i, c in enumerate(cells) if is_solution(c))
    last_id = grade_id(cells[last])
    tests = [grade_id(c) for c in cells if is_test(c)]
    late_tests = [grade_id(c) for c in cells[last + 1:] if is_test(c)]
    every = sorted({part_of(t) for t in tests})
    late = sorted({part_of(t) for t in late_tests})  # the parts that test the last answer
    tree = ast.parse(cells[last].source)
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    wrong = "".join(f"\n\ndef {f}(*args, **kwargs):\n    return 0.25\n" for f in functions)

    def answer(code: str) -> nbformat.NotebookNode:
        return with_answers(source, {last_id: code})

    cases = [
        Case("robust-crash", answer(CRASH + cells[last].source), zero_from=late,
             description="the last answer cell raises before defining its function"),
        Case("robust-tampered-helpers", answer(cells[last].source + TAMPER + wrong),
             zero_from=late, description="redefines assert_close, np.testing and torch.testing "
                                         "helpers, math.isclose; wrong answers"),
        Case("robust-untouched", copy.deepcopy(release), zero_from=every,
             description="the student version, submitted as it was handed out"),
    ]

    # Wrong answers, hidden test cells deleted, visible ones rewritten to pass; a test cell of the
    # first part turned into an ordinary cell; the points and lock of another one changed.
    nb = answer(cells[last].source + wrong)
    nb.cells = [c for c in nb.cells
                if not (grade_id(c) in late_tests and grade_id(c).endswith("_hidden"))]
    for c in nb.cells:
        if grade_id(c) in late_tests:
            c.source = 'print("all tests pass")'
    stripped, meddled = [c for c in nb.cells if grade_id(c) in tests][:2]
    del stripped.metadata["nbgrader"]
    stripped.source = "pass  # this was a test"
    meddled.metadata.nbgrader.update(points=100, locked=False)
    meddled.source = "pass"
    cases.append(Case("robust-edited-and-deleted-tests", nb, zero_from=late,
                      description="test cells deleted, rewritten, unlocked, re-pointed"))

    # The last answer cell and every test after it deleted: nbgrader alone crashes on this one.
    nb = copy.deepcopy(source)
    nb.cells = [c for c in nb.cells if grade_id(c) != last_id and grade_id(c) not in late_tests]
    cases.append(Case("robust-deleted-answer-and-tests", nb, zero_from=late,
                      description="the last answer cell and its test cells deleted"))

    if name == ONCE:
        cases += [
            Case("robust-never-finishes", answer(NEVER_ENDS + cells[last].source),
                 zero_from=late, description="an infinite loop at the top of the last answer cell"),
            Case("robust-kernel-dies", answer(KERNEL_DIES + cells[last].source), zero_from=every,
                 status=f"{name}: autograde failed (kernel died?), scored 0",
                 description="os._exit in the last answer cell"),
            Case("robust-not-a-notebook", "{ this is not a notebook", status=None,
                 description="a file that is not JSON"),
            Case("robust-misnamed", copy.deepcopy(source), status=None, filename="Untitled.ipynb",
                 description="the right notebook under another name"),
        ]
    return cases


# --------------------------------------------------------------------------------------------
# Running the pipeline
# --------------------------------------------------------------------------------------------
@dataclass
class Graded:
    name: str
    course: Path
    cases: list[Case]
    maxima: dict[str, str]
    rows: dict[str, dict[str, str]]
    grade_output: str
    seconds: dict[str, float]


def instructor(course: Path, *args: str) -> str:
    command = [sys.executable, str(INSTRUCTOR), "--course-dir", str(course), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, \
        f"instructor.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def run_pipeline(name: str, tmp: Path) -> Graded:
    course, submissions = tmp / "course", tmp / "submissions"
    (course / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / name, course / "source" / name)
    seconds = {}

    t0 = time.monotonic()
    instructor(course, "assign", name)
    seconds["assign"] = time.monotonic() - t0

    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    cases = [Case("reference", copy.deepcopy(source))] + file_cases(name, source) \
        + robustness_cases(name, source, release)
    for case in cases:
        path = submissions / case.student / (case.filename or f"{name}.ipynb")
        path.parent.mkdir(parents=True)
        if isinstance(case.notebook, str):
            path.write_text(case.notebook)
        else:
            nbformat.write(case.notebook, path)

    t0 = time.monotonic()
    grade_output = instructor(course, "grade", name, str(submissions))
    seconds["grade"] = time.monotonic() - t0
    t0 = time.monotonic()
    instructor(course, "grades", str(tmp / "grades.csv"))
    seconds["grades"] = time.monotonic() - t0

    with open(tmp / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    maxima = rows.pop("(max)")
    return Graded(name, course, cases, maxima, rows, grade_output, seconds)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Graded]:
    """Every assignment through assign, grade and grades, two at a time (2 cores)."""
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_pipeline, name, tmp_path_factory.mktemp(name))
                   for name in NAMES}
        results = {name: future.result() for name, future in futures.items()}
    print(f"\ninstructor kit: {len(NAMES)} assignments graded in {time.monotonic() - t0:.0f} s")
    for r in results.values():
        print(f"  {r.name}: {len(r.cases)} submissions; "
              + ", ".join(f"{step} {s:.0f} s" for step, s in r.seconds.items()))
    return results


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def regions(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly between each begin and end marker."""
    inside, lines = False, []
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("name", NAMES)
def test_student_version_has_no_solution_and_no_hidden_test(graded, name):
    g = graded[name]
    source = nbformat.read(g.course / "source" / name / f"{name}.ipynb", as_version=4)
    release = nbformat.read(g.course / "release" / name / f"{name}.ipynb", as_version=4)
    released_code = "\n".join(c.source for c in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in released_code, f"{name}: the student version contains {marker!r}"
    secret, public = [], set()
    for cell in source.cells:
        hidden = regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION") \
            + regions(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        secret += hidden
        public |= {line.strip() for line in cell.source.splitlines()} - set(hidden)
    # Lines that only the solutions and hidden tests have (not imports shared with visible tests).
    secret = [s for s in secret if len(s) > 12 and not s.startswith("#") and s not in public]
    assert secret, f"{name}: found no solution or hidden-test lines to look for"
    released_lines = {line.strip() for line in released_code.splitlines()}
    leaked = [s for s in secret if s in released_lines]
    assert not leaked, f"{name}: the student version shows solution or hidden-test lines: {leaked}"
    stubs = [c for c in release.cells if is_solution(c)]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)
    hidden_cells = [c.source.strip() for c in release.cells
                    if (grade_id(c) or "").endswith("_hidden")]
    assert hidden_cells and all(h.startswith("#") and "\n" not in h for h in hidden_cells), \
        f"a hidden test cell shows more than its one-line comment: {hidden_cells}"


@pytest.mark.parametrize("name", NAMES)
def test_every_submission_scores_as_expected(graded, name):
    """The reference gets full marks; each mistake loses exactly the parts it breaks."""
    g = graded[name]
    parts = [c.split(":", 1)[1] for c in g.maxima if c.startswith(f"{name}:")]
    assert parts, f"no part columns in the CSV: {list(g.maxima)}"
    full = {p: float(g.maxima[f"{name}:{p}"]) for p in parts}
    assert float(g.maxima[name]) == sum(full.values())
    problems = []
    for case in g.cases:
        row = g.rows.get(case.student)
        if case.status is None:
            if row is not None:
                problems.append(f"{case.student}: should not be in the CSV")
            continue
        if row is None:
            problems.append(f"{case.student}: missing from the CSV")
            continue
        unknown = set(case.expect) - set(parts)
        assert not unknown, f"{case.student}: no part {sorted(unknown)} in {name} (parts: {parts})"
        want = {**full, **case.expect, **{p: 0.0 for p in case.zero_from}}
        got = {p: float(row[f"{name}:{p}"]) for p in parts}
        if got != want:
            problems.append(f"{case.student} ({case.description}): got {got}, expected {want}")
        if row["status"] != case.status:
            problems.append(f"{case.student}: status {row['status']!r}, expected {case.status!r}")
        if case.student.startswith("mistake-") and got == full:
            problems.append(f"{case.student}: the mistake was not caught")
    assert not problems, \
        f"{name}:\n  " + "\n  ".join(problems) + f"\n\ngrade output:\n{g.grade_output}"


def test_robustness_cases_left_their_traces(graded):
    """The timeout really was a timeout, deleted cells came back, the bad files were reported."""
    g = graded[ONCE]
    autograded = g.course / "autograded"

    nb = nbformat.read(autograded / "robust-never-finishes" / ONCE / f"{ONCE}.ipynb", as_version=4)
    errors = [o.get("ename") for c in nb.cells for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert "CellTimeoutError" in errors, f"no CellTimeoutError in the timed-out notebook: {errors}"

    nb = nbformat.read(autograded / "robust-edited-and-deleted-tests" / ONCE / f"{ONCE}.ipynb",
                       as_version=4)
    hidden = [c for c in nb.cells if (grade_id(c) or "").endswith("_hidden")]
    assert hidden and all("### BEGIN HIDDEN TESTS" in c.source for c in hidden), \
        "the hidden tests did not run in the graded copy"

    assert "robust-not-a-notebook" in g.grade_output and "not a readable notebook" in g.grade_output
    assert "robust-misnamed" in g.grade_output and "Untitled.ipynb" in g.grade_output
    assert "AUTOGRADE FAILED" in g.grade_output
