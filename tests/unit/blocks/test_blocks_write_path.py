"""The client's write and read path through the engine: addBlock, complete, getBlockLocations,
abandonBlock, fsync, append, pipeline recovery; HDFS semantics and refusals."""

from __future__ import annotations

import pytest
from block_cluster import ALICE, BLOCK_SIZE, ROOT, BlockCluster, invalidated_blocks

from hopsfs.errors import FileNotFound, InvalidArgument, LeaseConflict, PermissionDenied
from hopsfs.types import RetryKey
from namenode.block_entities import Block, BlockMismatch


def test_lifecycle_complete_waits_for_a_finalized_replica(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", replication=3, block_size=BLOCK_SIZE)
    first = namespace.add_block(ROOT, "/f", "w", None)
    full = Block(first.block.block_id, first.block.generation_stamp, BLOCK_SIZE)
    second = namespace.add_block(ROOT, "/f", "w", full)
    assert second.offset == BLOCK_SIZE
    assert namespace.stat(ROOT, "/f").size == BLOCK_SIZE  # an open file counts its committed blocks
    last = Block(second.block.block_id, second.block.generation_stamp, 500)
    assert not namespace.complete(ROOT, "/f", "w", last)  # nothing reported yet
    cluster.received(second.locations[0].uuid, last)
    assert not namespace.complete(ROOT, "/f", "w", last)  # the first block has no replica yet
    assert namespace.stat(ROOT, "/f").under_construction
    cluster.received(first.locations[1].uuid, full)
    assert namespace.complete(ROOT, "/f", "w", last)
    assert namespace.complete(ROOT, "/f", "w", last, file_id=namespace.stat(ROOT, "/f").inode_id)  # a retry
    status = namespace.stat(ROOT, "/f")
    assert (status.size, status.under_construction) == (BLOCK_SIZE + 500, False)
    located = namespace.get_block_locations(ROOT, "/f", 0, 1 << 40)
    assert located.file_length == BLOCK_SIZE + 500
    assert [block.offset for block in located.blocks] == [0, BLOCK_SIZE]
    assert [[node.uuid for node in block.locations] for block in located.blocks] == [
        [first.locations[1].uuid],
        [second.locations[0].uuid],
    ]
    assert located.last_block_complete and not located.under_construction


def test_block_locations_cover_the_asked_range_and_refuse_bad_input(
    cluster: BlockCluster, three: list[str]
) -> None:
    cluster.write_file("/f", [BLOCK_SIZE, BLOCK_SIZE, 10])
    namespace = cluster.namespace

    def offsets(offset: int, length: int) -> list[int]:
        return [block.offset for block in namespace.get_block_locations(ROOT, "/f", offset, length).blocks]

    assert offsets(0, 1) == [0]
    assert offsets(BLOCK_SIZE - 1, 2) == [0, BLOCK_SIZE]
    assert offsets(BLOCK_SIZE + 5, 0) == [BLOCK_SIZE]
    assert offsets(2 * BLOCK_SIZE + 10, 100) == []  # at the end of the file
    with pytest.raises(InvalidArgument, match="Negative offset"):
        namespace.get_block_locations(ROOT, "/f", -1, 10)
    with pytest.raises(InvalidArgument, match="Negative length"):
        namespace.get_block_locations(ROOT, "/f", 0, -1)
    with pytest.raises(FileNotFound):
        namespace.get_block_locations(ROOT, "/missing", 0, 1)
    namespace.mkdirs(ROOT, "/d")
    with pytest.raises(FileNotFound, match="not a file"):
        namespace.get_block_locations(ROOT, "/d", 0, 1)
    namespace.set_permission(ROOT, "/f", 0o600)
    with pytest.raises(PermissionDenied):
        namespace.get_block_locations(ALICE, "/f", 0, 1)
    located = namespace.get_block_locations(ROOT, "/f", 0, 1, client_host="host-dn-b")
    assert located.blocks[0].locations[0].uuid == "dn-b"


def test_empty_file_completes_without_blocks(cluster: BlockCluster) -> None:
    cluster.namespace.create(ROOT, "/empty", holder="w", block_size=BLOCK_SIZE)
    assert cluster.namespace.complete(ROOT, "/empty", "w", None)
    located = cluster.namespace.get_block_locations(ROOT, "/empty", 0, 10)
    assert (located.file_length, located.blocks, located.last_block) == (0, [], None)
    assert located.last_block_complete


def test_a_retried_add_block_gets_the_same_block(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    first = namespace.add_block(ROOT, "/f", "w", None)
    assert namespace.add_block(ROOT, "/f", "w", None).block == first.block
    written = Block(first.block.block_id, first.block.generation_stamp, BLOCK_SIZE)
    second = namespace.add_block(ROOT, "/f", "w", written)
    again = namespace.add_block(ROOT, "/f", "w", written)
    assert again.block == second.block
    assert again.offset == second.offset == BLOCK_SIZE
    with pytest.raises(BlockMismatch, match="does not match actual last block"):
        namespace.add_block(ROOT, "/f", "w", Block(12345, 1, 10))
    namespace.fsync(ROOT, "/f", "w", 100)
    with pytest.raises(BlockMismatch, match="already holds 100 bytes"):
        namespace.add_block(ROOT, "/f", "w", written)


def test_abandon_block_drops_the_last_block_and_invalidates_its_pipeline(
    cluster: BlockCluster, three: list[str]
) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    located = namespace.add_block(ROOT, "/f", "w", None)
    cluster.receiving(located.locations[0].uuid, located.block)
    namespace.abandon_block(ROOT, "/f", "w", located.block)
    commands = cluster.beat(three)
    for location in located.locations:
        assert invalidated_blocks(commands[location.uuid]) == {located.block.block_id}
    namespace.abandon_block(ROOT, "/f", "w", located.block)  # gone already: ignored, as in HDFS
    replacement = namespace.add_block(ROOT, "/f", "w", None)
    assert replacement.block.block_id != located.block.block_id
    assert replacement.offset == 0


def test_fsync_makes_the_written_length_visible(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    namespace.add_block(ROOT, "/f", "w", None)
    namespace.fsync(ROOT, "/f", "w", 4096)
    assert namespace.stat(ROOT, "/f").size == 4096
    located = namespace.get_block_locations(ROOT, "/f", 0, 1 << 30)
    assert located.file_length == 0 and located.last_block is not None
    assert located.last_block.block.num_bytes == 4096
    assert not located.last_block_complete and located.under_construction
    namespace.fsync(ROOT, "/f", "w", -1)  # unknown length: no change
    assert namespace.stat(ROOT, "/f").size == 4096
    with pytest.raises(BlockMismatch, match="exceed the block size"):
        namespace.fsync(ROOT, "/f", "w", BLOCK_SIZE + 1)


def test_commit_checks_the_stamp_and_corrupt_early_replicas_are_not_served(
    cluster: BlockCluster, three: list[str]
) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    located = namespace.add_block(ROOT, "/f", "w", None)
    block = located.block
    short, right = located.locations[0].uuid, located.locations[1].uuid
    cluster.received(short, Block(block.block_id, block.generation_stamp, 10))  # before the commit
    cluster.received(right, Block(block.block_id, block.generation_stamp, 20))
    with pytest.raises(BlockMismatch, match="mismatching GS"):
        namespace.complete(ROOT, "/f", "w", Block(block.block_id, block.generation_stamp + 7, 20))
    assert namespace.complete(ROOT, "/f", "w", Block(block.block_id, block.generation_stamp, 20))
    served = namespace.get_block_locations(ROOT, "/f", 0, 20).blocks[0]
    assert [location.uuid for location in served.locations] == [right]
    assert cluster.manager.cluster_stats(cluster.now_ms).corrupt_blocks == 1


def test_append_reopens_the_last_block_and_the_writer_moves_it_to_a_new_stamp(
    cluster: BlockCluster, three: list[str]
) -> None:
    """HDFS's append contract: the last block comes back under its current stamp (hdfs-native sets up
    its pipeline with it); a writer that wants a new one asks updateBlockForPipeline/updatePipeline."""
    namespace = cluster.namespace
    written = cluster.write_file("/f", [300])
    old = written[0].block
    retry = RetryKey(b"c" * 16, 7, 0)
    status, located = namespace.append(ROOT, "/f", "appender", retry=retry)
    assert status.under_construction and status.size == 300
    assert located is not None
    assert (located.block.block_id, located.block.generation_stamp) == (old.block_id, old.generation_stamp)
    assert located.offset == 0
    assert sorted(location.uuid for location in located.locations) == sorted(three)
    resent = namespace.append(ROOT, "/f", "appender", retry=RetryKey(b"c" * 16, 7, 1))
    assert resent == (status, located)  # answered from the retry cache
    with pytest.raises(LeaseConflict):
        namespace.append(ROOT, "/f", "appender")
    bumped = namespace.update_block_for_pipeline(ROOT, located.block, "appender").block
    assert bumped.generation_stamp == old.generation_stamp + 1
    namespace.update_pipeline(ROOT, "appender", located.block, bumped, ["dn-a"])
    grown = Block(old.block_id, bumped.generation_stamp, 700)
    cluster.received("dn-a", grown)
    assert namespace.complete(ROOT, "/f", "appender", grown)
    assert namespace.stat(ROOT, "/f").size == 700
    served = namespace.get_block_locations(ROOT, "/f", 0, 1).blocks[0]
    assert served.block == grown
    assert [location.uuid for location in served.locations] == ["dn-a"]


def test_append_after_a_full_block_asks_for_a_new_block(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    written = cluster.write_file("/f", [BLOCK_SIZE])
    _, located = namespace.append(ROOT, "/f", "appender")
    assert located is None
    new = namespace.add_block(ROOT, "/f", "appender", None)
    assert new.offset == BLOCK_SIZE
    assert new.block.block_id != written[0].block.block_id
    namespace.set_permission(ROOT, "/f", 0o644)
    cluster.write_file("/g", [10])
    with pytest.raises(PermissionDenied):
        namespace.append(ALICE, "/g", "alice-client")


def test_pipeline_recovery_records_the_new_stamp_and_pipeline(
    cluster: BlockCluster, three: list[str]
) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    located = namespace.add_block(ROOT, "/f", "w", None)
    old = located.block
    bumped = namespace.update_block_for_pipeline(ROOT, old, "w")
    assert bumped.block.generation_stamp == old.generation_stamp + 1
    assert namespace.get_block_locations(ROOT, "/f", 0, 1).last_block.block == old  # type: ignore[union-attr]
    kept = [location.uuid for location in located.locations[:2]]
    dropped = located.locations[2].uuid
    new = Block(old.block_id, bumped.block.generation_stamp, 50)
    with pytest.raises(InvalidArgument, match="unknown datanode"):
        namespace.update_pipeline(ROOT, "w", old, new, ["nobody"])
    namespace.update_pipeline(ROOT, "w", old, new, kept)
    namespace.update_pipeline(ROOT, "w", old, new, kept)  # a re-sent call changes nothing
    with pytest.raises(BlockMismatch, match="newer generation stamp"):
        namespace.update_pipeline(ROOT, "w", new, new, list(reversed(kept)))
    last = namespace.get_block_locations(ROOT, "/f", 0, 1).last_block
    assert last is not None and last.block == new
    assert sorted(location.uuid for location in last.locations) == sorted(kept)
    assert invalidated_blocks(cluster.heartbeat(dropped).commands) == {old.block_id}
    cluster.received(dropped, Block(old.block_id, old.generation_stamp, 50))  # the stale replica
    assert invalidated_blocks(cluster.heartbeat(dropped).commands) == {old.block_id}
    with pytest.raises(BlockMismatch, match="mismatching GS"):
        namespace.complete(ROOT, "/f", "w", Block(old.block_id, old.generation_stamp, 60))
    final = Block(old.block_id, new.generation_stamp, 60)
    cluster.received(kept[0], final)
    assert namespace.complete(ROOT, "/f", "w", final)
    assert namespace.stat(ROOT, "/f").size == 60


def test_a_replica_finalized_before_the_pipeline_update_still_counts(
    cluster: BlockCluster, three: list[str]
) -> None:
    namespace = cluster.namespace
    namespace.create(ROOT, "/f", holder="w", block_size=BLOCK_SIZE)
    located = namespace.add_block(ROOT, "/f", "w", None)
    bumped = namespace.update_block_for_pipeline(ROOT, located.block, "w").block
    survivor = located.locations[0].uuid
    final = Block(bumped.block_id, bumped.generation_stamp, 80)
    cluster.received(survivor, final)  # the datanode was quicker than the client's updatePipeline
    namespace.update_pipeline(
        ROOT, "w", located.block, Block(final.block_id, final.generation_stamp, 0), [survivor]
    )
    assert namespace.complete(ROOT, "/f", "w", final)
    assert namespace.stat(ROOT, "/f").size == 80


def test_a_file_closed_with_replicas_reported_before_the_commit_is_not_counted_missing(
    cluster: BlockCluster, three: list[str]
) -> None:
    """Completing the last block stages its replica rows in the same transaction that closes the file;
    the close must count them (it once read only stored rows and queued every such block as missing)."""
    cluster.write_file("/f", [100, 200])
    stats = cluster.manager.cluster_stats(cluster.now_ms)
    assert (stats.missing_blocks, stats.under_replicated) == (0, 0)
