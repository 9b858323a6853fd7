"""ce_lib: a NumPy twin of torch.nn.functional's cross-entropy family.

Every loss has the name, arguments, defaults, edge cases and errors of its
torch twin (torch 2.13.0 is the spec), and an analytic gradient with respect
to its input, written from the formula:

    from ce_lib import cross_entropy, cross_entropy_grad
    loss = cross_entropy(logits, target, label_smoothing=0.1)
    grad = cross_entropy_grad(logits, target, label_smoothing=0.1)   # d loss / d logits

Information measures between distributions (entropy, H(p, q), KL) live in
`ce_lib.information`, so that `information.cross_entropy(p, q)` never clashes
with the loss `cross_entropy(logits, target)`.

`ce_lib.style` (matplotlib) is the course's shared figure style; it is not
imported here, so ce_lib itself needs only NumPy.
"""
from __future__ import annotations

from . import information
from .gradients import (
    binary_cross_entropy_grad,
    binary_cross_entropy_with_logits_grad,
    cross_entropy_grad,
    kl_div_grad,
    log_softmax_grad,
    logsumexp_grad,
    nll_loss_grad,
    softmax_grad,
)
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_div,
    nll_loss,
)
from .softmax import log_softmax, logsumexp, softmax

__all__ = [
    # softmax family
    "logsumexp",
    "softmax",
    "log_softmax",
    # losses
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    # gradients with respect to the input
    "logsumexp_grad",
    "softmax_grad",
    "log_softmax_grad",
    "nll_loss_grad",
    "cross_entropy_grad",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "kl_div_grad",
    # information measures between distributions
    "information",
]
