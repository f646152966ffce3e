"""Block reports reconciled with the namespace: unknown -> INVALIDATE, stale stamp or wrong length ->
corrupt (never served), missing -> forgotten (block counted again), being written -> expected."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from block_cluster import BLOCK_SIZE, CONFIG, ROOT, BlockCluster, invalidated_blocks, open_cluster
from support.fsck import assert_consistent

from hopsfs.errors import InvalidArgument
from namenode.block_entities import Block, ReportedReplica


@pytest.fixture(name="small_batches")
def small_batches_fixture(db_url: str) -> Iterator[BlockCluster]:
    """Reports applied two replicas per transaction, so every report spans several batches."""
    cluster = open_cluster(db_url, dataclasses.replace(CONFIG, report_batch_replicas=2))
    for name in ("dn-a", "dn-b", "dn-c"):
        cluster.add_datanode(name)
    yield cluster
    cluster.namespace.close()
    assert_consistent(db_url)


def _holders(cluster: BlockCluster, path: str, index: int) -> list[str]:
    located = cluster.namespace.get_block_locations(ROOT, path, 0, 1 << 40).blocks[index]
    return sorted(location.uuid for location in located.locations)


def _replica(block: Block, *, num_bytes: int | None = None, stamp: int | None = None) -> ReportedReplica:
    return ReportedReplica(
        block.block_id,
        block.generation_stamp if stamp is None else stamp,
        block.num_bytes if num_bytes is None else num_bytes,
        finalized=True,
    )


def test_full_report_reconciles_every_case(small_batches: BlockCluster) -> None:
    cluster = small_batches
    manager = cluster.manager
    f = [located.block for located in cluster.write_file("/f", [BLOCK_SIZE, 100])]
    cluster.write_file("/g", [50])
    stale = cluster.write_file("/stale", [60])[0].block
    cluster.namespace.create(ROOT, "/h", holder="w", block_size=BLOCK_SIZE)
    open_block = cluster.namespace.add_block(ROOT, "/h", "w", None).block
    report = [
        _replica(f[0]),
        _replica(f[1], num_bytes=99),  # wrong length: corrupt
        _replica(stale, stamp=stale.generation_stamp - 1),  # an older stamp: corrupt
        ReportedReplica(424242, 1001, 10, finalized=True),  # its file is gone
        ReportedReplica(open_block.block_id, open_block.generation_stamp, 30, finalized=False),
    ]  # and no replica of /g: forgotten
    commands = manager.full_block_report("dn-a", report, cluster.now_ms)
    assert invalidated_blocks(commands) == {424242}
    assert _holders(cluster, "/f", 0) == ["dn-a", "dn-b", "dn-c"]
    assert _holders(cluster, "/f", 1) == ["dn-b", "dn-c"]
    assert _holders(cluster, "/g", 0) == ["dn-b", "dn-c"]
    assert _holders(cluster, "/stale", 0) == ["dn-b", "dn-c"]
    last = cluster.namespace.get_block_locations(ROOT, "/h", 0, 1).last_block
    assert last is not None and "dn-a" in [location.uuid for location in last.locations]
    stats = manager.cluster_stats(cluster.now_ms)
    assert (stats.corrupt_blocks, stats.under_replicated) == (2, 3)
    # The same report again changes nothing more.
    manager.full_block_report("dn-a", report, cluster.now_ms)
    assert manager.cluster_stats(cluster.now_ms) == stats


def test_a_report_restores_a_forgotten_replica(small_batches: BlockCluster) -> None:
    cluster = small_batches
    block = cluster.write_file("/f", [10])[0].block
    cluster.manager.full_block_report("dn-a", [], cluster.now_ms)
    assert _holders(cluster, "/f", 0) == ["dn-b", "dn-c"]
    assert cluster.manager.cluster_stats(cluster.now_ms).under_replicated == 1
    cluster.manager.full_block_report("dn-a", [_replica(block)], cluster.now_ms)
    assert _holders(cluster, "/f", 0) == ["dn-a", "dn-b", "dn-c"]
    assert cluster.manager.cluster_stats(cluster.now_ms).under_replicated == 0


def test_incremental_reports(cluster: BlockCluster, three: list[str]) -> None:
    manager = cluster.manager
    block = cluster.write_file("/f", [10])[0].block
    manager.incremental_block_report("dn-a", [], [ReportedReplica(777, 1, 1, True)], [], cluster.now_ms)
    assert invalidated_blocks(cluster.heartbeat("dn-a").commands) == {777}
    manager.incremental_block_report("dn-b", [], [], [_replica(block)], cluster.now_ms)
    assert _holders(cluster, "/f", 0) == ["dn-a", "dn-c"]
    assert manager.cluster_stats(cluster.now_ms).under_replicated == 1
    cluster.received("dn-b", block)
    assert manager.cluster_stats(cluster.now_ms).under_replicated == 0
    with pytest.raises(InvalidArgument):
        manager.incremental_block_report("dn-a", [], [ReportedReplica(1, -5, 1, True)], [], cluster.now_ms)


def test_reports_of_a_block_being_written_keep_stale_replicas_out(
    cluster: BlockCluster, three: list[str]
) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    located = namespace.add_block(ROOT, "/f", "w", None)
    block = located.block
    outsider = cluster.add_datanode("dn-d")
    cluster.receiving(outsider, block, 5)  # a replica at the current stamp: an expected location now
    last = namespace.get_block_locations(ROOT, "/f", 0, 1).last_block
    assert last is not None and outsider in [location.uuid for location in last.locations]
    stale = ReportedReplica(block.block_id, block.generation_stamp - 1, 5, False)
    commands = cluster.manager.full_block_report("dn-a", [stale], cluster.now_ms)
    assert invalidated_blocks(commands) == {block.block_id}
    last = namespace.get_block_locations(ROOT, "/f", 0, 1).last_block
    assert last is not None and "dn-a" not in [location.uuid for location in last.locations]
