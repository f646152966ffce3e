"""Smoke test of the namenode RPC benchmark (bench/rpc): its quick mode on SQLite, end to end.

Real namenode processes and load processes run for a few seconds. The test checks that the report
holds every configuration (both client kinds, 1 and 2 namenodes, 1 and 16 clients, getFileInfo and
getListing) and the engine baseline, each with positive rates and latencies, and ratios that agree
with the rates. It never asserts a speed: the machine is shared.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from bench.engine.populate import FILES_PER_LEAF
from bench.rpc.__main__ import main
from bench.rpc.load import CLIENT_KINDS, OPERATIONS, split_callers
from bench.rpc.run import ENGINE, inode_count_for_files

NAMENODE_COUNTS = (1, 2)
CLIENT_COUNTS = (1, 16)


def test_callers_split_evenly_over_processes_and_namenodes() -> None:
    addresses = [("127.0.0.1", 1), ("127.0.0.1", 2)]
    shares = split_callers(16, 2, addresses)
    assert [len(share) for share in shares] == [8, 8]
    for share in shares:
        assert sorted(address for _, address in share).count(addresses[0]) == 4
    assert sorted(caller for share in shares for caller, _ in share) == list(range(16))
    assert split_callers(1, 2, addresses) == [[(0, addresses[0])]]


def test_tree_size_holds_the_files_asked_for() -> None:
    inode_count = inode_count_for_files(10_000)
    directories = -(-10_000 // FILES_PER_LEAF)  # at least one leaf directory per 100 files
    assert 10_000 + directories < inode_count < 10_000 + 2 * directories + 20


@pytest.mark.timeout(180)
def test_quick_run_reports_every_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    assert main(["--quick", "--backends", "sqlite", "--out", str(out), "--work-dir", str(tmp_path)]) == 0
    [jsonl_path] = out.glob("rpc-*.jsonl")
    [markdown_path] = out.glob("rpc-*.md")
    records = [json.loads(line) for line in jsonl_path.read_text().splitlines()]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_kind.setdefault(record["kind"], []).append(record)

    [machine] = by_kind["machine"]
    assert machine["cpu_count"] >= 1 and machine["benchmark"] == "rpc"
    [namespace] = by_kind["namespace"]
    assert namespace["files"] >= 1_000

    engine = {record["operation"]: record for record in by_kind["engine"]}
    assert set(engine) == set(OPERATIONS)
    for record in engine.values():
        _assert_measured(record)
    assert len(by_kind["engine_window"]) == 2 * len(OPERATIONS)  # before and after the RPC runs

    rows = {(r["client"], r["namenodes"], r["clients"], r["operation"]): r for r in by_kind["rpc"]}
    expected = set(itertools.product(CLIENT_KINDS, NAMENODE_COUNTS, CLIENT_COUNTS, OPERATIONS))
    assert set(rows) == expected
    assert len(by_kind["rpc"]) == len(expected)
    for key, row in rows.items():
        _assert_measured(row)
        baseline = engine[row["operation"]]
        ratio = row["ops_per_s"] / baseline["ops_per_s"]
        assert row["ratio_ops_per_s_to_engine"] == pytest.approx(ratio, rel=0.01, abs=1e-4), key
        assert row["ratio_p50_to_engine"] > 0, key
        assert row["server_cpu_us_per_op"] is None or row["server_cpu_us_per_op"] >= 0, key

    targets = by_kind["target"]
    assert {target["client"] for target in targets} == set(CLIENT_KINDS)
    assert all(target["value"] > 0 for target in targets)

    markdown = markdown_path.read_text()
    assert markdown in capsys.readouterr().out  # the table is printed as well as written
    for client_kind, namenodes, clients, operation in expected:
        assert f"| sqlite | {client_kind} | {namenodes} | {clients} | {operation} |" in markdown
    for operation in OPERATIONS:
        assert f"| sqlite | {ENGINE} | - | 1 | {operation} |" in markdown


def _assert_measured(record: dict[str, Any]) -> None:
    assert record["ops"] > 0, record
    assert record["ops_per_s"] > 0, record
    assert 0 < record["p50_us"] <= record["p99_us"], record
