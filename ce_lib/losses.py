"""The cross-entropy family of losses, twins of torch.nn.functional.

Each function checks its arguments first (ce_lib/_validation.py), then
computes the formula in its docstring in the input's dtype (float16 through
float32). The specification is the book's page "PyTorch's loss semantics"
(semantics.md), sections 2-7.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _validation as check
from .softmax import log_softmax


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------
def _reduce(loss: np.ndarray, reduction: str, denominator=None):
    """'none' -> loss, 'sum' -> its sum, 'mean' -> sum / denominator (numel by default)."""
    if reduction == "none":
        return loss
    # Sums accumulate in float32 at least, as torch's do (float16 losses are rounded once, at the end).
    total = np.sum(loss, dtype=np.float32) if loss.dtype == np.float16 else np.sum(loss)
    if reduction == "sum":
        return total
    if denominator is None:
        denominator = loss.size
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / total.dtype.type(denominator)


def _cascade_sum_float16(values: np.ndarray, valid: np.ndarray) -> np.float16:
    """Sum of values[valid] the way torch's nll_loss sums in float16 (semantics.md, section 2).

    torch accumulates in the input's dtype through eight partial sums: each valid value
    is added to partial[0]; after it, partial[j] is carried into partial[j+1] for as
    long as bits 4j..4j+3 of the position are all zero. Ignored positions add nothing
    and trigger no carry. So a float16 'sum' overflows to inf at 65520, as torch's does.
    A Python loop: slow, but only float16 takes it.
    """
    partial = [np.float16(0)] * 8
    for position in np.flatnonzero(valid):
        partial[0] = np.float16(partial[0] + values[position])
        for j in range(7):
            if (position >> (4 * j)) & 0xF:
                break
            partial[j + 1] = np.float16(partial[j + 1] + partial[j])
            partial[j] = np.float16(0)
    total = np.float16(0)
    for value in partial:
        total = np.float16(total + value)
    return total


def _reduce_nll(loss, valid, w_t, weighted: bool, reduction: str, out_dtype):
    """Reduce nll terms: sum, or mean over the target weights (torch's float16 cascade in float16)."""
    if out_dtype != np.float16 or reduction == "none":
        return _reduce(loss, reduction, denominator=np.sum(w_t))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        total = _cascade_sum_float16(loss.astype(np.float16).ravel(), valid.ravel())
        if reduction == "sum":
            return total
        if weighted:
            denominator = _cascade_sum_float16(w_t.astype(np.float16).ravel(), valid.ravel())
        else:
            denominator = np.float16(np.count_nonzero(valid))
        return np.float16(total / denominator)


def _finish(value, out_dtype: np.dtype):
    """Cast to the dtype torch returns; a 0-d result becomes a NumPy scalar."""
    return np.asarray(value).astype(out_dtype, copy=False)[()]


def _classes_last(x: np.ndarray) -> np.ndarray:
    """View an input (C,), (N, C) or (N, C, d1..dk) as positions x classes: (1, C) / (N, d1..dk, C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    return np.moveaxis(x, 1, -1)


def _check_label_smoothing(label_smoothing) -> float:
    """label_smoothing as torch takes it: a real number; above 1 (or +inf) raises;
    anything not above 0 (negative, -inf, NaN) silently means no smoothing."""
    value = check.real_argument(label_smoothing, "label_smoothing")
    if value > 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    return value if value > 0.0 else 0.0


def _class_terms(input, target, weight, ignore_index):
    """Everything nll_loss and cross_entropy need about class-index targets.

    Returns (x, t, w, valid, w_t, out_dtype): x is the input in its compute
    dtype, t the targets (positions), w the class weights (ones if None),
    valid the non-ignored positions, w_t = w[t] at valid positions, 0 elsewhere.
    """
    x = check.float_input(input)
    if x.ndim == 0:
        raise ValueError("input must have 1 or more dimensions (classes), got a 0-d array")
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    t = check.class_target(target, x, ignore_index)
    w = check.class_weight(weight, n_classes, x.dtype)
    out_dtype = x.dtype
    dtype = check.compute_dtype(out_dtype)
    x = x.astype(dtype, copy=False)
    w = np.ones(n_classes, dtype) if w is None else w.astype(dtype, copy=False)
    valid = t != ignore_index
    if n_classes == 0:  # no classes: every target is ignored (any other raised above)
        return x, t, w, valid, np.zeros(t.shape, dtype), out_dtype
    safe_t = np.where(valid, t, 0)
    w_t = np.where(valid, w[safe_t], dtype.type(0))
    return x, t, w, valid, w_t, out_dtype


def _per_class(eps: float, n_classes: int) -> np.float64:
    """eps / C as torch computes it: with no classes it is inf (and inf * 0 is NaN)."""
    with np.errstate(divide="ignore"):
        return np.float64(eps) / np.float64(n_classes)


def _gather(values: np.ndarray, t: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """values[position, t[position]] for a (positions..., C) array; 0 where ignored."""
    if values.shape[-1] == 0:  # no classes, so every position is ignored
        return np.zeros(values.shape[:-1], values.dtype)
    safe_t = np.where(valid, t, 0)
    picked = np.take_along_axis(values, safe_t[..., None], axis=-1)[..., 0]
    return np.where(valid, picked, values.dtype.type(0))


def _position_shape(x: np.ndarray) -> tuple[int, ...]:
    """Shape of the 'none' output: () for a 1-D input, else the input minus its class axis."""
    return () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]


# --------------------------------------------------------------------------
# nll_loss and cross_entropy
# --------------------------------------------------------------------------
def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of the target classes. Twin of torch.nn.functional.nll_loss.

        loss_i = -w[t_i] * input[i, t_i]          (0 where t_i == ignore_index)
        'sum'  = sum_i loss_i
        'mean' = sum_i loss_i / sum_i w[t_i]      (over non-ignored i)

    input: log-probabilities, shape (C,), (N, C) or (N, C, d1, ..., dk) (not checked).
    target: int64 (or uint8 for 1-D/2-D input) class indices, shape () or (1,),
        (N,), or (N, d1, ..., dk).
    weight: per-class weights (C,), same dtype as input.

    Edge cases, as in torch: the 'mean' denominator is the sum of the target
    classes' weights, not N; ignored positions leave both sums; every target
    ignored (or N = 0) gives 'mean' = NaN (0/0) and 'sum' = 0. ignore_index
    may be a real class. Targets outside [0, C) raise IndexError.
    """
    reduction = check.check_reduction(reduction)
    ignore_index = check.integer_argument(ignore_index, "ignore_index")
    x, t, w, valid, w_t, out_dtype = _class_terms(input, target, weight, ignore_index)
    picked = _gather(_classes_last(x), t, valid)
    loss = np.where(valid, -picked * w_t, x.dtype.type(0))
    if x.ndim == 1:
        loss = loss.reshape(())
    return _finish(_reduce_nll(loss, valid, w_t, weight is not None, reduction, out_dtype), out_dtype)


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross-entropy between logits and targets. Twin of torch.nn.functional.cross_entropy.

    With l = log_softmax(input) along the class axis (0 for a 1-D input, else 1):

    Class-index targets (target.shape != input.shape), smoothing eps:
        nll_i    = -w[t_i] * l[i, t_i]
        smooth_i = -sum_c w[c] * l[i, c]
        loss_i   = (1 - eps) * nll_i + eps / C * smooth_i      (0 where ignored)
        'mean'   = sum_i loss_i / sum_i w[t_i]                 (non-ignored i)
    With eps = 0 this is nll_loss(log_softmax(input), target): the target is
    an index that picks one log-probability; no one-hot matrix is built.

    Probability targets (target.shape == input.shape, floating):
        q        = (1 - eps) * target + eps / C
        loss_i   = -sum_c w[c] * q[i, c] * l[i, c]
        'mean'   = sum_i loss_i / (N * d1 * ... * dk)          (weights or not)

    Edge cases, as in torch: every target ignored (or N = 0) gives 'mean' =
    NaN; label_smoothing > 1 raises, a negative one is silently treated as 0;
    a -inf logit is harmless unless smoothing is on (then the row's loss is
    inf); probability targets are not checked to sum to 1 and reject
    ignore_index >= 0; the result takes the promoted dtype of input and target.

    This function reads like the formulas and allocates arrays of the input's
    size. For speed on (N, C) input, ce_lib.fused.cross_entropy (the loss) and
    ce_lib.fused.cross_entropy_with_grad (loss and gradient) give the same
    numbers without those arrays (chapter 6; bench/ measures them).
    """
    reduction = check.check_reduction(reduction)
    ignore_index = check.integer_argument(ignore_index, "ignore_index")
    eps = _check_label_smoothing(label_smoothing)
    x_raw = check.float_input(input)
    target_array = check.to_numpy(target, "target")
    if target_array.shape == x_raw.shape:
        return _cross_entropy_probabilities(x_raw, target, weight, ignore_index, reduction, eps)

    if x_raw.dtype == np.float16:
        return _cross_entropy_float16(x_raw, target, weight, ignore_index, reduction, eps)
    x, t, w, valid, w_t, out_dtype = _class_terms(x_raw, target, weight, ignore_index)
    n_classes = w.shape[0]
    # log_softmax(x)_c = (x_c - m) - log s, with m the row's max and s = sum_c exp(x_c - m).
    # Only the entries the loss needs are formed: the target's, and the weighted sum over
    # classes when smoothing; the exponentials overwrite the shifted logits (one N x C array).
    logits = _classes_last(x)
    zero = x.dtype.type(0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = logits - np.max(logits, axis=-1, keepdims=True, initial=-np.inf)
        target_shifted = _gather(shifted, t, valid)
        weighted_shifted = shifted @ w if eps > 0 else None
        # A NaN or infinite class weight: the smoothing sum term by term, as torch forms it
        # (sum(w) * log_s - sum_c w_c shifted_c would be inf - inf = NaN where torch has inf).
        kept = shifted.copy() if eps > 0 and not np.isfinite(w).all() else None
        log_s = np.log(np.sum(np.exp(shifted, out=shifted), axis=-1))
        nll = np.where(valid, (log_s - target_shifted) * w_t, zero)  # -w[t] * log_softmax(x)_t
        if eps > 0:  # -sum_c w_c * log_softmax(x)_c
            smooth = (np.sum(w) * log_s - weighted_shifted if kept is None
                      else np.sum(w * (log_s[..., None] - kept), axis=-1))
            smooth = np.where(valid, smooth, zero)
    denominator = np.sum(w_t)

    def shaped(per_position):
        return per_position.reshape(()) if x.ndim == 1 else per_position

    nll = _reduce_nll(shaped(nll), valid, w_t, weight is not None, reduction, out_dtype)
    if eps <= 0:
        return _finish(nll, out_dtype)
    # Each term is reduced on its own, then mixed, as torch does: with every target weight 0,
    # 'mean' is NaN + inf = NaN, not (something positive) / 0 = inf.
    smooth = _reduce(shaped(smooth), reduction, denominator)
    # torch multiplies each term by a Python float, which becomes the terms' dtype first: in
    # float32, an eps / C below float32's range is 0 (and 0 * inf is NaN), as in torch.
    mix = np.result_type(nll, smooth).type
    with np.errstate(invalid="ignore"):
        loss = mix(1 - eps) * nll + mix(_per_class(eps, n_classes)) * smooth
    return _finish(loss, out_dtype)


def _cross_entropy_float16(x, target, weight, ignore_index, reduction, eps):
    """cross_entropy for float16 class-index targets, rounding where torch's CPU kernels do.

    torch composes log_softmax (float16 out), nll_loss (a float16 cascade sum) and, with
    smoothing, a float16 sum of the smoothing term; every step rounds to float16, so a
    'sum' above 65504 is inf. Same formula as cross_entropy, in torch's order.
    """
    log_p = log_softmax(x, 0 if x.ndim == 1 else 1)  # float16, torch's rounding recipe
    nll = nll_loss(log_p, target, weight, ignore_index, reduction)
    if eps <= 0:
        return nll
    _, t, w, valid, w_t, _ = _class_terms(x, target, weight, ignore_index)
    w16 = w.astype(np.float16)
    terms = _classes_last(log_p) * w16  # float16 products
    smooth = np.where(valid, -np.sum(terms, axis=-1, dtype=np.float32).astype(np.float16), np.float16(0))
    if x.ndim == 1:
        smooth = smooth.reshape(())
    if reduction == "none":
        smooth_reduced = smooth
    else:
        with np.errstate(over="ignore"):
            total = np.float16(np.sum(smooth, dtype=np.float32))
        if reduction == "sum":
            smooth_reduced = total
        else:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                denominator = np.float16(np.sum(w_t, dtype=np.float32))
                smooth_reduced = np.float16(total / denominator)

    def scaled(values, factor):  # a float16 tensor times a Python float: in float32, rounded once
        return (np.asarray(values, np.float32) * np.float32(factor)).astype(np.float16)

    with np.errstate(invalid="ignore", over="ignore"):
        loss = scaled(nll, 1 - eps) + scaled(smooth_reduced, _per_class(eps, w.shape[0]))
    return _finish(loss, np.float16)


def _probability_target_dtype(x: np.ndarray, y: np.ndarray, weight) -> np.dtype:
    """The dtype torch returns for probability targets: input, target and weight promoted."""
    dtypes = [x.dtype, y.dtype]
    if check.has_dtype(weight) and np.issubdtype(check.to_numpy(weight, "weight").dtype, np.floating):
        dtypes.append(check.to_numpy(weight, "weight").dtype)
    return np.result_type(*dtypes)


def _cross_entropy_probabilities(x, target, weight, ignore_index, reduction, eps):
    """cross_entropy with class-probability targets (see cross_entropy)."""
    y = check.probability_target(target, x)
    if ignore_index >= 0:
        raise ValueError(
            f"ignore_index={ignore_index} is not supported for probability (floating-point) "
            f"targets; ignore a position by giving it zero target probabilities"
        )
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    out_dtype = _probability_target_dtype(x, y, weight)
    # Here torch multiplies by the weight (type promotion) instead of requiring its dtype.
    w = check.class_weight(weight, n_classes, out_dtype, strict_dtype=False)
    dtype = check.compute_dtype(out_dtype)
    # log_softmax runs in the input's own dtype (float32 logits: in float32, even against
    # float64 targets), and its result is promoted, as in torch.
    logp = _classes_last(log_softmax(x, 0 if x.ndim == 1 else 1).astype(dtype, copy=False))
    q = _classes_last(y.astype(dtype, copy=False))
    if eps > 0:
        q = (1 - eps) * q + _per_class(eps, n_classes)
    terms = q * logp if w is None else w.astype(dtype, copy=False) * q * logp
    if reduction == "none":
        loss = -np.sum(terms, axis=-1)
        return _finish(loss.reshape(()) if x.ndim == 1 else loss, out_dtype)
    total = -np.sum(terms)  # summed first, then negated: an empty sum is -0.0, as in torch
    if reduction == "sum":
        return _finish(total, out_dtype)
    positions = x.size // n_classes if n_classes else 0  # N * d1 * ... * dk; 1 for a 1-D input
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finish(total / dtype.type(positions), out_dtype)


# --------------------------------------------------------------------------
# Binary cross-entropy
# --------------------------------------------------------------------------
def _bce_arguments(input, target, weight):
    """Checked (x, y, w, out_dtype) for binary_cross_entropy, in the compute dtype."""
    x = check.float_input(input)
    y = check.to_numpy(target, "target")
    check.check_same_shape(y, x)
    if check.has_dtype(target):
        if y.dtype != x.dtype:
            raise TypeError(f"target has dtype {y.dtype} but input has dtype {x.dtype}; they must match")
    else:
        y = y.astype(x.dtype)
    check.check_probabilities(x, "input")
    check.check_probabilities(y, "target")
    # Elementwise losses run in the input's own dtype: for float16 NumPy, like torch's CPU
    # kernels, computes each operation in float32 and rounds its result to float16.
    w = check.broadcast_weight(weight, x.shape, x.dtype)
    return x, y, w, x.dtype


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Binary cross-entropy between probabilities and targets. Twin of
    torch.nn.functional.binary_cross_entropy.

        loss = -w * [ y * max(log x, -100) + (1 - y) * max(log1p(-x), -100) ]
        'mean' = sum / numel

    Each log is clamped at -100 separately, before it is multiplied by y or
    1 - y (so x = 0, y = 0 gives 0 and x = 0, y = 0.5 gives 50), and log1p(-x)
    keeps tiny x accurate. No epsilon is added anywhere.

    input and target: same shape and dtype, every element in [0, 1] (NaN
    raises). weight broadcasts to the input's shape and may not enlarge it.
    Empty input: 'mean' is NaN, 'sum' is 0.
    """
    reduction = check.check_reduction(reduction)
    x, y, w, out_dtype = _bce_arguments(input, target, weight)
    dtype = x.dtype
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), dtype.type(-100))
        log_1mx = np.maximum(np.log1p(-x), dtype.type(-100))
    loss = (y - 1) * log_1mx - y * log_x
    if w is not None:
        loss = loss * w
    return _finish(_reduce(loss, reduction), out_dtype)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log sigma(x) = min(x, 0) - log1p(exp(-|x|)), finite for every finite x.

    float16 is computed in float32 and rounded once, like torch's log_sigmoid kernel.
    """
    x32 = x.astype(check.compute_dtype(x.dtype), copy=False)
    return (np.minimum(x32, 0) - np.log1p(np.exp(-np.abs(x32)))).astype(x.dtype, copy=False)


def _bce_logits_arguments(input, target, weight, pos_weight):
    """Checked (x, y, w, p, out_dtype) for binary_cross_entropy_with_logits.

    x and y come in the compute dtype (the promoted dtype of input and target);
    out_dtype is the target's dtype, which torch gives the loss.
    """
    x = check.float_input(input)
    y = check.to_numpy(target, "target")
    check.check_same_shape(y, x)
    if not check.has_dtype(target):
        y = y.astype(x.dtype)
    if not np.issubdtype(y.dtype, np.floating):
        raise TypeError(f"target must be floating-point, got dtype {y.dtype}")
    dtype = np.result_type(x.dtype, y.dtype)  # float16 rounds after every operation, as in torch
    w = check.broadcast_weight(weight, x.shape, dtype)
    p = check.broadcast_weight(pos_weight, x.shape, dtype, name="pos_weight")
    return x.astype(dtype, copy=False), y.astype(dtype, copy=False), w, p, y.dtype


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
):
    """Binary cross-entropy on logits, computed stably. Twin of
    torch.nn.functional.binary_cross_entropy_with_logits.

        log sigma(x) = min(x, 0) - log1p(exp(-|x|))
        loss = w * [ (1 - y) * x - (1 + (p - 1) * y) * log sigma(x) ]
        'mean' = sum / numel

    which equals -w * [p * y * log sigma(x) + (1 - y) * log(1 - sigma(x))] without
    ever forming sigma(x), so no clamp is needed. p = pos_weight multiplies the
    positive term: with 100 positives and 300 negatives of one label,
    pos_weight = 3 balances them.

    target: the input's shape, floating (not range-checked). weight and
    pos_weight broadcast against it (a (C,) pos_weight applies along the last
    dim) and may not enlarge it. The result has the target's dtype, as in
    torch. x = -inf gives NaN; x = +inf gives +inf for y < 1 and NaN for y = 1.
    """
    reduction = check.check_reduction(reduction)
    x, y, w, p, out_dtype = _bce_logits_arguments(input, target, weight, pos_weight)
    with np.errstate(invalid="ignore", over="ignore"):
        log_sig = log_sigmoid(x)
        positive_factor = 1 if p is None else 1 + (p - 1) * y
        loss = (1 - y) * x - positive_factor * log_sig
        if w is not None:
            loss = loss * w
        return _finish(_reduce(loss, reduction), out_dtype)


# --------------------------------------------------------------------------
# KL divergence
# --------------------------------------------------------------------------
def _xlogy(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """y * log(z) with 0 * log(anything) = 0 (torch.special.xlogy); NaN stays NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, y.dtype.type(0), y * np.log(z))


KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def _kl_arguments(input, target):
    """Checked (x, y, out_dtype) for kl_div, in the compute dtype (promoted, float16 -> float32)."""
    x = check.to_numpy(input, "input")
    y = check.to_numpy(target, "target")
    for name, array in (("input", x), ("target", y)):
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"kl_div: {name} must be floating-point, got dtype {array.dtype}")
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"target of shape {y.shape} does not broadcast against input of shape {x.shape}"
        ) from None
    out_dtype = np.result_type(x.dtype, y.dtype)  # float16 rounds after every operation, as in torch
    return x.astype(out_dtype, copy=False), y.astype(out_dtype, copy=False), out_dtype


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    """Pointwise KL divergence, input given as log-probabilities. Twin of
    torch.nn.functional.kl_div.

        log_target=False:  loss = y * log(y) - y * input       (0 * log 0 = 0)
        log_target=True:   loss = exp(y) * (y - input)

    Summed over everything this is KL(target || exp(input)): note the order,
    the reverse of the arguments. Reductions: 'none', 'sum', 'mean' (sum /
    numel -- not the KL; torch warns, and so does ce_lib) and 'batchmean'
    (sum / input.shape[0], the KL per example). input and target broadcast.
    Edge cases, as in torch: y = 0 with input = -inf is NaN; y < 0 is NaN;
    empty input with 'batchmean' is NaN.
    """
    reduction = check.check_reduction(reduction, allowed=KL_REDUCTIONS)
    log_target = check.bool_argument(log_target, "log_target")
    x, y, out_dtype = _kl_arguments(input, target)
    if reduction == "mean":
        warnings.warn(
            "reduction='mean' divides the total loss by both the batch size and the support "
            "size; 'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.",
            UserWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", over="ignore"):
        if log_target:
            loss = np.exp(y) * (y - x)
        else:
            loss = _xlogy(y, y) - y * x
    if reduction == "batchmean":
        batch = x.shape[0] if x.ndim > 0 else 1
        return _finish(_reduce(loss, "mean", denominator=batch), out_dtype)
    return _finish(_reduce(loss, reduction), out_dtype)
