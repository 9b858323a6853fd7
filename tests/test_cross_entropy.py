"""ce_lib.losses: nll_loss and cross_entropy (class indices and probabilities) against torch.

The book's page "PyTorch's loss semantics" (semantics.md), sections 2-4. Property tests draw
every layout, N = 0, weights, ignore_index, label smoothing and reductions; the named tests pin
one statement of the spec each.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from strategies import class_target_cases, probability_target_cases
from tolerances import assert_close, magnitude
from torch_reference import torch_value

import ce_lib

inf = np.inf


def rng(seed):
    return np.random.default_rng(seed)


def _scale(case):
    scale = magnitude(case.input) * magnitude(case.kwargs.get("weight"))
    return scale * max(1, case.input.size) if case.reduction == "sum" else scale


def check_against_torch(name, case):
    mine = getattr(ce_lib, name)(case.input, *case.args, **case.kwargs)
    want = torch_value(name, case.input, *case.args, **case.kwargs)
    assert_close(mine, want, scale=_scale(case), what=f"{name} {case.kwargs}")
    return mine, want


def logits_and_targets(seed, n=6, n_classes=4, spatial=()):
    r = rng(seed)
    x = r.normal(scale=2.0, size=(n, n_classes) + spatial)
    t = r.integers(0, n_classes, size=(n,) + spatial)
    return x, t


# --------------------------------------------------------------------------
# property tests
# --------------------------------------------------------------------------
@given(case=class_target_cases(smoothing=False, log_probs=True))
def test_nll_loss_matches_torch(case):
    check_against_torch("nll_loss", case)


@given(case=class_target_cases())
def test_cross_entropy_with_class_targets_matches_torch(case):
    check_against_torch("cross_entropy", case)


@given(case=probability_target_cases())
def test_cross_entropy_with_probability_targets_matches_torch(case):
    check_against_torch("cross_entropy", case)


@given(case=class_target_cases(dtypes=(np.float16,), big=False, masked=False))
def test_float16_cross_entropy_with_class_targets_returns_float16_close_to_torch(case):
    mine, _ = check_against_torch("cross_entropy", case)
    assert np.asarray(mine).dtype == np.float16


@given(
    case=class_target_cases(
        dtypes=(np.float16,), big=False, masked=False, smoothing=False, log_probs=True
    )
)
def test_float16_nll_loss_returns_float16_close_to_torch(case):
    check_against_torch("nll_loss", case)


@given(case=probability_target_cases(dtypes=(np.float16,), big=False, masked=False))
def test_float16_cross_entropy_with_probability_targets_returns_float16_close_to_torch(case):
    check_against_torch("cross_entropy", case)


# --------------------------------------------------------------------------
# nll_loss and cross_entropy with class indices (sections 2 and 3)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("spatial", [(), (3,), (2, 3)])
def test_cross_entropy_is_nll_loss_of_log_softmax_along_the_class_axis(spatial):
    x, t = logits_and_targets(0, spatial=spatial)
    for reduction in ("none", "sum", "mean"):
        ce = ce_lib.cross_entropy(x, t, reduction=reduction)
        nll = ce_lib.nll_loss(ce_lib.log_softmax(x, 1), t, reduction=reduction)
        assert_close(ce, np.asarray(nll), what=f"ce vs nll {reduction}")
        assert_close(
            ce, torch_value("cross_entropy", x, t, reduction=reduction), what="ce vs torch"
        )


@pytest.mark.parametrize("spatial", [(), (2, 3)])
def test_weighted_mean_divides_by_target_weights(spatial):
    x, t = logits_and_targets(1, n=5, spatial=spatial)
    w = np.array([0.2, 1.0, 2.5, 0.7])
    total = ce_lib.cross_entropy(x, t, weight=w, reduction="sum")
    mean = ce_lib.cross_entropy(x, t, weight=w)
    assert_close(mean, np.asarray(total / w[t].sum()), what="sum / sum of target weights")
    assert not np.isclose(mean, total / t.size), "a weighted mean is not sum / N"
    assert_close(mean, torch_value("cross_entropy", x, t, weight=w), what="torch")


def test_unweighted_mean_divides_by_the_number_of_non_ignored_positions():
    x, t = logits_and_targets(2, n=8)
    t[[1, 4, 5]] = -100
    mean = ce_lib.cross_entropy(x, t)
    total = ce_lib.cross_entropy(x, t, reduction="sum")
    assert_close(mean, np.asarray(total / 5), what="sum / 5 valid positions")
    assert_close(mean, torch_value("cross_entropy", x, t), what="torch")


@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_ignored_positions_leave_both_numerator_and_denominator(use_weight, label_smoothing):
    x, t = logits_and_targets(3, n=7)
    w = np.array([0.5, 2.0, 1.0, 3.0]) if use_weight else None
    kept = np.array([0, 2, 3, 6])
    t_ignored = t.copy()
    t_ignored[[1, 4, 5]] = -100
    kw = {"weight": w, "label_smoothing": label_smoothing}
    for reduction in ("mean", "sum"):
        with_ignored = ce_lib.cross_entropy(x, t_ignored, reduction=reduction, **kw)
        only_kept = ce_lib.cross_entropy(x[kept], t[kept], reduction=reduction, **kw)
        assert_close(with_ignored, np.asarray(only_kept), what=f"{reduction}: ignored == dropped")
        assert_close(
            with_ignored,
            torch_value("cross_entropy", x, t_ignored, reduction=reduction, **kw),
            what="torch",
        )
    none = ce_lib.cross_entropy(x, t_ignored, reduction="none", **kw)
    assert (np.asarray(none)[[1, 4, 5]] == 0).all()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_ignore_index_equal_to_a_real_class_never_counts(label_smoothing):
    x, t = logits_and_targets(4, n=9)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    kw = {"weight": w, "ignore_index": 2, "label_smoothing": label_smoothing}
    mine = ce_lib.cross_entropy(x, t, **kw)
    kept = t != 2
    assert kept.sum() < t.size
    assert_close(
        mine,
        np.asarray(
            ce_lib.cross_entropy(x[kept], t[kept], weight=w, label_smoothing=label_smoothing)
        ),
        what="class 2 ignored",
    )
    assert_close(mine, torch_value("cross_entropy", x, t, **kw), what="torch")


def test_ignore_index_outside_the_class_range_is_accepted():
    x, t = logits_and_targets(5, n=3)
    t[2] = 7
    logp = ce_lib.log_softmax(x, 1)
    mine = ce_lib.nll_loss(logp, t, ignore_index=7, reduction="none")
    assert_close(
        mine, torch_value("nll_loss", np.asarray(logp), t, ignore_index=7, reduction="none")
    )
    assert np.asarray(mine)[2] == 0


@pytest.mark.parametrize(
    ("name", "label_smoothing"), [("nll_loss", 0.0), ("cross_entropy", 0.0), ("cross_entropy", 0.2)]
)
@pytest.mark.parametrize("use_weight", [False, True])
def test_all_targets_ignored_gives_nan_mean_zero_sum_and_zero_losses(
    name, use_weight, label_smoothing
):
    x = rng(6).normal(size=(3, 4))
    t = np.full(3, -100)
    kw = {"weight": np.array([0.5, 1.0, 2.0, 3.0]) if use_weight else None}
    if label_smoothing:
        kw["label_smoothing"] = label_smoothing
    fn = getattr(ce_lib, name)
    for reduction in ("none", "sum", "mean"):
        assert_close(
            fn(x, t, reduction=reduction, **kw),
            torch_value(name, x, t, reduction=reduction, **kw),
            what=reduction,
        )
    assert np.isnan(fn(x, t, **kw))
    assert fn(x, t, reduction="sum", **kw) == 0
    assert (np.asarray(fn(x, t, reduction="none", **kw)) == 0).all()


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 2), (0, 3, 2, 2)])
def test_empty_batch_gives_nan_mean_zero_sum_and_empty_losses(name, shape):
    x = np.zeros(shape)
    t = np.zeros((0,) + shape[2:], dtype=np.int64)
    for reduction in ("none", "sum", "mean"):
        assert_close(
            getattr(ce_lib, name)(x, t, reduction=reduction),
            torch_value(name, x, t, reduction=reduction),
            what=reduction,
        )
    assert np.isnan(getattr(ce_lib, name)(x, t))
    assert np.asarray(getattr(ce_lib, name)(x, t, reduction="none")).shape == (0,) + shape[2:]


def test_zero_weights_give_nan_mean_and_signed_weights_divide_plainly():
    x = rng(7).normal(size=(3, 4))
    t = np.array([0, 1, 2])
    zeros = np.zeros(4)
    assert np.isnan(ce_lib.nll_loss(x, t, weight=zeros))
    assert_close(ce_lib.nll_loss(x, t, weight=zeros), torch_value("nll_loss", x, t, weight=zeros))
    logp, t2, w = np.array([[-1.0, -2.0], [-3.0, -4.0]]), np.array([0, 1]), np.array([1.0, -1.0])
    mine = ce_lib.nll_loss(logp, t2, weight=w)
    assert_close(mine, torch_value("nll_loss", logp, t2, weight=w), what="weights summing to 0")
    assert mine == -inf


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_zero_weights_on_every_target_give_nan_mean_with_or_without_smoothing(label_smoothing):
    """torch adds the smoothing term's mean to the nll term's mean, 0/0 = NaN: the sum is NaN,
    although the smoothing numerator alone is positive."""
    x, t, w = rng(27).normal(size=(2, 3)), np.array([0, 1]), np.array([0.0, 0.0, 1.0])
    mine = ce_lib.cross_entropy(x, t, weight=w, label_smoothing=label_smoothing)
    assert_close(
        mine, torch_value("cross_entropy", x, t, weight=w, label_smoothing=label_smoothing)
    )
    assert np.isnan(mine)


def test_negative_weights_are_accepted():
    x, t = logits_and_targets(8, n=6)
    w = np.array([1.0, -0.5, 2.0, -1.5])
    for reduction in ("none", "sum", "mean"):
        assert_close(
            ce_lib.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.1),
            torch_value("cross_entropy", x, t, weight=w, reduction=reduction, label_smoothing=0.1),
        )


@pytest.mark.parametrize(
    "target",
    [np.array(2), np.array([2]), np.array(2, dtype=np.uint8)],
    ids=["0-d", "(1,)", "uint8"],
)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_one_dimensional_input_gives_a_0d_result_for_every_reduction(target, reduction):
    x = rng(9).normal(size=4)
    for name in ("nll_loss", "cross_entropy"):
        mine = getattr(ce_lib, name)(x, target, reduction=reduction)
        assert np.asarray(mine).shape == ()
        assert_close(mine, torch_value(name, x, target, reduction=reduction), what=name)


@pytest.mark.parametrize("n_dims", [1, 2])
def test_uint8_targets_are_accepted_for_1d_and_2d_input(n_dims):
    x, t = logits_and_targets(10, n=5)
    if n_dims == 1:
        x, t = x[0], t[0]
    t8 = np.asarray(t, dtype=np.uint8)
    for name in ("nll_loss", "cross_entropy"):
        assert_close(getattr(ce_lib, name)(x, t8), torch_value(name, x, t8), what=name)
        assert_close(
            getattr(ce_lib, name)(x, t8), np.asarray(getattr(ce_lib, name)(x, t)), what="as int64"
        )


def test_zero_weight_on_a_positive_input_gives_negative_zero_like_torch():
    x, t, w = np.array([[1.0, -1.0]]), np.array([0]), np.array([0.0, 1.0])
    mine = np.asarray(ce_lib.nll_loss(x, t, weight=w, reduction="none"))
    want = torch_value("nll_loss", x, t, weight=w, reduction="none")
    assert mine[0] == 0 and np.signbit(mine[0]) == np.signbit(want[0])


# --------------------------------------------------------------------------
# label smoothing (section 3)
# --------------------------------------------------------------------------
def test_label_smoothing_weights_the_smoothing_term_by_each_class_weight():
    x, t = logits_and_targets(11, n=5)
    w = np.array([0.2, 1.0, 2.5, 0.7])
    eps, n_classes = 0.3, 4
    logp = np.asarray(ce_lib.log_softmax(x, 1))
    nll = -w[t] * logp[np.arange(5), t]
    smooth = -(w * logp).sum(1)
    for reduction, expected in (
        ("none", (1 - eps) * nll + eps / n_classes * smooth),
        ("sum", ((1 - eps) * nll + eps / n_classes * smooth).sum()),
        ("mean", ((1 - eps) * nll + eps / n_classes * smooth).sum() / w[t].sum()),
    ):
        mine = ce_lib.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=eps)
        assert_close(mine, np.asarray(expected), what=f"formula {reduction}")
        assert_close(
            mine,
            torch_value("cross_entropy", x, t, weight=w, reduction=reduction, label_smoothing=eps),
            what=f"torch {reduction}",
        )


@pytest.mark.parametrize("use_weight", [False, True])
def test_label_smoothing_spreads_epsilon_over_all_classes(use_weight):
    """Index targets with smoothing = probability targets 1 - eps + eps/C on the true class and
    eps/C on every other class (same numerator; 'mean' divides by the target weights, not N)."""
    x, t = logits_and_targets(12, n=5)
    w = np.array([0.2, 1.0, 2.5, 0.7]) if use_weight else None
    eps, n_classes = 0.3, 4
    q = np.full((5, n_classes), eps / n_classes)
    q[np.arange(5), t] = 1 - eps + eps / n_classes
    for reduction in ("none", "sum"):
        by_index = ce_lib.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=eps)
        by_probs = ce_lib.cross_entropy(x, q, weight=w, reduction=reduction)
        assert_close(by_index, np.asarray(by_probs), what=reduction)
    denominator = w[t].sum() if use_weight else 5
    by_index = ce_lib.cross_entropy(x, t, weight=w, label_smoothing=eps)
    assert_close(
        by_index, np.asarray(ce_lib.cross_entropy(x, q, weight=w, reduction="sum") / denominator)
    )


@pytest.mark.parametrize("targets", ["index", "probability"])
def test_negative_label_smoothing_is_silently_treated_as_zero(targets):
    x, t = logits_and_targets(13)
    if targets == "probability":
        t = np.asarray(ce_lib.softmax(rng(14).normal(size=x.shape), 1))
    mine = ce_lib.cross_entropy(x, t, label_smoothing=-0.3)
    assert mine == ce_lib.cross_entropy(x, t)
    assert_close(mine, torch_value("cross_entropy", x, t, label_smoothing=-0.3))


def test_label_smoothing_of_exactly_one_is_allowed():
    x, t = logits_and_targets(15)
    w = np.array([0.2, 1.0, 2.5, 0.7])
    for reduction in ("none", "mean"):
        assert_close(
            ce_lib.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=1.0),
            torch_value("cross_entropy", x, t, weight=w, reduction=reduction, label_smoothing=1.0),
        )


def test_masked_class_is_harmless_without_smoothing_and_infinite_with_it():
    x, t = np.array([[-inf, 0.0, 1.0], [0.5, -inf, 2.0]]), np.array([1, 2])
    plain = ce_lib.cross_entropy(x, t)
    assert np.isfinite(plain)
    assert_close(plain, torch_value("cross_entropy", x, t))
    smoothed = ce_lib.cross_entropy(x, t, reduction="none", label_smoothing=0.1)
    assert (np.asarray(smoothed) == inf).all()
    assert_close(
        smoothed, torch_value("cross_entropy", x, t, reduction="none", label_smoothing=0.1)
    )


# --------------------------------------------------------------------------
# probability targets (section 4)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2), (2, 5, 2, 3)])
def test_probability_target_mean_divides_by_positions_never_by_weights(shape):
    x = rng(16).normal(size=shape)
    axis = 0 if len(shape) == 1 else 1
    y = np.asarray(ce_lib.softmax(rng(17).normal(size=shape), axis))
    w = rng(18).random(5) + 0.5
    positions = x.size // 5
    total = ce_lib.cross_entropy(x, y, weight=w, reduction="sum")
    mean = ce_lib.cross_entropy(x, y, weight=w)
    assert_close(mean, np.asarray(total / positions), what="sum / (N d1 ... dk)")
    assert_close(mean, torch_value("cross_entropy", x, y, weight=w), what="torch")


@pytest.mark.parametrize("transform", ["times 3", "negated", "unnormalised"])
def test_probability_targets_are_used_as_given_without_validation(transform):
    x = rng(19).normal(size=(3, 4))
    p = np.asarray(ce_lib.softmax(rng(20).normal(size=(3, 4)), 1))
    y = {"times 3": 3 * p, "negated": -p, "unnormalised": rng(21).random((3, 4))}[transform]
    for reduction in ("none", "mean"):
        assert_close(
            ce_lib.cross_entropy(x, y, reduction=reduction),
            torch_value("cross_entropy", x, y, reduction=reduction),
            what=transform,
        )
    if transform == "negated":
        assert ce_lib.cross_entropy(x, y) == pytest.approx(-ce_lib.cross_entropy(x, p), rel=1e-12)


@pytest.mark.parametrize("ignore_index", [-100, -1, -5])
def test_negative_ignore_index_has_no_effect_on_probability_targets(ignore_index):
    x = rng(22).normal(size=(3, 4))
    y = np.asarray(ce_lib.softmax(rng(23).normal(size=(3, 4)), 1))
    mine = ce_lib.cross_entropy(x, y, ignore_index=ignore_index)
    assert mine == ce_lib.cross_entropy(x, y)
    assert_close(mine, torch_value("cross_entropy", x, y, ignore_index=ignore_index))


@pytest.mark.parametrize(
    ("x_dtype", "y_dtype"), [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_probability_target_of_another_float_dtype_gives_the_promoted_dtype(x_dtype, y_dtype):
    x = rng(24).normal(size=(3, 4)).astype(x_dtype)
    y = np.asarray(ce_lib.softmax(rng(25).normal(size=(3, 4)), 1)).astype(y_dtype)
    for reduction in ("none", "mean"):
        mine = ce_lib.cross_entropy(x, y, reduction=reduction)
        assert np.asarray(mine).dtype == np.float64
        assert_close(
            mine, torch_value("cross_entropy", x, y, reduction=reduction), dtype=np.float32
        )


def test_empty_probability_targets_give_nan_mean_and_negative_zero_sum():
    x, y = np.zeros((0, 4)), np.zeros((0, 4))
    assert np.isnan(ce_lib.cross_entropy(x, y))
    assert_close(ce_lib.cross_entropy(x, y), torch_value("cross_entropy", x, y))
    total = ce_lib.cross_entropy(x, y, reduction="sum")
    want = torch_value("cross_entropy", x, y, reduction="sum")
    assert total == 0 and np.signbit(total) == np.signbit(want)


def test_masked_class_with_zero_target_probability_follows_torch():
    """0 * log_softmax(-inf) = 0 * -inf: torch does not special-case it."""
    x = np.array([[-inf, 0.0, 1.0], [0.5, 1.0, 2.0]])
    y = np.array([[0.0, 0.4, 0.6], [0.2, 0.3, 0.5]])
    for reduction in ("none", "sum", "mean"):
        assert_close(
            ce_lib.cross_entropy(x, y, reduction=reduction),
            torch_value("cross_entropy", x, y, reduction=reduction),
            what=reduction,
        )


# --------------------------------------------------------------------------
# reduction strings (section 0)
# --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:reduction='mean' divides")  # kl_div's 'mean' warning
@pytest.mark.parametrize(
    "name",
    [
        "nll_loss",
        "cross_entropy",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "kl_div",
    ],
)
def test_elementwise_mean_is_a_deprecated_alias_of_mean(name):
    r = rng(26)
    if name in ("nll_loss", "cross_entropy"):
        x, y = r.normal(size=(3, 4)), np.array([0, 3, 1])
    elif name == "kl_div":
        x, y = np.log(r.random((3, 4))), r.random((3, 4))
    else:
        x, y = r.random((3, 4)), r.random((3, 4))
    with pytest.warns(UserWarning, match="elementwise_mean"):
        mine = getattr(ce_lib, name)(x, y, reduction="elementwise_mean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert mine == getattr(ce_lib, name)(x, y, reduction="mean")
        want = torch_value(name, x, y, reduction="elementwise_mean")
    assert_close(mine, want)
