"""Every assignment of assignments/source/ graded as an instructor grades a class.

For each assignment, a folder of submissions is graded with instructor.grading (the sandbox,
two at a time), and each student's score per part and status must be what the case expects:

- ``reference``: the source notebook itself: full marks, status ok;
- one student per file of tests/assignments/mistakes/NAME/ and alternatives/NAME/: the source
  notebook with its answer cells replaced by the file's code (see ``read_case``); a mistake
  scores exactly its ``# expect:`` line (parts not named keep full marks), an alternative full
  marks;
- the kinds of submission a real class hands in (``robustness_cases``): crashes, untouched
  notebooks, edited and deleted cells, lost metadata, printing and logging, forbidden imports
  (scipy, torch, ce_lib), cheats that patch builtins, NumPy or the grader, an infinite loop, a
  process that dies, a memory hog, a file that is not a notebook, a renamed notebook.

A cheat must gain nothing: a submission that patches builtins or NumPy and returns wrong
answers scores what the same wrong answers score without the patches.
Select these tests with ``-m instructor``, skip them with ``-m "not instructor"``.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from instructor.grading import assignment_names, grade_folder, load_assignment
from instructor.notebook import grade_id, is_answer, is_visible_test, student_version
from instructor.sandbox import run_submission

pytestmark = pytest.mark.instructor

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "assignments"
CASES = Path(__file__).resolve().parent / "assignments"
NAMES = assignment_names(COURSE)
ONCE = NAMES[0]   # the slow or odd cases run for this assignment only

CRASH = 'raise RuntimeError("this submission crashes before defining anything")\n\n'
NEVER_ENDS = "while True:  # never finishes: stopped by the per-cell time limit\n    pass\n\n"
DIES = "import sys\n\nsys.modules['os']._exit(1)  # the process dies\n\n"
MEMORY_HOG = "import numpy as np\n\nhog = np.ones(2**33)  # 64 GB\n\n"
LOGS = ("import logging, sys, warnings\n\nprint('debugging output')\n"
        "print('to stderr', file=sys.stderr)\nlogging.warning('a log line')\n"
        "warnings.warn('a warning')\n\n")
# Everything a student might patch so that checks pass, then wrong answers: it must gain nothing.
PATCHES = '''
import math
import numpy
import numpy.testing

__builtins__.abs = lambda v: 0 * v
__builtins__.max = lambda *a, **k: 0
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
'''
# Patching the answer key's libraries: imports torch and ce_lib, which the policy forbids.
KEY_PATCH = '''
import ce_lib
import torch.nn.functional as F

ce_lib.cross_entropy = F.cross_entropy = lambda *args, **kwargs: 0.25
'''


@dataclass
class Case:
    student: str
    notebook: nbformat.NotebookNode | str     # a str is written as is (not a notebook)
    expect: dict[str, float] = field(default_factory=dict)   # part -> score; others full
    zero_from: list[str] = field(default_factory=list)       # parts expected to score 0
    total: float | None = None           # the expected total when policy sets it (e.g. 0)
    statuses: set[str] = field(default_factory=set)          # status codes it must carry
    same_as: str = ""                    # must score exactly as this other case, per part
    lose: list[str] = field(default_factory=list)            # parts that must lose points
    description: str = ""
    filename: str = ""                   # default: NAME.ipynb


def read_case(path: Path) -> tuple[str, dict[str, float], dict[str, str]]:
    """(description, expected scores, {answer cell id: new code}) from a mistake/alternative file.

    The file: comment lines describing the case; `# expect: PART SCORE, PART SCORE` (parts
    not named keep full marks; no line: full marks everywhere); optionally `# status: CODE ...`
    (the status codes the submission must get; no line: status ok); then one section per
    replaced answer cell, opened by `# %% CELL_ID`.
    """
    head, *sections = re.split(r"^# %% (\S+)[ \t]*\n", path.read_text(), flags=re.M)
    expect_line = re.search(r"^# expect:(.*)$", head, flags=re.M)
    expect = {}
    if expect_line:
        for item in expect_line.group(1).split(","):
            part, score = item.split()
            expect[part] = float(score)
    description = " ".join(line[2:] for line in head.splitlines() if line.startswith("# ")
                           and not line.startswith(("# expect:", "# status:")))
    return description, expect, dict(zip(sections[::2], (s.strip() + "\n" for s in sections[1::2])))


def with_answers(source: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source)
    cells = {grade_id(c): c for c in nb.cells if is_answer(c)}
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
            status = re.search(r"^# status:(.*)$", path.read_text(), flags=re.M)
            cases.append(Case(f"{kind[:-1]}-{path.stem}", with_answers(source, answers), expect,
                              statuses=set(status.group(1).split()) if status else set(),
                              description=description))
    return cases


def parts_using(assignment, functions: set[str]) -> list[str]:
    return sorted({c.part for c in assignment.checks if c.call.function in functions})


def robustness_cases(name: str, assignment) -> list[Case]:
    """Broken, hostile and unusual submissions, most aimed at the last answer cell."""
    source = assignment.source
    answers = [c for c in source.cells if is_answer(c)]
    last = answers[-1]
    last_id, last_code = grade_id(last), last.source
    functions = {n.name for n in ast.parse(last_code).body if isinstance(n, ast.FunctionDef)}
    late = parts_using(assignment, functions)       # the parts that test the last answer
    every = sorted(assignment.parts)
    wrong = "".join(f"\n\ndef {f}(*args, **kwargs):\n    return 0.25\n" for f in sorted(functions))

    def answer(code: str) -> nbformat.NotebookNode:
        return with_answers(source, {last_id: code})

    cases = [
        Case("robust-crash", answer(CRASH + last_code), zero_from=late, statuses={"crash"},
             description="the last answer cell raises before defining its functions"),
        Case("robust-untouched", student_version(source), zero_from=every,
             description="the student version, submitted as it was handed out"),
        Case("robust-wrong", answer(last_code + wrong), lose=late,
             description="wrong answers (0.25 whatever the input)"),
        Case("robust-patches-builtins-and-numpy", answer(last_code + PATCHES + wrong),
             same_as="robust-wrong", lose=late,
             description="patches abs, max, np.allclose, np.array_equal, np.testing, "
                         "math.isclose, then the same wrong answers: it must gain nothing"),
        Case("robust-patches-the-answer-key", answer(KEY_PATCH + last_code), total=0.0,
             statuses={"forbidden_call"},
             description="imports ce_lib and torch to patch the references"),
        Case("robust-calls-torch", answer("import torch\n\n" + last_code), total=0.0,
             statuses={"forbidden_call"},
             description="uses torch in an answer, which the instructions forbid"),
        Case("robust-uses-scipy", answer("from scipy.special import logsumexp\n\n" + last_code),
             total=0.0, statuses={"forbidden_import"},
             description="a correct answer that imports scipy: the policy's score, named"),
        Case("robust-prints-and-logs", answer(LOGS + last_code),
             description="a correct answer that prints, logs to stderr and warns"),
        Case("robust-lost-metadata", _strip_metadata(source), statuses={"lost_metadata"},
             description="every cell lost its grading metadata (another editor)"),
    ]

    nb = copy.deepcopy(source)
    setup = next(c for c in nb.cells if grade_id(c) == "setup")
    setup.source = "np = None  # the student edited the locked setup cell"
    for c in nb.cells:
        if is_visible_test(c):
            c.source = 'print("all tests pass")'
    cases.append(Case("robust-edited-locked-cells", nb, statuses={"restored_cell"},
                      description="the setup cell edited (restored, reported), visible tests "
                                  "rewritten (never graded)"))

    nb = copy.deepcopy(source)
    nb.cells = [c for c in nb.cells if grade_id(c) != last_id and grade_id(c) != "setup"]
    cases.append(Case("robust-deleted-cells", nb, zero_from=late, statuses={"restored_cell"},
                      description="the setup cell and the last answer cell deleted"))

    if name == ONCE:
        cases += [
            Case("robust-never-finishes", answer(NEVER_ENDS + last_code), zero_from=late,
                 statuses={"timeout"}, description="an infinite loop before the last answer"),
            Case("robust-process-dies", answer(DIES + last_code), zero_from=every,
                 statuses={"sandbox_died"}, description="os._exit in the last answer cell"),
            Case("robust-memory-hog", answer(MEMORY_HOG + last_code), zero_from=late,
                 statuses={"memory"}, description="allocates 64 GB in the last answer cell"),
            Case("robust-not-a-notebook", "{ this is not a notebook", zero_from=every,
                 statuses={"not_a_notebook"}, description="a file that is not JSON"),
            Case("robust-misnamed", copy.deepcopy(source), statuses={"renamed"},
                 filename="Untitled.ipynb", description="the right notebook under another name"),
        ]
    return cases


def _strip_metadata(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source)
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    return nb


@dataclass
class Graded:
    assignment: object
    cases: list[Case]
    results: dict


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Graded]:
    out = {}
    for name in NAMES:
        assignment = load_assignment(name, COURSE)
        cases = [Case("reference", copy.deepcopy(assignment.source))] \
            + file_cases(name, assignment.source) + robustness_cases(name, assignment)
        folder = tmp_path_factory.mktemp(name)
        for case in cases:
            path = folder / case.student / (case.filename or f"{name}.ipynb")
            path.parent.mkdir(parents=True)
            if isinstance(case.notebook, str):
                path.write_text(case.notebook)
            else:
                nbformat.write(case.notebook, path)
        results, skipped = grade_folder(name, folder, jobs=2, course=COURSE,
                                        assignment=assignment)
        assert not skipped, skipped
        out[name] = Graded(assignment, cases, {r.student: r for r in results})
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_submission_scores_as_expected(graded, name):
    g = graded[name]
    full = g.assignment.part_points()
    problems = []
    for case in g.cases:
        r = g.results[case.student]
        got = {p: s for p, (s, _) in r.part_scores().items()}
        codes = {s.code for s in r.statuses}
        what = f"{case.student} ({case.description})"
        if case.same_as:
            other = g.results[case.same_as]
            if got != {p: s for p, (s, _) in other.part_scores().items()} or \
                    r.score != other.score:
                problems.append(f"{what}: scored {got}, but {case.same_as} scored "
                                f"{other.part_scores()}: the cheat changed the score")
        elif case.total is None:
            want = {**full, **case.expect, **{p: 0.0 for p in case.zero_from}}
            for part in case.lose:
                want.pop(part)
                if got[part] >= full[part]:
                    problems.append(f"{what}: part {part} lost no points")
            got_known = {p: s for p, s in got.items() if p in want}
            if got_known != want:
                problems.append(f"{what}: got {got}, expected {want}")
        if case.total is not None and r.score != case.total:
            problems.append(f"{what}: total {r.score}, expected {case.total}")
        if case.total is None and r.score != r.raw_score:
            problems.append(f"{what}: score {r.score} differs from its checks' {r.raw_score}")
        if not case.statuses <= codes:
            problems.append(f"{what}: statuses {r.status_text()!r}, expected {case.statuses}")
        if not case.statuses and not case.student.startswith("robust-") and codes:
            problems.append(f"{what}: status {r.status_text()!r}, expected ok")
        if case.student.startswith("mistake-") and r.score == r.max_score:
            problems.append(f"{what}: the mistake was not caught")
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_a_mistake_costs_some_checks_of_a_part_not_the_whole_part(graded, name):
    """Partial credit: at least one planted mistake keeps some points of the part it breaks."""
    g = graded[name]
    partial = [case.student for case in g.cases if case.student.startswith("mistake-") and any(
        0 < s < m for s, m in g.results[case.student].part_scores().values())]
    assert partial, f"{name}: every mistake lost whole parts: the checks are too coarse"


@pytest.mark.parametrize("name", NAMES)
def test_the_student_version_has_stubs_no_solution_and_no_answer_key(name):
    assignment = load_assignment(name, COURSE)
    source, released = assignment.source, student_version(assignment.source)
    text = "\n".join(c.source for c in released.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    secret = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) > 12 and not line.strip().startswith("#"):
                secret.append(line.strip())
    assert secret, "found no solution lines to look for"
    lines = {line.strip() for line in text.splitlines()}
    assert not [s for s in secret if s in lines], "the student version shows solution lines"
    stubs = [c for c in released.cells if is_answer(c)]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)
    for cell in released.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(import|from)\s+(ce_lib|torch)\b", cell.source, re.M), \
                f"{grade_id(cell)}: a student cell imports the answer key's libraries"
            assert not grade_id(cell).endswith("_hidden"), "hidden test cells are gone"


@pytest.mark.parametrize("name", NAMES)
def test_the_visible_tests_pass_on_the_reference_and_fail_on_the_stubs(name):
    """Students run them while they work: stored values, right for the reference solution."""
    assignment = load_assignment(name, COURSE)
    cells = [(grade_id(c) or "markdown", c.source) for c in assignment.source.cells
             if c.cell_type == "code"]
    visible = [n for n, _ in cells if n.endswith("_visible")]
    assert visible, "no visible tests"
    ran = run_submission(cells, [], assignment.policy)
    assert ran.cell_errors == [], f"the reference fails its own visible tests: {ran.cell_errors}"
    stubs = [(grade_id(c) or "markdown", c.source) for c in student_version(
        assignment.source).cells if c.cell_type == "code"]
    ran = run_submission(stubs, [], assignment.policy)
    assert {n for n, _ in ran.cell_errors} >= set(visible), \
        "a visible test passes on the untouched student version"


@pytest.mark.parametrize("name", NAMES)
def test_the_checks_points_are_the_notebooks_points(name):
    """The points table of the notebook's first cell matches checks.py's parts."""
    assignment = load_assignment(name, COURSE)
    intro = assignment.source.cells[0].source
    for part, points in assignment.part_points().items():
        assert points > 0
    table = [int(m) for m in re.findall(r"^\|[^|\n]*\|[^|\n]*\|\s*(\d+)\s*\|\s*$", intro, re.M)]
    assert table == [round(p) for p in assignment.part_points().values()], \
        f"the notebook's table says {table}, checks.py {assignment.part_points()}"
