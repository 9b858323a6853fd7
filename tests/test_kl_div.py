"""ce_lib.losses: kl_div against torch (semantics.md, "PyTorch's loss semantics", section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import kl_div_cases
from tolerances import assert_close, magnitude
from torch_reference import torch_value

import ce_lib

inf, nan = np.inf, np.nan

pytestmark = pytest.mark.filterwarnings("ignore:reduction='mean' divides:UserWarning")


def rng(seed):
    return np.random.default_rng(seed)


def log_probs_and_probs(seed, shape=(3, 5)):
    r = rng(seed)
    return (
        np.asarray(ce_lib.log_softmax(r.normal(size=shape), -1)),
        np.asarray(ce_lib.softmax(r.normal(size=shape), -1)),
    )


def _scale(case):
    """Terms are at most |x| + 1 in size; a sum of n of them can cancel to about eps * n * |x|."""
    scale, n = magnitude(case.input, *case.args), max(1, case.input.size)
    batch = case.input.shape[0] if case.input.ndim else 1
    return scale * {"none": 1, "mean": 1, "sum": n, "batchmean": n / max(1, batch)}[case.reduction]


@given(case=kl_div_cases())
def test_kl_div_matches_torch_for_every_reduction_and_log_target(case):
    mine = ce_lib.kl_div(case.input, *case.args, **case.kwargs)
    want = torch_value("kl_div", case.input, *case.args, **case.kwargs)
    assert_close(mine, want, scale=_scale(case), what=str(case.kwargs))


@given(case=kl_div_cases(dtypes=(np.float16,)))
def test_float16_kl_div_returns_float16_close_to_torch(case):
    mine = ce_lib.kl_div(case.input, *case.args, **case.kwargs)
    assert np.asarray(mine).dtype == np.float16
    assert_close(
        mine, torch_value("kl_div", case.input, *case.args, **case.kwargs), scale=_scale(case)
    )


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("log_target", [False, True])
def test_batchmean_divides_the_sum_by_the_batch_size(shape, log_target):
    x, y = log_probs_and_probs(1, shape)
    if log_target:
        y = np.log(y)
    total = ce_lib.kl_div(x, y, reduction="sum", log_target=log_target)
    batchmean = ce_lib.kl_div(x, y, reduction="batchmean", log_target=log_target)
    assert batchmean == pytest.approx(total / shape[0], rel=1e-12)
    assert_close(
        batchmean, torch_value("kl_div", x, y, reduction="batchmean", log_target=log_target)
    )


def test_batchmean_of_a_0d_input_is_the_sum():
    x, y = np.float64(-1.0), np.float64(0.5)
    mine = ce_lib.kl_div(np.asarray(x), np.asarray(y), reduction="batchmean")
    assert_close(mine, torch_value("kl_div", np.asarray(x), np.asarray(y), reduction="batchmean"))
    assert mine == pytest.approx(0.5 * np.log(0.5) + 0.5, rel=1e-12)


def test_mean_warns_and_divides_by_numel_not_by_the_batch():
    x, y = log_probs_and_probs(2)
    with pytest.warns(UserWarning, match="batchmean"):
        mean = ce_lib.kl_div(x, y, reduction="mean")
    assert mean == pytest.approx(ce_lib.kl_div(x, y, reduction="sum") / x.size, rel=1e-12)
    assert_close(mean, torch_value("kl_div", x, y, reduction="mean"))


def test_batchmean_of_log_softmax_is_the_kl_divergence_per_example():
    x, y = log_probs_and_probs(3)
    kl = np.asarray(ce_lib.information.kl_divergence(y, np.exp(x))).mean()
    assert ce_lib.kl_div(x, y, reduction="batchmean") == pytest.approx(kl, rel=1e-10)


def test_empty_input_batchmean_is_nan():
    x = np.zeros((0, 3))
    mine = ce_lib.kl_div(x, x, reduction="batchmean")
    assert np.isnan(mine)
    assert_close(mine, torch_value("kl_div", x, x, reduction="batchmean"))


def test_special_values_follow_torch():
    """y = 0 gives 0 for finite x, but y = 0 with x = -inf is NaN; y < 0 and y = NaN give NaN."""
    x = np.array([-1.0, -inf, -1.0, -1.0, -inf])
    y = np.array([0.0, 0.0, -0.5, nan, 0.3])
    mine = np.asarray(ce_lib.kl_div(x, y, reduction="none"))
    assert_close(mine, torch_value("kl_div", x, y, reduction="none"))
    assert mine[0] == 0 and np.isnan(mine[1:4]).all() and mine[4] == inf


def test_log_target_minus_inf_gives_nan_for_every_input():
    x, y = np.array([-1.0, -inf, -inf, -0.5]), np.array([-inf, -inf, 0.0, -0.2])
    mine = np.asarray(ce_lib.kl_div(x, y, reduction="none", log_target=True))
    assert_close(mine, torch_value("kl_div", x, y, reduction="none", log_target=True))
    assert np.isnan(mine[:2]).all() and mine[2] == inf and np.isfinite(mine[3])


@pytest.mark.parametrize(("x_shape", "y_shape"), [((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 4))])
def test_input_and_target_broadcast_against_each_other(x_shape, y_shape):
    r = rng(4)
    x, y = np.log(r.random(x_shape)), r.random(y_shape)
    for reduction in ("none", "sum", "batchmean"):
        assert_close(
            ce_lib.kl_div(x, y, reduction=reduction),
            torch_value("kl_div", x, y, reduction=reduction),
            what=reduction,
        )


@pytest.mark.parametrize(
    ("x_dtype", "y_dtype"), [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_mixed_float_dtypes_are_promoted(x_dtype, y_dtype):
    x, y = log_probs_and_probs(5)
    mine = ce_lib.kl_div(x.astype(x_dtype), y.astype(y_dtype), reduction="sum")
    assert np.asarray(mine).dtype == np.float64
    assert_close(
        mine,
        torch_value("kl_div", x.astype(x_dtype), y.astype(y_dtype), reduction="sum"),
        dtype=np.float32,
    )
