"""Errors: ce_lib raises exactly where torch raises (the book's page semantics.md, section 9).

Each case asserts three things: ce_lib raises its documented type (ValueError for shapes and
values, TypeError for dtypes, IndexError for class indices out of range), its message names the
offending argument, and torch raises too on the same arguments (so a case is an error only where
torch says so). The loss cases are checked for the forward and for its `_grad` twin, which takes
the same arguments. The last tests pin the silent cases, where torch does not raise.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from tolerances import assert_close
from torch_reference import torch_raises, torch_value

import ce_lib

nan = np.nan
r = np.random.default_rng(0)
X = r.normal(size=(3, 4))  # (N, C) logits, float64
T = np.array([0, 1, 2])  # class indices
P = np.asarray(ce_lib.softmax(r.normal(size=(3, 4)), 1))  # probability targets
X3 = r.normal(size=(2, 4, 3))  # (N, C, d1)
T3 = np.zeros((2, 3), dtype=np.int64)
U = r.random((2, 3))  # probabilities for BCE
L = r.normal(size=(2, 3))  # BCE logits

CLASS_LOSSES = ("nll_loss", "cross_entropy")


def case(id, fn, args, kwargs, raises, name, torch_type):
    """fn(*args, **kwargs) raises `raises` naming argument `name`; torch raises `torch_type`."""
    return pytest.param(fn, args, kwargs, raises, name, torch_type, id=f"{fn}: {id}")


def both(id, args, kwargs, raises, name, torch_type, fns=CLASS_LOSSES):
    return [case(id, fn, args, kwargs, raises, name, torch_type) for fn in fns]


ERROR_CASES = [
    # ---- reduction (every loss) ----
    *both("unknown reduction", (X, T), {"reduction": "avg"}, ValueError, "reduction", ValueError),
    *both(
        "batchmean is kl_div's only",
        (X, T),
        {"reduction": "batchmean"},
        ValueError,
        "reduction",
        ValueError,
    ),
    case(
        "unknown reduction",
        "binary_cross_entropy",
        (U, U),
        {"reduction": "bad"},
        ValueError,
        "reduction",
        ValueError,
    ),
    case(
        "unknown reduction",
        "binary_cross_entropy_with_logits",
        (L, U),
        {"reduction": "bad"},
        ValueError,
        "reduction",
        ValueError,
    ),
    case(
        "unknown reduction",
        "kl_div",
        (L, U),
        {"reduction": "bad"},
        ValueError,
        "reduction",
        ValueError,
    ),
    # ---- nll_loss / cross_entropy: shapes ----
    *both("batch sizes differ", (X, np.array([0, 1])), {}, ValueError, "target", ValueError),
    *both(
        "spatial dims differ",
        (X3, np.zeros((2, 4), dtype=np.int64)),
        {},
        ValueError,
        "target",
        RuntimeError,
    ),
    *both(
        "1-D input, target of size 3",
        (X[0], np.array([1, 2, 3])),
        {},
        ValueError,
        "target",
        ValueError,
    ),
    *both(
        "2-D class target for 2-D input",
        (X, np.zeros((3, 1), dtype=np.int64)),
        {},
        ValueError,
        "target",
        RuntimeError,
    ),
    case(
        "0-d input", "nll_loss", (np.array(1.0), np.array(0)), {}, ValueError, "input", ValueError
    ),
    # ---- nll_loss / cross_entropy: target dtype and range ----
    *both("int32 target", (X, T.astype(np.int32)), {}, TypeError, "target", RuntimeError),
    *both("int16 target", (X, T.astype(np.int16)), {}, TypeError, "target", RuntimeError),
    *both("float class target", (X, T.astype(np.float64)), {}, TypeError, "target", RuntimeError),
    *both(
        "uint8 target with 3-D input",
        (X3, T3.astype(np.uint8)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    case(
        "int32 target with smoothing",
        "cross_entropy",
        (X, T.astype(np.int32)),
        {"label_smoothing": 0.1},
        TypeError,
        "target",
        RuntimeError,
    ),
    *[
        c
        for reduction in ("none", "sum", "mean")
        for c in both(
            f"target 4 out of range, {reduction}",
            (X, np.array([0, 1, 4])),
            {"reduction": reduction},
            IndexError,
            "target",
            IndexError,
        )
    ],
    *both(
        "negative target -1 != ignore_index",
        (X, np.array([0, -1, 2])),
        {},
        IndexError,
        "target",
        IndexError,
    ),
    *both(
        "target out of range, 3-D input",
        (X3, np.array([[0, 4, 1], [2, 3, 0]])),
        {},
        IndexError,
        "target",
        IndexError,
    ),
    case(
        "target out of range with smoothing",
        "cross_entropy",
        (X, np.array([0, 1, 7])),
        {"label_smoothing": 0.1},
        IndexError,
        "target",
        IndexError,
    ),
    # ---- nll_loss / cross_entropy: input dtype ----
    *both("integer input", (X.astype(np.int64), T), {}, TypeError, "input", NotImplementedError),
    # ---- weight ----
    *both(
        "weight of 3 entries for 4 classes",
        (X, T),
        {"weight": np.ones(3)},
        ValueError,
        "weight",
        RuntimeError,
    ),
    *both(
        "weight of 5 entries, 3-D input",
        (X3, T3),
        {"weight": np.ones(5)},
        ValueError,
        "weight",
        RuntimeError,
    ),
    *both(
        "2-D weight for 2-D input",
        (X, T),
        {"weight": np.ones((1, 4))},
        ValueError,
        "weight",
        RuntimeError,
    ),
    *both(
        "weight dtype differs from input",
        (X, T),
        {"weight": np.ones(4, dtype=np.float32)},
        TypeError,
        "weight",
        RuntimeError,
    ),
    case(
        "weight of wrong size with smoothing",
        "cross_entropy",
        (X, T),
        {"weight": np.ones(5), "label_smoothing": 0.1},
        ValueError,
        "weight",
        RuntimeError,
    ),
    case(
        "weight of wrong size, probability targets",
        "cross_entropy",
        (X, P),
        {"weight": np.ones(5)},
        ValueError,
        "weight",
        RuntimeError,
    ),
    # ---- label smoothing ----
    case(
        "label_smoothing above 1",
        "cross_entropy",
        (X, T),
        {"label_smoothing": 1.5},
        ValueError,
        "label_smoothing",
        RuntimeError,
    ),
    case(
        "label_smoothing above 1, probability targets",
        "cross_entropy",
        (X, P),
        {"label_smoothing": 1.01},
        ValueError,
        "label_smoothing",
        RuntimeError,
    ),
    # ---- probability targets ----
    case(
        "ignore_index 0 with probability targets",
        "cross_entropy",
        (X, P),
        {"ignore_index": 0},
        ValueError,
        "ignore_index",
        RuntimeError,
    ),
    case(
        "ignore_index 3 with probability targets",
        "cross_entropy",
        (X, P),
        {"ignore_index": 3},
        ValueError,
        "ignore_index",
        RuntimeError,
    ),
    case(
        "int64 target of the input's shape",
        "cross_entropy",
        (X, np.ones((3, 4), dtype=np.int64)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    case(
        "0-d input with 0-d int64 target",
        "cross_entropy",
        (np.array(1.0), np.array(0)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    # ---- binary_cross_entropy ----
    case(
        "input above 1",
        "binary_cross_entropy",
        (np.array([1.5, 0.5]), np.array([0.5, 0.5])),
        {},
        ValueError,
        "input",
        RuntimeError,
    ),
    case(
        "input below 0",
        "binary_cross_entropy",
        (np.array([-0.1, 0.5]), np.array([0.5, 0.5])),
        {},
        ValueError,
        "input",
        RuntimeError,
    ),
    case(
        "NaN input",
        "binary_cross_entropy",
        (np.array([nan, 0.5]), np.array([0.5, 0.5])),
        {},
        ValueError,
        "input",
        RuntimeError,
    ),
    case(
        "target above 1",
        "binary_cross_entropy",
        (np.array([0.5, 0.5]), np.array([2.0, 0.5])),
        {},
        ValueError,
        "target",
        RuntimeError,
    ),
    case(
        "target below 0",
        "binary_cross_entropy",
        (np.array([0.5, 0.5]), np.array([-1.0, 0.5])),
        {},
        ValueError,
        "target",
        RuntimeError,
    ),
    case(
        "target shape differs",
        "binary_cross_entropy",
        (U[0], U[0][:, None]),
        {},
        ValueError,
        "target",
        ValueError,
    ),
    case(
        "target dtype differs",
        "binary_cross_entropy",
        (U, U.astype(np.float32)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    case(
        "weight enlarging the output",
        "binary_cross_entropy",
        (U[0], U[0]),
        {"weight": U},
        ValueError,
        "weight",
        RuntimeError,
    ),
    # ---- binary_cross_entropy_with_logits ----
    case(
        "target shape differs",
        "binary_cross_entropy_with_logits",
        (L, U[0]),
        {},
        ValueError,
        "target",
        ValueError,
    ),
    case(
        "pos_weight not broadcastable",
        "binary_cross_entropy_with_logits",
        (L, U),
        {"pos_weight": np.ones(2)},
        ValueError,
        "pos_weight",
        RuntimeError,
    ),
    case(
        "pos_weight enlarging the output",
        "binary_cross_entropy_with_logits",
        (L, U),
        {"pos_weight": np.ones((4, 2, 3))},
        ValueError,
        "pos_weight",
        RuntimeError,
    ),
    case(
        "weight not broadcastable",
        "binary_cross_entropy_with_logits",
        (L, U),
        {"weight": np.ones(2)},
        ValueError,
        "weight",
        RuntimeError,
    ),
    case(
        "weight enlarging the output",
        "binary_cross_entropy_with_logits",
        (L, U),
        {"weight": np.ones((4, 2, 3))},
        ValueError,
        "weight",
        RuntimeError,
    ),
    case(
        "integer target",
        "binary_cross_entropy_with_logits",
        (L, np.ones((2, 3), dtype=np.int64)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    # ---- kl_div ----
    case(
        "integer input",
        "kl_div",
        (np.array([1, 2]), np.array([0.5, 0.5])),
        {},
        TypeError,
        "input",
        RuntimeError,
    ),
    case(
        "integer target",
        "kl_div",
        (L, np.ones((2, 3), dtype=np.int64)),
        {},
        TypeError,
        "target",
        RuntimeError,
    ),
    case(
        "shapes not broadcastable",
        "kl_div",
        (L, U.T.copy()),
        {"reduction": "sum"},
        ValueError,
        "target",
        RuntimeError,
    ),
]

SOFTMAX_ERROR_CASES = [
    case(
        "integer input",
        "softmax",
        (X.astype(np.int64), 1),
        {},
        TypeError,
        "input",
        NotImplementedError,
    ),
    case(
        "integer input",
        "log_softmax",
        (X.astype(np.int64), 1),
        {},
        TypeError,
        "input",
        NotImplementedError,
    ),
    case("dim out of range", "softmax", (X, 2), {}, IndexError, "dim", IndexError),
    case("dim out of range", "log_softmax", (X, -3), {}, IndexError, "dim", IndexError),
    case("dim out of range", "logsumexp", (X, 2), {}, IndexError, "dim", IndexError),
    case("dim repeated", "logsumexp", (X, (0, -2)), {}, ValueError, "dim", RuntimeError),
]


def names_argument(message: str, name: str) -> bool:
    return (
        re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", message, re.IGNORECASE)
        is not None
    )


def assert_both_raise(call, fn, args, kwargs, raises, name, torch_type):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(raises) as excinfo:
            call(*args, **kwargs)
    message = str(excinfo.value)
    assert names_argument(message, name), f"message does not name {name!r}: {message!r}"
    theirs = torch_raises(fn, *args, **kwargs)
    assert isinstance(theirs, torch_type), (
        f"torch raised {theirs!r}, expected {torch_type.__name__}"
    )


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "raises", "name", "torch_type"), ERROR_CASES + SOFTMAX_ERROR_CASES
)
def test_raises_where_torch_raises_and_names_the_argument(
    fn, args, kwargs, raises, name, torch_type
):
    assert_both_raise(getattr(ce_lib, fn), fn, args, kwargs, raises, name, torch_type)


@pytest.mark.parametrize(("fn", "args", "kwargs", "raises", "name", "torch_type"), ERROR_CASES)
def test_grad_twin_raises_the_same_error(fn, args, kwargs, raises, name, torch_type):
    assert_both_raise(getattr(ce_lib, f"{fn}_grad"), fn, args, kwargs, raises, name, torch_type)


# --------------------------------------------------------------------------
# silent cases: torch does not raise, so neither does ce_lib (and the values agree)
# --------------------------------------------------------------------------
SILENT_CASES = [
    pytest.param("cross_entropy", (X, T), {"label_smoothing": -0.5}, id="negative label_smoothing"),
    pytest.param("cross_entropy", (X, T), {"label_smoothing": 1.0}, id="label_smoothing exactly 1"),
    pytest.param(
        "cross_entropy", (X, P), {"label_smoothing": -0.5}, id="negative smoothing, probs"
    ),
    pytest.param(
        "cross_entropy", (X, P), {"ignore_index": -1}, id="probability targets, ignore_index -1"
    ),
    pytest.param(
        "cross_entropy", (X, P), {"ignore_index": -100}, id="probability targets, default"
    ),
    pytest.param("cross_entropy", (X, 2 * P - 0.5), {}, id="probability targets outside [0, 1]"),
    pytest.param("cross_entropy", (X, P.astype(np.float32)), {}, id="probability target float32"),
    pytest.param(
        "cross_entropy",
        (X, P),
        {"weight": np.ones(4, dtype=np.float32)},
        id="probability targets, float32 weight",
    ),
    pytest.param(
        "nll_loss", (X, np.array([0, 7, 2])), {"ignore_index": 7}, id="ignore_index beyond C"
    ),
    pytest.param("nll_loss", (X, np.array([0, -1, 2])), {"ignore_index": -1}, id="ignore_index -1"),
    pytest.param("nll_loss", (X, T.astype(np.uint8)), {}, id="uint8 target, 2-D input"),
    pytest.param(
        "nll_loss", (X, T), {"weight": np.array([1.0, -1.0, 2.0, 0.0])}, id="negative weight"
    ),
    pytest.param(
        "binary_cross_entropy_with_logits", (L, 3 * U - 1), {}, id="logits targets unchecked"
    ),
    pytest.param(
        "binary_cross_entropy_with_logits",
        (L, U),
        {"pos_weight": np.ones((2, 1))},
        id="pos_weight (N, 1)",
    ),
    pytest.param(
        "binary_cross_entropy",
        (U, U),
        {"weight": U[0].astype(np.float32)},
        id="bce weight of another dtype",
    ),
    pytest.param("kl_div", (L, U[0]), {"reduction": "sum"}, id="kl_div broadcasting"),
    pytest.param("kl_div", (L, -U), {"reduction": "none"}, id="kl_div negative target"),
]


@pytest.mark.parametrize(("fn", "args", "kwargs"), SILENT_CASES)
def test_no_error_where_torch_raises_none(fn, args, kwargs):
    assert torch_raises(fn, *args, **kwargs) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = getattr(ce_lib, fn)(*args, **kwargs)
        grad = getattr(ce_lib, f"{fn}_grad")(*args, **kwargs)
    assert_close(mine, torch_value(fn, *args, **kwargs), what=fn)
    assert np.asarray(grad).shape == np.shape(args[0])
