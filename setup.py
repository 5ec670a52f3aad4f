"""Build of the compiled block-sparse kernels; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "neural.export._bsr",
            sources=["neural/export/csrc/bsr.c"],
            depends=["neural/export/csrc/bsr_tile.h"],
            extra_compile_args=["-O3", "-fopenmp", "-ffp-contract=fast", "-std=c11", "-Wall"],
            extra_link_args=["-fopenmp"],
        )
    ]
)
