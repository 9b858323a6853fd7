"""The Gradescope autograder package of an assignment, and the runner inside it.

``build(assignment, out_zip)`` writes the zip that Gradescope's "Configure Autograder" page
takes (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

    setup.sh          installs Python, NumPy and nbformat on Gradescope's Ubuntu image
    run_autograder    grades /autograder/submission/*.ipynb into /autograder/results/results.json
    source/instructor/      the grading code (this package; no nbgrader, no torch)
    source/assignments/course.toml   the policy (imports, limits)
    source/key/NAME.json, NAME.npz   the answer key, computed here with ce_lib and torch
    source/key/NAME.ipynb            the student version (no solutions on Gradescope's server)

``run_autograder`` reads ``$AUTOGRADER_ROOT`` (default /autograder), so a test can run the
package in a temporary folder exactly as Gradescope does. Each graded check becomes one
Gradescope test ("part: check"), with its points and, when it fails, its reason. Late work is
left to Gradescope's own late policy.
"""
from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from .checks import Call, Check, decode, encode
from .model import STATUS_CODES

PACKAGE = Path(__file__).resolve().parent
MODULES = ["__init__.py", "model.py", "checks.py", "notebook.py", "policy.py", "sandbox.py",
           "sandbox_child.py", "grading.py", "gradescope.py"]

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-pip
pip3 install numpy=={numpy} nbformat=={nbformat}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER_ROOT lets a test run it elsewhere.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
cd "$root/source"
exec "${PYTHON:-python3}" -m instructor.gradescope run --root "$root" --assignment {name}
"""


# ------------------------------------------------------------------------------ the answer key
def save_key(checks: list[Check], parts: dict[str, str], folder: Path, name: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    calls: list[Call] = list({id(c.call): c.call for c in checks}.values())
    index = {id(c): i for i, c in enumerate(calls)}
    data = {
        "parts": parts,
        "calls": [{"function": c.function, "args": encode(tuple(c.args), arrays),
                   "kwargs": {k: encode(v, arrays) for k, v in c.kwargs.items()}}
                  for c in calls],
        "checks": [{"part": c.part, "name": c.name, "points": c.points, "kind": c.kind,
                    "rtol": c.rtol, "atol": c.atol, "call": index[id(c.call)],
                    "expected": encode(c.expected, arrays)} for c in checks],
    }
    (folder / f"{name}.json").write_text(json.dumps(data, indent=1))
    np.savez(folder / f"{name}.npz", allow_pickle=False, **arrays)


def load_key(folder: Path, name: str) -> tuple[list[Check], dict[str, str]]:
    data = json.loads((folder / f"{name}.json").read_text())
    with np.load(folder / f"{name}.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    calls = [Call(c["function"], decode(c["args"], arrays),
                  {k: decode(v, arrays) for k, v in c["kwargs"].items()}) for c in data["calls"]]
    checks = [Check(c["part"], c["name"], c["points"], calls[c["call"]],
                    decode(c["expected"], arrays), c["kind"], c["rtol"], c["atol"])
              for c in data["checks"]]
    return checks, data["parts"]


# ------------------------------------------------------------------------------ the package
def build(assignment, out: Path, course_toml: Path) -> Path:
    """Write the autograder zip of ``assignment`` (a grading.Assignment) to ``out``."""
    import tempfile

    import nbformat

    from .notebook import student_version

    versions = {"numpy": np.__version__, "nbformat": nbformat.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp)
        save_key(assignment.checks, assignment.parts, key, assignment.name)
        nbformat.write(student_version(assignment.source), key / f"{assignment.name}.ipynb")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            def add_text(name: str, text: str, executable: bool = False) -> None:
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o755 if executable else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, text)
            add_text("setup.sh", SETUP.format(**versions), executable=True)
            add_text("run_autograder", RUN.replace("{name}", assignment.name), executable=True)
            for module in MODULES:
                add_text(f"source/instructor/{module}", (PACKAGE / module).read_text())
            add_text("source/assignments/course.toml", course_toml.read_text())
            for path in sorted(key.iterdir()):
                z.write(path, f"source/key/{path.name}")
    return out


# ------------------------------------------------------------------------------ the runner
def run(root: Path, name: str) -> dict:
    """Grade the submission under ``root``/submission and write root/results/results.json."""
    from .grading import Assignment, grade_submission
    from .notebook import read
    from .policy import Policy

    source = root / "source"
    checks, parts = load_key(source / "key", name)
    for key_file in (source / "key").iterdir():   # read: now only this process's user may
        key_file.chmod(0o600)                       # (the sandbox runs as nobody if it can)
    assignment = Assignment(name, read(source / "key" / f"{name}.ipynb"), checks, parts,
                            Policy.load(source / "assignments" / "course.toml", name))
    notebooks = sorted((root / "submission").glob("*.ipynb"))
    preferred = [p for p in notebooks if p.name == f"{name}.ipynb"]
    path = (preferred or notebooks or [None])[0]
    result = grade_submission(assignment, path, "gradescope")
    lines = [f"{STATUS_CODES.get(s.code, s.code)}" + (f": {s.detail}" if s.detail else "")
             for s in result.statuses if s.code != "late"]
    if result.score != result.raw_score:
        lines.append(f"The checks gave {result.raw_score:g}; the score is {result.score:g}.")
    if result.output.strip():
        lines.append("What your code printed (printing never costs points):\n" + result.output)
    results = {
        "score": result.score,
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": f"{parts.get(c.part, c.part)}: {c.name}", "score": c.points,
                   "max_score": c.max_points, "status": "passed" if c.passed else "failed",
                   "output": c.message} for c in result.checks],
    }
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results, indent=1))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade the submission (inside the autograder)")
    r.add_argument("--root", type=Path, default=Path("/autograder"))
    r.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    run(args.root, args.assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
