"""Bad replicas reported by a reader (reportBadBlocks) or a datanode's block scanner.

A reported replica moves from `replicas` (or the expected locations of a block not yet complete) to
corrupt_replicas: never handed to a reader again. The block is queued for re-replication; once it has
its good copies back, housekeeping deletes the corrupt replica on its datanode. A report naming an older
generation stamp than the block's is about a replica already replaced and is ignored.

Lock set: the rows of the reported blocks, in primary-key order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from namenode import schema
from namenode.block_entities import Block
from namenode.block_rows import BlockRow, ReplicaRow, UcReplicaRow
from namenode.engine.txn import Transaction
from namenode.ops.block_state import (
    BlockKey,
    DatanodeView,
    describe,
    mark_corrupt,
    queue_block,
    replication_priority,
)

log = logging.getLogger(__name__)
RowT = TypeVar("RowT", ReplicaRow, UcReplicaRow)


def report_bad_replicas(
    transaction: Transaction, reports: Sequence[tuple[Block, Sequence[str]]], reason: str
) -> int:
    """Mark the replicas of each block on the named datanodes (uuids or storage ids) corrupt; returns
    how many replicas were marked."""
    view = DatanodeView.load(transaction)
    session = transaction.session
    lookups = session.read_lookups([block.block_id for block, _ in reports])
    keys = sorted(
        {(lookups[block.block_id], block.block_id) for block, _ in reports if block.block_id in lookups}
    )
    blocks = {row.block_id: row for row in session.read_by_blocks(BlockRow, keys, lock="write")}
    replicas = _by_block(session.read_by_blocks(ReplicaRow, keys))
    expected = _by_block(session.read_by_blocks(UcReplicaRow, keys))
    replications = {
        row.id: row.replication for row in session.read_inodes_by_ids(sorted({k[0] for k in keys}))
    }
    marked = 0
    for claimed, datanodes in reports:
        block = blocks.get(claimed.block_id)
        if block is None or claimed.generation_stamp < block.generation_stamp:
            log.info(
                "bad replica report of blk_%d_%d ignored: stale or deleted",
                claimed.block_id,
                claimed.generation_stamp,
            )
            continue
        storages = {
            found.storage_id for name in datanodes if (found := view.by_uuid(name) or view.by_storage(name))
        }
        marked += _mark(transaction, block, storages, replicas, expected, reason)
        good = [row for row in replicas.get(block.key, []) if row.storage_id not in storages]
        replicas[block.key] = good
        priority = replication_priority(len(good), replications.get(block.inode_id, 1))
        if block.state == schema.BLOCK_COMPLETE and priority is not None:
            queue_block(transaction, block.key, priority, transaction.now_ms)
    return marked


def _mark(
    transaction: Transaction,
    block: BlockRow,
    storages: set[str],
    replicas: dict[BlockKey, list[ReplicaRow]],
    expected: dict[BlockKey, list[UcReplicaRow]],
    reason: str,
) -> int:
    marked = 0
    for replica in replicas.get(block.key, []):
        if replica.storage_id in storages:
            mark_corrupt(transaction, block, replica.storage_id, reason, replica)
            marked += 1
    for location in expected.get(block.key, []):
        if location.storage_id in storages:
            mark_corrupt(transaction, block, location.storage_id, reason, None)
            transaction.stage_delete(location)
            marked += 1
    if marked:
        log.warning("%s: %d replica(s) marked corrupt (%s)", describe(block), marked, reason)
    return marked


def _by_block(rows: Sequence[RowT]) -> dict[BlockKey, list[RowT]]:
    grouped: dict[BlockKey, list[RowT]] = {}
    for row in rows:
        grouped.setdefault((row.inode_id, row.block_id), []).append(row)
    return grouped
