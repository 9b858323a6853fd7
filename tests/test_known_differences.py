"""Where ce_lib knowingly differs from torch (api.md, "Known differences from PyTorch").

Each test pins both sides: what torch 2.13 does and what ce_lib does instead. If a torch
release changes its side, the test fails and the difference can be closed (or the list
corrected); if ce_lib's side changes, the api.md section is out of date.
"""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import assert_close
from torch_reference import torch_raises, torch_value, torch_value_and_grad

import ce_lib

r = np.random.default_rng(0)


@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
def test_2d_weight_for_3d_input_torch_accepts_ce_lib_rejects(fn):
    x = r.normal(size=(2, 4, 3))
    if fn == "nll_loss":
        x = np.asarray(ce_lib.log_softmax(x, 1))
    t = r.integers(0, 4, size=(2, 3))
    weight = r.random((1, 4))
    assert torch_raises(fn, x, t, weight=weight) is None  # torch reads it as its 4 numbers
    with pytest.raises(ValueError, match="weight"):
        getattr(ce_lib, fn)(x, t, weight=weight)
    # the 1-D weight with the same numbers gives torch's value
    assert_close(
        getattr(ce_lib, fn)(x, t, weight=weight.ravel()), torch_value(fn, x, t, weight=weight)
    )


def test_1d_input_with_shape_1_target_and_smoothing_torch_raises_ce_lib_computes():
    x, t = r.normal(size=5), np.array([2])
    error = torch_raises("cross_entropy", x, t, label_smoothing=0.1)
    assert isinstance(error, RuntimeError) and "broadcast" in str(error)
    # without smoothing torch accepts this target, and ce_lib computes what it would:
    # the loss of the 2-D call with one row
    assert_close(ce_lib.cross_entropy(x, t), torch_value("cross_entropy", x, t))
    assert_close(
        ce_lib.cross_entropy(x, t, label_smoothing=0.1),
        torch_value("cross_entropy", x[None, :], t, label_smoothing=0.1),
    )


def test_float16_probability_target_gradient_is_closer_to_float64_than_torchs():
    x = (4 * r.normal(size=(64, 50))).astype(np.float16)
    p = np.asarray(ce_lib.softmax(r.normal(size=(64, 50)), 1)).astype(np.float16)
    _, exact, _ = torch_value_and_grad("cross_entropy", x.astype(np.float64), p.astype(np.float64))
    _, theirs, _ = torch_value_and_grad("cross_entropy", x, p)
    ours = ce_lib.cross_entropy_grad(x, p)
    assert_close(ours, theirs)  # within the float16 tolerance
    ours_error = np.abs(ours.astype(np.float64) - exact).max()
    torch_error = np.abs(theirs.astype(np.float64) - exact).max()
    assert ours_error < torch_error  # torch starts from a float16 log-softmax


def test_no_classes_with_extra_dimensions_torch_raises_ce_lib_computes():
    x, t = np.zeros((2, 0, 3)), np.full((2, 3), -100)
    error = torch_raises("cross_entropy", x, t, reduction="sum")
    assert isinstance(error, RuntimeError) and "size mismatch" in str(error)
    # torch accepts (N, 0) input with every target ignored; ce_lib extends that to (N, 0, d)
    assert ce_lib.cross_entropy(x, t, reduction="sum") == 0.0
    assert_close(ce_lib.cross_entropy(x[:, :, 0], t[:, 0], reduction="sum"),
                 torch_value("cross_entropy", x[:, :, 0], t[:, 0], reduction="sum"))
