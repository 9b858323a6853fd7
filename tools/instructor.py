"""The instructor kit: student versions, autograding and grade export for assignments/.

Usage (through the course script, which first installs requirements-instructor.txt):

    ./course assign NAME|all                 student version -> assignments/release/NAME/NAME.ipynb
    ./course grade NAME|all SUBMISSIONS_DIR  autograde SUBMISSIONS_DIR/<student>/NAME.ipynb
    ./course grades OUT.csv                  every grade so far -> OUT.csv (one row per student)
    ./course feedback NAME|all               feedback/<student>/NAME/NAME.html, one per student

NAME is a folder of assignments/source/ (e.g. ch1_entropy); `all` means every one of them.
The tool drives nbgrader (https://nbgrader.readthedocs.io) in assignments/, so the instructor
never needs nbgrader's folder conventions: `grade` copies each submission into nbgrader's
submitted/<student>/NAME/ layout, restores cells a student deleted, runs one
`nbgrader autograde` for the whole folder and prints a table of the scores. nbgrader's own
output goes to assignments/nbgrader.log.

A "part" is a group of graded test cells: cells `entropy_visible` and `entropy_hidden` are the
part `entropy`, whose score is the sum of both. The CSV has one column per part.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = ROOT / "assignments"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PART_SUFFIX = re.compile(r"_(visible|hidden)$")
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class InstructorError(Exception):
    """A mistake in how the tool was called (printed without a traceback)."""


# --------------------------------------------------------------------------------------------
# Running nbgrader
# --------------------------------------------------------------------------------------------
def _kernel_dir(tmp: Path) -> Path:
    """A Jupyter data folder whose kernelspec "python3" is the Python running this tool.

    Put first on JUPYTER_PATH, it wins over a "python3" kernelspec in the user's own Jupyter
    folders, so that submissions always run in the course's .venv (with ce_lib and torch).
    """
    spec_dir = tmp / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (course .venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return tmp


def nbgrader(course: Path, *args: str) -> int:
    """Run one nbgrader command in the course folder; its output is appended to nbgrader.log."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(_kernel_dir(Path(tmp))), env.get("JUPYTER_PATH", "")]).rstrip(os.pathsep)
        with open(course / "nbgrader.log", "a") as log:
            log.write(f"\n$ nbgrader {' '.join(args)}\n")
            log.flush()
            result = subprocess.run(
                [sys.executable, "-m", "nbgrader", *args],
                cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
    return result.returncode


# --------------------------------------------------------------------------------------------
# The course folder
# --------------------------------------------------------------------------------------------
@dataclass
class Course:
    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    def names(self, which: str) -> list[str]:
        """Assignment names for NAME or 'all'."""
        available = sorted(p.name for p in self.source.iterdir()
                           if p.is_dir() and (p / f"{p.name}.ipynb").exists())
        if which == "all":
            return available
        if which not in available:
            raise InstructorError(
                f"no assignment {which!r} in {self.source}; available: {', '.join(available)}")
        return [which]

    def source_notebook(self, name: str) -> Path:
        return self.source / name / f"{name}.ipynb"

    def release_notebook(self, name: str) -> Path:
        return self.root / "release" / name / f"{name}.ipynb"

    def submitted_notebook(self, name: str, student: str) -> Path:
        return self.root / "submitted" / student / name / f"{name}.ipynb"

    def autograded_notebook(self, name: str, student: str) -> Path:
        return self.root / "autograded" / student / name / f"{name}.ipynb"

    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def parts(self, name: str) -> list[tuple[str, list[str]]]:
        """[(part, [graded cell ids])] in the order of the source notebook."""
        nb = nbformat.read(self.source_notebook(name), as_version=4)
        parts: dict[str, list[str]] = {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                gid = meta["grade_id"]
                parts.setdefault(PART_SUFFIX.sub("", gid), []).append(gid)
        return list(parts.items())


def released(course: Course, name: str) -> bool:
    """Has `assign` run for this assignment (is it in the gradebook, with a student version)?"""
    from nbgrader.api import Gradebook, MissingEntry

    if not course.release_notebook(name).exists() or not (course.root / "gradebook.db").exists():
        return False
    with Gradebook(course.db_url()) as gb:
        try:
            gb.find_assignment(name)
        except MissingEntry:
            return False
    return True


# --------------------------------------------------------------------------------------------
# assign
# --------------------------------------------------------------------------------------------
def assign(course: Course, which: str) -> None:
    names = course.names(which)
    t0 = time.monotonic()
    # One nbgrader call for all of them ("*"): nbgrader's start-up costs more than a notebook.
    pattern = "*" if which == "all" else which
    if nbgrader(course.root, "generate_assignment", pattern, "--force") != 0:
        raise InstructorError(f"nbgrader generate_assignment {which} failed: see "
                              f"{course.root / 'nbgrader.log'}")
    for name in names:
        out = course.release_notebook(name)
        leaked = [m for m in LEAK_MARKERS if m in out.read_text()]
        if leaked:
            raise InstructorError(f"{out} still contains {leaked}: do not hand it out")
        print(f"{name}: student version {out}")
    print(f"({time.monotonic() - t0:.0f} s)")


# --------------------------------------------------------------------------------------------
# grade
# --------------------------------------------------------------------------------------------
def restore_missing_cells(submission, release) -> list[str]:
    """Put back, in place, every nbgrader cell of the student version missing from a submission.

    Returns the ids put back. A deleted answer cell comes back as the empty stub (0 points for
    the tests that need it); a deleted test cell comes back and runs (autograde then replaces
    its source with the original, hidden tests included). nbgrader can re-add deleted *test*
    cells itself (OverwriteCells.add_missing_cells), but crashes when the answer cell before
    them was deleted too; restoring everything here first avoids that.
    """
    def gid(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    present = {gid(c) for c in submission.cells} - {None}
    restored = []
    previous = None  # id of the last cell of the student version known to be in the submission
    for cell in release.cells:
        cell_id = gid(cell)
        if cell_id is None:
            continue
        if cell_id not in present:
            ids = [gid(c) for c in submission.cells]
            at = ids.index(previous) + 1 if previous is not None else 0
            submission.cells.insert(at, copy.deepcopy(cell))
            present.add(cell_id)
            restored.append(cell_id)
        previous = cell_id
    return restored


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)     # student -> why not graded
    restored: dict[str, list[str]] = field(default_factory=dict)


def collect(course: Course, name: str, submissions: Path) -> Collected:
    """Copy SUBMISSIONS/<student>/NAME.ipynb into submitted/<student>/NAME/NAME.ipynb."""
    release = nbformat.read(course.release_notebook(name), as_version=4)
    result = Collected()
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        student, path = folder.name, folder / f"{name}.ipynb"
        if not path.exists():
            strays = sorted(p.name for p in folder.glob("*.ipynb")
                            if p.stem not in course.names("all"))
            if strays:
                result.problems[student] = (f"skipped: no {name}.ipynb, but {', '.join(strays)}: "
                                            f"rename it to {name}.ipynb if it is this assignment")
            continue
        if not STUDENT_ID.match(student):
            result.problems[student] = ("skipped: a student folder name may hold only letters, "
                                        "digits, '.', '_' and '-'")
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # noqa: BLE001 (any unreadable file is reported, not fatal)
            result.problems[student] = f"skipped: {path.name} is not a readable notebook ({error})"
            continue
        restored = restore_missing_cells(nb, release)
        if restored:
            result.restored[student] = restored
        dest = course.submitted_notebook(name, student)
        if dest.parent.exists():
            shutil.rmtree(dest.parent)
        dest.parent.mkdir(parents=True)
        nbformat.write(nb, dest)
        # Grade this submission afresh: nbgrader skips a student already autograded.
        shutil.rmtree(course.autograded_notebook(name, student).parent, ignore_errors=True)
        result.students.append(student)
    return result


def grade(course: Course, which: str, submissions: Path) -> None:
    if not submissions.is_dir():
        raise InstructorError(f"{submissions} is not a folder (of <student>/<NAME>.ipynb)")
    for name in course.names(which):
        if not released(course, name):
            print(f"{name}: not assigned yet; generating the student version first")
            assign(course, name)
        got = collect(course, name, submissions)
        if not got.students and not got.problems:
            print(f"{name}: no submissions ({submissions}/<student>/{name}.ipynb)")
            continue
        t0 = time.monotonic()
        if got.students:
            nbgrader(course.root, "autograde", name)  # one call for the whole folder
        print(f"\n{name}: autograded {len(got.students)} submission(s) in "
              f"{time.monotonic() - t0:.0f} s")
        failed = {s for s in got.students if not course.autograded_notebook(name, s).exists()}
        columns, maxima, rows = grade_table(course, [name])
        rows = {row["student"]: row for row in rows}
        parts_ = [c.split(":", 1)[1] for c in columns if c.startswith(f"{name}:")]

        def line(student: str, total: str, scores: list[str], note: str = "") -> str:
            cells = "  ".join(f"{score:>{len(part)}}" for part, score in zip(parts_, scores))
            return f"  {student:<24} {total:>9}   {cells}{note}"

        print(line("student", "score", parts_))
        print(line("(max)", maxima[name], [maxima[f"{name}:{p}"] for p in parts_]))
        for student in got.students:
            note = ""
            if student in failed:
                note = f"  AUTOGRADE FAILED (kernel died?): see {course.root / 'nbgrader.log'}"
            elif student in got.restored:
                note = f"  (put back deleted cells: {', '.join(got.restored[student])})"
            row = rows[student]
            print(line(student, row[name], [row[f"{name}:{p}"] for p in parts_], note))
        for student, why in got.problems.items():
            print(f"  {student:<24} {why}")


# --------------------------------------------------------------------------------------------
# grades (CSV) and feedback
# --------------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:g}"


def parts(gb, course: Course, name: str) -> list[tuple[str, list[str], float]]:
    """[(part, graded cell ids, max points)] from the gradebook, in the source notebook's order."""
    cells = {gc.name: gc.max_score
             for nb in gb.find_assignment(name).notebooks for gc in nb.grade_cells}
    order = {cell_id: i for i, (_, ids) in enumerate(course.parts(name)) for cell_id in ids}
    grouped: dict[str, list[str]] = {}
    for cell_id in sorted(cells, key=lambda c: (order.get(c, len(order)), c)):
        grouped.setdefault(PART_SUFFIX.sub("", cell_id), []).append(cell_id)
    return [(part, ids, sum(cells[i] for i in ids)) for part, ids in grouped.items()]


def grade_table(course: Course, names: list[str]) -> tuple[list[str], dict, list[dict]]:
    """(columns, maximum points per column, one row per student) for the CSV and `grade`.

    Columns: student, then per assignment its total and one column per part, then total and
    status. A submission that was never graded (no autograded notebook: its kernel died)
    scores 0 and says so in status; an assignment not submitted is left empty.
    """
    from nbgrader.api import Gradebook, MissingEntry

    columns, maxima, rows = ["student"], {"student": "(max)", "status": "maximum points"}, []
    with Gradebook(course.db_url()) as gb:
        layout = {name: parts(gb, course, name) for name in names}
        for name, name_parts in layout.items():
            columns += [name] + [f"{name}:{part}" for part, _, _ in name_parts]
            maxima[name] = _fmt(sum(m for _, _, m in name_parts))
            maxima.update({f"{name}:{part}": _fmt(m) for part, _, m in name_parts})
        columns += ["total", "status"]
        maxima["total"] = _fmt(sum(float(maxima[name]) for name in names))
        for student in sorted(s.id for s in gb.students):
            row, status, total = {"student": student}, [], 0.0
            for name, name_parts in layout.items():
                try:
                    submission = gb.find_submission(name, student)
                except MissingEntry:
                    status.append(f"{name}: no submission")
                    continue
                graded = course.autograded_notebook(name, student).exists()
                if not graded:
                    status.append(f"{name}: autograde failed (kernel died?), scored 0")
                scores = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
                subtotal = 0.0
                for part, ids, _ in name_parts:
                    score = sum(scores.get(i) or 0.0 for i in ids) if graded else 0.0
                    row[f"{name}:{part}"] = _fmt(score)
                    subtotal += score
                row[name] = _fmt(subtotal)
                total += subtotal
            row["total"] = _fmt(total)
            row["status"] = "; ".join(status) or "ok"
            rows.append(row)
    return columns, maxima, rows


def export(course: Course, out: Path) -> None:
    names = [n for n in course.names("all") if released(course, n)]
    if not names:
        raise InstructorError(f"no assignment has been assigned or graded yet in {course.root}")
    columns, maxima, rows = grade_table(course, names)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerow(maxima)
        writer.writerows(rows)
    print(f"{out}: {len(rows)} student(s), {len(names)} assignment(s); "
          f"the first row, student (max), holds the maximum points")


def feedback(course: Course, which: str) -> None:
    names = course.names(which)
    if nbgrader(course.root, "generate_feedback", "*" if which == "all" else which, "--force") != 0:
        print(f"nbgrader generate_feedback reported errors: see {course.root / 'nbgrader.log'}")
    for name in names:
        files = sorted((course.root / "feedback").glob(f"*/{name}/{name}.html"))
        print(f"{name}: {len(files)} feedback file(s), "
              f"{course.root / 'feedback'}/<student>/{name}/{name}.html")


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-dir", type=Path, default=COURSE_DIR,
                        help="the nbgrader course folder (default: assignments/)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("assign", help="generate the student version(s)")
    p.add_argument("name", help="an assignment name or 'all'")
    p = sub.add_parser("grade", help="autograde a folder of submissions")
    p.add_argument("name", help="an assignment name or 'all'")
    p.add_argument("submissions", type=Path, help="folder holding <student>/<name>.ipynb")
    p = sub.add_parser("grades", help="export every grade to a CSV file")
    p.add_argument("out", type=Path, help="the CSV file to write")
    p = sub.add_parser("feedback", help="HTML feedback for every graded submission")
    p.add_argument("name", help="an assignment name or 'all'")
    args = parser.parse_args(argv)

    course = Course(args.course_dir.resolve())
    # nbgrader runs the `alembic` script of its own environment by name (here and in nbgrader).
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if not (course.root / "nbgrader_config.py").exists():
        print(f"{course.root} is not a course folder (no nbgrader_config.py)", file=sys.stderr)
        return 2
    try:
        if args.command == "assign":
            assign(course, args.name)
        elif args.command == "grade":
            grade(course, args.name, args.submissions.resolve())
        elif args.command == "grades":
            export(course, args.out)
        elif args.command == "feedback":
            feedback(course, args.name)
    except InstructorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
