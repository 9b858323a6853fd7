"""Graded checks of Assignment 4: label smoothing, PyTorch's way, with and without weights.

Runs in the grader's process, never in the student's: the smoothed targets are computed with
NumPy and refused unless PyTorch's one_hot formula agrees; every loss is computed with ce_lib
(ce_lib.cross_entropy(..., label_smoothing=eps)) and refused unless F.cross_entropy agrees,
so a ce_lib bug cannot set a wrong key. Fixed seeds.
"""
from __future__ import annotations

import numpy as np

from instructor.checks import Call, Check, agree, call_checks

PARTS = {
    "smoothed_targets": "(a) smoothed_targets(target, num_classes, eps): eps / C everywhere",
    "smoothed_cross_entropy": "(b) smoothed_cross_entropy(logits, target, eps)",
    "class_weights": "(c) smoothed_cross_entropy with class weights",
}
POINTS = {"smoothed_targets": 2, "smoothed_cross_entropy": 4, "class_weights": 4}


def checks() -> list[Check]:
    import torch
    import torch.nn.functional as F

    import ce_lib

    out: list[Check] = []

    # ---------------------------------------------------------------- (a) smoothed targets
    def targets(name, t, C, eps, points, *, dtype=0.0, unchanged=0.0):
        want = (1 - eps) * np.eye(C)[t] + eps / C
        theirs = ((1 - eps) * F.one_hot(torch.from_numpy(t), C).double() + eps / C).numpy()
        agree(want, theirs, 1e-12, 1e-15, name)
        call = Call("smoothed_targets", (t, C, eps))
        out.extend(call_checks("smoothed_targets", name, call, want, points, 1e-12, 1e-15,
                               dtype=dtype, dtype_says="a float64 array", unchanged=unchanged,
                               unchanged_says="target is left unchanged"))

    rng = np.random.default_rng(9)
    t = rng.integers(0, 7, size=12)
    targets("C = 7, eps = 0.1", t, 7, 0.1, 0.25, dtype=0.25, unchanged=0.25)
    for eps in (0.0, 0.3, 1.0):
        targets(f"C = 7, eps = {eps}", t, 7, eps, 0.25)
    targets("C = 2, eps = 0.2", np.array([0, 1]), 2, 0.2, 0.25)
    targets("N = 0: shape (0, 5)", np.zeros(0, dtype=np.int64), 5, 0.1, 0.25)

    # ---------------------------------------------------------------- (b), (c) the loss
    def loss(part, name, x, t, eps, points, rtol, atol, *, weight=None, dtype=0.0,
             unchanged=0.0):
        kwargs = {} if weight is None else {"weight": weight}
        want = ce_lib.cross_entropy(x, t, label_smoothing=eps, **kwargs)
        atol = atol * (max(1.0, float(np.abs(x).max())) if x.size else 1.0)
        theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), label_smoothing=eps,
                                 weight=None if weight is None else torch.from_numpy(weight))
        agree(want, theirs.numpy(), rtol, atol, name)
        call = Call("smoothed_cross_entropy", (x, t, eps), kwargs)
        out.extend(call_checks(part, name, call, want, points, rtol, atol, dtype=dtype,
                               dtype_says=f"the loss keeps the dtype {x.dtype}",
                               unchanged=unchanged))

    part = "smoothed_cross_entropy"
    rng = np.random.default_rng(10)
    x, t = rng.normal(size=(12, 6)) * 2, rng.integers(0, 6, size=12)
    for eps in (0.05, 0.1, 0.5, 1.0):
        loss(part, f"random (12, 6), eps = {eps}", x, t, eps, 0.25 if eps == 0.05 else 0.5,
             1e-10, 1e-12, unchanged=0.25 if eps == 0.1 else 0.0)
    loss(part, "float32", x.astype(np.float32), t, 0.1, 0.25, 1e-5, 1e-6, dtype=0.25)
    extreme = rng.choice([-1e4, 0.0, 1e4], size=(6, 5))
    te = rng.integers(0, 5, size=6)
    loss(part, "logits of +-1e4", extreme, te, 0.1, 0.5, 1e-10, 1e-12)
    loss(part, "float32 logits of +-1e4", extreme.astype(np.float32), te, 0.1, 0.25, 1e-5, 1e-6)
    loss(part, "two classes", rng.normal(size=(5, 2)), rng.integers(0, 2, size=5), 0.2, 0.5,
         1e-10, 1e-12)
    # A target that is no class is an error, as in ce_lib and PyTorch.
    x_bad, t_bad = rng.normal(size=(3, 4)), np.array([0, 1, 4])
    for reference in (lambda: ce_lib.cross_entropy(x_bad, t_bad, label_smoothing=0.1),
                      lambda: F.cross_entropy(torch.from_numpy(x_bad), torch.from_numpy(t_bad),
                                              label_smoothing=0.1)):
        try:
            reference()
        except IndexError:
            pass
        else:
            raise AssertionError("answer key: a target of 4 with 4 classes should raise")
    out.append(Check(part, "a target equal to the number of classes raises an IndexError", 0.25,
                     Call("smoothed_cross_entropy", (x_bad, t_bad, 0.1)), "IndexError",
                     "raises"))

    part = "class_weights"
    rng = np.random.default_rng(11)
    x, t = rng.normal(size=(15, 5)) * 2, rng.integers(0, 5, size=15)
    w = rng.uniform(0.1, 3.0, size=5)
    loss(part, "random (15, 5), eps = 0.1", x, t, 0.1, 0.75, 1e-10, 1e-12, weight=w,
         unchanged=0.25)
    loss(part, "random (15, 5), eps = 0.3", x, t, 0.3, 0.5, 1e-10, 1e-12, weight=w)
    loss(part, "weights times 10: the mean does not change", x, t, 0.1, 0.5, 1e-10, 1e-12,
         weight=10 * w)
    loss(part, "eps = 0: the weighted cross-entropy", x, t, 0.0, 0.5, 1e-10, 1e-12, weight=w)
    loss(part, "float32", x.astype(np.float32), t, 0.1, 0.25, 1e-5, 1e-6,
         weight=w.astype(np.float32), dtype=0.25)
    extreme = rng.choice([-1e4, 0.0, 1e4], size=(6, 5))
    loss(part, "logits of +-1e4", extreme, rng.integers(0, 5, size=6), 0.1, 0.5, 1e-10, 1e-12,
         weight=w)
    loss(part, "N = 0: nan", np.zeros((0, 5)), np.zeros(0, dtype=np.int64), 0.1, 0.5, 1e-10,
         1e-12, weight=w)
    return out
