"""ce_lib.softmax: logsumexp, softmax and log_softmax against torch.

The book's page "PyTorch's loss semantics" (semantics.md), section 1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from strategies import logsumexp_cases, softmax_cases
from tolerances import FLOAT16_SOFTMAX_ULPS, assert_close, magnitude, ulp_distance
from torch_reference import torch_value

import ce_lib

inf, nan = np.inf, np.nan


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=softmax_cases())
def test_softmax_and_log_softmax_match_torch_along_any_dim(name, case):
    x, dim = case
    mine = getattr(ce_lib, name)(x, dim)
    assert_close(mine, torch_value(name, x, dim), scale=magnitude(x), what=f"{name}(dim={dim})")


@given(case=logsumexp_cases())
def test_logsumexp_matches_torch_for_int_and_tuple_dims_with_keepdim(case):
    x, dim, keepdim = case
    mine = ce_lib.logsumexp(x, dim, keepdim=keepdim)
    want = torch_value("logsumexp", x, dim, keepdim=keepdim)
    assert_close(mine, want, scale=magnitude(x), what=f"logsumexp(dim={dim}, keepdim={keepdim})")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@given(case=softmax_cases(dtypes=(np.float16,), big=False))
def test_float16_is_computed_through_float32_and_returned_as_float16(name, case):
    x, dim = case
    mine = getattr(ce_lib, name)(x, dim)
    assert np.asarray(mine).dtype == np.float16
    assert_close(mine, torch_value(name, x, dim), scale=magnitude(x), what=f"float16 {name}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize(
    ("shape", "dim"), [((4, 3000), 1), ((3000, 4), 0), ((3, 7, 50), -1), ((3, 50, 7), 1)]
)
def test_float16_follows_torchs_float32_recipe_to_the_ulp(name, shape, dim):
    """Long rows make float16 arithmetic (instead of float32 then one rounding) visible."""
    x = (np.random.default_rng(4).normal(size=shape) * 3).astype(np.float16)
    mine = getattr(ce_lib, name)(x, dim)
    assert np.asarray(mine).dtype == np.float16
    assert ulp_distance(mine, torch_value(name, x, dim)) <= FLOAT16_SOFTMAX_ULPS


# The spec's table of special rows (one row along the reduced dim):
# row -> (values, log_softmax and softmax: "nan" or "finite", logsumexp)
SPECIAL_ROWS = {
    "all -inf": ([-inf, -inf, -inf], "nan", -inf),
    "+inf among finite": ([inf, 1.0, 2.0], "nan", inf),
    "+inf and -inf": ([inf, -inf, 0.0], "nan", inf),
    "two +inf": ([inf, inf, 0.0], "nan", inf),
    "NaN": ([nan, 1.0, 2.0], "nan", nan),
    "-inf among finite": ([1.0, 2.0, -inf], "finite", "finite"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", SPECIAL_ROWS, ids=str)
@pytest.mark.parametrize("dim", [1, 0])
def test_special_value_rows_follow_the_spec_table(row, dtype, dim):
    values, kind, lse_value = SPECIAL_ROWS[row]
    finite_row = [0.5, -1.5, 3.0]
    x = np.array([values, finite_row], dtype=dtype)  # the special row next to an ordinary one
    if dim == 0:
        x = np.ascontiguousarray(x.T)
    for name in ("log_softmax", "softmax", "logsumexp"):
        mine = getattr(ce_lib, name)(x, dim)
        assert_close(mine, torch_value(name, x, dim), what=f"{name} of {row} along dim {dim}")
    lsm = np.moveaxis(np.asarray(ce_lib.log_softmax(x, dim)), dim, -1)[0]
    sm = np.moveaxis(np.asarray(ce_lib.softmax(x, dim)), dim, -1)[0]
    lse = np.asarray(ce_lib.logsumexp(x, dim))[0]
    if kind == "nan":
        assert np.isnan(lsm).all() and np.isnan(sm).all()
    else:  # -inf where the logit is -inf, normal elsewhere; softmax 0 there
        assert lsm[2] == -inf and np.isfinite(lsm[:2]).all()
        assert sm[2] == 0 and np.isclose(sm.sum(), 1)
    if lse_value == "finite":
        assert np.isfinite(lse)
    elif np.isnan(lse_value):
        assert np.isnan(lse)
    else:
        assert lse == lse_value
    # the ordinary row is unaffected
    other = np.moveaxis(np.asarray(ce_lib.softmax(x, dim)), dim, -1)[1]
    assert np.isfinite(other).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_dim_gives_empty_softmax_and_minus_inf_logsumexp(dtype):
    x = np.zeros((2, 0), dtype=dtype)
    for name in ("softmax", "log_softmax"):
        mine = getattr(ce_lib, name)(x, 1)
        assert np.asarray(mine).shape == (2, 0)
        assert_close(mine, torch_value(name, x, 1), what=name)
    lse = ce_lib.logsumexp(x, 1)
    assert_close(lse, torch_value("logsumexp", x, 1), what="logsumexp")
    assert (np.asarray(lse) == -inf).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_logits_neither_overflow_nor_lose_small_probabilities(dtype):
    x = np.array([[1000.0, 1000.5, -1000.0], [-1e4, 1e4, 9999.0]], dtype=dtype)
    for name in ("softmax", "log_softmax", "logsumexp"):
        mine = getattr(ce_lib, name)(x, -1)
        assert np.isfinite(np.asarray(mine)).all(), name
        assert_close(mine, torch_value(name, x, -1), scale=magnitude(x), what=name)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    ("src", "dst"), [(np.float32, np.float64), (np.float64, np.float32), (np.float16, np.float64)]
)
def test_dtype_argument_casts_the_input_first(name, src, dst):
    x = np.random.default_rng(3).normal(scale=4, size=(3, 5)).astype(src)
    mine = getattr(ce_lib, name)(x, 1, dtype=dst)
    assert np.asarray(mine).dtype == dst
    assert_close(mine, torch_value(name, x, 1, dtype=dst), what=f"{name} dtype={dst.__name__}")
    # same as casting first, then computing
    assert_close(mine, torch_value(name, x.astype(dst), 1), what=f"{name} of cast input")


def test_logsumexp_promotes_integer_input_to_float32():
    x = np.array([[1, 2, 3], [4, 5, -6]], dtype=np.int64)
    mine = ce_lib.logsumexp(x, 1)
    assert np.asarray(mine).dtype == np.float32
    assert_close(mine, torch.logsumexp(torch.from_numpy(x), 1).numpy(), what="integer logsumexp")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=softmax_cases(specials=False, big=False))
def test_softmax_is_shift_invariant(name, case):
    x, dim = case
    shifted = x + x.dtype.type(3.25)
    mine, mine_shifted = getattr(ce_lib, name)(x, dim), getattr(ce_lib, name)(shifted, dim)
    assert_close(mine_shifted, np.asarray(mine), scale=magnitude(x), what=f"{name}(x + 3.25)")
