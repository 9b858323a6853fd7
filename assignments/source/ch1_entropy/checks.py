"""Graded checks of Assignment 1: entropy and KL divergence.

Runs in the grader's process, never in the student's: every expected value is computed here
with ce_lib (ce_lib.information), and checks() refuses to build the answer key unless PyTorch
agrees with it (torch.distributions: Categorical(...).entropy() and kl_divergence), so a
ce_lib bug cannot set a wrong key. Fixed seeds: the same checks, with the same inputs, every
time. The assignment asks for values only (no dtype rule), so there are no dtype checks.
"""
from __future__ import annotations

import math

import numpy as np

from instructor.checks import Call, Check, agree, call_checks

PARTS = {
    "entropy": "(a) entropy(p, base): over the last axis, 0 log 0 = 0, any base",
    "kl_divergence": "(b) kl_divergence(p, q, base): the order, 0 log 0 = 0, +inf",
}
POINTS = {"entropy": 5, "kl_divergence": 5}


def checks() -> list[Check]:
    import torch

    from ce_lib import information

    out: list[Check] = []

    def torch_entropy(p, base):
        dist = torch.distributions.Categorical(probs=torch.from_numpy(p), validate_args=False)
        return dist.entropy().numpy() / math.log(base)

    def torch_kl(p, q, base):
        P = torch.distributions.Categorical(probs=torch.from_numpy(p), validate_args=False)
        Q = torch.distributions.Categorical(probs=torch.from_numpy(q), validate_args=False)
        return torch.distributions.kl_divergence(P, Q).numpy() / math.log(base)

    # ---------------------------------------------------------------- (a) entropy
    def entropy(name, p, points, *, base=None, rtol=1e-10, atol=1e-14, unchanged=0.0):
        kwargs = {} if base is None else {"base": base}
        want = information.entropy(p, **kwargs)
        if p.size:
            agree(want, torch_entropy(p.astype(np.float64), base or math.e), max(rtol, 1e-9),
                  max(atol, 1e-12), name, dtype=False)
        call = Call("entropy", (p,), kwargs)
        out.extend(call_checks("entropy", name, call, want, points, rtol, atol,
                               unchanged=unchanged, unchanged_says="p is left unchanged"))

    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(6), size=8)
    P[::3, 1] = 0.0                                 # some impossible outcomes
    P[5] = [0, 0, 1, 0, 0, 0]                       # a certain outcome
    P /= P.sum(axis=-1, keepdims=True)
    entropy("a batch of 8 distributions with zeros, in nats", P, 1.0, unchanged=0.25)
    entropy("the same batch in bits (base 2)", P, 0.75, base=2)
    entropy("the same batch in base 10", P, 0.5, base=10)
    entropy("shape (2, 3, 4): over the last axis", rng.dirichlet(np.ones(4), size=(2, 3)), 0.75)
    entropy("float32 probabilities", P.astype(np.float32), 0.5, rtol=1e-5, atol=1e-6)
    entropy("an empty batch (0, 4): an empty result", np.zeros((0, 4)), 0.5)
    for n in (1, 3, 50):
        entropy(f"uniform over {n} outcome{'s' if n > 1 else ''}, in bits: log2 {n}",
                np.full(n, 1 / n), 0.25, base=2)

    # ---------------------------------------------------------------- (b) KL divergence
    def kl(name, p, q, points, *, base=None, rtol=1e-9, atol=1e-14, unchanged=0.0):
        kwargs = {} if base is None else {"base": base}
        want = information.kl_divergence(p, q, **kwargs)
        if p.size:
            agree(want, torch_kl(p.astype(np.float64), q.astype(np.float64), base or math.e),
                  max(rtol, 1e-8), max(atol, 1e-12), name, dtype=False)
        call = Call("kl_divergence", (p, q), kwargs)
        out.extend(call_checks("kl_divergence", name, call, want, points, rtol, atol,
                               unchanged=unchanged, unchanged_says="p and q are left unchanged"))

    rng = np.random.default_rng(2)
    P, Q = rng.dirichlet(np.ones(5), size=(2, 8))
    P[::2, 0] = 0.0                                 # p = 0 where q > 0
    P[1, 3] = Q[1, 3] = 0.0                         # p = q = 0: the term counts 0
    P /= P.sum(axis=-1, keepdims=True)
    Q /= Q.sum(axis=-1, keepdims=True)
    kl("a batch of 8 with p = 0 terms, in nats", P, Q, 1.0, unchanged=0.5)
    kl("the same batch in bits (base 2)", P, Q, 0.5, base=2)
    kl("KL(q || p), the other order", Q, P, 0.5)
    Qz, P4 = Q.copy(), P.copy()
    Qz[4] = [0.0, 0.25, 0.25, 0.25, 0.25]
    P4[4] = 0.2
    kl("q = 0 where p > 0: +inf in that row only", P4, Qz, 1.0)
    P3, Q3 = rng.dirichlet(np.ones(4), size=(2, 2, 3))
    kl("shape (2, 3, 4): over the last axis", P3, Q3, 0.5)
    kl("float32 probabilities", P.astype(np.float32), Q.astype(np.float32), 0.5, rtol=1e-4,
       atol=1e-6)
    kl("an empty batch (0, 3): an empty result", np.zeros((0, 3)), np.zeros((0, 3)), 0.5)
    return out
