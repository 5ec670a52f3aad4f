"""Build of the compiled block-sparse kernels; everything else is in pyproject.toml.

``neural.export._bsr`` is plain C with OpenMP. It is compiled for the portable
x86-64 baseline (no ``-march``): the AVX2 and AVX-512 register tiles carry their
own ``#pragma GCC target`` and are picked at import by CPU detection.
``-ffp-contract=fast`` lets multiply-adds fuse (ISO C mode would forbid it).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "neural.export._bsr",
            sources=["neural/export/csrc/bsr.c"],
            depends=["neural/export/csrc/bsr_tile.h"],
            extra_compile_args=[
                "-O3",
                "-std=c11",
                "-fopenmp",
                "-ffp-contract=fast",
                "-Wall",
            ],
            extra_link_args=["-fopenmp"],
        )
    ]
)
