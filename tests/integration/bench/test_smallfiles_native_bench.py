"""The hdfs-native small-file read bench still runs end to end (a few files): a real cluster, files
stored inline and in blocks, each read by hdfs-native, and a table that divides by the block path."""

from __future__ import annotations

import pytest

from bench.smallfiles.native_reads import report, run


def test_the_native_reads_bench_measures_inline_blocks_and_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", "hdfs")
    rates = run(files=5, size=1000)
    assert set(rates) == {"inline (namenode)", "blocks (datanode)", "local filesystem"}
    assert all(rate > 0 for rate in rates.values())
    assert "| blocks (datanode) |" in report(rates, 5, 1000)
