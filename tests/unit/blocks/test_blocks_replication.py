"""Housekeeping keeps every block at its replication: dead datanodes, corrupt replicas, excess."""

from __future__ import annotations

import dataclasses

from block_cluster import CONFIG, ROOT, TIB, BlockCluster, invalidated_blocks, open_cluster
from support.fsck import assert_consistent

from namenode.block_entities import Block, CommandKind, DatanodeCommand, HousekeepingReport, StorageReport

LEADER = "nn-leader"


def _lead(cluster: BlockCluster) -> None:
    assert cluster.manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.dead_after_ms)


def _transfers(commands: dict[str, list[DatanodeCommand]]) -> list[tuple[str, int, list[str]]]:
    return sorted(
        (source, command.blocks[0].block_id, [target.uuid for target in command.targets])
        for source, listed in commands.items()
        for command in listed
        if command.kind is CommandKind.TRANSFER
    )


def _holders(cluster: BlockCluster, path: str) -> list[str]:
    located = cluster.namespace.get_block_locations(ROOT, path, 0, 1).blocks[0]
    return sorted(location.uuid for location in located.locations)


def _kill(cluster: BlockCluster, dead: str, alive: list[str]) -> HousekeepingReport:
    """`dead` stops heartbeating; one housekeeping round after the dead timeout (its report)."""
    cluster.advance(CONFIG.dead_after_ms + 1)
    assert dead not in alive
    cluster.beat(alive)
    report = cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    assert report.datanodes_declared_dead == 1
    return report


def test_a_dead_datanodes_blocks_are_copied_from_a_live_source(
    cluster: BlockCluster, three: list[str]
) -> None:
    _lead(cluster)
    blocks = [located.block for located in cluster.write_file("/f", [10, 20])]
    spare = cluster.add_datanode("dn-d")
    cluster.advance(CONFIG.dead_after_ms + 1)
    alive = ["dn-a", "dn-b", spare]
    cluster.beat(alive)
    report = cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    assert (report.datanodes_declared_dead, report.replicas_removed) == (1, 2)
    assert report.replications_scheduled == 2
    transfers = _transfers(cluster.beat(alive))
    assert {block_id for _, block_id, _ in transfers} == {block.block_id for block in blocks}
    assert all(source in ("dn-a", "dn-b") and targets == [spare] for source, _, targets in transfers)
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).replications_scheduled == 0  # in flight
    # The copy of the first block is never reported: after the pending timeout it is scheduled again.
    cluster.received(spare, blocks[1])
    cluster.advance(CONFIG.pending_replication_timeout_ms + 1)
    cluster.beat(alive)
    report = cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    assert (report.pending_timed_out, report.replications_scheduled) == (1, 1)
    again = _transfers(cluster.beat(alive))
    assert [(block_id, targets) for _, block_id, targets in again] == [(blocks[0].block_id, [spare])]
    cluster.received(spare, blocks[0])
    assert cluster.manager.cluster_stats(cluster.now_ms).under_replicated == 0
    assert _holders(cluster, "/f") == ["dn-a", "dn-b", spare]


def test_transfers_per_heartbeat_are_bounded(db_url: str) -> None:
    cluster = open_cluster(db_url, dataclasses.replace(CONFIG, transfers_per_heartbeat_max=1))
    try:
        _lead(cluster)
        cluster.add_datanode("dn-a")
        cluster.add_datanode("dn-b")
        for index in range(2):
            cluster.write_file(f"/f{index}", [5], replication=2)
        cluster.add_datanode("dn-c")
        assert _kill(cluster, "dn-b", ["dn-a", "dn-c"]).replications_scheduled == 2
        first, second = cluster.heartbeat("dn-a").commands, cluster.heartbeat("dn-a").commands
        assert [command.kind for command in (*first, *second)] == [CommandKind.TRANSFER] * 2
    finally:
        cluster.namespace.close()
    assert_consistent(db_url)


def test_a_block_without_any_live_replica_is_missing(cluster: BlockCluster, three: list[str]) -> None:
    _lead(cluster)
    cluster.write_file("/f", [10], replication=1)
    holder = _holders(cluster, "/f")[0]
    _kill(cluster, holder, [uuid for uuid in three if uuid != holder])
    stats = cluster.manager.cluster_stats(cluster.now_ms)
    assert (stats.missing_blocks, stats.under_replicated) == (1, 1)
    assert cluster.namespace.get_block_locations(ROOT, "/f", 0, 1).blocks[0].locations == []


def test_a_corrupt_replica_is_not_served_replaced_then_deleted(
    cluster: BlockCluster, three: list[str]
) -> None:
    _lead(cluster)
    block = cluster.write_file("/f", [10])[0].block
    spare = cluster.add_datanode("dn-d")
    stale = Block(block.block_id, block.generation_stamp - 1, 10)
    cluster.namespace.report_bad_blocks(ROOT, [(stale, ["dn-b"])])  # about an older replica: ignored
    assert _holders(cluster, "/f") == ["dn-a", "dn-b", "dn-c"]
    cluster.namespace.report_bad_blocks(ROOT, [(block, ["dn-a"])])
    assert _holders(cluster, "/f") == ["dn-b", "dn-c"]
    assert cluster.manager.cluster_stats(cluster.now_ms).corrupt_blocks == 1
    report = cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    assert (report.replications_scheduled, report.corrupt_invalidated) == (1, 0)
    transfers = _transfers(cluster.beat(["dn-a", "dn-b", "dn-c", spare]))
    assert [(block_id, targets) for _, block_id, targets in transfers] == [(block.block_id, [spare])]
    assert transfers[0][0] in ("dn-b", "dn-c")
    cluster.received(spare, block)
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).corrupt_invalidated == 1
    assert invalidated_blocks(cluster.heartbeat("dn-a").commands) == {block.block_id}
    assert cluster.manager.cluster_stats(cluster.now_ms).corrupt_blocks == 0
    assert _holders(cluster, "/f") == ["dn-b", "dn-c", spare]


def test_every_replica_corrupt_is_served_as_a_corrupt_block(cluster: BlockCluster, three: list[str]) -> None:
    block = cluster.write_file("/f", [10], replication=1)[0].block
    holder = _holders(cluster, "/f")[0]
    cluster.manager.report_bad_replicas(holder, [block], cluster.now_ms)  # the datanode's block scanner
    located = cluster.namespace.get_block_locations(ROOT, "/f", 0, 1).blocks[0]
    assert located.corrupt
    assert [location.uuid for location in located.locations] == [holder]


def test_excess_replicas_are_deleted_on_the_fullest_holders(cluster: BlockCluster, three: list[str]) -> None:
    _lead(cluster)
    block = cluster.write_file("/f", [10])[0].block
    for uuid, remaining in (("dn-a", TIB // 4), ("dn-b", TIB // 2), ("dn-c", TIB)):
        cluster.manager.heartbeat(uuid, StorageReport(TIB, TIB - remaining, remaining), 0, cluster.now_ms)
    assert cluster.namespace.set_replication(ROOT, "/f", 1)
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).excess_invalidated == 2
    commands = cluster.beat(three)
    assert [uuid for uuid in three if invalidated_blocks(commands[uuid])] == ["dn-a", "dn-b"]
    assert _holders(cluster, "/f") == ["dn-c"]
    # Raised again: copies are scheduled back up to the new factor.
    assert cluster.namespace.set_replication(ROOT, "/f", 3)
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).replications_scheduled == 1
    (transfer,) = _transfers(cluster.beat(three))
    assert transfer[0] == "dn-c" and sorted(transfer[2]) == ["dn-a", "dn-b"]
    assert transfer[1] == block.block_id


def test_a_copy_beyond_the_replication_is_deleted(cluster: BlockCluster, three: list[str]) -> None:
    _lead(cluster)
    block = cluster.write_file("/f", [10])[0].block
    extra = cluster.add_datanode("dn-d")
    cluster.received(extra, block)  # e.g. a re-replication that overshot
    assert len(_holders(cluster, "/f")) == 4
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).excess_invalidated == 1
    assert len(_holders(cluster, "/f")) == 3
