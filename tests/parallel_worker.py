"""One rank of a real torch.distributed (gloo) job, for tests/test_parallel.py.

Launched as torchrun launches a training script: RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT in the environment (by `python -m torch.distributed.run`, or by the test itself).

    python parallel_worker.py parity OUTDIR     every case of CASES: this rank's loss and
                                                gradient shard -> OUTDIR/rank<R>.npz
    python parallel_worker.py fail OUTDIR       rank 1 dies before the first collective; the
                                                others record the error they get
"""
from __future__ import annotations

import datetime
import os
import sys
import traceback
from pathlib import Path

import numpy as np

OPTIONS = [  # (dtype, reduction, label_smoothing, ignore_index)
    (dtype, reduction, eps, ignore)
    for dtype in ("float32", "float64")
    for reduction in ("none", "mean", "sum")
    for eps in (0.0, 0.1)
    for ignore in (-100, 3)
]


def shard_bounds(vocab_size: int, world_size: int, case: int) -> list[int]:
    """Uneven split points: case-dependent sizes, one shard may be empty (world size >= 3)."""
    rng = np.random.default_rng(1000 + case)
    cuts = np.sort(rng.integers(0, vocab_size + 1, size=world_size - 1))
    return [0, *map(int, cuts), vocab_size]


def make_case(case: int, world_size: int):
    """(logits (N, V), target (N,), options, bounds): the same on every rank and in the test."""
    dtype, reduction, eps, ignore = OPTIONS[case % len(OPTIONS)]
    rng = np.random.default_rng(case)
    n = (0, 1, 5, 17)[case % 4]
    vocab_size = int(rng.integers(world_size, 40))
    logits = (rng.normal(scale=3.0, size=(n, vocab_size))).astype(dtype)
    target = rng.integers(0, vocab_size, size=n).astype(np.int64)
    if n >= 5:
        target[1] = ignore                       # an ignored position
        logits[2, :] = np.nan if case % 3 == 0 else logits[2, :]     # a NaN row
        logits[3, 0] = np.inf if case % 3 == 1 else logits[3, 0]     # an inf entry
        logits[4, :] = -np.inf if case % 3 == 2 else logits[4, :]    # an all -inf row
        if case % 5 == 0:
            target[:] = ignore                   # every position ignored
    options = dict(reduction=reduction, label_smoothing=eps, ignore_index=ignore)
    return logits, target, options, shard_bounds(vocab_size, world_size, case)


N_CASES = 2 * len(OPTIONS)


def main(mode: str, outdir: str) -> int:
    import torch.distributed as dist

    from ce_lib import parallel

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    out = Path(outdir)
    try:
        group = parallel.TorchDistributedGroup()
        if mode == "fail":
            if rank == 1:
                raise SystemExit(3)              # dies before any collective
            parallel.vocab_parallel_cross_entropy(
                np.zeros((2, 3)), np.array([0, 1]), vocab_start=3 * rank, group=group)
            (out / f"rank{rank}.txt").write_text("no error")
            return 0
        results = {}
        for case in range(N_CASES):
            logits, target, options, bounds = make_case(case, world_size)
            shard = logits[:, bounds[rank]:bounds[rank + 1]]
            kwargs = dict(vocab_start=bounds[rank], group=group, **options)
            results[f"loss{case}"] = parallel.vocab_parallel_cross_entropy(shard, target, **kwargs)
            results[f"grad{case}"] = parallel.vocab_parallel_cross_entropy_grad(
                shard, target, **kwargs)
        np.savez(out / f"rank{rank}.npz", **results)
        return 0
    except parallel.CommunicationError as error:
        (out / f"rank{rank}.txt").write_text(f"CommunicationError: {error}")
        return 1
    except Exception:
        (out / f"rank{rank}.txt").write_text(traceback.format_exc())
        return 2
    finally:
        if mode != "fail":
            dist.destroy_process_group()


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2])
    if sys.argv[1] == "fail":
        # The process group is broken (a peer died) and cannot be destroyed cleanly: at normal
        # interpreter exit gloo's C++ destructors sometimes call std::terminate (exit -6) after
        # the error was recorded. Leave without running them, with the code main() chose.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
