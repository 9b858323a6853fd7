"""The torch side of every comparison: call torch's twin of a ce_lib function on the same inputs.

Values come from torch.nn.functional (torch.logsumexp for logsumexp); input gradients from
autograd, `input.requires_grad_()` then `loss.backward(grad_output)`, exactly as a user would.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

TORCH_FUNCTIONS = {
    "logsumexp": torch.logsumexp,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
    "nll_loss": F.nll_loss,
    "cross_entropy": F.cross_entropy,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "kl_div": F.kl_div,
}

TORCH_DTYPES = {
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}


def to_torch(value):
    """NumPy arrays and scalars become tensors of the same dtype; anything else passes through."""
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(value))  # a copy: torch never aliases the test's data
    if isinstance(value, (np.dtype, type)) and np.dtype(value) in TORCH_DTYPES:
        return TORCH_DTYPES[np.dtype(value)]
    return value


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _call(name, input, args, kwargs):
    fn = TORCH_FUNCTIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div 'mean' and 'elementwise_mean' warn
        return fn(
            input, *[to_torch(a) for a in args], **{k: to_torch(v) for k, v in kwargs.items()}
        )


def torch_value(name: str, input, *args, **kwargs) -> np.ndarray:
    """torch's result as a NumPy array (0-d for a scalar loss)."""
    return to_numpy(_call(name, to_torch(input), args, kwargs))


def torch_value_and_grad(name: str, input, *args, grad_output=None, **kwargs):
    """(value, d value / d input) from autograd; grad_output None means ones of the output's shape.

    grad_output may also be a callable: it receives the output's shape and dtype (a NumPy dtype)
    and returns the upstream gradient, so a test can draw one of the right shape.
    Returns (value, grad, grad_output used) as NumPy arrays.
    """
    x = to_torch(np.asarray(input)).requires_grad_(True)
    out = _call(name, x, args, kwargs)
    out_dtype = np.dtype(str(out.dtype).removeprefix("torch."))
    if grad_output is None:
        g = np.ones(out.shape, dtype=out_dtype)
    elif callable(grad_output):
        g = np.asarray(grad_output(tuple(out.shape), out_dtype), dtype=out_dtype)
    else:
        g = np.asarray(grad_output, dtype=out_dtype)
    out.backward(torch.from_numpy(g.copy()))
    grad = x.grad if x.grad is not None else torch.zeros_like(x)
    return to_numpy(out), to_numpy(grad), g


def torch_raises(name: str, input, *args, **kwargs) -> BaseException | None:
    """The exception torch raises for these arguments, or None."""
    try:
        _call(name, to_torch(input), args, kwargs)
    except Exception as exc:  # noqa: BLE001 - the caller inspects it
        return exc
    return None
