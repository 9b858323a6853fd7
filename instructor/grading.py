"""Grade submissions: one notebook, or a whole folder in parallel, into one gradebook.

``load_assignment(name)`` reads assignments/source/NAME/ (the notebook, checks.py) and the
policy of assignments/course.toml, and computes the answer key once, in this process.
``grade_submission`` runs one submission in the sandbox and scores it; ``find_submissions``
understands the folder layouts an instructor gets:

- one folder per student: ``DIR/<student>/NAME.ipynb``; ``<student>`` may be an e-mail
  address (``jane.doe@uni.edu``);
- a Canvas bulk download (Assignments > Download Submissions), one flat folder of
  ``<name>_[LATE_]<canvas user id>_<submission id>_<file>.ipynb``: the student is the Canvas
  user id, and Canvas's LATE mark is kept;
- either of them with a manifest (CSV: student, submitted_at[, assignment]) giving submission
  times for the late policy.
"""
from __future__ import annotations

import csv
import importlib.util
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .checks import Call, Check, evaluate
from .model import CheckResult, Status, SubmissionResult
from .notebook import NotebookError, read, submission_code
from .policy import Policy, imported_modules, parse_time
from .sandbox import run_submission

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "assignments"
STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
CANVAS_FILE = re.compile(r"^(?P<name>[^_]+(?:_[^_\d][^_]*)*?)_(?P<late>LATE_)?(?P<user>\d+)_"
                         r"(?P<submission>\d+)_(?P<file>.+)$")
OUTPUT_KEPT = 4000   # characters of printed output kept in the gradebook, for feedback
ANSWER_KEY_LIBRARIES = {"torch": "forbidden_call", "ce_lib": "forbidden_call"}


class GradingError(Exception):
    """A mistake in how grading was asked for (printed without a traceback)."""


@dataclass
class Assignment:
    name: str
    source: object                 # the source notebook (nbformat)
    checks: list[Check]
    parts: dict[str, str]          # part -> description
    policy: Policy

    @property
    def max_score(self) -> float:
        return float(sum(c.points for c in self.checks))

    def part_points(self) -> dict[str, float]:
        points: dict[str, float] = {p: 0.0 for p in self.parts}
        for c in self.checks:
            points[c.part] = points.get(c.part, 0.0) + c.points
        return points


def assignment_names(course: Path = COURSE) -> list[str]:
    source = course / "source"
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def resolve_names(which: str, course: Path = COURSE) -> list[str]:
    available = assignment_names(course)
    if which == "all":
        return available
    if which not in available:
        raise GradingError(f"no assignment {which!r} in {course / 'source'}; "
                           f"available: {', '.join(available)}, or all")
    return [which]


def load_assignment(name: str, course: Path = COURSE) -> Assignment:
    """The assignment NAME with its answer key (computed here, never in a student's process)."""
    folder = course / "source" / name
    spec = importlib.util.spec_from_file_location(f"checks_{name}", folder / "checks.py")
    if spec is None or not (folder / "checks.py").exists():
        raise GradingError(f"{folder / 'checks.py'} is missing: it defines the graded checks")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = module.checks()
    parts = dict(module.PARTS)
    unknown = {c.part for c in checks} - set(parts)
    if unknown:
        raise GradingError(f"{name}/checks.py: checks of unknown parts {sorted(unknown)}")
    points = getattr(module, "POINTS", None)
    if points:
        got = {p: sum(c.points for c in checks if c.part == p) for p in parts}
        wrong = {p: (got[p], points[p]) for p in parts if abs(got[p] - points[p]) > 1e-9}
        if wrong:
            raise GradingError(f"{name}/checks.py: the checks' points do not add up to POINTS "
                               f"(part: (sum, POINTS)): {wrong}")
    return Assignment(name, read(folder / f"{name}.ipynb"), checks, parts,
                      Policy.load(course / "course.toml", name))


# ------------------------------------------------------------------------------ one submission
def _all_failed(assignment: Assignment, message: str) -> list[CheckResult]:
    return [CheckResult(c.part, c.name, 0.0, float(c.points), False, message)
            for c in assignment.checks]


def grade_submission(assignment: Assignment, path: Path | None, student: str, *,
                     submitted_at: datetime | None = None, marked_late: bool = False,
                     isolate_user: bool = True) -> SubmissionResult:
    """The graded result of the notebook at ``path`` (None: the student submitted nothing)."""
    result = SubmissionResult(student=student, assignment=assignment.name,
                              max_score=assignment.max_score,
                              source=path.name if path else "",
                              graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              submitted_at=submitted_at.isoformat() if submitted_at else None)
    if path is None:
        result.checks = _all_failed(assignment, "no submission")
        result.statuses.append(Status("no_submission"))
        return result
    canvas = CANVAS_FILE.match(path.name)
    file = re.sub(r"-\d+(?=\.ipynb$)", "", canvas["file"]) if canvas else path.name
    if file != f"{assignment.name}.ipynb":
        result.statuses.append(Status("renamed", f"graded {path.name}"))
    try:
        submission = submission_code(assignment.source, path)
    except NotebookError as e:
        result.checks = _all_failed(assignment, f"the file is not a readable notebook: {e}")
        result.statuses.append(Status("not_a_notebook", str(e)))
        return result
    result.statuses += submission.statuses

    locked = {name for name, _ in submission.cells[: _count_locked(assignment)]}
    student_code = "\n".join(code for name, code in submission.cells if name not in locked)
    imported = imported_modules(student_code)
    forbidden = assignment.policy.forbidden(imported)

    calls: list[Call] = list({id(c.call): c.call for c in assignment.checks}.values())
    ran = run_submission(submission.cells, calls, assignment.policy, isolate_user=isolate_user)
    by_call = dict(zip((id(c) for c in calls), ran.results))
    result.checks = [evaluate(c, by_call[id(c.call)]) for c in assignment.checks]
    result.output = ran.output[:OUTPUT_KEPT] + ("\n[...]" * (len(ran.output) > OUTPUT_KEPT))
    result.statuses += ran.statuses
    for status in ran.statuses:   # imports refused at run time, missed by the syntax scan
        if status.code == "forbidden_import":
            forbidden = sorted(set(forbidden) | set(
                status.detail.split(" (")[0].split(", ")))
    mutated = sorted({c.call.function for c, r in zip(assignment.checks, result.checks)
                      if c.kind == "unchanged" and not r.passed and "was changed" in r.message})
    if mutated:
        result.statuses.append(Status("mutated_input", ", ".join(mutated)))

    result.raw_score = round(sum(c.points for c in result.checks), 6)
    result.score = result.raw_score
    if forbidden:
        result.statuses = [s for s in result.statuses if s.code != "forbidden_import"]
        zero = assignment.policy.on_forbidden == "zero"
        for module in forbidden:
            code = ANSWER_KEY_LIBRARIES.get(module, "forbidden_import")
            result.statuses.append(Status(code, module + (" (policy: scored 0)" if zero else "")))
        if zero:
            result.score = 0.0
    points_off, note = assignment.policy.late_penalty(submitted_at, result.max_score)
    if note:
        result.late_penalty = round(min(points_off, result.score), 6)
        result.score = round(result.score - result.late_penalty, 6)
        result.statuses.append(Status("late", f"{note}: -{points_off:g} points"))
    elif marked_late and submitted_at is None:
        result.statuses.append(Status("late", "marked LATE by the LMS; no submission time "
                                              "(give one in a manifest): no penalty applied"))
    return result


def _count_locked(assignment: Assignment) -> int:
    """How many cells at the start of a Submission are the source's locked cells."""
    from .notebook import is_locked, is_visible_test
    return sum(1 for c in assignment.source.cells
               if c.cell_type == "code" and is_locked(c) and not is_visible_test(c))


# ------------------------------------------------------------------------------ a folder
@dataclass
class Found:
    student: str
    path: Path | None
    marked_late: bool = False
    submitted_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def read_manifest(path: Path) -> dict[tuple[str, str], datetime]:
    """{(student, assignment or ''): time} from a CSV with columns student, submitted_at and,
    optionally, assignment."""
    times = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"student", "submitted_at"} - set(reader.fieldnames or [])
        if missing:
            raise GradingError(f"{path}: the manifest needs the columns student, submitted_at "
                               f"(and optionally assignment); missing {sorted(missing)}")
        for row in reader:
            times[(row["student"].strip(), (row.get("assignment") or "").strip())] = \
                parse_time(row["submitted_at"], f"{path}: {row['student']}")
    return times


def find_submissions(folder: Path, name: str, manifest: dict | None = None,
                     all_names: list[str] | None = None) -> tuple[list[Found], list[str]]:
    """The submissions of assignment ``name`` in ``folder`` and notes on what was skipped."""
    if not folder.is_dir():
        raise GradingError(f"{folder} is not a folder of submissions")
    found: dict[str, Found] = {}
    skipped: list[str] = []
    others = set(all_names or []) - {name}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        canvas = CANVAS_FILE.match(entry.name)
        if entry.is_file() and not canvas and entry.suffix == ".ipynb":
            skipped.append(f"{entry.name}: a notebook outside a student folder whose name is "
                           "not Canvas's <name>_[LATE_]<user id>_<submission id>_<file>")
        if entry.is_file() and canvas:
            file = re.sub(r"-\d+(?=\.ipynb$)", "", canvas["file"])   # Canvas's resubmission -1
            if file != f"{name}.ipynb" and (file.removesuffix(".ipynb") in others
                                            or not file.endswith(".ipynb")):
                continue
            student = canvas["user"]
            previous = found.get(student)
            if previous is None or int(canvas["submission"]) > int(previous.notes[0]):
                found[student] = Found(student, entry, bool(canvas["late"]),
                                       notes=[canvas["submission"]])
        elif entry.is_dir():
            if not STUDENT.match(entry.name):
                skipped.append(f"{entry.name}: not a student name (letters, digits, . _ @ + -)")
                continue
            path = entry / f"{name}.ipynb"
            if not path.exists():
                notebooks = [p for p in sorted(entry.glob("*.ipynb"))
                             if p.stem not in others and not p.name.startswith(".")]
                if len(notebooks) == 1:
                    path = notebooks[0]
                else:
                    skipped.append(f"{entry.name}: no {name}.ipynb"
                                   + (f" (found {', '.join(p.name for p in notebooks)})"
                                      if notebooks else ""))
                    continue
            found[entry.name] = Found(entry.name, path)
    for item in found.values():
        item.notes = []
        if manifest:
            item.submitted_at = manifest.get((item.student, name),
                                             manifest.get((item.student, "")))
    return list(found.values()), skipped


def grade_folder(name: str, folder: Path, *, jobs: int = 1, manifest: Path | None = None,
                 course: Path = COURSE, assignment: Assignment | None = None,
                 progress=None) -> tuple[list[SubmissionResult], list[str]]:
    """Grade every submission of ``name`` in ``folder``, ``jobs`` at a time.

    Returns (results, notes on what was skipped). Each job is one sandboxed process at a
    time, so jobs = the number of cores keeps them all busy.
    """
    assignment = assignment or load_assignment(name, course)
    times = read_manifest(manifest) if manifest else None
    found, skipped = find_submissions(folder, name, times, assignment_names(course))

    def one(item: Found):
        graded = grade_submission(assignment, item.path, item.student,
                                  submitted_at=item.submitted_at, marked_late=item.marked_late)
        if progress:
            progress(graded)
        return graded

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = list(pool.map(one, found))
    return graded, skipped
