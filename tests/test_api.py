"""ce_lib's public API (ce_lib/__init__.py): names, return types, dtypes, accepted inputs.

Every function returns NumPy arrays or NumPy scalars (never a Python float, never a tensor),
keeps float32 as float32 and float64 as float64, and accepts torch tensors (even ones that
require grad) and plain lists.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerances import assert_close, assert_is_numpy_result

import ce_lib

API = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "logsumexp_grad",
    "softmax_grad",
    "log_softmax_grad",
    "nll_loss_grad",
    "cross_entropy_grad",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "kl_div_grad",
    "information",
]


def test_all_lists_the_documented_api():
    assert set(API) <= set(ce_lib.__all__)
    for name in API:
        assert hasattr(ce_lib, name), name


def calls(dtype):
    """(name, args, kwargs) for every function, on non-trivial inputs of `dtype`."""
    r = np.random.default_rng(0)
    x = r.normal(size=(4, 3)).astype(dtype)
    t = np.array([0, 2, 1, 2])
    probs = r.random((4, 3)).astype(dtype)
    logp = np.log(probs)
    g = r.normal(size=(4, 3)).astype(dtype)
    out = []
    for reduction in ("none", "sum", "mean"):
        kw = {"reduction": reduction}
        out += [
            ("nll_loss", (logp, t), kw),
            ("cross_entropy", (x, t), {**kw, "label_smoothing": 0.1}),
            ("cross_entropy", (x, probs), kw),
            ("binary_cross_entropy", (probs, probs[::-1].copy()), kw),
            ("binary_cross_entropy_with_logits", (x, probs), kw),
            ("kl_div", (logp, probs), kw),
        ]
    out += [
        ("kl_div", (logp, probs), {"reduction": "batchmean"}),
        ("cross_entropy", (x[0], np.array(1)), {}),  # 1-D input: a 0-d result
        ("softmax", (x, 1), {}),
        ("log_softmax", (x, 0), {}),
        ("logsumexp", (x, 1), {}),
        ("logsumexp", (x, (0, 1)), {}),
    ]
    grads = [
        (f"{name}_grad", args, kw)
        for name, args, kw in out
        if name not in ("softmax", "log_softmax")
    ]
    grads += [("softmax_grad", (x, 1, g), {}), ("log_softmax_grad", (x, -1, g), {})]
    return out + grads


def _ids(dtype):
    return [
        f"{name}{'-' + kw['reduction'] if 'reduction' in kw else ''}"
        for name, _, kw in calls(dtype)
    ]


@pytest.mark.filterwarnings("ignore:reduction='mean' divides:UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(calls(np.float64))), ids=_ids(np.float64))
def test_results_are_numpy_of_the_input_dtype_never_python_floats(dtype, index):
    name, args, kwargs = calls(dtype)[index]
    result = getattr(ce_lib, name)(*args, **kwargs)
    assert_is_numpy_result(result, name)
    assert type(result) is not float
    assert np.asarray(result).dtype == dtype, f"{name}: {np.asarray(result).dtype}"
    if name.endswith("_grad"):
        assert np.shape(result) == np.shape(args[0])


@pytest.mark.filterwarnings("ignore:reduction='mean' divides:UserWarning")
@pytest.mark.parametrize("index", range(len(calls(np.float64))), ids=_ids(np.float64))
def test_torch_tensors_are_accepted_and_give_the_numpy_result(index):
    name, args, kwargs = calls(np.float32)[index]
    as_tensors = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    if as_tensors[0].is_floating_point():
        as_tensors[0] = as_tensors[0].clone().requires_grad_(True)  # a tensor a model produced
    result = getattr(ce_lib, name)(*as_tensors, **kwargs)
    assert_is_numpy_result(result, name)
    assert_close(result, np.asarray(getattr(ce_lib, name)(*args, **kwargs)), what=name)


def test_lists_are_accepted():
    mine = ce_lib.cross_entropy([[0.5, 0.3], [0.4, 0.8]], [0, 1])
    assert_is_numpy_result(mine)
    assert mine == ce_lib.cross_entropy(np.array([[0.5, 0.3], [0.4, 0.8]]), np.array([0, 1]))


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
def test_scalar_losses_are_0d(name):
    r = np.random.default_rng(1)
    if name in ("nll_loss", "cross_entropy"):
        args = (r.normal(size=(4, 3)), np.array([0, 2, 1, 2]))
    else:
        args = (r.random((4, 3)), r.random((4, 3)))
    for reduction in ("sum", "mean") if name != "kl_div" else ("sum", "batchmean"):
        result = getattr(ce_lib, name)(*args, reduction=reduction)
        assert isinstance(result, (np.generic, np.ndarray)) and np.ndim(result) == 0


def test_importing_ce_lib_needs_neither_torch_nor_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, ce_lib; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
