"""instructor.grading and instructor.notebook on a toy assignment (tests/instructor_toy.py).

Fair partial credit, what a submission's status says, the folder layouts an instructor gets
(one folder per student, e-mail names, a Canvas bulk download), late work and parallel grading.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from instructor.grading import find_submissions, grade_folder, grade_submission, load_assignment
from instructor.notebook import student_version
from instructor_toy import ANSWER, make_course, source_notebook, with_answer

pytestmark = pytest.mark.instructor

CORRECT = "def double(x):\n    x = np.asarray(x)\n    return x * x.dtype.type(2)"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def toy(course):
    return load_assignment("toy", course)


def grade(toy, tmp_path, nb, name="toy.ipynb", **kwargs):
    path = tmp_path / name
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    return grade_submission(toy, path, "student", **kwargs)


def failed(result) -> set[str]:
    return {c.name for c in result.checks if not c.passed}


def codes(result) -> list[str]:
    return [s.code for s in result.statuses]


def test_the_reference_solution_gets_full_marks(toy, tmp_path):
    r = grade(toy, tmp_path, source_notebook())
    assert (r.score, r.max_score, failed(r), codes(r)) == (4.0, 4.0, set(), [])


def test_the_student_version_has_stubs_and_keeps_every_cell(toy):
    released = student_version(toy.source)
    answer = released.cells[2].source
    assert "BEGIN SOLUTION" not in answer and "x.dtype.type(2)" not in answer
    assert answer.splitlines()[-2:] == ["    # YOUR CODE HERE", "    raise NotImplementedError()"]
    assert [c.metadata for c in released.cells] == [c.metadata for c in toy.source.cells]


def test_an_untouched_student_version_scores_zero_with_reasons(toy, tmp_path):
    r = grade(toy, tmp_path, student_version(toy.source))
    assert r.score == 0 and all("NotImplementedError" in c.message for c in r.checks)


@pytest.mark.parametrize("answer, lost", [
    ("def double(x):\n    x = np.asarray(x)\n"
     "    return (2 * x).astype(float) if x.dtype.kind == 'f' else 2 * x",
     {"float32 in, float32 out"}),                                       # a float64 slip
    ("def double(x):\n    x *= 2\n    return x", {"x is left unchanged", "a string is a TypeError"}),
    ("def double(x):\n    return np.nan_to_num(2 * np.asarray(x))", {"float64 values"}),
])
def test_a_slip_costs_only_the_checks_it_breaks(toy, tmp_path, answer, lost):
    r = grade(toy, tmp_path, with_answer(answer))
    assert failed(r) == lost
    assert r.score == 4.0 - sum(c.max_points for c in r.checks if c.name in lost)


def test_writing_into_an_argument_is_reported(toy, tmp_path):
    r = grade(toy, tmp_path, with_answer("def double(x):\n    x *= 2\n    return x"))
    assert "mutated_input" in codes(r) and "double" in r.status_text()


def test_printing_logging_and_warnings_cost_nothing(toy, tmp_path):
    noisy = ("import sys, logging, warnings\nprint('debug', file=sys.stderr)\n"
             "logging.error('log line')\nwarnings.warn('careful')\n" + CORRECT)
    r = grade(toy, tmp_path, with_answer(noisy))
    assert (r.score, codes(r)) == (4.0, [])
    assert "debug" in r.output and "log line" in r.output


@pytest.mark.parametrize("on_forbidden, score", [("zero", 0.0), ("flag", 4.0)])
def test_a_forbidden_import_is_named_and_scored_by_the_policy(course, tmp_path, on_forbidden,
                                                              score):
    toml = course / "course.toml"
    original = toml.read_text()
    toml.write_text(original.replace('on_forbidden = "zero"', f'on_forbidden = "{on_forbidden}"'))
    try:
        toy = load_assignment("toy", course)
    finally:
        toml.write_text(original)
    r = grade(toy, tmp_path, with_answer("import os\n" + CORRECT))
    assert r.score == score and r.raw_score == 4.0
    assert [s.detail for s in r.statuses if s.code == "forbidden_import"][0].startswith("os")


def test_using_the_answer_key_libraries_is_a_forbidden_call(toy, tmp_path):
    r = grade(toy, tmp_path, with_answer(
        "import torch\ndef double(x):\n    return torch.as_tensor(x).mul(2).numpy()"))
    assert r.score == 0 and "forbidden_call" in codes(r) and "torch" in r.status_text()


def test_an_edited_locked_cell_is_restored_and_reported(toy, tmp_path):
    nb = source_notebook()
    nb.cells[1].source = "import numpy"          # the setup cell, edited: np undefined
    r = grade(toy, tmp_path, nb)
    assert r.score == 4.0, "the original setup cell ran"
    assert [s.detail for s in r.statuses if s.code == "restored_cell"] == ["setup (edited)"]


def test_a_deleted_locked_cell_is_restored_and_reported(toy, tmp_path):
    nb = source_notebook()
    del nb.cells[1]
    r = grade(toy, tmp_path, nb)
    assert r.score == 4.0 and "setup (deleted)" in r.status_text()


def test_edited_visible_tests_never_run_and_cost_nothing(toy, tmp_path):
    nb = source_notebook()
    nb.cells[3].source = "assert False, 'the student broke the visible test'"
    r = grade(toy, tmp_path, nb)
    assert (r.score, codes(r)) == (4.0, [])


def test_cells_that_lost_their_metadata_are_matched_and_reported(toy, tmp_path):
    nb = source_notebook()
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    r = grade(toy, tmp_path, nb)
    assert r.score == 4.0
    assert [s.detail for s in r.statuses if s.code == "lost_metadata"] == ["setup, double_visible, double"]


def test_a_student_cell_added_below_is_run_in_order(toy, tmp_path):
    nb = with_answer("def double(x):\n    raise NotImplementedError()")
    nb.cells.append(nbformat.v4.new_code_cell("%timeit double(1)\n" + CORRECT))
    r = grade(toy, tmp_path, nb)
    assert r.score == 4.0


def test_a_file_that_is_not_a_notebook(toy, tmp_path):
    r = grade(toy, tmp_path, "{ not json")
    assert (r.score, codes(r)) == (0.0, ["not_a_notebook"])
    assert all("not a readable notebook" in c.message for c in r.checks)


def test_a_crash_before_the_definition(toy, tmp_path):
    r = grade(toy, tmp_path, with_answer("raise RuntimeError('oops')\n" + CORRECT))
    assert r.score == 0 and "crash" in codes(r) and "RuntimeError: oops" in r.status_text()
    assert all("not defined" in c.message for c in r.checks)


def test_late_work_loses_the_policys_penalty_per_started_day(toy, tmp_path):
    nb = source_notebook()
    on_time = grade(toy, tmp_path, nb, submitted_at=datetime(2027, 1, 10, 11, tzinfo=timezone.utc))
    one_day = grade(toy, tmp_path, nb, submitted_at=datetime(2027, 1, 10, 13, tzinfo=timezone.utc))
    too_late = grade(toy, tmp_path, nb, submitted_at=datetime(2027, 1, 13, tzinfo=timezone.utc))
    assert (on_time.score, codes(on_time)) == (4.0, [])
    assert (one_day.score, one_day.late_penalty) == (3.0, 1.0) and "1 day late" in \
        one_day.status_text()
    assert too_late.score == 0.0 and "scored 0" in too_late.status_text()


# ------------------------------------------------------------------------------ folders
def write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_folder_layouts_email_names_canvas_files_and_a_renamed_notebook(course, tmp_path):
    folder = tmp_path / "submissions"
    write(folder / "jane.doe@uni.edu" / "toy.ipynb", source_notebook())
    write(folder / "bob" / "Untitled.ipynb", source_notebook())
    write(folder / "doejohn_1234_5001_toy.ipynb", with_answer("def double(x):\n    return x"))
    write(folder / "doejohn_1234_5077_toy-1.ipynb", source_notebook())    # a resubmission
    write(folder / "smithann_LATE_777_5002_toy.ipynb", source_notebook())
    (folder / "notes.txt").write_text("not a submission")
    found, skipped = find_submissions(folder, "toy")
    by = {f.student: f for f in found}
    assert sorted(by) == ["1234", "777", "bob", "jane.doe@uni.edu"]
    assert by["1234"].path.name == "doejohn_1234_5077_toy-1.ipynb", "the latest Canvas submission"
    assert by["777"].marked_late and not by["1234"].marked_late
    results, _ = grade_folder("toy", folder, jobs=2, course=course)
    scores = {r.student: (r.score, r.status_text()) for r in results}
    assert scores["jane.doe@uni.edu"] == (4.0, "ok")
    assert scores["1234"] == (4.0, "ok")
    assert scores["bob"] == (4.0, "renamed: graded Untitled.ipynb")
    assert scores["777"][0] == 4.0 and "marked LATE" in scores["777"][1]


def test_a_manifest_gives_submission_times(course, tmp_path):
    folder = tmp_path / "submissions"
    write(folder / "ann" / "toy.ipynb", source_notebook())
    write(folder / "ben" / "toy.ipynb", source_notebook())
    manifest = tmp_path / "times.csv"
    manifest.write_text("student,assignment,submitted_at\nann,toy,2027-01-09T10:00:00Z\n"
                        "ben,toy,2027-01-11T13:00:00+00:00\n")
    results, _ = grade_folder("toy", folder, manifest=manifest, course=course)
    by = {r.student: r for r in results}
    assert by["ann"].score == 4.0 and by["ben"].score == 2.0   # 2 started days: -2 x 25 %


def test_parallel_grading_gives_the_same_results(course, tmp_path):
    folder = tmp_path / "submissions"
    answers = [CORRECT, "def double(x):\n    return x", "def double(x):\n    return 2.0 * x",
               "raise ValueError()", ANSWER.replace("### BEGIN SOLUTION", "").replace(
                   "### END SOLUTION", "")]
    for i, answer in enumerate(answers * 2):
        write(folder / f"s{i}" / "toy.ipynb", with_answer(answer))
    one, _ = grade_folder("toy", folder, jobs=1, course=course)
    two, _ = grade_folder("toy", folder, jobs=2, course=course)
    strip = [(r.student, r.score, [c.passed for c in r.checks], r.status_text()) for r in one]
    assert strip == [(r.student, r.score, [c.passed for c in r.checks], r.status_text())
                     for r in two]
    assert len({s[1] for s in strip}) >= 3, "the answers should score differently"


def test_an_answer_cell_turned_into_text_is_reported_missing(toy, tmp_path):
    nb = source_notebook()
    nb.cells[2] = nbformat.v4.new_markdown_cell(nb.cells[2].source, metadata=nb.cells[2].metadata)
    r = grade(toy, tmp_path, nb)
    assert r.score == 0 and [s.detail for s in r.statuses if s.code == "missing_answer"] == \
        ["double"]


def test_canvas_names_with_underscores_and_odd_files_are_graded_or_reported(course, tmp_path):
    folder = tmp_path / "submissions"
    write(folder / "doe_jane_11111_2_toy.ipynb", source_notebook())
    write(folder / "smithbob_22222_3_Untitled.ipynb", source_notebook())
    write(folder / "stray.ipynb", source_notebook())
    found, skipped = find_submissions(folder, "toy")
    assert sorted(f.student for f in found) == ["11111", "22222"]
    assert len(skipped) == 1 and skipped[0].startswith("stray.ipynb")
    results, _ = grade_folder("toy", folder, course=course)
    assert {r.student: r.status_text() for r in results} == \
        {"11111": "ok", "22222": "renamed: graded smithbob_22222_3_Untitled.ipynb"}
