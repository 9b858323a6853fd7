"""The benchmark (./course bench) keeps working, and its statistics and verdicts are right.

Its timings are not checked here (they depend on the machine): one tiny run checks that the
script, its worker processes and its JSON still fit together; the bootstrap intervals, the
roofline floors, the load check and `evaluate` are checked on made-up numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import bench_cross_entropy as bench  # noqa: E402


def test_a_tiny_quick_run_writes_every_peer_and_labels_its_targets_not_judged(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_cross_entropy.py"), "--quick", "--sizes", "64x10",
         "--threads", "1", "--no-linear", "--output", str(output)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    results = json.loads(output.read_text())
    assert results["meta"]["targets_judged"] is False
    assert "not judged at quick sizes" in run.stdout
    assert "MISSED" not in run.stdout and "[       met]" not in run.stdout
    impls = {(row["op"], row["impl"]) for row in results["rows"]}
    expected = {(op, impl) for family in bench.QUICK["families"]
                for op, impl in bench.FAMILIES[family].items()}
    assert impls == expected
    for row in results["rows"]:
        assert len(row["samples_s"]) == bench.QUICK["samples"]
        low, high = row["ci95_s"]
        assert 0 < low <= row["median_s"] <= high
        assert row["minflt_per_call"] >= 0 and row["thp"] == results["meta"]["transparent_hugepage"]
    (limits,) = results["roofline"]
    assert limits["stream_copy_GBps"] > 0 and limits["exp_ns_per_element"] > 0
    assert not any(r.get("floor_ratio") for r in results["rows"])  # small: no roofline floor
    assert all(t["met"] in (True, False) for t in results["targets"])
    for key in ("cpu", "isa", "numpy_blas", "torch_blas", "load_average_start"):
        assert results["meta"][key]


def test_median_interval_brackets_the_median_and_shrinks_with_more_samples():
    rng = np.random.default_rng(1)
    few, many = rng.normal(10, 1, 15), rng.normal(10, 1, 400)
    median, (low, high) = bench.median_ci(few)
    assert median == np.median(few) and low <= median <= high
    _, (low_many, high_many) = bench.median_ci(many)
    assert high_many - low_many < high - low
    assert bench.median_ci([2.0] * 15) == (2.0, (2.0, 2.0))


def test_ratio_interval_holds_the_true_ratio_and_excludes_a_wrong_one():
    rng = np.random.default_rng(2)
    mine, theirs = rng.normal(1.0, 0.02, 15), rng.normal(2.0, 0.04, 15)
    value, (low, high) = bench.ratio_ci(mine, theirs)
    assert low <= 0.5 <= high and abs(value - 0.5) < 0.02
    assert not low <= 0.6 <= high


def test_the_load_check_waits_then_refuses_or_accepts():
    loads = iter([1.2, 0.9, 0.3])
    slept = []
    quiet = bench.wait_for_quiet(0.5, 60, getloadavg=lambda: (next(loads),), sleep=slept.append,
                                 poll_s=15)
    assert quiet == 0.3 and slept == [15, 15]
    assert bench.wait_for_quiet(0.5, 0, getloadavg=lambda: (0.5,), sleep=slept.append) is None


LIMITS = {"exp_ns_per_element": 0.5, "numpy_exp_ns_per_element": 0.5,
          "torch_exp_ns_per_element": 0.5, "stream_copy_GBps": 20.0, "numpy_sgemm_GFLOPs": 100.0}


def test_the_floor_is_the_slower_of_exp_and_memory_traffic():
    row = {"n": 4096, "c": 32000, "op": "fwd+bwd", "impl": "fused.cross_entropy_with_grad"}
    elements = 4096 * 32000
    exp_s = elements * 0.5e-9                # 65.5 ms
    fresh_memory_s = 3 * elements * 4 / 20e9  # logits read, pages zeroed, gradient written
    assert bench.floor_seconds(row, LIMITS) == (pytest.approx(fresh_memory_s), "memory")
    row["impl"] = "fused.cross_entropy"
    assert bench.floor_seconds(row, LIMITS) == (pytest.approx(exp_s), "exp")
    row["impl"] = "torch"
    assert bench.floor_seconds(row, LIMITS) == (None, None)
    small = {"n": 64, "c": 10, "op": "fwd", "impl": "fused.cross_entropy"}
    assert bench.floor_seconds(small, LIMITS) == (None, None)


def _row(impl, op, seconds, n=4096, c=32000, threads=1, **extra):
    samples = list(seconds * (1 + 0.01 * np.sin(np.arange(15))))
    return dict(n=n, c=c, op=op, threads=threads, impl=impl, samples_s=samples,
                median_s=float(np.median(samples)), ci95_s=bench.median_ci(samples)[1],
                minflt_per_call=0.0, peak_growth_bytes=None, **extra)


@pytest.mark.parametrize(("fresh_s", "met"), [(0.2, True), (0.3, False)])
def test_the_fresh_gradient_target_is_judged_on_the_fresh_row_alone(fresh_s, met):
    rows = [_row("torch", "fwd+bwd", 0.5), _row("torch.compile", "fwd+bwd", 0.5),
            _row("fused.cross_entropy_with_grad", "fwd+bwd", fresh_s),
            _row("fused.cross_entropy_with_grad(out=)", "fwd+bwd", 0.1)]
    targets = {t["target"]: t for t in bench.evaluate(rows, {1: LIMITS})}
    fresh = targets["4096x32000 fwd+bwd: fused.cross_entropy_with_grad <= 0.5 x torch"]
    assert fresh["met"] is met and fresh["value"] == pytest.approx(fresh_s / 0.5, rel=0.02)
    # a fast out= row never stands in for the fresh one
    assert targets["4096x32000 fwd+bwd: fused.cross_entropy_with_grad(out=) <= 0.6 x "
                   "torch.compile"]["met"]
    assert fresh["cause_if_missed"]


def test_the_roofline_target_and_the_small_size_targets():
    slow = _row("fused.cross_entropy_with_grad(out=)", "fwd+bwd", 0.3, floor_s=0.1,
                floor_ratio=3.0, floor_bound="exp")
    rows = [slow, _row("torch", "fwd", 1e-5, 64, 10), _row("torch (THP)", "fwd", 1e-5, 64, 10),
            _row("fused.cross_entropy", "fwd", 2e-5, 64, 10)]
    targets = {t["target"]: t for t in bench.evaluate(rows, {1: LIMITS})}
    floor = targets["4096x32000 fwd+bwd: fused.cross_entropy_with_grad(out=) <= 2 x its "
                    "roofline floor"]
    assert floor["met"] is False and floor["value"] == 3.0
    assert [targets[f"64x10 fwd: fused.cross_entropy <= 1.5 x {peer}"]["met"]
            for peer in ("torch", "torch (THP)")] == [False, False]
