"""The small-file bench still runs end to end (a few files): every size, client count and case,
the put methods, and a report with both batch ÷ one-by-one ratios."""

from __future__ import annotations

from pathlib import Path

from bench.smallfiles.__main__ import parse_arguments, report, run


def test_the_smallfiles_bench_measures_every_case(tmp_path: Path) -> None:
    arguments = parse_arguments(["--files", "8", "--batch-files", "20", "--directory", str(tmp_path)])
    rates = run(arguments)
    assert {rate.case for rate in rates} >= {"inline", "block path", "local filesystem"}
    assert len([rate for rate in rates if rate.operation == "put"]) == 5
    assert all(rate.files > 0 and rate.seconds > 0 for rate in rates)
    table = report(rates)
    assert "the calls (batchCreateWithData ÷ createWithData)" in table
    assert "the command (`dfs -put DIR` batched ÷ one file at a time)" in table
