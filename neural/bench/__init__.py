"""Benchmarks behind ``sapp bench``: each writes Markdown, JSON and PNG results.

``pruning`` (methods x block sizes x sparsities on the planted Criteo teacher and
MNIST-1D), ``solvers`` (our solvers against their peers, benchopt-shaped rows) and
``overhead`` (training-step and inference cost of each method against dense).
Every result file carries the command line, the machine and the package
versions (:func:`neural.bench.results.run_metadata`) and is written atomically.
"""
