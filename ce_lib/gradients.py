"""Analytic gradients of the losses and of the softmax family, from the formulas.

Each `<name>_grad` takes the arguments of `<name>` plus `grad_output`, the
upstream gradient g (None means 1, or ones of the output's shape for
reduction='none'), and returns d(g . output)/d input, shaped like the input:
what `input.grad` holds after `torch.<name>(input, ...).backward(g)`.
Nothing here calls torch or uses finite differences; the tests compare these
with torch.autograd. The specification is the book's page "PyTorch's loss
semantics" (semantics.md), section 8.
"""
from __future__ import annotations

import numpy as np

from . import _validation as check
from .losses import (
    _per_class,
    _probability_target_dtype,
    KL_REDUCTIONS,
    _bce_arguments,
    _bce_logits_arguments,
    _check_label_smoothing,
    _class_terms,
    _classes_last,
    _kl_arguments,
    _position_shape,
    log_sigmoid,
)
from .softmax import _logits, log_softmax, logsumexp, softmax

# BCE's backward divides by max(x * (1 - x), eps0) with eps0 the float32 number 1e-12, even
# in float64: torch's gradient is not the derivative of the clamped loss.
BCE_GRAD_EPS = float(np.float32(1e-12))


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------
def _upstream(grad_output, out_shape: tuple[int, ...], reduction: str, dtype: np.dtype) -> np.ndarray:
    """The upstream gradient g: of the output's shape for 'none', a scalar otherwise."""
    if reduction != "none":
        out_shape = ()
    if grad_output is None:
        return np.ones(out_shape, dtype)
    g = check.to_numpy(grad_output, "grad_output").astype(dtype)
    try:
        return np.broadcast_to(g, out_shape)
    except ValueError:
        raise ValueError(
            f"grad_output has shape {g.shape} but the loss output has shape {out_shape}"
        ) from None


def _classes_back(grad: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of losses._classes_last: positions x classes back to the input's layout."""
    if len(input_shape) == 1:
        return grad.reshape(input_shape)
    return np.moveaxis(grad, -1, 1)


def _sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum grad over the axes that broadcasting added or stretched."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _per_position_scale(g, reduction: str, denominator, dtype) -> np.ndarray:
    """g for 'none' and 'sum', g / denominator for 'mean'."""
    if reduction != "mean":
        return g
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / dtype.type(denominator)


# --------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------
def _same_shape_grad_output(grad_output, shape: tuple[int, ...], dtype) -> np.ndarray:
    """The upstream gradient of an output of `shape`: ones if None, else an array of exactly
    that shape (torch's backward refuses any other, broadcastable or not)."""
    if grad_output is None:
        return np.ones(shape, dtype)
    g = check.to_numpy(grad_output, "grad_output")
    if g.shape != tuple(shape):
        raise ValueError(f"grad_output has shape {g.shape} but the output has shape "
                         f"{tuple(shape)}; they must be the same")
    if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
        raise TypeError(f"grad_output must hold numbers, got dtype {g.dtype}")
    return g.astype(dtype)


def log_softmax_grad(input, dim: int, grad_output=None) -> np.ndarray:
    """Gradient of log_softmax(input, dim) given the upstream gradient g (ones if None).

        d/dx_j sum_k g_k log_softmax(x)_k = g_j - softmax(x)_j * sum_k g_k
    """
    x, axis = _logits(input, dim, None)
    dtype = check.compute_dtype(x.dtype)
    g = _same_shape_grad_output(grad_output, x.shape, dtype)
    p = softmax(x.astype(dtype), axis)
    if x.ndim == 0:
        return (g - p * g).astype(x.dtype)
    return (g - p * np.sum(g, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def softmax_grad(input, dim: int, grad_output=None) -> np.ndarray:
    """Gradient of softmax(input, dim) given the upstream gradient g (ones if None).

        d/dx_j sum_k g_k softmax(x)_k = s_j * (g_j - sum_k g_k s_k),   s = softmax(x)
    """
    x, axis = _logits(input, dim, None)
    dtype = check.compute_dtype(x.dtype)
    g = _same_shape_grad_output(grad_output, x.shape, dtype)
    s = softmax(x.astype(dtype), axis)
    if x.ndim == 0:
        return (s * (g - g * s)).astype(x.dtype)
    return (s * (g - np.sum(g * s, axis=axis, keepdims=True))).astype(x.dtype, copy=False)


def logsumexp_grad(input, dim, keepdim: bool = False, grad_output=None) -> np.ndarray:
    """Gradient of logsumexp(input, dim, keepdim): the softmax over `dim`, times g.

        d/dx_j logsumexp(x) = exp(x_j - logsumexp(x))
    """
    x = check.to_numpy(input, "input")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"input must be floating-point to have a gradient, got dtype {x.dtype}")
    axes = check.check_dim(dim, x.ndim)
    dtype = check.compute_dtype(x.dtype)
    x = x.astype(dtype, copy=False)
    if x.ndim == 0:
        axes = ()
    original = check.to_numpy(input, "input")
    input_dtype = original.dtype
    # The forward's result in the input's dtype, as torch stores it (its float16 recipe too).
    lse = np.asarray(logsumexp(original, dim, keepdim=True)).astype(dtype)
    out_shape = np.asarray(logsumexp(x, dim, keepdim=keepdim)).shape
    g = _same_shape_grad_output(grad_output, out_shape, dtype)
    if not keepdim and x.ndim > 0:
        g = np.expand_dims(g, axes)  # back to the reduced axes' positions
    with np.errstate(invalid="ignore", over="ignore"):
        if input_dtype == np.float16:  # torch's half ops round after each step
            e = np.exp((x - lse).astype(np.float16).astype(dtype)).astype(np.float16)
            return (g.astype(np.float16).astype(dtype) * e.astype(dtype)).astype(np.float16)
        return (g * np.exp(x - lse)).astype(input_dtype, copy=False)


# --------------------------------------------------------------------------
# nll_loss and cross_entropy
# --------------------------------------------------------------------------
def nll_loss_grad(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean", grad_output=None
) -> np.ndarray:
    """Gradient of nll_loss with respect to its input (log-probabilities).

        d loss / d input[i, c] = -w[t_i] * g_i / D   if c == t_i and t_i is not ignored
                               = 0                   otherwise
    with D = sum_i w[t_i] for 'mean' (1 otherwise). Every target ignored:
    the loss is NaN but the gradient is all zeros, as in torch.
    """
    reduction = check.check_reduction(reduction)
    ignore_index = check.integer_argument(ignore_index, "ignore_index")
    x, t, w, valid, w_t, out_dtype = _class_terms(input, target, weight, ignore_index)
    g = _upstream(grad_output, _position_shape(x), reduction, x.dtype).reshape(-1)
    g = g.reshape(t.shape) if g.size == t.size else g
    scale = _per_position_scale(g, reduction, np.sum(w_t), x.dtype)
    with np.errstate(invalid="ignore"):
        coefficient = np.where(valid, -w_t * scale, x.dtype.type(0))
    grad = np.zeros_like(_classes_last(x))
    np.put_along_axis(grad, np.where(valid, t, 0)[..., None], coefficient[..., None], axis=-1)
    return _classes_back(grad, x.shape).astype(out_dtype, copy=False)


def cross_entropy_grad(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output=None,
) -> np.ndarray:
    """Gradient of cross_entropy with respect to the logits.

    Class-index targets, p = softmax(input), W = sum_c w[c]:
        G[i, j] = g_i / D * [ (1 - eps) * w[t_i] * (p[i, j] - [j == t_i])
                              + eps / C * (W * p[i, j] - w[j]) ]
    and exactly 0 at ignored positions; D = sum_i w[t_i] for 'mean'. Without
    weights this is (p - q) * g / D with q the smoothed one-hot target.

    Probability targets q (smoothed if eps > 0):
        G[i, j] = g_i / D * [ p[i, j] * sum_c w[c] q[i, c] - w[j] q[i, j] ],
    D = N * d1 * ... * dk for 'mean'.
    """
    reduction = check.check_reduction(reduction)
    ignore_index = check.integer_argument(ignore_index, "ignore_index")
    eps = _check_label_smoothing(label_smoothing)
    x_raw = check.float_input(input)
    if check.to_numpy(target, "target").shape == x_raw.shape:
        return _cross_entropy_probabilities_grad(x_raw, target, weight, ignore_index, reduction, eps, grad_output)

    x, t, w, valid, w_t, out_dtype = _class_terms(x_raw, target, weight, ignore_index)
    n_classes = w.shape[0]
    g = _upstream(grad_output, _position_shape(x), reduction, x.dtype)
    g = g.reshape(t.shape) if g.size == t.size else g
    scale = _per_position_scale(g, reduction, np.sum(w_t), x.dtype)

    p = _classes_last(softmax(x, 0 if x.ndim == 1 else 1))
    if n_classes == 0:  # no classes: an empty gradient
        return np.zeros(x.shape, out_dtype)
    safe_t = np.where(valid, t, 0)[..., None]
    with np.errstate(invalid="ignore"):
        # The chain rule through l = log_softmax(x). First the gradient with respect to l:
        # the smoothing term gives -eps/C * w_c * g/D to every class (only when eps > 0: a
        # NaN weight of a class that is never a target must not reach the gradient), the
        # nll term adds -(1 - eps) * w[t] * g/D to the target class ...
        if eps > 0:
            upstream = np.broadcast_to(-(eps / n_classes) * w * np.asarray(scale)[..., None],
                                       p.shape).copy()
        else:
            upstream = np.zeros(p.shape, x.dtype)
        target_entries = np.take_along_axis(upstream, safe_t, axis=-1)
        nll_part = (-(1 - eps) * w_t * scale)[..., None]
        np.put_along_axis(upstream, safe_t, target_entries + nll_part, axis=-1)
        # Ignored positions get 0 -- times the weights when smoothing, as torch masks the
        # smoothing term only after weighting it (so a NaN or inf weight makes them NaN).
        ignored_upstream = w * x.dtype.type(0) if eps > 0 else x.dtype.type(0)
        upstream = np.where(valid[..., None], upstream, ignored_upstream)
        # ... then log_softmax's backward: d/dx_j = u_j - p_j * sum_k u_k.
        grad = upstream - p * np.sum(upstream, axis=-1, keepdims=True)
    return _classes_back(grad, x.shape).astype(out_dtype, copy=False)


def _cross_entropy_probabilities_grad(x, target, weight, ignore_index, reduction, eps, grad_output):
    """cross_entropy_grad for class-probability targets (see cross_entropy_grad)."""
    y = check.probability_target(target, x)
    if ignore_index >= 0:
        raise ValueError(
            f"ignore_index={ignore_index} is not supported for probability (floating-point) targets"
        )
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    dtype = check.compute_dtype(_probability_target_dtype(x, y, weight))
    w = check.class_weight(weight, n_classes, dtype, strict_dtype=False)
    w = np.ones(n_classes, dtype) if w is None else w.astype(dtype, copy=False)
    q = _classes_last(y.astype(dtype, copy=False))
    if eps > 0:
        q = (1 - eps) * q + _per_class(eps, n_classes)
    positions = x.size // n_classes if n_classes else 0
    g = _upstream(grad_output, _position_shape(x), reduction, dtype)
    g = g.reshape(q.shape[:-1]) if g.size == positions else g
    scale = _per_position_scale(g, reduction, positions, dtype)
    with np.errstate(invalid="ignore"):
        # The upstream gradient of l = log_softmax(x), in the promoted dtype, then
        # log_softmax's backward in the input's own dtype, as torch's autograd runs it.
        own = check.compute_dtype(x.dtype)
        upstream = (-w * q * np.asarray(scale)[..., None]).astype(own, copy=False)
        p = _classes_last(softmax(x.astype(own, copy=False), 0 if x.ndim == 1 else 1))
        grad = upstream - p * np.sum(upstream, axis=-1, keepdims=True)
    return _classes_back(grad, x.shape).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------
# Binary cross-entropy
# --------------------------------------------------------------------------
def binary_cross_entropy_grad(input, target, weight=None, reduction: str = "mean", grad_output=None):
    """Gradient of binary_cross_entropy with respect to the probabilities x.

        G = g * w * (x - y) / max(x * (1 - x), 1e-12)      [/ numel for 'mean']

    The floor 1e-12 (a float32 constant, also in float64) is torch's: at
    x = 0 or 1 the gradient is about +-1e12, not the 0 that the clamped loss
    would give.
    """
    reduction = check.check_reduction(reduction)
    x, y, w, out_dtype = _bce_arguments(input, target, weight)
    g = _upstream(grad_output, x.shape, reduction, x.dtype)
    scale = _per_position_scale(g, reduction, x.size, x.dtype)
    grad = scale * (x - y) / np.maximum(x * (1 - x), x.dtype.type(BCE_GRAD_EPS))
    if w is not None:
        grad = grad * w
    return np.broadcast_to(grad, x.shape).astype(out_dtype)


def binary_cross_entropy_with_logits_grad(
    input, target, weight=None, reduction: str = "mean", pos_weight=None, grad_output=None
):
    """Gradient of binary_cross_entropy_with_logits with respect to the logits x.

        G = g * w * [ (1 + (p - 1) * y) * sigma(x) - p * y ]   [/ numel for 'mean']

    which is g * w * (sigma(x) - y) without pos_weight. Finite at x = +-inf.
    """
    reduction = check.check_reduction(reduction)
    input_dtype = check.float_input(input).dtype
    x, y, w, p, _ = _bce_logits_arguments(input, target, weight, pos_weight)
    g = _upstream(grad_output, x.shape, reduction, x.dtype)
    scale = _per_position_scale(g, reduction, x.size, x.dtype)
    sigma = np.exp(log_sigmoid(x.astype(check.compute_dtype(x.dtype)))).astype(x.dtype)
    if p is None:
        grad = sigma - y
    else:
        py = p * y  # in torch's order, so that float16 rounds at the same steps
        grad = (py + 1 - y) * sigma - py
    if w is not None:
        grad = grad * w
    return np.broadcast_to(grad * scale, x.shape).astype(input_dtype)


# --------------------------------------------------------------------------
# KL divergence
# --------------------------------------------------------------------------
def kl_div_grad(input, target, reduction: str = "mean", log_target: bool = False, grad_output=None):
    """Gradient of kl_div with respect to its input (log-probabilities).

        G = -y * g          (log_target=False)
        G = -exp(y) * g     (log_target=True)
    with g divided by numel for 'mean' and by input.shape[0] for 'batchmean';
    summed back to the input's shape where the target broadcast it.
    """
    reduction = check.check_reduction(reduction, allowed=KL_REDUCTIONS)
    log_target = check.bool_argument(log_target, "log_target")
    input_dtype = check.to_numpy(input, "input").dtype
    x, y, _ = _kl_arguments(input, target)
    out_shape = np.broadcast_shapes(x.shape, y.shape)
    g = _upstream(grad_output, out_shape, "none" if reduction == "none" else "sum", x.dtype)
    size = int(np.prod(out_shape))
    if reduction == "mean":
        g = g / x.dtype.type(size)
    elif reduction == "batchmean" and x.ndim > 0:
        g = g / x.dtype.type(x.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        grad = -(np.exp(y) if log_target else y) * g
    grad = np.broadcast_to(grad, out_shape)
    return _sum_to_shape(grad, x.shape).astype(input_dtype)
