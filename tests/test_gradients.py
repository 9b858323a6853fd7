"""ce_lib.gradients: every `<name>_grad` against torch autograd.

The book's page "PyTorch's loss semantics" (semantics.md), section 8.

torch's side is what a user gets: `input.requires_grad_()`, `loss.backward(grad_output)`, with
grad_output random for reduction='none' (and for the softmax family) and a random scalar for
'mean'/'sum'.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    bce_cases,
    bce_with_logits_cases,
    class_target_cases,
    grad_outputs,
    kl_div_cases,
    logsumexp_cases,
    probability_target_cases,
    softmax_cases,
)
from tolerances import assert_close, magnitude
from torch_reference import torch_value_and_grad

import ce_lib

inf, nan = np.inf, np.nan

pytestmark = pytest.mark.filterwarnings("ignore:reduction='mean' divides:UserWarning")


def rng(seed):
    return np.random.default_rng(seed)


def check_grad(name, case, data, terms: int = 1):
    """ce_lib's <name>_grad equals autograd's input.grad for a drawn grad_output.

    The tolerance scales with the largest term that can cancel in one entry (|g| times the
    weights, e.g. g * (p * sum_c w_c q_c - w_j q_j)) or the largest entry, times the number of
    such terms (the classes of a softmax row). In float16 the cancellation is real: torch's
    gradient goes through the float16-rounded log_softmax, ce_lib's through float32."""
    _, want, g = torch_value_and_grad(
        name, case.input, *case.args, grad_output=grad_outputs(data, case.reduction), **case.kwargs
    )
    mine = getattr(ce_lib, f"{name}_grad")(case.input, *case.args, grad_output=g, **case.kwargs)
    weights = magnitude(case.kwargs.get("weight")) * magnitude(case.kwargs.get("pos_weight"))
    scale = max(magnitude(want), magnitude(g) * weights) * terms
    assert_close(mine, want, scale=scale, what=f"{name}_grad {case.kwargs}")
    return mine, want


def _n_classes(case):
    return case.input.shape[0] if case.input.ndim == 1 else case.input.shape[1]


# --------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=softmax_cases(), data=st.data())
def test_softmax_and_log_softmax_grads_match_autograd(name, case, data):
    x, dim = case
    _, want, g = torch_value_and_grad(name, x, dim, grad_output=grad_outputs(data, "none"))
    mine = getattr(ce_lib, f"{name}_grad")(x, dim, g)
    terms = x.shape[dim] if x.ndim else 1
    assert_close(mine, want, scale=magnitude(g) * terms, what=f"{name}_grad(dim={dim})")


@given(case=logsumexp_cases(), data=st.data())
def test_logsumexp_grad_matches_autograd_for_int_and_tuple_dims(case, data):
    x, dim, keepdim = case
    _, want, g = torch_value_and_grad(
        "logsumexp", x, dim, keepdim=keepdim, grad_output=grad_outputs(data, "none")
    )
    mine = ce_lib.logsumexp_grad(x, dim, keepdim=keepdim, grad_output=g)
    assert_close(
        mine, want, scale=magnitude(g), what=f"logsumexp_grad(dim={dim}, keepdim={keepdim})"
    )


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@given(case=softmax_cases(dtypes=(np.float16,), big=False, specials=False), data=st.data())
def test_float16_softmax_family_grads_return_float16_close_to_autograd(name, case, data):
    x, dim = case
    _, want, g = torch_value_and_grad(name, x, dim, grad_output=grad_outputs(data, "none"))
    grad_fn = getattr(ce_lib, f"{name}_grad")
    mine = grad_fn(x, dim, grad_output=g) if name == "logsumexp" else grad_fn(x, dim, g)
    assert np.asarray(mine).dtype == np.float16
    assert_close(mine, want, scale=magnitude(g) * (x.shape[dim] if x.ndim else 1), what=name)


# --------------------------------------------------------------------------
# losses: property tests
# --------------------------------------------------------------------------
@given(case=class_target_cases(smoothing=False, log_probs=True, for_grad=True), data=st.data())
def test_nll_loss_grad_matches_autograd(case, data):
    check_grad("nll_loss", case, data)


@given(case=class_target_cases(for_grad=True), data=st.data())
def test_cross_entropy_grad_with_class_targets_matches_autograd(case, data):
    check_grad("cross_entropy", case, data, terms=_n_classes(case))


@given(case=probability_target_cases(), data=st.data())
def test_cross_entropy_grad_with_probability_targets_matches_autograd(case, data):
    check_grad("cross_entropy", case, data, terms=_n_classes(case))


@given(case=bce_cases(), data=st.data())
def test_binary_cross_entropy_grad_matches_autograd(case, data):
    check_grad("binary_cross_entropy", case, data)


@given(case=bce_with_logits_cases(), data=st.data())
def test_binary_cross_entropy_with_logits_grad_matches_autograd(case, data):
    check_grad("binary_cross_entropy_with_logits", case, data, terms=2)


@given(case=kl_div_cases(), data=st.data())
def test_kl_div_grad_matches_autograd(case, data):
    check_grad("kl_div", case, data)


@pytest.mark.parametrize(
    ("name", "strategy"),
    [
        (
            "cross_entropy",
            class_target_cases(dtypes=(np.float16,), big=False, masked=False, for_grad=True),
        ),
        ("cross_entropy", probability_target_cases(dtypes=(np.float16,), big=False, masked=False)),
        (
            "nll_loss",
            class_target_cases(
                dtypes=(np.float16,),
                big=False,
                masked=False,
                smoothing=False,
                log_probs=True,
                for_grad=True,
            ),
        ),
        (
            "binary_cross_entropy_with_logits",
            bce_with_logits_cases(dtypes=(np.float16,), big=False, infinite=False),
        ),
        ("kl_div", kl_div_cases(dtypes=(np.float16,))),
    ],
    ids=["ce-index", "ce-prob", "nll", "bce-logits", "kl"],
)
@given(data=st.data())
def test_float16_loss_grads_return_float16_close_to_autograd(name, strategy, data):
    case = data.draw(strategy, label="case")
    terms = _n_classes(case) if name == "cross_entropy" else 2
    mine, _ = check_grad(name, case, data, terms=terms)
    assert np.asarray(mine).dtype == np.float16


# --------------------------------------------------------------------------
# grad_output
# --------------------------------------------------------------------------
GRAD_CALLS = {
    "nll_loss": lambda r: (
        np.asarray(ce_lib.log_softmax(r.normal(size=(4, 3)), 1)),
        np.array([0, 2, 1, 2]),
    ),
    "cross_entropy": lambda r: (r.normal(size=(4, 3, 2)), r.integers(0, 3, size=(4, 2))),
    "binary_cross_entropy": lambda r: (r.random((4, 3)), r.random((4, 3))),
    "binary_cross_entropy_with_logits": lambda r: (r.normal(size=(4, 3)), r.random((4, 3))),
    "kl_div": lambda r: (np.log(r.random((4, 3))), r.random((4, 3))),
}


@pytest.mark.parametrize("name", GRAD_CALLS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_grad_output_none_means_one_or_ones_of_the_output_shape(name, reduction):
    x, y = GRAD_CALLS[name](rng(0))
    grad_fn = getattr(ce_lib, f"{name}_grad")
    implicit = grad_fn(x, y, reduction=reduction)
    ones = np.ones(np.asarray(getattr(ce_lib, name)(x, y, reduction=reduction)).shape)
    assert_close(implicit, np.asarray(grad_fn(x, y, reduction=reduction, grad_output=ones)))
    _, want, _ = torch_value_and_grad(name, x, y, reduction=reduction)
    assert_close(implicit, want, what=f"{name} {reduction}")


@pytest.mark.parametrize("name", GRAD_CALLS)
def test_scalar_grad_output_scales_the_gradient(name):
    x, y = GRAD_CALLS[name](rng(1))
    grad_fn = getattr(ce_lib, f"{name}_grad")
    scaled = grad_fn(x, y, reduction="sum", grad_output=-2.5)
    assert_close(scaled, np.asarray(-2.5 * grad_fn(x, y, reduction="sum")))
    _, want, _ = torch_value_and_grad(name, x, y, reduction="sum", grad_output=-2.5)
    assert_close(scaled, want)


# --------------------------------------------------------------------------
# cross_entropy / nll_loss gradients: the spec's statements
# --------------------------------------------------------------------------
def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    x, t = rng(2).normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    grad = ce_lib.cross_entropy_grad(x, t)
    expected = (np.asarray(ce_lib.softmax(x, 1)) - np.eye(4)[t]) / 5
    assert_close(grad, expected)
    assert_close(grad, torch_value_and_grad("cross_entropy", x, t)[1])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_weighted_smoothed_gradient_weights_each_class_in_the_smoothing_term(reduction):
    """With weights the gradient is not w[t] * (softmax - smoothed one-hot)."""
    x, t = rng(3).normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    w, eps = np.array([0.2, 1.0, 2.5, 0.7]), 0.3
    mine = ce_lib.cross_entropy_grad(x, t, weight=w, reduction=reduction, label_smoothing=eps)
    assert_close(
        mine,
        torch_value_and_grad(
            "cross_entropy", x, t, weight=w, reduction=reduction, label_smoothing=eps
        )[1],
    )
    q = np.full((5, 4), eps / 4)
    q[np.arange(5), t] += 1 - eps
    naive = w[t][:, None] * (np.asarray(ce_lib.softmax(x, 1)) - q)
    naive = naive / w[t].sum() if reduction == "mean" else naive
    assert not np.allclose(mine, naive)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("use_weight", [False, True])
def test_gradient_is_exactly_zero_at_ignored_positions(label_smoothing, use_weight):
    x, t = rng(4).normal(size=(6, 4, 2)), rng(5).integers(0, 4, size=(6, 2))
    t[[0, 3], 1] = -100
    t[5, :] = -100
    w = np.array([0.2, 1.0, 2.5, 0.7]) if use_weight else None
    mine = np.asarray(ce_lib.cross_entropy_grad(x, t, weight=w, label_smoothing=label_smoothing))
    assert_close(
        mine,
        torch_value_and_grad("cross_entropy", x, t, weight=w, label_smoothing=label_smoothing)[1],
    )
    assert (np.moveaxis(mine, 1, -1)[t == -100] == 0).all()


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_all_targets_ignored_gives_a_nan_loss_but_an_all_zero_gradient(name, label_smoothing):
    x, t = rng(6).normal(size=(4, 3)), np.full(4, -100)
    kw = {"weight": np.array([0.5, 2.0, 1.5])}
    if name == "cross_entropy":
        kw["label_smoothing"] = label_smoothing
    assert np.isnan(getattr(ce_lib, name)(x, t, **kw))
    grad = np.asarray(getattr(ce_lib, f"{name}_grad")(x, t, **kw))
    assert (grad == 0).all()
    assert_close(grad, torch_value_and_grad(name, x, t, **kw)[1])


def test_nll_gradient_with_all_target_weights_zero_is_nan_at_the_targets_only():
    logp = np.asarray(ce_lib.log_softmax(rng(7).normal(size=(4, 3)), 1))
    t, w = np.array([0, 0, 1, 1]), np.array([0.0, 0.0, 1.0])
    grad = np.asarray(ce_lib.nll_loss_grad(logp, t, weight=w))
    assert_close(grad, torch_value_and_grad("nll_loss", logp, t, weight=w)[1])
    assert np.isnan(grad[np.arange(4), t]).all()
    assert (np.nan_to_num(grad, nan=0.0) == 0).all()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_gradient_with_all_target_weights_zero_is_nan_on_the_valid_rows(
    label_smoothing,
):
    x, t, w = rng(14).normal(size=(3, 3)), np.array([0, 1, -100]), np.array([0.0, 0.0, 1.0])
    grad = np.asarray(ce_lib.cross_entropy_grad(x, t, weight=w, label_smoothing=label_smoothing))
    assert_close(
        grad,
        torch_value_and_grad("cross_entropy", x, t, weight=w, label_smoothing=label_smoothing)[1],
    )
    assert np.isnan(grad[:2]).all() and (grad[2] == 0).all()


def test_nll_gradient_is_minus_weight_over_target_weight_sum_at_the_targets():
    logp = np.asarray(ce_lib.log_softmax(rng(8).normal(size=(4, 3)), 1))
    t, w = np.array([0, 2, -100, 1]), np.array([0.5, 2.0, 1.5])
    grad = np.asarray(ce_lib.nll_loss_grad(logp, t, weight=w))
    expected = np.zeros_like(logp)
    kept = t != -100
    expected[np.arange(4)[kept], t[kept]] = -w[t[kept]] / w[t[kept]].sum()
    assert_close(grad, expected)
    assert_close(grad, torch_value_and_grad("nll_loss", logp, t, weight=w)[1])


# --------------------------------------------------------------------------
# BCE and KL gradients
# --------------------------------------------------------------------------
def test_bce_gradient_floors_x_times_one_minus_x_at_float32_1e_minus_12():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1e-50, 0.3])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 0.6])
    mine = np.asarray(ce_lib.binary_cross_entropy_grad(x, y, reduction="sum"))
    assert_close(mine, torch_value_and_grad("binary_cross_entropy", x, y, reduction="sum")[1])
    eps0 = float(np.float32(1e-12))  # 9.999999960041972e-13, not 1e-12
    np.testing.assert_allclose(mine[:5], [-1 / eps0, 1 / eps0, 0.0, 0.0, -0.5 / eps0], rtol=1e-15)


@pytest.mark.parametrize("pos_weight", [None, 2.0])
def test_bce_with_logits_gradient_is_finite_at_infinite_logits(pos_weight):
    x, y = np.array([-inf, -1e4, 1e4, inf]), np.array([1.0, 1.0, 0.0, 0.0])
    pw = None if pos_weight is None else np.array([pos_weight])
    mine = np.asarray(
        ce_lib.binary_cross_entropy_with_logits_grad(x, y, pos_weight=pw, reduction="sum")
    )
    assert np.isfinite(mine).all()
    assert_close(
        mine,
        torch_value_and_grad(
            "binary_cross_entropy_with_logits", x, y, pos_weight=pw, reduction="sum"
        )[1],
    )


def test_bce_gradient_with_broadcast_weight_matches_autograd():
    r = rng(9)
    x, y, w = r.random((3, 4)), r.random((3, 4)), r.random(4)
    assert_close(
        ce_lib.binary_cross_entropy_grad(x, y, weight=w),
        torch_value_and_grad("binary_cross_entropy", x, y, weight=w)[1],
    )


@pytest.mark.parametrize("reduction", ["sum", "mean", "batchmean"])
def test_kl_div_gradient_is_minus_the_target_scaled_by_the_reduction(reduction):
    x = np.asarray(ce_lib.log_softmax(rng(10).normal(size=(3, 4)), 1))
    y = np.asarray(ce_lib.softmax(rng(11).normal(size=(3, 4)), 1))
    scale = {"sum": 1.0, "mean": 1 / 12, "batchmean": 1 / 3}[reduction]
    for log_target, target in ((False, y), (True, np.log(y))):
        mine = ce_lib.kl_div_grad(x, target, reduction=reduction, log_target=log_target)
        assert_close(mine, -y * scale)
        assert_close(
            mine,
            torch_value_and_grad("kl_div", x, target, reduction=reduction, log_target=log_target)[
                1
            ],
        )


def test_kl_div_gradient_is_negative_zero_where_the_target_is_zero():
    x, y = np.array([-1.0, 0.0]), np.array([0.0, 1.0])
    mine = np.asarray(ce_lib.kl_div_grad(x, y, reduction="sum"))
    want = torch_value_and_grad("kl_div", x, y, reduction="sum")[1]
    assert_close(mine, want)
    assert np.signbit(mine[0]) == np.signbit(want[0])


@pytest.mark.parametrize(("x_shape", "y_shape"), [((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 4))])
def test_kl_div_gradient_sums_over_the_dims_the_target_broadcast(x_shape, y_shape):
    r = rng(12)
    x, y = np.log(r.random(x_shape)), r.random(y_shape)
    for reduction in ("sum", "mean", "batchmean"):
        assert_close(
            ce_lib.kl_div_grad(x, y, reduction=reduction),
            torch_value_and_grad("kl_div", x, y, reduction=reduction)[1],
            what=reduction,
        )


@pytest.mark.parametrize(
    ("dim", "keepdim"), [(1, False), (1, True), (-2, False), ((0, 1), False), ((0, -1), True)]
)
def test_logsumexp_grad_output_none_means_ones_of_the_output_shape(dim, keepdim):
    x = rng(13).normal(size=(4, 3))
    implicit = ce_lib.logsumexp_grad(x, dim, keepdim=keepdim)
    ones = np.ones(np.shape(ce_lib.logsumexp(x, dim, keepdim=keepdim)))
    assert_close(
        implicit, np.asarray(ce_lib.logsumexp_grad(x, dim, keepdim=keepdim, grad_output=ones))
    )
    assert_close(implicit, torch_value_and_grad("logsumexp", x, dim, keepdim=keepdim)[1])
