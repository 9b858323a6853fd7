"""The instructor kit: student versions, sandboxed autograding, grades, LMS exports, feedback.

Modules, one job each:

- model.py      the records grading produces (SubmissionResult, CheckResult, Status)
- checks.py     graded checks: Call, Check, CallResult and evaluate()
- notebook.py   assignment notebooks: the student version, reading a submission, locked cells
- policy.py     assignments/course.toml: allowed imports, deadlines, late penalties
- sandbox.py    runs a student's code in its own limited process and returns CallResults
- grading.py    grades submissions (one, a folder, in parallel) into the gradebook
- gradebook.py  assignments/gradebook.json, overrides, CSV and Canvas exports
- gradescope.py the Gradescope autograder package
- feedback.py   one HTML feedback file per student
- cli.py        the command line behind ./course assign | grade | grades | feedback | gradescope
"""
