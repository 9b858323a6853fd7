"""Tolerances per dtype (defined here and nowhere else) and the one comparison every test uses.

ce_lib is compared with torch computed in the same process, in the same dtype. Neither side is
bitwise reproducible by the other (torch uses SIMD exp/log and its own summation order), so the
comparison is `|mine - theirs| <= atol * scale + rtol * |theirs|`, elementwise, where `scale`
(>= 1) is the magnitude of the inputs: a float32 logit of 1e4 carries an absolute rounding error
of about 1e-3, which no result computed from it can beat. NaN must sit where torch has NaN, and
+-inf where torch has the same infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


TOLERANCES = {
    # torch and a NumPy port agree to a few 1e-16 in float64 (semantics.md, section 0).
    np.dtype(np.float64): Tolerance(rtol=1e-10, atol=1e-12),
    # float32 is computed in float32 on both sides: within a few eps32 (1.2e-7) of each other.
    np.dtype(np.float32): Tolerance(rtol=1e-5, atol=1e-6),
    # float16 goes through float32 and is rounded to float16 where torch rounds; torch's nll
    # accumulator and its summation order still differ: about 2 ulps (ulp(1) = 9.8e-4).
    np.dtype(np.float16): Tolerance(rtol=2e-3, atol=1e-3),
}


# The softmax family in float16 follows torch's float32-then-round recipes (the book's page
# "PyTorch's loss semantics", semantics.md, section 1): log_softmax and logsumexp bit for bit,
# softmax within one ulp.
FLOAT16_SOFTMAX_ULPS = 1


def tolerance(dtype) -> Tolerance:
    return TOLERANCES[np.dtype(dtype)]


def magnitude(*arrays) -> float:
    """max(1, the largest finite |value|) over the float arrays given (None is skipped)."""
    scale = 1.0
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a)
        if a.size and np.issubdtype(a.dtype, np.floating):
            finite = np.abs(a[np.isfinite(a)].astype(np.float64))
            if finite.size:
                scale = max(scale, float(finite.max()))
    return scale


def assert_is_numpy_result(value, what: str = "result") -> None:
    """ce_lib returns NumPy arrays or NumPy scalars, never Python floats (or torch tensors)."""
    assert isinstance(value, (np.ndarray, np.generic)), (
        f"{what}: expected a NumPy array or NumPy scalar, got {type(value).__name__}"
    )


def assert_close(mine, theirs, *, scale: float = 1.0, dtype=None, what: str = "value") -> None:
    """ce_lib's `mine` equals torch's `theirs` (a NumPy array) in type, dtype, shape and value.

    `dtype` is the dtype whose tolerance applies (default: theirs.dtype).
    """
    assert_is_numpy_result(mine, what)
    theirs = np.asarray(theirs)
    mine_arr = np.asarray(mine)
    assert mine_arr.dtype == theirs.dtype, (
        f"{what}: dtype mine {mine_arr.dtype} != torch {theirs.dtype}"
    )
    assert mine_arr.shape == theirs.shape, (
        f"{what}: shape mine {mine_arr.shape} != torch {theirs.shape}"
    )
    tol = tolerance(theirs.dtype if dtype is None else dtype)
    a, b = mine_arr.astype(np.float64), theirs.astype(np.float64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore", over="ignore"):
        same_inf = np.isinf(b) & (a == b)
        close = np.abs(a - b) <= tol.atol * scale + tol.rtol * np.abs(b)
    ok = np.where(nan_b, nan_a, np.where(np.isinf(b), same_inf, close & ~nan_a & np.isfinite(a)))
    if not ok.all():
        where = np.argwhere(~ok) if ok.ndim else [()]
        first = tuple(where[0])
        raise AssertionError(
            f"{what}: {int((~ok).sum())} of {ok.size} elements differ "
            f"(rtol={tol.rtol}, atol={tol.atol}*{scale:g}); first at {first}: "
            f"mine={a[first]!r} torch={b[first]!r}\n mine ={a!r}\n torch={b!r}"
        )


def ulp_distance(mine, theirs) -> int:
    """Largest distance in float16 units in the last place (0 where both are NaN)."""
    a, b = np.asarray(mine, np.float16), np.asarray(theirs, np.float16)
    if a.shape != b.shape:
        raise AssertionError(f"shape mine {a.shape} != torch {b.shape}")
    if not a.size:
        return 0

    def ordinal(v):  # float16 bit patterns mapped to integers that increase with the value
        bits = v.view(np.int16).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFF), bits)

    both_nan = np.isnan(a) & np.isnan(b)
    if (np.isnan(a) != np.isnan(b)).any():
        raise AssertionError(f"NaN positions differ:\n mine ={a!r}\n torch={b!r}")
    return int(np.where(both_nan, 0, np.abs(ordinal(a) - ordinal(b))).max())
