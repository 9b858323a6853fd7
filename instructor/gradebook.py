"""The gradebook (assignments/gradebook.json), manual overrides, and the grade exports.

Grading writes each submission's SubmissionResult into the gradebook, replacing that student's
previous result for that assignment. Manual overrides live in their own file,
assignments/overrides.csv (assignment, student, score, reason, by, at): they are applied when
grades are read, so regrading never loses them; the latest line for a student wins.

Exports:
- ``export_csv``: one row per student; per assignment its score, one column per part and a
  status column; every header names its maximum, e.g. ``ch1_entropy [10]``;
- ``export_canvas``: Canvas's gradebook import format: the columns Student, ID, SIS User ID,
  SIS Login ID, Section, one column per assignment, and the "Points Possible" row. The roster
  is Canvas's own gradebook export (the same columns): a student graded as a Canvas user id
  (bulk download), an SIS login (e.g. an e-mail address) or an SIS user id is matched to it.
"""
from __future__ import annotations

import csv
import getpass
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .model import Status, SubmissionResult

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
OVERRIDE_FIELDS = ["assignment", "student", "score", "reason", "by", "at"]


class GradebookError(Exception):
    """A mistake in what was asked of the gradebook (printed without a traceback)."""


@dataclass
class Override:
    assignment: str
    student: str
    score: float
    reason: str
    by: str = ""
    at: str = ""


class Gradebook:
    """{assignment: {student: SubmissionResult}} with each assignment's maximum and parts."""

    def __init__(self, path: Path, overrides_path: Path | None = None):
        self.path = Path(path)
        self.overrides_path = Path(overrides_path) if overrides_path else \
            self.path.with_name("overrides.csv")
        self.results: dict[str, dict[str, SubmissionResult]] = {}
        self.assignments: dict[str, dict] = {}   # name -> {"max_score", "parts", "titles"}
        self._lock = threading.Lock()
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.assignments = data.get("assignments", {})
            self.results = {name: {s: SubmissionResult.from_dict(r) for s, r in rows.items()}
                            for name, rows in data.get("results", {}).items()}

    # -------------------------------------------------------------------------- writing
    def record(self, results: list[SubmissionResult], max_score: float,
               parts: dict[str, float], titles: dict[str, str] | None = None) -> None:
        """Store each result (replacing the student's previous one for its assignment) with
        the assignment's maximum, its parts' maxima and the parts' titles (for feedback)."""
        with self._lock:
            for r in results:
                self.assignments[r.assignment] = {"max_score": max_score, "parts": parts,
                                                  "titles": titles or {}}
                self.results.setdefault(r.assignment, {})[r.student] = r

    def save(self) -> None:
        """Write the gradebook atomically (a crash never leaves half a file)."""
        data = {"version": 1, "assignments": self.assignments,
                "results": {name: {s: r.to_dict() for s, r in sorted(rows.items())}
                            for name, rows in sorted(self.results.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".gradebook-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)

    # -------------------------------------------------------------------------- overrides
    def overrides(self) -> dict[tuple[str, str], Override]:
        if not self.overrides_path.exists():
            return {}
        found = {}
        with open(self.overrides_path, newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    o = Override(row["assignment"], row["student"], float(row["score"]),
                                 row["reason"], row.get("by") or "", row.get("at") or "")
                except (KeyError, TypeError, ValueError):
                    raise GradebookError(
                        f"{self.overrides_path}, line {line}: not an override (the columns "
                        f"are {', '.join(OVERRIDE_FIELDS)}); fix or delete the line") from None
                found[(o.assignment, o.student)] = o
        return found

    def add_override(self, assignment: str, student: str, score: float, reason: str) -> Override:
        if not reason.strip():
            raise GradebookError("an override needs a reason (--reason 'why')")
        maximum = self.assignments.get(assignment, {}).get("max_score")
        if maximum is None:
            raise GradebookError(f"no grades for {assignment!r} yet: grade it first "
                                 f"(known: {', '.join(sorted(self.assignments)) or 'none'})")
        if not 0 <= score <= maximum:
            raise GradebookError(f"score {score:g} is outside 0..{maximum:g} for {assignment}")
        override = Override(assignment, student, score, reason.strip(), getpass.getuser(),
                            datetime.now(timezone.utc).isoformat(timespec="seconds"))
        new = not self.overrides_path.exists()
        with open(self.overrides_path, "a", newline="") as f:
            writer = csv.DictWriter(f, OVERRIDE_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(vars(override))
        return override

    # -------------------------------------------------------------------------- reading
    def final(self, assignment: str, student: str) -> SubmissionResult | None:
        """The student's result with any override applied (score and an "override" status)."""
        result = self.results.get(assignment, {}).get(student)
        override = self.overrides().get((assignment, student))
        if override is None:
            return result
        if result is None:
            maximum = self.assignments.get(assignment, {}).get("max_score", override.score)
            result = SubmissionResult(student=student, assignment=assignment,
                                      max_score=maximum)
        result = SubmissionResult.from_dict(result.to_dict())
        result.statuses.append(Status("override", f"{result.score:g} -> {override.score:g}: "
                                                  f"{override.reason} ({override.by}, "
                                                  f"{override.at})"))
        result.score = override.score
        return result

    def students(self) -> list[str]:
        names = {s for rows in self.results.values() for s in rows}
        names |= {student for _, student in self.overrides()}
        return sorted(names)

    def names(self) -> list[str]:
        return sorted(self.assignments)

    # -------------------------------------------------------------------------- exports
    def export_csv(self, out: Path) -> int:
        """One row per student; returns the number of rows."""
        header, columns = ["student"], []
        for name in self.names():
            info = self.assignments[name]
            header.append(f"{name} [{info['max_score']:g}]")
            columns.append((name, None))
            for part, maximum in info["parts"].items():
                header.append(f"{name}:{part} [{maximum:g}]")
                columns.append((name, part))
            header.append(f"{name}:status")
            columns.append((name, "status"))
        rows = 0
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for student in self.students():
                row = [student]
                for name, what in columns:
                    result = self.final(name, student)
                    if result is None:
                        row.append("" if what != "status" else "no submission")
                    elif what is None:
                        row.append(f"{result.score:g}")
                    elif what == "status":
                        row.append(result.status_text())
                    else:
                        row.append(f"{result.part_scores().get(what, (0.0, 0.0))[0]:g}")
                writer.writerow(row)
                rows += 1
        return rows

    def export_canvas(self, out: Path, roster: Path,
                      columns: dict[str, str] | None = None) -> list[str]:
        """Canvas's gradebook import CSV; returns notes (students not matched, not graded).

        ``columns`` maps an assignment to its Canvas column name (default: the assignment's
        name, which Canvas imports as a new assignment).
        """
        columns = columns or {}
        people = read_roster(roster)
        index: dict[str, dict] = {}   # ID, SIS user ID, SIS login (lower case) -> person
        for person in people:
            for key in ("ID", "SIS User ID", "SIS Login ID"):
                if person.get(key):
                    index.setdefault(person[key].strip().lower(), person)
        notes = []
        unmatched = [s for s in self.students() if s.lower() not in index]
        if unmatched:
            notes.append(f"not in the roster (left out): {', '.join(unmatched)}")
        names = self.names()
        graded: dict[str, dict[str, float]] = {}
        graded_as: dict[tuple[str, str], str] = {}
        for student in self.students():
            if student.lower() in index:
                person = index[student.lower()]
                for name in names:
                    result = self.final(name, student)
                    if result is None:
                        continue
                    other = graded_as.get((person["ID"], name))
                    if other is not None:
                        raise GradebookError(
                            f"{name}: {other!r} and {student!r} are both {person['Student']} "
                            f"in the roster; keep one (delete the other's folder and grade "
                            f"again, or set the score with ./course override)")
                    graded_as[(person["ID"], name)] = student
                    graded.setdefault(person["ID"], {})[name] = result.score
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CANVAS_FIXED + [columns.get(n, n) for n in names])
            writer.writerow(["Points Possible", "", "", "", ""]
                            + [f"{self.assignments[n]['max_score']:g}" for n in names])
            missing = []
            self.rows_written = len(people)
            for person in people:
                scores = graded.get(person["ID"], {})
                if not scores:
                    missing.append(person["Student"])
                writer.writerow([person.get(k, "") for k in CANVAS_FIXED]
                                + [f"{scores[n]:g}" if n in scores else "" for n in names])
        if missing:
            notes.append(f"in the roster with no grade (left blank): {', '.join(missing)}")
        return notes


def read_roster(path: Path) -> list[dict]:
    """The students of a Canvas gradebook export (its Points Possible row and any muted or
    read-only lines are skipped). Needs at least the columns Student and ID."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"Student", "ID"} - set(reader.fieldnames or [])
        if missing:
            raise GradebookError(
                f"{path}: a roster is Canvas's gradebook export, with the columns "
                f"{', '.join(CANVAS_FIXED)}; missing {', '.join(sorted(missing))}")
        people = [row for row in reader
                  if row.get("Student", "").strip() not in ("Points Possible", "")
                  and (row.get("ID") or "").strip()]
    return people
