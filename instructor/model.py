"""What grading produces, as plain records: one check's result, one submission's result.

Every other module of the kit speaks these types: grading.py makes them, gradebook.py stores
them as JSON, and the exports (CSV, Canvas, Gradescope, feedback) read them. They hold only
str, float, bool, lists and dicts, so ``asdict`` / ``from_dict`` round-trip through JSON.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The status codes a submission can carry, with the words the instructor reads. A submission
# with none of them is "ok". Each Status has a code from this table and a detail naming what
# happened ("scipy", "cell log_softmax_visible", "42 s").
STATUS_CODES = {
    "no_submission": "no submission",
    "not_a_notebook": "not a readable notebook",
    "renamed": "the notebook had another file name: graded anyway",
    "forbidden_import": "imports a module the assignment does not allow",
    "forbidden_call": "calls a library the assignment forbids (torch, ce_lib) in an answer",
    "restored_cell": "a locked cell was edited or deleted: the original was put back",
    "missing_answer": "an answer cell is missing (deleted, or turned into text)",
    "lost_metadata": "cells lost their grading metadata: matched by position or content",
    "crash": "the answer code raised while being defined",
    "timeout": "the answer code ran out of time",
    "memory": "the answer code ran out of memory",
    "sandbox_died": "the sandboxed process died",
    "mutated_input": "a function wrote into its caller's arrays",
    "late": "submitted after the deadline",
    "override": "the instructor overrode a score",
}


@dataclass
class Status:
    code: str      # a key of STATUS_CODES
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass
class CheckResult:
    """One graded check of one part: its points out of max_points and what the student reads."""
    part: str          # e.g. "weights_and_ignore"
    name: str          # e.g. "float32 logits give a float32 loss"
    points: float
    max_points: float
    passed: bool
    message: str = ""  # why it failed (empty when passed)


@dataclass
class SubmissionResult:
    """One student's graded submission of one assignment."""
    student: str
    assignment: str
    checks: list[CheckResult] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    raw_score: float = 0.0       # the sum of the checks' points
    score: float = 0.0           # after the import policy and the late penalty
    max_score: float = 0.0
    submitted_at: str | None = None   # ISO 8601, when known
    late_penalty: float = 0.0    # points taken off for lateness
    graded_at: str = ""          # ISO 8601
    source: str = ""             # the submission's file name, for the instructor
    output: str = ""             # what the submission printed while graded (the start of it)

    def part_scores(self) -> dict[str, tuple[float, float]]:
        """{part: (points, max_points)} in the order the checks first name them."""
        scores: dict[str, list[float]] = {}
        for check in self.checks:
            got = scores.setdefault(check.part, [0.0, 0.0])
            got[0] += check.points
            got[1] += check.max_points
        return {part: (p, m) for part, (p, m) in scores.items()}

    def status_text(self) -> str:
        return "; ".join(str(s) for s in self.statuses) or "ok"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        data = dict(data)
        data["checks"] = [CheckResult(**c) for c in data.get("checks", [])]
        data["statuses"] = [Status(**s) for s in data.get("statuses", [])]
        return cls(**data)
