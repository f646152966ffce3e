"""Datanode registration, heartbeats and the commands they carry, deletes that queue INVALIDATEs."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
from block_cluster import BLOCK_SIZE, CONFIG, ROOT, TIB, BlockCluster, invalidated_blocks, open_cluster
from support.fsck import assert_consistent

from hopsfs.errors import InvalidArgument
from namenode.block_entities import (
    CommandKind,
    DatanodeRegistration,
    DatanodeReportKind,
    StorageReport,
    UnknownDatanode,
)
from namenode.engine.txn import run_transaction
from namenode.ops import subtree


def test_registration_updates_a_known_datanode_and_refuses_bad_input(cluster: BlockCluster) -> None:
    manager = cluster.manager
    storage = StorageReport(TIB, 0, TIB)
    result = manager.register_datanode(DatanodeRegistration("dn", "s1", "h1", 1000), storage, cluster.now_ms)
    assert result.block_pool_id == cluster.namespace.block_pool_id
    assert result.heartbeat_interval_ms == CONFIG.heartbeat_interval_ms
    manager.register_datanode(DatanodeRegistration("dn", "s1", "h2", 2000, 2001), storage, cluster.now_ms)
    (info,) = cluster.namespace.datanode_report(DatanodeReportKind.ALL)
    assert (info.host_name, info.transfer_port, info.info_port) == ("h2", 2000, 2001)
    with pytest.raises(InvalidArgument, match="registered to datanode dn"):
        manager.register_datanode(DatanodeRegistration("other", "s1", "h3", 1), storage, cluster.now_ms)
    bad = [
        (DatanodeRegistration("", "s", "h", 1), storage),
        (DatanodeRegistration("a,b", "s", "h", 1), storage),
        (DatanodeRegistration("x", "s", "", 1), storage),
        (DatanodeRegistration("x", "s", "h", 0), storage),
        (DatanodeRegistration("x", "s", "h", 70000), storage),
        (DatanodeRegistration("x", "s", "h", 1), StorageReport(-1, 0, 0)),
    ]
    for registration, report in bad:
        with pytest.raises(InvalidArgument):
            manager.register_datanode(registration, report, cluster.now_ms)
    assert len(cluster.namespace.datanode_report(DatanodeReportKind.ALL)) == 1


def test_unknown_datanodes_are_told_to_register(cluster: BlockCluster) -> None:
    assert cluster.heartbeat("stranger").reregister
    with pytest.raises(UnknownDatanode):
        cluster.manager.full_block_report("stranger", [], cluster.now_ms)


def test_delete_queues_an_invalidate_for_every_holder_once(cluster: BlockCluster, three: list[str]) -> None:
    written = cluster.write_file("/d/f", [BLOCK_SIZE, 5])
    namespace = cluster.namespace
    namespace.create(ROOT, "/d/open", holder="w", block_size=BLOCK_SIZE)
    pipeline = namespace.add_block(ROOT, "/d/open", "w", None)  # expected locations only
    assert namespace.delete(ROOT, "/d", recursive=True)
    wanted = {located.block.block_id for located in written}
    first = cluster.beat(three)
    for uuid in three:
        expected = wanted | (
            {pipeline.block.block_id} if uuid in {n.uuid for n in pipeline.locations} else set()
        )
        assert invalidated_blocks(first[uuid]) == expected
    assert cluster.beat(three) == {uuid: [] for uuid in three}


def test_overwrite_and_rename_over_a_file_invalidate_its_blocks(
    cluster: BlockCluster, three: list[str]
) -> None:
    old = cluster.write_file("/f", [7])[0].block
    cluster.namespace.create(ROOT, "/f", overwrite=True, block_size=BLOCK_SIZE)
    assert all(invalidated_blocks(commands) == {old.block_id} for commands in cluster.beat(three).values())
    target = cluster.write_file("/target", [8])[0].block
    cluster.write_file("/source", [9])
    cluster.namespace.rename(ROOT, "/source", "/target", overwrite=True)
    assert all(invalidated_blocks(commands) == {target.block_id} for commands in cluster.beat(three).values())
    assert cluster.namespace.get_block_locations(ROOT, "/target", 0, 9).file_length == 9


def test_subtree_protocol_batches_invalidate_blocks(cluster: BlockCluster, three: list[str]) -> None:
    blocks = {cluster.write_file(f"/big/f{index}", [index + 1])[0].block.block_id for index in range(5)}
    context = cluster.namespace.context
    handle = run_transaction(context, ROOT, lambda tx: subtree.begin_delete(tx, "/big"), write=True)
    assert handle is not None
    while not run_transaction(context, ROOT, lambda tx: subtree.delete_batch(tx, handle, 2), write=True):
        pass
    run_transaction(context, ROOT, lambda tx: subtree.finish_delete(tx, handle), write=True)
    assert all(invalidated_blocks(commands) == blocks for commands in cluster.beat(three).values())


def test_a_heartbeat_hands_out_a_bounded_batch(db_url: str) -> None:
    cluster = open_cluster(db_url, dataclasses.replace(CONFIG, commands_per_heartbeat_max=4))
    try:
        cluster.add_datanode("dn")
        blocks = {
            cluster.write_file(f"/f{index}", [1], replication=1)[0].block.block_id for index in range(6)
        }
        for index in range(6):
            cluster.namespace.delete(ROOT, f"/f{index}")
        first = cluster.heartbeat("dn").commands
        second = cluster.heartbeat("dn").commands
        assert [command.kind for command in first] == [CommandKind.INVALIDATE]
        assert len(first[0].blocks) == 4
        assert invalidated_blocks(first) | invalidated_blocks(second) == blocks
        assert cluster.heartbeat("dn").commands == []
    finally:
        cluster.namespace.close()
    assert_consistent(db_url)


@pytest.fixture(name="shared_cluster")
def shared_cluster_fixture(db_url: str) -> Iterator[BlockCluster]:
    cluster = open_cluster(db_url)
    yield cluster
    cluster.namespace.close()


def test_concurrent_heartbeats_hand_each_command_out_once(shared_cluster: BlockCluster) -> None:
    cluster = shared_cluster
    cluster.add_datanode("dn")
    blocks = {cluster.write_file(f"/f{index}", [1], replication=1)[0].block.block_id for index in range(5)}
    for index in range(5):
        cluster.namespace.delete(ROOT, f"/f{index}")
    handed: list[int] = []
    lock = threading.Lock()

    def beat() -> None:
        for _ in range(3):
            commands = cluster.heartbeat("dn").commands
            with lock:
                handed.extend(block.block_id for command in commands for block in command.blocks)

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(handed) == sorted(blocks)


def test_a_dead_datanode_coming_back_is_asked_for_a_full_report(
    cluster: BlockCluster, three: list[str]
) -> None:
    manager = cluster.manager
    assert manager.try_become_leader("nn", cluster.now_ms, 60_000)
    cluster.advance(CONFIG.dead_after_ms + 1)
    cluster.beat(three[:2])
    report = manager.housekeeping_once("nn", cluster.now_ms)
    assert report.datanodes_declared_dead == 1
    stats = manager.cluster_stats(cluster.now_ms)
    assert (stats.live_datanodes, stats.dead_datanodes, stats.capacity) == (2, 1, 2 * TIB)
    dead = [info.uuid for info in cluster.namespace.datanode_report(DatanodeReportKind.DEAD)]
    assert dead == [three[2]]
    back = cluster.heartbeat(three[2])
    assert back.full_report_requested and not back.reregister
    assert not cluster.heartbeat(three[2]).full_report_requested
    assert len(cluster.namespace.datanode_report(DatanodeReportKind.LIVE)) == 3


def test_re_registering_with_a_new_storage_forgets_the_old_replicas(
    cluster: BlockCluster, three: list[str]
) -> None:
    cluster.write_file("/f", [10])
    registration = DatanodeRegistration("dn-a", "storage-new", "host-dn-a", 9866)
    cluster.manager.register_datanode(registration, StorageReport(TIB, 0, TIB), cluster.now_ms)
    located = cluster.namespace.get_block_locations(ROOT, "/f", 0, 1).blocks[0]
    assert sorted(location.uuid for location in located.locations) == ["dn-b", "dn-c"]
    assert cluster.manager.cluster_stats(cluster.now_ms).under_replicated == 1
