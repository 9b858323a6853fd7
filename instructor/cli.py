"""The command line of the instructor kit: ``./course assign | grade | grades | feedback |
gradescope | override`` (or ``python -m instructor ...``). ``--help`` on each command.

NAME is a folder of assignments/source/ (e.g. ch1_entropy) or ``all``. Everything is written
under the course folder (default assignments/): release/, gradebook.json, overrides.csv,
feedback/ (generated, not committed).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from . import feedback, gradescope
from .gradebook import Gradebook, GradebookError
from .grading import COURSE, GradingError, grade_folder, load_assignment, resolve_names
from .notebook import NotebookError, read, student_version
from .policy import PolicyError
from .sandbox import unprivileged_user


def gradebook_of(course: Path) -> Gradebook:
    return Gradebook(course / "gradebook.json", course / "overrides.csv")


def cmd_assign(args) -> int:
    for name in resolve_names(args.name, args.course_dir):
        source = read(args.course_dir / "source" / name / f"{name}.ipynb")
        out = args.course_dir / "release" / name / f"{name}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_version(source), out)
        print(f"{name}: student version -> {out}")
    return 0


def cmd_grade(args) -> int:
    book = gradebook_of(args.course_dir)
    uid = unprivileged_user()
    print("sandbox: each submission runs as the user nobody" if uid is not None else
          "sandbox: each submission runs as this user (nobody cannot run this Python, or "
          "this is not root), guarded by the audit hook alone")
    for name in resolve_names(args.name, args.course_dir):
        t0 = time.monotonic()
        assignment = load_assignment(name, args.course_dir)
        key_s = time.monotonic() - t0
        results, skipped = grade_folder(name, args.submissions, jobs=args.jobs,
                                        manifest=args.manifest, course=args.course_dir,
                                        assignment=assignment)
        book.record(results, assignment.max_score, assignment.part_points(), assignment.parts)
        book.save()
        seconds = time.monotonic() - t0
        parts = list(assignment.parts)
        print(f"\n{name}: {len(results)} submissions graded in {seconds:.1f} s "
              f"({args.jobs} jobs; answer key {key_s:.1f} s)")
        width = max([len("student")] + [len(r.student) for r in results])
        print(f"  {'student':<{width}}  {'score':>7}  " + "  ".join(parts) + "  status")
        for r in sorted(results, key=lambda r: r.student):
            scores = r.part_scores()
            cells = "  ".join(f"{scores.get(p, (0, 0))[0]:>{len(p)}g}" for p in parts)
            print(f"  {r.student:<{width}}  {r.score:>7g}  {cells}  {r.status_text()}")
        for note in skipped:
            print(f"  skipped {note}")
    print(f"\ngradebook: {book.path}")
    return 0


def cmd_grades(args) -> int:
    book = gradebook_of(args.course_dir)
    if not book.names():
        raise GradingError(f"no grades in {book.path} yet: run ./course grade first")
    if args.format == "canvas":
        if args.roster is None:
            raise GradingError("--format canvas needs --roster FILE: the gradebook export of "
                               "your Canvas course (Grades > Export), to match students")
        from .policy import Policy
        columns = {}
        for name in book.names():
            try:
                column = Policy.load(args.course_dir / "course.toml", name).canvas_column
            except PolicyError:
                column = None
            if column:
                columns[name] = column
        for note in book.export_canvas(args.out, args.roster, columns):
            print(f"note: {note}")
        print(f"Canvas gradebook import: {book.rows_written} students of the roster -> "
              f"{args.out}")
    else:
        rows = book.export_csv(args.out)
        print(f"grades of {rows} students -> {args.out}")
    return 0


def cmd_feedback(args) -> int:
    book = gradebook_of(args.course_dir)
    out_root = args.out or args.course_dir / "feedback"
    for name in resolve_names(args.name, args.course_dir):
        students = sorted(book.results.get(name, {}))
        if not students:
            print(f"{name}: no grades yet (run ./course grade {name} DIR)")
            continue
        titles = book.assignments[name].get("titles", {})
        written = feedback.write_all([book.final(name, s) for s in students], titles,
                                     out_root / name)
        print(f"{name}: {len(written)} feedback files -> {out_root / name}/<student>.html")
    return 0


def cmd_gradescope(args) -> int:
    assignment = load_assignment(args.name, args.course_dir)
    out = gradescope.build(assignment, args.out / f"{args.name}-autograder.zip",
                           args.course_dir / "course.toml")
    print(f"{args.name}: Gradescope autograder -> {out} (upload it under Configure Autograder)")
    return 0


def cmd_override(args) -> int:
    book = gradebook_of(args.course_dir)
    o = book.add_override(args.name, args.student, args.score, args.reason)
    print(f"{o.assignment} {o.student}: score {o.score:g} ({o.reason}); "
          f"kept in {book.overrides_path}, applied after every regrade")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="./course", description=__doc__.split("\n\n")[0])
    p.add_argument("--course-dir", type=Path, default=COURSE, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("assign", help="student version -> assignments/release/NAME/NAME.ipynb")
    a.add_argument("name", metavar="NAME|all")
    a.set_defaults(run=cmd_assign)

    g = sub.add_parser("grade", help="grade a folder of submissions into the gradebook")
    g.add_argument("name", metavar="NAME|all")
    g.add_argument("submissions", type=Path, metavar="DIR",
                   help="DIR/<student>/NAME.ipynb (a student may be an e-mail address), or a "
                        "Canvas bulk download (name_userid_subid_file.ipynb)")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores)")
    g.add_argument("--manifest", type=Path,
                   help="CSV of submission times: student, submitted_at[, assignment]")
    g.set_defaults(run=cmd_grade)

    e = sub.add_parser("grades", help="export every grade (csv, or canvas with --roster)")
    e.add_argument("out", type=Path, metavar="OUT.csv")
    e.add_argument("--format", choices=["csv", "canvas"], default="csv")
    e.add_argument("--roster", type=Path,
                   help="Canvas's gradebook export (Student, ID, SIS User ID, SIS Login ID, "
                        "Section): matches graded students to Canvas users")
    e.set_defaults(run=cmd_grades)

    f = sub.add_parser("feedback", help="one HTML file per student -> feedback/NAME/")
    f.add_argument("name", metavar="NAME|all")
    f.add_argument("--out", type=Path, help="folder (default assignments/feedback)")
    f.set_defaults(run=cmd_feedback)

    s = sub.add_parser("gradescope", help="Gradescope autograder zip -> DIR/NAME-autograder.zip")
    s.add_argument("name", metavar="NAME")
    s.add_argument("out", type=Path, metavar="DIR")
    s.set_defaults(run=cmd_gradescope)

    o = sub.add_parser("override", help="set a student's score by hand, with a reason")
    o.add_argument("name", metavar="NAME")
    o.add_argument("student")
    o.add_argument("score", type=float)
    o.add_argument("--reason", required=True)
    o.set_defaults(run=cmd_override)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (GradingError, GradebookError, NotebookError, PolicyError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
