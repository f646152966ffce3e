"""Where new blocks go: distinct live datanodes with room, never excluded ones, the writer's host first,
replication clamped to what is live, and a clear error when nothing can take the block."""

from __future__ import annotations

import logging
import random

import pytest
from block_cluster import BLOCK_SIZE, ROOT, BlockCluster

from hopsfs.errors import LeaseExpired
from namenode import schema
from namenode.block_entities import Block, NotEnoughDatanodes
from namenode.block_rows import DatanodeRow
from namenode.ops import placement


def _row(name: str, host: str, *, transfers: int = 0, remaining: int = 1 << 40) -> DatanodeRow:
    return DatanodeRow(name, f"s-{name}", host, 1, 0, 1 << 40, 0, remaining, transfers, 0, 0, 0, 1, "")


def test_choose_targets_prefers_the_client_host_then_favored_then_less_busy() -> None:
    rows = [_row("a", "h1"), _row("b", "h2", transfers=5), _row("c", "h3"), _row("d", "h4", transfers=9)]
    for seed in range(50):
        chosen = placement.choose_targets(
            rows, 3, random.Random(seed), client_host="h3", favored_hosts=["h4"]
        )
        names = [row.datanode_uuid for row in chosen]
        assert names[:2] == ["c", "d"]
        assert len(set(names)) == 3
    # Without preferences, two random candidates are compared: the busiest node is never the first pick
    # when a less busy one exists.
    firsts = {placement.choose_targets(rows, 1, random.Random(seed))[0].datanode_uuid for seed in range(200)}
    assert "d" not in firsts
    assert {"a", "c"} <= firsts


def test_candidates_are_live_not_excluded_and_have_room() -> None:
    rows = [_row("a", "h"), _row("b", "h", remaining=10), _row("c", "h"), _row("dead", "h")]
    found = placement.candidates(
        rows, is_live=lambda row: row.datanode_uuid != "dead", excluded_uuids={"c"}, bytes_needed=100
    )
    assert [row.datanode_uuid for row in found] == ["a"]


def test_add_block_targets_distinct_live_datanodes(cluster: BlockCluster, three: list[str]) -> None:
    cluster.add_datanode("dn-d")
    cluster.advance(cluster.namespace.context.block_config.dead_after_ms + 1)
    cluster.beat(["dn-a", "dn-b", "dn-c"])  # dn-d fell silent: not live any more
    cluster.namespace.create(ROOT, "/f", holder="w", replication=3, block_size=BLOCK_SIZE)
    located = cluster.namespace.add_block(ROOT, "/f", "w", None)
    assert sorted(location.uuid for location in located.locations) == sorted(three)
    assert located.offset == 0
    assert located.block.num_bytes == 0


def test_add_block_puts_the_writers_host_first_and_skips_excluded(cluster: BlockCluster) -> None:
    for name in ("dn-a", "dn-b", "dn-c", "dn-d"):
        cluster.add_datanode(name, host=f"host-{name}")
    cluster.namespace.create(ROOT, "/f", holder="w", replication=2, block_size=BLOCK_SIZE)
    located = cluster.namespace.add_block(ROOT, "/f", "w", None, {"dn-c"}, client_host="host-dn-b")
    uuids = [location.uuid for location in located.locations]
    assert uuids[0] == "dn-b"
    assert "dn-c" not in uuids
    assert len(set(uuids)) == 2


def test_replication_is_clamped_to_the_live_datanodes_with_a_warning(
    cluster: BlockCluster, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.add_datanode("only")
    cluster.add_datanode("full", remaining=BLOCK_SIZE - 1)
    cluster.namespace.create(ROOT, "/f", holder="w", replication=3, block_size=BLOCK_SIZE)
    with caplog.at_level(logging.WARNING, logger="namenode.ops.blocks"):
        located = cluster.namespace.add_block(ROOT, "/f", "w", None)
    assert [location.uuid for location in located.locations] == ["only"]
    assert "clamped" in caplog.text


def test_no_live_datanode_is_a_clear_error_and_changes_nothing(cluster: BlockCluster) -> None:
    cluster.namespace.create(ROOT, "/f", holder="w", replication=1, block_size=BLOCK_SIZE)
    with pytest.raises(NotEnoughDatanodes, match="could only be written to 0 of the 1 minReplication nodes"):
        cluster.namespace.add_block(ROOT, "/f", "w", None)
    cluster.add_datanode("dn-a")
    with pytest.raises(NotEnoughDatanodes, match="1 node\\(s\\) are excluded"):
        cluster.namespace.add_block(ROOT, "/f", "w", None, {"dn-a"})
    located = cluster.namespace.add_block(ROOT, "/f", "w", None)
    assert located.offset == 0  # the failed calls left no block behind
    assert cluster.namespace.get_block_locations(ROOT, "/f", 0, 10).last_block is not None


def test_add_block_needs_the_writers_lease(cluster: BlockCluster, three: list[str]) -> None:
    cluster.namespace.create(ROOT, "/f", holder="w", replication=1, block_size=BLOCK_SIZE)
    with pytest.raises(LeaseExpired):
        cluster.namespace.add_block(ROOT, "/f", "someone-else", None)
    cluster.namespace.create(ROOT, "/closed", replication=1, block_size=BLOCK_SIZE)
    with pytest.raises(LeaseExpired, match="not open for writing"):
        cluster.namespace.add_block(ROOT, "/closed", "w", None)
    assert schema.BLOCK_UNDER_CONSTRUCTION == 1
    with pytest.raises(LeaseExpired):
        cluster.namespace.complete(ROOT, "/f", "someone-else", Block(1, 1, 0))
