"""Builds ce_lib's one compiled file, ce_lib/_kernels.c (the inner loop of ce_lib.fused).

Everything else about the package is in pyproject.toml. The extension is optional: where no
C compiler is found the install goes on without it, and ce_lib.fused computes the same
results with NumPy alone, more slowly (ce_lib.compiled.status() says which is in use).
The flags keep every floating-point operation as written (see the top of _kernels.c):
no -ffast-math, no contraction of a * b + c into a fused multiply-add.
"""
import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    flags, libraries = ["/O2", "/fp:precise"], []
else:
    flags, libraries = ["-O3", "-fno-fast-math", "-ffp-contract=off", "-fno-trapping-math"], ["m"]

setup(
    ext_modules=[
        Extension(
            "ce_lib._kernels",
            sources=["ce_lib/_kernels.c"],
            extra_compile_args=flags,
            libraries=libraries,
            optional=True,
        )
    ]
)
