"""Information measures between probability distributions, for chapter 1.

Each function works along `axis` of arrays of probabilities and reports in
nats by default, or in any other unit through `base` (base=2: bits):

    self_information(p)      I(p)     = -log p
    entropy(p)               H(p)     = -sum_x p(x) log p(x)
    binary_entropy(p)        H_b(p)   = -p log p - (1 - p) log(1 - p)
    cross_entropy(p, q)      H(p, q)  = -sum_x p(x) log q(x)
    kl_divergence(p, q)      KL(p||q) =  sum_x p(x) log(p(x) / q(x))

so that H(p, q) = H(p) + KL(p||q). Terms with p(x) = 0 count 0 (0 log 0 = 0:
an impossible outcome costs nothing); q(x) = 0 where p(x) > 0 gives +inf.

These take *distributions*; the loss `ce_lib.cross_entropy` takes logits and
class targets. Inputs that are not distributions (negative entries, entries
above 1, sums other than 1) raise ValueError.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import to_numpy

# How far from 1 a row may sum and still count as a distribution: 1e-6, or more where the
# dtype's rounding of n terms could reach further (float16, long float32 rows).
SUM_TOLERANCE = 1e-6


def _log_base(base: float) -> float:
    """ln(base), the factor that turns nats into the unit of `base`.

    Any real number type is accepted (2, 2.0, np.int64(2), np.float32(2)); a bool or a
    non-number is a TypeError; NaN, infinities, values <= 0 and 1 are a ValueError.
    """
    if isinstance(base, (bool, np.bool_)) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a real number (e.g. 2 for bits), got {base!r}")
    if not math.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be a positive finite number other than 1 (e.g. 2 for bits), "
                         f"got {base!r}")
    return math.log(base)


def _check_axis(axis, ndim: int, name: str) -> int:
    """`axis` as an int in range for an ndim-array named `name`."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise IndexError(f"axis={axis} is out of range for {name} with {ndim} dimension(s) "
                         f"(expected a value in [{-ndim}, {ndim - 1}])")
    return int(axis)


def _probabilities(p, name: str) -> np.ndarray:
    """A float array with every entry in [0, 1]."""
    array = to_numpy(p, name)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must hold probabilities (numbers), got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if np.isnan(array).any() or (array < 0).any() or (array > 1).any():
        bad = array[np.isnan(array) | (array < 0) | (array > 1)].flat[0]
        raise ValueError(f"{name} must hold probabilities in [0, 1], found {bad}")
    return array


def _distribution(p, name: str, axis: int) -> np.ndarray:
    """Probabilities that sum to 1 along `axis`."""
    array = _probabilities(p, name)
    if array.ndim == 0:
        raise ValueError(f"{name} must be a distribution (at least 1-D), got a scalar")
    axis = _check_axis(axis, array.ndim, name)
    totals = array.sum(axis=axis)
    tolerance = max(SUM_TOLERANCE, 4 * array.shape[axis] * float(np.finfo(array.dtype).eps))
    if not np.all(np.abs(totals - 1) <= tolerance):
        worst = np.asarray(totals).flat[np.argmax(np.abs(np.asarray(totals) - 1))]
        raise ValueError(f"{name} must sum to 1 along axis {axis}, found a sum of {worst}")
    return array


def _pair(p, q, axis: int):
    p = _distribution(p, "p", axis)
    q = _distribution(q, "q", axis)
    if p.shape != q.shape:
        raise ValueError(f"p has shape {p.shape} but q has shape {q.shape}; they must match")
    return p, q


def _plogq(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p * log(q), with 0 wherever p == 0 (even if q == 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p == 0, 0.0, p * np.log(q))


def self_information(p, base: float = math.e):
    """Surprise of an outcome of probability p: I(p) = -log p (elementwise).

    A certain event carries 0; a one-in-a-million event log2(1e6) ~ 19.9 bits;
    an impossible one +inf.
    """
    scale = _log_base(base)
    p = _probabilities(p, "p")
    with np.errstate(divide="ignore"):
        return (0.0 - np.log(p) / scale)[()]  # 0.0 - x: a certain event gives +0.0, not -0.0


def entropy(p, axis: int = -1, base: float = math.e):
    """Expected surprise of a distribution: H(p) = -sum_x p(x) log p(x) along `axis`.

    H is 0 for a certain outcome and log(n) for n equally likely outcomes
    (2 bits for a fair 4-way lottery).
    """
    scale = _log_base(base)
    p = _distribution(p, "p", axis)
    return (0.0 - np.sum(_plogq(p, p), axis=axis) / scale)[()]


def binary_entropy(p, base: float = math.e):
    """Entropy of a coin with P(heads) = p: H_b(p) = -p log p - (1-p) log(1-p), elementwise.

    Largest at p = 0.5 (1 bit), 0 at p = 0 and p = 1.
    """
    scale = _log_base(base)
    p = _probabilities(p, "p")
    return (0.0 - (_plogq(p, p) + _plogq(1 - p, 1 - p)) / scale)[()]


def cross_entropy(p, q, axis: int = -1, base: float = math.e):
    """Cross-entropy H(p, q) = -sum_x p(x) log q(x) along `axis`.

    The expected length of the ideal code for q (lengths -log q(x)) when outcomes
    follow p; a real prefix code built for q (Shannon's) comes within one bit of it.
    H(p, q) >= H(p), with equality exactly when q = p (Gibbs).
    """
    scale = _log_base(base)
    p, q = _pair(p, q, axis)
    return (0.0 - np.sum(_plogq(p, q), axis=axis) / scale)[()]


def kl_divergence(p, q, axis: int = -1, base: float = math.e):
    """Kullback-Leibler divergence KL(p||q) = sum_x p(x) log(p(x) / q(x)) along `axis`.

    The extra length paid for using the ideal code for q on p's data:
    KL(p||q) = H(p, q) - H(p) >= 0, zero only when p = q; not symmetric.
    """
    scale = _log_base(base)
    p, q = _pair(p, q, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p == 0, 0.0, p * (np.log(p) - np.log(q)))
    return (np.sum(terms, axis=axis) / scale)[()]
