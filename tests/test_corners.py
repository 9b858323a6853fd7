"""The corners where a port goes wrong, for every cross-entropy function, fast paths included.

Each test draws (or lists) inputs at a corner, runs ce_lib's functions and torch's, and
requires the same values, dtypes and NaN patterns, or the same kind of error with a message
naming the argument:

* rows of logits holding NaN, +inf or only -inf, at counted and at ignored targets;
* C = 0 (every target ignored) and C = 1;
* class weights with NaN or inf on classes that are not targets;
* mixed dtypes (float32 logits with float64 probability targets or weights);
* odd argument types (None, strings, floats and bools for ints, NumPy scalars, tensors);
* out= buffers that overlap the input;
* the gradient helpers' grad_output shapes, and float16 logsumexp bit for bit.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from tolerances import assert_close, magnitude

import ce_lib
from ce_lib import fused

REDUCTIONS = ("none", "mean", "sum")


def torch_loss_and_grad(x, target, **kwargs):
    """F.cross_entropy's value and input gradient (upstream ones), as NumPy arrays."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    kwargs = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    target = torch.from_numpy(target) if isinstance(target, np.ndarray) else target
    loss = F.cross_entropy(xt, target, **kwargs)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), xt.grad.numpy()


# --------------------------------------------------------------------------
# special rows, ignored targets, weights with NaN/inf on other classes
# --------------------------------------------------------------------------
SPECIAL_ROWS = {
    "nan": lambda c: np.full(c, np.nan),
    "+inf": lambda c: np.r_[np.inf, np.zeros(c - 1)],
    "all -inf": lambda c: np.full(c, -np.inf),
    "some -inf": lambda c: np.r_[-np.inf, np.arange(c - 1, dtype=float)],
}


@st.composite
def corner_cases(draw):
    """(x, target, kwargs): 2-D logits with special rows, some targets ignored."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(scale=3, size=(n, c))
    for i in range(n):
        kind = draw(st.sampled_from([None, None, *SPECIAL_ROWS]))
        if kind is not None:
            x[i] = SPECIAL_ROWS[kind](c)
    target = rng.integers(0, c, size=n)
    ignore = draw(st.sampled_from([-100, 0]))
    ignored = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    target[np.array(ignored)] = ignore
    kwargs = dict(ignore_index=ignore, reduction=draw(st.sampled_from(REDUCTIONS)),
                  label_smoothing=draw(st.sampled_from([0.0, 0.2])))
    if draw(st.booleans()):
        weight = rng.uniform(0.5, 2.0, size=c)
        counted = set(target[target != ignore].tolist())
        others = [k for k in range(c) if k not in counted]
        if others:  # NaN or inf on a class no counted row targets
            weight[draw(st.sampled_from(others))] = draw(st.sampled_from([np.nan, np.inf]))
        kwargs["weight"] = weight.astype(dtype)
    return x.astype(dtype), target, kwargs


@given(corner_cases())
def test_reference_functions_match_torch_at_the_corners(case):
    x, target, kwargs = case
    loss, grad = torch_loss_and_grad(x, target, **kwargs)
    scale = magnitude(x)
    assert_close(ce_lib.cross_entropy(x, target, **kwargs), loss, scale=scale, what="loss")
    assert_close(ce_lib.cross_entropy_grad(x, target, **kwargs), grad, what="gradient")


@given(corner_cases())
def test_fast_paths_match_torch_at_the_corners(case):
    x, target, kwargs = case
    loss, grad = torch_loss_and_grad(x, target, **kwargs)
    scale = magnitude(x)
    assert_close(fused.cross_entropy(x, target, **kwargs), loss, scale=scale, what="fused loss")
    if kwargs["reduction"] == "none":
        return
    mine_loss, mine_grad = fused.cross_entropy_with_grad(x, target, **kwargs)
    assert_close(mine_loss, loss, scale=scale, what="fused loss (with grad)")
    assert_close(mine_grad, grad, what="fused gradient")
    in_place = x.copy()
    fused.cross_entropy_with_grad(in_place, target, out=in_place, **kwargs)
    assert_close(in_place, grad, what="fused gradient written over the logits")


@pytest.mark.parametrize("eps", [4.3e-233, 1e-46, 1e-30])
def test_a_label_smoothing_below_float32s_range_is_zero_in_float32_as_in_torch(eps):
    """torch turns eps / C into the logits' dtype before multiplying: in float32 a tiny eps is
    0, and 0 times the infinite smoothing term of a -inf logit is NaN (found by hypothesis)."""
    x = np.zeros((4, 4), np.float32)
    x[2, 3] = -np.inf
    t = np.array([0, -100, 0, -100])
    value, grad = torch_loss_and_grad(x, t, label_smoothing=eps)
    assert_close(ce_lib.cross_entropy(x, t, label_smoothing=eps), value)
    assert_close(ce_lib.cross_entropy_grad(x, t, label_smoothing=eps), grad)
    loss, mine = fused.cross_entropy_with_grad(x, t, label_smoothing=eps)
    assert_close(loss, value)
    assert_close(mine, grad)


def test_an_ignored_row_of_nan_logits_has_a_nan_gradient_as_in_torch():
    x, target = np.array([[np.nan, 1.0, 2.0], [1.0, 2.0, 3.0]]), np.array([-100, 1])
    _, grad = torch_loss_and_grad(x, target)
    assert np.isnan(grad[0]).all() and np.isfinite(grad[1]).all()
    for mine in (ce_lib.cross_entropy_grad(x, target), fused.cross_entropy_with_grad(x, target)[1]):
        assert_close(mine, grad, what="gradient")


@pytest.mark.parametrize("vocab_chunk_size", [None, 1])
def test_linear_cross_entropy_spreads_an_ignored_infinite_hidden_state_as_torch(vocab_chunk_size):
    h = np.array([[np.inf, 0.0], [1.0, 2.0]])
    w = np.random.default_rng(0).normal(size=(3, 2))
    t = np.array([-100, 1])
    ht, wt = torch.tensor(h, requires_grad=True), torch.tensor(w, requires_grad=True)
    loss = F.cross_entropy(ht @ wt.T, torch.tensor(t))
    loss.backward()
    mine_loss, grad_h, grad_w, _ = fused.linear_cross_entropy_with_grad(
        h, w, t, vocab_chunk_size=vocab_chunk_size)
    assert_close(mine_loss, loss.detach().numpy(), what="loss")
    assert_close(grad_h, ht.grad.numpy(), what="grad_input")
    assert_close(grad_w, wt.grad.numpy(), what="grad_weight")


def test_a_nan_weight_on_a_class_nobody_targets_leaves_the_gradient_finite():
    x = np.random.default_rng(1).normal(size=(3, 4))
    target, weight = np.array([0, 2, 3]), np.array([1.0, np.nan, 1.0, 1.0])
    loss, grad = torch_loss_and_grad(x, target, weight=weight)
    assert np.isfinite(grad).all()
    assert_close(ce_lib.cross_entropy_grad(x, target, weight=weight), grad, what="gradient")
    assert_close(fused.cross_entropy_with_grad(x, target, weight=weight)[1], grad, what="fused")


# --------------------------------------------------------------------------
# C = 0 and C = 1
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_no_classes_and_every_target_ignored(dtype, reduction, label_smoothing):
    x, target = np.zeros((2, 0), dtype), np.array([-100, -100])
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    loss, grad = torch_loss_and_grad(x, target, **kwargs)
    assert_close(ce_lib.cross_entropy(x, target, **kwargs), loss, what="loss")
    assert_close(ce_lib.cross_entropy_grad(x, target, **kwargs), grad, what="gradient")
    if dtype != np.float16:
        assert_close(fused.cross_entropy(x, target, **kwargs), loss, what="fused loss")
        if reduction != "none":
            mine_loss, mine_grad = fused.cross_entropy_with_grad(x, target, **kwargs)
            assert_close(mine_loss, loss, what="fused loss (with grad)")
            assert_close(mine_grad, grad, what="fused gradient")
    if label_smoothing == 0.0:
        nll = F.nll_loss(torch.from_numpy(x), torch.from_numpy(target), reduction=reduction)
        assert_close(ce_lib.nll_loss(x, target, reduction=reduction), nll.numpy(), what="nll")


def test_no_classes_with_a_counted_target_raises_index_error_like_torch():
    with pytest.raises(IndexError):
        F.cross_entropy(torch.zeros(2, 0), torch.tensor([0, -100]))
    for fn in (ce_lib.cross_entropy, ce_lib.cross_entropy_grad, fused.cross_entropy):
        with pytest.raises(IndexError, match="target"):
            fn(np.zeros((2, 0)), np.array([0, -100]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(values=st.lists(st.floats(-80, 80), min_size=1, max_size=8))
def test_one_class_costs_exactly_nothing(dtype, values):
    x = np.array(values, dtype)[:, None]
    target = np.zeros(len(values), np.int64)
    loss, grad = torch_loss_and_grad(x, target)
    assert loss == 0
    for mine in (ce_lib.cross_entropy(x, target), fused.cross_entropy(x, target),
                 fused.cross_entropy_with_grad(x, target)[0]):
        assert mine == 0 and mine.dtype == dtype
    assert_close(fused.cross_entropy_with_grad(x, target)[1], grad, what="gradient")


# --------------------------------------------------------------------------
# mixed dtypes
# --------------------------------------------------------------------------
def test_float32_logits_with_float64_probabilities_compute_log_softmax_in_float32():
    rng = np.random.default_rng(2)
    x = rng.normal(scale=4, size=(5, 7)).astype(np.float32)
    y = rng.dirichlet(np.ones(7), size=5)                       # float64
    weight = rng.uniform(0.5, 2, size=7)                        # float64
    for kwargs in ({}, {"weight": weight}, {"label_smoothing": 0.1}):
        loss, grad = torch_loss_and_grad(x, y, **kwargs)
        assert loss.dtype == np.float64 and grad.dtype == np.float32
        mine = ce_lib.cross_entropy(x, y, **kwargs)
        assert_close(mine, loss, dtype=np.float32, what=f"loss {kwargs}")
        assert_close(ce_lib.cross_entropy_grad(x, y, **kwargs), grad, what=f"grad {kwargs}")
    # the loss is float32's log_softmax, promoted: not a float64 log_softmax of the logits
    promoted = ce_lib.log_softmax(x, 1).astype(np.float64)
    np.testing.assert_allclose(mine, -np.mean(np.sum(((0.9 * y + 0.1 / 7) * promoted), axis=1)),
                               rtol=1e-14)
    assert abs(mine + np.mean(np.sum((0.9 * y + 0.1 / 7) * ce_lib.log_softmax(
        x.astype(np.float64), 1), axis=1))) > 1e-12


def test_a_float64_weight_with_float32_probabilities_promotes_the_loss_to_float64():
    x = np.zeros((2, 3), np.float32)
    y = np.full((2, 3), 1 / 3, np.float32)
    loss, _ = torch_loss_and_grad(x, y, weight=np.ones(3))
    assert ce_lib.cross_entropy(x, y, weight=np.ones(3)).dtype == loss.dtype == np.float64


# --------------------------------------------------------------------------
# argument types: what torch's argument parser accepts and rejects
# --------------------------------------------------------------------------
X, T = np.random.default_rng(3).normal(size=(3, 4)), np.array([0, 1, 2])
LOSS_FUNCTIONS = {
    "cross_entropy": ce_lib.cross_entropy,
    "cross_entropy_grad": ce_lib.cross_entropy_grad,
    "nll_loss": lambda x, t, **kw: ce_lib.nll_loss(ce_lib.log_softmax(x, 1), t, **kw),
    "nll_loss_grad": lambda x, t, **kw: ce_lib.nll_loss_grad(ce_lib.log_softmax(x, 1), t, **kw),
    "fused.cross_entropy": fused.cross_entropy,
    "fused.cross_entropy_with_grad": fused.cross_entropy_with_grad,
    "fused.linear_cross_entropy_with_grad":
        lambda x, t, **kw: fused.linear_cross_entropy_with_grad(x, np.eye(4), t, **kw),
}
BAD_IGNORE_INDEX = [None, "a", 1.0, True]


@pytest.mark.parametrize("name", LOSS_FUNCTIONS)
@pytest.mark.parametrize("value", BAD_IGNORE_INDEX, ids=repr)
def test_ignore_index_must_be_an_int(name, value):
    with pytest.raises(TypeError, match="ignore_index"):
        F.cross_entropy(torch.from_numpy(X), torch.from_numpy(T), ignore_index=value)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        LOSS_FUNCTIONS[name](X, T, ignore_index=value)


@pytest.mark.parametrize("name", LOSS_FUNCTIONS)
@pytest.mark.parametrize("value", [np.int64(1), np.int32(1), torch.tensor(1)], ids=repr)
def test_integer_scalars_of_any_kind_are_an_ignore_index(name, value):
    expected = LOSS_FUNCTIONS[name](X, T, ignore_index=1)
    mine = LOSS_FUNCTIONS[name](X, T, ignore_index=value)
    for a, b in zip(np.atleast_1d(np.asarray(expected, dtype=object)),
                    np.atleast_1d(np.asarray(mine, dtype=object))):
        np.testing.assert_array_equal(np.asarray(a, dtype=float) if a is not None else 0,
                                      np.asarray(b, dtype=float) if b is not None else 0)


SMOOTHING_FUNCTIONS = {k: v for k, v in LOSS_FUNCTIONS.items() if "nll" not in k}


@pytest.mark.parametrize("name", SMOOTHING_FUNCTIONS)
@pytest.mark.parametrize("value", [None, "a"], ids=repr)
def test_label_smoothing_must_be_a_number(name, value):
    with pytest.raises(TypeError, match="label_smoothing"):
        F.cross_entropy(torch.from_numpy(X), torch.from_numpy(T), label_smoothing=value)
    with pytest.raises(TypeError, match="label_smoothing must be a float"):
        SMOOTHING_FUNCTIONS[name](X, T, label_smoothing=value)


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), -0.5, True, 1, np.float32(0.25),
                                   torch.tensor(0.25)], ids=repr)
def test_label_smoothing_values_torch_accepts(value):
    loss, grad = torch_loss_and_grad(X, T, label_smoothing=value)
    assert_close(ce_lib.cross_entropy(X, T, label_smoothing=value), loss, what="loss")
    assert_close(ce_lib.cross_entropy_grad(X, T, label_smoothing=value), grad, what="gradient")
    assert_close(fused.cross_entropy(X, T, label_smoothing=value), loss, what="fused")
    assert_close(fused.cross_entropy_with_grad(X, T, label_smoothing=value)[1], grad, what="fused")


@pytest.mark.parametrize("value", [float("inf"), 1.5])
def test_label_smoothing_above_one_raises_value_error(value):
    for fn in SMOOTHING_FUNCTIONS.values():
        with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
            fn(X, T, label_smoothing=value)


@pytest.mark.parametrize("value", ["yes", 1, None, np.True_], ids=repr)
def test_log_target_must_be_a_bool(value):
    x, y = np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)
    with pytest.raises(TypeError, match="log_target"):
        F.kl_div(torch.from_numpy(x), torch.from_numpy(y), reduction="batchmean", log_target=value)
    for fn in (ce_lib.kl_div, ce_lib.kl_div_grad):
        with pytest.raises(TypeError, match="log_target must be a bool"):
            fn(x, y, reduction="batchmean", log_target=value)


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    (dict(threads=2.5), TypeError, "threads must be an int"),
    (dict(threads=0), ValueError, "threads must be a positive int"),
    (dict(threads="2"), TypeError, "threads must be an int"),
    (dict(chunk_size=-1), ValueError, "chunk_size must be a positive int"),
    (dict(chunk_size=1.5), TypeError, "chunk_size must be an int"),
    (dict(vocab_chunk_size=0), ValueError, "vocab_chunk_size must be a positive int"),
])
def test_fast_path_sizes_must_be_positive_ints(kwargs, error, words):
    with pytest.raises(error, match=words):
        fused.linear_cross_entropy_with_grad(X, np.eye(4), T, **kwargs)
    if "threads" in kwargs:
        for fn in (fused.cross_entropy, fused.cross_entropy_with_grad):
            with pytest.raises(error, match=words):
                fn(X, T, **kwargs)


# --------------------------------------------------------------------------
# out= buffers
# --------------------------------------------------------------------------
def test_an_out_buffer_that_overlaps_the_input_raises():
    buffer = np.random.default_rng(4).normal(size=(5, 4))
    with pytest.raises(ValueError, match="out overlaps the input"):
        fused.cross_entropy_with_grad(buffer[:-1], np.array([0, 1, 2, 3]), out=buffer[1:])


def test_out_may_be_the_input_itself_or_a_separate_buffer():
    x = np.random.default_rng(5).normal(size=(4, 3))
    expected = ce_lib.cross_entropy_grad(x, np.array([0, 1, 2, 0]))
    separate = np.empty_like(x)
    fused.cross_entropy_with_grad(x, np.array([0, 1, 2, 0]), out=separate)
    np.testing.assert_allclose(separate, expected, rtol=1e-12)
    fused.cross_entropy_with_grad(x, np.array([0, 1, 2, 0]), out=x)
    np.testing.assert_allclose(x, expected, rtol=1e-12)


def test_a_wrong_out_buffer_names_the_argument():
    x = np.zeros((2, 3))
    for out in (np.zeros((3, 2)), np.zeros((2, 3), np.float32), [[0.0] * 3] * 2,
                np.zeros((3, 2)).T):
        with pytest.raises(ValueError, match="out must"):
            fused.cross_entropy_with_grad(x, np.array([0, 1]), out=out)


# --------------------------------------------------------------------------
# gradient helpers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_grad_output_none_means_ones(name):
    x = np.random.default_rng(6).normal(size=(2, 3))
    grad_fn = getattr(ce_lib, f"{name}_grad")
    np.testing.assert_array_equal(grad_fn(x, 1, None), grad_fn(x, 1, np.ones((2, 3))))
    xt = torch.tensor(x, requires_grad=True)
    getattr(torch, name)(xt, 1).sum().backward()
    assert_close(grad_fn(x, 1), xt.grad.numpy(), what=name)


@pytest.mark.parametrize(("name", "shape"), [
    ("softmax_grad", (3,)), ("log_softmax_grad", (2, 1)), ("softmax_grad", (1, 2, 3))])
def test_softmax_family_grad_output_of_another_shape_raises(name, shape):
    with pytest.raises(ValueError, match=re.escape(f"grad_output has shape {shape}")):
        getattr(ce_lib, name)(np.zeros((2, 3)), 1, np.ones(shape))


@pytest.mark.parametrize(("keepdim", "shape"), [(False, (2, 1)), (True, (2,)), (False, (1, 2))])
def test_logsumexp_grad_output_of_another_shape_raises(keepdim, shape):
    xt = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.logsumexp(xt, 1, keepdim=keepdim).backward(torch.ones(shape))
    with pytest.raises(ValueError, match="grad_output has shape"):
        ce_lib.logsumexp_grad(np.zeros((2, 3)), 1, keepdim=keepdim, grad_output=np.ones(shape))


def test_logsumexp_over_no_dimension_raises():
    with pytest.raises(RuntimeError):
        torch.logsumexp(torch.zeros(2, 3), dim=())
    for dim in ((), []):
        with pytest.raises(ValueError, match="dim must name at least one dimension"):
            ce_lib.logsumexp(np.zeros((2, 3)), dim=dim)


@given(seed=st.integers(0, 2**32 - 1), dim=st.sampled_from([0, 1, (0, 1)]),
       keepdim=st.booleans(), special=st.sampled_from([None, np.inf, -np.inf, np.nan]))
def test_float16_logsumexp_and_its_gradient_are_torchs_bit_for_bit(seed, dim, keepdim, special):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(3, 6)) * 4).astype(np.float16)
    if special is not None:
        x[0, 2] = special
    xt = torch.tensor(x, requires_grad=True)
    out = torch.logsumexp(xt, dim, keepdim=keepdim)
    g = torch.tensor(rng.normal(size=tuple(out.shape)).astype(np.float16))
    out.backward(g)
    np.testing.assert_array_equal(ce_lib.logsumexp(x, dim, keepdim=keepdim), out.detach().numpy())
    np.testing.assert_array_equal(
        ce_lib.logsumexp_grad(x, dim, keepdim=keepdim, grad_output=g.numpy()), xt.grad.numpy())


# --------------------------------------------------------------------------
# a mutant the ci profile used to let live
# --------------------------------------------------------------------------
def test_float16_label_smoothed_mean_divides_by_the_target_weights():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 5)).astype(np.float16)
    t = rng.integers(0, 5, size=16)
    weight = rng.uniform(0.5, 3, size=5).astype(np.float16)
    for kwargs in ({}, {"weight": weight}):
        want = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), label_smoothing=0.3,
                               **{k: torch.from_numpy(v) for k, v in kwargs.items()})
        mine = ce_lib.cross_entropy(x, t, label_smoothing=0.3, **kwargs)
        summed = ce_lib.cross_entropy(x, t, label_smoothing=0.3, reduction="sum", **kwargs)
        assert_close(mine, want.numpy(), what=f"float16 smoothed mean {kwargs}")
        assert abs(float(summed)) > 4 * abs(float(mine))   # the mean is not the sum
