"""instructor.sandbox: a submission runs in its own limited process and cannot reach the grader.

Each test runs a few cells of "student" code and calls through run_submission, then checks
what came back: the returned values, the refusals, the limits, and the statuses that tell the
instructor what happened.
"""
from __future__ import annotations

import numpy as np
import pytest

from instructor.checks import Call
from instructor.policy import Policy
from instructor.sandbox import ROOT, run_submission

pytestmark = pytest.mark.instructor

POLICY = Policy("toy", allowed_imports=frozenset({"numpy", "math", "sys", "logging"}),
                timeout_s=20, call_timeout_s=2, memory_mb=1024)
X = np.array([[1.0, 2.0], [3.0, 4.0]])


def run(*cells: str, calls=(Call("f", (X,)),), policy=POLICY):
    named = [("setup", "import numpy as np")] + [(f"cell {i}", c) for i, c in enumerate(cells)]
    return run_submission(named, list(calls), policy)


def codes(result) -> list[str]:
    return [s.code for s in result.statuses]


def test_a_function_returns_its_value_and_the_arguments_come_back_as_left():
    r = run("def f(x):\n    x[0, 0] = -1\n    return x.sum(axis=1)")
    assert r.results[0].value.tolist() == [1.0, 7.0]
    assert r.results[0].args_after[0][0, 0] == -1.0
    assert X[0, 0] == 1.0, "the grader's own array was written into"
    assert codes(r) == []


def test_printing_and_logging_are_kept_for_feedback_and_cost_nothing():
    r = run("import sys, logging\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
            "logging.warning('a log line')\ndef f(x):\n    return x")
    assert {"to stdout", "to stderr", "WARNING:root:a log line"} <= set(r.output.splitlines())
    assert codes(r) == [] and r.results[0].error == ""


@pytest.mark.parametrize("code, refused", [
    ("import scipy", "scipy"),
    ("import torch", "torch"),
    ("__import__('ce_lib')", "ce_lib"),
    ("import sqlite3", "sqlite3"),   # (modules numpy already loaded: the syntax scan)
    ("import sys\nsys.modules['importlib'].import_module('to' + 'rch')", "torch"),
])
def test_an_import_outside_the_policy_is_refused_and_named(code, refused):
    r = run(code, "def f(x):\n    return x")
    assert "forbidden_import" in codes(r)
    assert refused in str(r.statuses)
    assert r.results[0].error == "", "the rest of the submission still runs"


def test_the_gradebook_and_the_answer_key_are_out_of_reach():
    gradebook = ROOT / "assignments" / "gradebook.json"
    key = ROOT / "assignments" / "source" / "ch2_cross_entropy" / "checks.py"
    r = run(f"open({str(gradebook)!r}, 'w')", f"open({str(key)!r}).read()",
            "open('/tmp/ce-sandbox-escape', 'w')", "def f(x):\n    return x")
    errors = [e for _, e in r.cell_errors]
    assert len(errors) == 3 and all(e.startswith("PermissionError") for e in errors), errors
    assert not gradebook.exists() or "escape" not in gradebook.read_text()


@pytest.mark.parametrize("code", [
    "import os\nos.system('true')",
    "import sys\nsys.modules['os'].system('true')",
    "import subprocess\nsubprocess.run(['true'])",
    "import sys\nsys.modules['os'].fork()",
])
def test_no_processes_can_be_started(code):
    r = run(code, "def f(x):\n    return x")
    assert r.cell_errors, "starting a process was not refused"
    assert r.results[0].value is not None


def test_writes_in_its_own_working_folder_are_fine():
    r = run("open('scratch.txt', 'w').write('ok')\ndef f(x):\n    return x")
    assert codes(r) == [] and r.results[0].value is not None


def test_a_call_that_never_returns_is_stopped_and_the_next_calls_still_run():
    r = run("def f(x):\n    while True:\n        pass\ndef g(x):\n    return x + 1",
            calls=(Call("f", (X,)), Call("g", (X,))))
    assert r.results[0].error.startswith("TimeoutError")
    assert r.results[1].value.tolist() == (X + 1).tolist()
    assert "timeout" in codes(r)


def test_a_submission_that_swallows_the_timeout_is_killed_at_the_wall_clock_limit():
    policy = Policy("toy", allowed_imports=POLICY.allowed_imports, timeout_s=4,
                    call_timeout_s=1, memory_mb=1024)
    r = run("def f(x):\n    while True:\n        try:\n            while True:\n"
            "                pass\n        except BaseException:\n            pass",
            policy=policy)
    assert "timeout" in codes(r)
    assert "out of time" in r.results[0].note
    assert r.seconds < 15


def test_memory_is_limited():
    r = run("def f(x):\n    return np.ones((2**31,), dtype=np.float64)")   # 16 GB
    assert r.results[0].error.startswith("MemoryError")
    assert "memory" in codes(r)


def test_a_process_that_dies_is_reported():
    r = run("import sys\nsys.modules['os']._exit(1)\ndef f(x):\n    return x")
    assert "sandbox_died" in codes(r)
    assert r.results[0].note.startswith("not run")


def test_exit_and_errors_in_a_cell_do_not_stop_the_other_cells():
    r = run("raise SystemExit(0)", "1 / 0", "def f(x):\n    return x * 2")
    assert [e.split(":")[0] for _, e in r.cell_errors] == ["SystemExit", "ZeroDivisionError"]
    assert r.results[0].value.tolist() == (2 * X).tolist()
    assert codes(r) == ["crash", "crash"]


def test_a_value_that_is_not_numbers_is_an_error_not_a_pickle():
    r = run("def f(x):\n    return {'not': 'an array'}")
    assert r.results[0].value is None and "not numbers" in r.results[0].error
    assert r.results[0].error_classes == (), "returning is not raising (a 'raises' check fails)"


def test_patching_builtins_or_numpy_changes_only_the_students_own_answers():
    r = run("import builtins\nbuiltins.abs = lambda v: 0 * v\nnp.allclose = lambda *a, **k: True\n"
            "def f(x):\n    return np.zeros_like(x)")
    assert r.results[0].value.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # the grader's numpy is untouched: the comparison happens here, not in the sandbox
    assert not np.allclose(r.results[0].value, X)


def test_a_folder_handle_cannot_reach_the_answer_key_or_the_gradebook():
    """os.open(folder) then a path relative to it (dir_fd) would dodge the path checks: opening
    a folder is refused, and so are /proc (the grader's memory) and listing the course."""
    r = run("import sys\nos = sys.modules['os']\nfd = os.open('/work', os.O_RDONLY)",
            "import sys\nos = sys.modules['os']\nos.open('/proc/self/environ', os.O_RDONLY)",
            f"import sys\nsys.modules['os'].listdir({str(ROOT)!r})",
            f"import sys\nos = sys.modules['os']\nos.open({str(ROOT / 'x.txt')!r}, "
            "os.O_WRONLY | os.O_CREAT)",
            "def f(x):\n    return x")
    errors = [e for _, e in r.cell_errors]
    assert len(errors) == 4 and all(e.startswith("PermissionError") for e in errors), errors
    assert not (ROOT / "x.txt").exists()


def test_a_forged_or_oversized_result_is_a_call_not_run_and_grading_goes_on():
    r = run("import sys\nsys.modules['__main__'].DUMPS = lambda d: '[]'\n"
            "def f(x):\n    return x")
    assert r.results[0].value is None and r.results[0].note.startswith("not run")
    r = run("import sys\nimport numpy as np\n"
            "sys.modules['__main__'].SAVEZ = np.savez_compressed\n"
            "def f(x):\n    return np.broadcast_to(0.0, (200_000_000,))")
    assert r.results[0].value is None and "too large" in r.results[0].note


def test_threads_left_running_do_not_hold_the_grader():
    r = run("import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\n"
            "def f(x):\n    return x")
    assert r.results[0].value is not None and r.seconds < 10 and "timeout" not in codes(r)
