"""Load the documentation's own Sphinx extensions (``docs/_ext``) for testing.

They are plain modules beside ``docs/conf.py``, not part of the installed
packages; the functions tested here import nothing from Sphinx, so the suite
runs without the ``docs`` extra.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def docs_ext():
    """``docs_ext("site_checks")`` imports ``docs/_ext/site_checks.py``."""

    def load(name):
        spec = importlib.util.spec_from_file_location(
            f"docs_ext_{name}", DOCS / "_ext" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module

    return load
