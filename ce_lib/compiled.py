"""The compiled inner loop of ce_lib.fused (ce_lib/_kernels.c), loaded with ctypes.

One function does the per-element work of the fast paths, for a run of rows:

    m_i = max_j x_ij,    s_i = sum_j exp(x_ij - m_i),
    grad_ij = exp(x_ij - m_i) * coef_i / s_i - col_sub_j          (if a gradient is asked for)

in three passes per row (max; exp and sum; scale), with one exp per element and no
temporary of the row's size: what NumPy needs five or six calls for, each a pass over
memory. It gives the same numbers, bit for bit, on every CPU (see _kernels.c). One
difference from torch, below any tolerance: exps under the smallest normal number (about
1e-38 in float32) are 0, as on GPUs, so a gradient entry torch gives as a subnormal
number (exp(-100) / s = 3.8e-44, say) is 0 here.

The library is built by `pip install` (setup.py) when a C compiler is there. Without it,
or with CE_LIB_KERNEL=0 in the environment, `available()` is False and ce_lib.fused uses
its NumPy code, which gives the same results to rounding, more slowly. `status()` says
which is in use and why.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from pathlib import Path

import numpy as np

ABI = 1  # must equal ce_kernels_abi() in _kernels.c: a library built from an older file is refused

_SUFFIXES = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def load_library(path: str | Path) -> ctypes.CDLL:
    """A build of _kernels.c, its functions' argument types declared. Raises OSError if it
    does not load, and ImportError if it was built from another version of the file."""
    library = ctypes.CDLL(str(path))
    if library.ce_kernels_abi() != ABI:
        raise ImportError(f"{Path(path).name} was built from another version of _kernels.c")
    pointer, length = ctypes.c_void_p, ctypes.c_long
    for suffix in _SUFFIXES.values():
        rows = getattr(library, f"ce_softmax_rows_{suffix}")
        rows.argtypes = [pointer, length, length, length, pointer, pointer, pointer, length,
                         pointer, pointer, ctypes.c_int]
        rows.restype = ctypes.c_int
        exp = getattr(library, f"ce_exp_{suffix}")
        exp.argtypes = [pointer, pointer, length]
        exp.restype = None
    return library


def _load() -> tuple[ctypes.CDLL | None, str]:
    """(the library, how it was found), or (None, why not)."""
    if os.environ.get("CE_LIB_KERNEL", "1") == "0":
        return None, "switched off (CE_LIB_KERNEL=0): NumPy code in use"
    here = Path(__file__).parent
    candidates = [here / f"_kernels{suffix}"
                  for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return None, ("not built (pip install -e . builds it; it needs a C compiler): "
                      "NumPy code in use")
    try:
        library = load_library(path)
    except OSError as error:
        return None, f"{path.name} did not load ({error}): NumPy code in use"
    except ImportError as error:
        return None, f"{error}: run `pip install -e .` again. NumPy code in use"
    return library, f"compiled kernel in use ({path.name})"


_LIBRARY, _STATUS = _load()


def available() -> bool:
    """Whether the compiled kernel is loaded."""
    return _LIBRARY is not None


def status() -> str:
    """Which code ce_lib.fused runs, in words: the compiled kernel, or NumPy and why."""
    return _STATUS


def supports(x: np.ndarray) -> bool:
    """Whether softmax_rows takes x: float32/float64, 2-D, each row contiguous in memory."""
    return (
        _LIBRARY is not None
        and x.dtype in _SUFFIXES
        and x.ndim == 2
        and (x.shape[1] <= 1 or x.strides[1] == x.itemsize)
        and x.strides[0] % x.itemsize == 0
    )


def _address(a: np.ndarray | None) -> int | None:
    return None if a is None else a.__array_interface__["data"][0]


def softmax_rows(x: np.ndarray, m: np.ndarray, s: np.ndarray, grad: np.ndarray | None = None,
                 coef: np.ndarray | None = None, col_sub: np.ndarray | None = None,
                 stream: bool = False, library: ctypes.CDLL | None = None) -> None:
    """The row maxima into m, the sums of exp(x - m) into s and, if grad is given,
    exp(x - m) * coef / s - col_sub into grad, for every row of x (see the module's
    docstring). x as `supports` requires; m, s, coef (N,) and col_sub (C,) contiguous in
    x's dtype; grad like x, and it may be x itself. stream: write grad with non-temporal
    stores (x86), past the caches: for a gradient larger than they are. Releases the GIL
    (ctypes does) while it runs, so threads can each take a run of rows. library: another
    build (load_library), for the tests; by default the installed one.
    """
    n_rows, n_cols = x.shape
    function = getattr(library or _LIBRARY, f"ce_softmax_rows_{_SUFFIXES[x.dtype]}")
    failed = function(_address(x), n_rows, n_cols, x.strides[0] // x.itemsize, _address(m),
                      _address(s), _address(grad),
                      0 if grad is None else grad.strides[0] // grad.itemsize,
                      _address(coef), _address(col_sub), int(stream))
    if failed:
        raise MemoryError(f"no memory for two rows of {n_cols} exponentials ({x.dtype})")


def exp_nonpositive(x: np.ndarray, out: np.ndarray | None = None,
                    library: ctypes.CDLL | None = None) -> np.ndarray:
    """The kernel's own exp of a float32/float64 array of values <= 0 (or NaN), into out
    (contiguous, like x) if given: for the tests, which hold it to the exact value within
    1.5 ulp (float32) or 2 (float64), and for the benchmark's roofline."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x) if out is None else out
    if y.shape != x.shape or y.dtype != x.dtype or not y.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous array of x's shape and dtype")
    function = getattr(library or _LIBRARY, f"ce_exp_{_SUFFIXES[x.dtype]}")
    function(_address(x), _address(y), x.size)
    return y
