"""benchmarks/blas_threads.py: ``sapp bench threads`` (issue 17)."""

from benchmarks import blas_threads


def test_sizes_and_overhead_sections_report_every_call():
    rows = blas_threads.size_section([(40, 200)], repeats=1)
    assert [r["call"] for r in rows] == [
        "X^T r",
        "group_ompr (squared)",
        "group_ompr (logistic)",
        "solve_group_lasso (squared)",
    ]
    for row in rows:
        assert row["library_threads"] == 1  # 8000 entries: the rule's one thread
        assert row["all_over_1"] == row["time_all_threads"] / row["time_1_thread"]
    overhead = blas_threads.overhead_section()
    assert all(seconds > 0 for seconds in overhead.values())
    record = {
        "meta": {
            "command": "test",
            "machine": "m",
            "versions": {},
            "blas": [],
            "repeats": 1,
            "load_average_start": [1.0, 1.0, 1.0],
            "load_average_end": [1.0, 1.0, 1.0],
        },
        "sizes": rows,
        "overhead": overhead,
    }
    text = blas_threads.threads_markdown(record)
    assert "| 40 x 200 | group_ompr (logistic) |" in text
    assert "thread_limit (nested, inherits)" in text
