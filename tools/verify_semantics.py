#!/usr/bin/env python3
"""Executable evidence for the book's page "PyTorch's loss semantics" (semantics.md).

Every statement of semantics.md is checked here against torch (2.13.0, CPU): either a
NumPy re-derivation (float64, rtol/atol 1e-12 unless a check says otherwise, or
bit-for-bit where the page claims bit parity) or, for error behaviour, the exception
type plus the key words of torch's message. The name in brackets on the page, e.g.
[nll_loss_empty_and_all_ignored], is the name of the check (a function in CHECKS)
that proves the statement.

Run:  .venv/bin/python tools/verify_semantics.py   (one line per check; exits 1 if any fails)
`./course test` runs every check as its own test (tests/test_semantics_page.py).
Only numpy and torch are used.
"""
import sys
import traceback
import warnings

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
RTOL = ATOL = 1e-12
# The BCE backward clamps x*(1-x) with a float32 constant, even for float64.
BCE_GRAD_EPS = float(np.float32(1e-12))  # 9.999999960041972e-13

# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def rng(seed):
    return np.random.default_rng(seed)


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=F64)


def as_np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().to(F64).numpy() if x.is_floating_point() else x.numpy()
    return np.asarray(x, dtype=np.float64)


def assert_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    a, e = as_np(actual), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape} != {e.shape}")
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def assert_same_bits(actual, expected, what):
    """Equal values, equal NaN positions and equal signs of zero (NaN sign ignored)."""
    a, e = as_np(actual), np.asarray(expected, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    same = both_nan | ((a == e) & (np.signbit(a) == np.signbit(e)))
    if a.shape != e.shape or not same.all():
        raise AssertionError(f"{what}: not bit-identical\n torch={a}\n numpy={e}")


def assert_raises(fn, exc_type, *fragments):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - we inspect the type below
        if type(exc) is not exc_type:
            raise AssertionError(f"expected {exc_type.__name__}, got {type(exc).__name__}: {exc}")
        for frag in fragments:
            if frag not in str(exc):
                raise AssertionError(f"message lacks {frag!r}: {exc}")
        return
    raise AssertionError(f"no exception; expected {exc_type.__name__}")


def grad_of(fn, x):
    """d(fn(x))/dx via torch autograd, x a float64 array."""
    xt = t64(x).requires_grad_(True)
    fn(xt).backward()
    return xt.grad


# --------------------------------------------------------------------------
# NumPy reference implementations (float64)
# --------------------------------------------------------------------------
def np_log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isinf(m), 0.0, m)  # infinite max is replaced by 0
    return np.squeeze(np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m, axis)


def class_axis(x):
    return 0 if x.ndim == 1 else 1


def weight_view(weight, ndim, axis):
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(weight, dtype=np.float64).reshape(shape)


def np_nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """logp: (C,) | (N, C, d1..dk); target: () | (N, d1..dk) class indices."""
    target = np.asarray(target, dtype=np.int64)
    lp = np.moveaxis(logp[None] if logp.ndim == 1 else logp, 1, -1)  # (..., C)
    tg = target.reshape(1) if logp.ndim == 1 else target
    n_classes = lp.shape[-1]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    valid = tg != ignore_index
    if np.any(valid & ((tg < 0) | (tg >= n_classes))):
        raise IndexError("target out of bounds")
    safe = np.where(valid, tg, 0)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    losses = np.where(valid, -picked * w[safe], 0.0)
    if reduction == "none":
        return losses.reshape(target.shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / np.where(valid, w[safe], 0.0).sum()  # 0/0 -> nan


def np_cross_entropy(logits, target, weight=None, ignore_index=-100,
                     reduction="mean", label_smoothing=0.0):
    """Class-index targets."""
    axis = class_axis(logits)
    logp = np_log_softmax(logits, axis)
    nll = np_nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0.0:  # negative values are silently ignored
        return nll
    n_classes = logits.shape[axis]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    target = np.asarray(target)
    ignored = target == ignore_index
    smooth = np.where(ignored, 0.0, -(logp * weight_view(w, logits.ndim, axis)).sum(axis))
    if reduction == "none":
        smooth_red = smooth
    elif reduction == "sum":
        smooth_red = smooth.sum()
    else:
        kept = target[~ignored]
        denom = len(kept) if weight is None else w[kept].sum()
        smooth_red = smooth.sum() / denom
    return (1 - label_smoothing) * nll + smooth_red * (label_smoothing / n_classes)


def np_cross_entropy_probs(logits, target, weight=None, reduction="mean", label_smoothing=0.0):
    """Probability targets (target.shape == logits.shape)."""
    axis = class_axis(logits)
    n_classes = logits.shape[axis]
    logp = np_log_softmax(logits, axis)
    q = target * (1 - label_smoothing) + label_smoothing / n_classes if label_smoothing > 0 else target
    prod = logp * q
    if weight is not None:
        prod = prod * weight_view(weight, logits.ndim, axis)
    if reduction == "none":
        return -prod.sum(axis)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum() / (logits.size / n_classes)  # N * d1 * ... * dk, never weights


def np_bce(x, y, weight=None, reduction="mean"):
    log_x = np.maximum(np.log(x), -100.0)
    log_1mx = np.maximum(np.log1p(-x), -100.0)
    loss = (y - 1) * log_1mx - y * log_x
    if weight is not None:
        loss = loss * weight
    return reduce_np(loss, reduction)


def np_bce_grad(x, y, weight=None, reduction="mean"):
    g = (x - y) / np.maximum((1 - x) * x, BCE_GRAD_EPS)
    if weight is not None:
        g = g * weight
    return g / x.size if reduction == "mean" else g


def np_log_sigmoid(x):
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_bce_logits(x, y, weight=None, pos_weight=None, reduction="mean"):
    log_sig = np_log_sigmoid(x)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * y + 1)
    loss = (1 - y) * x - log_sig
    if weight is not None:
        loss = loss * weight
    return reduce_np(loss, reduction)


def np_bce_logits_grad(x, y, weight=None, pos_weight=None, reduction="mean"):
    if pos_weight is None:
        g = np_sigmoid(x) - y
    else:
        py = pos_weight * y
        g = (py + 1 - y) * np_sigmoid(x) - py
    if weight is not None:
        g = g * weight
    g = np.broadcast_to(g, x.shape)
    return g / x.size if reduction == "mean" else g


def np_xlogy(a, b):
    out = a * np.log(b)
    return np.where((a == 0) & ~np.isnan(b), 0.0, out)


def np_kl_div(inp, target, reduction="mean", log_target=False):
    if log_target:
        out = np.exp(target) * (target - inp)
    else:
        out = np_xlogy(target, target) - target * inp
    if reduction == "batchmean":
        return out.sum() / inp.shape[0] if inp.ndim else out.sum()
    return reduce_np(out, reduction)


def reduce_np(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if loss.size else np.float64(np.nan)


def np_ce_grad(logits, target, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """Analytic d(cross_entropy)/d(logits) for class-index targets, (N, C, ...) input."""
    axis = 1
    n_classes = logits.shape[axis]
    p = np_softmax(logits, axis)
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    onehot = np.moveaxis(np.eye(n_classes)[safe], -1, axis)
    w_t = np.expand_dims(w[safe], axis)
    wv = weight_view(w, logits.ndim, axis)
    eps_used = max(eps, 0.0)
    grad = (1 - eps_used) * w_t * (p - onehot) + (eps_used / n_classes) * (w.sum() * p - wv)
    if reduction == "mean":
        grad = grad / np.where(valid, w[safe], 0.0).sum()
    return np.where(np.expand_dims(valid, axis), grad, 0.0)  # ignored positions: exactly 0


def np_ce_prob_grad(logits, target, weight=None, reduction="mean", eps=0.0):
    axis = class_axis(logits)
    n_classes = logits.shape[axis]
    p = np_softmax(logits, axis)
    q = target * (1 - eps) + eps / n_classes if eps > 0 else target
    wv = np.ones_like(q) if weight is None else weight_view(weight, logits.ndim, axis)
    grad = p * np.sum(wv * q, axis=axis, keepdims=True) - wv * q
    return grad / (logits.size / n_classes) if reduction == "mean" else grad


# Reduced-precision helpers ------------------------------------------------
def round_bf16(a):
    """Round float32 values to the nearest bfloat16 (ties to even), as float32."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def rounder(dtype):
    if dtype == torch.float16:
        return lambda a: np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float32)
    return round_bf16


def sum_f32(a, axis, keepdims=False):
    return np.sum(a.astype(np.float64), axis=axis, keepdims=keepdims).astype(np.float32)


def log_softmax_last_dim_reduced(xf, rnd):
    """torch's float16/bfloat16 log_softmax over the last dim (float32 math, xf float32)."""
    m = xf.max(-1, keepdims=True)
    lse = rnd(np.log(rnd(sum_f32(np.exp(xf - m), -1, keepdims=True))))
    return rnd((xf - m) - lse)


def ulp_distance(a, b):
    """a, b: float16/bfloat16 tensors of one sign; distance in units in the last place."""
    return (a.view(torch.int16).int() - b.view(torch.int16).int()).abs().max().item()


def cascade_sum(values, positions, n_positions, dtype):
    """torch's CPU nll_loss accumulator: 8 partial sums, carried up every 16 positions.

    values are added in the loss dtype; `positions` are the flat indices of the
    non-ignored targets (ignored positions never trigger a carry)."""
    levels = 8
    level_power = max(4, (n_positions - 1).bit_length() // levels)
    level_mask = (1 << level_power) - 1
    partial = [dtype(0)] * levels
    for value, pos in zip(values, positions):
        partial[0] = dtype(partial[0] + value)
        for j in range(levels - 1):
            if pos & (level_mask << (j * level_power)):
                break
            partial[j + 1] = dtype(partial[j + 1] + partial[j])
            partial[j] = dtype(0)
    total = dtype(0)
    for value in partial:
        total = dtype(total + value)
    return total


def nll_loss_bitexact(logp, target, weight, ignore_index, reduction, dtype):
    """Bit-exact NumPy model of torch's CPU nll_loss 'sum'/'mean' in `dtype`."""
    n_classes = logp.shape[1]
    flat_lp = np.moveaxis(logp, 1, -1).reshape(-1, n_classes)
    flat_t = target.reshape(-1)
    losses, weights, positions = [], [], []
    for pos, cls in enumerate(flat_t):
        if cls == ignore_index:
            continue
        if weight is None:
            losses.append(dtype(-flat_lp[pos, cls]))
        else:
            losses.append(dtype(-dtype(flat_lp[pos, cls] * weight[cls])))
            weights.append(weight[cls])
        positions.append(pos)
    total = cascade_sum(losses, positions, len(flat_t), dtype)
    if reduction == "sum":
        return total
    denom = dtype(len(positions)) if weight is None else cascade_sum(weights, positions, len(flat_t), dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return dtype(total / denom)


# --------------------------------------------------------------------------
# 1. softmax / log_softmax / logsumexp
# --------------------------------------------------------------------------
@check
def softmax_family_formulas_float64():
    r = rng(1)
    for shape in [(7,), (4, 9), (3, 5, 6), (2, 3, 4, 5)]:
        x = r.normal(scale=5.0, size=shape)
        for dim in range(len(shape)):
            assert_close(F.log_softmax(t64(x), dim), np_log_softmax(x, dim), f"log_softmax {shape} {dim}")
            assert_close(F.softmax(t64(x), dim), np_softmax(x, dim), f"softmax {shape} {dim}")
            assert_close(torch.logsumexp(t64(x), dim), np_logsumexp(x, dim), f"logsumexp {shape} {dim}")
    big = np.array([[1000.0, 1000.5, -1000.0]])
    assert_close(F.log_softmax(t64(big), 1), np_log_softmax(big, 1), "no overflow")


@check
def softmax_family_special_values():
    inf, nan = np.inf, np.nan
    rows = np.array([
        [-inf, -inf, -inf],   # all -inf
        [inf, 1.0, 2.0],      # a +inf entry
        [inf, inf, 0.0],
        [nan, 1.0, 2.0],
        [1.0, 2.0, -inf],     # -inf next to finite values
        [inf, -inf, 0.0],
    ])
    with np.errstate(invalid="ignore"):
        assert_close(F.log_softmax(t64(rows), 1), np_log_softmax(rows, 1), "log_softmax specials")
        assert_close(F.softmax(t64(rows), 1), np_softmax(rows, 1), "softmax specials")
        assert_close(torch.logsumexp(t64(rows), 1), np_logsumexp(rows, 1), "logsumexp specials")
    # spelled out: only the -inf/finite row survives softmax; logsumexp keeps +-inf
    assert np.isnan(as_np(F.softmax(t64(rows), 1))[[0, 1, 2, 3, 5]]).all()
    assert as_np(torch.logsumexp(t64(rows), 1)).tolist()[:3] == [-inf, inf, inf]
    assert torch.logsumexp(torch.empty(2, 0), 1).tolist() == [-inf, -inf]
    assert F.softmax(torch.empty(2, 0), 1).shape == (2, 0)


@check
def softmax_family_dtypes():
    x = torch.randn(3, 5)
    for dt in (torch.float16, torch.bfloat16, torch.float32, F64):
        xd = x.to(dt)
        assert F.log_softmax(xd, 1).dtype == dt and F.softmax(xd, 1).dtype == dt
        assert torch.logsumexp(xd, 1).dtype == dt
        # dtype= casts the input first, then computes in that dtype
        assert_same_bits(F.log_softmax(xd, 1, dtype=F64), F.log_softmax(xd.to(F64), 1), "dtype=")
        assert_same_bits(F.softmax(xd, 1, dtype=F64), F.softmax(xd.to(F64), 1), "dtype=")
    ints = torch.tensor([[1, 2], [3, 4]])
    for fn in (F.softmax, F.log_softmax):
        assert_raises(lambda: fn(ints, 1), NotImplementedError, "not implemented for 'Long'")
    assert torch.logsumexp(ints, 1).dtype == torch.float32  # integers promote to default float


@check
def float32_is_computed_in_float32():
    r = rng(2)
    x = (r.normal(size=(64, 300)) * 3).astype(np.float32)
    for dim in (0, 1):
        x32 = torch.from_numpy(x)
        for got, ref64 in ((F.log_softmax(x32, dim), np_log_softmax(x.astype(np.float64), dim)),
                           (F.softmax(x32, dim), np_softmax(x.astype(np.float64), dim)),
                           (torch.logsumexp(x32, dim), np_logsumexp(x.astype(np.float64), dim))):
            got = got.numpy()
            assert (got != ref64.astype(np.float32)).any(), "unexpectedly float64-exact"
            err = np.abs(got - ref64) / np.maximum(1.0, np.abs(ref64))
            assert err.max() < 8 * np.finfo(np.float32).eps, err.max()


@check
def reduced_precision_recipes():
    r = rng(3)
    for dt in (torch.float16, torch.bfloat16):
        rnd = rounder(dt)
        for trial in range(6):
            rows, cols = int(r.integers(1, 120)), int(r.integers(1, 300))
            x = (torch.from_numpy(r.normal(size=(rows, cols)).astype(np.float32)) * 3).to(dt)
            xf = x.float().numpy()
            # log_softmax over the last dim: log-sum-exp is rounded to dt twice
            assert_same_bits(F.log_softmax(x, 1).float(), log_softmax_last_dim_reduced(xf, rnd), f"{dt} lsm last")
            # log_softmax over another dim: float32 throughout, one final rounding
            m0 = xf.max(0, keepdims=True)
            s0 = sum_f32(np.exp(xf - m0), 0, keepdims=True)
            assert_same_bits(F.log_softmax(x, 0).float(), rnd((xf - m0) - np.log(s0)), f"{dt} lsm dim0")
            # logsumexp: each elementwise step rounds to dt, the sum accumulates in float32
            for dim in (0, 1):
                md = xf.max(dim, keepdims=True)
                e = rnd(np.exp(rnd(xf - md)))
                ref = rnd(rnd(np.log(rnd(sum_f32(e, dim)))) + md.squeeze(dim))
                assert_same_bits(torch.logsumexp(x, dim).float(), ref, f"{dt} logsumexp {dim}")
            # softmax: float32 exp and sum; within 1 ulp of these recipes
            e1 = np.exp(xf - xf.max(1, keepdims=True))
            ref_last = torch.from_numpy(rnd(e1 / sum_f32(e1, 1, keepdims=True))).to(dt)
            assert ulp_distance(F.softmax(x, 1), ref_last) <= 1
            e0 = np.exp(xf - m0)
            ref_0 = torch.from_numpy(rnd(rnd(e0) / sum_f32(e0, 0, keepdims=True))).to(dt)
            assert ulp_distance(F.softmax(x, 0), ref_0) <= 1


# --------------------------------------------------------------------------
# 2. nll_loss
# --------------------------------------------------------------------------
def random_case(r, shape, n_classes, ignore_frac=0.25, ignore_index=-100):
    """Random (logits, target) with class axis 1 (or 0 for 1-D)."""
    if shape == ():
        logits = r.normal(size=(n_classes,))
        target = np.array(r.integers(0, n_classes))
        return logits, target
    logits = r.normal(scale=2.0, size=(shape[0], n_classes) + shape[1:])
    target = r.integers(0, n_classes, size=shape)
    target[r.random(shape) < ignore_frac] = ignore_index
    return logits, target


SHAPES = [(), (6,), (5, 3), (4, 3, 2), (2, 2, 3, 2)]


@check
def nll_loss_formula_all_shapes():
    r = rng(4)
    for shape in SHAPES:
        for use_weight in (False, True):
            for reduction in ("none", "sum", "mean"):
                for ignore_index in (-100, 1):
                    logits, target = random_case(r, shape, 4, ignore_index=ignore_index)
                    logp = np_log_softmax(logits, class_axis(logits))
                    w = r.random(4) + 0.1 if use_weight else None
                    got = F.nll_loss(t64(logp), torch.from_numpy(np.asarray(target)),
                                     weight=None if w is None else t64(w),
                                     ignore_index=ignore_index, reduction=reduction)
                    want = np_nll_loss(logp, target, w, ignore_index, reduction)
                    assert_close(got, want, f"nll {shape} w={use_weight} {reduction} ii={ignore_index}")
    # 1-D input: target () or (1,), uint8 allowed; the result is 0-d for every reduction
    logp1 = F.log_softmax(torch.randn(4, dtype=F64), 0)
    for target in (torch.tensor(2), torch.tensor([2]), torch.tensor(2, dtype=torch.uint8)):
        for reduction in ("none", "sum", "mean"):
            out = F.nll_loss(logp1, target, reduction=reduction)
            assert out.shape == () and out.item() == -logp1[2].item()


@check
def nll_loss_bitexact_accumulation():
    r = rng(5)
    for dt, npdt in ((torch.float32, np.float32), (torch.float16, np.float16), (F64, np.float64)):
        for shape in [(1,), (17,), (300,), (40, 6), (5, 7, 9)]:
            for use_weight in (False, True):
                logits, target = random_case(r, shape, 5, ignore_frac=0.2)
                x = torch.from_numpy(logits * 2).to(dt)
                w = torch.from_numpy(r.random(5) * 2).to(dt) if use_weight else None
                for reduction in ("sum", "mean"):
                    got = F.nll_loss(x, torch.from_numpy(target), weight=w, reduction=reduction)
                    want = nll_loss_bitexact(x.numpy(), target, None if w is None else w.numpy(),
                                             -100, reduction, npdt)
                    assert_same_bits(got.to(F64), np.float64(want), f"bit-exact nll {dt} {shape}")


@check
def cross_entropy_float16_bitexact():
    """float16 (N, C) cross_entropy = the log_softmax recipe followed by the nll accumulator."""
    r = rng(25)
    rnd = rounder(torch.float16)
    for trial in range(20):
        n, c = int(r.integers(1, 300)), int(r.integers(1, 40))
        x = torch.from_numpy(r.normal(size=(n, c)).astype(np.float32) * 3).half()
        target = r.integers(0, c, size=n)
        target[r.random(n) < 0.2] = -100
        logp = log_softmax_last_dim_reduced(x.float().numpy(), rnd).astype(np.float16)
        for reduction in ("sum", "mean"):
            got = F.cross_entropy(x, torch.from_numpy(target), reduction=reduction)
            want = nll_loss_bitexact(logp, target, None, -100, reduction, np.float16)
            assert_same_bits(got.to(F64), np.float64(want), f"float16 ce {n}x{c} {reduction}")


@check
def nll_loss_reduced_precision_accumulator():
    """Sums and counts live in the input dtype: large batches saturate or overflow."""
    for dt, n, sum_val, mean_val in ((torch.bfloat16, 257, 256.0, 1.0),
                                     (torch.float16, 2049, 2048.0, 1.0),
                                     (torch.float16, 70000, np.inf, np.nan)):
        x = torch.full((n, 2), -1.0, dtype=dt)
        t = torch.zeros(n, dtype=torch.long)
        assert_same_bits(F.nll_loss(x, t, reduction="sum").to(F64), sum_val, f"{dt} sum of {n}")
        assert_same_bits(F.nll_loss(x, t).to(F64), mean_val, f"{dt} mean of {n}")
    x16 = torch.full((70000, 2), -1.0, dtype=torch.float16)
    want = nll_loss_bitexact(x16.numpy(), np.zeros(70000, dtype=np.int64), None, -100, "sum", np.float16)
    assert np.isinf(want)
    assert F.nll_loss(torch.full((2049, 2), -1.0), torch.zeros(2049, dtype=torch.long)).item() == 1.0


@check
def nll_loss_empty_and_all_ignored():
    x = t64(np.random.default_rng(6).normal(size=(3, 4)))
    ignored = torch.full((3,), -100)
    w = t64([0.5, 1.0, 2.0, 3.0])
    for weight in (None, w):
        assert F.nll_loss(x, ignored, weight=weight, reduction="none").tolist() == [0.0] * 3
        assert F.nll_loss(x, ignored, weight=weight, reduction="sum").item() == 0.0
        assert torch.isnan(F.nll_loss(x, ignored, weight=weight, reduction="mean"))
    empty = torch.empty(0, 4, dtype=F64)
    no_t = torch.empty(0, dtype=torch.long)
    assert F.nll_loss(empty, no_t, reduction="none").shape == (0,)
    assert F.nll_loss(empty, no_t, reduction="sum").item() == 0.0
    assert torch.isnan(F.nll_loss(empty, no_t, reduction="mean"))
    empty_sp, no_t_sp = torch.empty(0, 4, 2), torch.empty(0, 2, dtype=torch.long)
    assert torch.isnan(F.nll_loss(empty_sp, no_t_sp))
    assert F.nll_loss(empty_sp, no_t_sp, reduction="none").shape == (0, 2)
    assert F.nll_loss(empty_sp, no_t_sp, reduction="sum").item() == 0.0
    # weights summing to zero: plain division, so nan (0/0) or +-inf
    zeros = torch.zeros(4, dtype=F64)
    assert torch.isnan(F.nll_loss(x, torch.tensor([0, 1, 2]), weight=zeros))
    signed = F.nll_loss(t64([[-1.0, -2.0], [-3.0, -4.0]]), torch.tensor([0, 1]), weight=t64([1.0, -1.0]))
    assert signed.item() == -np.inf
    # a zero weight times a positive logit gives -0.0 in 'none'
    per = F.nll_loss(t64([[1.0, -1.0]]), torch.tensor([0]), weight=t64([0.0, 1.0]), reduction="none")
    assert np.signbit(per.item())


@check
def nll_loss_target_dtypes_and_ignore_index():
    x = t64(np.random.default_rng(7).normal(size=(3, 4)))
    logp = np_log_softmax(as_np(x), 1)
    u8 = F.nll_loss(F.log_softmax(x, 1), torch.tensor([0, 1, 2], dtype=torch.uint8))
    assert_close(u8, np_nll_loss(logp, np.array([0, 1, 2])), "uint8 targets")
    for bad in (torch.int32, torch.int16):
        assert_raises(lambda: F.nll_loss(x, torch.tensor([0, 1, 2], dtype=bad)), RuntimeError,
                      "expected target dtype to be Long or Byte, but got")
    assert_raises(lambda: F.nll_loss(torch.randn(2, 4, 3), torch.zeros(2, 3, dtype=torch.uint8)),
                  RuntimeError, "expected scalar type Long but found Byte")
    # ignore_index may be any integer, e.g. one beyond the class range
    got = F.nll_loss(x, torch.tensor([0, 1, 7]), ignore_index=7, reduction="none")
    assert_close(got, [-as_np(x)[0, 0], -as_np(x)[1, 1], 0.0], "out-of-range ignore_index")
    for t in ([0, 1, 4], [0, 1, -1]):
        for reduction in ("none", "sum", "mean"):
            assert_raises(lambda: F.nll_loss(x, torch.tensor(t), reduction=reduction), IndexError,
                          f"Target {t[-1]} is out of bounds.")


# --------------------------------------------------------------------------
# 3. cross_entropy, class-index targets
# --------------------------------------------------------------------------
@check
def cross_entropy_is_nll_of_log_softmax():
    r = rng(8)
    for shape in SHAPES:
        for use_weight in (False, True):
            for reduction in ("none", "sum", "mean"):
                logits, target = random_case(r, shape, 5)
                w = r.random(5) + 0.1 if use_weight else None
                got = F.cross_entropy(t64(logits), torch.from_numpy(np.asarray(target)),
                                      weight=None if w is None else t64(w), reduction=reduction)
                assert_close(got, np_cross_entropy(logits, target, w, reduction=reduction),
                             f"ce {shape} {reduction} w={use_weight}")


@check
def cross_entropy_label_smoothing():
    r = rng(9)
    for shape in SHAPES:
        for eps in (0.1, 0.45, 1.0):
            for use_weight in (False, True):
                for reduction in ("none", "sum", "mean"):
                    for ignore_index in (-100, 2):
                        logits, target = random_case(r, shape, 5, ignore_index=ignore_index)
                        w = r.random(5) + 0.1 if use_weight else None
                        got = F.cross_entropy(t64(logits), torch.from_numpy(np.asarray(target)),
                                              weight=None if w is None else t64(w),
                                              ignore_index=ignore_index, reduction=reduction,
                                              label_smoothing=eps)
                        want = np_cross_entropy(logits, target, w, ignore_index, reduction, eps)
                        assert_close(got, want, f"ce-ls {shape} eps={eps} {reduction} w={use_weight}")


@check
def cross_entropy_label_smoothing_edges():
    x = t64(np.random.default_rng(10).normal(size=(3, 4)))
    t = torch.tensor([0, 1, -100])
    plain = F.cross_entropy(x, t)
    assert F.cross_entropy(x, t, label_smoothing=-0.1).item() == plain.item()  # silently ignored
    assert_raises(lambda: F.cross_entropy(x, t, label_smoothing=1.5), RuntimeError,
                  "label_smoothing must be between 0.0 and 1.0. Got: 1.5")
    # target dtype / range / weight errors are nll_loss's, also on the smoothing path
    assert_raises(lambda: F.cross_entropy(x, t.int(), label_smoothing=0.1), RuntimeError,
                  "expected target dtype to be Long or Byte, but got Int")
    assert_raises(lambda: F.cross_entropy(x, torch.tensor([0, 1, 7]), label_smoothing=0.1), IndexError,
                  "Target 7 is out of bounds.")
    assert_raises(lambda: F.cross_entropy(x, t, weight=torch.ones(5, dtype=F64), label_smoothing=0.1),
                  RuntimeError, "weight tensor should be defined either for all 4 classes")
    allign = torch.full((3,), -100)
    assert torch.isnan(F.cross_entropy(x, allign, label_smoothing=0.2))
    assert F.cross_entropy(x, allign, label_smoothing=0.2, reduction="sum").item() == 0.0
    assert torch.isnan(F.cross_entropy(torch.empty(0, 4), torch.empty(0, dtype=torch.long), label_smoothing=0.2))
    # same numerator as a probability target holding the one-hot label; only the
    # 'mean' denominator differs (sum of target weights here, N for probabilities)
    w = t64([0.5, 1.0, 2.0, 3.0])
    tt = torch.tensor([0, 3, 1])
    onehot = F.one_hot(tt, 4).to(F64)
    for reduction in ("none", "sum"):
        assert_close(F.cross_entropy(x, tt, weight=w, reduction=reduction, label_smoothing=0.3),
                     F.cross_entropy(x, onehot, weight=w, reduction=reduction, label_smoothing=0.3), reduction)
    by_index = F.cross_entropy(x, tt, weight=w, label_smoothing=0.3)
    by_prob = F.cross_entropy(x, onehot, weight=w, label_smoothing=0.3)
    assert_close(by_index * w[tt].sum(), by_prob * 3, "mean denominators")
    # a -inf logit (masked class) makes the smoothing term, and the loss, infinite
    masked = t64([[-np.inf, 0.0, 1.0]])
    assert np.isfinite(F.cross_entropy(masked, torch.tensor([1])).item())
    assert F.cross_entropy(masked, torch.tensor([1]), label_smoothing=0.1).item() == np.inf


# --------------------------------------------------------------------------
# 4. cross_entropy, probability targets
# --------------------------------------------------------------------------
@check
def cross_entropy_probability_targets():
    r = rng(11)
    for shape in [(5,), (4, 5), (3, 5, 2), (2, 5, 2, 3)]:
        logits = r.normal(scale=2.0, size=shape)
        target = np_softmax(r.normal(size=shape), class_axis(logits))
        for eps in (0.0, 0.25):
            for use_weight in (False, True):
                for reduction in ("none", "sum", "mean"):
                    w = r.random(5) + 0.1 if use_weight else None
                    got = F.cross_entropy(t64(logits), t64(target), weight=None if w is None else t64(w),
                                          reduction=reduction, label_smoothing=eps)
                    want = np_cross_entropy_probs(logits, target, w, reduction, eps)
                    assert_close(got, want, f"ce-prob {shape} eps={eps} {reduction} w={use_weight}")


@check
def cross_entropy_probability_target_edges():
    r = rng(12)
    logits = r.normal(size=(3, 4))
    p = np_softmax(r.normal(size=(3, 4)), 1)
    x, pt = t64(logits), t64(p)
    # unnormalised or negative "probabilities" are accepted as-is
    assert_close(F.cross_entropy(x, pt * 3), np_cross_entropy_probs(logits, p * 3), "sum != 1")
    assert_close(F.cross_entropy(x, -pt), np_cross_entropy_probs(logits, -p), "negative")
    # negative ignore_index values are accepted (and do nothing); >= 0 is an error
    assert F.cross_entropy(x, pt, ignore_index=-1).item() == F.cross_entropy(x, pt).item()
    assert_raises(lambda: F.cross_entropy(x, pt, ignore_index=0), RuntimeError,
                  "ignore_index is not supported for floating point target")
    assert F.cross_entropy(x, pt, label_smoothing=-0.3).item() == F.cross_entropy(x, pt).item()
    # the target may have another float dtype; the result has the promoted dtype
    assert F.cross_entropy(x, pt.float()).dtype == F64
    assert F.cross_entropy(x.float(), pt).dtype == F64
    assert_raises(lambda: F.cross_entropy(x, torch.ones(3, 4, dtype=torch.long)), RuntimeError,
                  "Expected floating point type for target with class probabilities, got Long")
    assert torch.isnan(F.cross_entropy(torch.empty(0, 4), torch.empty(0, 4)))
    empty_sum = F.cross_entropy(torch.empty(0, 4), torch.empty(0, 4), reduction="sum")
    assert empty_sum.item() == 0.0 and np.signbit(empty_sum.item())  # -0.0
    # the probability path is chosen purely by shape equality, even for 0-d input
    assert_raises(lambda: F.cross_entropy(torch.tensor(1.0), torch.tensor(0)), RuntimeError,
                  "Expected floating point type for target with class probabilities")


# --------------------------------------------------------------------------
# 5. binary_cross_entropy
# --------------------------------------------------------------------------
@check
def bce_formula_and_clamp():
    x = np.array([0.0, 1e-50, 1e-17, 0.3, 1 - 1e-16, 1.0])
    for y_val in (0.0, 0.25, 0.5, 1.0):
        y = np.full_like(x, y_val)
        with np.errstate(divide="ignore"):
            want = np_bce(x, y, reduction="none")
        assert_same_bits(F.binary_cross_entropy(t64(x), t64(y), reduction="none"), want, f"bce y={y_val}")
    # log1p(-x), not log(1 - x): visible for tiny x with y = 0
    tiny = F.binary_cross_entropy(t64([1e-17]), t64([0.0]), reduction="none").item()
    assert tiny == 1e-17 and -np.log(1 - 1e-17) == 0.0
    # each log is clamped at -100 before the multiplication by y or (1 - y)
    half = F.binary_cross_entropy(t64([0.0, 1.0]), t64([0.5, 0.5]), reduction="none")
    assert half.tolist() == [50.0, 50.0]
    assert F.binary_cross_entropy(torch.tensor([1e-44]), torch.tensor([1.0])).item() == 100.0


@check
def bce_weight_and_reductions():
    r = rng(13)
    x, y = r.random((4, 3)), r.random((4, 3))
    for w in (None, r.random(3), r.random((4, 1)), r.random((4, 3))):
        for reduction in ("none", "sum", "mean"):
            got = F.binary_cross_entropy(t64(x), t64(y), weight=None if w is None else t64(w),
                                         reduction=reduction)
            assert_close(got, np_bce(x, y, w, reduction), f"bce weight {reduction}")
    assert torch.isnan(F.binary_cross_entropy(torch.empty(0), torch.empty(0)))
    assert F.binary_cross_entropy(torch.empty(0), torch.empty(0), reduction="sum").item() == 0.0


@check
def bce_errors():
    ok = t64([0.5])
    for bad in (1.5, -0.1, np.nan):
        assert_raises(lambda: F.binary_cross_entropy(t64([bad]), ok), RuntimeError,
                      "all elements of input should be between 0 and 1")
    for bad in (2.0, -1.0):
        assert_raises(lambda: F.binary_cross_entropy(ok, t64([bad])), RuntimeError,
                      "all elements of target should be between 0 and 1")
    assert_raises(lambda: F.binary_cross_entropy(torch.rand(3), torch.rand(3, 1)), ValueError,
                  "Using a target size (torch.Size([3, 1])) that is different to the input size "
                  "(torch.Size([3])) is deprecated")
    assert_raises(lambda: F.binary_cross_entropy(torch.rand(3, dtype=F64), torch.rand(3)),
                  RuntimeError, "Found dtype Float but expected Double")
    assert_raises(lambda: F.binary_cross_entropy(torch.rand(3), torch.rand(3), weight=torch.rand(2, 3)),
                  RuntimeError, "doesn't match the broadcast shape")


@check
def bce_gradient():
    x = np.array([0.0, 1e-50, 0.3, 0.5, 1 - 1e-16, 1.0])
    for y_val in (0.0, 0.5, 1.0):
        y = np.full_like(x, y_val)
        for reduction in ("sum", "mean"):
            got = grad_of(lambda xt: F.binary_cross_entropy(xt, t64(y), reduction=reduction), x)
            assert_close(got, np_bce_grad(x, y, reduction=reduction), f"bce grad y={y_val}")
    # the clamp constant is float32(1e-12): x=0, y=1 -> -1/9.99999996e-13
    g = grad_of(lambda xt: F.binary_cross_entropy(xt, t64([1.0, 0.0]), reduction="sum"), np.array([0.0, 1.0]))
    assert g.tolist() == [-1 / BCE_GRAD_EPS, 1 / BCE_GRAD_EPS]
    r = rng(14)
    x, y, w = r.random((3, 4)), r.random((3, 4)), r.random(4)
    got = grad_of(lambda xt: F.binary_cross_entropy(xt, t64(y), weight=t64(w)), x)
    assert_close(got, np_bce_grad(x, y, w, "mean"), "bce grad weighted mean")


# --------------------------------------------------------------------------
# 6. binary_cross_entropy_with_logits
# --------------------------------------------------------------------------
@check
def bce_with_logits_formula():
    r = rng(15)
    x, y = r.normal(scale=4.0, size=(5, 3)), r.random((5, 3))
    for w in (None, r.random(3), r.random((5, 1))):
        for pw in (None, r.random(3) * 3, r.random((5, 1)) * 3):
            for reduction in ("none", "sum", "mean"):
                got = F.binary_cross_entropy_with_logits(
                    t64(x), t64(y), weight=None if w is None else t64(w),
                    pos_weight=None if pw is None else t64(pw), reduction=reduction)
                assert_close(got, np_bce_logits(x, y, w, pw, reduction), f"bcel {reduction}")
    # targets are not range-checked
    assert_close(F.binary_cross_entropy_with_logits(t64([0.3, 0.3]), t64([2.0, -1.0]), reduction="none"),
                 np_bce_logits(np.array([0.3, 0.3]), np.array([2.0, -1.0]), reduction="none"), "y out of [0,1]")


@check
def bce_with_logits_extremes():
    x = np.array([-np.inf, -1e4, -50.0, 0.0, 50.0, 1e4, np.inf])
    for y_val in (0.0, 0.5, 1.0):
        y = np.full_like(x, y_val)
        for pw in (None, np.array([3.0])):
            with np.errstate(invalid="ignore", over="ignore"):
                want = np_bce_logits(x, y, pos_weight=pw, reduction="none")
            got = F.binary_cross_entropy_with_logits(t64(x), t64(y), pos_weight=None if pw is None else t64(pw),
                                                     reduction="none")
            assert_same_bits(got, want, f"bcel extremes y={y_val} pw={pw}")
    # NaN for x=-inf (any y) and x=+inf with y>0; +inf for x=+inf, y=0
    row = F.binary_cross_entropy_with_logits(t64([-np.inf, np.inf, np.inf]), t64([0.0, 0.0, 1.0]), reduction="none")
    assert np.isnan(row[0].item()) and row[1].item() == np.inf and np.isnan(row[2].item())
    assert F.binary_cross_entropy_with_logits(t64([-1e4]), t64([1.0])).item() == 1e4


@check
def bce_with_logits_gradient():
    r = rng(16)
    x, y = r.normal(scale=3.0, size=(4, 3)), r.random((4, 3))
    w, pw = r.random(3), r.random(3) * 4
    for kw in ({}, {"pos_weight": pw}, {"weight": w, "pos_weight": pw}):
        for reduction in ("sum", "mean"):
            tkw = {k: t64(v) for k, v in kw.items()}
            got = grad_of(lambda xt: F.binary_cross_entropy_with_logits(xt, t64(y), reduction=reduction, **tkw), x)
            assert_close(got, np_bce_logits_grad(x, y, reduction=reduction, **kw), f"bcel grad {kw.keys()}")
    ext = np.array([-np.inf, -1e4, 1e4, np.inf])
    with np.errstate(over="ignore"):
        want = np_bce_logits_grad(ext, np.full(4, 1.0), pos_weight=np.array([2.0]), reduction="sum")
    got = grad_of(lambda xt: F.binary_cross_entropy_with_logits(xt, t64(np.ones(4)), pos_weight=t64([2.0]),
                                                                reduction="sum"), ext)
    assert_same_bits(got, want, "bcel grad finite at +-inf")


@check
def bce_with_logits_shapes_and_dtypes():
    x = torch.randn(2, 3, dtype=F64)
    assert_raises(lambda: F.binary_cross_entropy_with_logits(x, torch.rand(3, dtype=F64)), ValueError,
                  "Target size (torch.Size([3])) must be the same as input size (torch.Size([2, 3]))")
    assert_raises(lambda: F.binary_cross_entropy_with_logits(x, torch.rand(2, 3, dtype=F64),
                                                             pos_weight=torch.rand(2, dtype=F64)),
                  RuntimeError, "must match the size of tensor b (3) at non-singleton dimension 1")
    assert_raises(lambda: F.binary_cross_entropy_with_logits(x, torch.rand(2, 3, dtype=F64),
                                                             pos_weight=torch.rand(4, 2, 3, dtype=F64)),
                  RuntimeError, "doesn't match the broadcast shape")
    assert_raises(lambda: F.binary_cross_entropy_with_logits(x, torch.ones(2, 3, dtype=torch.long)),
                  RuntimeError, "result type Double can't be cast to the desired output type Long")
    # the loss is built in the target's buffer: a float32 target gives a float32 loss
    assert F.binary_cross_entropy_with_logits(x, torch.rand(2, 3)).dtype == torch.float32
    assert F.binary_cross_entropy_with_logits(x.float(), torch.rand(2, 3, dtype=F64)).dtype == F64


# --------------------------------------------------------------------------
# 7. kl_div
# --------------------------------------------------------------------------
@check
def kl_div_formula_and_reductions():
    r = rng(17)
    for shape in [(4,), (3, 5), (2, 3, 4)]:
        inp = np_log_softmax(r.normal(size=shape), -1)
        tgt = np_softmax(r.normal(size=shape), -1)
        tgt.flat[0] = 0.0  # 0 * log 0 counts as 0
        for reduction in ("none", "sum", "mean", "batchmean"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = F.kl_div(t64(inp), t64(tgt), reduction=reduction)
                got_log = F.kl_div(t64(inp), t64(np.log(tgt + 0.5)), reduction=reduction, log_target=True)
            assert_close(got, np_kl_div(inp, tgt, reduction), f"kl {shape} {reduction}")
            assert_close(got_log, np_kl_div(inp, np.log(tgt + 0.5), reduction, True), f"kl log {reduction}")
    zero_d = F.kl_div(t64(-1.0), t64(0.5), reduction="batchmean")
    assert_close(zero_d, np_kl_div(np.float64(-1.0), np.float64(0.5), "batchmean"), "0-d batchmean = sum")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.kl_div(t64([[-1.0]]), t64([[1.0]]), reduction="mean")
    assert any("'batchmean' divides only by the batch size" in str(w.message) for w in caught)
    assert torch.isnan(F.kl_div(torch.empty(0, 3), torch.empty(0, 3), reduction="batchmean"))


@check
def kl_div_special_values():
    inf, nan = np.inf, np.nan
    inp = np.array([-1.0, -inf, -1.0, -1.0, -inf])
    tgt = np.array([0.0, 0.0, -0.5, nan, 0.3])
    with np.errstate(invalid="ignore"):
        want = np_kl_div(inp, tgt, "none")
    assert_same_bits(F.kl_div(t64(inp), t64(tgt), reduction="none"), want, "kl specials")
    assert np.isnan(as_np(F.kl_div(t64(inp), t64(tgt), reduction="none"))[1:4]).all()
    lt = np.array([-inf, -inf, 0.0])
    li = np.array([-1.0, -inf, -inf])
    with np.errstate(invalid="ignore"):
        want = np_kl_div(li, lt, "none", log_target=True)
    assert_same_bits(F.kl_div(t64(li), t64(lt), reduction="none", log_target=True), want, "kl log specials")
    # broadcasting between input and target is allowed
    a, b = np.random.default_rng(18).normal(size=(2, 3)), np.random.default_rng(19).random(3)
    assert_close(F.kl_div(t64(a), t64(b), reduction="none"), np_kl_div(a, np.broadcast_to(b, (2, 3)), "none"), "bcast")
    assert_close(F.kl_div(t64(b), t64(a), reduction="none"), np_kl_div(np.broadcast_to(b, (2, 3)), a, "none"), "bcast2")
    assert F.kl_div(t64(a), torch.rand(2, 3), reduction="sum").dtype == F64  # dtypes are promoted
    assert_raises(lambda: F.kl_div(torch.randn(2, 3), torch.ones(2, 3, dtype=torch.long), reduction="sum"),
                  RuntimeError,
                  "kl_div: Integral inputs not supported.")


@check
def kl_div_gradient():
    r = rng(20)
    inp = np_log_softmax(r.normal(size=(3, 4)), 1)
    tgt = np_softmax(r.normal(size=(3, 4)), 1)
    scale = {"sum": 1.0, "mean": 1 / inp.size, "batchmean": 1 / inp.shape[0]}
    for reduction, s in scale.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = grad_of(lambda xt: F.kl_div(xt, t64(tgt), reduction=reduction), inp)
            gl = grad_of(lambda xt: F.kl_div(xt, t64(np.log(tgt)), reduction=reduction, log_target=True), inp)
        assert_close(g, -tgt * s, f"kl grad {reduction}")
        assert_close(gl, -tgt * s, f"kl log grad {reduction}")
    g = grad_of(lambda xt: F.kl_div(xt, t64([0.0, 1.0]), reduction="sum"), np.array([-1.0, 0.0]))
    assert_same_bits(g, [-0.0, -1.0], "kl grad is -0.0 where the target is 0")


# --------------------------------------------------------------------------
# 8. Gradients of the softmax family and of the class losses
# --------------------------------------------------------------------------
@check
def softmax_family_gradients():
    r = rng(21)
    x, up = r.normal(size=(3, 5)), r.normal(size=(3, 5))
    y = np_log_softmax(x, 1)
    g = grad_of(lambda xt: (F.log_softmax(xt, 1) * t64(up)).sum(), x)
    assert_close(g, up - np.exp(y) * up.sum(1, keepdims=True), "log_softmax backward")
    s = np_softmax(x, 1)
    g = grad_of(lambda xt: (F.softmax(xt, 1) * t64(up)).sum(), x)
    assert_close(g, s * (up - (up * s).sum(1, keepdims=True)), "softmax backward")


@check
def cross_entropy_gradients():
    r = rng(22)
    for shape in [(6,), (3, 2), (2, 2, 3)]:
        for eps in (0.0, 0.3):
            for use_weight in (False, True):
                for reduction in ("sum", "mean"):
                    logits, target = random_case(r, shape, 4, ignore_frac=0.3)
                    target.flat[0] = 1  # keep at least one target
                    w = r.random(4) + 0.1 if use_weight else None
                    got = grad_of(lambda xt: F.cross_entropy(
                        xt, torch.from_numpy(target), weight=None if w is None else t64(w),
                        reduction=reduction, label_smoothing=eps), logits)
                    want = np_ce_grad(logits, target, w, -100, reduction, eps)
                    assert_close(got, want, f"ce grad {shape} eps={eps} {reduction}")
                    ignored = np.moveaxis(as_np(got), 1, -1)[target == -100]
                    assert (ignored == 0).all()
    # 'none' with an upstream gradient: each row is scaled by its own upstream value
    logits, target = random_case(r, (4,), 3, ignore_frac=0.0)
    up = r.normal(size=4)
    got = grad_of(lambda xt: (F.cross_entropy(xt, torch.from_numpy(target), reduction="none",
                                              label_smoothing=0.2) * t64(up)).sum(), logits)
    assert_close(got, np_ce_grad(logits, target, None, -100, "sum", 0.2) * up[:, None], "ce grad none")


@check
def nll_gradient_edges():
    r = rng(23)
    logp = np_log_softmax(r.normal(size=(4, 3)), 1)
    target = np.array([0, 2, -100, 1])
    w = np.array([0.5, 2.0, 1.5])
    g = grad_of(lambda xt: F.nll_loss(xt, torch.from_numpy(target), weight=t64(w)), logp)
    want = np.zeros_like(logp)
    kept = target != -100
    want[np.arange(4)[kept], target[kept]] = -w[target[kept]] / w[target[kept]].sum()
    assert_close(g, want, "nll grad weighted mean")
    # all ignored: NaN loss but an all-zero gradient (also for cross_entropy, with or without smoothing)
    g = grad_of(lambda xt: F.nll_loss(xt, torch.full((4,), -100)), logp)
    assert (as_np(g) == 0).all()
    for eps in (0.0, 0.3):
        g = grad_of(lambda xt: F.cross_entropy(xt, torch.full((4,), -100), weight=t64(w), label_smoothing=eps), logp)
        assert (as_np(g) == 0).all()
    # all targeted weights zero: NaN loss and NaN at the target entries (0 * -inf)
    g = as_np(grad_of(lambda xt: F.nll_loss(xt, torch.tensor([0, 0, 1, 1]), weight=t64([0.0, 0.0, 1.0])), logp))
    assert np.isnan(g[np.arange(4), [0, 0, 1, 1]]).all() and (np.nan_to_num(g, nan=0.0) == 0).all()


@check
def cross_entropy_probability_gradients():
    r = rng(24)
    for shape in [(4,), (3, 4), (2, 4, 3)]:
        logits = r.normal(size=shape)
        target = np_softmax(r.normal(size=shape), class_axis(logits))
        for eps in (0.0, 0.2):
            for w in (None, r.random(4) + 0.1):
                for reduction in ("sum", "mean"):
                    got = grad_of(lambda xt: F.cross_entropy(xt, t64(target), weight=None if w is None else t64(w),
                                                             reduction=reduction, label_smoothing=eps), logits)
                    assert_close(got, np_ce_prob_grad(logits, target, w, reduction, eps), f"ce-prob grad {shape}")


# --------------------------------------------------------------------------
# 9. Errors
# --------------------------------------------------------------------------
@check
def error_messages():
    x = torch.randn(3, 4, dtype=F64)
    t = torch.tensor([0, 1, 2])
    for loss in (F.nll_loss, F.cross_entropy):
        assert_raises(lambda: loss(x, torch.tensor([0, 1])), ValueError,
                      "Expected input batch_size (3) to match target batch_size (2).")
        assert_raises(lambda: loss(torch.randn(2, 4, 3), torch.zeros(2, 4, dtype=torch.long)), RuntimeError,
                      "Expected target size [2, 3], got [2, 4]")
        assert_raises(lambda: loss(torch.randn(4), torch.tensor([1, 2, 3])), ValueError,
                      "For 1D input, 1D target must have size 1, but got target size: 3")
        assert_raises(lambda: loss(x, t, weight=torch.ones(3, dtype=F64)), RuntimeError,
                      "weight tensor should be defined either for all 4 classes or no classes "
                      "but got weight tensor of shape: [3]")
        assert_raises(lambda: loss(x, t, weight=torch.ones(4)), RuntimeError,
                      "expected scalar type Double but found Float")
        assert_raises(lambda: loss(x, t, reduction="avg"), ValueError, "avg is not a valid value for reduction")
        assert_raises(lambda: loss(x, torch.tensor([0.0, 1.0, 2.0], dtype=F64)), RuntimeError,
                      "expected target dtype to be Long or Byte, but got Double")
    assert_raises(lambda: F.nll_loss(x, torch.zeros(3, 1, dtype=torch.long)), RuntimeError,
                  "0D or 1D target tensor expected, multi-target not supported")
    assert_raises(lambda: F.cross_entropy(x, torch.rand(3, 5, dtype=F64)), RuntimeError,
                  "0D or 1D target tensor expected, multi-target not supported")
    assert_raises(lambda: F.nll_loss(torch.randn(2, 4, 3), torch.zeros(2, 3, dtype=torch.long),
                                     weight=torch.ones(3)), RuntimeError,
                  "weight tensor should be defined either for all or no classes")
    assert_raises(lambda: F.cross_entropy(x, torch.rand(3, 4, dtype=F64), weight=torch.ones(5, dtype=F64)),
                  RuntimeError, "cross_entropy: weight tensor should be defined either for all 4 classes")
    assert_raises(lambda: F.nll_loss(torch.tensor(1.0), torch.tensor(0)), ValueError,
                  "Expected 1 or more dimensions (got 0)")
    assert_raises(lambda: F.nll_loss(torch.ones(3, 4, dtype=torch.long), t), NotImplementedError,
                  "not implemented for 'Long'")
    for loss in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.kl_div):
        assert_raises(lambda: loss(torch.rand(2), torch.rand(2), reduction="bad"), ValueError,
                      "bad is not a valid value for reduction")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        legacy = F.nll_loss(x, t, reduction="elementwise_mean")
    assert any("elementwise_mean" in str(w.message) for w in caught)
    assert legacy.item() == F.nll_loss(x, t, reduction="mean").item()


# --------------------------------------------------------------------------
# 10. Worked examples quoted on the page (semantics.md, section 10)
# --------------------------------------------------------------------------
EX1_LOGITS = [[-0.6311, 0.4457, 0.5320, 0.5855, -0.2480],
              [0.5942, 0.2531, 0.7998, -0.4247, -0.2831],
              [1.5852, 1.9026, 0.7302, -2.0489, -0.5581]]
EX1_TARGET = [2, 4, 3]
EX2_LOGITS, EX2_TARGET = [[0.5, 0.3], [0.4, 0.8]], [0, 1]
EX3_LOGITS, EX3_TARGET = [[0.5, 0.3, 0.9], [0.4, 0.8, 0.1]], [0, 1]
EX5_TARGET, EX5_WEIGHT = [2, -100, 3], [0.1, 0.2, 0.3, 0.4, 0.5]  # uses EX1_LOGITS


def example_values(dtype):
    """Torch's values for the worked examples of semantics.md."""
    out = {}
    x1, t1 = torch.tensor(EX1_LOGITS, dtype=dtype), torch.tensor(EX1_TARGET)
    out["ex1 none"] = F.cross_entropy(x1, t1, reduction="none")
    out["ex1 mean"] = F.cross_entropy(x1, t1)
    out["ex1 sum"] = F.cross_entropy(x1, t1, reduction="sum")
    out["ex1 mean ls=0.1"] = F.cross_entropy(x1, t1, label_smoothing=0.1)
    x2, t2 = torch.tensor(EX2_LOGITS, dtype=dtype), torch.tensor(EX2_TARGET)
    out["ex2 none"] = F.cross_entropy(x2, t2, reduction="none")
    out["ex2 mean"] = F.cross_entropy(x2, t2)
    x3, t3 = torch.tensor(EX3_LOGITS, dtype=dtype, requires_grad=True), torch.tensor(EX3_TARGET)
    out["ex3 none ls=0.3"] = F.cross_entropy(x3, t3, reduction="none", label_smoothing=0.3)
    mean3 = F.cross_entropy(x3, t3, label_smoothing=0.3)
    mean3.backward()
    out["ex3 mean ls=0.3"], out["ex3 grad"] = mean3, x3.grad
    x5, t5 = torch.tensor(EX1_LOGITS, dtype=dtype), torch.tensor(EX5_TARGET)
    w5 = torch.tensor(EX5_WEIGHT, dtype=dtype)
    for reduction in ("none", "sum", "mean"):
        out[f"ex5 {reduction}"] = F.cross_entropy(x5, t5, weight=w5, reduction=reduction)
        out[f"ex5 {reduction} ls=0.2"] = F.cross_entropy(x5, t5, weight=w5, reduction=reduction,
                                                         label_smoothing=0.2)
    torch.manual_seed(0)
    logits = torch.randn(2, 2).to(dtype)
    probs = torch.softmax(torch.randn(2, 2), dim=1).to(dtype)
    out["ex4 logits"], out["ex4 target"] = logits, probs
    out["ex4 none"] = F.cross_entropy(logits, probs, reduction="none")
    out["ex4 mean"] = F.cross_entropy(logits, probs)
    return {k: v.detach() for k, v in out.items()}


# The float32 values quoted on the page (rounded to 6 decimals).
QUOTED_FLOAT32 = {
    "ex1 none": [1.319940, 2.189987, 4.713363],
    "ex1 mean": 2.741097,
    "ex1 sum": 8.223290,
    "ex1 mean ls=0.1": 2.659534,
    "ex2 none": [0.598139, 0.513015],
    "ex2 mean": 0.555577,
    "ex3 none ls=0.3": [1.177116, 0.883300],
    "ex3 mean ls=0.3": 1.030208,
    "ex3 grad": [[-0.248968, 0.073655, 0.175313], [0.104672, -0.169256, 0.064584]],
    "ex5 none": [0.395982, 0.0, 1.885345],
    "ex5 sum": 2.281327,
    "ex5 mean": 3.259039,
    "ex5 none ls=0.2": [0.416069, 0.0, 1.681764],
    "ex5 sum ls=0.2": 2.097833,
    "ex5 mean ls=0.2": 2.996904,
    "ex4 logits": [[1.540996, -0.293429], [-2.178789, 0.568431]],
    "ex4 target": [[0.577879, 0.422121], [0.393009, 0.606991]],
    "ex4 none": [0.922515, 1.141818],
    "ex4 mean": 1.032167,
}


@check
def worked_examples():
    got32 = example_values(torch.float32)
    for key, quoted in QUOTED_FLOAT32.items():
        assert_close(got32[key], quoted, f"quoted {key}", rtol=0, atol=6e-7)
    # the NumPy re-derivation in float64 agrees with torch in float64
    got64 = example_values(F64)
    assert_close(got64["ex1 none"], [1.319940293, 2.189987045, 4.713362954], "quoted f64", rtol=0, atol=6e-10)
    assert_close(got64["ex1 mean"], 2.741096764, "quoted f64 mean", rtol=0, atol=6e-10)
    smooth_row0 = -(F.log_softmax(torch.tensor(EX1_LOGITS), 1)[0] * torch.tensor(EX5_WEIGHT)).sum()
    assert_close(smooth_row0, 2.482080, "quoted E5 smoothing term", rtol=0, atol=6e-7)
    x1, t1 = np.array(EX1_LOGITS), np.array(EX1_TARGET)
    assert_close(got64["ex1 none"], np_cross_entropy(x1, t1, reduction="none"), "ex1 none")
    assert_close(got64["ex1 mean"], np_cross_entropy(x1, t1), "ex1 mean")
    assert_close(got64["ex1 mean ls=0.1"], np_cross_entropy(x1, t1, label_smoothing=0.1), "ex1 ls")
    x2, t2 = np.array(EX2_LOGITS), np.array(EX2_TARGET)
    assert_close(got64["ex2 none"], np_cross_entropy(x2, t2, reduction="none"), "ex2")
    x3, t3 = np.array(EX3_LOGITS), np.array(EX3_TARGET)
    assert_close(got64["ex3 none ls=0.3"], np_cross_entropy(x3, t3, reduction="none", label_smoothing=0.3), "ex3")
    assert_close(got64["ex3 grad"], np_ce_grad(x3, t3, eps=0.3), "ex3 grad")
    w5 = np.array(EX5_WEIGHT)
    for reduction in ("none", "sum", "mean"):
        for eps in (0.0, 0.2):
            key = f"ex5 {reduction}" + (" ls=0.2" if eps else "")
            assert_close(got64[key], np_cross_entropy(x1, np.array(EX5_TARGET), w5, reduction=reduction,
                                                      label_smoothing=eps), key)
    x4, p4 = as_np(got64["ex4 logits"]), as_np(got64["ex4 target"])
    assert_close(got64["ex4 none"], np_cross_entropy_probs(x4, p4, reduction="none"), "ex4 none")
    assert_close(got64["ex4 mean"], np_cross_entropy_probs(x4, p4), "ex4 mean")


# --------------------------------------------------------------------------
def main():
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    failed = 0
    for fn in CHECKS:
        try:
            with np.errstate(all="ignore"):  # inf/nan are expected in edge cases
                fn()
        except Exception:  # noqa: BLE001 - report every failing check
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc(limit=3)
        else:
            print(f"ok   {fn.__name__}")
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
