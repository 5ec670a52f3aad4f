"""Every benchmark of the project, behind ``sapp bench VERB``.

One module (or subpackage) per benchmark: :mod:`~benchmarks.pruning`,
:mod:`~benchmarks.solvers`, :mod:`~benchmarks.overhead` (with
:mod:`~benchmarks.step_time`), :mod:`~benchmarks.speed`,
:mod:`~benchmarks.group_ompr`, :mod:`~benchmarks.export`,
:mod:`~benchmarks.criteo_loader`, :mod:`~benchmarks.planted_teacher` and
:mod:`~benchmarks.startup`; :mod:`~benchmarks.registry` lists them for the CLI.
Each writes Markdown, JSON and PNG results through :mod:`benchmarks.results`,
which also holds the run metadata every record carries and the one Markdown
table helper. ``benchmarks`` may import ``nonconvex_reg``, ``omp`` and
``neural``; only the ``sapp`` command imports it, lazily. Importing this package
imports nothing else.
"""

from .registry import VERBS, BenchVerb

__all__ = ["VERBS", "BenchVerb"]
