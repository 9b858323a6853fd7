"""Graded checks: a call of a student's function, the expected answer, and how to compare.

An assignment's hidden tests are a list of ``Check`` records, made by the function
``checks()`` of ``assignments/source/<NAME>/checks.py``. That file runs in the grader's own
process, never in the student's: the expected values are computed there, with ce_lib and
PyTorch, before any student code runs, so nothing a submission patches can change them.

Each check names one ``Call`` (a function the student defines, and its arguments). The grader
runs every distinct call once, in the sandbox (sandbox.py), and gets back a ``CallResult``;
``evaluate`` then scores each check against its call's result. Several checks may share one
call: a dtype slip costs the dtype check, not the value check of the same call.

Kinds of check (``Check.kind``):

- ``"value"``: same shape, NaN and ±inf in the same places, the rest within rtol/atol
  (``|got - expected| <= atol + rtol * |expected|``, compared in float64);
- ``"dtype"``: the result's dtype is ``expected``'s dtype;
- ``"raises"``: the call raises an exception of class ``expected`` (a name, e.g. "ValueError",
  or a subclass of it);
- ``"unchanged"``: the call leaves its array arguments as they were (no writes into the
  caller's arrays); ``expected`` is unused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model import CheckResult

KINDS = ("value", "dtype", "raises", "unchanged")


@dataclass(frozen=True, eq=False)
class Call:
    """``function(*args, **kwargs)`` in the student's namespace.

    args and kwargs hold NumPy arrays, Python scalars (int, float, bool, str), None, and
    tuples or lists of those: what the sandbox can send without pickle. Two checks share a
    call by sharing the same Call object.
    """
    function: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A short text for feedback: cross_entropy(float32 (4, 5), int64 (4,), weight=...)."""
        def one(value: Any) -> str:
            if isinstance(value, np.ndarray):
                return f"{value.dtype} array of shape {value.shape}"
            return repr(value)
        parts = [one(a) for a in self.args] + [f"{k}={one(v)}" for k, v in self.kwargs.items()]
        return f"{self.function}({', '.join(parts)})"


@dataclass(frozen=True, eq=False)
class Check:
    part: str            # the part of the assignment it scores, e.g. "cross_entropy"
    name: str            # what it checks, in words the student understands
    points: float
    call: Call
    expected: Any = None
    kind: str = "value"
    rtol: float = 1e-7
    atol: float = 1e-12

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Check {self.name!r}: kind must be one of {KINDS}, "
                             f"got {self.kind!r}")
        if self.points <= 0:
            raise ValueError(f"Check {self.name!r}: points must be positive, got {self.points}")


@dataclass
class CallResult:
    """What the sandbox reports for one call.

    value: the returned value as an array (np.asarray of it), or None if the call raised.
    error: "ExceptionName: message" if it raised; "returned ..., not numbers" if it returned
        something that is not an array of numbers; else "".
    error_classes: the names of the exception's classes, most derived first (its __mro__);
        empty when the function did not raise.
    args_after: the array arguments as they were after the call (same order as in the Call,
        positional then keyword; non-arrays as None), for the "unchanged" check.
    note: set by the grader when no result came back (timeout, crash before the call).
    """
    value: np.ndarray | None = None
    error: str = ""
    error_classes: tuple[str, ...] = ()
    args_after: tuple = ()
    note: str = ""


def encode(value, arrays: dict[str, np.ndarray]):
    """``value`` as JSON, its arrays moved into ``arrays`` (saved with np.savez, no pickle):
    {"array": key}, {"value": scalar}, {"tuple": [...]}, {"list": [...]} or None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    if isinstance(value, np.generic):
        return encode(np.asarray(value), arrays)
    if isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, tuple):
        return {"tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"list": [encode(v, arrays) for v in value]}
    raise TypeError(f"a check's argument or expected value must be an array, a scalar, None, "
                    f"a tuple or a list; got {type(value).__name__}")


def decode(item, arrays):
    """The inverse of ``encode``."""
    if item is None:
        return None
    if "array" in item:
        return arrays[item["array"]]
    if "value" in item:
        return item["value"]
    if "tuple" in item:
        return tuple(decode(i, arrays) for i in item["tuple"])
    return [decode(i, arrays) for i in item["list"]]


def agree(ours, theirs, rtol: float, atol: float, what: str, *, dtype: bool = True) -> None:
    """An answer key's guard, used by every checks.py: our expected value (from ce_lib) and
    PyTorch's must match in shape (and dtype, unless dtype=False), NaN/inf pattern and values
    within rtol/atol; else the key is refused with an AssertionError naming ``what``."""
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape and (not dtype or a.dtype == b.dtype), \
        f"answer key for {what!r}: ours is {a.dtype} {a.shape}, torch's {b.dtype} {b.shape}"
    assert np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                       equal_nan=True), f"answer key for {what!r}: ours {a} but torch {b}"


def call_checks(part: str, name: str, call: Call, expected, points: float, rtol: float,
                atol: float, *, dtype: float = 0.0, unchanged: float = 0.0,
                dtype_says: str = "", unchanged_says: str = "the arguments are left unchanged",
                ) -> list[Check]:
    """The checks of one call, as every checks.py builds them: its value (``points``) and,
    when given points, that the result has ``expected``'s dtype and that the call leaves its
    array arguments unchanged. The extra checks are named "<name>: <what they check>"."""
    out = [Check(part, name, points, call, expected, "value", rtol, atol)]
    if dtype:
        says = dtype_says or f"the result keeps the dtype {np.asarray(expected).dtype}"
        out.append(Check(part, f"{name}: {says}", dtype, call, expected, "dtype"))
    if unchanged:
        out.append(Check(part, f"{name}: {unchanged_says}", unchanged, call, kind="unchanged"))
    return out


def array_arguments(call: Call) -> list[np.ndarray | None]:
    """The call's arguments in the order args_after reports them: arrays, others as None."""
    values = list(call.args) + list(call.kwargs.values())
    return [v if isinstance(v, np.ndarray) else None for v in values]


def _value_message(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str:
    """Empty if got matches want; else the first reason it does not, for the student."""
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
        return f"returned values of dtype {got.dtype}, expected numbers"
    g = got.astype(np.float64) if got.dtype.kind != "c" else got
    w = want.astype(np.float64) if want.dtype.kind != "c" else want
    for what, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        mismatch = test(g) != test(w)
        if mismatch.any():
            where = tuple(int(i) for i in np.argwhere(mismatch)[0])
            at = f" at index {where}" if g.ndim else ""
            if test(g)[where]:
                return f"got {what}{at}, expected {w[where].item()!r}"
            return f"expected {what}{at}, got {g[where].item()!r}"
    finite = np.isfinite(w)
    err = np.abs(g[finite] - w[finite])
    bound = atol + rtol * np.abs(w[finite])
    if np.any(err > bound):
        i = int(np.argmax(err - bound))
        where = tuple(int(k) for k in np.argwhere(finite)[i])
        at = f" at index {where}" if g.ndim else ""
        return (f"got {g[where].item()!r}{at}, expected {w[where].item()!r} "
                f"(tolerance {atol:g} + {rtol:g} x |expected|)")
    return ""


def evaluate(check: Check, result: CallResult) -> CheckResult:
    """Score one check against the result of its call: all its points, or none, and why."""
    def done(message: str) -> CheckResult:
        return CheckResult(part=check.part, name=check.name,
                           points=0.0 if message else float(check.points),
                           max_points=float(check.points), passed=not message, message=message)

    if result.note:
        return done(result.note)
    # error_classes is empty when the function returned, but something that is not numbers
    problem = f"raised {result.error}" if result.error_classes else result.error
    if check.kind == "raises":
        if result.error and check.expected in result.error_classes:
            return done("")
        if result.error:
            return done(f"{problem}; expected a {check.expected}")
        return done(f"returned normally; expected a {check.expected}")
    if result.error:
        return done(problem)
    if check.kind == "unchanged":
        before = array_arguments(check.call)
        for i, (old, new) in enumerate(zip(before, result.args_after)):
            if old is not None and (new is None or old.shape != np.shape(new) or
                                    not np.array_equal(old, new, equal_nan=True)):
                return done(f"argument {i + 1} was changed by the call: "
                            "a function must not write into its caller's arrays")
        return done("")
    got = result.value
    if got is None:
        return done("returned nothing")
    want = np.asarray(check.expected)
    if check.kind == "dtype":
        return done("" if got.dtype == want.dtype else f"dtype {got.dtype}, expected {want.dtype}")
    return done(_value_message(np.asarray(got), want, check.rtol, check.atol))
