"""Cross-entropy when the vocabulary (or the batch) is split across processes.

Vocab-parallel cross-entropy, as in Megatron-LM (`VocabParallelCrossEntropy`) and torchtitan's
`loss_parallel`: rank r of W holds the logits of the classes [vocab_start, vocab_start + V_r)
for every position, and nobody holds a whole row. The loss needs three numbers per row from
all ranks, found with two all-reduces:

    m_i  = max_r  max_{j in shard r} z_ij                                  (all-reduce, max)
    S_i  = sum_r  sum_{j in shard r} exp(z_ij - m_i)                       (all-reduce, sum)
    z_it = sum_r  [t_i in shard r] z_{i, t_i}                              (same all-reduce)
    log-sum-exp_i = m_i + log S_i,     ell_i = log-sum-exp_i - z_it

With label smoothing eps, ell_i = (1 - eps) (lse_i - z_it) + eps (lse_i - sum_j z_ij / V), and
sum_j z_ij joins the sum all-reduce. So a step all-reduces 3 N numbers (4 N with smoothing)
instead of gathering N x V logits. The gradient needs no communication at all:

    d ell_i / d z_ij = q_ij - (1 - eps) [j == t_i] - eps / V,    q_ij = exp(z_ij - lse_i)

each rank computes its own slice. Both functions give every rank the loss that
`torch.nn.functional.cross_entropy(full_logits, target, ...)` gives (class-index targets,
2-D logits (N, V), no class weights); `tests/test_parallel.py` checks it over real gloo
process groups of 2-4 processes.

Communication goes through a *group*: any object with `rank`, `world_size` and
`all_reduce(array, op)` (op "sum" or "max", returning the reduced array):

* `TorchDistributedGroup()` wraps torch.distributed's default process group (launch with
  `torchrun`). The arrays are NumPy arrays, so in CPU memory: the group must reduce CPU
  tensors, which gloo does (on GPU machines, `init_process_group("cpu:gloo,cuda:nccl")`);
  a group with NCCL alone cannot;
* `simulate(world_size, fn)` runs fn(group) for W ranks as threads of one process, with
  real collective semantics: a notebook can run a vocab-parallel loss in one kernel.

Data or sequence parallelism with gradient accumulation splits the *positions* instead:
`global_token_count` gives the divisor that makes the summed per-rank, per-micro-batch
losses equal to the mean over the whole global batch.
"""
from __future__ import annotations

import threading
from typing import Callable, Protocol

import numpy as np

from . import _validation as check
from .losses import _check_label_smoothing

__all__ = [
    "CommunicationError",
    "Group",
    "SimulatedGroup",
    "TorchDistributedGroup",
    "global_token_count",
    "simulate",
    "vocab_parallel_cross_entropy",
    "vocab_parallel_cross_entropy_grad",
    "vocab_parallel_cross_entropy_with_grad",
]

OPS = ("sum", "max")


class CommunicationError(RuntimeError):
    """A collective failed: another rank stopped, raised, or did not arrive in time."""


class Group(Protocol):
    rank: int
    world_size: int

    def all_reduce(self, array: np.ndarray, op: str) -> np.ndarray: ...


# --------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------
class TorchDistributedGroup:
    """torch.distributed's default process group (or `group`), for NumPy arrays.

    Call `torch.distributed.init_process_group` first (torchrun does it from its environment
    variables). A collective that fails, because another rank died or the group's timeout
    passed, raises CommunicationError naming this rank.
    """

    def __init__(self, group=None):
        import torch.distributed as dist  # only here: ce_lib itself needs only NumPy

        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError(
                "TorchDistributedGroup needs an initialised process group: call "
                "torch.distributed.init_process_group(...) first (torchrun sets its environment)")
        self._dist, self._group = dist, group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)

    def all_reduce(self, array: np.ndarray, op: str) -> np.ndarray:
        import torch

        reduce_op = {"sum": self._dist.ReduceOp.SUM, "max": self._dist.ReduceOp.MAX}[_check_op(op)]
        tensor = torch.from_numpy(np.array(array, copy=True))  # a copy: the caller's array stays
        try:
            self._dist.all_reduce(tensor, op=reduce_op, group=self._group)
        except Exception as error:  # gloo raises RuntimeError; others other types
            raise CommunicationError(
                f"all_reduce({op}) failed on rank {self.rank} of {self.world_size}: another rank "
                f"stopped or did not arrive within the group's timeout ({error})") from error
        return tensor.numpy()


class _Rendezvous:
    """What the threads of `simulate` share: one slot per rank and a barrier."""

    def __init__(self, world_size: int, timeout: float):
        self.slots: list = [None] * world_size
        self.barrier = threading.Barrier(world_size, timeout=timeout)
        self.log: list[tuple[str, int]] = []  # (op, numbers per rank) of each collective


class SimulatedGroup:
    """One rank of `simulate`: all_reduce waits for every rank, like a real collective."""

    def __init__(self, rank, world_size, rendezvous):
        self.rank, self.world_size, self._shared = rank, world_size, rendezvous

    def all_reduce(self, array: np.ndarray, op: str) -> np.ndarray:
        reduce = {"sum": np.add, "max": np.maximum}[_check_op(op)]
        shared = self._shared
        shared.slots[self.rank] = np.array(array, copy=True)
        self._wait(op)                     # every rank has put its array
        result = reduce.reduce(np.stack(shared.slots), axis=0)
        if self.rank == 0:
            shared.log.append((op, int(np.size(array))))
        self._wait(op)                     # every rank has read them: the slots may be reused
        return result

    @property
    def log(self):
        """Every collective so far, in order, each as the pair (op, numbers per rank)."""
        return list(self._shared.log)

    def _wait(self, op: str) -> None:
        try:
            self._shared.barrier.wait()
        except threading.BrokenBarrierError:
            raise CommunicationError(
                f"all_reduce({op}) failed on rank {self.rank} of {self.world_size}: another rank "
                f"stopped or did not arrive within the timeout") from None


def simulate(world_size: int, fn: Callable[[SimulatedGroup], object], timeout: float = 30.0):
    """Run fn(group) as `world_size` ranks (threads) of one process; return their results.

    Collectives behave as in torch.distributed: all_reduce returns once every rank has called
    it. If a rank raises, the others stop with CommunicationError at their next collective
    (not a hang), and the first rank's exception is raised here.
    """
    if isinstance(world_size, bool) or not isinstance(world_size, (int, np.integer)) \
            or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}")
    rendezvous = _Rendezvous(int(world_size), timeout)
    results: list = [None] * world_size
    errors: list = [None] * world_size

    def run(rank: int) -> None:
        try:
            results[rank] = fn(SimulatedGroup(rank, world_size, rendezvous))
        except BaseException as error:  # noqa: BLE001 - reported below, on the caller's thread
            errors[rank] = error
            rendezvous.barrier.abort()      # the others stop at their next collective

    threads = [threading.Thread(target=run, args=(r,), name=f"rank {r}") for r in range(world_size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = next((e for e in errors if e is not None and not isinstance(e, CommunicationError)),
                 next((e for e in errors if e is not None), None))
    if first is not None:
        raise first
    return results


def _check_op(op) -> str:
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    return op


# --------------------------------------------------------------------------
# vocab-parallel cross-entropy
# --------------------------------------------------------------------------
def _shard_arguments(logits_shard, target, vocab_start, group, ignore_index, label_smoothing,
                     reduction):
    """Checked arguments; every rank raises the same error for the same (global) mistake."""
    reduction = check.check_reduction(reduction)
    z = check.float_input(logits_shard, "logits_shard")
    if z.dtype not in (np.float32, np.float64):
        raise TypeError(f"logits_shard must be float32 or float64, got dtype {z.dtype} "
                        "(cast float16 logits to float32 first)")
    if z.ndim != 2:
        raise ValueError(f"logits_shard must have shape (N, V_r): N positions, this rank's V_r "
                         f"classes; got shape {z.shape}")
    if isinstance(vocab_start, bool) or not isinstance(vocab_start, (int, np.integer)) \
            or vocab_start < 0:
        raise TypeError(f"vocab_start must be a non-negative int, got {vocab_start!r}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
    eps = _check_label_smoothing(label_smoothing)   # as cross_entropy: torch's rules
    for attribute in ("rank", "world_size", "all_reduce"):
        if not hasattr(group, attribute):
            raise TypeError(f"group must have rank, world_size and all_reduce(array, op); "
                            f"{type(group).__name__} has no {attribute}")
    t = check.to_numpy(target, "target")
    if not np.issubdtype(t.dtype, np.integer) or t.dtype not in (np.int64, np.uint8):
        raise TypeError(f"target must hold int64 (or uint8) class indices, got dtype {t.dtype}")
    if t.shape != (z.shape[0],):
        raise ValueError(f"target has shape {t.shape} but logits_shard of shape {z.shape} needs "
                         f"target shape ({z.shape[0]},): one class index per position")
    return z, t.astype(np.int64), int(vocab_start), int(ignore_index), eps, reduction


def _row_statistics(z, t, vocab_start, group, ignore_index, eps):
    """lse (N,), the target logit (N,), the row sums of z (N,) or None, V, and the valid mask."""
    n_local = z.shape[1]
    vocab_size = int(group.all_reduce(np.array([n_local], np.int64), "sum")[0])
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= vocab_size))
    if bad.any():
        i = int(np.argmax(bad))
        raise IndexError(f"target contains class {int(t[i])} at position {i}, but the vocabulary "
                         f"has {vocab_size} classes over all ranks: expected a value in "
                         f"[0, {vocab_size - 1}] or ignore_index={ignore_index}")
    local_max = z.max(axis=1) if n_local else np.full(z.shape[0], -np.inf, z.dtype)
    m = group.all_reduce(local_max, "max")
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = z - m[:, None]
        np.exp(shifted, out=shifted)
        sum_exp = shifted.sum(axis=1)
    mine = valid & (t >= vocab_start) & (t < vocab_start + n_local)
    rows = np.nonzero(mine)[0]
    picked = np.zeros(z.shape[0], z.dtype)
    picked[rows] = z[rows, t[rows] - vocab_start]
    parts = [sum_exp, picked] + ([z.sum(axis=1)] if eps > 0 else [])
    reduced = group.all_reduce(np.stack(parts), "sum")  # one collective for 2 N (3 N) numbers
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = m + np.log(reduced[0])
    row_sums = reduced[2] if eps > 0 else None
    return lse.astype(z.dtype, copy=False), reduced[1], row_sums, vocab_size, valid


def vocab_parallel_cross_entropy(logits_shard, target, *, vocab_start: int, group,
                                 ignore_index: int = -100, label_smoothing: float = 0.0,
                                 reduction: str = "mean"):
    """This rank's part of cross_entropy(full_logits, target), returned whole on every rank.

    logits_shard: (N, V_r), float32 or float64: the logits of classes
        [vocab_start, vocab_start + V_r) of every position; shards may differ in size.
    target: (N,) int64 class indices over the whole vocabulary, the same on every rank.
    Returns what F.cross_entropy(full_logits, target, ignore_index=..., label_smoothing=...,
    reduction=...) returns: (N,) for 'none' (0 at ignored positions), a scalar otherwise;
    'mean' divides by the number of positions not ignored (NaN if there is none).
    """
    z, t, start, ignore, eps, reduction = _shard_arguments(
        logits_shard, target, vocab_start, group, ignore_index, label_smoothing, reduction)
    return _loss_from(z, _row_statistics(z, t, start, group, ignore, eps), eps, reduction)


def _loss_from(z, statistics, eps, reduction):
    """The loss from the all-reduced row statistics (no communication)."""
    lse, picked, row_sums, vocab_size, valid = statistics
    with np.errstate(invalid="ignore"):
        loss = lse - picked
        if eps > 0:
            loss = (1 - eps) * loss + eps * (lse - row_sums / vocab_size)
    zero = z.dtype.type(0)
    loss = np.where(valid, loss, zero).astype(z.dtype, copy=False)
    if reduction == "none":
        return loss
    total = loss.sum(dtype=z.dtype)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / z.dtype.type(valid.sum())


def vocab_parallel_cross_entropy_with_grad(logits_shard, target, *, vocab_start: int, group,
                                           ignore_index: int = -100,
                                           label_smoothing: float = 0.0,
                                           reduction: str = "mean", grad_output=None):
    """(loss, this rank's gradient shard) with one set of collectives, as a training step
    wants them: what vocab_parallel_cross_entropy and vocab_parallel_cross_entropy_grad
    return, for half the communication of calling both."""
    z, t, start, ignore, eps, reduction = _shard_arguments(
        logits_shard, target, vocab_start, group, ignore_index, label_smoothing, reduction)
    statistics = _row_statistics(z, t, start, group, ignore, eps)
    return (_loss_from(z, statistics, eps, reduction),
            _grad_from(z, t, start, statistics, eps, reduction, grad_output))


def vocab_parallel_cross_entropy_grad(logits_shard, target, *, vocab_start: int, group,
                                      ignore_index: int = -100, label_smoothing: float = 0.0,
                                      reduction: str = "mean", grad_output=None):
    """This rank's shard of d loss / d full_logits: shape (N, V_r), like logits_shard.

    G_ij = s_i * (q_ij - (1 - eps) [j == t_i] - eps / V),  q = softmax of the full row,
    s_i = g_i ('none'; g the upstream gradient, ones by default), g ('sum') or g / n_valid
    ('mean'); ignored rows get 0 (NaN where their q is NaN, as torch's backward does).
    Same arguments as vocab_parallel_cross_entropy; the only communication is the forward's.
    """
    z, t, start, ignore, eps, reduction = _shard_arguments(
        logits_shard, target, vocab_start, group, ignore_index, label_smoothing, reduction)
    statistics = _row_statistics(z, t, start, group, ignore, eps)
    return _grad_from(z, t, start, statistics, eps, reduction, grad_output)


def _grad_from(z, t, start, statistics, eps, reduction, grad_output):
    """This rank's gradient shard from the all-reduced row statistics (no communication)."""
    lse, _, _, vocab_size, valid = statistics
    n = z.shape[0]
    if grad_output is None:
        g = np.ones(n if reduction == "none" else (), z.dtype)
    else:
        g = check.to_numpy(grad_output, "grad_output").astype(z.dtype)
        expected = (n,) if reduction == "none" else ()
        if g.shape != expected:
            raise ValueError(f"grad_output has shape {g.shape} but the loss has shape {expected}")
    scale = np.broadcast_to(g, (n,)).astype(z.dtype)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = scale / z.dtype.type(valid.sum())
    scale = np.where(valid, scale, z.dtype.type(0))
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.exp(z - lse[:, None])
        # The chain rule through log_softmax, as torch's backward runs it: the upstream
        # gradient u of the log-probabilities, then u - q * sum(u) with sum(u) = -s_i.
        upstream = np.full(z.shape, -eps / vocab_size, z.dtype) * scale[:, None]
        mine = valid & (t >= start) & (t < start + z.shape[1])
        rows = np.nonzero(mine)[0]
        upstream[rows, t[rows] - start] -= (1 - eps) * scale[rows]
        grad = upstream + q * scale[:, None]
    return grad.astype(z.dtype, copy=False)


# --------------------------------------------------------------------------
# data / sequence parallelism with gradient accumulation
# --------------------------------------------------------------------------
def global_token_count(targets, *, group, ignore_index: int = -100) -> int:
    """Positions that count (target != ignore_index) over all micro-batches of all ranks.

    targets: this rank's target array, or a list of them (one per micro-batch). Divide each
    micro-batch's *summed* loss by this number, accumulate the gradients and all-reduce them
    with a sum: the result is the gradient of the mean over the global batch. Averaging
    per-micro-batch means (or per-rank means) instead weighs a position by the size of the
    batch it happened to land in.
    """
    batches = targets if isinstance(targets, (list, tuple)) else [targets]
    local = sum(int(np.sum(check.to_numpy(t, "targets") != ignore_index)) for t in batches)
    return int(group.all_reduce(np.array([local], np.int64), "sum")[0])
