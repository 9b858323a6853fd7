"""Argument checks shared by the losses: one helper per concept, called first.

Each helper turns what the caller passed into a NumPy array of the dtype the
computation will use, or raises an exception whose message names the
argument, says what was expected and what came. They raise where torch
raises (the book's page "PyTorch's loss semantics", semantics.md, section 9);
where torch raises RuntimeError, ce_lib raises the closest Python type:

* ValueError  -- a wrong shape, a wrong value (reduction, label_smoothing,
                 probabilities outside [0, 1], ignore_index with probability
                 targets);
* TypeError   -- a wrong dtype (integer logits, float class indices, int32
                 targets, a weight of another float dtype);
* IndexError  -- a class index outside [0, C).
"""
from __future__ import annotations

import warnings

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


def to_numpy(value, name: str) -> np.ndarray:
    """``np.asarray`` that also accepts torch tensors that require grad."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {exc}") from None


def has_dtype(value) -> bool:
    """True for arrays and tensors (which carry a dtype), False for lists and numbers."""
    return hasattr(value, "dtype")


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a computation runs in: float16 goes through float32, as in torch."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def check_reduction(reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    """Return the reduction, mapping torch's deprecated 'elementwise_mean' to 'mean'."""
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(
            f"reduction must be one of {', '.join(repr(r) for r in allowed)}, got {reduction!r}"
        )
    return reduction


def integer_argument(value, name: str) -> int:
    """A Python int from an int-like argument (int, NumPy integer, 0-d integer tensor), as
    torch's argument parser takes it: bools, floats, None and strings are a TypeError."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got a bool ({value!r})")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if getattr(value, "ndim", None) == 0:  # a 0-d NumPy array or tensor
        array = to_numpy(value, name)
        if np.issubdtype(array.dtype, np.integer):
            return int(array)
    raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")


def real_argument(value, name: str) -> float:
    """A Python float from a real-number argument (int, float, bool, NumPy scalar, 0-d
    tensor), as torch's argument parser takes a `float`: None and strings are a TypeError."""
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(value)
    if getattr(value, "ndim", None) == 0:  # a 0-d NumPy array or tensor
        array = to_numpy(value, name)
        if np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_:
            return float(array)
    raise TypeError(f"{name} must be a float, got {type(value).__name__} ({value!r})")


def bool_argument(value, name: str) -> bool:
    """A Python bool, and only that: torch's parser rejects ints and even NumPy bools."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__} "
                        f"({value!r})")
    return value


def float_input(value, name: str = "input") -> np.ndarray:
    """A floating-point array; integers and booleans are rejected, as torch does."""
    array = to_numpy(value, name)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array (float16, float32 or float64), "
            f"got dtype {array.dtype}"
        )
    return array


def check_dim(dim, ndim: int, name: str = "dim") -> tuple[int, ...]:
    """Normalise an int or a tuple of ints to non-negative axes of an ndim-array.

    A 0-d array accepts dim 0 and -1, as torch does.
    """
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    size = max(ndim, 1)
    normalised = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {dim!r}")
        if not -size <= d < size:
            raise IndexError(
                f"{name}={d} is out of range for an input with {ndim} dimension(s) "
                f"(expected a value in [{-size}, {size - 1}])"
            )
        normalised.append(int(d) % size)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{name} {dim!r} names the same dimension twice")
    return tuple(normalised)


def class_weight(
    weight, n_classes: int, input_dtype: np.dtype, name: str = "weight", strict_dtype: bool = True
):
    """A 1-D per-class weight with C entries in the input's dtype, or None.

    Like torch's nll_loss, a weight array of another float dtype is an error
    (unless strict_dtype is False); a list is converted to the input's dtype.
    """
    if weight is None:
        return None
    array = to_numpy(weight, name)
    if array.ndim != 1 or array.shape[0] != n_classes:
        raise ValueError(
            f"{name} must be a 1-D array with one entry per class ({n_classes} classes), "
            f"got shape {array.shape}"
        )
    if has_dtype(weight):
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"{name} must be a floating-point array, got dtype {array.dtype}")
        if strict_dtype and array.dtype != input_dtype:
            raise TypeError(
                f"{name} has dtype {array.dtype} but input has dtype {input_dtype}; "
                f"they must match (as in torch)"
            )
    return array.astype(input_dtype, copy=False)


def class_target(target, input: np.ndarray, ignore_index: int, name: str = "target") -> np.ndarray:
    """Class indices matching an input of shape (C,), (N, C) or (N, C, d1, ..., dk).

    Returns the target with the input's layout minus the class axis: shape
    (1,) for a 1-D input, (N,) or (N, d1, ..., dk) otherwise. Checks, in
    torch's order: dtype, shape, then the range of every non-ignored entry.
    """
    array = to_numpy(target, name)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"{name} must hold class indices as int64 (or uint8), got dtype {array.dtype}; "
            f"for class probabilities give {name} the input's shape {input.shape}"
        )
    if array.dtype == np.uint8 and input.ndim > 2:
        raise TypeError(
            f"{name} has dtype uint8, which torch accepts only for 1-D or 2-D input; "
            f"input has shape {input.shape}: use int64"
        )
    if array.dtype not in (np.int64, np.uint8):
        raise TypeError(f"{name} must be int64 (or uint8) class indices, got dtype {array.dtype}")

    if input.ndim == 0:
        raise ValueError("input must have 1 or more dimensions (classes), got a 0-d array")
    if input.ndim == 1:
        if array.ndim > 1 or array.size != 1:
            raise ValueError(
                f"for a 1-D input of shape {input.shape}, {name} must be a single class index "
                f"(shape () or (1,)), got shape {array.shape}"
            )
        array = array.reshape(1)
    else:
        expected = (input.shape[0],) + input.shape[2:]
        if array.ndim == input.ndim:
            raise ValueError(
                f"{name} has shape {array.shape} but input of shape {input.shape} needs class "
                f"indices of shape {expected} (one-hot or multi-target {name}s are not supported; "
                f"for class probabilities use cross_entropy with a float {name})"
            )
        if array.ndim == 0 or array.shape[0] != input.shape[0]:
            raise ValueError(
                f"{name} has shape {array.shape} but input of shape {input.shape} needs "
                f"{name} shape {expected} (batch sizes differ)"
            )
        if array.shape != expected:
            raise ValueError(
                f"{name} has shape {array.shape} but input of shape {input.shape} needs "
                f"{name} shape {expected}"
            )

    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    valid = array != ignore_index
    out_of_range = valid & ((array < 0) | (array >= n_classes))
    if out_of_range.any():
        position = tuple(int(i) for i in np.argwhere(out_of_range)[0])
        raise IndexError(
            f"{name} contains class {int(array[position])} at position {position}, but input has "
            f"{n_classes} classes: expected a value in [0, {n_classes - 1}] or "
            f"ignore_index={ignore_index}"
        )
    return array.astype(np.int64, copy=False)


def check_same_shape(target: np.ndarray, input: np.ndarray, name: str = "target") -> None:
    if target.shape != input.shape:
        raise ValueError(
            f"{name} has shape {target.shape} but input has shape {input.shape}; "
            f"they must be the same (no broadcasting)"
        )


def broadcast_weight(weight, shape: tuple[int, ...], dtype: np.dtype, name: str = "weight"):
    """An element weight broadcast to `shape`, which it must not enlarge; or None."""
    if weight is None:
        return None
    array = to_numpy(weight, name)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    try:
        result_shape = np.broadcast_shapes(array.shape, shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {array.shape} does not broadcast against input of shape {shape}"
        ) from None
    if result_shape != tuple(shape):
        raise ValueError(
            f"{name} of shape {array.shape} would enlarge the output: broadcasting it against "
            f"input of shape {shape} gives {result_shape}"
        )
    return array.astype(dtype, copy=False)


def check_probabilities(array: np.ndarray, name: str) -> None:
    """Every element in [0, 1] (NaN fails), as BCE requires of its input and target."""
    inside = (array >= 0) & (array <= 1)
    if not inside.all():
        bad = array[~inside].flat[0]
        raise ValueError(f"all elements of {name} should be between 0 and 1, found {bad}")


def probability_target(target, input: np.ndarray, name: str = "target") -> np.ndarray:
    """A float target of the input's shape (class probabilities)."""
    array = to_numpy(target, name)
    check_same_shape(array, input, name)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} has the input's shape {input.shape}, so it is read as class probabilities "
            f"and must be floating-point, got dtype {array.dtype}"
        )
    return array
