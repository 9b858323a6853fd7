"""ce_lib.parallel: vocab-parallel cross-entropy against torch, over real gloo process groups.

Each world size runs as torchrun runs a training job (`python -m torch.distributed.run
--standalone`), every rank computing its loss and its gradient shard for every case of
parallel_worker.CASES (float32 and float64, every reduction, label smoothing, ignored and
all-ignored targets, NaN / inf / all -inf rows, N = 0, uneven and empty shards). The test
then puts the shards together and compares them with F.cross_entropy on the full logits.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import parallel_worker as worker
from ce_lib import parallel

WORKER = Path(worker.__file__)
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


def torch_reference(logits, target, options):
    x = torch.from_numpy(logits).requires_grad_()
    loss = F.cross_entropy(x, torch.from_numpy(target), **options)
    (grad,) = torch.autograd.grad(loss.sum(), x) if x.numel() else (torch.zeros_like(x),)
    return loss.detach().numpy(), grad.numpy()


def assert_matches(mine, theirs, dtype, what):
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape} != torch's {theirs.shape}"
    assert mine.dtype == theirs.dtype, f"{what}: dtype {mine.dtype} != torch's {theirs.dtype}"
    np.testing.assert_allclose(mine, theirs, equal_nan=True, err_msg=what, **TOL[dtype])


@pytest.fixture(scope="module", params=[2, 3, 4], ids=lambda w: f"{w} ranks")
def gloo_run(request, tmp_path_factory):
    """Every case on `world_size` gloo ranks, launched by torchrun; the ranks' results."""
    world_size = request.param
    out = tmp_path_factory.mktemp(f"gloo{world_size}")
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         f"--nproc-per-node={world_size}", str(WORKER), "parity", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:] + "".join(
        p.read_text() for p in out.glob("rank*.txt"))
    return world_size, [np.load(out / f"rank{r}.npz") for r in range(world_size)]


@pytest.mark.parametrize("case", range(worker.N_CASES))
def test_every_rank_gets_torchs_loss_and_its_shard_of_torchs_gradient(gloo_run, case):
    world_size, ranks = gloo_run
    logits, target, options, bounds = worker.make_case(case, world_size)
    loss, grad = torch_reference(logits, target, options)
    what = f"case {case}: {options}, shards {bounds}, dtype {logits.dtype}"
    for rank, result in enumerate(ranks):
        assert_matches(result[f"loss{case}"], loss, str(logits.dtype), f"{what}, loss on rank {rank}")
    shards = np.concatenate([result[f"grad{case}"] for result in ranks], axis=1)
    assert_matches(shards, grad, str(logits.dtype), f"{what}, gradient")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rank_that_dies_makes_the_others_fail_with_a_clear_error_not_hang(tmp_path):
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE="2")
    start = time.monotonic()
    ranks = [subprocess.Popen([sys.executable, str(WORKER), "fail", str(tmp_path)],
                              env=dict(env, RANK=str(r)), stderr=subprocess.PIPE)
             for r in range(2)]
    codes = [p.wait(timeout=120) for p in ranks]
    assert time.monotonic() - start < 90
    assert codes[1] == 3
    assert codes[0] == 1, ranks[0].stderr.read().decode()[-2000:]
    message = (tmp_path / "rank0.txt").read_text()
    assert message.startswith("CommunicationError: all_reduce(sum) failed on rank 0 of 2")


# ---- the in-process simulation (what the chapter uses) -------------------------------------

def split(logits, bounds, rank):
    return logits[:, bounds[rank]:bounds[rank + 1]]


@pytest.mark.parametrize("case", range(1, worker.N_CASES, 4))
def test_simulated_ranks_match_torch_too(case):
    world_size = 3
    logits, target, options, bounds = worker.make_case(case, world_size)
    loss, grad = torch_reference(logits, target, options)

    def rank_job(group):
        kwargs = dict(vocab_start=bounds[group.rank], group=group, **options)
        shard = split(logits, bounds, group.rank)
        return (parallel.vocab_parallel_cross_entropy(shard, target, **kwargs),
                parallel.vocab_parallel_cross_entropy_grad(shard, target, **kwargs))

    results = parallel.simulate(world_size, rank_job)
    both = parallel.simulate(world_size, lambda group: parallel.vocab_parallel_cross_entropy_with_grad(
        split(logits, bounds, group.rank), target, vocab_start=bounds[group.rank], group=group,
        **options))
    for (loss_a, grad_a), (loss_b, grad_b) in zip(results, both):
        np.testing.assert_array_equal(loss_a, loss_b)
        np.testing.assert_array_equal(grad_a, grad_b)
    for rank_loss, _ in results:
        assert_matches(rank_loss, loss, str(logits.dtype), f"case {case} loss")
    assert_matches(np.concatenate([g for _, g in results], axis=1), grad, str(logits.dtype),
                   f"case {case} gradient")


def test_a_step_all_reduces_3n_numbers_plus_the_vocabulary_size():
    n = 8
    logits = np.random.default_rng(0).normal(size=(n, 10))
    target = np.arange(n) % 10

    def rank_job(group):
        parallel.vocab_parallel_cross_entropy(split(logits, [0, 4, 10], group.rank), target,
                                              vocab_start=[0, 4][group.rank], group=group)
        return group.log

    log = parallel.simulate(2, rank_job)[0]
    assert log == [("sum", 1), ("max", n), ("sum", 2 * n)]

    def both_job(group):
        parallel.vocab_parallel_cross_entropy_with_grad(
            split(logits, [0, 4, 10], group.rank), target, vocab_start=[0, 4][group.rank],
            group=group)
        return group.log

    assert parallel.simulate(2, both_job)[0] == log   # loss and gradient: one set


def test_a_simulated_rank_that_raises_stops_the_others_and_its_error_is_raised():
    def rank_job(group):
        if group.rank == 1:
            raise KeyError("rank 1 broke")
        return group.all_reduce(np.ones(2), "sum")

    with pytest.raises(KeyError, match="rank 1 broke"):
        parallel.simulate(3, rank_job, timeout=20)


def test_a_simulated_rank_that_never_arrives_times_out():
    def rank_job(group):
        if group.rank == 0:
            return group.all_reduce(np.ones(1), "max")
        return None                                  # rank 1 skips the collective

    start = time.monotonic()
    with pytest.raises(parallel.CommunicationError, match="rank 0 of 2"):
        parallel.simulate(2, rank_job, timeout=0.5)
    assert time.monotonic() - start < 10


def test_global_token_count_makes_summed_micro_batch_losses_the_global_mean():
    rng = np.random.default_rng(3)
    # two ranks, two micro-batches each, of different sizes and with ignored positions
    batches = [[rng.integers(-1, 5, size=n) for n in sizes] for sizes in ([3, 7], [5, 1])]
    logits = [[rng.normal(size=(len(t), 5)) for t in rank] for rank in batches]
    everything = F.cross_entropy(torch.from_numpy(np.concatenate(sum(logits, []))),
                                 torch.from_numpy(np.concatenate(sum(batches, []))),
                                 ignore_index=-1)

    def rank_job(group):
        count = parallel.global_token_count(batches[group.rank], group=group, ignore_index=-1)
        local = sum(F.cross_entropy(torch.from_numpy(z), torch.from_numpy(t), ignore_index=-1,
                                    reduction="sum").item() / count
                    for z, t in zip(logits[group.rank], batches[group.rank]))
        return group.all_reduce(np.array(local), "sum")

    for total in parallel.simulate(2, rank_job):
        np.testing.assert_allclose(total, everything.item(), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(target=np.array([0, 9])), IndexError, "class 9 at position 1"),
        (dict(target=np.array([0, 1, 2])), ValueError, "target has shape (3,)"),
        (dict(target=np.array([0.0, 1.0])), TypeError, "int64"),
        (dict(logits_shard=np.zeros((2, 3), np.float16)), TypeError, "float32 or float64"),
        (dict(logits_shard=np.zeros(3)), ValueError, "(N, V_r)"),
        (dict(reduction="avg"), ValueError, "reduction"),
        (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
        (dict(vocab_start=-1), TypeError, "vocab_start"),
        (dict(group=object()), TypeError, "group must have rank"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, words):
    def rank_job(group):
        call = dict(logits_shard=np.zeros((2, 3)), target=np.array([0, 1]),
                    vocab_start=3 * group.rank, group=group)
        call.update(kwargs)
        return parallel.vocab_parallel_cross_entropy(**call)

    with pytest.raises(error, match=__import__("re").escape(words)):
        parallel.simulate(2, rank_job, timeout=20)
