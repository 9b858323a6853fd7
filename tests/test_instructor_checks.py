"""instructor.checks.evaluate: each kind of check passes the right answer and fails the wrong ones.

The graded checks are what a student's score is made of, so each way of being wrong must cost
the check it belongs to (and only that one), with a message that says what was wrong.
"""
from __future__ import annotations

import numpy as np
import pytest

from instructor.checks import Call, CallResult, Check, evaluate
from instructor.model import CheckResult, Status, SubmissionResult

CALL = Call("f", (np.array([1.0, 2.0], dtype=np.float32),), {"weight": None})


def value_check(expected, **kwargs) -> Check:
    return Check("part", "value", 2.0, CALL, np.asarray(expected), **kwargs)


def returned(value) -> CallResult:
    return CallResult(value=np.asarray(value))


def test_a_right_value_scores_all_its_points():
    got = evaluate(value_check([1.0, np.nan, np.inf]), returned([1.0 + 1e-13, np.nan, np.inf]))
    assert got == CheckResult("part", "value", 2.0, 2.0, True, "")


@pytest.mark.parametrize("value, words", [
    ([1.0, 2.0], "shape (2,), expected (3,)"),
    ([1.0, 2.0, np.inf], "expected NaN at index (1,)"),
    ([1.0, np.nan, np.nan], "got NaN at index (2,)"),
    ([1.0, np.nan, -np.inf], "expected +inf at index (2,), got -inf"),
    ([1.1, np.nan, np.inf], "got 1.1 at index (0,), expected 1.0"),
    (["a", "b", "c"], "expected numbers"),
])
def test_a_wrong_value_scores_nothing_and_says_why(value, words):
    got = evaluate(value_check([1.0, np.nan, np.inf]), returned(value))
    assert (got.points, got.passed) == (0.0, False)
    assert words in got.message


def test_the_tolerance_is_relative_plus_absolute():
    check = value_check([1000.0], rtol=1e-6, atol=0.0)
    assert evaluate(check, returned([1000.0009])).passed
    assert not evaluate(check, returned([1000.0011])).passed


def test_dtype_is_its_own_check():
    check = Check("part", "dtype", 1.0, CALL, np.float32(0.5), kind="dtype")
    assert evaluate(check, returned(np.float32(3.0))).passed
    wrong = evaluate(check, returned(np.float64(0.5)))
    assert not wrong.passed and wrong.message == "dtype float64, expected float32"
    # ... while the value check of the same call still passes.
    assert evaluate(Check("part", "v", 1.0, CALL, np.float32(0.5)), returned(np.float64(0.5))).passed


def test_raises_accepts_the_class_or_a_subclass_only():
    check = Check("part", "raises", 1.0, CALL, "ValueError", kind="raises")
    assert evaluate(check, CallResult(error="IndexError: x",
                                      error_classes=("IndexError", "LookupError"))).passed is False
    assert evaluate(check, CallResult(error="MyError: x",
                                      error_classes=("MyError", "ValueError", "Exception"))).passed
    assert "returned normally" in evaluate(check, returned(1.0)).message


def test_unchanged_sees_a_write_into_the_callers_array():
    check = Check("part", "unchanged", 1.0, CALL, kind="unchanged")
    assert evaluate(check, CallResult(value=np.zeros(()), args_after=(CALL.args[0].copy(), None))).passed
    written = CALL.args[0].copy()
    written[0] = 0
    assert "argument 1 was changed" in evaluate(check, CallResult(args_after=(written, None))).message


def test_a_call_that_raised_or_never_ran_fails_value_checks():
    raised = CallResult(error="ZeroDivisionError: x", error_classes=("ZeroDivisionError",))
    assert evaluate(value_check(1.0), raised).message == "raised ZeroDivisionError: x"
    odd = CallResult(error="returned dict {'a': 1}, not numbers")
    assert evaluate(value_check(1.0), odd).message == odd.error
    assert evaluate(value_check(1.0), CallResult(note="timeout: 60 s")).message == "timeout: 60 s"


def test_bad_checks_are_refused():
    with pytest.raises(ValueError, match="kind"):
        Check("part", "x", 1.0, CALL, kind="close")
    with pytest.raises(ValueError, match="points"):
        Check("part", "x", 0.0, CALL)


def test_a_submission_result_survives_json_and_sums_its_parts():
    result = SubmissionResult(
        "alice", "ch2", statuses=[Status("late", "1 day")],
        checks=[CheckResult("a", "x", 1.0, 1.0, True), CheckResult("a", "y", 0.0, 2.0, False, "m"),
                CheckResult("b", "z", 3.0, 3.0, True)])
    again = SubmissionResult.from_dict(result.to_dict())
    assert again == result
    assert again.part_scores() == {"a": (1.0, 3.0), "b": (3.0, 3.0)}
    assert again.status_text() == "late: 1 day"
