"""Where the fused loss and gradient's NumPy code spends its time: each NumPy call of its
block loop, timed.

    .venv/bin/python bench/profile_fused.py [N C]      (default 4096 32000, one thread)

The loop below is the one of ce_lib.fused._loss_and_grad_rows's NumPy code (the fallback
where no compiled kernel was built) in its common case (no class weights, no smoothing,
nothing ignored, no shift needed), with a timer around each call. The sum of the parts is
printed beside a call of the real function on the NumPy code, one on the compiled kernel
(ce_lib.compiled) if it is built, and np.exp alone on a cache-resident block (the exp rate
the NumPy loop could reach if memory cost nothing). This is the measurement that showed
each NumPy call to be a separate pass over memory, and led to the compiled kernel.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ce_lib import compiled, fused


def main(n=4096, c=32000, repeats=5):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c), dtype=np.float32)
    x *= np.float32(2.0)
    t = rng.integers(0, c, size=n)
    grad = np.empty_like(x)
    grad.fill(0)  # resident, as with out=
    rows = fused._rows_per_block(c, x.itemsize)
    parts = dict.fromkeys(["exp (logits from memory -> gradient)", "row sums (einsum)",
                           "checks, log, loss", "scale in place", "target column"], 0.0)
    scale = np.float32(1 / n)

    def loop():
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            xb, gb = x[r0:r1], grad[r0:r1]
            stamps = [time.perf_counter()]
            np.exp(xb, out=gb)
            stamps.append(time.perf_counter())
            s = fused._row_sums(gb)
            stamps.append(time.perf_counter())
            assert s.min() >= fused._sum_floor(c, x.dtype) and s.max() < np.inf
            _ = np.log(s) - xb[np.arange(r1 - r0), t[r0:r1]]
            stamps.append(time.perf_counter())
            np.multiply(gb, (scale / s)[:, None], out=gb)
            stamps.append(time.perf_counter())
            gb[np.arange(r1 - r0), t[r0:r1]] -= scale
            stamps.append(time.perf_counter())
            for key, a, b in zip(parts, stamps, stamps[1:]):
                parts[key] += b - a

    loop()
    for key in parts:
        parts[key] = 0.0
    for _ in range(repeats):
        loop()
    for key, seconds in parts.items():
        print(f"{key:<40} {seconds / repeats * 1e3:7.1f} ms")
    print(f"{'sum of the parts':<40} {sum(parts.values()) / repeats * 1e3:7.1f} ms")
    supports = compiled.supports
    for label, kernel in (("NumPy code", False), ("compiled kernel", True)):
        if kernel and not compiled.available():
            print(f"{'compiled kernel':<40} not built: {compiled.status()}")
            continue
        compiled.supports = supports if kernel else (lambda array: False)
        real = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fused.cross_entropy_with_grad(x, t, out=grad, threads=1)
            real.append(time.perf_counter() - t0)
        print(f"{'fused...with_grad(out=), ' + label:<40} {np.median(real) * 1e3:7.1f} ms")
    compiled.supports = supports
    block = x[:rows].copy()
    out = np.empty_like(block)
    t0 = time.perf_counter()
    for _ in range(n // rows):
        np.exp(block, out=out)
    print(f"{'np.exp, same number of exps, in cache':<40} {(time.perf_counter() - t0) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
