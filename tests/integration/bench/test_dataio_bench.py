"""The data-path benchmark still runs end to end (tiny sizes): a real cluster, every case measured,
the short-circuit reads included, and a table whose baseline rows divide to 1.00."""

from __future__ import annotations

from pathlib import Path

from bench.dataio.__main__ import parse_arguments, report, run


def test_the_dataio_bench_measures_every_case(tmp_path: Path) -> None:
    arguments = parse_arguments(
        ["--size-mib", "4", "--files", "2", "--file-mib", "1", "--block-mib", "1", "--repeats", "2"]
    )
    arguments.directory = tmp_path
    results = run(arguments)
    cases = {(m.label, m.direction) for m in results}
    for direction in ("write", "read cold", "read warm"):
        assert ("local disk", direction) in cases
        assert ("hopsfs 1 client, replication 1", direction) in cases
    assert ("hopsfs 1 client, replication 1, short-circuit", "read cold") in cases
    assert all(m.bytes_moved > 0 and m.seconds > 0 for m in results)
    table = report(results)
    assert "| local disk | read cold |" in table and "short-circuit" in table
    assert table.count("| 1.00 |") >= 3
