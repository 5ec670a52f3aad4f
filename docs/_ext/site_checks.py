"""Checks of the built HTML site: its links resolve, its notebooks show figures.

* ``sphinx -b linkcheck`` needs the network; this check does not. Every
  ``href`` and ``src`` of every built page that points inside the site (a
  relative URL) must name an existing file, and a ``#fragment`` on an HTML page
  must name an ``id`` (or ``name``) on that page.
* Every page built from a notebook must show at least one image: the notebooks
  are executed by the build, and a figure lost on the way (a non-interactive
  matplotlib backend, say) leaves a page of code without plots.

Each failure is a build warning, so the build, which runs with ``-W``, fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Folders of the site that hold the theme's files (its HTML templates are
#: copied there unrendered), not pages.
THEME_FILES = {"_static"}


class _PageParser(HTMLParser):
    """Collect the links and the anchors of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.anchors: set[str] = set()
        self.images = 0

    def handle_starttag(self, tag, attrs):
        self.images += tag == "img"
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src"):
                self.links.append(value)
            elif name in ("id", "name"):
                self.anchors.add(value)


@dataclass(frozen=True)
class BrokenLink:
    """A link of ``page`` to ``url`` that names no file or no anchor."""

    page: str
    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: broken link {self.url!r} ({self.reason})"


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _is_internal(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("#", "/")))


def broken_links(site: Path) -> list[BrokenLink]:
    """Every internal link of the HTML pages under ``site`` that does not resolve.

    Parameters
    ----------
    site : Path
        The root folder of a built HTML site.

    Returns
    -------
    list of BrokenLink
        Sorted by page, then URL; empty when every link resolves.
    """
    site = Path(site).resolve()
    pages = {
        path: _parse(path)
        for path in sorted(site.rglob("*.html"))
        if path.relative_to(site).parts[0] not in THEME_FILES
    }
    broken = []
    for page, parsed in pages.items():
        name = page.relative_to(site).as_posix()
        for url in parsed.links:
            if not _is_internal(url):
                continue
            parts = urlsplit(url)
            target = (page.parent / unquote(parts.path)).resolve()
            if parts.path and not target.exists():
                broken.append(BrokenLink(name, url, "no such file"))
                continue
            if not parts.fragment:
                continue
            anchored = pages.get(target) if parts.path else parsed
            if anchored is None and target.suffix == ".html":
                anchored = _parse(target)
            if anchored is not None and unquote(parts.fragment) not in anchored.anchors:
                broken.append(BrokenLink(name, url, "no such anchor"))
    return sorted(set(broken), key=lambda b: (b.page, b.url))


def pages_without_images(site: Path, pages) -> list[str]:
    """The pages among ``pages`` (relative paths) that hold no ``<img>``."""
    missing = []
    for page in pages:
        parsed = _PageParser()
        parsed.feed(Path(site, page).read_text(encoding="utf-8"))
        if not parsed.images:
            missing.append(page)
    return missing


def _check(app, exception) -> None:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    if exception is not None or app.builder.format != "html":
        return
    for link in broken_links(Path(app.outdir)):
        logger.warning(str(link), type="site_checks", subtype="broken_link")
    notebooks = [
        app.builder.get_target_uri(docname)
        for docname in sorted(app.env.found_docs)
        if Path(app.env.doc2path(docname)).suffix == ".ipynb"
    ]
    for page in pages_without_images(Path(app.outdir), notebooks):
        logger.warning(
            f"{page}: a notebook page without a figure",
            type="site_checks",
            subtype="notebook_figures",
        )


def setup(app):
    """Check the built site when an HTML build finishes."""
    app.connect("build-finished", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
