"""Hypothesis strategies for every test module, kept in one place.

A *case* is the full argument list of one call, `Case(input, args, kwargs)`, so that
`ce_lib.<fn>(case.input, *case.args, **case.kwargs)` and torch's twin can be called with the very
same arguments (torch_reference.py converts the NumPy arrays to tensors).

Shapes follow torch's layouts: (C,), (N, C) and (N, C, d1, ..., dk), with N = 0 allowed. Logits
are mostly moderate, sometimes +-1e4, and class-index cases may mask classes with -inf (never a
whole row). Weights are non-negative (torch accepts negative ones; test_losses.py checks those
separately), so a 'mean' denominator is either 0 or at least 0.1 and well conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = (np.float32, np.float64)
REDUCTIONS = ("none", "mean", "sum")
KL_REDUCTIONS = ("none", "mean", "sum", "batchmean")
BIG = 1e4


@dataclass
class Case:
    input: np.ndarray
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        return self.input.dtype

    @property
    def reduction(self) -> str:
        return self.kwargs.get("reduction", "mean")


def _width(dtype) -> int:
    return np.dtype(dtype).itemsize * 8


def finite_floats(dtype, low, high):
    """Finite floats in [low, high] that the dtype represents exactly (bounds rounded inwards)."""
    t = np.dtype(dtype).type
    lo, hi = t(low), t(high)
    lo = lo if lo >= low else np.nextafter(lo, t(np.inf))
    hi = hi if hi <= high else np.nextafter(hi, t(-np.inf))
    return st.floats(
        float(lo), float(hi), width=_width(dtype), allow_nan=False, allow_infinity=False
    )


def logit_elements(dtype, big: bool = True):
    """Moderate logits, and now and then a huge one (+-1e4, float16 excepted)."""
    moderate = finite_floats(dtype, -20, 20)
    if not big or np.dtype(dtype) == np.float16:
        return finite_floats(dtype, -8, 8)
    return st.one_of(
        moderate, moderate, moderate, st.sampled_from([-BIG, BIG, BIG - 0.5, -BIG + 3])
    )


def arrays(dtype, shape, elements):
    """Arrays whose every element is drawn (fill=nothing): hypothesis' default fills most of an
    array with one repeated value, and equal weights or equal logits hide weighting bugs."""
    return hnp.arrays(np.dtype(dtype), shape, elements=elements, fill=st.nothing())


# --------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------
@st.composite
def class_layouts(draw, max_classes: int = 5, allow_empty: bool = True):
    """(input shape, target shape, class axis) for (C,), (N, C) or (N, C, d1, ..., dk) input."""
    n_classes = draw(st.integers(1, max_classes))
    kind = draw(st.sampled_from(["C", "NC", "NC", "NCd"]))
    if kind == "C":
        # (1,) also works, except for C = 1 where cross_entropy reads it as probabilities
        target_shape = draw(st.sampled_from([(), (1,)])) if n_classes > 1 else ()
        return (n_classes,), target_shape, 0
    n = draw(st.integers(0 if allow_empty else 1, 4))
    spatial = (
        () if kind == "NC" else tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    )
    return (n, n_classes) + spatial, (n,) + spatial, 1


def any_shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 4):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


@st.composite
def broadcastable_to(draw, shape):
    """A shape that broadcasts to `shape` without enlarging it: drop leading dims, set some to 1."""
    drop = draw(st.integers(0, len(shape)))
    kept = shape[drop:]
    return tuple(1 if draw(st.booleans()) else side for side in kept)


# --------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------
@st.composite
def softmax_cases(draw, dtypes=FLOAT_DTYPES, big: bool = True, specials: bool = True):
    """(x, dim) with dim any valid int, negative included; x may hold -inf, +inf and NaN."""
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(any_shapes(min_dims=0))
    elements = logit_elements(dtype, big)
    if specials:
        elements = st.one_of(
            elements, elements, elements, st.sampled_from([-np.inf, -np.inf, np.inf, np.nan])
        )
    x = draw(arrays(dtype, shape, elements))
    ndim = max(len(shape), 1)  # a 0-d input takes dim 0 or -1, as in torch
    dim = draw(st.integers(-ndim, ndim - 1))
    return x, dim


@st.composite
def logsumexp_cases(draw, dtypes=FLOAT_DTYPES, big: bool = True, specials: bool = True):
    """(x, dim, keepdim) with dim an int or a tuple of distinct dims (negative ones included)."""
    x, dim = draw(softmax_cases(dtypes=dtypes, big=big, specials=specials))
    if x.ndim and draw(st.booleans()):
        axes = draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
        dim = tuple(a - x.ndim if draw(st.booleans()) else a for a in axes)
    return x, dim, draw(st.booleans())


# --------------------------------------------------------------------------
# nll_loss / cross_entropy with class-index targets
# --------------------------------------------------------------------------
@st.composite
def class_target_cases(
    draw,
    dtypes=FLOAT_DTYPES,
    smoothing: bool = True,
    big: bool = True,
    masked: bool = True,
    log_probs: bool = False,
    for_grad: bool = False,
):
    """A cross_entropy (or, with log_probs=True, nll_loss) call with class-index targets.

    Covers every layout, N = 0, weights, ignore_index (default, -1, a real class, one beyond C),
    targets all ignored, every reduction, label smoothing (negative, 0, (0, 1], exactly 1).
    """
    dtype = draw(st.sampled_from(dtypes))
    shape, target_shape, axis = draw(class_layouts())
    n_classes = shape[axis]
    x = draw(arrays(dtype, shape, logit_elements(dtype, big)))
    if masked and x.size and draw(st.booleans()):
        mask = draw(arrays(np.bool_, shape, st.booleans()))
        first_class = (np.arange(n_classes) == 0).reshape((-1,) + (1,) * (len(shape) - axis - 1))
        mask &= ~(mask.all(axis=axis, keepdims=True) & first_class)  # keep a finite logit per row
        x = np.where(mask, x.dtype.type(-np.inf), x)
    if log_probs:  # nll_loss takes log-probabilities: feed it a log_softmax, as users do
        with np.errstate(invalid="ignore", over="ignore"):
            x64 = x.astype(np.float64)
            m = x64.max(axis=axis, keepdims=True) if x.size else x64
            x = (x64 - m - np.log(np.exp(x64 - m).sum(axis=axis, keepdims=True))).astype(dtype)
    ignore_index = draw(
        st.sampled_from([-100, -100, -1, n_classes + 2]) | st.integers(0, n_classes - 1)
    )
    classes = st.integers(0, n_classes - 1)
    target = draw(
        arrays(np.int64, target_shape, st.one_of(classes, classes, st.just(ignore_index)))
    )
    if target.size and draw(st.integers(0, 7)) == 0:
        target[...] = ignore_index  # every target ignored
    kwargs = {"ignore_index": ignore_index, "reduction": draw(st.sampled_from(REDUCTIONS))}
    if draw(st.booleans()):
        weight_elements = st.one_of(finite_floats(dtype, 0.1, 3.0), st.just(0.0))
        kwargs["weight"] = draw(arrays(dtype, (n_classes,), weight_elements))
    if smoothing:
        kwargs["label_smoothing"] = draw(
            st.one_of(st.just(0.0), st.sampled_from([-0.3, 1.0]), st.floats(0.0, 1.0))
        )
    if x.ndim == 1 and (for_grad or kwargs.get("label_smoothing", 0) > 0):
        # A 1-D input with a (1,) target trips two torch 2.13 quirks that the spec leaves out:
        # with smoothing the forward raises "output with shape [] doesn't match the broadcast
        # shape [1]"; with reduction='none' the backward raises "size mismatch". Not generated.
        target = target.reshape(())
    return Case(x, (target,), kwargs)


# --------------------------------------------------------------------------
# cross_entropy with probability targets
# --------------------------------------------------------------------------
@st.composite
def probability_target_cases(draw, dtypes=FLOAT_DTYPES, big: bool = True, masked: bool = True):
    """cross_entropy with a float target of the input's shape: normalised rows, or any values in
    [0, 1], with weights, smoothing and any negative ignore_index (accepted and without effect)."""
    dtype = draw(st.sampled_from(dtypes))
    shape, _, axis = draw(class_layouts())
    n_classes = shape[axis]
    x = draw(arrays(dtype, shape, logit_elements(dtype, big)))
    if masked and x.size and draw(st.integers(0, 3)) == 0:
        x = np.where(draw(arrays(np.bool_, shape, st.booleans())), x.dtype.type(-np.inf), x)
    y = draw(
        arrays(dtype, shape, st.one_of(st.just(0.0), st.just(1.0), finite_floats(dtype, 0, 1)))
    )
    if y.size and draw(st.booleans()):  # rows that sum to 1
        total = y.astype(np.float64).sum(axis=axis, keepdims=True)
        y = np.where(total > 0, y / np.where(total > 0, total, 1), 1.0 / n_classes).astype(dtype)
    kwargs = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if draw(st.booleans()):
        kwargs["weight"] = draw(arrays(dtype, (n_classes,), finite_floats(dtype, 0.0, 3.0)))
    if draw(st.booleans()):
        kwargs["label_smoothing"] = draw(
            st.one_of(st.sampled_from([-0.2, 1.0]), st.floats(0.0, 1.0))
        )
    if draw(st.booleans()):
        kwargs["ignore_index"] = draw(st.sampled_from([-100, -1, -7]))
    return Case(x, (y,), kwargs)


# --------------------------------------------------------------------------
# binary cross-entropy
# --------------------------------------------------------------------------
def probability_elements(dtype):
    """Probabilities in [0, 1], exactly 0 and 1 included, and tiny ones (1e-44 is subnormal in
    float32, where the -100 clamp bites)."""
    tiny = {
        np.dtype(np.float16): [float(np.float16(1e-7)), float(np.float16(1e-4))],
        np.dtype(np.float32): [1e-44, 1e-30],
    }.get(np.dtype(dtype), [1e-300, 1e-50, 1e-17])
    near_one = float(np.nextafter(np.dtype(dtype).type(1), np.dtype(dtype).type(0)))
    return st.one_of(
        finite_floats(dtype, 0, 1),
        finite_floats(dtype, 0, 1),
        st.sampled_from([0.0, 1.0, 0.5, near_one] + tiny),
    )


@st.composite
def bce_cases(draw, dtypes=FLOAT_DTYPES):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(any_shapes(min_dims=0, max_dims=3))
    x = draw(arrays(dtype, shape, probability_elements(dtype)))
    y = draw(arrays(dtype, shape, probability_elements(dtype)))
    kwargs = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if draw(st.booleans()):
        kwargs["weight"] = draw(
            arrays(dtype, draw(broadcastable_to(shape)), finite_floats(dtype, 0, 3))
        )
    return Case(x, (y,), kwargs)


@st.composite
def bce_with_logits_cases(draw, dtypes=FLOAT_DTYPES, big: bool = True, infinite: bool = True):
    """Logits moderate, +-1e4 and (with infinite=True) +-inf; pos_weight of shape (C,) along the
    last dim, (N, 1), (1,), the full shape or any other non-enlarging broadcast; weight likewise."""
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(any_shapes(min_dims=0, max_dims=3))
    elements = logit_elements(dtype, big)
    if infinite:
        elements = st.one_of(elements, elements, elements, st.sampled_from([-np.inf, np.inf]))
    x = draw(arrays(dtype, shape, elements))
    y = draw(
        arrays(dtype, shape, st.one_of(st.sampled_from([0.0, 1.0]), finite_floats(dtype, 0, 1)))
    )
    kwargs = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if draw(st.booleans()):
        kwargs["weight"] = draw(
            arrays(dtype, draw(broadcastable_to(shape)), finite_floats(dtype, 0, 3))
        )
    if draw(st.booleans()):
        options = [draw(broadcastable_to(shape)), shape[-1:]]
        if len(shape) >= 2:
            options.append(shape[:-1] + (1,))  # (N, 1) for a 2-D input
        pw_shape = draw(st.sampled_from(options))
        kwargs["pos_weight"] = draw(arrays(dtype, pw_shape, finite_floats(dtype, 0, 5)))
    return Case(x, (y,), kwargs)


# --------------------------------------------------------------------------
# kl_div
# --------------------------------------------------------------------------
@st.composite
def kl_div_cases(draw, dtypes=FLOAT_DTYPES):
    """input: log-probabilities (any non-positive values, -inf included); target: probabilities with
    exact zeros, or log-probabilities for log_target=True."""
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(any_shapes(min_dims=0, max_dims=3))
    log_probs = st.one_of(finite_floats(dtype, -30, 0), st.just(0.0))
    x = draw(arrays(dtype, shape, st.one_of(log_probs, log_probs, st.just(-np.inf))))
    log_target = draw(st.booleans())
    if log_target:
        y = draw(arrays(dtype, shape, st.one_of(log_probs, st.just(-np.inf))))
    else:
        y = draw(arrays(dtype, shape, st.one_of(st.just(0.0), finite_floats(dtype, 0, 1))))
    kwargs = {"reduction": draw(st.sampled_from(KL_REDUCTIONS)), "log_target": log_target}
    return Case(x, (y,), kwargs)


# --------------------------------------------------------------------------
# upstream gradients
# --------------------------------------------------------------------------
def grad_outputs(data, reduction: str):
    """A callable for torch_value_and_grad: random upstream values for 'none' (any shape, drawn
    from `data`), a random scalar for the scalar reductions."""

    def draw(shape, dtype):
        values = finite_floats(dtype, -3, 3).filter(lambda v: abs(v) > 1e-3)
        if reduction == "none":
            return data.draw(arrays(dtype, shape, values), label="grad_output")
        return np.asarray(data.draw(values, label="grad_output"), dtype=dtype)

    return draw


# --------------------------------------------------------------------------
# information measures
# --------------------------------------------------------------------------
@st.composite
def distributions(draw, shape=None, with_zeros: bool = True, min_dims: int = 1):
    """float64 probability vectors along the last axis (rows sum to 1), exact zeros included."""
    if shape is None:
        shape = draw(any_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=5))
    elements = finite_floats(np.float64, 0.01, 1.0)
    if with_zeros:
        elements = st.one_of(elements, elements, st.just(0.0))
    raw = draw(arrays(np.float64, shape, elements))
    raw[..., 0] = np.where(raw.sum(axis=-1) == 0, 1.0, raw[..., 0])  # no all-zero row
    return raw / raw.sum(axis=-1, keepdims=True)


@st.composite
def distribution_pairs(draw, q_covers_p: bool = False):
    """(p, q) of one shape; with q_covers_p, q > 0 wherever p > 0 (so KL and H(p, q) are finite)."""
    p = draw(distributions())
    q = draw(distributions(shape=p.shape, with_zeros=not q_covers_p))
    return p, q


def probability_vectors():
    """1-D float64 arrays of independent probabilities in [0, 1] (exact 0 and 1 included)."""
    return arrays(
        np.float64,
        st.integers(1, 6).map(lambda n: (n,)),
        st.one_of(st.sampled_from([0.0, 1.0, 0.5]), finite_floats(np.float64, 0, 1)),
    )


def logit_vectors():
    """1-D float64 logits of 2 to 6 classes."""
    return arrays(
        np.float64, st.integers(2, 6).map(lambda n: (n,)), finite_floats(np.float64, -10, 10)
    )
