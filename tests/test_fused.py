"""ce_lib.fused against torch and against the reference functions it must equal: the one-pass
cross_entropy_with_grad (cross_entropy, cross_entropy_grad), the forward-only fast path
fused.cross_entropy (cross_entropy), and the chunked linear_cross_entropy_with_grad (the
unchunked computation, and autograd through F.linear and F.cross_entropy)."""

from __future__ import annotations

import contextlib
import multiprocessing
import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    Case,
    arrays,
    class_target_cases,
    finite_floats,
    grad_outputs,
    probability_target_cases,
)
from test_errors import ERROR_CASES
from tolerances import assert_close, magnitude
from torch_reference import to_torch, torch_value, torch_value_and_grad

import ce_lib
from ce_lib import compiled, fused
from ce_lib.fused import cross_entropy_with_grad, linear_cross_entropy_with_grad

# (N, C) input, scalar reductions: what the fused path supports
fused_cases = class_target_cases().filter(
    lambda case: case.input.ndim == 2 and case.reduction != "none"
)


@pytest.fixture(autouse=True, scope="module", params=["compiled kernel", "NumPy code"])
def inner_loop(request):
    """Every test twice: with ce_lib.compiled's kernel, and with the NumPy code that takes
    its place where no C compiler built it."""
    if request.param == "compiled kernel" and not compiled.available():
        pytest.skip(compiled.status())
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "NumPy code":
            patch.setattr(compiled, "supports", lambda x: False)
        yield request.param


def rng(seed):
    return np.random.default_rng(seed)


@given(case=fused_cases, data=st.data())
def test_loss_and_grad_match_autograd_and_the_reference_functions(case, data):
    value, grad, g = torch_value_and_grad(
        "cross_entropy",
        case.input,
        *case.args,
        grad_output=grad_outputs(data, case.reduction),
        **case.kwargs,
    )
    loss, mine = cross_entropy_with_grad(case.input, *case.args, grad_output=g, **case.kwargs)
    n_classes = case.input.shape[1]
    scale = magnitude(case.input) * magnitude(case.kwargs.get("weight"))
    scale *= max(1, case.input.size) if case.reduction == "sum" else 1
    assert_close(loss, value, scale=scale, what="loss vs torch")
    grad_scale = (
        max(magnitude(grad), magnitude(g) * magnitude(case.kwargs.get("weight"))) * n_classes
    )
    assert_close(mine, grad, scale=grad_scale, what="grad vs torch")
    reference = ce_lib.cross_entropy(case.input, *case.args, **case.kwargs)
    assert_close(loss, np.asarray(reference), scale=scale, what="loss vs cross_entropy")
    reference_grad = ce_lib.cross_entropy_grad(case.input, *case.args, grad_output=g, **case.kwargs)
    assert_close(
        mine,
        np.asarray(reference_grad),
        scale=grad_scale,
        what="grad vs cross_entropy_grad",
    )


@contextlib.contextmanager
def small_blocks_and_threads():
    """Blocks of 8 KiB, and threads for any input size: the tests' inputs are small, and fused
    runs them in one cache block, in the calling thread (BLOCK_BYTES, MIN_ELEMENTS_PER_THREAD)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fused, "BLOCK_BYTES", 1 << 13)
        patch.setattr(fused, "MIN_ELEMENTS_PER_THREAD", 1)
        patch.setattr(fused, "KERNEL_MIN_ELEMENTS_PER_THREAD", 1)
        yield


def big_case(dtype=np.float64):
    """Enough rows for several 8 KiB blocks (small_blocks_and_threads), so blocks and threads
    are exercised."""
    r = rng(0)
    x = r.normal(scale=3, size=(300, 400)).astype(dtype)
    t = r.integers(0, 400, size=300)
    t[::7] = -100
    w = (r.random(400) + 0.1).astype(dtype)
    return x, t, w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_does_not_depend_on_the_number_of_threads(dtype):
    x, t, w = big_case(dtype)
    kw = {"weight": w, "label_smoothing": 0.1}
    with small_blocks_and_threads():
        loss1, grad1 = cross_entropy_with_grad(x, t, threads=1, **kw)
        loss2, grad2 = cross_entropy_with_grad(x, t, threads=2, **kw)
    assert loss1 == loss2 and np.array_equal(grad1, grad2)
    value, grad, _ = torch_value_and_grad("cross_entropy", x, t, **kw)
    assert_close(loss1, value, scale=magnitude(x), what="loss")
    assert_close(grad1, grad, scale=magnitude(grad) * 400, what="grad")


@pytest.mark.parametrize("label_smoothing", [0.0, 0.5, 1.0])
def test_mean_with_every_target_weight_zero_is_nan_as_in_torch(label_smoothing):
    # The only counted row's target has weight 0: 'mean' divides both terms by 0. torch
    # reduces each term first, so the loss is NaN (0/0), even when smoothing makes the
    # smoothing term positive (which, mixed in before dividing, would give inf).
    r = rng(3)
    x = r.normal(size=(4, 5)).astype(np.float32)
    t = np.array([0, -100, -100, -100])
    w = np.array([0, 0, 1, 0.5, 2], np.float32)
    kw = {"weight": w, "label_smoothing": label_smoothing}
    expected = torch_value("cross_entropy", x, t, **kw)
    assert np.isnan(expected)
    assert np.isnan(fused.cross_entropy(x, t, **kw))
    assert np.isnan(cross_entropy_with_grad(x, t, **kw)[0])
    h = r.normal(size=(4, 3)).astype(np.float32)
    classifier = r.normal(size=(5, 3)).astype(np.float32)
    for vocab_chunk_size in (None, 2):
        loss = linear_cross_entropy_with_grad(
            h, classifier, t, class_weight=w, label_smoothing=label_smoothing,
            vocab_chunk_size=vocab_chunk_size,
        )[0]  # fmt: skip
        assert np.isnan(loss)


def _loss_and_grad_in_two_threads(x, t, w):
    return cross_entropy_with_grad(x, t, weight=w, threads=2)


def test_threads_work_in_a_forked_child_after_the_parent_used_them():
    # The worker threads are started once per process; a forked child inherits the pool
    # object but not its threads, and must not wait on them forever.
    x, t, w = big_case()
    with small_blocks_and_threads():
        loss, grad = _loss_and_grad_in_two_threads(x, t, w)  # starts the parent's threads
        with multiprocessing.get_context("fork").Pool(1) as pool:
            child_loss, child_grad = pool.apply_async(
                _loss_and_grad_in_two_threads, (x, t, w)
            ).get(timeout=60)
    assert child_loss == loss and np.array_equal(child_grad, grad)


@small_blocks_and_threads()
def test_out_receives_the_gradient_even_when_it_is_the_input():
    x, t, w = big_case()
    _, expected = cross_entropy_with_grad(x, t, weight=w)
    buffer = np.empty_like(x)
    _, grad = cross_entropy_with_grad(x, t, weight=w, out=buffer)
    assert grad is buffer and np.array_equal(buffer, expected)
    logits = x.copy()
    loss, grad = cross_entropy_with_grad(logits, t, weight=w, out=logits)
    assert grad is logits and np.array_equal(logits, expected)
    assert loss == cross_entropy_with_grad(x, t, weight=w)[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_returns_a_numpy_scalar_loss_and_a_gradient_of_the_input_dtype(dtype):
    x, t, _ = big_case(dtype)
    loss, grad = cross_entropy_with_grad(x[:5], t[:5])
    assert isinstance(loss, np.generic) and type(loss) is not float and loss.dtype == dtype
    assert grad.dtype == dtype and grad.shape == (5, 400)


@pytest.mark.parametrize(
    ("kwargs", "raises", "name"),
    [
        ({"reduction": "none"}, ValueError, "reduction"),
        ({"reduction": "avg"}, ValueError, "reduction"),
        ({"label_smoothing": 1.5}, ValueError, "label_smoothing"),
        ({"out": np.empty((3, 5))}, ValueError, "out"),
        ({"out": np.empty((3, 4), dtype=np.float32)}, ValueError, "out"),
        ({"weight": np.ones(3)}, ValueError, "weight"),
    ],
    ids=[
        "reduction none",
        "unknown reduction",
        "label_smoothing above 1",
        "out of wrong shape",
        "out of wrong dtype",
        "weight of wrong size",
    ],
)
def test_rejects_what_it_does_not_support_and_what_cross_entropy_rejects(kwargs, raises, name):
    x, t = rng(1).normal(size=(3, 4)), np.array([0, 3, 1])
    with pytest.raises(raises, match=name):
        cross_entropy_with_grad(x, t, **kwargs)


@pytest.mark.parametrize(
    ("x", "t", "raises"),
    [
        (np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64), (ValueError, TypeError)),
        (np.zeros((2, 3), dtype=np.float16), np.zeros(2, dtype=np.int64), (ValueError, TypeError)),
        (np.zeros((2, 3)), np.array([0, 3]), IndexError),
        (np.zeros((2, 3)), np.array([0, 1], dtype=np.int32), TypeError),
    ],
    ids=["3-D input", "float16 input", "target out of range", "int32 target"],
)
def test_rejects_inputs_outside_its_scope_and_bad_targets(x, t, raises):
    with pytest.raises(raises, match=r"(?i)input|target"):
        cross_entropy_with_grad(x, t)


# ==========================================================================
# fused.cross_entropy: the forward-only fast path, against the reference and torch
# ==========================================================================
def _loss_scale(case):
    scale = magnitude(case.input) * magnitude(case.kwargs.get("weight"))
    return scale * max(1, case.input.size) if case.reduction == "sum" else scale


def assert_forward_matches(case, **fast_kwargs):
    """fused.cross_entropy equals ce_lib.cross_entropy (type, dtype, shape, value) and torch."""
    mine = fused.cross_entropy(case.input, *case.args, **case.kwargs, **fast_kwargs)
    reference = ce_lib.cross_entropy(case.input, *case.args, **case.kwargs)
    assert_close(mine, np.asarray(reference), scale=_loss_scale(case), what="fast vs reference")
    want = torch_value("cross_entropy", case.input, *case.args, **case.kwargs)
    assert_close(mine, want, scale=_loss_scale(case), what="fast vs torch")
    return mine


@given(case=class_target_cases())
def test_fast_cross_entropy_matches_the_reference_for_every_layout_and_option(case):
    assert_forward_matches(case)


@given(case=probability_target_cases())
def test_fast_cross_entropy_passes_probability_targets_to_the_reference(case):
    assert_forward_matches(case)


@st.composite
def wide_cases(draw):
    """(N, C) float32/float64 cases of several cache blocks, so that blocks and threads are used:
    weights, ignore_index (a real class or not, sometimes every target), smoothing, reductions."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, n_classes = draw(st.sampled_from([(1, 70_000), (40, 4_000), (300, 400), (3, 1)]))
    r = rng(draw(st.integers(0, 2**16)))
    x = (r.normal(size=(n, n_classes)) * draw(st.sampled_from([1.0, 30.0]))).astype(dtype)
    ignore_index = draw(st.sampled_from([-100, 0, n_classes + 1]))
    t = r.integers(0, n_classes, size=n)
    t[r.random(n) < draw(st.sampled_from([0.0, 0.2, 1.0]))] = ignore_index
    kwargs = {
        "ignore_index": ignore_index,
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
    }
    if draw(st.booleans()):
        kwargs["weight"] = (r.random(n_classes) + 0.1).astype(dtype)
    kwargs["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]))
    return Case(x, (t,), kwargs)


@given(case=wide_cases())
def test_fast_cross_entropy_matches_on_inputs_of_many_blocks_with_one_or_two_threads(case):
    with small_blocks_and_threads():
        one = assert_forward_matches(case, threads=1)
        two = fused.cross_entropy(case.input, *case.args, **case.kwargs, threads=2)
    assert np.array_equal(np.asarray(one), np.asarray(two), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n_classes", [3, 70_000], ids=["small path", "blocked path"])
def test_unshifted_exp_falls_back_to_row_shifts_where_it_would_underflow_or_overflow(
    dtype, reduction, n_classes
):
    # exp(x) without a shift: 0 for the whole first row, inf in the last
    base = np.array([[-1000.0, -1001.0, -1002.5], [0.0, 1.0, 2.0], [1000.0, 999.0, 1001.5]])
    x = np.tile(base, (1, n_classes // 3 + 1))[:, :n_classes].astype(dtype)
    t = np.array([1, 2, 0])
    mine = fused.cross_entropy(x, t, reduction=reduction)
    want = torch_value("cross_entropy", x, t, reduction=reduction)
    assert_close(mine, want, scale=1000, what="far-apart rows")
    if reduction != "none":
        loss, grad = cross_entropy_with_grad(x, t, reduction=reduction)
        value, grad_want, _ = torch_value_and_grad("cross_entropy", x, t, reduction=reduction)
        assert_close(loss, value, scale=1000, what="loss")
        assert_close(grad, grad_want, what="grad")


@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_fast_cross_entropy_handles_infinite_and_nan_logits_as_torch_does(special, smoothing):
    x = rng(3).normal(size=(4, 5))
    x[1, 2] = special
    t = np.array([0, 2, 4, 1])
    for reduction in ("none", "mean"):
        kw = {"reduction": reduction, "label_smoothing": smoothing}
        with np.errstate(all="raise"):  # and without a NumPy warning
            mine = fused.cross_entropy(x, t, **kw)
        assert_close(mine, torch_value("cross_entropy", x, t, **kw), what=f"{special} {kw}")


def test_fast_cross_entropy_accepts_what_the_reference_accepts():
    x, t = rng(4).normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    for args in [
        (x.tolist(), t.tolist()),
        (to_torch(x).requires_grad_(), to_torch(t)),
        (x.astype(np.float16), t),
        (x[:, :, None], t[:, None]),
        (np.asfortranarray(x), t),
        (x, t.astype(np.uint8)),
        (x[0], np.array(2)),
        (x[:0], t[:0]),
    ]:
        mine = fused.cross_entropy(*args)
        reference = ce_lib.cross_entropy(*args)
        assert np.asarray(mine).dtype == np.asarray(reference).dtype
        assert_close(mine, np.asarray(reference), what=str(type(args[0])))


CROSS_ENTROPY_ERRORS = [p for p in ERROR_CASES if p.values[0] == "cross_entropy"]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "raises", "name", "torch_type"),
    CROSS_ENTROPY_ERRORS,
    ids=[p.id for p in CROSS_ENTROPY_ERRORS],
)
def test_fast_cross_entropy_raises_the_reference_error(fn, args, kwargs, raises, name, torch_type):
    with pytest.raises(raises) as reference:
        ce_lib.cross_entropy(*args, **kwargs)
    with pytest.raises(raises) as mine:
        fused.cross_entropy(*args, **kwargs)
    assert str(mine.value) == str(reference.value)


def test_fast_cross_entropy_warns_for_elementwise_mean_as_the_reference_does():
    x, t = rng(5).normal(size=(3, 4)), np.array([0, 1, 3])
    with pytest.warns(UserWarning, match="elementwise_mean"):
        mine = fused.cross_entropy(x, t, reduction="elementwise_mean")
    assert_close(mine, np.asarray(ce_lib.cross_entropy(x, t)))


@pytest.mark.parametrize(
    "target",
    [np.array([0, 4, 1]), np.array([0, -1, 1]), np.array([0, -100, 9])],
    ids=["above C", "negative", "beyond C beside an ignored one"],
)
def test_fast_cross_entropy_checks_the_range_of_every_target(target):
    x = rng(6).normal(size=(3, 4))
    with pytest.raises(IndexError, match="target"):
        fused.cross_entropy(x, target)
    with pytest.raises(IndexError, match="target"):
        cross_entropy_with_grad(x, target)


# ==========================================================================
# cross_entropy_with_grad: more parity
# ==========================================================================
@given(case=wide_cases(), g=st.sampled_from([1.0, -0.5]))
def test_loss_and_grad_match_the_reference_on_inputs_of_many_blocks(case, g):
    if case.reduction == "none":
        case.kwargs["reduction"] = "mean"
    with small_blocks_and_threads():
        loss1, grad1 = cross_entropy_with_grad(
            case.input, *case.args, grad_output=g, threads=1, **case.kwargs
        )
        loss2, grad2 = cross_entropy_with_grad(
            case.input, *case.args, grad_output=g, threads=2, **case.kwargs
        )
    assert np.array_equal(loss1, loss2, equal_nan=True) and np.array_equal(
        grad1, grad2, equal_nan=True
    )
    reference = ce_lib.cross_entropy(case.input, *case.args, **case.kwargs)
    assert_close(loss1, np.asarray(reference), scale=_loss_scale(case), what="loss")
    reference_grad = ce_lib.cross_entropy_grad(case.input, *case.args, grad_output=g, **case.kwargs)
    assert_close(grad1, np.asarray(reference_grad), scale=magnitude(reference_grad), what="grad")
    # the same with out=, aliasing the logits
    logits = case.input.copy()
    with small_blocks_and_threads():
        _loss3, grad3 = cross_entropy_with_grad(
            logits, *case.args, grad_output=g, out=logits, threads=2, **case.kwargs
        )
    assert grad3 is logits and np.array_equal(grad3, grad1, equal_nan=True)


# ==========================================================================
# linear_cross_entropy_with_grad: against the unchunked computation and torch autograd
# ==========================================================================
def unchunked(h, W, t, bias=None, class_weight=None, grad_output=None, **kwargs):
    """The same quantities from the reference functions, on the whole N x V logits."""
    z = h @ W.T + (0 if bias is None else bias)
    loss = ce_lib.cross_entropy(z, t, weight=class_weight, **kwargs)
    G = ce_lib.cross_entropy_grad(z, t, weight=class_weight, grad_output=grad_output, **kwargs)
    return loss, G @ W, G.T @ h, None if bias is None else G.sum(axis=0)


def torch_autograd(h, W, t, bias=None, class_weight=None, grad_output=None, **kwargs):
    """loss = F.cross_entropy(F.linear(h, W, b), t); loss.backward(g): the naive computation."""
    leaves = [to_torch(a).requires_grad_() if a is not None else None for a in (h, W, bias)]
    loss = F.cross_entropy(F.linear(*leaves), to_torch(t), weight=to_torch(class_weight), **kwargs)
    loss.backward(None if grad_output is None else torch.tensor(grad_output, dtype=loss.dtype))
    grads = [None if a is None else a.grad.numpy() for a in leaves]
    return (loss.detach().numpy(), *grads)


@st.composite
def linear_cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, d, n_classes = draw(st.integers(0, 9)), draw(st.integers(1, 5)), draw(st.integers(1, 12))
    values = finite_floats(dtype, -3, 3)
    h = draw(arrays(dtype, (n, d), values))
    W = draw(arrays(dtype, (n_classes, d), values))
    ignore_index = draw(st.sampled_from([-100, 0, n_classes + 1]))
    classes = st.integers(0, n_classes - 1)
    t = draw(arrays(np.int64, (n,), st.one_of(classes, classes, st.just(ignore_index))))
    kwargs = {
        "ignore_index": ignore_index,
        "reduction": draw(st.sampled_from(["mean", "sum"])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.0, 0.15, 1.0])),
    }
    if draw(st.booleans()):
        kwargs["bias"] = draw(arrays(dtype, (n_classes,), values))
    if draw(st.booleans()):
        kwargs["class_weight"] = draw(arrays(dtype, (n_classes,), finite_floats(dtype, 0.1, 2)))
    if draw(st.booleans()):
        kwargs["grad_output"] = draw(st.sampled_from([0.5, -2.0]))
    chunks = {
        "chunk_size": draw(st.sampled_from([None, 1, 2, 4])),
        "vocab_chunk_size": draw(st.sampled_from([None, 1, 3, 5])),
    }
    return h, W, t, kwargs, chunks


def assert_linear_matches(mine, want, h, W, what):
    """loss, grad_input, grad_weight, grad_bias: the sums behind them run over up to N, V and d
    terms of size |h| |W|, so the tolerance scales with those."""
    scale = magnitude(h) * magnitude(W) * (h.shape[0] + W.shape[0] + h.shape[1])
    for name, a, b in zip(("loss", "grad_input", "grad_weight", "grad_bias"), mine, want):
        if b is None:
            assert a is None, f"{what}: {name} should be None"
            continue
        assert_close(a, np.asarray(b), scale=scale, what=f"{what}: {name}")


@given(case=linear_cases())
def test_linear_cross_entropy_matches_the_unchunked_reference_and_torch_autograd(case):
    h, W, t, kwargs, chunks = case
    mine = linear_cross_entropy_with_grad(h, W, t, **kwargs, **chunks)
    assert_linear_matches(mine, unchunked(h, W, t, **kwargs), h, W, "vs reference")
    assert_linear_matches(mine, torch_autograd(h, W, t, **kwargs), h, W, "vs torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "chunks",
    [
        {},
        {"chunk_size": 64},
        {"chunk_size": 100, "vocab_chunk_size": 777},
        {"vocab_chunk_size": 5000},
    ],
    ids=["default", "token chunks", "token and vocab chunks", "vocab chunks"],
)
def test_linear_cross_entropy_at_a_realistic_shape(dtype, chunks):
    r = rng(7)
    n, d, n_classes = 300, 32, 5003
    h = r.normal(size=(n, d)).astype(dtype)
    W = (r.normal(size=(n_classes, d)) / np.sqrt(d)).astype(dtype)
    bias = r.normal(size=n_classes).astype(dtype)
    t = r.integers(0, n_classes, size=n)
    t[::9] = -100
    kwargs = {"bias": bias, "label_smoothing": 0.1}
    mine = linear_cross_entropy_with_grad(h, W, t, **kwargs, **chunks)
    assert_linear_matches(mine, unchunked(h, W, t, **kwargs), h, W, "vs reference")
    assert_linear_matches(mine, torch_autograd(h, W, t, **kwargs), h, W, "vs torch")


def test_linear_cross_entropy_does_not_depend_on_chunks_or_threads_beyond_rounding():
    r = rng(8)
    h, W = r.normal(size=(50, 6)), r.normal(size=(40, 6))
    t = r.integers(0, 40, size=50)
    base = linear_cross_entropy_with_grad(h, W, t)
    for kw in [
        {"threads": 2},
        {"chunk_size": 7, "threads": 2},
        {"vocab_chunk_size": 9, "chunk_size": 13},
    ]:
        with small_blocks_and_threads():
            other = linear_cross_entropy_with_grad(h, W, t, **kw)
        for a, b in zip(base[:3], other[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_linear_cross_entropy_with_every_target_ignored(reduction):
    h, W = rng(9).normal(size=(4, 3)), rng(10).normal(size=(5, 3))
    t = np.full(4, -100)
    loss, gh, gw, gb = linear_cross_entropy_with_grad(
        h, W, t, bias=np.zeros(5), reduction=reduction
    )
    want = torch_autograd(h, W, t, bias=np.zeros(5), reduction=reduction)
    assert_close(loss, want[0], what="loss")  # NaN for 'mean', 0 for 'sum'
    assert not gh.any() and not gw.any() and not gb.any()


@pytest.mark.parametrize(
    ("args", "kwargs", "raises", "name"),
    [
        (
            (np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
            {"reduction": "none"},
            ValueError,
            "reduction",
        ),
        (
            (np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
            {"reduction": "avg"},
            ValueError,
            "reduction",
        ),
        ((np.ones((2, 3)), np.ones((4, 2)), np.array([0, 1])), {}, ValueError, "weight"),
        ((np.ones((2, 3)), np.ones((4, 3), np.float32), np.array([0, 1])), {}, TypeError, "weight"),
        ((np.ones((2, 3), np.int64), np.ones((4, 3)), np.array([0, 1])), {}, TypeError, "input"),
        ((np.ones((2, 3)), np.ones((4, 3)), np.array([0, 4])), {}, IndexError, "target"),
        ((np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1], np.int32)), {}, TypeError, "target"),
        ((np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1, 2])), {}, ValueError, "target"),
        (
            (np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
            {"bias": np.ones(3)},
            ValueError,
            "bias",
        ),
        (
            (np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
            {"class_weight": np.ones(3)},
            ValueError,
            "weight",
        ),
        (
            (np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
            {"label_smoothing": 2.0},
            ValueError,
            "label_smoothing",
        ),
    ],
    ids=[
        "reduction none",
        "unknown reduction",
        "d differs",
        "weight dtype",
        "integer input",
        "target out of range",
        "int32 target",
        "target length",
        "bias shape",
        "class_weight shape",
        "label_smoothing above 1",
    ],
)
def test_linear_cross_entropy_rejects_bad_arguments_naming_them(args, kwargs, raises, name):
    with pytest.raises(raises, match=name):
        linear_cross_entropy_with_grad(*args, **kwargs)


def test_linear_cross_entropy_allocates_no_logits_sized_array():
    """Peak NumPy allocation (tracemalloc) stays far below the N x V logits."""
    r = rng(11)
    n, d, n_classes = 1024, 8, 4096
    h = r.normal(size=(n, d)).astype(np.float32)
    W = r.normal(size=(n_classes, d)).astype(np.float32)
    t = r.integers(0, n_classes, size=n)
    logits_bytes = n * n_classes * 4
    for kw, budget in [
        ({"chunk_size": 64}, 0.2),  # a chunk is 1/16 of the logits, and scratch blocks
        ({"chunk_size": 64, "vocab_chunk_size": 512}, 0.02),
    ]:
        tracemalloc.start()
        linear_cross_entropy_with_grad(h, W, t, **kw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        grads = h.nbytes + W.nbytes
        assert peak - grads < budget * logits_bytes, (kw, peak, grads, logits_bytes)
