"""Hidden checks of Assignment 2: a stable log-softmax and the cross-entropy loss.

Runs in the grader's process, never in the student's: every expected value is computed here
with ce_lib, and checks() refuses to build the answer key unless PyTorch agrees with it
(torch.nn.functional.log_softmax / cross_entropy), so a ce_lib bug cannot set a wrong key.
Fixed seeds: the same checks, with the same inputs, every time.
"""
from __future__ import annotations

import numpy as np

from instructor.checks import Call, Check, agree, call_checks

PARTS = {
    "log_softmax": "(a) log_softmax(x): stable for any logits, along the last axis, "
                   "keeping the dtype",
    "cross_entropy": "(b) cross_entropy(logits, target): the mean loss over the examples",
    "weights_and_ignore": "(c) cross_entropy with class weights and ignore_index",
}
POINTS = {"log_softmax": 3, "cross_entropy": 3, "weights_and_ignore": 4}


def checks() -> list[Check]:
    import torch
    import torch.nn.functional as F

    import ce_lib

    out: list[Check] = []

    def scale(x: np.ndarray) -> float:
        return max(1.0, float(np.abs(x).max())) if x.size else 1.0

    # ---------------------------------------------------------------- (a) log_softmax
    def log_softmax(name, x, points, rtol, atol, *, dtype=0.0, unchanged=0.0):
        want = ce_lib.log_softmax(x, dim=-1)
        atol = atol * scale(x)
        agree(want, F.log_softmax(torch.from_numpy(x), dim=-1).numpy(), rtol, atol, name)
        call = Call("log_softmax", (x,))
        out.extend(call_checks("log_softmax", name, call, want, points, rtol, atol, dtype=dtype,
                               unchanged=unchanged, unchanged_says="x is left unchanged"))

    rng = np.random.default_rng(3)
    log_softmax("random logits, shape (5, 7)", rng.normal(size=(5, 7)) * 3, 0.5, 1e-10, 1e-12,
                unchanged=0.25)
    log_softmax("shape (2, 3, 4): along the last axis", rng.normal(size=(2, 3, 4)), 0.5,
                1e-10, 1e-12)
    extreme = np.array([[1e4, -1e4, 0.0, 1e4 - 1],
                        [-1e4, -1e4, -1e4, -1e4 + 5],
                        [1e4, 1e4, 1e4, 1e4]])
    log_softmax("logits of +-1e4: finite and exact", extreme, 0.5, 1e-10, 1e-12)
    log_softmax("float32 logits of +-1e4", extreme.astype(np.float32), 0.25, 1e-5, 1e-6,
                dtype=0.25)
    log_softmax("float32 logits, shape (6, 10)", rng.normal(size=(6, 10)).astype(np.float32),
                0.25, 1e-5, 1e-6, dtype=0.25)
    log_softmax("one 1-D row of 4 equal logits: log(1/4) each", np.zeros(4), 0.25, 1e-12, 1e-12)

    # ---------------------------------------------------------------- (b) and (c) cross_entropy
    def cross_entropy(part, name, x, t, points, rtol, atol, *, weight=None, ignore_index=None,
                      dtype=0.0, unchanged=0.0):
        kwargs = {}
        if weight is not None:
            kwargs["weight"] = weight
        if ignore_index is not None:
            kwargs["ignore_index"] = ignore_index
        want = ce_lib.cross_entropy(x, t, **kwargs)
        atol = atol * scale(x)
        theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t),
                                 weight=None if weight is None else torch.from_numpy(weight),
                                 ignore_index=-100 if ignore_index is None else ignore_index)
        agree(want, theirs.numpy(), rtol, atol, name)
        call = Call("cross_entropy", (x, t), kwargs)
        out.extend(call_checks(part, name, call, want, points, rtol, atol, dtype=dtype,
                               dtype_says=f"the loss keeps the dtype {x.dtype}",
                               unchanged=unchanged))

    part = "cross_entropy"
    rng = np.random.default_rng(4)
    x, t = rng.normal(size=(16, 7)) * 2, rng.integers(0, 7, size=16)
    cross_entropy(part, "random logits (16, 7)", x, t, 0.5, 1e-10, 1e-12, unchanged=0.25)
    cross_entropy(part, "float32 logits (16, 7)", x.astype(np.float32), t, 0.25, 1e-5, 1e-6,
                  dtype=0.25)
    extreme = rng.choice([-1e4, 0.0, 1e4], size=(8, 5))
    te = rng.integers(0, 5, size=8)
    cross_entropy(part, "logits of +-1e4", extreme, te, 0.5, 1e-10, 1e-12)
    cross_entropy(part, "float32 logits of +-1e4", extreme.astype(np.float32), te, 0.25,
                  1e-5, 1e-6, dtype=0.25)
    cross_entropy(part, "one example", rng.normal(size=(1, 4)), np.array([2]), 0.25, 1e-10,
                  1e-12)
    cross_entropy(part, "one class: the loss is 0", rng.normal(size=(3, 1)), np.array([0, 0, 0]),
                  0.25, 1e-10, 1e-12)
    # A target that is no class (and not ignore_index) is an error, as in ce_lib and PyTorch.
    x_bad, t_bad = rng.normal(size=(3, 4)), np.array([0, 1, 4])
    for reference in (lambda: ce_lib.cross_entropy(x_bad, t_bad),
                      lambda: F.cross_entropy(torch.from_numpy(x_bad), torch.from_numpy(t_bad))):
        try:
            reference()
        except IndexError:
            pass
        else:
            raise AssertionError("answer key: a target of 4 with 4 classes should raise")
    out.append(Check(part, "a target equal to the number of classes raises an IndexError", 0.25,
                     Call("cross_entropy", (x_bad, t_bad)), "IndexError", "raises"))

    part = "weights_and_ignore"
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(20, 6)) * 2, rng.uniform(0.1, 3.0, size=6)
    t_all = rng.integers(0, 6, size=20)
    t = t_all.copy()
    t[rng.random(20) < 0.3] = -100
    cross_entropy(part, "class weights and ignored targets (-100)", x, t, 0.75, 1e-10, 1e-12,
                  weight=w, unchanged=0.25)
    cross_entropy(part, "class weights, no target ignored", x, t_all, 0.25, 1e-10, 1e-12,
                  weight=w)
    cross_entropy(part, "ignored targets, no weights", x, t, 0.5, 1e-10, 1e-12)
    cross_entropy(part, "weights times 10: the mean does not change", x, t, 0.25, 1e-10, 1e-12,
                  weight=10 * w)
    cross_entropy(part, "ignore_index=1, a real class", x, t_all, 0.5, 1e-10, 1e-12, weight=w,
                  ignore_index=1)
    cross_entropy(part, "float32 logits and weights", x.astype(np.float32), t, 0.25, 1e-5, 1e-6,
                  weight=w.astype(np.float32), dtype=0.25)
    cross_entropy(part, "every target ignored: nan", x, np.full(20, -100), 0.5, 1e-10, 1e-12,
                  weight=w)
    cross_entropy(part, "no examples (N = 0): nan", np.zeros((0, 6)), np.zeros(0, dtype=np.int64),
                  0.5, 1e-10, 1e-12, weight=w)
    return out
