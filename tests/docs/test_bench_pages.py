"""Each benchmark report gets a page with its plots (issue 21)."""

from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.fixture
def bench_pages(docs_ext):
    return docs_ext("bench_pages")


def test_plots_go_to_the_report_with_the_longest_name(bench_pages):
    owned = bench_pages.plots_by_report(
        ["pruning", "pruning_quick", "demo", "omp"],
        [
            "pruning_criteo.png",
            "pruning_quick_criteo.png",
            "demo_mnist1d.png",
            "pruning.png",
        ],
    )
    assert owned == {
        "demo": ["demo_mnist1d.png"],
        "omp": [],
        "pruning": ["pruning.png", "pruning_criteo.png"],
        "pruning_quick": ["pruning_quick_criteo.png"],
    }


def test_a_plot_of_no_report_is_an_error(bench_pages):
    with pytest.raises(ValueError, match="solver.png belongs to no report"):
        bench_pages.plots_by_report(["solvers"], ["solver.png"])


def test_every_committed_report_and_plot_gets_a_page(tmp_path, bench_pages):
    names = bench_pages.write_pages(tmp_path, RESULTS)
    assert names == sorted(p.stem for p in RESULTS.glob("*.md"))
    pages = {p.stem: p.read_text() for p in (tmp_path / bench_pages.PAGES).glob("*.md")}
    assert set(pages) == set(names)
    for plot in RESULTS.glob("*.png"):
        assert sum(f"/{plot.name}\n" in text for text in pages.values()) == 1, plot
    folder = tmp_path / bench_pages.PAGES
    for name, text in pages.items():
        included = text.split("```{include} ", 1)[1].split("\n", 1)[0]
        assert (folder / included).resolve() == (RESULTS / f"{name}.md").resolve()
