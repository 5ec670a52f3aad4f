"""Hypothesis runs derandomized by default, so CI is reproducible.

The examples are then a fixed function of each test; run
``pytest --hypothesis-profile=explore`` to search fresh random examples (how the
LogPenalty and a^4 prox rounding cases were found).
"""

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")
