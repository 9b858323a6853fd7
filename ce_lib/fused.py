"""Fast paths: cross-entropy without the N x C temporaries of the reference functions.

The reference functions (`ce_lib.cross_entropy`, `ce_lib.cross_entropy_grad`)
read like the formulas and allocate arrays of the logits' size. For
training-sized inputs that is where the time goes: an N x C float32 array at
N = 4096, C = 32000 is 500 MB, and every fresh one costs page faults and a
trip to main memory. For tiny inputs the time goes elsewhere: into the
argument checks and the dozen small NumPy calls, each costing about a
microsecond whatever its size. The functions here compute the same numbers
differently:

* `cross_entropy` (forward only) walks the rows in blocks small enough to
  stay in the CPU cache, so the passes over a block (exp, sum) read cache,
  not RAM; it allocates nothing of size N x C. For the common call (int64
  targets, all in range, none ignored, no class weights) it checks the
  targets with one reduction, and small inputs take a short path.
* `cross_entropy_with_grad` (loss and gradient) calls exp once per element
  and turns those exponentials into the gradient, so the only N x C array it
  writes is the gradient, which may be a buffer the caller owns (`out=`),
  even the logits themselves.
* both take exp(x) without subtracting each row's max first, and shift only
  the blocks where that could overflow or underflow (see `_exp_rows`): two
  passes fewer over the data in the common case, with the same results.
* `linear_cross_entropy_with_grad` (the classifier layer and the loss)
  never holds the N x V logits at all: it computes them a chunk of tokens
  at a time (and, if asked, a chunk of the vocabulary at a time with an
  online log-sum-exp), turns each chunk into its gradient and multiplies
  it into the gradients of the hidden states and of the classifier.
* all of them split their blocks over threads: NumPy releases the GIL
  inside ufuncs, so two threads run two blocks at once.

Where `pip install` could compile ce_lib/_kernels.c (ce_lib.compiled), the
per-element work of the first two (and of the third's softmax) is one C call
per thread instead: each row is read once, with one exp per element, and its
gradient written once, with the same numbers on every CPU. The NumPy code
below stays as the fallback, and as the readable statement of the same
computation; the tests run both.

Each function takes the arguments of its reference twin and gives the same
results, edge cases and errors; tests/test_fused.py checks them against the
reference functions and against torch.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _validation as check
from . import compiled
from .losses import _check_label_smoothing, _class_terms
from .gradients import cross_entropy_grad as _reference_cross_entropy_grad
from .losses import cross_entropy as _reference_cross_entropy

# About 512 KiB of logits per block: small enough that the passes over a block stay in the
# CPU's L2 cache beside the logits streaming in (2 MiB per core on the course machine, an
# Intel Xeon, Sapphire Rapids), large enough that the dozen NumPy calls per block cost little
# beside the work. Measured there at 4096 x 32000 float32, one thread: the forward takes
# 88 ms with 512 KiB blocks, 95 ms with 256 KiB, 108-113 ms with 1 MiB; loss and gradient
# about the same (137-144 ms) for all three.
BLOCK_BYTES = 1 << 19
# A gradient at least this large, returned by cross_entropy_with_grad, is written with
# non-temporal stores (ce_lib.compiled): past the caches, which it would not fit in, without
# reading each line in first. Measured at 4096 x 32000 float32 (500 MiB), one thread, out=:
# 85 ms instead of 98. Not for linear_cross_entropy_with_grad's chunks of logits, which the
# next matrix product reads at once: at 4096 x 50257, d = 512, one thread, streaming them
# took 4.05-4.66 s per call against 3.76-3.80 s without.
STREAM_BYTES = 1 << 26
# Below this many elements per thread, handing work to a thread costs more than it saves.
# Measured on the course machine (Intel Xeon, Sapphire Rapids, 2 cores), forward and
# forward + backward with out=, medians of 100 calls: with NumPy's code two threads take
# 0.92 of one thread's time at 1024 x 1000 (2**20 elements) and 0.79-0.85 at 2048 x 1000;
# with the compiled kernel, about twice as fast per element, 1.05-1.10 at 1024 x 1000,
# 0.81-1.18 at 2048 x 1000 and 0.68-0.73 at 4096 x 1000.
MIN_ELEMENTS_PER_THREAD = 1 << 18
KERNEL_MIN_ELEMENTS_PER_THREAD = 3 << 19

_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------
def _thread_count(threads: int | None, n_elements: int, n_blocks: int,
                  minimum: int | None = None) -> int:
    """threads (default: the CPU count), but at most one per `minimum` elements (default
    MIN_ELEMENTS_PER_THREAD) and one per block: small inputs run in the calling thread."""
    wanted = threads or os.cpu_count() or 1
    per_thread = MIN_ELEMENTS_PER_THREAD if minimum is None else minimum
    return max(1, min(wanted, n_elements // per_thread, n_blocks))


def _rows_per_block(n_classes: int, itemsize: int) -> int:
    return max(1, BLOCK_BYTES // max(1, n_classes * itemsize))


def _for_each_block(work, n_rows: int, rows_per_block: int, threads: int,
                    prepare=None) -> None:
    """Call work(r0, r1, slot) on consecutive row blocks [r0, r1), in `threads` threads.

    Each thread takes one contiguous run of whole blocks (not one task per block: with
    thousands of small blocks the executor's per-task cost would show). The blocks are
    the same whatever the thread count, so the results are too. `slot` numbers the
    thread, for per-thread scratch buffers. prepare(first, last), if given, is called by
    each thread once, on its rows [first, last), before its first block.
    """
    starts = list(range(0, n_rows, rows_per_block))
    threads = max(1, min(threads, len(starts)))

    def run(slot: int) -> None:
        mine = starts[slot * len(starts) // threads : (slot + 1) * len(starts) // threads]
        if prepare is not None and mine:
            prepare(mine[0], min(mine[-1] + rows_per_block, n_rows))
        # np.errstate holds per thread (a context variable), so each thread sets its own:
        # inf and NaN logits give inf and NaN losses, as in torch, without warnings.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for r0 in mine:
                work(r0, min(r0 + rows_per_block, n_rows), slot)

    others = [_worker_pool().submit(run, slot) for slot in range(1, threads)]
    run(0)  # the calling thread takes the first run of blocks
    for future in others:
        future.result()  # waits, and re-raises a worker's exception


_POOL: tuple[int, ThreadPoolExecutor] | None = None  # (process id, pool)


def _worker_pool() -> ThreadPoolExecutor:
    """The threads that share the blocks with the calling thread, started once per process.

    Starting threads on every call costs about 100 us, as much as a 1024 x 1000 forward
    pass. A forked child (multiprocessing, say) inherits the pool object but not its
    threads, so it starts a pool of its own.
    """
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=os.cpu_count() or 1))
    return _POOL[1]


def _fast_2d_input(input):
    """The input as an ndarray if the fast paths handle it (2-D, float32/float64, non-empty),
    else None: everything else goes to the reference functions, which handle every layout."""
    x = input if type(input) is np.ndarray else None
    if x is None:
        try:
            x = check.float_input(input)
        except TypeError:
            return None
    if x.ndim != 2 or x.dtype not in _FAST_DTYPES or x.size == 0:
        return None
    return x


def _targets(x: np.ndarray, target, weight, ignore_index: int):
    """(t, w, valid, w_t) for class-index targets of an (N, C) input, as _class_terms gives them.

    t holds the targets with ignored ones replaced by class 0 (safe to index with); w the
    class weights in x's dtype; valid the non-ignored rows; w_t = w[t] there, 0 elsewhere.
    In the common call (int64 targets of shape (N,), all in [0, C), none ignored, no class
    weights) w, valid and w_t are None: "all ones" and "all valid". That call is checked with
    one reduction: viewed as unsigned, a negative target becomes huge, so `max < C` checks
    both ends of the range. Anything else goes through the reference checks, which raise
    the reference's (and torch's) errors.
    """
    n_rows, n_classes = x.shape
    if (
        weight is None
        and type(target) is np.ndarray
        and target.dtype == np.int64
        and target.shape == (n_rows,)
        and n_rows > 0
        and target.view(np.uint64).max() < n_classes
        and not (0 <= ignore_index < n_classes and (target == ignore_index).any())
    ):
        return target, None, None, None
    _, t, w, valid, w_t, _ = _class_terms(x, target, weight, ignore_index)
    if weight is None:
        w = None  # ones; the kernels treat None as ones without multiplying by it
    return np.where(valid, t, 0), w, valid, w_t


def _gather_rows(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """x[i, t[i]] for every row i (a copy: taken before out= may overwrite x)."""
    return x[np.arange(x.shape[0]), t]


def _check_scope(reduction, label_smoothing, ignore_index):
    """The reduction, the smoothing (0 if not above 0) and ignore_index, checked in torch's
    order, as the reference functions check them."""
    if reduction not in _REDUCTIONS:
        reduction = check.check_reduction(reduction)  # raises, or maps 'elementwise_mean'
    ignore_index = check.integer_argument(ignore_index, "ignore_index")
    eps = 0.0 if label_smoothing == 0.0 and type(label_smoothing) is float \
        else _check_label_smoothing(label_smoothing)
    return reduction, eps, ignore_index


def _count(value, name: str) -> int | None:
    """None, or a positive int (threads, chunk sizes): anything else names the argument."""
    if value is None:
        return None
    count = check.integer_argument(value, name)
    if count < 1:
        raise ValueError(f"{name} must be a positive int or None, got {value!r}")
    return count


# tiny / eps per dtype: the smallest row sum for which exp(x) needs no shift is C times it.
_TINY_OVER_EPS = {dt: float(np.finfo(dt).tiny / np.finfo(dt).eps) for dt in _FAST_DTYPES}


def _sum_floor(n_classes: int, dtype: np.dtype) -> float:
    """The smallest row sum s for which exp(x) needs no shift (see _exp_rows)."""
    return n_classes * _TINY_OVER_EPS[dtype]


def _row_sums(e: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """sum_c e[:, c] (times w[c] if given), row by row, without BLAS.

    np.einsum's own SIMD loop sums a cache-resident block about four times as fast as
    np.sum's pairwise summation (and twice as fast as BLAS's matrix-vector product, on the
    course machine), and it releases the GIL. Its rounding error is that of a plain running
    sum in a few SIMD lanes: measured on float32 rows of 32000 exponentials, 5e-7 relative at
    most (BLAS: 1e-7; pairwise: 6e-8), far inside the tolerances the tests hold ce_lib to. BLAS itself (`e @ ones`) is not called here: this
    runs in the worker threads, where a BLAS call starts BLAS's own threads on the same
    cores, and a process that forks while a thread is inside OpenBLAS can hang.
    """
    return np.einsum("ij->i", e) if w is None else np.einsum("ij,j->i", e, w)


def _exp_rows(xb, e, floor, smooth_w=None):
    """exp(xb - shift) into e; returns (s, shift, sum_c smooth_w[c] (xb[:, c] - shift)).

    e may be the block's place in the gradient (then exp is written once, where it stays),
    but not xb itself: the shifted path below reads xb again. s are the row sums.

    Optimistically the shift is 0: exp(x) itself, which saves two passes over the block
    (the row max and the subtraction). Softmax is shift-invariant, so any shift is exact in
    exact arithmetic; no shift is also exact in floating point (to rounding) whenever no
    row sum overflowed (s finite) and none is so small that the terms lost to underflow (at
    most C * tiny in all) reach its rounding error (s >= floor = C * tiny / eps). Otherwise
    -- logits beyond about +-88 in float32 (+-709 in float64), +inf or NaN -- the block is
    done again with each row shifted by its max, as the reference does.
    """
    np.exp(xb, out=e)
    s = _row_sums(e)
    # (NaN fails both tests; one class takes the shifted path, whose loss is exactly 0)
    if s.min() >= floor and s.max() < np.inf and xb.shape[1] > 1:
        return s, 0, (None if smooth_w is None else _row_sums(xb, smooth_w))
    m = xb.max(axis=1)
    np.subtract(xb, m[:, None], out=e)
    weighted_shifted = None if smooth_w is None else _row_sums(e, smooth_w)
    np.exp(e, out=e)
    return _row_sums(e), m, weighted_shifted


def _kernel_rows(xb, m, s, scratch, smooth_w, grad=None, coef=None, col_sub=None,
                 stream=False):
    """What _exp_rows returns, (s, shift, sum_c smooth_w[c] (xb[:, c] - shift)), computed by
    the compiled kernel (ce_lib.compiled), which shifts every row by its max m and, if grad
    is given, also writes exp(xb - m) * coef / s - col_sub into it (past the caches if
    stream, see STREAM_BYTES). m and s receive the rows' maxima and sums. The smoothing sum
    is taken first, from a shifted copy in the scratch block: grad may be xb itself.
    """
    weighted_shifted = None
    if smooth_w is not None:
        shifted = np.subtract(xb, xb.max(axis=1)[:, None], out=scratch)
        weighted_shifted = _row_sums(shifted, smooth_w)
    compiled.softmax_rows(xb, m, s, grad, coef, col_sub, stream)
    return s, m, weighted_shifted


def _blocking(x: np.ndarray, threads: int | None, kernel: bool, eps: float) -> tuple[int, int]:
    """(rows per block, threads) for the rows of x. Cache-sized blocks for the NumPy code,
    whose passes over a block must find it in the cache, and for label smoothing (its
    shifted copy of a block is a scratch block). Otherwise the kernel takes each thread's
    rows in one call: it works row by row, and fewer calls mean fewer NumPy calls around it.
    """
    n_rows, n_classes = x.shape
    rows_per_block = _rows_per_block(n_classes, x.itemsize)
    minimum = KERNEL_MIN_ELEMENTS_PER_THREAD if kernel else MIN_ELEMENTS_PER_THREAD
    n_threads = _thread_count(threads, x.size, -(-n_rows // rows_per_block), minimum)
    if kernel and eps == 0:
        rows_per_block = -(-n_rows // n_threads)
    return rows_per_block, n_threads


# Where a scratch block sits in memory, relative to the block of logits it receives exp of,
# modulo the 4 KiB page. Measured on the course machine (Intel Xeon, Sapphire Rapids) at
# 4096 x 32000 float32: np.exp from streamed logits into a cache-resident scratch block runs
# at half speed or worse when the scratch starts 0 or 512-4032 bytes past the logits
# (modulo 4 KiB), and at full speed 128-256 bytes past; a plain np.empty block lands
# wherever malloc puts it (for these shapes, mostly 0 bytes past: the slow case).
SCRATCH_OFFSET = 192
_PAGE = 4096


def _scratch_blocks(n_threads: int, rows_per_block: int, x: np.ndarray) -> list[np.ndarray]:
    """One flat scratch buffer per thread, a page larger than a block (see _scratch_for)."""
    size = min(rows_per_block, x.shape[0]) * x.shape[1] + _PAGE // x.itemsize
    return [np.empty(size, x.dtype) for _ in range(n_threads)]


def _scratch_for(raw: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """A view of raw shaped like xb, starting SCRATCH_OFFSET bytes past xb modulo 4 KiB."""
    gap = (_address(xb) + SCRATCH_OFFSET - _address(raw)) % _PAGE
    start = gap // raw.itemsize
    return raw[start : start + xb.size].reshape(xb.shape)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


# --------------------------------------------------------------------------
# cross_entropy: forward only
# --------------------------------------------------------------------------
def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    threads: int | None = None,
):
    """Fast twin of ce_lib.cross_entropy: same arguments, results, edge cases and errors.

    For (N, C) float32/float64 logits with class-index targets it computes, per row i,
    with m_i = max_j x_ij and s_i = sum_j exp(x_ij - m_i),

        loss_i = (1 - eps) w[t_i] (log s_i - (x_it - m_i))
                 + eps/C (W log s_i - sum_c w_c (x_ic - m_i))        W = sum_c w_c

    block by block: each block of rows is exponentiated and summed in a cache-sized
    scratch buffer (shifted by the rows' maxima only where exp(x) itself would overflow or
    underflow, see _exp_rows), or, with the compiled kernel (ce_lib.compiled), row by row
    in one C call per thread; so no N x C array is ever allocated. Every other call
    (probability targets, 1-D or (N, C, d1, ...) input, float16, empty input) is passed to
    ce_lib.cross_entropy.

    threads: at most this many threads share the rows (default: the CPU count); an
        input of fewer than MIN_ELEMENTS_PER_THREAD elements per thread (with the compiled
        kernel, KERNEL_MIN_ELEMENTS_PER_THREAD) uses fewer. The result does not depend on it.
    """
    reduction, eps, ignore_index = _check_scope(reduction, label_smoothing, ignore_index)
    threads = _count(threads, "threads")
    x = _fast_2d_input(input)
    if x is None or np.shape(target) == x.shape:
        return _reference_cross_entropy(input, target, weight, ignore_index, reduction, eps)
    t, w, valid, w_t = _targets(x, target, weight, ignore_index)
    if _poisoned(w, eps):
        return _reference_cross_entropy(input, target, weight, ignore_index, reduction, eps)
    n_rows, n_classes = x.shape
    dtype = x.dtype.type

    if x.size * x.itemsize <= BLOCK_BYTES and w is None and valid is None and eps == 0:
        small = _small_cross_entropy(x, t, reduction)
        if small is not None:
            return small

    x_target = _gather_rows(x, t)
    terms = _RowTerms(n_rows, x.dtype, eps)
    kernel = compiled.supports(x)
    rows_per_block, n_threads = _blocking(x, threads, kernel, eps)
    scratch = _scratch_blocks(n_threads, rows_per_block, x) if not kernel or eps > 0 else None
    smooth_w = (np.ones(n_classes, x.dtype) if w is None else w) if eps > 0 else None
    total_weight = dtype(n_classes) if w is None else np.sum(w)
    floor = _sum_floor(n_classes, x.dtype)
    row_max, row_sum = (np.empty(n_rows, x.dtype), np.empty(n_rows, x.dtype)) if kernel \
        else (None, None)

    def work(r0, r1, slot):
        xb = x[r0:r1]
        block_scratch = None if scratch is None else _scratch_for(scratch[slot], xb)
        if kernel:
            s, shift, weighted_shifted = _kernel_rows(xb, row_max[r0:r1], row_sum[r0:r1],
                                                      block_scratch, smooth_w)
        else:
            s, shift, weighted_shifted = _exp_rows(xb, block_scratch, floor, smooth_w)
        log_s = np.log(s)
        nll = log_s - (x_target[r0:r1] - shift)  # -log_softmax(x)_t
        if w_t is not None:
            nll *= w_t[r0:r1]
        terms.nll[r0:r1] = nll
        if eps > 0:
            terms.smooth[r0:r1] = total_weight * log_s - weighted_shifted

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _for_each_block(work, n_rows, rows_per_block, n_threads)
    terms.clear(valid)
    denominator = dtype(n_rows) if w_t is None else np.sum(w_t)
    return terms.reduce(reduction, denominator, n_classes)


def _small_cross_entropy(x: np.ndarray, t: np.ndarray, reduction: str):
    """The common small call (no weights, no smoothing, nothing ignored) in ten NumPy calls.

    At 64 x 10 each NumPy call costs about a microsecond, as much as the arithmetic, and a
    reduction along a short axis (np.max or np.sum along the rows) costs several. So this
    path takes exp(x) unshifted, as _exp_rows does, sums the rows with BLAS's
    matrix-vector product (the fastest row sum for short rows; this runs in the calling
    thread, never in a worker), and skips np.errstate: when the checks pass, nothing here overflows,
    divides by zero or meets a NaN. When they fail (say, a logit beyond +-88 in float32)
    it returns None and the caller takes the blocked path, which shifts row by row.
    """
    n_rows, n_classes = x.shape
    with np.errstate(over="ignore", invalid="ignore"):  # these only fail the checks below
        e = np.exp(x)
        s = e @ np.ones(n_classes, x.dtype)
        if not s.min() >= _sum_floor(n_classes, x.dtype) or n_classes == 1:  # (NaN fails too)
            return None  # (one class: the blocked path shifts, and its loss is exactly 0)
        row_losses = np.log(s) - x[np.arange(n_rows), t]  # -log_softmax(x)_t, row by row
    if reduction == "none":
        return row_losses if s.max() < np.inf else None
    total = row_losses.sum()
    # An overflowed s makes the total inf or NaN: one Python check instead of s.max().
    # (A legitimately infinite loss, from a -inf target logit, takes the other path too.)
    if not math.isfinite(total):
        return None
    return total / x.dtype.type(n_rows) if reduction == "mean" else total


# --------------------------------------------------------------------------
# cross_entropy_with_grad: loss and gradient
# --------------------------------------------------------------------------
def _loss_and_grad_rows(x, grad, t, w, valid, w_t, eps, scale, threads, fresh=False,
                        stream=False):
    """The loss of every row of x (N, C), and into grad the gradient of scale * sum of them.

    t, w, valid, w_t as _targets returns them. grad may be x itself: each block is read
    (max, shift) before it is overwritten, and the target logits are gathered first.
    fresh: grad was just allocated (see _first_touch). stream: the compiled kernel writes
    grad past the caches (see STREAM_BYTES). Returns the terms of the row losses (_RowTerms,
    0 at ignored rows).
    """
    n_rows, n_classes = x.shape
    dtype = x.dtype.type
    # (1 - eps) w[t_i], the weight of each row's target term (None: 1 - eps for every row)
    target_weight = None if w_t is None else ((1 - eps) * w_t).astype(x.dtype)
    spread = dtype(eps / n_classes)  # the smoothing weight of every class
    total_weight = dtype(n_classes) if w is None else np.sum(w)
    smooth_w = (np.ones(n_classes, x.dtype) if w is None else w) if eps > 0 else None
    floor = _sum_floor(n_classes, x.dtype)
    x_target = _gather_rows(x, t)
    terms = _RowTerms(n_rows, x.dtype, eps)
    kernel = compiled.supports(x) and compiled.supports(grad)
    rows_per_block, n_threads = _blocking(x, threads, kernel, eps)
    # The exponentials go straight into grad's block, which stays in the cache while it is
    # summed and scaled in place: one write of grad, no copy. Except, in the NumPy code, when
    # grad is x itself: a block that needs the shifted path must still have its logits, so
    # there they go to a cache-sized scratch block first. (The kernel shifts every row by
    # its max, reading each logit before it writes its gradient; only label smoothing needs
    # a scratch block there, see _kernel_rows.)
    in_place = np.may_share_memory(grad, x)
    needs_scratch = eps > 0 if kernel else in_place
    scratch = _scratch_blocks(n_threads, rows_per_block, x) if needs_scratch else None
    # each row's coefficient of the softmax, times the scale (what grad's row is e / s times)
    coefficient = target_weight if target_weight is not None else dtype(1 - eps)
    if eps > 0:
        coefficient = coefficient + spread * total_weight
    row_coef = np.ascontiguousarray(np.broadcast_to(scale * coefficient, (n_rows,)), x.dtype)
    col_sub = ((scale * spread) * smooth_w).astype(x.dtype) if eps > 0 else None
    row_max, row_sum = (np.empty(n_rows, x.dtype), np.empty(n_rows, x.dtype)) if kernel \
        else (None, None)

    def work(r0, r1, slot):
        xb, gb = x[r0:r1], grad[r0:r1]
        block_scratch = None if scratch is None else _scratch_for(scratch[slot], xb)
        if kernel:  # the kernel writes e / s times the coefficient, minus the smoothing
            s, shift, weighted_shifted = _kernel_rows(xb, row_max[r0:r1], row_sum[r0:r1],
                                                      block_scratch, smooth_w, gb,
                                                      row_coef[r0:r1], col_sub,
                                                      stream)
        else:
            e = block_scratch if in_place else gb
            s, shift, weighted_shifted = _exp_rows(xb, e, floor, smooth_w)
            # e / s is the softmax: times the row's coefficient and the scale, into grad
            np.multiply(e, (row_coef[r0:r1] / s)[:, None], out=gb)
            if eps > 0:
                gb -= col_sub
        log_s = np.log(s)
        tw = dtype(1 - eps) if target_weight is None else target_weight[r0:r1]
        nll = log_s - (x_target[r0:r1] - shift)  # -log_softmax(x)_t
        terms.nll[r0:r1] = nll if w_t is None else nll * w_t[r0:r1]
        if eps > 0:
            terms.smooth[r0:r1] = total_weight * log_s - weighted_shifted
        gb[np.arange(r1 - r0), t[r0:r1]] -= scale * tw
        if valid is not None:
            _clear_ignored(gb, ~valid[r0:r1], np.isnan(s))  # s: NaN iff the softmax is

    prepare = (lambda r0, r1: _first_touch(grad[r0:r1])) if fresh else None
    _for_each_block(work, n_rows, rows_per_block, n_threads, prepare)
    terms.clear(valid)
    return terms


def _first_touch(a: np.ndarray) -> None:
    """Write one element per 4 KiB page of a freshly allocated array, page faults only.

    The kernel zeroes each new page on its first write. Left to the blocks, that zeroing
    (2 MiB at a time with huge pages, as much as the L2 cache of the reference machine)
    happens between a block's passes and evicts the block from the cache. Taken up front, in
    one sweep per thread, it costs only the zeroing itself: measured at 4096 x 32000 float32,
    one thread, 195 ms per fresh-gradient call instead of 231 (136 ms with out=).
    """
    flat = a.reshape(-1)
    flat[:: max(1, _PAGE // a.itemsize)] = 0


def _poisoned(w, eps: float) -> bool:
    """Smoothing with a NaN or infinite class weight: the fast paths' sums would meet
    inf - inf where torch's term-by-term sums do not, so the reference takes these calls."""
    return eps > 0 and w is not None and not np.isfinite(w).all()


def _clear_ignored(grad: np.ndarray, ignored: np.ndarray, nan_softmax: np.ndarray) -> None:
    """Gradient rows of ignored targets, as torch's backward gives them: u - softmax * sum(u)
    with u = 0. So 0, or NaN for the whole row where the row's softmax is NaN (a NaN or
    +inf logit, or all -inf: `nan_softmax`, per row)."""
    if ignored.any():
        grad[ignored] = np.where(nan_softmax[ignored][:, None], np.nan, 0)


def _scalar_grad_output(grad_output, dtype, reduction):
    g = (
        dtype.type(1)
        if grad_output is None
        else check.to_numpy(grad_output, "grad_output").astype(dtype)
    )
    if np.ndim(g) != 0 and np.size(g) != 1:
        raise ValueError(
            f"grad_output must be a scalar for reduction={reduction!r}, got shape {np.shape(g)}"
        )
    return dtype.type(np.reshape(g, ()))


class _RowTerms:
    """The two terms of each row's loss, kept apart until they are reduced:

        nll_i    = -w[t_i] log_softmax(x_i)_t          smooth_i = -sum_c w_c log_softmax(x_i)_c
        loss     = (1 - eps) reduce(nll) + eps/C reduce(smooth)

    Each term is reduced on its own and then mixed, as torch and ce_lib.cross_entropy do.
    The order shows when every target weight is 0: 'mean' is then NaN (0/0 in the first
    term), where the mixed rows would give (something positive)/0 = inf.
    """

    def __init__(self, n_rows: int, dtype: np.dtype, eps: float):
        self.eps = eps
        self.nll = np.zeros(n_rows, dtype)
        self.smooth = np.zeros(n_rows, dtype) if eps > 0 else None

    def clear(self, valid) -> None:
        """0 at ignored rows, which may hold NaN (say, from a +inf logit)."""
        if valid is not None:
            self.nll[~valid] = 0
            if self.smooth is not None:
                self.smooth[~valid] = 0

    def reduce(self, reduction: str, denominator, n_classes: int):
        dtype = self.nll.dtype.type
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if reduction == "none":
                if self.smooth is None:
                    return self.nll
                return (1 - self.eps) * self.nll + (self.eps / n_classes) * self.smooth

            def reduced(rows):
                total = np.sum(rows)
                return total / denominator if reduction == "mean" else total

            if self.smooth is None:
                return dtype(reduced(self.nll))
            return dtype(
                (1 - self.eps) * reduced(self.nll)
                + (self.eps / n_classes) * reduced(self.smooth)
            )


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
        it a new array is allocated. In a training loop, pass the same buffer
        every step: the kernel faults in the pages of every fresh N x C array
        (at 4096 x 32000 float32 that can take longer than the arithmetic here),
        and a buffer that stays resident skips that.
    threads: at most this many threads share the rows (default: the CPU count); an
        input of fewer than MIN_ELEMENTS_PER_THREAD elements per thread (with the compiled
        kernel, KERNEL_MIN_ELEMENTS_PER_THREAD) uses fewer. The result does not depend on it.
    """
    reduction, eps, ignore_index = _check_scope(reduction, label_smoothing, ignore_index)
    threads = _count(threads, "threads")
    if reduction == "none":
        raise ValueError(
            "reduction='none' is not supported by cross_entropy_with_grad; "
            "use cross_entropy and cross_entropy_grad"
        )
    x = check.float_input(input)
    if x.ndim != 2 or x.dtype not in _FAST_DTYPES:
        raise ValueError(
            f"cross_entropy_with_grad takes float32 or float64 input of shape (N, C), got "
            f"{x.dtype} of shape {x.shape}; use cross_entropy and cross_entropy_grad"
        )
    t, w, valid, w_t = _targets(x, target, weight, ignore_index)
    grad = _output_buffer(out, x.shape, x.dtype, "out", input=x)
    g = _scalar_grad_output(grad_output, x.dtype, reduction)
    denominator = x.dtype.type(x.shape[0]) if w_t is None else np.sum(w_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = g / denominator if reduction == "mean" else g
    if x.size == 0:  # no rows, or no classes (then every target is ignored)
        return _reference_cross_entropy(x, target, weight, ignore_index, reduction, eps), grad
    if _poisoned(w, eps):  # smoothing with a NaN or infinite class weight: the reference
        loss = _reference_cross_entropy(x, target, weight, ignore_index, reduction, eps)
        grad[...] = _reference_cross_entropy_grad(x, target, weight, ignore_index, reduction,
                                                  eps, g)
        return loss, grad
    terms = _loss_and_grad_rows(x, grad, t, w, valid, w_t, eps, scale, threads,
                                fresh=out is None, stream=grad.nbytes >= STREAM_BYTES)
    return terms.reduce(reduction, denominator, x.shape[1]), grad


def _output_buffer(out, shape, dtype, name, input=None):
    """`out` checked to be a C-contiguous array of this shape and dtype, or a new array.

    `out` may be `input` itself (the gradient then overwrites the logits, block by block),
    but not a view that overlaps it otherwise: blocks would read logits already overwritten.
    """
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray) or out.shape != tuple(shape) or out.dtype != dtype:
        raise ValueError(
            f"{name} must be a NumPy array of shape {tuple(shape)} and dtype {dtype}, got "
            f"{getattr(out, 'dtype', type(out).__name__)} of shape {getattr(out, 'shape', None)}"
        )
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if input is not None and np.may_share_memory(out, input) and not _same_view(out, input) \
            and np.shares_memory(out, input):
        raise ValueError(
            f"{name} overlaps the input without being the same array: pass {name}=input to "
            f"overwrite the logits with the gradient, or a buffer of its own")
    return out


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """a and b are the same elements in the same order (the same memory, shape and strides)."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides)


# --------------------------------------------------------------------------
# linear_cross_entropy_with_grad: the classifier layer and the loss, chunked
# --------------------------------------------------------------------------
# About 128 MiB of logits per chunk of tokens: the largest array the function allocates.
# Larger chunks mean fewer, larger matrix products and fewer passes adding into the
# classifier's gradient; smaller ones, less memory.
CHUNK_BYTES = 1 << 27
# Rows of the classifier's gradient formed per matrix product before they are added in:
# 4096 x d numbers, small beside the classifier, so accumulating costs little memory.
GRAD_SLICE_ROWS = 4096


def linear_cross_entropy_with_grad(
    input,
    weight,
    target,
    bias=None,
    class_weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output=None,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    threads: int | None = None,
):
    """Loss and gradients of cross_entropy(input @ weight.T + bias, target), chunked.

    The last layer of a language model and its loss, without ever holding the N x V
    logits. Returns ``(loss, grad_input, grad_weight, grad_bias)``: what
    ``loss.backward(g)`` leaves in h.grad, W.grad and b.grad after
    ``loss = F.cross_entropy(F.linear(h, W, b), target, ...)`` (grad_bias is None
    without a bias).

    input: hidden states h, (N, d), float32 or float64.
    weight: the classifier W, (V, d), h's dtype (torch.nn.Linear(d, V).weight's layout).
    bias: (V,) or None. target: class indices (N,), int64.
    class_weight, ignore_index, reduction ('mean' or 'sum'), label_smoothing and
    grad_output (a scalar g): as weight, ... in cross_entropy_with_grad.

    The formula. With z = h W^T + b (N x V) and G = d loss / d z, the gradient that
    cross_entropy_with_grad computes from z,

        grad_input = G W,    grad_weight = G^T h,    grad_bias = sum_i G[i, :].

    Row i of G needs only row i of z, and both products split over blocks of rows:
    G W stacks the blocks' G_b W, and G^T h = sum_b G_b^T h_b.

    The chunked algorithm, for each chunk of B tokens (rows r0:r1; B = chunk_size,
    by default about 128 MiB of logits):

        z_b = h_b W^T + b                           B x V, the only large array
        loss_b, G_b = cross_entropy_with_grad(z_b)   in place, cache-blocked
        grad_input[r0:r1] = G_b W
        grad_weight += G_b^T h_b,   grad_bias += sum of the rows of G_b

    With vocab_chunk_size = K < V not even z_b is whole. A first pass over the
    vocabulary, K classes at a time, computes z_bk = h_b W_k^T + b_k and keeps per row
    only a running max m, a running sum s of exp(z - m) (the online log-sum-exp:
    m' = max(m, max_j z_j), s' = s exp(m - m') + sum_j exp(z_j - m')), the target's logit
    and the smoothing sum; then lse = m + log s. A second pass recomputes each z_bk, turns
    it into G_bk = g/D [c_i exp(z_bk - lse_i) - target and smoothing terms] and adds
    G_bk W_k to grad_input and G_bk^T h_b to grad_weight[k]. The largest array is B x K,
    for one more matrix product (the logits are computed twice): the trade that Cut
    Cross-Entropy makes. D is sum_i w[t_i] over all N tokens ('mean') or 1 ('sum').

    threads: threads for the softmax part (the matrix products use NumPy's BLAS threads).
    """
    reduction, eps, ignore_index = _check_scope(reduction, label_smoothing, ignore_index)
    threads = _count(threads, "threads")
    chunk_size = _count(chunk_size, "chunk_size")
    vocab_chunk_size = _count(vocab_chunk_size, "vocab_chunk_size")
    if reduction == "none":
        raise ValueError(
            "reduction='none' is not supported by linear_cross_entropy_with_grad; "
            "use reduction='mean' or 'sum'"
        )
    h = check.float_input(input, "input")
    w_cls = check.float_input(weight, "weight")
    if h.ndim != 2 or w_cls.ndim != 2 or h.shape[1] != w_cls.shape[1]:
        raise ValueError(
            f"input must be (N, d) and weight (V, d) with the same d, got input of shape "
            f"{h.shape} and weight of shape {w_cls.shape}"
        )
    if h.dtype not in _FAST_DTYPES:
        raise TypeError(f"input must be float32 or float64, got dtype {h.dtype}")
    if w_cls.dtype != h.dtype:
        raise TypeError(
            f"weight has dtype {w_cls.dtype} but input has dtype {h.dtype}; they must match"
        )
    n_rows, n_classes = h.shape[0], w_cls.shape[0]
    if bias is not None:
        bias = check.float_input(bias, "bias")
        if bias.shape != (n_classes,) or bias.dtype != h.dtype:
            raise ValueError(
                f"bias must have shape ({n_classes},) and dtype {h.dtype}, got shape "
                f"{bias.shape} and dtype {bias.dtype}"
            )
    # The targets checked against a stand-in for the logits: a zero-strided view, no memory.
    logits_shape = np.broadcast_to(np.zeros((), h.dtype), (n_rows, n_classes))
    t, w, valid, w_t = _targets(logits_shape, target, class_weight, ignore_index)
    dtype = h.dtype.type
    g = _scalar_grad_output(grad_output, h.dtype, reduction)
    denominator = dtype(n_rows) if w_t is None else np.sum(w_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = g / denominator if reduction == "mean" else g

    if _poisoned(w, eps) and n_rows and n_classes:  # a degenerate call: the logits whole
        z = h @ w_cls.T if bias is None else h @ w_cls.T + bias
        loss = _reference_cross_entropy(z, target, class_weight, ignore_index, reduction, eps)
        grad_z = _reference_cross_entropy_grad(z, target, class_weight, ignore_index, reduction,
                                               eps, g)
        return loss, grad_z @ w_cls, grad_z.T @ h, None if bias is None else grad_z.sum(axis=0)

    grad_input = np.zeros_like(h) if n_classes == 0 else np.empty_like(h)
    grad_weight = np.zeros_like(w_cls)
    grad_bias = None if bias is None else np.zeros_like(bias)
    terms = _RowTerms(n_rows, h.dtype, eps)
    if n_rows == 0 or n_classes == 0:  # then every target is ignored (or there are none)
        return (
            terms.reduce(reduction, denominator, n_classes),
            grad_input,
            grad_weight,
            grad_bias,
        )

    chunk = chunk_size or max(1, CHUNK_BYTES // (n_classes * h.itemsize))
    vocab_chunk = min(vocab_chunk_size or n_classes, n_classes)
    logits = np.empty(min(chunk, n_rows) * vocab_chunk, h.dtype)  # reused by every chunk
    grad_slice = np.empty((min(GRAD_SLICE_ROWS, vocab_chunk), h.shape[1]), h.dtype)
    grad_rows = (
        np.empty((min(chunk, n_rows), h.shape[1]), h.dtype) if vocab_chunk < n_classes else None
    )

    def add_classifier_grad(grad_z, h_b, v0):
        """grad_weight[v0:...] += grad_z^T h_b, a few thousand classes at a time."""
        for s0 in range(0, grad_z.shape[1], GRAD_SLICE_ROWS):
            s1 = min(s0 + GRAD_SLICE_ROWS, grad_z.shape[1])
            part = np.matmul(grad_z[:, s0:s1].T, h_b, out=grad_slice[: s1 - s0])
            grad_weight[v0 + s0 : v0 + s1] += part
        if grad_bias is not None:
            grad_bias[v0 : v0 + grad_z.shape[1]] += grad_z.sum(axis=0)

    def logits_of(h_b, v0, v1):
        """z = h_b W[v0:v1]^T + b[v0:v1], written into the reused buffer."""
        z = np.matmul(
            h_b,
            w_cls[v0:v1].T,
            out=logits[: h_b.shape[0] * (v1 - v0)].reshape(h_b.shape[0], v1 - v0),
        )
        if bias is not None:
            z += bias[v0:v1]
        return z

    for r0 in range(0, n_rows, chunk):
        rows = slice(r0, min(r0 + chunk, n_rows))
        valid_b = None if valid is None else valid[rows]
        w_t_b = None if w_t is None else w_t[rows]
        if vocab_chunk == n_classes:
            # Whole rows: the chunk's logits are computed once and turned into G in place.
            z = logits_of(h[rows], 0, n_classes)
            chunk_terms = _loss_and_grad_rows(z, z, t[rows], w, valid_b, w_t_b, eps, scale, threads)
            np.matmul(z, w_cls, out=grad_input[rows])
            add_classifier_grad(z, h[rows], 0)
        else:
            chunk_terms = _vocab_chunked_rows(
                h[rows], w_cls, t[rows], w, valid_b, w_t_b, eps, scale, vocab_chunk,
                logits_of, grad_input[rows], grad_rows[: rows.stop - r0], add_classifier_grad,
            )  # fmt: skip
        terms.nll[rows] = chunk_terms.nll
        if eps > 0:
            terms.smooth[rows] = chunk_terms.smooth
    loss = terms.reduce(reduction, denominator, n_classes)
    return loss, grad_input, grad_weight, grad_bias


def _vocab_chunked_rows(
    h_b,
    classifier,
    t,
    w,
    valid,
    w_t,
    eps,
    scale,
    vocab_chunk,
    logits_of,
    grad_input_b,
    grad_rows,
    add_classifier_grad,
):
    """One chunk of tokens in two passes over the vocabulary (see linear_cross_entropy_with_grad).

    Returns the chunk's row losses (_RowTerms); adds its gradients into grad_input_b,
    grad_weight and grad_bias.
    """
    n_rows, n_classes = h_b.shape[0], classifier.shape[0]
    dtype = h_b.dtype.type
    tw = np.full(n_rows, 1 - eps, h_b.dtype) if w_t is None else ((1 - eps) * w_t).astype(h_b.dtype)
    spread = dtype(eps / n_classes)
    total_weight = dtype(n_classes) if w is None else np.sum(w)
    running_max = np.full(n_rows, -np.inf, h_b.dtype)
    running_sum = np.zeros(n_rows, h_b.dtype)
    target_logit = np.zeros(n_rows, h_b.dtype)
    weighted_sum = np.zeros(n_rows, h_b.dtype)  # sum_c w_c z_c, for smoothing
    starts = range(0, n_classes, vocab_chunk)

    def in_chunk(v0, v1):
        """Rows whose target lies in classes [v0, v1), and the target's column there."""
        hit = np.nonzero((t >= v0) & (t < v1) & (True if valid is None else valid))[0]
        return hit, t[hit] - v0

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Pass 1: the online log-sum-exp, the target logits and the smoothing sums.
        for v0 in starts:
            v1 = min(v0 + vocab_chunk, n_classes)
            z = logits_of(h_b, v0, v1)
            hit, column = in_chunk(v0, v1)
            target_logit[hit] = z[hit, column]
            if eps > 0:
                weighted_sum += z.sum(axis=1) if w is None else z @ w[v0:v1]
            new_max = np.maximum(running_max, z.max(axis=1))
            # rescale the old sum to the new max (factor 1 where the max did not move,
            # which also covers rows that so far saw only -inf logits)
            running_sum *= np.where(new_max == running_max, 1, np.exp(running_max - new_max))
            shift = np.where(new_max == -np.inf, 0, new_max)[:, None]
            running_sum += np.exp(np.subtract(z, shift, out=z), out=z).sum(axis=1)
            running_max = new_max
        lse = running_max + np.log(running_sum)
        terms = _RowTerms(n_rows, h_b.dtype, eps)
        terms.nll[:] = lse - target_logit if w_t is None else w_t * (lse - target_logit)
        coefficient = scale * tw
        if eps > 0:
            terms.smooth[:] = total_weight * lse - weighted_sum
            coefficient += scale * spread * total_weight
        terms.clear(valid)

        # Pass 2: recompute each chunk of logits and turn it into its gradient.
        for v0 in starts:
            v1 = min(v0 + vocab_chunk, n_classes)
            z = logits_of(h_b, v0, v1)
            grad_z = np.exp(np.subtract(z, lse[:, None], out=z), out=z)  # the softmax
            grad_z *= coefficient[:, None]
            hit, column = in_chunk(v0, v1)
            grad_z[hit, column] -= scale * tw[hit]
            if eps > 0:
                grad_z -= scale * spread * (1 if w is None else w[v0:v1])
            if valid is not None:
                _clear_ignored(grad_z, ~valid, np.isnan(lse))
            if v0 == 0:
                np.matmul(grad_z, classifier[v0:v1], out=grad_input_b)
            else:
                grad_input_b += np.matmul(grad_z, classifier[v0:v1], out=grad_rows)
            add_classifier_grad(grad_z, h_b, v0)
    return terms
