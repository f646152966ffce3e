"""Smoke run of `python -m bench.fsspec` with tiny sizes: it starts its own cluster, measures every
workload on hopsfs and on the local disk, and writes a complete report. Speed is never asserted."""

from __future__ import annotations

import json
from pathlib import Path

from bench.fsspec.__main__ import main

EXPECTED = {
    ("parquet", "write"),
    ("parquet", "read"),
    ("dataset", "write"),
    ("dataset", "scan"),
    ("small files", "pipe"),
    ("small files", "cat"),
}


def test_the_bench_runs_and_reports_every_ratio(tmp_path: Path) -> None:
    out = tmp_path / "results"
    arguments = ["--parquet-mib", "1", "--small-files", "20", "--small-file-bytes", "256"]
    assert main([*arguments, "--directory", str(tmp_path), "--out", str(out)]) == 0
    [jsonl] = out.glob("fsspec-*.jsonl")
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    for target in ("local", "hopsfs"):
        rows = {(r["workload"], r["phase"]): r for r in records if r["target"] == target}
        assert set(rows) == EXPECTED
        assert all(row["seconds"] > 0 and row["bytes_moved"] > 0 for row in rows.values())
    assert all(r["ratio_to_local"] > 0 for r in records if r["target"] == "hopsfs")
    assert rows[("small files", "cat")]["items"] == 20
    [markdown] = out.glob("fsspec-*.md")
    assert markdown.read_text().count("\n| ") == len(EXPECTED) + 1
