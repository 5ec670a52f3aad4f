"""The checks ``make docs`` runs on the built site catch what they are for."""

import pytest


@pytest.fixture
def site_checks(docs_ext):
    return docs_ext("site_checks")


def _page(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


def test_a_site_whose_links_resolve_passes(tmp_path, site_checks):
    _page(
        tmp_path / "index.html",
        '<a href="api/omp.html#omp.group_omp">x</a>'
        '<a href="https://example.org/missing">external</a><a href="#top">top</a>'
        '<span id="top"></span><img src="_images/plot.png">',
    )
    _page(
        tmp_path / "api" / "omp.html",
        '<dt id="omp.group_omp"></dt><a href="../index.html">home</a>',
    )
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "plot.png").write_bytes(b"png")
    assert site_checks.broken_links(tmp_path) == []


def test_missing_files_and_anchors_are_reported(tmp_path, site_checks):
    _page(
        tmp_path / "index.html",
        '<a href="api/gone.html">x</a>'
        '<a href="api/omp.html#nowhere">y</a><img src="_images/gone.png">',
    )
    _page(tmp_path / "api" / "omp.html", '<dt id="omp.group_omp"></dt>')
    found = {(b.page, b.url, b.reason) for b in site_checks.broken_links(tmp_path)}
    assert found == {
        ("index.html", "api/gone.html", "no such file"),
        ("index.html", "api/omp.html#nowhere", "no such anchor"),
        ("index.html", "_images/gone.png", "no such file"),
    }


def test_theme_templates_are_not_pages(tmp_path, site_checks):
    # The theme copies unrendered Jinja templates into _static.
    _page(tmp_path / "_static" / "macros.html", "<a href=\"{{ pathto('x') }}\">")
    _page(tmp_path / "index.html", "")
    assert site_checks.broken_links(tmp_path) == []


def test_notebook_pages_without_figures_are_reported(tmp_path, site_checks):
    _page(tmp_path / "a.html", '<img src="p.png">')
    _page(tmp_path / "b.html", "<pre>code only</pre>")
    assert site_checks.pages_without_images(tmp_path, ["a.html", "b.html"]) == [
        "b.html"
    ]
