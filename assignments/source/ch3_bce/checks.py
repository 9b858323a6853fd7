"""Graded checks of Assignment 3: a stable log-sigmoid and BCE with logits, with pos_weight.

Runs in the grader's process, never in the student's: every expected value is computed here
with ce_lib (ce_lib.losses.log_sigmoid, ce_lib.binary_cross_entropy_with_logits), and
checks() refuses to build the answer key unless PyTorch agrees with it (F.logsigmoid,
F.binary_cross_entropy_with_logits), so a ce_lib bug cannot set a wrong key. Fixed seeds.
"""
from __future__ import annotations

import numpy as np

from instructor.checks import Call, Check, agree, call_checks

PARTS = {
    "log_sigmoid": "(a) log_sigmoid(x): stable and accurate for any logit, keeping the dtype",
    "bce_with_logits": "(b) bce_with_logits(x, y): the mean loss",
    "pos_weight": "(c) bce_with_logits with pos_weight",
}
POINTS = {"log_sigmoid": 3, "bce_with_logits": 3, "pos_weight": 4}


def checks() -> list[Check]:
    import torch
    import torch.nn.functional as F

    import ce_lib
    from ce_lib.losses import log_sigmoid as reference_log_sigmoid

    out: list[Check] = []

    def scale(x: np.ndarray) -> float:
        return max(1.0, float(np.abs(x).max())) if x.size else 1.0

    # ---------------------------------------------------------------- (a) log_sigmoid
    def log_sigmoid(name, x, points, rtol, atol=0.0, *, dtype=0.0, unchanged=0.0):
        want = reference_log_sigmoid(x)
        agree(want, F.logsigmoid(torch.from_numpy(x)).numpy(), rtol, atol, name)
        call = Call("log_sigmoid", (x,))
        out.extend(call_checks("log_sigmoid", name, call, want, points, rtol, atol, dtype=dtype,
                               unchanged=unchanged, unchanged_says="x is left unchanged"))

    rng = np.random.default_rng(6)
    log_sigmoid("random logits (4, 6)", rng.normal(size=(4, 6)) * 5, 0.5, 1e-12, dtype=0.25,
                unchanged=0.25)
    log_sigmoid("logits up to +-1e4", np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4]),
                0.5, 1e-12)
    log_sigmoid("large positive logits: tiny results, exact to the last digits",
                np.array([20.0, 30.0, 40.0, 50.0]), 0.5, 1e-10)
    log_sigmoid("float32 logits up to +-1e4",
                np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=np.float32), 0.25, 1e-5,
                dtype=0.25)
    log_sigmoid("float32 logits (3, 4)", rng.normal(size=(3, 4)).astype(np.float32), 0.25,
                1e-5, 1e-7, dtype=0.25)

    # ---------------------------------------------------------------- (b), (c) BCE
    def bce(part, name, x, y, points, rtol, atol, *, pos_weight=None, dtype=0.0,
            unchanged=0.0):
        kwargs = {} if pos_weight is None else {"pos_weight": pos_weight}
        want = ce_lib.binary_cross_entropy_with_logits(x, y, **kwargs)
        atol = atol * scale(x)
        theirs = F.binary_cross_entropy_with_logits(
            torch.from_numpy(x), torch.from_numpy(y),
            pos_weight=None if pos_weight is None else torch.from_numpy(pos_weight))
        agree(want, theirs.numpy(), rtol, atol, name)
        call = Call("bce_with_logits", (x, y), kwargs)
        out.extend(call_checks(part, name, call, want, points, rtol, atol, dtype=dtype,
                               dtype_says=f"the loss keeps the dtype {x.dtype}",
                               unchanged=unchanged))

    part = "bce_with_logits"
    rng = np.random.default_rng(7)
    x = rng.normal(size=(8, 5)) * 3
    y = (rng.random((8, 5)) < 0.4).astype(np.float64)
    bce(part, "random (8, 5)", x, y, 0.25, 1e-10, 1e-12, unchanged=0.25)
    bce(part, "soft targets in [0, 1]", x, rng.random((8, 5)), 0.5, 1e-10, 1e-12)
    bce(part, "float32 (8, 5)", x.astype(np.float32), y.astype(np.float32), 0.25, 1e-5, 1e-6,
        dtype=0.25)
    extreme = rng.choice([-1e4, 1e4], size=(4, 6))
    ye = (rng.random((4, 6)) < 0.5).astype(np.float64)
    bce(part, "logits of +-1e4", extreme, ye, 0.5, 1e-10, 1e-12)
    bce(part, "float32 logits of +-1e4", extreme.astype(np.float32), ye.astype(np.float32),
        0.25, 1e-5, 1e-6)
    bce(part, "1-D input", rng.normal(size=7), (rng.random(7) < 0.5) * 1.0, 0.25, 1e-10, 1e-12)
    bce(part, "no elements: nan", np.zeros((0, 3)), np.zeros((0, 3)), 0.25, 1e-10, 1e-12)
    # Targets of another shape than the logits are an error, as in ce_lib and PyTorch (shapes
    # that cannot broadcast, so that NumPy raises the ValueError for the student's code too).
    x_bad, y_bad = rng.normal(size=(4, 3)), np.ones((4, 2))
    for reference in (lambda: ce_lib.binary_cross_entropy_with_logits(x_bad, y_bad),
                      lambda: F.binary_cross_entropy_with_logits(torch.from_numpy(x_bad),
                                                                 torch.from_numpy(y_bad))):
        try:
            reference()
        except ValueError:
            pass
        else:
            raise AssertionError("answer key: targets (4, 2) for logits (4, 3) should raise")
    out.append(Check(part, "targets of shape (4, 2) for logits (4, 3) raise a ValueError", 0.25,
                     Call("bce_with_logits", (x_bad, y_bad)), "ValueError", "raises"))

    part = "pos_weight"
    rng = np.random.default_rng(8)
    x = rng.normal(size=(10, 4)) * 3
    y = (rng.random((10, 4)) < 0.3).astype(np.float64)
    pw = rng.uniform(0.5, 5.0, size=4)
    bce(part, "random (10, 4), one pos_weight per label", x, y, 1.0, 1e-10, 1e-12,
        pos_weight=pw, unchanged=0.25)
    bce(part, "soft targets", x, rng.random((10, 4)), 0.5, 1e-10, 1e-12, pos_weight=pw)
    bce(part, "pos_weight of ones: plain BCE", x, y, 0.5, 1e-10, 1e-12, pos_weight=np.ones(4))
    bce(part, "float32", x.astype(np.float32), y.astype(np.float32), 0.25, 1e-5, 1e-6,
        pos_weight=pw.astype(np.float32), dtype=0.25)
    extreme = rng.choice([-1e4, 1e4], size=(5, 4))
    bce(part, "logits of +-1e4", extreme, (rng.random((5, 4)) < 0.5) * 1.0, 0.5, 1e-10, 1e-12,
        pos_weight=pw)
    bce(part, "shape (2, 3, 4): pos_weight along the last axis", rng.normal(size=(2, 3, 4)),
        (rng.random((2, 3, 4)) < 0.5) * 1.0, 0.75, 1e-10, 1e-12, pos_weight=pw)
    return out
