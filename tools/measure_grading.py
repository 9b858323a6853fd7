"""How long grading a class takes: N synthetic submissions per assignment, 1 and 2 jobs.

    .venv/bin/python tools/measure_grading.py [--count 200] [--jobs 1 2]

The submissions cycle through the reference solution and every planted mistake and correct
alternative of tests/assignments/ (the same notebooks tests/test_assignments.py grades), one
folder per student, in a temporary directory; nothing is written into the repository (the
gradebook is not touched). Prints a Markdown table: seconds per assignment and per
submission for each number of jobs. Not a test: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402

from instructor.grading import COURSE, assignment_names, grade_folder, load_assignment  # noqa: E402
from test_assignments import file_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="submissions per assignment")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load {load:.2f} at start; {args.count} submissions per "
          f"assignment\n")
    rows, totals = [], {j: 0.0 for j in args.jobs}
    with tempfile.TemporaryDirectory() as tmp:
        for name in assignment_names(COURSE):
            assignment = load_assignment(name, COURSE)
            notebooks = [assignment.source] + [c.notebook for c in file_cases(
                name, assignment.source)]
            folder = Path(tmp) / name
            for i in range(args.count):
                path = folder / f"student{i:04d}" / f"{name}.ipynb"
                path.parent.mkdir(parents=True)
                nbformat.write(notebooks[i % len(notebooks)], path)
            seconds = {}
            for jobs in args.jobs:
                t0 = time.perf_counter()
                results, _ = grade_folder(name, folder, jobs=jobs, assignment=assignment)
                seconds[jobs] = time.perf_counter() - t0
                totals[jobs] += seconds[jobs]
                assert len(results) == args.count
            rows.append((name, seconds))
    head = " | ".join(f"{j} job{'s' if j > 1 else ''}: s (s per submission)" for j in args.jobs)
    print(f"| assignment | {head} |")
    print("|---|" + "---|" * len(args.jobs))
    for name, seconds in rows + [("all", totals)]:
        n = args.count * (len(rows) if name == "all" else 1)
        print(f"| {name} | " + " | ".join(f"{seconds[j]:.1f} ({seconds[j] / n:.3f})"
                                          for j in args.jobs) + " |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
