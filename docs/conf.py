"""Sphinx configuration of the sapp documentation (``make docs``).

The toolchain is the one of the projects sapp sits beside (scikit-learn, skglm,
numpy, scipy): Sphinx, numpydoc for the docstrings (every public docstring here
is numpydoc), the PyData theme, MyST for the Markdown pages and myst-nb for the
notebooks. docs/README.md says why each was chosen and how the build is checked.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "sapp"
author = "the sapp developers"
copyright = "the sapp developers; Apache-2.0"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "api_aliases",
    "api_members",
    "bench_pages",
    "cli_help",
    "site_checks",
]

root_doc = "index"
exclude_patterns = [
    "README.md",
    "_build",
    "**.ipynb_checkpoints",
]
templates_path = ["_templates"]

# Cross-references must resolve (``make docs`` runs with -n -W). Targets in
# other projects cannot be checked offline (no intersphinx inventory can be
# fetched), so references into them are exempt, and only they.
nitpicky = True
EXTERNAL_PACKAGES = (
    "argparse",
    "collections",
    "concurrent",
    "cvxpy",
    "dataclasses",
    "hypothesis",
    "matplotlib",
    "numba",
    "numpy",
    "np",
    "os",
    "pathlib",
    "pyarrow",
    "scipy",
    "sklearn",
    "subprocess",
    "threading",
    "torch",
    "typing",
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(EXTERNAL_PACKAGES)})(\..*)?"),
]

# API reference: one stub page per public object, written at build time from
# the lists in api/*.rst (autosummary), documented from its numpydoc docstring.
autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Markdown pages and notebooks.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# The notebooks are committed without outputs and executed by every build, so
# their figures always come from the code being documented (docs/README.md).
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# Reports render as Markdown tables in Jupyter (``_repr_markdown_``): parse that
# output as MyST, which knows tables (the default, CommonMark, does not).
nb_render_markdown_format = "myst"

html_theme = "pydata_sphinx_theme"
html_title = "sapp"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
html_copy_source = False
