"""Lease recovery: the two phases through datanodes, timeouts, dead holders, the hard limit."""

from __future__ import annotations

import pytest
from block_cluster import ALICE, BLOCK_SIZE, CONFIG, ROOT, BlockCluster

from hopsfs.errors import FileNotFound, LeaseConflict, PermissionDenied
from namenode.block_entities import (
    Block,
    CommandKind,
    DatanodeCommand,
    LocatedBlock,
    ReportedReplica,
    UnknownDatanode,
)

LEADER = "nn-leader"


def _open_file_with_data(cluster: BlockCluster, path: str, sizes: dict[str, int]) -> LocatedBlock:
    """A file whose writer got a block, whose pipeline datanodes wrote `sizes` bytes, then vanished."""
    cluster.namespace.create(ROOT, path, holder="writer", block_size=BLOCK_SIZE)
    located = cluster.namespace.add_block(ROOT, path, "writer", None)
    for uuid, size in sizes.items():
        cluster.receiving(uuid, located.block, size)
    return located


def _recover_commands(cluster: BlockCluster, uuids: list[str]) -> dict[str, list[DatanodeCommand]]:
    return {
        uuid: [
            command
            for command in commands
            if command.kind in (CommandKind.RECOVER, CommandKind.FINALIZE_RECOVERED)
        ]
        for uuid, commands in cluster.beat(uuids).items()
    }


def test_recover_lease_of_a_closed_or_missing_file(cluster: BlockCluster, three: list[str]) -> None:
    cluster.write_file("/closed", [10])
    assert cluster.namespace.recover_lease(ROOT, "/closed", "other")
    with pytest.raises(FileNotFound):
        cluster.namespace.recover_lease(ROOT, "/missing", "other")
    _open_file_with_data(cluster, "/open", {})
    with pytest.raises(LeaseConflict):
        cluster.namespace.recover_lease(ROOT, "/open", "writer")
    with pytest.raises(PermissionDenied):
        cluster.namespace.recover_lease(ALICE, "/open", "alice-client")


def test_two_phase_recovery_agrees_on_the_shortest_length(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    located = _open_file_with_data(cluster, "/f", {"dn-a": 300, "dn-b": 200, "dn-c": 250})
    old = located.block
    assert not namespace.recover_lease(ROOT, "/f", "other")
    commands = _recover_commands(cluster, three)
    new_stamp = old.generation_stamp + 1
    for uuid in three:
        (command,) = commands[uuid]
        assert command.kind is CommandKind.RECOVER
        assert (command.blocks[0].generation_stamp, command.new_generation_stamp) == (
            old.generation_stamp,
            new_stamp,
        )
    manager = cluster.manager
    manager.report_recovered_replica("dn-a", old.block_id, new_stamp, 300, cluster.now_ms)
    manager.report_recovered_replica("dn-b", old.block_id, new_stamp - 1, 1, cluster.now_ms)  # stale: ignored
    manager.report_recovered_replica("dn-b", old.block_id, new_stamp, 200, cluster.now_ms)
    assert all(not listed for listed in _recover_commands(cluster, three).values())  # dn-c has not answered
    assert not namespace.recover_lease(ROOT, "/f", "other")
    manager.report_recovered_replica("dn-c", old.block_id, new_stamp, 250, cluster.now_ms)
    finals = _recover_commands(cluster, three)
    for uuid in three:
        (command,) = finals[uuid]
        assert command.kind is CommandKind.FINALIZE_RECOVERED
        assert (command.blocks[0].generation_stamp, command.num_bytes) == (new_stamp, 200)
    assert not namespace.recover_lease(ROOT, "/f", "other")  # committed, no finalized replica yet
    cluster.received("dn-b", Block(old.block_id, new_stamp, 200))
    assert namespace.recover_lease(ROOT, "/f", "other")
    status = namespace.stat(ROOT, "/f")
    assert (status.size, status.under_construction) == (200, False)
    namespace.create(ROOT, "/f", overwrite=True, holder="next", block_size=BLOCK_SIZE)  # the lease is free
    with pytest.raises(UnknownDatanode):
        manager.report_recovered_replica("stranger", old.block_id, new_stamp, 1, cluster.now_ms)


def test_recovery_decides_after_a_timeout_with_the_holders_that_answered(
    cluster: BlockCluster, three: list[str]
) -> None:
    assert cluster.manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.lease_hard_limit_ms)
    located = _open_file_with_data(cluster, "/f", {"dn-a": 100, "dn-b": 100, "dn-c": 100})
    assert not cluster.namespace.recover_lease(ROOT, "/f", "other")
    stamp = located.block.generation_stamp + 1
    cluster.manager.report_recovered_replica("dn-a", located.block.block_id, stamp, 90, cluster.now_ms)
    cluster.advance(CONFIG.recovery_timeout_ms + 1)
    cluster.beat(three)
    cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    finals = _recover_commands(cluster, three)
    assert [uuid for uuid in three if finals[uuid]] == ["dn-a"]
    assert finals["dn-a"][0].num_bytes == 90
    cluster.received("dn-a", Block(located.block.block_id, stamp, 90))
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).files_closed == 1
    assert cluster.namespace.stat(ROOT, "/f").size == 90


def test_the_hard_limit_starts_recovery_unless_the_writer_renews(
    cluster: BlockCluster, three: list[str]
) -> None:
    manager = cluster.manager
    assert manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.lease_hard_limit_ms)
    _open_file_with_data(cluster, "/renewed", {"dn-a": 10})
    cluster.namespace.create(ROOT, "/silent", holder="silent-writer", block_size=BLOCK_SIZE)
    silent = cluster.namespace.add_block(ROOT, "/silent", "silent-writer", None)
    cluster.receiving(silent.locations[0].uuid, silent.block, 5)
    cluster.advance(CONFIG.lease_hard_limit_ms + 1)
    cluster.beat(three)
    cluster.namespace.renew_lease(ROOT, "writer")
    report = manager.housekeeping_once(LEADER, cluster.now_ms)
    assert report.recoveries_started == 1
    commands = _recover_commands(cluster, three)
    recovered = {command.blocks[0].block_id for listed in commands.values() for command in listed}
    assert recovered == {silent.block.block_id}
    assert cluster.namespace.stat(ROOT, "/renewed").under_construction


def test_a_last_block_no_live_holder_has_is_dropped(cluster: BlockCluster, three: list[str]) -> None:
    manager = cluster.manager
    assert manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.lease_hard_limit_ms)
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="writer", block_size=BLOCK_SIZE)
    first = namespace.add_block(ROOT, "/f", "writer", None)
    done = Block(first.block.block_id, first.block.generation_stamp, BLOCK_SIZE)
    cluster.received("dn-a", done)
    second = namespace.add_block(ROOT, "/f", "writer", done)
    cluster.receiving("dn-a", second.block, 77)
    namespace.create(ROOT, "/no-blocks", holder="writer", block_size=BLOCK_SIZE)
    survivor = cluster.add_datanode("dn-survivor")
    cluster.advance(CONFIG.lease_hard_limit_ms + 1)
    cluster.heartbeat(survivor)  # the three holders are dead
    report = manager.housekeeping_once(LEADER, cluster.now_ms)
    assert (report.datanodes_declared_dead, report.blocks_dropped, report.files_closed) == (3, 1, 2)
    status = namespace.stat(ROOT, "/f")
    assert (status.size, status.under_construction) == (BLOCK_SIZE, False)
    assert not namespace.stat(ROOT, "/no-blocks").under_construction
    located = namespace.get_block_locations(ROOT, "/f", 0, 1 << 30)
    assert [block.block.block_id for block in located.blocks] == [first.block.block_id]


def test_a_block_no_holder_ever_wrote_is_dropped_after_the_timeout(
    cluster: BlockCluster, three: list[str]
) -> None:
    assert cluster.manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.lease_hard_limit_ms)
    located = _open_file_with_data(cluster, "/f", {})
    assert not cluster.namespace.recover_lease(ROOT, "/f", "other")
    assert all(len(listed) == 1 for listed in _recover_commands(cluster, three).values())
    cluster.advance(CONFIG.recovery_timeout_ms + 1)
    cluster.beat(three)
    assert cluster.manager.housekeeping_once(LEADER, cluster.now_ms).blocks_dropped == 1
    assert cluster.namespace.recover_lease(ROOT, "/f", "other")
    assert cluster.namespace.stat(ROOT, "/f").size == 0
    commands = cluster.beat(three)
    assert all(
        located.block.block_id in {b.block_id for c in listed for b in c.blocks}
        for listed in commands.values()
    )


def test_a_recovery_started_again_takes_replicas_that_missed_the_first_recover(
    cluster: BlockCluster, three: list[str]
) -> None:
    """No holder answered the first RECOVER (a namenode killed before heartbeats carried it): the
    second names the stamp the replicas had before any recovery as the lowest that fits, not the first
    attempt's stamp, which no replica may have taken."""
    assert cluster.manager.try_become_leader(LEADER, cluster.now_ms, 10 * CONFIG.lease_hard_limit_ms)
    located = _open_file_with_data(cluster, "/f", {"dn-a": 100, "dn-b": 100, "dn-c": 100})
    original, block_id = located.block.generation_stamp, located.block.block_id
    assert not cluster.namespace.recover_lease(ROOT, "/f", "other")
    cluster.advance(CONFIG.recovery_timeout_ms + 1)
    cluster.manager.housekeeping_once(LEADER, cluster.now_ms)  # timed out unanswered: phase one again
    for uuid, commands in _recover_commands(cluster, three).items():
        assert [(c.blocks[0].generation_stamp, c.new_generation_stamp) for c in commands] == [
            (original, original + 1),
            (original, original + 2),
        ], uuid
    for uuid in three:
        cluster.manager.report_recovered_replica(uuid, block_id, original + 2, 100, cluster.now_ms)
        cluster.received(uuid, Block(block_id, original + 2, 100))
    cluster.manager.housekeeping_once(LEADER, cluster.now_ms)
    status = cluster.namespace.stat(ROOT, "/f")
    assert (status.size, status.under_construction) == (100, False)


def test_a_full_report_between_a_truncates_commit_and_its_finalize_is_not_corruption(
    cluster: BlockCluster, three: list[str]
) -> None:
    """A truncate inside a block committed at the cut length; a holder's full report arrives before it
    ran FINALIZE_RECOVERED, naming its replica finalized at the new stamp and still the old length (as
    after a re-registration). That replica is waiting for its cut, not corrupt: once cut, it counts."""
    (written,) = cluster.write_file("/f", [1000])
    block_id = written.block.block_id
    assert not cluster.namespace.truncate(ROOT, "/f", 400, "cutter")
    stamp = written.block.generation_stamp + 1
    for uuid in three:
        cluster.manager.report_recovered_replica(uuid, block_id, stamp, 1000, cluster.now_ms)
    early = ReportedReplica(block_id, stamp, 1000, finalized=True)
    cluster.manager.full_block_report("dn-a", [early], cluster.now_ms)
    for uuid in three:
        cluster.received(uuid, Block(block_id, stamp, 400))
    assert cluster.namespace.recover_lease(ROOT, "/f", "other")
    (located,) = cluster.namespace.get_block_locations(ROOT, "/f", 0, 400).blocks
    assert (located.block.num_bytes, located.corrupt) == (400, False)
    assert sorted(location.uuid for location in located.locations) == sorted(three)
