"""ce_lib's cross-entropy against torch.nn.functional: time, and peak memory, with targets.

    ./course bench            the sizes of issue 8 (several minutes); writes bench/results.json
    ./course bench --quick    a smoke test: smaller sizes, fewer repeats (about a minute);
                              writes bench/results-quick.json (not committed)

Times. One worker process per torch allocator setting -- the default, and
THP_MEM_ALLOC_ENABLE=1 (huge pages for torch's large tensors), which torch reads when it is
imported, hence a process each. In a worker, ce_lib and torch run on the same float32 inputs in
the same process, interleaved (the order rotates every round), at 1 and 2 threads
(torch.set_num_threads; ce_lib's threads= argument; NumPy's BLAS limited by threadpoolctl);
each figure is the median over the rounds of the time per call. Ratios are ce_lib / torch,
taken within one process.

Peak memory. A fresh process per case builds the inputs, resets the peak-RSS counter
(writing 5 to /proc/self/clear_refs), runs one call and reads VmHWM: the growth is what the
call added at its peak (its outputs included), in bytes.

Before anything, the script removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from its own
environment (its workers inherit that, the caller's shell keeps them), so that OpenBLAS picks
its kernels for the real CPU, and it reports which BLAS and how many threads NumPy uses.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REMOVED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

FULL = {
    "sizes": [(64, 10), (1024, 1000), (4096, 32000), (2048, 128256)],
    "rounds": {"small": 15, "large": 5},
    "min_sample_s": 0.05,
    "linear": {"n": 4096, "d": 512, "vocab": 50257, "rounds": 3},
    "output": HERE / "results.json",
}
QUICK = {
    "sizes": [(64, 10), (1024, 1000), (256, 32000)],
    "rounds": {"small": 3, "large": 3},
    "min_sample_s": 0.01,
    "linear": {"n": 512, "d": 128, "vocab": 8192, "rounds": 2},
    "output": HERE / "results-quick.json",
}
LARGE = 4096 * 32000 // 4  # inputs with at least this many elements count as large

FORWARD = ["torch", "ce_lib.cross_entropy", "fused.cross_entropy"]
BACKWARD = ["torch", "fused.cross_entropy_with_grad", "fused.cross_entropy_with_grad(out=)"]
LINEAR = ["torch", "fused.linear_cross_entropy_with_grad"]
ALLOCATORS = {"default": None, "thp": "1"}


# --------------------------------------------------------------------------
# What the targets of issue 8 ask (ce_lib / torch; memory / logits' size)
# --------------------------------------------------------------------------
def targets_for(n, c):
    """[(op, torch allocator or None for both, limit)] for one size, or []."""
    if (n, c) in ((4096, 32000), (2048, 128256)):
        return [("fwd+bwd", "thp", 1.0), ("fwd+bwd", "default", 0.25), ("fwd", "thp", 2.0)]
    if (n, c) == (1024, 1000):
        return [("fwd", None, 2.0), ("fwd+bwd", None, 1.0)]
    if (n, c) == (64, 10):
        return [("fwd", None, 1.5)]
    return []


# The time targets are judged on ce_lib's fast paths: the forward, and the loss and gradient
# written into a gradient buffer the caller keeps across steps (out=), as a training loop
# does and as the prototype of issue 8 measured ("a NumPy implementation that reuses its
# workspace"). torch's CPU allocator keeps no such cache: each step it allocates, and the
# kernel faults in, fresh N x C buffers. The other implementations are reported beside the
# targets, as information: the readable reference, and the fast path allocating a fresh
# gradient each call (its time is mostly the kernel faulting in N x C new pages).
FAST_IMPL = {"fwd": "fused.cross_entropy", "fwd+bwd": "fused.cross_entropy_with_grad(out=)"}
INFO_IMPL = {"fwd": "ce_lib.cross_entropy", "fwd+bwd": "fused.cross_entropy_with_grad"}
MEMORY_LIMIT = 1.0  # extra peak for fwd+bwd <= 1.0 x logits' size; 0 with out=
MEMORY_SLACK = 0.02  # ... up to 2 % for the per-row vectors and the interpreter's own pages
LINEAR_MEMORY_LIMIT, LINEAR_TIME_LIMIT = 0.15, 1.0


# --------------------------------------------------------------------------
# Workers (run in subprocesses)
# --------------------------------------------------------------------------
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _reset_peak():
    """Reset VmHWM to the current RSS; False if the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _make_calls(kind, impl, n, c, threads, d=None):
    """Inputs and a zero-argument function that runs one call of `impl`."""
    import numpy as np

    r = np.random.default_rng(0)
    if kind == "linear":
        from ce_lib import fused

        h = r.standard_normal((n, d), dtype=np.float32)
        w = r.standard_normal((c, d), dtype=np.float32) / np.float32(math.sqrt(d))
        t = r.integers(0, c, size=n)
        if impl == "torch":
            import torch
            import torch.nn.functional as F

            ht = torch.from_numpy(h).requires_grad_()
            wt = torch.from_numpy(w).requires_grad_()
            tt = torch.from_numpy(t)

            def call():
                ht.grad = wt.grad = None
                F.cross_entropy(F.linear(ht, wt), tt).backward()
                return ht.grad, wt.grad

            return call
        return lambda: fused.linear_cross_entropy_with_grad(h, w, t, threads=threads)

    x = r.standard_normal((n, c), dtype=np.float32)
    x *= np.float32(2.0)
    t = r.integers(0, c, size=n)
    op = kind
    if impl == "torch":
        import torch
        import torch.nn.functional as F

        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        if op == "fwd":
            return lambda: F.cross_entropy(xt, tt)
        leaf = xt.clone().requires_grad_()

        def call():
            leaf.grad = None  # as optimizer.zero_grad() does: a fresh gradient every step
            F.cross_entropy(leaf, tt).backward()
            return leaf.grad

        return call
    import ce_lib
    from ce_lib import fused

    if impl == "ce_lib.cross_entropy":
        return lambda: ce_lib.cross_entropy(x, t)
    if impl == "fused.cross_entropy":
        return lambda: fused.cross_entropy(x, t, threads=threads)
    if impl == "fused.cross_entropy_with_grad":
        return lambda: fused.cross_entropy_with_grad(x, t, threads=threads)
    if impl == "fused.cross_entropy_with_grad(out=)":
        buffer = np.empty_like(x)
        buffer.fill(0)  # touched: a buffer reused across training steps is resident
        return lambda: fused.cross_entropy_with_grad(x, t, out=buffer, threads=threads)
    raise ValueError(impl)


def _sample(call, loops):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            call()
        return (time.perf_counter() - t0) / loops
    finally:
        gc.enable()


def _interleaved(calls, rounds, min_sample_s):
    """Median seconds per call of each function, sampled round-robin in rotating order."""
    loops = {}
    for name, call in calls.items():
        call()  # warm up (first-call costs, page faults of persistent buffers)
        once = _sample(call, 1)
        loops[name] = max(1, math.ceil(min_sample_s / max(once, 1e-9)))
    samples = {name: [] for name in calls}
    names = list(calls)
    for k in range(rounds):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            samples[name].append(_sample(calls[name], loops[name]))
    return {
        name: {"median_s": statistics.median(s), "samples_s": s, "loops": loops[name]}
        for name, s in samples.items()
    }


def worker_time(config):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    rows = []
    for threads in config["threads"]:
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            for n, c in config["sizes"]:
                rounds = config["rounds"]["large" if n * c >= LARGE else "small"]
                for op, impls in (("fwd", FORWARD), ("fwd+bwd", BACKWARD)):
                    print(f"  {n}x{c} {op}, {threads} thread(s)", file=sys.stderr, flush=True)
                    calls = {impl: _make_calls(op, impl, n, c, threads) for impl in impls}
                    for impl, result in _interleaved(calls, rounds, config["min_sample_s"]).items():
                        rows.append(dict(n=n, c=c, op=op, threads=threads, impl=impl, **result))
                    del calls
                    gc.collect()
            lin = config["linear"]
            if lin and threads == max(config["threads"]):  # (only at the most threads: slow)
                print(f"  linear + cross-entropy, {threads} thread(s)", file=sys.stderr, flush=True)
                calls = {
                    impl: _make_calls("linear", impl, lin["n"], lin["vocab"], threads, lin["d"])
                    for impl in LINEAR
                }
                for impl, result in _interleaved(calls, lin["rounds"], 0).items():
                    rows.append(
                        dict(
                            n=lin["n"],
                            c=lin["vocab"],
                            d=lin["d"],
                            op="linear fwd+bwd",
                            threads=threads,
                            impl=impl,
                            **result,
                        )
                    )
                del calls
                gc.collect()
    info = {
        "torch": torch.__version__,
        "torch_parallel": torch.__config__.parallel_info().strip().splitlines()[:6],
        "THP_MEM_ALLOC_ENABLE": os.environ.get("THP_MEM_ALLOC_ENABLE"),
        "numpy": np.__version__,
        "threadpools": [
            {**pool, "filepath": Path(pool["filepath"]).name} for pool in threadpool_info()
        ],
    }
    return {"rows": rows, "info": info}


def worker_memory(config):
    import numpy as np

    kind, impl, n, c = config["kind"], config["impl"], config["n"], config["c"]
    threads, d = config["threads"], config.get("d")
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import ce_lib.fused  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        # first calls on tiny inputs: lazy initialisation must not count as the call's memory
        _make_calls(kind, impl, 8, 16, threads, d and 4)()
        call = _make_calls(kind, impl, n, c, threads, d)
        gc.collect()
        method = "VmHWM after clear_refs" if _reset_peak() else "ru_maxrss (not reset)"
        before = _status_kb("VmRSS")
        if not method.startswith("VmHWM"):
            import resource

            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = call()
        peak = _status_kb("VmHWM")
        if not method.startswith("VmHWM"):
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        del result
    logits = n * c * 4
    return {
        "growth_bytes": (peak - before) * 1024,
        "logits_bytes": logits,
        "method": method,
        "threads": threads,
        "numpy_hugepage": bool(np._core.multiarray._get_madvise_hugepage()),
    }


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------
def run_worker(mode, config, allocator):
    env = dict(os.environ)
    env.pop("THP_MEM_ALLOC_ENABLE", None)
    if ALLOCATORS[allocator]:
        env["THP_MEM_ALLOC_ENABLE"] = ALLOCATORS[allocator]
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                mode,
                "--config",
                json.dumps(config),
                "--result",
                out.name,
            ],
            env=env,
            check=True,
        )
        return json.load(open(out.name))


def machine_info():
    import numpy as np

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    try:
        from threadpoolctl import threadpool_info

        blas = [
            {
                k: p.get(k)
                for k in (
                    "internal_api",
                    "version",
                    "architecture",
                    "threading_layer",
                    "num_threads",
                )
            }
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
    except ImportError:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = [
            {
                "internal_api": config.get("name"),
                "version": config.get("version"),
                "num_threads": "unknown (threadpoolctl not installed)",
            }
        ]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "transparent_hugepage": thp.read_text().strip() if thp.exists() else None,
    }


def evaluate(timing, memory, linear_memory, sizes):
    """The targets of issue 8, each with its measured value and met / not met."""

    def median(alloc, n, c, op, threads, impl):
        for row in timing[alloc]:
            if (row["n"], row["c"], row["op"], row["threads"], row["impl"]) == (
                n,
                c,
                op,
                threads,
                impl,
            ):
                return row["median_s"]
        return None

    results = []
    threads_list = sorted({row["threads"] for row in timing["default"]})
    for n, c in sizes:
        for op, alloc, limit in targets_for(n, c):
            for impl in (FAST_IMPL[op], INFO_IMPL[op]):
                for threads in threads_list:
                    for a in [alloc] if alloc else ["default", "thp"]:
                        mine, theirs = (
                            median(a, n, c, op, threads, impl),
                            median(a, n, c, op, threads, "torch"),
                        )
                        ratio = mine / theirs
                        results.append(
                            {
                                "target": f"{n}x{c} {op}: {impl} <= {limit:g} x torch ({a})",
                                "threads": threads,
                                "value": ratio,
                                "limit": limit,
                                "met": ratio <= limit,
                                "info_only": impl != FAST_IMPL[op],
                            }
                        )
    for row in memory:
        if (
            row["op"] != "fwd+bwd"
            or not row["impl"].startswith("fused")
            or row["n"] * row["c"] < LARGE
        ):
            continue
        limit = 0.0 if "out=" in row["impl"] else MEMORY_LIMIT
        ratio = row["growth_bytes"] / row["logits_bytes"]
        results.append(
            {
                "target": f"{row['n']}x{row['c']} fwd+bwd extra peak memory: {row['impl']} "
                f"<= {limit:g} x logits (+{MEMORY_SLACK:.0%})",
                "threads": row["threads"],
                "value": ratio,
                "limit": limit,
                "met": ratio <= limit + MEMORY_SLACK,
            }
        )
    if linear_memory:
        mem = {row["impl"]: row for row in linear_memory}
        for alloc in ("default", "thp"):
            key = "torch" if alloc == "default" else "torch (THP)"
            ratio = (
                mem["fused.linear_cross_entropy_with_grad"]["growth_bytes"]
                / mem[key]["growth_bytes"]
            )
            results.append(
                {
                    "target": f"linear+CE peak memory <= {LINEAR_MEMORY_LIMIT:g} x torch naive ({alloc})",
                    "threads": mem["torch"]["threads"],
                    "value": ratio,
                    "limit": LINEAR_MEMORY_LIMIT,
                    "met": ratio <= LINEAR_MEMORY_LIMIT,
                }
            )
    for alloc in ("default", "thp"):
        for threads in threads_list:
            lin = {
                row["impl"]: row["median_s"]
                for row in timing[alloc]
                if row["op"] == "linear fwd+bwd" and row["threads"] == threads
            }
            if lin:
                ratio = lin["fused.linear_cross_entropy_with_grad"] / lin["torch"]
                results.append(
                    {
                        "target": f"linear+CE time <= {LINEAR_TIME_LIMIT:g} x torch naive ({alloc})",
                        "threads": threads,
                        "value": ratio,
                        "limit": LINEAR_TIME_LIMIT,
                        "met": ratio <= LINEAR_TIME_LIMIT,
                    }
                )
    return results


def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.3f} s "


def print_tables(timing, memory, linear_memory, targets, judged=True):
    index = {}
    for alloc, rows in timing.items():
        for row in rows:
            index[(alloc, row["n"], row["c"], row["op"], row["threads"], row["impl"])] = row[
                "median_s"
            ]
    print(
        "\nTIME (median per call; ratio = ce_lib / torch in the same process; "
        "ce_lib shown from the default-allocator process)"
    )
    header = (
        f"{'N x C':>14} {'op':<8} {'thr':>3} {'implementation':<36} {'time':>11} "
        f"{'torch':>11} {'ratio':>6} {'torch THP':>11} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    seen = []
    for row in timing["default"]:
        key = (row["n"], row["c"], row["op"], row["threads"])
        if key in seen:
            continue
        seen.append(key)
        n, c, op, threads = key
        size = f"{n}x{c}" + (f" d={row['d']}" if "d" in row else "")
        t_def = index.get(("default", n, c, op, threads, "torch"))
        t_thp = index.get(("thp", n, c, op, threads, "torch"))
        for impl in [
            r["impl"]
            for r in timing["default"]
            if (r["n"], r["c"], r["op"], r["threads"]) == key and r["impl"] != "torch"
        ]:
            mine = index[("default", n, c, op, threads, impl)]
            mine_thp = index.get(("thp", n, c, op, threads, impl))
            print(
                f"{size:>14} {op[:8]:<8} {threads:>3} {impl:<36} {fmt_time(mine)} {fmt_time(t_def)} "
                f"{mine / t_def:6.2f} {fmt_time(t_thp) if t_thp else '':>11} "
                f"{(mine_thp / t_thp) if t_thp else float('nan'):6.2f}"
            )
    print("\nPEAK MEMORY GROWTH of one call in a fresh process (VmHWM; outputs included)")
    header = f"{'N x C':>14} {'op':<8} {'implementation':<36} {'growth':>10} {'/ logits':>9}"
    print(header)
    print("-" * len(header))
    for row in memory + (linear_memory or []):
        size = f"{row['n']}x{row['c']}" + (f" d={row['d']}" if row.get("d") else "")
        print(
            f"{size:>14} {row['op'][:8]:<8} {row['impl']:<36} {row['growth_bytes'] / 2**20:7.1f} MB "
            f"{row['growth_bytes'] / row['logits_bytes']:9.3f}"
        )
    if not judged:
        print("\nTARGETS: not judged (--quick: smaller sizes and fewer samples than the targets"
              " are set for; the ratios below only show that every path runs)")
    else:
        print("\nTARGETS")
    for t in targets:
        if not t.get("info_only"):
            verdict = ("met" if t["met"] else "NOT MET") if judged else "-"
            print(f"  [{verdict:>7}] threads={t['threads']}  {t['target']}: {t['value']:.3f}")
    if judged:
        missed = sum(not t["met"] for t in targets if not t.get("info_only"))
        print(f"  {'all targets met' if not missed else f'{missed} target(s) NOT met'}")
    print("\nFOR INFORMATION (the same limits, not targets: see FAST_IMPL)")
    for t in targets:
        if t.get("info_only"):
            print(
                f"  [{'within' if t['met'] else 'above':>7}] threads={t['threads']}  "
                f"{t['target']}: {t['value']:.3f}"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--sizes", help="N x C sizes instead of the mode's, e.g. 4096x32000,64x10")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--no-linear", action="store_true", help="skip linear + cross-entropy")
    parser.add_argument("--output", help="where to write the JSON results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = {"time": worker_time, "memory": worker_memory}[args.worker](
            json.loads(args.config)
        )
        Path(args.result).write_text(json.dumps(result))
        return 0

    removed = {k: os.environ.pop(k) for k in REMOVED_ENV if k in os.environ}
    settings = dict(QUICK if args.quick else FULL)
    if args.sizes:
        settings["sizes"] = [
            tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")
        ]
    threads = [int(t) for t in args.threads.split(",")]
    start, load_start = time.time(), os.getloadavg()
    meta = dict(
        mode="quick" if args.quick else "full",
        started=time.strftime("%Y-%m-%d %H:%M:%S"),
        load_average_start=load_start,
        removed_env=removed,
        **machine_info(),
    )
    print(
        f"machine: {meta['cpu']}, {meta['cores']} cores; load average {load_start[0]:.2f} "
        f"{load_start[1]:.2f} {load_start[2]:.2f}; THP {meta['transparent_hugepage']}"
    )
    blas = ", ".join(
        f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernels, "
        f"{b.get('threading_layer')}, {b.get('num_threads')} threads)"
        for b in meta["numpy_blas"]
    )
    print(
        f"numpy {meta['numpy']}, BLAS: {blas}; unset for this run: "
        f"{', '.join(f'{k}={v}' for k, v in removed.items()) or 'none of ' + '/'.join(REMOVED_ENV)}"
    )

    config = {
        "sizes": settings["sizes"],
        "rounds": settings["rounds"],
        "threads": threads,
        "min_sample_s": settings["min_sample_s"],
        "linear": None if args.no_linear else settings["linear"],
    }
    timing, workers = {}, {}
    for alloc in ALLOCATORS:
        print(f"timing, torch allocator {alloc} ...", flush=True)
        result = run_worker("time", config, alloc)
        timing[alloc], workers[alloc] = result["rows"], result["info"]
    torch_threads = workers["default"]["torch_parallel"]
    print(
        f"torch {workers['default']['torch']}: " + "; ".join(s.strip() for s in torch_threads[:4])
    )

    memory, linear_memory = [], []
    if not args.no_memory:
        print("peak memory, one process per case ...", flush=True)
        mem_threads = max(threads)
        for n, c in settings["sizes"]:
            for op, impls in (("fwd", FORWARD), ("fwd+bwd", BACKWARD)):
                for impl in impls:
                    for alloc in ["default", "thp"] if impl == "torch" else ["default"]:
                        case = {"kind": op, "impl": impl, "n": n, "c": c, "threads": mem_threads}
                        row = run_worker("memory", case, alloc)
                        memory.append(
                            dict(
                                op=op,
                                impl=impl + (" (THP)" if alloc == "thp" else ""),
                                n=n,
                                c=c,
                                **row,
                            )
                        )
        if not args.no_linear:
            lin = settings["linear"]
            for impl, alloc in (
                ("torch", "default"),
                ("torch", "thp"),
                ("fused.linear_cross_entropy_with_grad", "default"),
            ):
                case = {
                    "kind": "linear",
                    "impl": impl,
                    "n": lin["n"],
                    "c": lin["vocab"],
                    "d": lin["d"],
                    "threads": mem_threads,
                }
                row = run_worker("memory", case, alloc)
                linear_memory.append(
                    dict(
                        op="linear fwd+bwd",
                        n=lin["n"],
                        c=lin["vocab"],
                        d=lin["d"],
                        impl=impl + (" (THP)" if alloc == "thp" else ""),
                        **row,
                    )
                )

    targets = evaluate(timing, memory, linear_memory, settings["sizes"])
    meta.update(
        load_average_end=os.getloadavg(), seconds=round(time.time() - start, 1), workers=workers
    )
    meta["targets_judged"] = not args.quick   # --quick sizes are not what the targets are for
    print_tables(timing, memory, linear_memory, targets, judged=meta["targets_judged"])
    load_end = meta["load_average_end"]
    print(
        f"\nload average at the end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
        f"{meta['seconds']:.0f} s in all"
    )
    output = Path(args.output) if args.output else settings["output"]
    output.write_text(
        json.dumps(
            {
                "meta": meta,
                "timing": timing,
                "memory": memory,
                "linear_memory": linear_memory,
                "targets": targets,
            },
            indent=1,
        )
        + "\n"
    )
    print(
        f"results written to {output.relative_to(Path.cwd()) if output.is_relative_to(Path.cwd()) else output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
