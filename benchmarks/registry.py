"""The benchmarks ``sapp bench`` runs: one entry per verb, its module and help.

The table is static, so listing the verbs (``sapp --help``, ``sapp bench --help``)
imports no benchmark; :meth:`BenchVerb.load` imports a verb's module when it
runs. Each module defines ``add_arguments(parser)`` (its options) and
``run(args)`` (returns the exit status). Adding a benchmark means writing its
module and adding its line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

__all__ = ["VERBS", "BenchVerb"]


@dataclass(frozen=True)
class BenchVerb:
    """One ``sapp bench`` verb.

    Attributes
    ----------
    name : str
        The verb, as typed after ``sapp bench``.
    module : str
        Dotted name of the module with ``add_arguments`` and ``run``.
    help : str
        One line for ``sapp bench --help``.
    """

    name: str
    module: str
    help: str

    def load(self) -> ModuleType:
        """Import the verb's module (torch and the like load here)."""
        return importlib.import_module(self.module)


VERBS = {
    verb.name: verb
    for verb in (
        BenchVerb(
            "pruning",
            "benchmarks.pruning.cli",
            "magnitude (one-shot and gradual), block powerprop, ACDC and SA++ x "
            "block sizes x sparsities on the planted Criteo teacher and MNIST-1D "
            "(mean ± std over seeds, plots)",
        ),
        BenchVerb(
            "ablation",
            "benchmarks.ablation",
            "SA++ one factor at a time (sparsification phase, re-entry, logit "
            "decay and LR, c, attention bounds, update frequency) on the planted "
            "Criteo teacher and MNIST-1D",
        ),
        BenchVerb(
            "tune",
            "benchmarks.tune.cli",
            "equal-budget tuning of every pruning method (random search on a "
            "validation split of the training data); paper defaults vs tuned on "
            "the test split",
        ),
        BenchVerb(
            "solvers",
            "benchmarks.solvers.cli",
            "group LASSO, group OMPR and nonconvex solvers vs peers (benchopt curves)",
        ),
        BenchVerb(
            "overhead",
            "benchmarks.overhead",
            "training-step time of each pruning method vs dense; block-sparse speedup",
        ),
        BenchVerb(
            "speed",
            "benchmarks.speed",
            "dense vs block-sparse latency and throughput of a pruned model, per "
            "exported layer and whole, for each batch size, in one run",
        ),
        BenchVerb(
            "sparse",
            "benchmarks.sparse.cli",
            "scipy.sparse designs: group LASSO vs skglm (n=5,000, p=100,000), "
            "n=100,000 x p=1,000,000 with peak RSS, group OMPR vs abess, growth",
        ),
        BenchVerb(
            "omp",
            "benchmarks.group_ompr",
            "group OMPR vs abess and scikit-learn OMP on planted instances; "
            "exhaustive optima, Algorithm 2 agreement, Theorem B.3 sweep",
        ),
        BenchVerb(
            "threads",
            "benchmarks.blas_threads",
            "BLAS threads against problem size for the solvers and searches, and "
            "the cost of limiting them (the rule of nonconvex_reg.threads)",
        ),
        BenchVerb(
            "export",
            "benchmarks.export",
            "block-sparse export of a 2048 x 2048 layer vs dense and torch's BSR "
            "paths (issue 7's bars); whole models, sizes, peak memory",
        ),
        BenchVerb(
            "loader",
            "benchmarks.criteo_loader",
            "Criteo TSV parse + cache throughput and peak memory; DataLoader rows/s",
        ),
        BenchVerb(
            "teacher",
            "benchmarks.planted_teacher",
            "support recovery of every pruning method on a planted block-sparse "
            "teacher",
        ),
        BenchVerb(
            "recipes",
            "benchmarks.recipes",
            "every built-in recipe's quick variant trained end to end: steps, "
            "wall time, final evaluation (the README's recipe table)",
        ),
        BenchVerb(
            "gpu",
            "benchmarks.gpu.cli",
            "one check of every CUDA path (issue 20): ResNet-50 and Criteo step "
            "times dense and pruned, host syncs in pruner.step(), NCCL resume "
            "under torchrun, export timed on the GPU; --tiny: the CPU smoke run",
        ),
        BenchVerb(
            "startup",
            "benchmarks.startup",
            "start-up time of sapp and of importing each package, against "
            "python -c pass",
        ),
    )
}
