"""ce_lib's cross-entropy against torch eager, torch.compile and a chunked torch linear + CE.

    ./course bench            the reference run (about 16 minutes on 2 cores); refuses to start
                              unless the 1-minute load is below 0.5 (waits up to --wait s)
    ./course bench --quick    a smoke test (under a minute): small sizes, 5 samples; its targets
                              are labelled "not judged at quick sizes"; writes results-quick.json

Method (bench/README.md says why):

* Each contender runs in its own process, one per (contender, size, thread count), all started
  before the first sample and kept waiting; the driver asks them for samples in turn, one
  process at a time, the order rotating each round. So no contender shares an allocator, a
  page cache state or a core with another, and slow drifts of the machine hit all of them.
* A sample is one call (or, for calls under `min_sample_s`, a loop of calls timed together);
  every row has at least `samples` samples; a row reports the median and a bootstrap 95 %
  interval of the median, the minor page faults per call (getrusage ru_minflt) and the
  transparent-huge-page setting; ratios get a bootstrap interval too.
* Peak memory: after its samples, each worker resets its peak-RSS counter (5 into
  /proc/self/clear_refs), runs one call and reads VmHWM: what that call added at its peak.
* The roofline: a worker measures this machine's streaming bandwidth (a large copy), exp
  throughput (np.exp and torch.exp on a cache-resident block) and page-zeroing rate, at each
  thread count; each ce_lib row is reported as a multiple of its floor,
  max(elements / exp rate, bytes moved / bandwidth).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ce_lib import compiled

HERE = Path(__file__).resolve().parent
REMOVED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "THP_MEM_ALLOC_ENABLE", "CE_LIB_KERNEL")

FULL = {
    "sizes": [(64, 10), (1024, 1000), (4096, 32000), (2048, 128256)],
    "samples": 15,
    "min_sample_s": 0.05,
    "linear": {"n": 4096, "d": 512, "vocab": 50257},
    "families": ["torch", "torch (THP)", "torch.compile", "ce_lib", "fused", "fused(out=)"],
    "output": HERE / "results.json",
}
QUICK = {
    "sizes": [(512, 4000)],  # (tests/test_bench.py runs 64 x 10)
    "samples": 5,
    "min_sample_s": 0.01,
    "linear": {"n": 256, "d": 64, "vocab": 4000},
    "families": ["torch", "torch.compile", "ce_lib", "fused", "fused(out=)"],
    "output": HERE / "results-quick.json",
}
LARGE = 4096 * 32000 // 4  # inputs of at least this many elements count as large
MAX_LOAD = 0.5
BOOTSTRAP = 2000

# Which rows each process family times: {family: {op: impl}}. One process per family, size
# and thread count. "ce_lib" (the readable reference, which allocates N x C temporaries) runs
# only below LARGE: information, not a target, and slow.
FAMILIES = {
    "torch": {"fwd": "torch", "fwd+bwd": "torch"},
    "torch (THP)": {"fwd": "torch (THP)", "fwd+bwd": "torch (THP)"},
    "torch.compile": {"fwd": "torch.compile", "fwd+bwd": "torch.compile"},
    "ce_lib": {"fwd": "ce_lib.cross_entropy"},
    "fused": {"fwd": "fused.cross_entropy", "fwd+bwd": "fused.cross_entropy_with_grad"},
    "fused(out=)": {"fwd+bwd": "fused.cross_entropy_with_grad(out=)"},
}
LINEAR_FAMILIES = {
    "torch": "torch",
    "torch chunked": "torch chunked",
    "fused": "fused.linear_cross_entropy_with_grad",
}
CE_ROWS = ("fused.cross_entropy", "fused.cross_entropy_with_grad",
           "fused.cross_entropy_with_grad(out=)")


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------
def median_ci(samples, n_boot: int = BOOTSTRAP, seed: int = 0):
    """(median, (low, high)): the median and a percentile-bootstrap 95 % interval for it."""
    x = np.asarray(samples, float)
    rng = np.random.default_rng(seed)
    boot = np.median(x[rng.integers(0, x.size, (n_boot, x.size))], axis=1)
    return float(np.median(x)), (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)))


def ratio_ci(mine, theirs, n_boot: int = BOOTSTRAP, seed: int = 0):
    """(median(mine) / median(theirs), 95 % bootstrap interval), each side resampled apart."""
    a, b = np.asarray(mine, float), np.asarray(theirs, float)
    rng = np.random.default_rng(seed)
    boot_a = np.median(a[rng.integers(0, a.size, (n_boot, a.size))], axis=1)
    boot_b = np.median(b[rng.integers(0, b.size, (n_boot, b.size))], axis=1)
    boot = boot_a / boot_b
    return (float(np.median(a) / np.median(b)),
            (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))))


# --------------------------------------------------------------------------
# The contenders (run inside the worker processes)
# --------------------------------------------------------------------------
def chunked_torch_linear_cross_entropy(h, W, t, chunk):
    """Pure-torch linear + cross-entropy, a chunk of tokens at a time: the peer a user writes.

    Returns (loss, grad_h, grad_W) of F.cross_entropy(h @ W.T, t) (mean). Each chunk's logits,
    log-softmax and gradient live only while the chunk is processed; autograd does the rest.
    """
    import torch
    import torch.nn.functional as F

    n = h.shape[0]
    grad_h, grad_W = torch.empty_like(h), torch.zeros_like(W)
    total = torch.zeros((), dtype=h.dtype)
    W_leaf = W.detach().requires_grad_()
    for r0 in range(0, n, chunk):
        h_c = h[r0 : r0 + chunk].detach().requires_grad_()
        with torch.enable_grad():
            loss = F.cross_entropy(F.linear(h_c, W_leaf), t[r0 : r0 + chunk], reduction="sum") / n
            g_h, g_W = torch.autograd.grad(loss, (h_c, W_leaf))
        grad_h[r0 : r0 + chunk] = g_h
        grad_W += g_W
        total += loss.detach()
    return total, grad_h, grad_W


def _linear_chunk_rows(vocab: int) -> int:
    from ce_lib import fused

    return max(1, fused.CHUNK_BYTES // (vocab * 4))  # the same chunk as ce_lib's default


def _ce_calls(family, inputs, threads):
    """{op: zero-argument call} for one family on the (N, C) logits x and targets t."""
    x, t = inputs["x"], inputs["t"]
    if family.startswith("torch"):
        import torch
        import torch.nn.functional as F

        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        leaf = torch.from_numpy(x).requires_grad_()  # shares x: no copy held

        def step(leaf, tt):
            loss = F.cross_entropy(leaf, tt)
            loss.backward()
            return loss

        fwd, fwd_bwd = F.cross_entropy, step
        if family == "torch.compile":
            fwd, fwd_bwd = torch.compile(F.cross_entropy), torch.compile(step)

        def train_step():
            leaf.grad = None  # as optimizer.zero_grad() does: a fresh gradient every step
            fwd_bwd(leaf, tt)
            return leaf.grad

        return {"fwd": lambda: fwd(xt, tt), "fwd+bwd": train_step}
    import ce_lib
    from ce_lib import fused

    if family == "ce_lib":
        return {"fwd": lambda: ce_lib.cross_entropy(x, t)}
    if family == "fused":
        return {"fwd": lambda: fused.cross_entropy(x, t, threads=threads),
                "fwd+bwd": lambda: fused.cross_entropy_with_grad(x, t, threads=threads)}
    buffer = np.empty_like(x)
    buffer.fill(0)  # resident, as a buffer reused across training steps is
    return {"fwd+bwd": lambda: fused.cross_entropy_with_grad(x, t, out=buffer, threads=threads)}


def _linear_calls(family, inputs, threads):
    h, W, t = inputs["h"], inputs["W"], inputs["t"]
    if family == "fused":
        from ce_lib import fused

        return {"linear fwd+bwd": lambda: fused.linear_cross_entropy_with_grad(
            h, W, t, threads=threads)}
    import torch
    import torch.nn.functional as F

    ht, Wt, tt = (torch.from_numpy(a) for a in (h, W, t))
    if family == "torch chunked":
        chunk = _linear_chunk_rows(W.shape[0])
        return {"linear fwd+bwd": lambda: chunked_torch_linear_cross_entropy(ht, Wt, tt, chunk)}
    h_leaf, W_leaf = ht.clone().requires_grad_(), Wt.clone().requires_grad_()

    def naive():
        h_leaf.grad = W_leaf.grad = None
        F.cross_entropy(F.linear(h_leaf, W_leaf), tt).backward()
        return h_leaf.grad, W_leaf.grad

    return {"linear fwd+bwd": naive}


def _status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def _minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(call, loops):
    gc.collect()
    gc.disable()
    try:
        faults = _minflt()
        t0 = time.perf_counter()
        for _ in range(loops):
            result = call()
            del result  # a fresh gradient is freed before the next call, as in a training loop
        seconds = (time.perf_counter() - t0) / loops
        return seconds, (_minflt() - faults) / loops
    finally:
        gc.enable()


def serve(spec):
    """A worker: set up one family at one size and thread count, then answer the driver.

    Replies go to the original stdout, one JSON line each; everything else the libraries
    print (inductor's compiler, say) is sent to stderr.
    """
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    threads = spec["threads"]
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    limits = threadpool_limits(limits=threads, user_api="blas")  # noqa: F841 - held to the end
    inputs = {name: np.load(path) for name, path in spec["inputs"].items()}
    make = _linear_calls if spec["kind"] == "linear" else _ce_calls
    calls = {op: call for op, call in make(spec["family"], inputs, threads).items()
             if op in spec["ops"]}
    setup = {}
    for op, call in calls.items():  # first calls: compilation, lazy initialisation
        t0 = time.perf_counter()
        call()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        call()
        setup[op] = {"first_call_s": first, "second_call_s": time.perf_counter() - t0}
    protocol.write(json.dumps({"ready": setup}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        call = calls[request["op"]]
        if request["cmd"] == "sample":
            seconds, faults = _timed(call, request["loops"])
            reply = {"s": seconds, "minflt": faults}
        else:  # "memory": what one call adds to the resident set at its peak
            gc.collect()
            try:
                Path("/proc/self/clear_refs").write_text("5")
                before = _status_kb("VmRSS")
                result = call()
                reply = {"growth_bytes": (_status_kb("VmHWM") - before) * 1024}
                del result
            except OSError as error:
                reply = {"growth_bytes": None, "why": str(error)}
        protocol.write(json.dumps(reply) + "\n")
    return 0


def roofline(threads):
    """This machine's limits at `threads` threads: bandwidth, exp rate, page zeroing, GEMM."""
    import torch
    from concurrent.futures import ThreadPoolExecutor
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    pool = ThreadPoolExecutor(threads)

    def parallel(fn, parts):
        list(pool.map(fn, range(parts)))

    def best(fn, repeats=5):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    n = 1 << 27  # 512 MiB of float32: far beyond every cache
    src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
    part = n // threads
    copy_s = best(lambda: parallel(
        lambda k: np.copyto(dst[k * part:(k + 1) * part], src[k * part:(k + 1) * part]), threads))
    del src, dst
    block = 1 << 16  # 256 KiB per thread: in L2, and above torch's grain size of 32768
    blocks = [np.random.default_rng(k).standard_normal(block).astype(np.float32)
              for k in range(threads)]
    outs = [np.empty(block, np.float32) for _ in range(threads)]
    reps = 500
    np_exp_s = best(lambda: parallel(
        lambda k: [np.exp(blocks[k], out=outs[k]) for _ in range(reps)], threads))
    tb = torch.from_numpy(np.concatenate(blocks))
    to = torch.empty_like(tb)
    torch_exp_s = best(lambda: [torch.exp(tb, out=to) for _ in range(reps)])
    kernel_exp_s = None
    if compiled.available():  # ce_lib's own exp (x <= 0, as softmax gives it), per thread
        nonpositive = [-np.abs(b) for b in blocks]
        kernel_exp_s = best(lambda: parallel(
            lambda k: [compiled.exp_nonpositive(nonpositive[k], out=outs[k])
                       for _ in range(reps)], threads))
    fresh = 1 << 26  # 256 MiB of fresh pages, one byte written per 4 KiB page

    def touch(k):
        a = np.empty(fresh // threads, np.uint8)
        a[::4096] = 1

    zero_s = best(lambda: parallel(touch, threads))
    a = np.ones((2048, 512), np.float32)
    b = np.ones((512, 2048), np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        gemm_s = best(lambda: a @ b)
    elements = block * threads * reps
    return {
        "threads": threads,
        "stream_copy_GBps": 2 * n * 4 / copy_s / 1e9,  # bytes read + written
        "numpy_exp_ns_per_element": np_exp_s / elements * 1e9,
        "torch_exp_ns_per_element": torch_exp_s / elements * 1e9,
        "ce_lib_exp_ns_per_element": (None if kernel_exp_s is None
                                      else kernel_exp_s / elements * 1e9),
        "exp_ns_per_element": min(t for t in (np_exp_s, torch_exp_s, kernel_exp_s)
                                  if t is not None) / elements * 1e9,
        "page_zeroing_GBps": fresh / zero_s / 1e9,
        "numpy_sgemm_GFLOPs": 2 * 2048 * 512 * 2048 / gemm_s / 1e9,
    }


def floor_seconds(row, limits):
    """(seconds, bound) below which no implementation of a ce_lib row can run here.

    elements / exp rate (one exp per logit), or bytes moved / streaming bandwidth (logits
    read once; the gradient written once; a fresh gradient's pages also zeroed by the kernel
    once, counted at streaming bandwidth), whichever is larger. Linear + CE adds its three
    matrix products at NumPy's sgemm rate. None for other rows.
    """
    n, c = row["n"], row["c"]
    if n * c < LARGE and row["op"] != "linear fwd+bwd":
        return None, None  # small inputs: per-call costs, not the machine's limits, set the time
    exp_s = n * c * limits["exp_ns_per_element"] * 1e-9
    passes = {"fused.cross_entropy": 1, "fused.cross_entropy_with_grad(out=)": 2,
              "fused.cross_entropy_with_grad": 3}.get(row["impl"])
    if row["impl"] == "fused.linear_cross_entropy_with_grad":
        gemm_s = 3 * 2 * n * row["d"] * c / (limits["numpy_sgemm_GFLOPs"] * 1e9)
        return gemm_s + exp_s, "sgemm + exp"
    if passes is None:
        return None, None
    memory_s = passes * n * c * 4 / (limits["stream_copy_GBps"] * 1e9)
    return (exp_s, "exp") if exp_s >= memory_s else (memory_s, "memory")


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------
class Worker:
    """One contender's process, waiting for requests."""

    def __init__(self, spec, log_dir):
        env = {k: v for k, v in os.environ.items() if k not in REMOVED_ENV}
        if spec["family"] == "torch (THP)":
            env["THP_MEM_ALLOC_ENABLE"] = "1"  # torch reads it at import
        self.spec = spec
        self.log = tempfile.NamedTemporaryFile("w+", dir=log_dir, prefix="worker-", suffix=".log",
                                               delete=False)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(spec)], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.setup = None

    def reply(self):
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"worker {self.spec['family']} {self.spec['ops']} died:\n"
                               + self.log.read()[-3000:])
        return json.loads(line)

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self.reply()

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.log.close()


def run_case(kind, families, ops, inputs, threads, settings, log_dir, extra):
    """Every row of one (size, thread count): the families' processes, rounds alternated."""
    workers = {}
    try:
        for family in families:
            wanted = [op for op in ops if op in (FAMILIES[family] if kind == "ce" else ops)]
            if wanted:
                spec = {"kind": kind, "family": family, "ops": wanted, "threads": threads,
                        "inputs": inputs}
                workers[family] = Worker(spec, log_dir)
        for worker in workers.values():
            worker.setup = worker.reply()["ready"]
        rows = []
        for op in ops:
            here = [f for f in workers if op in workers[f].spec["ops"]]
            loops = {}
            for f in here:
                once = workers[f].ask(cmd="sample", op=op, loops=1)["s"]
                loops[f] = max(1, math.ceil(settings["min_sample_s"] / max(once, 1e-9)))
            samples = {f: [] for f in here}
            faults = {f: [] for f in here}
            for k in range(settings["samples"]):
                for f in here[k % len(here):] + here[: k % len(here)]:
                    reply = workers[f].ask(cmd="sample", op=op, loops=loops[f])
                    samples[f].append(reply["s"])
                    faults[f].append(reply["minflt"])
            for f in here:
                median, interval = median_ci(samples[f])
                impl = FAMILIES[f][op] if kind == "ce" else LINEAR_FAMILIES[f]
                setup = workers[f].setup[op]
                rows.append(dict(
                    **extra, op=op, threads=threads, impl=impl, median_s=median,
                    ci95_s=interval, samples_s=samples[f], loops=loops[f],
                    minflt_per_call=float(np.median(faults[f])), thp=thp_setting(),
                    first_call_s=setup["first_call_s"],
                    compile_s=(setup["first_call_s"] - setup["second_call_s"]
                               if f == "torch.compile" else None),
                    peak_growth_bytes=workers[f].ask(cmd="memory", op=op)["growth_bytes"]))
        return rows
    finally:
        for worker in workers.values():
            worker.close()


def thp_setting():
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.read_text().strip() if path.exists() else None


def machine_info():
    import torch

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), platform.processor())
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                  if line.startswith("flags")), [])
    isa = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16",
                       "avx512_fp16", "amx_tile") if f in flags]
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    torch_config = torch.__config__.show()
    return {
        "cpu": model,
        "isa": isa,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": {k: blas.get(k) for k in ("name", "version", "openblas configuration")},
        "torch": torch.__version__,
        "torch_blas": [line.strip() for line in torch_config.splitlines()
                       if any(k in line for k in ("BLAS", "LAPACK", "CPU capability", "MKL"))],
        "torch_parallel": torch.__config__.parallel_info().strip().splitlines()[:6],
        "transparent_hugepage": thp_setting(),
        "ce_lib_inner_loop": compiled.status(),
        "thp_defrag": (Path("/sys/kernel/mm/transparent_hugepage/defrag").read_text().strip()
                       if Path("/sys/kernel/mm/transparent_hugepage/defrag").exists() else None),
    }


def wait_for_quiet(max_load, wait_s, getloadavg=os.getloadavg, sleep=time.sleep, poll_s=15):
    """The 1-minute load once it is below max_load, polling up to wait_s seconds; else None."""
    deadline = time.monotonic() + wait_s
    while True:
        load = getloadavg()[0]
        print(f"load average (1 min): {load:.2f}", flush=True)
        if load < max_load:
            return load
        if time.monotonic() + poll_s > deadline:
            return None
        sleep(poll_s)


# --------------------------------------------------------------------------
# Targets (issue 17, and issue 8's at the small sizes; ratios within one run)
# --------------------------------------------------------------------------
TIME_TARGETS_LARGE = [
    # (op, ce_lib row, peer row, limit)
    ("fwd+bwd", "fused.cross_entropy_with_grad", "torch", 0.5),
    ("fwd+bwd", "fused.cross_entropy_with_grad", "torch.compile", 1.0),
    ("fwd+bwd", "fused.cross_entropy_with_grad(out=)", "torch.compile", 0.6),
    ("fwd", "fused.cross_entropy", "torch.compile", 1.0),
]
TIME_TARGETS_SMALL = {
    (1024, 1000): [("fwd", "fused.cross_entropy", "torch", 2.0),
                   ("fwd", "fused.cross_entropy", "torch (THP)", 2.0),
                   ("fwd+bwd", "fused.cross_entropy_with_grad(out=)", "torch", 1.0),
                   ("fwd+bwd", "fused.cross_entropy_with_grad(out=)", "torch (THP)", 1.0)],
    (64, 10): [("fwd", "fused.cross_entropy", "torch", 1.5),
               ("fwd", "fused.cross_entropy", "torch (THP)", 1.5)],
}
FLOOR_LIMIT = 2.0
MEMORY_LIMIT, MEMORY_SLACK = 1.0, 0.02  # fwd+bwd extra peak <= 1 x logits (0 with out=), +2 %
LINEAR_LIMITS = [("torch chunked", "time", 1.0), ("torch chunked", "memory", 1.0),
                 ("torch", "time", 1.0), ("torch", "memory", 0.15)]


def _target(name, threads, value, interval, limit, cause=None, slack=0.0):
    return {"target": name, "threads": threads, "value": value, "ci95": interval,
            "limit": limit, "met": value is not None and value <= limit + slack,
            "cause_if_missed": cause}


def evaluate(rows, roofline_by_threads):
    """Every target with its measured value, interval and met / not met (never re-judged)."""
    index = {(r["n"], r["c"], r["op"], r["threads"], r["impl"]): r for r in rows}
    results = []
    for n, c, op, threads, impl in sorted({k for k in index if k[4] in CE_ROWS}):
        if (n, c) not in ((4096, 32000), (2048, 128256)):
            continue
        mine = index[(n, c, op, threads, impl)]
        for t_op, t_impl, peer, limit in TIME_TARGETS_LARGE:
            theirs = index.get((n, c, op, threads, peer))
            if (t_op, t_impl) == (op, impl) and theirs:
                value, interval = ratio_ci(mine["samples_s"], theirs["samples_s"])
                results.append(_target(f"{n}x{c} {op}: {impl} <= {limit:g} x {peer}", threads,
                                       value, interval, limit, _cause(mine, theirs,
                                                                       roofline_by_threads)))
        if op == "fwd+bwd" and mine.get("floor_s"):
            results.append(_target(
                f"{n}x{c} {op}: {impl} <= {FLOOR_LIMIT:g} x its roofline floor", threads,
                mine["floor_ratio"], [x / mine["floor_s"] for x in mine["ci95_s"]], FLOOR_LIMIT,
                _floor_cause(mine, roofline_by_threads[threads])))
        if op == "fwd+bwd" and mine.get("peak_growth_bytes") is not None:
            limit = 0.0 if "out=" in impl else MEMORY_LIMIT
            results.append(_target(
                f"{n}x{c} {op} extra peak memory: {impl} <= {limit:g} x logits "
                f"(+{MEMORY_SLACK:.0%})", threads, mine["peak_growth_bytes"] / (n * c * 4),
                None, limit, slack=MEMORY_SLACK))
    for (n, c), targets in TIME_TARGETS_SMALL.items():
        for op, impl, peer, limit in targets:
            for threads in sorted({r["threads"] for r in rows}):
                mine, theirs = index.get((n, c, op, threads, impl)), index.get(
                    (n, c, op, threads, peer))
                if mine and theirs:
                    value, interval = ratio_ci(mine["samples_s"], theirs["samples_s"])
                    results.append(_target(f"{n}x{c} {op}: {impl} <= {limit:g} x {peer}",
                                           threads, value, interval, limit))
    linear = [r for r in rows if r["op"] == "linear fwd+bwd"]
    for threads in sorted({r["threads"] for r in linear}):
        by = {r["impl"]: r for r in linear if r["threads"] == threads}
        mine = by.get("fused.linear_cross_entropy_with_grad")
        for peer, what, limit in LINEAR_LIMITS:
            theirs = by.get(peer)
            if not (mine and theirs):
                continue
            if what == "time":
                value, interval = ratio_ci(mine["samples_s"], theirs["samples_s"])
            else:
                peak, peer_peak = mine["peak_growth_bytes"], theirs["peak_growth_bytes"]
                value = peak / peer_peak if peer_peak else (math.inf if peak else 1.0)
                interval = None
            results.append(_target(f"linear+CE {what} <= {limit:g} x {peer}", threads, value,
                                   interval, limit))
    return results


def _floor_cause(row, limits):
    """Why a row sits where it does above its floor, from the roofline's measurements."""
    elements = row["n"] * row["c"]
    parts = [f"floor {row['floor_s'] * 1e3:.1f} ms, {row['floor_bound']}-bound (exp at "
             f"{limits['exp_ns_per_element']:.3f} ns/element, the fastest measured; copy "
             f"{limits['stream_copy_GBps']:.1f} GB/s); ce_lib {row['median_s'] * 1e3:.1f} ms"]
    kernel_ns = limits.get("ce_lib_exp_ns_per_element")
    if kernel_ns:
        parts.append(f"ce_lib's exp alone, in cache: {elements * kernel_ns * 1e-6:.1f} ms "
                     f"({kernel_ns:.3f} ns/element)")
    else:
        parts.append("NumPy code (no compiled kernel): NumPy's exp alone, in cache: "
                     f"{elements * limits['numpy_exp_ns_per_element'] * 1e-6:.1f} ms")
    if row["impl"] == "fused.cross_entropy_with_grad" and limits.get("page_zeroing_GBps"):
        zero_s = elements * 4 / (limits["page_zeroing_GBps"] * 1e9)
        parts.append(f"the kernel zeroing the fresh gradient's pages: {zero_s * 1e3:.1f} ms at "
                     f"{limits['page_zeroing_GBps']:.1f} GB/s, where the floor counts "
                     f"{elements * 4 / (limits['stream_copy_GBps'] * 1e9) * 1e3:.1f} ms")
    return "; ".join(parts)


def _cause(mine, theirs, roofline_by_threads):
    """What the measurements say about a ratio, in one line (kept whether met or not)."""
    limits = roofline_by_threads.get(mine["threads"], {})
    parts = [f"ce_lib {mine['median_s'] * 1e3:.1f} ms ({mine['minflt_per_call']:.0f} minor "
             f"faults/call) vs {theirs['median_s'] * 1e3:.1f} ms "
             f"({theirs['minflt_per_call']:.0f})"]
    if limits:
        parts.append(f"exp: numpy {limits['numpy_exp_ns_per_element']:.3f} ns/element, torch "
                     f"{limits['torch_exp_ns_per_element']:.3f}, ce_lib "
                     f"{_ns(limits.get('ce_lib_exp_ns_per_element'))}")
    if mine.get("floor_ratio"):
        parts.append(f"ce_lib at {mine['floor_ratio']:.2f} x its floor")
    return "; ".join(parts)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:7.1f} ms"
    return f"{seconds:7.3f} s "


def _ns(value):
    return "-" if value is None else f"{value:.3f}"


def print_report(results):
    meta, rows = results["meta"], results["rows"]
    print("\nROOFLINE (this machine)")
    for r in results["roofline"]:
        print(f"  {r['threads']} thread(s): copy {r['stream_copy_GBps']:.1f} GB/s; exp "
              f"{r['numpy_exp_ns_per_element']:.3f} ns/element (numpy), "
              f"{r['torch_exp_ns_per_element']:.3f} (torch), "
              f"{_ns(r.get('ce_lib_exp_ns_per_element'))} (ce_lib); fresh pages "
              f"{r['page_zeroing_GBps']:.1f} GB/s; sgemm {r['numpy_sgemm_GFLOPs']:.0f} GFLOP/s")
    print("\nTIME: median per call [bootstrap 95 % interval]; faults = minor page faults per call")
    header = (f"{'size':>20} {'op':<14} {'thr':>3} {'implementation':<38} {'median':>10} "
              f"{'95 % interval':>21} {'faults':>7} {'x floor':>7} {'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        size = f"{r['n']}x{r['c']}" + (f" d={r['d']}" if r.get("d") else "")
        lo, hi = r["ci95_s"]
        floor = f"{r['floor_ratio']:7.2f}" if r.get("floor_ratio") else ""
        peak = r.get("peak_growth_bytes")
        print(f"{size:>20} {r['op']:<14} {r['threads']:>3} {r['impl']:<38} "
              f"{fmt_time(r['median_s'])} [{fmt_time(lo)},{fmt_time(hi)}] "
              f"{r['minflt_per_call']:7.0f} {floor:>7} "
              f"{'' if peak is None else f'{peak / 2**20:8.1f}'}")
    compile_rows = [r for r in rows if r.get("compile_s") is not None]
    if compile_rows:
        print("\ntorch.compile: compile time (first call minus second), reported apart: "
              + ", ".join(f"{r['n']}x{r['c']} {r['op']} {r['threads']} thr "
                          f"{r['compile_s']:.1f} s" for r in compile_rows))
    judged = meta["targets_judged"]
    print("\nTARGETS" + ("" if judged else ": not judged at quick sizes (the values only show "
                                         "that every row runs)"))
    for t in results["targets"]:
        verdict = ("met" if t["met"] else "MISSED") if judged else "not judged"
        interval = (f" [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}]" if t["ci95"] else "")
        print(f"  [{verdict:>10}] threads={t['threads']}  {t['target']}: {t['value']:.3f}{interval}")
        if judged and not t["met"] and t.get("cause_if_missed"):
            print(f"               measured: {t['cause_if_missed']}")
    if judged:
        missed = sum(not t["met"] for t in results["targets"])
        print(f"  {'all targets met' if not missed else f'{missed} target(s) missed'}")


def markdown_tables(results):
    """bench/README.md's results section: the rows, the roofline and the targets, as Markdown."""
    meta = results["meta"]
    lines = [f"Run of {meta['started']} on {meta['cpu']} ({meta['cores']} cores; "
             f"{', '.join(meta['isa'])}), NumPy {meta['numpy']} with "
             f"{meta['numpy_blas']['name']} {meta['numpy_blas']['version']}, torch "
             f"{meta['torch']}; THP `{meta['transparent_hugepage']}`; load average "
             f"{meta['load_average_start'][0]:.2f} at the start, "
             f"{meta['load_average_end'][0]:.2f} at the end; {meta['samples_per_row']} samples "
             f"per row; {meta['seconds'] / 60:.1f} minutes.", "",
             f"ce_lib's inner loop: {meta.get('ce_lib_inner_loop', 'not recorded')}.", "",
             "| threads | copy bandwidth | exp, NumPy | exp, torch | exp, ce_lib | fresh pages "
             "| sgemm |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["roofline"]:
        lines.append(f"| {r['threads']} | {r['stream_copy_GBps']:.1f} GB/s | "
                     f"{r['numpy_exp_ns_per_element']:.3f} ns/elt | "
                     f"{r['torch_exp_ns_per_element']:.3f} ns/elt | "
                     f"{_ns(r.get('ce_lib_exp_ns_per_element'))} ns/elt | "
                     f"{r['page_zeroing_GBps']:.1f} GB/s | {r['numpy_sgemm_GFLOPs']:.0f} GFLOP/s |")
    lines += ["", "| size | op | thr | row | median | 95 % interval | faults/call | x floor "
                  "| peak MB |", "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in results["rows"]:
        size = f"{r['n']}x{r['c']}" + (f" d={r['d']}" if r.get("d") else "")
        lo, hi = r["ci95_s"]
        floor = f"{r['floor_ratio']:.2f}" if r.get("floor_ratio") else ""
        peak = "" if r.get("peak_growth_bytes") is None else f"{r['peak_growth_bytes'] / 2**20:.0f}"
        lines.append(f"| {size} | {r['op']} | {r['threads']} | `{r['impl']}` | "
                     f"{fmt_time(r['median_s']).strip()} | {fmt_time(lo).strip()} - "
                     f"{fmt_time(hi).strip()} | {r['minflt_per_call']:.0f} | {floor} | {peak} |")
    compile_rows = [r for r in results["rows"] if r.get("compile_s") is not None]
    if compile_rows:
        lines += ["", "torch.compile's compile time (first call minus second, not in the "
                      "rows): " + ", ".join(f"{r['n']}x{r['c']} {r['op']} {r['threads']} thr "
                                            f"{r['compile_s']:.1f} s" for r in compile_rows) + "."]
    lines += ["", "| verdict | threads | target | value | 95 % interval |", "|---|---:|---|---:|---:|"]
    for t in results["targets"]:
        verdict = ("met" if t["met"] else "**missed**") if meta["targets_judged"] else "not judged"
        interval = f"{t['ci95'][0]:.3f} - {t['ci95'][1]:.3f}" if t["ci95"] else ""
        lines.append(f"| {verdict} | {t['threads']} | {t['target']} | {t['value']:.3f} | "
                     f"{interval} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: small sizes, 5 samples")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--sizes", help="N x C sizes instead of the mode's, e.g. 4096x32000,64x10")
    parser.add_argument("--samples", type=int, help="samples per row (default: 15; quick 5)")
    parser.add_argument("--no-linear", action="store_true", help="skip linear + cross-entropy")
    parser.add_argument("--wait", type=float, default=300,
                        help="seconds to wait for the load to fall below 0.5 (default 300)")
    parser.add_argument("--output", help="where to write the JSON results")
    parser.add_argument("--markdown", metavar="RESULTS",
                        help="print a results file as bench/README.md's tables, and stop")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--roofline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(json.loads(args.serve))
    if args.roofline:
        print(json.dumps(roofline(args.roofline)))
        return 0
    if args.markdown:
        print(markdown_tables(json.loads(Path(args.markdown).read_text())), end="")
        return 0

    settings = dict(QUICK if args.quick else FULL)
    if args.sizes:
        settings["sizes"] = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    if args.samples:
        settings["samples"] = args.samples
    judged = not args.quick and settings["samples"] >= 15
    threads_list = [int(t) for t in args.threads.split(",")]
    load = wait_for_quiet(MAX_LOAD, args.wait if judged else 0)
    if load is None and judged:
        print(f"refusing a full run: the 1-minute load stayed at or above {MAX_LOAD} for "
              f"{args.wait:.0f} s (timings on a busy machine would be judged against targets)",
              file=sys.stderr)
        return 3
    start = time.time()
    meta = dict(mode="quick" if args.quick else "full", started=time.strftime("%Y-%m-%d %H:%M:%S"),
                load_average_start=os.getloadavg(), load_checked=load,
                samples_per_row=settings["samples"],
                targets_judged=judged, **machine_info())
    print(f"{meta['cpu']} ({', '.join(meta['isa'])}), {meta['cores']} cores; THP "
          f"{meta['transparent_hugepage']}; numpy {meta['numpy']} with "
          f"{meta['numpy_blas']['name']} {meta['numpy_blas']['version']}; torch {meta['torch']}",
          flush=True)

    env = {k: v for k, v in os.environ.items() if k not in REMOVED_ENV}
    limits = []
    for threads in threads_list:
        print(f"roofline, {threads} thread(s) ...", flush=True)
        out = subprocess.run([sys.executable, __file__, "--roofline", str(threads)], env=env,
                             check=True, capture_output=True, text=True)
        limits.append(json.loads(out.stdout.strip().splitlines()[-1]))
    by_threads = {r["threads"]: r for r in limits}

    rows = []
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        for n, c in settings["sizes"]:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((n, c), dtype=np.float32)
            x *= np.float32(2.0)
            inputs = {"x": f"{tmp}/x.npy", "t": f"{tmp}/t.npy"}
            np.save(inputs["x"], x)
            np.save(inputs["t"], rng.integers(0, c, size=n))
            del x
            families = [f for f in settings["families"] if f != "ce_lib" or n * c < LARGE]
            for threads in threads_list:
                print(f"  {n}x{c}, {threads} thread(s) ...", flush=True)
                rows += run_case("ce", families, ["fwd", "fwd+bwd"], inputs, threads, settings,
                                 tmp, {"n": n, "c": c})
        lin = settings["linear"]
        if not args.no_linear:
            rng = np.random.default_rng(0)
            inputs = {"h": f"{tmp}/h.npy", "W": f"{tmp}/W.npy", "t": f"{tmp}/t.npy"}
            np.save(inputs["h"], rng.standard_normal((lin["n"], lin["d"]), dtype=np.float32))
            np.save(inputs["W"], rng.standard_normal((lin["vocab"], lin["d"]), dtype=np.float32)
                    / np.float32(math.sqrt(lin["d"])))
            np.save(inputs["t"], rng.integers(0, lin["vocab"], size=lin["n"]))
            for threads in threads_list:
                print(f"  linear + cross-entropy {lin['n']}x{lin['vocab']} d={lin['d']}, "
                      f"{threads} thread(s) ...", flush=True)
                rows += run_case("linear", list(LINEAR_FAMILIES), ["linear fwd+bwd"], inputs,
                                 threads, settings, tmp,
                                 {"n": lin["n"], "c": lin["vocab"], "d": lin["d"]})
    for row in rows:
        floor, bound = floor_seconds(row, by_threads[row["threads"]])
        if floor:
            row.update(floor_s=floor, floor_bound=bound, floor_ratio=row["median_s"] / floor)
    meta.update(load_average_end=os.getloadavg(), seconds=round(time.time() - start, 1))
    results = {"meta": meta, "roofline": limits, "rows": rows,
               "targets": evaluate(rows, by_threads)}
    print_report(results)
    print(f"\nload average at the start {meta['load_average_start'][0]:.2f}, at the end "
          f"{meta['load_average_end'][0]:.2f}; {meta['seconds']:.0f} s in all")
    output = Path(args.output) if args.output else settings["output"]
    output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
