"""The softmax family: logsumexp, softmax and log_softmax, computed stably.

All three subtract the maximum along `dim` before exponentiating, so that
logits like [1000, 1000.5, -1000] neither overflow nor lose the small
probabilities. float16 input is computed in float32 and rounded back, as
torch does (the book's page "PyTorch's loss semantics", semantics.md,
section 1).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_dim, compute_dtype, float_input, to_numpy


def _row_max(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """max along `axes` (kept as size-1 axes); -inf for an empty reduction."""
    return np.max(x, axis=axes, keepdims=True, initial=-np.inf)


def _logits(input, dim, dtype, name: str = "input"):
    """Validated input, its class axis, and the dtype to return."""
    x = float_input(input, name)
    if dtype is not None:
        x = x.astype(dtype)
    (axis,) = check_dim(dim, x.ndim)
    return x, axis


def log_softmax(input, dim: int, dtype=None) -> np.ndarray:
    """Logarithm of the softmax along `dim`. Twin of torch.nn.functional.log_softmax.

        log_softmax(x)_j = (x_j - m) - log sum_k exp(x_k - m),   m = max_k x_k

    Special rows follow from the formula, as in torch: a row of all -inf, or
    one containing +inf or NaN, is all NaN; a -inf among finite values gives
    -inf there. `dtype` casts the input first.
    """
    x, axis = _logits(input, dim, dtype)
    out_dtype = x.dtype
    x = x.astype(compute_dtype(out_dtype), copy=False)
    if x.ndim == 0:
        return log_softmax(x.reshape(1), 0).astype(out_dtype).reshape(())
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = x - _row_max(x, (axis,))
        row_sum = np.sum(np.exp(shifted), axis=axis, keepdims=True)
        if out_dtype == np.float16 and axis == x.ndim - 1:
            # torch rounds the row's sum and its log to float16 along the last dim.
            row_sum = row_sum.astype(np.float16).astype(np.float32)
            log_sum = np.log(row_sum).astype(np.float16).astype(np.float32)
        else:
            log_sum = np.log(row_sum)
        return (shifted - log_sum).astype(out_dtype, copy=False)


def softmax(input, dim: int, dtype=None) -> np.ndarray:
    """Softmax along `dim`. Twin of torch.nn.functional.softmax.

        softmax(x)_j = exp(x_j - m) / sum_k exp(x_k - m),   m = max_k x_k

    Shift-invariant: softmax(x + c) == softmax(x). Rows of all -inf, or with
    +inf or NaN, are all NaN, as in torch.
    """
    x, axis = _logits(input, dim, dtype)
    out_dtype = x.dtype
    x = x.astype(compute_dtype(out_dtype), copy=False)
    if x.ndim == 0:
        return softmax(x.reshape(1), 0).astype(out_dtype).reshape(())
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - _row_max(x, (axis,)))
        return (e / np.sum(e, axis=axis, keepdims=True)).astype(out_dtype, copy=False)


def _logsumexp_float16(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """torch's float16 logsumexp, bit for bit: every operation (x - m, exp, the sum, log, + m)
    is computed in float32 and rounded to float16, as torch's half kernels do."""
    def rounded(values):
        return values.astype(np.float16).astype(np.float32)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = _row_max(x, axes).astype(np.float32)
        m = np.where(np.isfinite(m), m, np.float32(0))
        e = rounded(np.exp(rounded(x.astype(np.float32) - m)))
        s = rounded(np.sum(e, axis=axes, keepdims=True, dtype=np.float32))
        return (rounded(np.log(s)) + m).astype(np.float16)


def logsumexp(input, dim, keepdim: bool = False) -> np.ndarray:
    """log sum_k exp(x_k) over `dim` (an int or a tuple). Twin of torch.logsumexp.

        logsumexp(x) = log sum_k exp(x_k - m) + m,   m = max_k x_k if finite, else 0

    A row of all -inf gives -inf, a +inf gives +inf, NaN gives NaN, an empty
    dim gives -inf. Integer input is promoted to float32, as in torch.
    """
    x = to_numpy(input, "input")
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        x = x.astype(np.float32)
    x = float_input(x)
    axes = check_dim(dim, x.ndim)
    if not axes:
        raise ValueError(f"dim must name at least one dimension to reduce, got {dim!r}")
    out_dtype = x.dtype
    if x.ndim == 0:
        return x.copy()[()] if not keepdim else x.copy()
    if out_dtype == np.float16:
        out = _logsumexp_float16(x, axes)
    else:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            m = _row_max(x, axes)
            m = np.where(np.isfinite(m), m, 0)
            out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdim:
        out = np.squeeze(out, axis=axes)
    return out.astype(out_dtype, copy=False)[()]
