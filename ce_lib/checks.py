"""Checks that keep a chapter's prose and its numbers together. Every chapter uses them.

    compare("loss", ce_lib_value, torch_value)      # prints both, asserts that they agree
    claim("cross-entropy escapes faster at every scale s", all(ce < se))

`compare` prints two results side by side and **asserts** that they agree: the same shape,
NaN in the same places, equal infinities, and |mine - theirs| <= atol + rtol * |theirs|
elsewhere. It prints the tolerance, never the raw difference, whose last bits depend on the
processor, so its output is the same on every CPU.

`claim` backs a sentence of the text that reads a computed result ("larger", "at every
point", "only at θ = 0.2"): the cell that computes the result states the sentence and
asserts it. When the prose stops matching its own output, the notebook fails under nbval
instead of publishing a false sentence.

Tensors are accepted (anything with `.detach()`), so this module needs only NumPy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ClaimError", "claim", "compare"]


class ClaimError(AssertionError):
    """A sentence of the text does not hold for the result the cell computed."""


def claim(statement: str, holds) -> None:
    """Assert that `statement`, a sentence of the chapter, holds: `holds` must be true.

    `holds` is one truth value (a bool, a NumPy bool or a one-element array). For a statement
    about many values, say which: `np.all(...)` ("every point") or `np.any(...)` ("some").
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError("claim: statement must be the sentence being checked, as a string")
    truth = np.asarray(_as_array(holds))
    if truth.size != 1:
        raise TypeError(
            f"claim: holds must be one truth value, got an array of shape {truth.shape}; "
            "use np.all(...) or np.any(...) to say which is claimed")
    if not bool(truth.reshape(())):
        raise ClaimError(f"the text says {statement!r}, but the computed result does not")


def compare(name: str, mine, theirs, tol: float = 1e-12, *, rtol: float | None = None,
            atol: float | None = None, labels: tuple[str, str] = ("ce_lib", "torch"),
            digits: int = 4) -> None:
    """Print `mine` and `theirs` side by side and assert that they agree within the tolerance.

    Agreement: equal shapes; NaN exactly where the other has NaN; infinities equal;
    elsewhere |mine - theirs| <= atol + rtol * |theirs|, with rtol = atol = tol unless given.
    Values are compared in float64. Scalars print on one line; arrays of up to 6 entries on
    two (one per label); larger arrays by their shape only. `digits` sets the printed
    precision (the comparison never depends on it).
    """
    rtol = tol if rtol is None else rtol
    atol = tol if atol is None else atol
    a, b = (np.asarray(_as_array(v), dtype=np.float64) + 0.0 for v in (mine, theirs))
    mine_label, their_label = labels
    if a.shape != b.shape:
        print(f"{name}: SHAPES DIFFER, {mine_label} {a.shape}, {their_label} {b.shape}")
        raise AssertionError(f"{name}: {mine_label} has shape {a.shape} but {their_label} "
                             f"has shape {b.shape}")
    ok = bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    tolerance = f"{tol:.0e}" if rtol == atol else f"rtol {rtol:.0e}, atol {atol:.0e}"
    verdict = f"agree within {tolerance}" if ok else f"DIFFER beyond {tolerance}"
    if a.ndim == 0:
        print(f"{name}: {mine_label} {_number(a, digits)}, {their_label} "
              f"{_number(b, digits)}; {verdict}")
    elif a.size <= 6:
        width = max(map(len, labels)) + 3
        print(f"{name}: {verdict}")
        for label, value in ((mine_label, a), (their_label, b)):
            print(f"  {label:<{width - 2}}" + np.array2string(
                value, precision=digits, prefix=" " * width))
    else:
        print(f"{name}: {verdict} (arrays of shape {a.shape})")
    if not ok:
        with np.errstate(invalid="ignore"):
            gap = np.where(np.isnan(a) | np.isnan(b) | (a == b), 0.0, np.abs(a - b))
        nan_mismatch = int(np.sum(np.isnan(a) != np.isnan(b)))
        raise AssertionError(f"{name}: {mine_label} and {their_label} disagree "
                             f"(max |difference| {gap.max(initial=0.0):.3e}, "
                             f"{nan_mismatch} NaN mismatches; tolerance {tolerance})")


def _as_array(value):
    """A NumPy view of a number, an array or a tensor (any device and floating dtype)."""
    if hasattr(value, "detach"):                      # a torch tensor, without importing torch
        value = value.detach().cpu()
        if value.is_floating_point() or value.is_complex():
            value = value.double()
        return value.numpy()
    return value


def _number(value: np.ndarray, digits: int) -> str:
    return np.format_float_positional(value.item(), precision=digits, unique=True, trim="-") \
        if 1e-4 <= abs(value.item()) < 1e6 else f"{value.item():.{digits}g}"
