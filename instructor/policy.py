"""An assignment's grading policy (assignments/course.toml): imports, limits, deadline, lateness.

``Policy.for_assignment(name)`` merges the file's [defaults] with [assignments.NAME].
``imported_modules(code)`` lists what a submission imports (read from its syntax, before it
runs); ``late_penalty`` turns a submission time into points off.
"""
from __future__ import annotations

import ast
import math
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# Never importable by a submission, whatever course.toml says: the answer key's libraries and
# the kit itself.
ALWAYS_FORBIDDEN = frozenset({"torch", "ce_lib", "instructor", "importlib", "ctypes",
                              "subprocess", "socket", "multiprocessing", "os", "shutil",
                              "pathlib", "builtins", "gc", "inspect"})


class PolicyError(ValueError):
    """course.toml is missing, unreadable or has a bad value (the message names it)."""


@dataclass(frozen=True)
class Policy:
    name: str
    allowed_imports: frozenset[str] = frozenset({"numpy", "math"})
    on_forbidden: str = "zero"
    timeout_s: float = 60.0
    call_timeout_s: float = 10.0
    memory_mb: int = 2048
    deadline: datetime | None = None
    late_penalty_per_day: float = 0.0
    max_late_days: int = 0
    canvas_column: str = ""   # the assignment's column in the Canvas gradebook import

    @classmethod
    def load(cls, path: Path, name: str) -> "Policy":
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise PolicyError(f"no policy file {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise PolicyError(f"{path}: {e}") from None
        merged = dict(data.get("defaults", {}))
        merged.update(data.get("assignments", {}).get(name, {}))
        known = {"allowed_imports", "on_forbidden", "timeout_s", "call_timeout_s", "memory_mb",
                 "deadline", "late_penalty_per_day", "max_late_days", "canvas_column"}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise PolicyError(f"{path}: unknown setting(s) {unknown} for {name}; "
                              f"known: {sorted(known)}")
        if merged.get("on_forbidden", "zero") not in ("zero", "flag"):
            raise PolicyError(f"{path}: on_forbidden must be 'zero' or 'flag', "
                              f"got {merged['on_forbidden']!r}")
        deadline = merged.get("deadline")
        if deadline is not None:
            deadline = parse_time(deadline, f"{path}: deadline of {name}")
        return cls(
            name=name,
            allowed_imports=frozenset(merged.get("allowed_imports", ["numpy", "math"]))
            - ALWAYS_FORBIDDEN,
            on_forbidden=merged.get("on_forbidden", "zero"),
            timeout_s=float(merged.get("timeout_s", 60)),
            call_timeout_s=float(merged.get("call_timeout_s", 10)),
            memory_mb=int(merged.get("memory_mb", 2048)),
            deadline=deadline,
            late_penalty_per_day=float(merged.get("late_penalty_per_day", 0.0)),
            max_late_days=int(merged.get("max_late_days", 0)),
            canvas_column=str(merged.get("canvas_column", "")),
        )

    def forbidden(self, modules: list[str]) -> list[str]:
        """The modules of ``modules`` (top-level names) this policy does not allow, sorted."""
        return sorted({m for m in modules if m not in self.allowed_imports})

    def late_penalty(self, submitted_at: datetime | None, max_score: float) -> tuple[float, str]:
        """(points off, a note such as '2 days late') for a submission time; (0, '') if on time.

        Each started day (24 h) after the deadline costs late_penalty_per_day x max_score;
        beyond max_late_days the whole score goes.
        """
        if self.deadline is None or submitted_at is None or submitted_at <= self.deadline:
            return 0.0, ""
        days = math.ceil((submitted_at - self.deadline).total_seconds() / 86400)
        note = f"{days} day{'s' if days != 1 else ''} late"
        if days > self.max_late_days:
            return max_score, note + f" (more than {self.max_late_days}: scored 0)"
        return min(max_score, days * self.late_penalty_per_day * max_score), note


def parse_time(text: str | datetime, what: str = "time") -> datetime:
    """An ISO 8601 time; one without a UTC offset is read as UTC."""
    if isinstance(text, datetime):
        value = text
    else:
        try:
            value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise PolicyError(f"{what}: {text!r} is not an ISO 8601 time "
                              "(e.g. 2027-02-05T23:59:00+00:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def imported_modules(code: str) -> list[str]:
    """Top-level names of the modules ``code`` imports (import x.y, from x import y), in order.

    Also ``__import__("x")`` and ``importlib.import_module("x")`` with a literal name. Code that
    does not parse imports nothing here (it fails when it runs instead).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append(node.args[0].value.split(".")[0])
    return list(dict.fromkeys(found))
