"""nbgrader settings for the course's assignments (the instructor kit).

Use it through the course script, never by hand: `./course assign`, `./course grade`,
`./course grades`, `./course feedback` (tools/instructor.py) run nbgrader in this folder.
nbgrader's own folders next to this file (release/, submitted/, autograded/, feedback/,
gradebook.db) are generated and not committed.
"""
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "cross-entropy"

# Every cell of a submission may run for 30 s at most; then the kernel is interrupted, the cell
# records a CellTimeoutError (0 points for a test cell) and grading goes on with the next cell.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
# Stop each kernel at once when its notebook is done (a graceful shutdown waits 1-3 s per student).
c.Execute.shutdown_kernel = "immediate"

# A student who deletes a test cell gets it back: autograde re-inserts every missing graded cell
# from the gradebook (that is, from source/), so the tests run anyway. Edited test cells are
# locked cells whose checksum no longer matches; autograde always replaces their source with the
# original (nbgrader's default), so editing a test changes nothing.
c.OverwriteCells.add_missing_cells = True
