"""ce_lib.losses: binary_cross_entropy and binary_cross_entropy_with_logits against torch.

The book's page "PyTorch's loss semantics" (semantics.md), sections 5 and 6.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import bce_cases, bce_with_logits_cases
from tolerances import assert_close, magnitude
from torch_reference import torch_value

import ce_lib

inf = np.inf


def rng(seed):
    return np.random.default_rng(seed)


def _scale(case):
    scale = (
        magnitude(case.input)
        * magnitude(case.kwargs.get("weight"))
        * magnitude(case.kwargs.get("pos_weight"))
    )
    return scale * max(1, case.input.size) if case.reduction == "sum" else scale


def check_against_torch(name, case):
    mine = getattr(ce_lib, name)(case.input, *case.args, **case.kwargs)
    want = torch_value(name, case.input, *case.args, **case.kwargs)
    assert_close(mine, want, scale=_scale(case), what=f"{name} {case.kwargs}")
    return mine


# --------------------------------------------------------------------------
# property tests
# --------------------------------------------------------------------------
@given(case=bce_cases())
def test_binary_cross_entropy_matches_torch(case):
    """Inputs and targets in [0, 1] with exact 0 and 1, weights broadcast to the input."""
    check_against_torch("binary_cross_entropy", case)


@given(case=bce_with_logits_cases())
def test_binary_cross_entropy_with_logits_matches_torch(case):
    """Logits up to +-1e4 and +-inf, weight and pos_weight broadcast ((C,), (N, 1), ...)."""
    check_against_torch("binary_cross_entropy_with_logits", case)


@given(case=bce_cases(dtypes=(np.float16,)))
def test_float16_binary_cross_entropy_returns_float16_close_to_torch(case):
    assert np.asarray(check_against_torch("binary_cross_entropy", case)).dtype == np.float16


@given(case=bce_with_logits_cases(dtypes=(np.float16,), big=False, infinite=False))
def test_float16_binary_cross_entropy_with_logits_returns_float16_close_to_torch(case):
    assert (
        np.asarray(check_against_torch("binary_cross_entropy_with_logits", case)).dtype
        == np.float16
    )


# --------------------------------------------------------------------------
# binary_cross_entropy (section 5)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("y", [0.0, 0.25, 0.5, 1.0])
def test_bce_clamps_each_log_at_minus_100_before_multiplying(y):
    x = np.array([0.0, 1e-50, 1e-17, 0.3, 1 - 1e-16, 1.0])
    target = np.full_like(x, y)
    mine = ce_lib.binary_cross_entropy(x, target, reduction="none")
    assert_close(
        mine, torch_value("binary_cross_entropy", x, target, reduction="none"), what=f"y={y}"
    )
    assert np.isfinite(np.asarray(mine)).all()  # no inf or NaN from log(0), even at x = 0 or 1


def test_bce_at_exact_zero_and_one_gives_the_clamped_values():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    y = np.array([0.5, 0.5, 0.0, 1.0, 1.0])
    mine = np.asarray(ce_lib.binary_cross_entropy(x, y, reduction="none"))
    want = torch_value("binary_cross_entropy", x, y, reduction="none")
    assert_close(mine, want)
    assert mine[0] == 50 and mine[1] == 50  # 0.5 * 100: the clamp comes before the product
    assert mine[2] == 0 and mine[3] == 0 and mine[4] == 100
    assert np.signbit(mine[3]) == np.signbit(want[3])  # x = 1, y = 1 gives -0.0 in torch


def test_bce_clamp_reaches_subnormal_float32_inputs():
    x, y = np.array([1e-44], dtype=np.float32), np.array([1.0], dtype=np.float32)
    mine = ce_lib.binary_cross_entropy(x, y)
    assert mine == 100
    assert_close(mine, torch_value("binary_cross_entropy", x, y))


def test_bce_uses_log1p_for_the_negative_term():
    x, y = np.array([1e-17]), np.array([0.0])
    mine = ce_lib.binary_cross_entropy(x, y, reduction="none")
    assert np.asarray(mine)[0] == 1e-17  # -log(1 - 1e-17) would be 0
    assert_close(mine, torch_value("binary_cross_entropy", x, y, reduction="none"))


@pytest.mark.parametrize("weight_shape", [None, (3,), (4, 1), (4, 3), (1, 3)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_weight_broadcasts_to_the_input_and_mean_divides_by_numel(weight_shape, reduction):
    r = rng(1)
    x, y = r.random((4, 3)), r.random((4, 3))
    w = None if weight_shape is None else r.random(weight_shape) + 0.1
    mine = ce_lib.binary_cross_entropy(x, y, weight=w, reduction=reduction)
    assert_close(mine, torch_value("binary_cross_entropy", x, y, weight=w, reduction=reduction))
    if reduction == "mean":
        total = ce_lib.binary_cross_entropy(x, y, weight=w, reduction="sum")
        assert mine == pytest.approx(total / x.size, rel=1e-12)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_empty_input_gives_nan_mean_and_zero_sum(name):
    x = np.zeros((0, 3))
    assert np.isnan(getattr(ce_lib, name)(x, x))
    for reduction in ("none", "sum", "mean"):
        assert_close(
            getattr(ce_lib, name)(x, x, reduction=reduction),
            torch_value(name, x, x, reduction=reduction),
            what=reduction,
        )
    assert getattr(ce_lib, name)(x, x, reduction="sum") == 0


# --------------------------------------------------------------------------
# binary_cross_entropy_with_logits (section 6)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("y", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_at_extreme_logits_matches_torch(y, pos_weight):
    x = np.array([-inf, -1e4, -50.0, 0.0, 50.0, 1e4, inf])
    target = np.full_like(x, y)
    pw = None if pos_weight is None else np.array([pos_weight])
    mine = ce_lib.binary_cross_entropy_with_logits(x, target, pos_weight=pw, reduction="none")
    want = torch_value(
        "binary_cross_entropy_with_logits", x, target, pos_weight=pw, reduction="none"
    )
    assert_close(mine, want, scale=1e4)
    assert np.isfinite(np.asarray(mine)[1:-1]).all()  # finite logits give finite losses


def test_bce_with_logits_stays_finite_and_exact_at_plus_minus_1e4():
    x = np.array([-1e4, -1e4, 1e4, 1e4])
    y = np.array([1.0, 1.0, 0.0, 1.0])
    pw = np.array([1.0, 3.0, 1.0, 1.0])
    mine = np.asarray(
        ce_lib.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none")
    )
    assert_close(
        mine, torch_value("binary_cross_entropy_with_logits", x, y, pos_weight=pw, reduction="none")
    )
    assert mine.tolist() == [1e4, 3e4, 1e4, 0.0]


def test_bce_with_logits_infinite_logits_give_nan_or_inf_like_torch():
    x, y = np.array([-inf, -inf, inf, inf]), np.array([0.0, 1.0, 0.0, 1.0])
    mine = np.asarray(ce_lib.binary_cross_entropy_with_logits(x, y, reduction="none"))
    assert_close(mine, torch_value("binary_cross_entropy_with_logits", x, y, reduction="none"))
    assert np.isnan(mine[0]) and np.isnan(mine[1]) and mine[2] == inf and np.isnan(mine[3])


def test_bce_with_logits_does_not_range_check_targets():
    x, y = np.array([0.3, 0.3, -1.2]), np.array([2.0, -1.0, 1.5])
    for reduction in ("none", "mean"):
        assert_close(
            ce_lib.binary_cross_entropy_with_logits(x, y, reduction=reduction),
            torch_value("binary_cross_entropy_with_logits", x, y, reduction=reduction),
        )


@pytest.mark.parametrize("pw_shape", [(3,), (4, 1), (1,), (1, 3), (4, 3)], ids=str)
def test_pos_weight_broadcasts_like_numpy_along_the_last_dim(pw_shape):
    r = rng(2)
    x, y = r.normal(scale=3, size=(4, 3)), (r.random((4, 3)) > 0.5).astype(np.float64)
    pw = r.random(pw_shape) * 4
    w = r.random(3)
    for reduction in ("none", "sum", "mean"):
        mine = ce_lib.binary_cross_entropy_with_logits(
            x, y, weight=w, pos_weight=pw, reduction=reduction
        )
        assert_close(
            mine,
            torch_value(
                "binary_cross_entropy_with_logits",
                x,
                y,
                weight=w,
                pos_weight=pw,
                reduction=reduction,
            ),
            what=reduction,
        )


def test_pos_weight_multiplies_only_the_positive_term():
    x = rng(3).normal(size=(5, 2))
    y = np.array([[1.0, 0.0]] * 5)
    pw = np.array([3.0, 3.0])
    mine = np.asarray(
        ce_lib.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none")
    )
    plain = np.asarray(ce_lib.binary_cross_entropy_with_logits(x, y, reduction="none"))
    np.testing.assert_allclose(mine[:, 0], 3 * plain[:, 0], rtol=1e-12)
    np.testing.assert_allclose(mine[:, 1], plain[:, 1], rtol=1e-12)


@pytest.mark.parametrize(
    ("x_dtype", "y_dtype"), [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_bce_with_logits_result_takes_the_target_dtype(x_dtype, y_dtype):
    r = rng(4)
    x, y = r.normal(size=(2, 3)).astype(x_dtype), r.random((2, 3)).astype(y_dtype)
    for reduction in ("none", "mean"):
        mine = ce_lib.binary_cross_entropy_with_logits(x, y, reduction=reduction)
        assert np.asarray(mine).dtype == y_dtype
        assert_close(
            mine,
            torch_value("binary_cross_entropy_with_logits", x, y, reduction=reduction),
            dtype=np.float32,
        )


def test_bce_with_logits_is_stable_where_sigmoid_then_bce_is_clamped():
    """Course claim 2: BCELoss clamps, the logits version needs no clamp."""
    x, y = np.array([-200.0, 200.0]), np.array([1.0, 0.0])
    probs = 1 / (1 + np.exp(-x))  # sigmoid: 1.4e-87 and exactly 1.0
    logits_loss = ce_lib.binary_cross_entropy_with_logits(x, y, reduction="none")
    prob_loss = ce_lib.binary_cross_entropy(probs, y, reduction="none")
    assert_close(
        logits_loss, torch_value("binary_cross_entropy_with_logits", x, y, reduction="none")
    )
    assert_close(prob_loss, torch_value("binary_cross_entropy", probs, y, reduction="none"))
    assert (
        np.asarray(prob_loss) < np.asarray(logits_loss)
    ).all()  # clamped at 100, the truth is ~200


def test_two_class_softmax_cross_entropy_equals_bce_on_the_logit_difference():
    r = rng(5)
    z, t = r.normal(scale=3, size=(6, 2)), r.integers(0, 2, size=6)
    ce = ce_lib.cross_entropy(z, t, reduction="none")
    bce = ce_lib.binary_cross_entropy_with_logits(
        z[:, 1] - z[:, 0], t.astype(np.float64), reduction="none"
    )
    np.testing.assert_allclose(np.asarray(ce), np.asarray(bce), rtol=1e-12, atol=1e-12)
