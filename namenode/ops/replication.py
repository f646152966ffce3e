"""Re-replication and replica clean-up: leader-only housekeeping steps, each one bounded transaction.

- `process_queue_batch`: for each due queued block, most urgent first: too few live good replicas ->
  TRANSFER from the least busy good holder to new targets (pending_replications rows track the copies);
  too many -> INVALIDATE the extra ones on the fullest holders; enough -> leave the queue. A block with
  no good replica stays queued as missing; one whose copies are in flight waits for their timeout.
- `expire_pending_batch`: copies not reported within the pending timeout are forgotten and their
  blocks queued again.
- `invalidate_corrupt_batch`: corrupt replicas of blocks that have their good copies back are deleted
  on their datanodes.

Lock set per batch: the rows of the blocks it looks at, in primary-key order.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from namenode import schema
from namenode.block_entities import CommandKind
from namenode.block_rows import (
    BlockRow,
    CorruptReplicaRow,
    DatanodeRow,
    PendingReplicationRow,
    QueuedBlockRow,
    ReplicaRow,
)
from namenode.engine.txn import Transaction
from namenode.ops import placement
from namenode.ops.block_state import (
    BlockKey,
    DatanodeView,
    invalidate_on,
    queue_block,
    queue_command,
    replication_priority,
)

_RANDOM = random.Random()


@dataclass(slots=True)
class QueueRound:
    looked_at: int = 0
    scheduled: int = 0
    missing: int = 0
    excess_invalidated: int = 0
    out_of_budget: bool = False


class _Blocks:
    """Queued blocks with their replicas, copies in flight, corrupt replicas and wanted replication."""

    def __init__(self, transaction: Transaction, keys: list[BlockKey]) -> None:
        session = transaction.session
        self.rows = {row.key: row for row in session.read_by_blocks(BlockRow, keys, lock="write")}
        self.replicas: dict[BlockKey, list[ReplicaRow]] = defaultdict(list)
        self.pending: dict[BlockKey, list[PendingReplicationRow]] = defaultdict(list)
        self.corrupt: dict[BlockKey, list[CorruptReplicaRow]] = defaultdict(list)
        for replica in session.read_by_blocks(ReplicaRow, keys):
            self.replicas[(replica.inode_id, replica.block_id)].append(replica)
        for copy in session.read_by_blocks(PendingReplicationRow, keys):
            self.pending[(copy.inode_id, copy.block_id)].append(copy)
        for bad in session.read_by_blocks(CorruptReplicaRow, keys):
            self.corrupt[(bad.inode_id, bad.block_id)].append(bad)
        inode_ids = sorted({inode_id for inode_id, _ in keys})
        self.replication = {row.id: row.replication for row in session.read_inodes_by_ids(inode_ids)}
        self.view = DatanodeView.load(transaction)

    def good_holders(self, key: BlockKey) -> list[DatanodeRow]:
        found = [self.view.live_by_storage(replica.storage_id) for replica in self.replicas[key]]
        return [row for row in found if row is not None]


def process_queue_batch(transaction: Transaction, budget: int) -> QueueRound:
    """One batch of due queued blocks; schedules at most `budget` copies."""
    config = transaction.context.block_config
    queued = transaction.session.read_due_queue(transaction.now_ms, config.housekeeping_batch_rows)
    result = QueueRound(looked_at=len(queued))
    if not queued:
        return result
    blocks = _Blocks(transaction, sorted((row.inode_id, row.block_id) for row in queued))
    for entry in queued:
        key = (entry.inode_id, entry.block_id)
        block = blocks.rows.get(key)
        if block is None or block.state != schema.BLOCK_COMPLETE:
            transaction.stage_delete(entry)  # gone, or being written: counted again when it completes
            continue
        if not _handle_queued(transaction, blocks, block, entry, result, budget - result.scheduled):
            result.out_of_budget = True
    return result


def _handle_queued(
    transaction: Transaction,
    blocks: _Blocks,
    block: BlockRow,
    entry: QueuedBlockRow,
    result: QueueRound,
    budget: int,
) -> bool:
    """False when the block needs a copy and the round's budget is spent (it stays due)."""
    config = transaction.context.block_config
    now_ms = transaction.now_ms
    good = blocks.good_holders(block.key)
    wanted = blocks.replication.get(block.inode_id, 1)
    alive_since_ms = now_ms - config.pending_replication_timeout_ms
    in_flight = [
        copy
        for copy in blocks.pending[block.key]
        if copy.scheduled_ms > alive_since_ms and blocks.view.live_by_storage(copy.storage_id) is not None
    ]
    if len(good) > wanted:
        result.excess_invalidated += _invalidate_excess(transaction, blocks, block, good, len(good) - wanted)
        transaction.stage_delete(entry)
    elif len(good) >= wanted:
        transaction.stage_delete(entry)
    elif not good:
        _postpone(transaction, entry, schema.QUEUE_MISSING, now_ms + config.pending_replication_timeout_ms)
        result.missing += 1
    elif len(good) + len(in_flight) >= wanted:
        earliest_ms = min(copy.scheduled_ms for copy in in_flight)
        _postpone(transaction, entry, entry.priority, earliest_ms + config.pending_replication_timeout_ms)
    elif budget <= 0:
        return False
    else:
        count = wanted - len(good) - len(in_flight)
        priority = replication_priority(len(good), wanted)
        assert priority is not None
        if _schedule_copy(transaction, blocks, block, good, count):
            result.scheduled += 1
            _postpone(transaction, entry, priority, now_ms + config.pending_replication_timeout_ms)
        else:  # no datanode can take a copy now: look again after a few heartbeats
            _postpone(transaction, entry, priority, now_ms + 10 * config.heartbeat_interval_ms)
    return True


def _schedule_copy(
    transaction: Transaction, blocks: _Blocks, block: BlockRow, good: list[DatanodeRow], count: int
) -> bool:
    view = blocks.view
    holding = {replica.storage_id for replica in blocks.replicas[block.key]}
    holding |= {copy.storage_id for copy in blocks.pending[block.key]}
    holding |= {bad.storage_id for bad in blocks.corrupt[block.key]}
    excluded = {row.datanode_uuid for storage in holding if (row := view.by_storage(storage)) is not None}
    eligible = placement.candidates(
        view.rows, is_live=view.is_live, excluded_uuids=excluded, bytes_needed=block.num_bytes
    )
    targets = placement.choose_targets(eligible, count, _RANDOM)
    if not targets:
        return False
    source = min(good, key=lambda row: (row.active_transfers, _RANDOM.random()))
    queue_command(
        transaction,
        source.datanode_uuid,
        CommandKind.TRANSFER,
        block.block_id,
        block.generation_stamp,
        num_bytes=block.num_bytes,
        target_uuids=[target.datanode_uuid for target in targets],
    )
    for target in targets:
        copy = PendingReplicationRow(block.inode_id, block.block_id, target.storage_id, transaction.now_ms)
        transaction.stage_upsert(copy)
    return True


def _invalidate_excess(
    transaction: Transaction, blocks: _Blocks, block: BlockRow, good: list[DatanodeRow], extra: int
) -> int:
    """Delete `extra` replicas, from the holders with the least room left."""
    victims = sorted(good, key=lambda row: (row.remaining_bytes, row.datanode_uuid))[:extra]
    replicas = {replica.storage_id: replica for replica in blocks.replicas[block.key]}
    for victim in victims:
        invalidate_on(transaction, victim.datanode_uuid, block.block_id, block.generation_stamp)
        transaction.stage_delete(replicas[victim.storage_id])
    return len(victims)


def _postpone(transaction: Transaction, entry: QueuedBlockRow, priority: int, due_ms: int) -> None:
    entry.priority = priority
    entry.queued_ms = due_ms
    transaction.stage_update(entry)


def expire_pending_batch(transaction: Transaction) -> int:
    """Forget copies their targets did not report in time; their blocks are counted again."""
    config = transaction.context.block_config
    before_ms = transaction.now_ms - config.pending_replication_timeout_ms
    expired = transaction.session.read_timed_out_pending(before_ms, config.housekeeping_batch_rows)
    for copy in expired:
        transaction.stage_delete(copy)
        queue_block(transaction, (copy.inode_id, copy.block_id), schema.QUEUE_UNDER, transaction.now_ms)
    return len(expired)


def invalidate_corrupt_batch(transaction: Transaction, after: BlockKey) -> tuple[BlockKey | None, int]:
    """One page of corrupt replicas after `after`: those of blocks back at their replication are
    deleted on their datanodes. Returns (where the next page starts, or None when done; invalidated)."""
    config = transaction.context.block_config
    page = transaction.session.read_corrupt_page(after, config.housekeeping_batch_rows)
    if not page:
        return None, 0
    keys = sorted({(bad.inode_id, bad.block_id) for bad in page})
    blocks = _Blocks(transaction, keys)
    invalidated = 0
    for key in keys:
        block = blocks.rows.get(key)
        if block is None:
            for bad in blocks.corrupt[key]:
                transaction.stage_delete(bad)  # its file is gone
            continue
        wanted = blocks.replication.get(block.inode_id, 1)
        if block.state != schema.BLOCK_COMPLETE or len(blocks.good_holders(key)) < wanted:
            continue
        for bad in blocks.corrupt[key]:
            holder = blocks.view.by_storage(bad.storage_id)
            if holder is not None:
                invalidate_on(transaction, holder.datanode_uuid, block.block_id, block.generation_stamp)
            transaction.stage_delete(bad)
            invalidated += 1
    return (page[-1].inode_id, page[-1].block_id), invalidated
