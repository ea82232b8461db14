"""Build mscouple's compiled kernels (csrc/*.pyx) with Cython.

Every ``csrc/<name>.pyx`` becomes the extension ``mscouple._kernels.<name>``.
C optimisation flags are on by default; ``MSCOUPLE_NATIVE=1`` adds
``-march=native`` (opt-in only: cluster login nodes often differ from compute nodes).
"""
import os
import sys
from glob import glob

import numpy
from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # pragma: no cover - build requirement
    sys.exit("mscouple needs Cython >= 3 to build its kernels: pip install 'cython>=3'")

CFLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]
if os.environ.get("MSCOUPLE_NATIVE", "0") not in ("", "0"):
    CFLAGS.append("-march=native")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}


def kernel_extensions():
    exts = []
    for pyx in sorted(glob(os.path.join("csrc", "*.pyx"))):
        name = os.path.splitext(os.path.basename(pyx))[0]
        exts.append(
            Extension(
                f"mscouple._kernels.{name}",
                [pyx],
                include_dirs=[numpy.get_include(), "csrc"],
                extra_compile_args=CFLAGS,
                define_macros=[
                    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                    ("MSCOUPLE_CFLAGS", '"' + " ".join(CFLAGS) + '"'),
                ],
                libraries=["m"],
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        kernel_extensions(),
        compiler_directives=DIRECTIVES,
        quiet=True,
    ),
)
