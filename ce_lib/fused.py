"""Fast paths: the cross-entropy loss and its gradient in one pass over the logits.

The reference functions (`cross_entropy`, `cross_entropy_grad`) read like the
formulas and allocate several arrays of the logits' size. For training-sized
inputs that is where the time goes: an N x C float32 array at N = 4096,
C = 32000 is 500 MB, and every fresh one costs page faults and a trip to main
memory. `cross_entropy_with_grad` computes the same numbers differently:

* it walks the rows in blocks small enough to stay in the CPU cache, so the
  five passes over a block (max, shift, exp, sum, scale) read cache, not RAM;
* it calls exp once per element and turns those exponentials into the
  gradient in place, so the only N x C array it writes is the gradient;
* it can write that gradient into a buffer the caller owns (`out=`), even
  into the logits themselves, and then allocates nothing of size N x C;
* it splits the blocks over threads (NumPy releases the GIL inside ufuncs).

The tests check it against the reference functions on random inputs.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _validation as check
from .losses import _check_label_smoothing, _class_terms

# About 256 KiB of float32 logits per block: small enough to stay in L2 across the passes.
BLOCK_BYTES = 1 << 18
# Below this many elements threads cost more than they save.
MIN_ELEMENTS_PER_THREAD = 1 << 18


def _default_threads(n_elements: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_elements // MIN_ELEMENTS_PER_THREAD))


def cross_entropy_with_grad(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output=None,
    out: np.ndarray | None = None,
    threads: int | None = None,
):
    """Loss and gradient of cross_entropy for (N, C) logits and class-index targets, fused.

    Returns ``(loss, grad)`` equal to ``cross_entropy(input, target, ...)`` and
    ``cross_entropy_grad(input, target, ..., grad_output=grad_output)`` (same
    arguments, same edge cases and errors), for 2-D input and reduction
    'mean' or 'sum'. Per row i, with m = max_j x_ij and s = sum_j exp(x_ij - m):

        loss_i  = (1 - eps) w[t_i] (m + log s - x_it)  +  eps/C sum_c w_c (m + log s - x_ic)
        grad_ij = g/D [ ((1 - eps) w[t_i] + eps/C W) exp(x_ij - m) / s
                        - (1 - eps) w[t_i] [j == t_i] - eps/C w_j ]

    out: an (N, C) array of the input's dtype to receive the gradient; it
        may be the input itself (the logits are then overwritten). Without
        it a new array is allocated.
    threads: how many threads share the rows (default: the CPU count for
        large inputs, 1 for small ones). The result does not depend on it.
    """
    reduction = check.check_reduction(reduction)
    if reduction == "none":
        raise ValueError(
            "reduction='none' is not supported by cross_entropy_with_grad; "
            "use cross_entropy and cross_entropy_grad"
        )
    eps = _check_label_smoothing(label_smoothing)
    x = check.float_input(input)
    if x.ndim != 2 or x.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"cross_entropy_with_grad takes float32 or float64 input of shape (N, C), got "
            f"{x.dtype} of shape {x.shape}; use cross_entropy and cross_entropy_grad"
        )
    x, t, w, valid, w_t, _ = _class_terms(x, target, weight, ignore_index)
    x = np.ascontiguousarray(x)
    n_rows, n_classes = x.shape
    dtype = x.dtype.type

    if out is None:
        grad = np.empty_like(x)
    else:
        grad = out
        if not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != x.dtype:
            raise ValueError(
                f"out must be a NumPy array of shape {x.shape} and dtype {x.dtype}, got "
                f"{getattr(out, 'dtype', type(out).__name__)} of shape {getattr(out, 'shape', None)}"
            )
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous")

    g = dtype(1) if grad_output is None else check.to_numpy(grad_output, "grad_output").astype(x.dtype)
    if np.ndim(g) != 0 and np.size(g) != 1:
        raise ValueError(f"grad_output must be a scalar for reduction={reduction!r}, got shape {np.shape(g)}")
    g = dtype(np.reshape(g, ()))
    denominator = np.sum(w_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = g / denominator if reduction == "mean" else g

    target_weight = ((1 - eps) * w_t).astype(x.dtype)  # weight of each row's target term
    spread = dtype(eps / n_classes)  # the smoothing weight of every class
    total_weight = np.sum(w)
    safe_t = np.where(valid, t, 0)
    # Gathered before any block is overwritten (out may be the input itself).
    x_target = x[np.arange(n_rows), safe_t]
    x_dot_w = x @ w if eps > 0 else None

    rows_per_block = max(1, BLOCK_BYTES // max(1, n_classes * x.itemsize))
    blocks = [(r, min(r + rows_per_block, n_rows)) for r in range(0, n_rows, rows_per_block)]
    row_losses = np.empty(n_rows, x.dtype)

    def run(block):
        r0, r1 = block
        xb, gb = x[r0:r1], grad[r0:r1]
        m = xb.max(axis=1, initial=-np.inf)[:, None] if n_classes else np.zeros((r1 - r0, 1), x.dtype)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            np.subtract(xb, m, out=gb)
            np.exp(gb, out=gb)
            s = gb.sum(axis=1, keepdims=True)
            lse = (m + np.log(s))[:, 0]
            loss = target_weight[r0:r1] * (lse - x_target[r0:r1])
            coefficient = target_weight[r0:r1]
            if eps > 0:
                loss = loss + spread * (total_weight * lse - x_dot_w[r0:r1])
                coefficient = coefficient + spread * total_weight
            row_losses[r0:r1] = np.where(valid[r0:r1], loss, dtype(0))
            gb *= (scale * coefficient)[:, None] / s
            rows = np.arange(r1 - r0)
            gb[rows, safe_t[r0:r1]] -= scale * target_weight[r0:r1]
            if eps > 0:
                gb -= (scale * spread) * w
            gb[~valid[r0:r1]] = 0

    n_threads = threads or _default_threads(x.size)
    if n_threads <= 1 or len(blocks) == 1:
        for block in blocks:
            run(block)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(run, blocks))

    total = np.sum(row_losses)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = total / denominator if reduction == "mean" else total
    return dtype(loss), grad
