"""ce_lib.compiled, the C inner loop of ce_lib.fused: its exp against the exact value, its
rows against their definition (special values included), and its promise of the same
numbers, bit for bit, whatever the CPU and vector width: builds of _kernels.c for plain
x86-64, AVX2 and AVX-512, and with no optimisation at all, compared with the installed one.

(test_fused.py runs every fused test twice, with the kernel and with the NumPy code.)
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ce_lib import compiled

SOURCE = Path(compiled.__file__).with_name("_kernels.c")
COMPILER = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")

needs_kernel = pytest.mark.skipif(not compiled.available(), reason=compiled.status())


def test_the_kernel_is_built_and_used_where_a_c_compiler_is():
    """pip install -e . builds it (setup.py); an install that silently lost it would leave
    every fast path on the slower NumPy code. CE_LIB_KERNEL=0 switches it off on purpose."""
    if COMPILER is None or os.environ.get("CE_LIB_KERNEL") == "0":
        pytest.skip("no C compiler here, or switched off")
    assert compiled.available(), compiled.status()
    assert "compiled kernel in use" in compiled.status()


# --------------------------------------------------------------------------
# exp
# --------------------------------------------------------------------------
EXACT = np.longdouble if np.finfo(np.longdouble).eps < 1e-18 else None  # x86's 80-bit


def ulp_errors(dtype, x):
    """|kernel exp(x) - exp(x)| in units of the last place of the rounded exact value."""
    exact = np.exp(x.astype(EXACT))
    got = compiled.exp_nonpositive(x).astype(EXACT)
    return np.abs(got - exact) / np.spacing(exact.astype(dtype)).astype(EXACT)


@needs_kernel
@pytest.mark.skipif(EXACT is None, reason="no extended precision to compare with")
@pytest.mark.parametrize("dtype, lowest_normal, bound", [
    (np.float32, -87.33, 1.5),   # Cephes' expf polynomial: 1.01 ulp at most, measured
    (np.float64, -708.39, 2.0),  # Cephes' exp: 1.64 ulp at most, measured
])
def test_exp_is_within_its_bound_of_the_exact_value(dtype, lowest_normal, bound):
    r = np.random.default_rng(0)
    x = np.concatenate([
        r.uniform(lowest_normal, 0, 1_000_000),
        -r.exponential(1.0, 200_000),          # near 0, where softmax's large terms are
        -np.logspace(-30, np.log10(-lowest_normal), 10_000),
        [0.0, -0.0, -1e-45, -np.log(2), -0.5 * np.log(2)],
    ]).astype(dtype)
    errors = ulp_errors(dtype, x)
    assert errors.max() <= bound, f"{errors.max():.3f} ulp at x = {x[errors.argmax()]!r}"


@needs_kernel
@pytest.mark.parametrize("dtype, flush_below", [(np.float32, -87.7), (np.float64, -708.8)])
def test_exp_special_values(dtype, flush_below):
    x = np.array([0.0, -0.0, -np.inf, np.nan, flush_below - 1, -1e30, -1e300 if dtype ==
                  np.float64 else -3e38], dtype)
    y = compiled.exp_nonpositive(x)
    assert y[0] == 1 and y[1] == 1, "exp(0) is exactly 1"
    assert y[2] == 0 and np.isnan(y[3])
    assert (y[4:] == 0).all(), "results below the smallest normal number are flushed to 0"
    tiny = np.finfo(dtype).tiny
    # just above the flush threshold: the smallest normal numbers, and a few subnormal ones
    x = np.linspace(flush_below + 0.5, flush_below, 1000, dtype=dtype)
    y = compiled.exp_nonpositive(x)
    exact = np.exp(x.astype(np.float64 if dtype == np.float32 else np.longdouble))
    assert (np.diff(y) <= 0).all(), "decreasing, through the subnormal range to 0"
    assert np.abs(y - exact).max() <= tiny, "off by less than the smallest normal number"


# --------------------------------------------------------------------------
# the row kernel against its definition
# --------------------------------------------------------------------------
def run_rows(x, with_grad, in_place=False, smoothing=False, library=None, stream=False):
    """(m, s, grad) from the kernel for the rows of x (coef and col_sub fixed by the seed)."""
    n_rows, n_cols = x.shape
    r = np.random.default_rng(1)
    m, s = np.empty(n_rows, x.dtype), np.empty(n_rows, x.dtype)
    coef = r.uniform(0.5, 2, n_rows).astype(x.dtype)
    col_sub = r.uniform(0, 0.1, n_cols).astype(x.dtype) if smoothing else None
    grad = None
    if with_grad:
        grad = x if in_place else np.full_like(x, 7.0)
    compiled.softmax_rows(x, m, s, grad, coef, col_sub, stream=stream, library=library)
    return m, s, grad, coef, col_sub


def expected_rows(x, coef, col_sub):
    """The definition, in float64 (longdouble for float64 input), with NumPy."""
    wide = x.astype(np.float64 if x.dtype == np.float32 else np.longdouble)
    with np.errstate(invalid="ignore", over="ignore"):
        m = wide.max(axis=1)
        m = np.where(np.isnan(m), np.nanmax(np.where(np.isnan(wide), -np.inf, wide), axis=1),
                     m)  # the kernel's max skips NaN
        e = np.exp(wide - m[:, None])
        s = e.sum(axis=1)
        grad = e * (coef.astype(wide.dtype) / s)[:, None]
        if col_sub is not None:
            grad = grad - col_sub
    return m, s, grad


shapes = st.tuples(st.integers(1, 9), st.sampled_from([1, 2, 15, 16, 17, 255, 256, 257, 700,
                                                       1030]))


@needs_kernel
@settings(max_examples=60, deadline=None)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]), scale=st.sampled_from(
    [0.1, 3.0, 40.0]), with_grad=st.booleans(), in_place=st.booleans(),
       smoothing=st.booleans(), stream=st.booleans(), seed=st.integers(0, 2**16))
def test_rows_match_their_definition(shape, dtype, scale, with_grad, in_place, smoothing,
                                     stream, seed):
    x = (np.random.default_rng(seed).normal(0, scale, shape) + 5).astype(dtype)
    original = x.copy()
    m, s, grad, coef, col_sub = run_rows(x, with_grad, in_place, smoothing, stream=stream)
    want_m, want_s, want_grad = expected_rows(original, coef, col_sub)
    rtol = 2e-6 if dtype == np.float32 else 1e-14
    assert (m == want_m).all(), "the max is exact"
    np.testing.assert_allclose(s, want_s.astype(dtype), rtol=rtol)
    if with_grad:
        np.testing.assert_allclose(grad, want_grad.astype(dtype), rtol=4 * rtol,
                                   atol=4 * rtol * np.abs(want_grad).max())
    if not (with_grad and in_place):
        assert np.array_equal(x, original), "x is only read"


@needs_kernel
def test_rows_with_a_row_stride_other_than_their_length():
    """Every other row of an array, and the first 300 columns of each: x[::2, :300]."""
    r = np.random.default_rng(2)
    big = r.normal(0, 2, (10, 500)).astype(np.float32)
    view = big[::2, :300]
    assert compiled.supports(view) and not view.flags.c_contiguous
    m, s, grad, coef, _ = run_rows(view, with_grad=True)
    want_m, want_s, want_grad = expected_rows(np.ascontiguousarray(view), coef, None)
    np.testing.assert_allclose(s, want_s, rtol=2e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-9)


@needs_kernel
def test_rows_in_reverse_order_a_negative_row_stride():
    x = np.random.default_rng(4).normal(0, 2, (6, 50))
    m, s, grad, coef, _ = run_rows(x[::-1], with_grad=True)
    want_m, want_s, want_grad = expected_rows(x[::-1].copy(), coef, None)
    assert (m == want_m).all()
    np.testing.assert_allclose(s, want_s, rtol=1e-14)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-13)


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values_give_what_torchs_softmax_gives(dtype):
    """NaN anywhere in a row, +inf anywhere, or only -inf: s and the gradient's row are NaN.
    Some -inf among finite values: their exps are 0, the rest as usual."""
    x = np.zeros((6, 40), dtype)
    x[0, 3] = np.nan
    x[1, 39] = np.inf
    x[2, :] = -np.inf
    x[3, ::2] = -np.inf
    x[4, :] = np.arange(40)
    x[4, 0] = np.nan  # a NaN among larger values: NaN never wins the max, yet s is NaN
    x[5, 0] = -np.inf  # -inf in the first lanes of the first chunk only
    m, s, grad, _, _ = run_rows(x, with_grad=True)
    assert np.isnan(s[[0, 1, 2, 4]]).all() and np.isnan(grad[[0, 1, 2, 4]]).all()
    assert s[3] == 20 and (grad[3, ::2] == 0).all() and np.isfinite(grad[3]).all()
    assert s[5] == 39 and grad[5, 0] == 0 and np.isfinite(grad[5]).all()


@needs_kernel
def test_the_kernel_refuses_nothing_it_supports_and_supports_only_row_contiguous_floats():
    x = np.ones((3, 4), np.float32)
    assert compiled.supports(x) and compiled.supports(x.astype(np.float64))
    assert not compiled.supports(x.astype(np.float16))
    assert not compiled.supports(x.T)  # columns 16 bytes apart
    assert not compiled.supports(x[:, ::2])
    assert not compiled.supports(x.ravel())


# --------------------------------------------------------------------------
# the same numbers, bit for bit, from every build
# --------------------------------------------------------------------------
def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((l for l in text.splitlines() if l.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def builds():
    """(name, extra compiler flags) for every build this machine can run."""
    plain = [("no optimisation", ["-O0"]), ("optimised, not vectorised",
                                            ["-O2", "-fno-tree-vectorize"])]
    if platform.machine() not in ("x86_64", "AMD64"):
        return plain + [("vectorised for this CPU", ["-O3"])]
    flags = cpu_flags()
    chosen = plain + [("x86-64 (SSE2)", ["-O3", "-march=x86-64"])]
    if {"avx2", "fma"} <= flags:
        chosen.append(("AVX2 + FMA", ["-O3", "-march=x86-64-v3"]))
    if "avx512f" in flags and "avx512bw" in flags:
        chosen.append(("AVX-512", ["-O3", "-march=x86-64-v4"]))
    return chosen


@pytest.fixture(scope="module")
def other_builds(tmp_path_factory):
    if COMPILER is None:
        pytest.skip("no C compiler")
    folder = tmp_path_factory.mktemp("kernels")
    libraries = {}
    for name, flags in builds():
        path = folder / f"build{len(libraries)}{sysconfig.get_config_var('SHLIB_SUFFIX') or '.so'}"
        command = [COMPILER, *flags, "-ffp-contract=off", "-fno-trapping-math", "-fPIC",
                   "-shared", "-DVECTOR_CLONES=", str(SOURCE), "-o", str(path), "-lm"]
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: {' '.join(command)}\n{done.stderr}"
        libraries[name] = compiled.load_library(path)
    return libraries


def bits(a: np.ndarray) -> np.ndarray:
    """The bytes of a, with every NaN made the same NaN (their payloads may differ)."""
    a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
    return a.view(np.uint8)


def awkward_input(dtype, shape=(7, 1029), seed=3):
    r = np.random.default_rng(seed)
    x = r.normal(0, 6, shape).astype(dtype)
    x[1, 5] = np.nan
    x[2, 700] = np.inf
    x[3, :] = -np.inf
    x[4, ::3] = -np.inf
    x[5] *= 30  # many exps below the smallest normal number
    x[6, 1000:] = 80  # the max in the last chunk
    return x


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_grad, smoothing", [(False, False), (True, False), (True, True)])
def test_every_build_gives_the_same_bits(other_builds, dtype, with_grad, smoothing):
    x = awkward_input(dtype)
    reference = run_rows(x.copy(), with_grad, smoothing=smoothing)
    for name, library in other_builds.items():
        mine = run_rows(x.copy(), with_grad, smoothing=smoothing, library=library)
        for label, a, b in zip(("max", "sum", "gradient"), reference[:3], mine[:3]):
            if a is not None:
                assert np.array_equal(bits(a), bits(b)), f"{label} differs in the {name} build"
    y = np.concatenate([-np.abs(x.ravel()), [0.0, -np.inf, np.nan]]).astype(dtype)
    want = compiled.exp_nonpositive(y)
    for name, library in other_builds.items():
        got = compiled.exp_nonpositive(y, library=library)
        assert np.array_equal(bits(want), bits(got)), f"exp differs in the {name} build"


@needs_kernel
def test_streaming_stores_and_in_place_give_the_same_bits():
    x = awkward_input(np.float32)
    plain = run_rows(x.copy(), True)[2]
    assert np.array_equal(bits(plain), bits(run_rows(x.copy(), True, stream=True)[2]))
    assert np.array_equal(bits(plain), bits(run_rows(x.copy(), True, in_place=True)[2]))
    # a gradient whose rows start at every alignment, streamed
    odd = np.ascontiguousarray(x[:, :1027])
    assert np.array_equal(bits(run_rows(odd.copy(), True)[2]),
                          bits(run_rows(odd.copy(), True, stream=True)[2]))
