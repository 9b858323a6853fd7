"""The instructor kit's outputs: gradebook and overrides, CSV and Canvas exports, feedback
pages, the Gradescope package (run as Gradescope runs it), and the command line end to end.
All on the toy assignment of tests/instructor_toy.py, in temporary folders.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from instructor.feedback import render
from instructor.gradebook import Gradebook, GradebookError
from instructor.grading import grade_folder, load_assignment
from instructor_toy import make_course, source_notebook, with_answer

pytestmark = pytest.mark.instructor

ROOT = Path(__file__).resolve().parent.parent
# off by 1e-3: fails both value checks (2 of 4 points), keeps dtype, arguments and the TypeError
WRONG = "def double(x):\n    x = np.asarray(x)\n    return x * x.dtype.type(2) + 1e-3"
ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Old quiz (99)
    Points Possible,,,,,10
"Doe, Jane",1001,S-1,jane.doe@uni.edu,Section A,7
"Moe, Bob",1002,S-2,bob@uni.edu,Section B,9
"Roe, Ann",1003,S-3,ann@uni.edu,Section A,8
"""


def write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course folder with three graded students: full marks, a mistake, and an e-mail name."""
    tmp = tmp_path_factory.mktemp("exports")
    course = make_course(tmp / "course")
    folder = tmp / "submissions"
    write(folder / "jane.doe@uni.edu" / "toy.ipynb", source_notebook())
    write(folder / "1002" / "toy.ipynb", with_answer(WRONG))
    write(folder / "carl" / "toy.ipynb", source_notebook())      # not in the roster
    toy = load_assignment("toy", course)
    results, _ = grade_folder("toy", folder, course=course, assignment=toy)
    book = Gradebook(course / "gradebook.json")
    book.record(results, toy.max_score, toy.part_points(), toy.parts)
    book.save()
    return course, folder, toy


def test_the_gradebook_round_trips_and_overrides_survive_regrading(graded, tmp_path):
    course, folder, toy = graded
    book = Gradebook(course / "gradebook.json")
    assert book.final("toy", "1002").score == 2.0
    with pytest.raises(GradebookError, match="reason"):
        book.add_override("toy", "1002", 3.0, "  ")
    with pytest.raises(GradebookError, match="outside"):
        book.add_override("toy", "1002", 5.0, "too much")
    book.add_override("toy", "1002", 3.5, "float32 slip forgiven (email of 3 Feb)")
    results, _ = grade_folder("toy", folder, course=course, assignment=toy)   # regrade
    again = Gradebook(course / "gradebook.json")
    again.record(results, toy.max_score, toy.part_points(), toy.parts)
    again.save()
    final = Gradebook(course / "gradebook.json").final("toy", "1002")
    assert final.score == 3.5 and "float32 slip forgiven" in final.status_text()
    assert final.raw_score == 2.0, "the checks' own score is kept"
    (course / "overrides.csv").unlink()


def test_the_csv_has_one_row_per_student_and_maxima_in_the_header(graded, tmp_path):
    course, _, _ = graded
    out = tmp_path / "grades.csv"
    Gradebook(course / "gradebook.json").export_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert [r["student"] for r in rows] == ["1002", "carl", "jane.doe@uni.edu"]
    assert list(rows[0]) == ["student", "toy [4]", "toy:double [4]", "toy:status"]
    assert rows[0]["toy [4]"] == "2" and rows[2]["toy [4]"] == "4"


def test_the_canvas_export_is_canvass_import_format(graded, tmp_path):
    course, _, _ = graded
    roster, out = tmp_path / "roster.csv", tmp_path / "canvas.csv"
    roster.write_text(ROSTER)
    notes = Gradebook(course / "gradebook.json").export_canvas(out, roster, {"toy": "Toy (123)"})
    lines = list(csv.reader(out.open()))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Toy (123)"]
    assert lines[1] == ["Points Possible", "", "", "", "", "4"]
    assert lines[2:] == [["Doe, Jane", "1001", "S-1", "jane.doe@uni.edu", "Section A", "4"],
                         ["Moe, Bob", "1002", "S-2", "bob@uni.edu", "Section B", "2"],
                         ["Roe, Ann", "1003", "S-3", "ann@uni.edu", "Section A", ""]]
    assert notes == ["not in the roster (left out): carl",
                     "in the roster with no grade (left blank): Roe, Ann"]


def test_canvas_matching_ignores_case_and_refuses_two_grades_for_one_student(graded, tmp_path):
    course, _, toy = graded
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER.replace("jane.doe@uni.edu", "Jane.Doe@UNI.edu"))
    book = Gradebook(course / "gradebook.json")
    book.export_canvas(tmp_path / "c.csv", roster)
    assert '"Doe, Jane",1001,S-1,Jane.Doe@UNI.edu,Section A,4' in (tmp_path / "c.csv").read_text()
    twin = book.final("toy", "jane.doe@uni.edu")
    twin.student = "1001"                           # the same person, graded twice
    book.record([twin], toy.max_score, toy.part_points(), toy.parts)
    with pytest.raises(GradebookError, match="are both Doe, Jane"):
        book.export_canvas(tmp_path / "c.csv", roster)


def test_a_roster_without_canvas_columns_is_refused_by_name(graded, tmp_path):
    course, _, _ = graded
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nJane,jane@uni.edu\n")
    with pytest.raises(GradebookError, match="missing ID, Student"):
        Gradebook(course / "gradebook.json").export_canvas(tmp_path / "c.csv", roster)


def test_feedback_lists_every_check_and_loads_nothing(graded):
    course, _, toy = graded
    result = Gradebook(course / "gradebook.json").final("toy", "1002")
    page = render(result, toy.parts)
    assert "2 / 4" in page and "(a) double(x)" in page
    for check in result.checks:
        assert check.name in page
        if not check.passed:
            assert check.message.replace("'", "&#x27;")[:40] in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def gradescope_run(zip_path: Path, root: Path, nb) -> dict:
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root)
    write(root / "submission" / "toy.ipynb", nb)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    subprocess.run(["bash", str(root / "run_autograder")], env=env, check=True, timeout=120,
                   capture_output=True)
    return json.loads((root / "results" / "results.json").read_text())


def test_the_gradescope_package_grades_as_gradescope_runs_it(graded, tmp_path):
    course, _, _ = graded
    out = tmp_path / "zips"
    subprocess.run([sys.executable, "-m", "instructor", "--course-dir", str(course),
                    "gradescope", "toy", str(out)], check=True, cwd=ROOT, capture_output=True)
    zip_path = out / "toy-autograder.zip"
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "source/key/toy.json",
                "source/instructor/sandbox_child.py"} <= names
        assert "BEGIN SOLUTION" not in z.read("source/key/toy.ipynb").decode()
        assert z.getinfo("run_autograder").external_attr >> 16 & 0o111
    good = gradescope_run(zip_path, tmp_path / "good", source_notebook())
    assert good["score"] == 4.0 and all(t["status"] == "passed" for t in good["tests"])
    bad = gradescope_run(zip_path, tmp_path / "bad", with_answer(WRONG))
    assert bad["score"] == 2.0
    failed = [t for t in bad["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and t["output"] for t in failed)
    assert sum(t["max_score"] for t in bad["tests"]) == 4.0


def test_the_command_line_end_to_end(tmp_path):
    course = make_course(tmp_path / "course")
    folder = tmp_path / "subs"
    write(folder / "ann@uni.edu" / "toy.ipynb", with_answer(WRONG))

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "instructor", "--course-dir", str(course),
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "student version" in cli("assign", "all")
    assert "raise NotImplementedError()" in (course / "release/toy/toy.ipynb").read_text()
    table = cli("grade", "toy", str(folder), "--jobs", "2")
    assert re.search(r"^  ann@uni\.edu +2 +2  ok$", table, flags=re.M), table
    cli("override", "toy", "ann@uni.edu", "3", "--reason", "regrade request")
    cli("grades", str(tmp_path / "g.csv"))
    assert "regrade request" in (tmp_path / "g.csv").read_text()
    cli("feedback", "all")
    assert "3 / 4" in (course / "feedback/toy/ann@uni.edu.html").read_text()
    bad = subprocess.run([sys.executable, "-m", "instructor", "--course-dir", str(course),
                          "grade", "nosuch", str(folder)], cwd=ROOT, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: no assignment 'nosuch'")
    assert "Traceback" not in bad.stderr
