"""Smoke test of the engine benchmark (bench/engine) at a tiny size, on SQLite and MariaDB.

Checks that the bulk loader writes a namespace fsck accepts, with the planned shape, and that a run
measures every operation and the baseline with positive rates and renders a report holding them.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.fsck import assert_consistent

from bench.engine.parallel import run_parallel_stat
from bench.engine.populate import FANOUT_MAX, FILES_PER_LEAF, LEAF_DEPTHS, Owner, plan_directories, populate
from bench.engine.report import append_json_lines, machine_info, render_markdown, size_records
from bench.engine.run import BENCH_GROUPS, BENCH_USER, SUPERGROUP, RunSettings, run_size
from bench.engine.workloads import BASELINE, OPERATIONS
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

TINY_INODES = 2_000
SETTINGS = RunSettings(duration_s=0.2, ops_max=2_000, processes=1, seed=3)
NOW_MS = 1_700_000_000_000


def test_plan_keeps_fanout_and_depths_at_a_million_inodes() -> None:
    directories, leaves, top_count = plan_directories(1_000_000)
    assert top_count >= 4
    assert max(directory.children for directory in directories) <= FANOUT_MAX
    assert {directories[leaf].depth for leaf in leaves} == set(LEAF_DEPTHS)
    assert len({directory.path for directory in directories}) == len(directories)


def test_bulk_load_is_consistent(db_url: str) -> None:
    store = MetadataStore(db_url)
    try:
        store.format(superuser="root", supergroup=SUPERGROUP, now_ms=NOW_MS)
        tree = populate(store, TINY_INODES, Owner(BENCH_USER, SUPERGROUP), NOW_MS)
    finally:
        store.dispose()
    assert_consistent(db_url)
    assert 1 + len(tree.directory_paths) + tree.file_count == TINY_INODES
    namespace = Namespace.open(db_url)
    try:
        caller = Caller(BENCH_USER, BENCH_GROUPS)
        leaf = tree.leaf_paths[tree.full_leaves[0]]
        assert len(namespace.list_all(caller, leaf)) == FILES_PER_LEAF
        last = tree.file_count - 1
        status = namespace.stat(caller, tree.file_path(last))
        assert (status.owner, status.replication, status.children_count) == (BENCH_USER, 3, 0)
        assert namespace.content_summary(caller, "/").file_count == tree.file_count
    finally:
        namespace.close()


def test_run_measures_every_operation(db_url: str, tmp_path: Path) -> None:
    result = run_size(db_url, TINY_INODES, SETTINGS, log=lambda _: None)
    assert_consistent(db_url)
    assert result.baseline.operation == BASELINE
    assert result.baseline.ops_per_s > 0
    assert tuple(operation.operation for operation in result.operations) == OPERATIONS
    for operation in result.operations:
        assert operation.ops > 0 and operation.ops_per_s > 0, operation
        assert 0 < operation.p50_us <= operation.p99_us, operation
    assert result.bytes_per_inode > 0
    records = size_records(result)
    assert {record["operation"] for record in records[1:]} == {BASELINE, *OPERATIONS}
    path = tmp_path / "results.jsonl"
    append_json_lines(path, records)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["namespace"] + ["operation"] * (1 + len(OPERATIONS))
    markdown = render_markdown(machine_info(None, SETTINGS), [result])
    for name in (BASELINE, *OPERATIONS):
        assert f"| {name} |" in markdown


def test_parallel_stat_on_sqlite(sqlite_url: str) -> None:
    store = MetadataStore(sqlite_url)
    try:
        store.format(superuser="root", supergroup=SUPERGROUP, now_ms=NOW_MS)
        tree = populate(store, TINY_INODES, Owner(BENCH_USER, SUPERGROUP), NOW_MS)
    finally:
        store.dispose()
    result = run_parallel_stat(sqlite_url, tree, Caller(BENCH_USER, BENCH_GROUPS), 2, 0.2, 2_000, seed=5)
    assert result.operation == "stat x2"
    assert result.ops > 0 and result.ops_per_s > 0
