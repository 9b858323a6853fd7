"""The worked examples: the course brief's table (4 decimals) and the spec's E1-E5 (6 decimals).

The numbers below are PyTorch's own published outputs (torch's default dtype, float32); they are
the only hard-coded expected values in the suite. ce_lib is run in float32, as torch was, and
additionally in float64 where 4 decimals must hold too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ce_lib

E1_LOGITS = [
    [-0.6311, 0.4457, 0.5320, 0.5855, -0.2480],
    [0.5942, 0.2531, 0.7998, -0.4247, -0.2831],
    [1.5852, 1.9026, 0.7302, -2.0489, -0.5581],
]
E1_TARGET = [2, 4, 3]
E2_LOGITS, E2_TARGET = [[0.5, 0.3], [0.4, 0.8]], [0, 1]
E3_LOGITS, E3_TARGET = [[0.5, 0.3, 0.9], [0.4, 0.8, 0.1]], [0, 1]
E5_TARGET, E5_WEIGHT = [2, -100, 3], [0.1, 0.2, 0.3, 0.4, 0.5]
BCE_X = [[2.5, -2, 0.8989], [3, 0.8, -842], [1e-14, 2, 4.9]]
BCE_Y = [[1, 0, 1], [1, 0, 0], [0, 1, 0]]


def f32(values):
    return np.array(values, dtype=np.float32)


def e4_inputs():
    """The brief's seeded example, built with torch exactly as described."""
    torch.manual_seed(0)
    logits = torch.randn(2, 2)
    target = torch.randn(2, 2).softmax(dim=1)
    return logits, target


def assert_decimals(value, published, places):
    """value rounds to the published number: within half a unit of its last place (plus float32
    rounding of the value itself)."""
    eps = np.finfo(np.asarray(value).dtype).eps
    value = np.asarray(value, dtype=np.float64)
    slack = 0.5 * 10.0**-places + 4 * eps * np.abs(np.asarray(published))
    np.testing.assert_array_less(np.abs(value - np.asarray(published)), slack)


# --------------------------------------------------------------------------
# course brief (4 decimals)
# --------------------------------------------------------------------------
BRIEF = {
    "cross_entropy E1": (
        lambda dt: ce_lib.cross_entropy(np.array(E1_LOGITS, dt), np.array(E1_TARGET)),
        2.7411,
    ),
    "cross_entropy E2": (
        lambda dt: ce_lib.cross_entropy(np.array(E2_LOGITS, dt), np.array(E2_TARGET)),
        0.5556,
    ),
    "label smoothing 0.3": (
        lambda dt: ce_lib.cross_entropy(
            np.array(E3_LOGITS, dt), np.array(E3_TARGET), label_smoothing=0.3
        ),
        1.0302,
    ),
    "bce with logits": (
        lambda dt: ce_lib.binary_cross_entropy_with_logits(
            np.array(BCE_X, dt), np.array(BCE_Y, dt)
        ),
        0.8327,
    ),
    "multi-hot as probability targets": (
        lambda dt: ce_lib.cross_entropy(np.array(BCE_X, dt), np.array(BCE_Y, dt)),
        1.6842,
    ),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("example", BRIEF)
def test_course_brief_example_reproduces_pytorchs_value_to_4_decimals(example, dtype):
    compute, published = BRIEF[example]
    assert_decimals(compute(dtype), published, 4)


def test_course_brief_seeded_probability_target_example_gives_1_0322():
    logits, target = e4_inputs()  # torch tensors, passed to ce_lib as they are
    mine = ce_lib.cross_entropy(logits, target)
    assert np.asarray(mine).dtype == np.float32
    assert_decimals(mine, 1.0322, 4)


def test_multi_hot_labels_are_not_bce_under_cross_entropy():
    """Course claim 3: the same multi-hot labels give 1.6842 as probability targets, 0.8327 as
    BCE."""
    ce = ce_lib.cross_entropy(f32(BCE_X), f32(BCE_Y))
    bce = ce_lib.binary_cross_entropy_with_logits(f32(BCE_X), f32(BCE_Y))
    assert abs(float(ce) - float(bce)) > 0.8


# --------------------------------------------------------------------------
# the spec's E1-E5 (float32, 6 decimals)
# --------------------------------------------------------------------------
SPEC = {
    "E1 none": (
        lambda: ce_lib.cross_entropy(f32(E1_LOGITS), np.array(E1_TARGET), reduction="none"),
        [1.319940, 2.189987, 4.713363],
    ),
    "E1 mean": (lambda: ce_lib.cross_entropy(f32(E1_LOGITS), np.array(E1_TARGET)), 2.741097),
    "E1 sum": (
        lambda: ce_lib.cross_entropy(f32(E1_LOGITS), np.array(E1_TARGET), reduction="sum"),
        8.223290,
    ),
    "E1 label_smoothing=0.1": (
        lambda: ce_lib.cross_entropy(f32(E1_LOGITS), np.array(E1_TARGET), label_smoothing=0.1),
        2.659534,
    ),
    "E2 none": (
        lambda: ce_lib.cross_entropy(f32(E2_LOGITS), np.array(E2_TARGET), reduction="none"),
        [0.598139, 0.513015],
    ),
    "E2 mean": (lambda: ce_lib.cross_entropy(f32(E2_LOGITS), np.array(E2_TARGET)), 0.555577),
    "E3 none": (
        lambda: ce_lib.cross_entropy(
            f32(E3_LOGITS), np.array(E3_TARGET), reduction="none", label_smoothing=0.3
        ),
        [1.177116, 0.883300],
    ),
    "E3 mean": (
        lambda: ce_lib.cross_entropy(f32(E3_LOGITS), np.array(E3_TARGET), label_smoothing=0.3),
        1.030208,
    ),
    "E3 gradient": (
        lambda: ce_lib.cross_entropy_grad(f32(E3_LOGITS), np.array(E3_TARGET), label_smoothing=0.3),
        [[-0.248968, 0.073655, 0.175313], [0.104672, -0.169256, 0.064584]],
    ),
    "E4 none": (lambda: ce_lib.cross_entropy(*e4_inputs(), reduction="none"), [0.922515, 1.141818]),
    "E4 mean": (lambda: ce_lib.cross_entropy(*e4_inputs()), 1.032167),
}
for _reduction, _plain, _smooth in (
    ("none", [0.395982, 0.0, 1.885345], [0.416069, 0.0, 1.681764]),
    ("sum", 2.281327, 2.097833),
    ("mean", 3.259039, 2.996904),
):
    SPEC[f"E5 {_reduction}"] = (
        lambda r=_reduction: ce_lib.cross_entropy(
            f32(E1_LOGITS), np.array(E5_TARGET), weight=f32(E5_WEIGHT), reduction=r
        ),
        _plain,
    )
    SPEC[f"E5 {_reduction} label_smoothing=0.2"] = (
        lambda r=_reduction: ce_lib.cross_entropy(
            f32(E1_LOGITS),
            np.array(E5_TARGET),
            weight=f32(E5_WEIGHT),
            reduction=r,
            label_smoothing=0.2,
        ),
        _smooth,
    )


@pytest.mark.parametrize("example", SPEC)
def test_spec_example_reproduces_pytorchs_float32_value_to_6_decimals(example):
    compute, published = SPEC[example]
    mine = compute()
    assert np.asarray(mine).dtype == np.float32
    assert np.asarray(mine).shape == np.shape(published)
    assert_decimals(mine, published, 6)


def test_spec_e4_inputs_are_the_seeded_tensors():
    logits, target = e4_inputs()
    assert_decimals(logits.numpy(), [[1.540996, -0.293429], [-2.178789, 0.568431]], 6)
    assert_decimals(target.numpy(), [[0.577879, 0.422121], [0.393009, 0.606991]], 6)


def test_spec_e5_smoothing_term_of_row_0_is_2_482080():
    logp = np.asarray(ce_lib.log_softmax(f32(E1_LOGITS), 1))
    assert_decimals(-(logp[0] * f32(E5_WEIGHT)).sum(), 2.482080, 6)


def test_spec_e1_in_float64():
    x = np.array(E1_LOGITS)
    assert_decimals(
        ce_lib.cross_entropy(x, np.array(E1_TARGET), reduction="none"),
        [1.319940293, 2.189987045, 4.713362954],
        9,
    )
    assert_decimals(ce_lib.cross_entropy(x, np.array(E1_TARGET)), 2.741096764, 9)
