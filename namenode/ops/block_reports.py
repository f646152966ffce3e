"""Block reports: what a datanode says it holds, reconciled with what the namenode expects.

Per reported replica, by the state of its block (block_state.py says where locations live):
- unknown block (its file was deleted): INVALIDATE it on the datanode;
- COMPLETE: a finalized replica with the block's stamp and length is a good replica; any other stamp,
  or another length, is corrupt; a replica being written with the block's stamp is left alone;
- COMMITTED: a finalized replica that matches completes the block; one that does not is corrupt;
- UNDER_CONSTRUCTION: a replica at the block's stamp or newer is an expected location (with what it
  reported); an older stamp is a replica a pipeline left behind: INVALIDATE it;
- UNDER_RECOVERY: left alone (lease recovery asks the holders itself);
- a replica already recorded corrupt stays corrupt.
A full report is applied in batches, one short transaction each; then the replicas the namenode had
for the storage that the report lacks are forgotten (their blocks counted again).

Lock set per batch: the reported blocks' rows, in primary-key order.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from namenode import schema
from namenode.block_entities import ReportedReplica, UnknownDatanode
from namenode.block_rows import (
    BlockRow,
    CorruptReplicaRow,
    DatanodeRow,
    PendingReplicationRow,
    ReplicaRow,
    UcReplicaRow,
)
from namenode.engine.txn import Transaction
from namenode.ops.block_state import (
    DatanodeView,
    complete_block,
    dequeue_block,
    invalidate_on,
    mark_corrupt,
    new_expected_location,
    new_replica,
    queue_block,
    replication_priority,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReportCounts:
    added: int = 0
    invalidated: int = 0
    corrupt: int = 0
    removed: int = 0


class _Batch:
    """The rows of the blocks some reported replicas name, loaded and locked once."""

    def __init__(self, transaction: Transaction, block_ids: Sequence[int]) -> None:
        session = transaction.session
        self.transaction = transaction
        lookups = session.read_lookups(block_ids)
        keys = sorted({(inode_id, block_id) for block_id, inode_id in lookups.items()})
        self.blocks = {row.block_id: row for row in session.read_by_blocks(BlockRow, keys, lock="write")}
        self.replicas: dict[int, list[ReplicaRow]] = defaultdict(list)
        self.expected: dict[int, list[UcReplicaRow]] = defaultdict(list)
        self.corrupt: dict[int, set[str]] = defaultdict(set)
        for replica in session.read_by_blocks(ReplicaRow, keys):
            self.replicas[replica.block_id].append(replica)
        for location in session.read_by_blocks(UcReplicaRow, keys):
            self.expected[location.block_id].append(location)
        for bad in session.read_by_blocks(CorruptReplicaRow, keys):
            self.corrupt[bad.block_id].add(bad.storage_id)
        inode_ids = sorted({inode_id for inode_id, _ in keys})
        self.replication = {row.id: row.replication for row in session.read_inodes_by_ids(inode_ids)}
        self.view = DatanodeView.load(transaction)

    def good_count(self, block: BlockRow) -> int:
        return sum(1 for row in self.replicas[block.block_id] if self.view.live_by_storage(row.storage_id))

    def wanted(self, block: BlockRow) -> int:
        return self.replication.get(block.inode_id, 1)


def reporting_datanode(transaction: Transaction, datanode_uuid: str) -> DatanodeRow:
    view = DatanodeView.load(transaction)
    row = view.by_uuid(datanode_uuid)
    if row is None:
        raise UnknownDatanode(f"datanode {datanode_uuid} is not registered: register again")
    return row


def apply_reported(
    transaction: Transaction, datanode: DatanodeRow, reported: Sequence[ReportedReplica]
) -> ReportCounts:
    """Reconcile one batch of replicas (finalized or being written) reported by `datanode`."""
    batch = _Batch(transaction, [replica.block_id for replica in reported])
    counts = ReportCounts()
    for replica in reported:
        block = batch.blocks.get(replica.block_id)
        if block is None:
            invalidate_on(transaction, datanode.datanode_uuid, replica.block_id, replica.generation_stamp)
            counts.invalidated += 1
        elif datanode.storage_id in batch.corrupt[block.block_id]:
            continue
        elif block.state == schema.BLOCK_COMPLETE:
            _on_complete(batch, datanode, block, replica, counts)
        elif block.state == schema.BLOCK_COMMITTED:
            _on_committed(batch, datanode, block, replica, counts)
        elif block.state == schema.BLOCK_UNDER_CONSTRUCTION:
            _on_under_construction(batch, datanode, block, replica, counts)
    return counts


def apply_deleted(transaction: Transaction, datanode: DatanodeRow, block_ids: Sequence[int]) -> int:
    """The datanode deleted these replicas: forget them, and count their blocks again."""
    batch = _Batch(transaction, block_ids)
    removed = 0
    for block_id in block_ids:
        block = batch.blocks.get(block_id)
        if block is None:
            continue
        if datanode.storage_id in batch.corrupt[block_id]:
            transaction.stage_delete(CorruptReplicaRow(block.inode_id, block_id, datanode.storage_id, "", 0))
        mine = [row for row in batch.replicas[block_id] if row.storage_id == datanode.storage_id]
        if mine:
            _forget_replica(batch, block, mine[0])
            removed += 1
    return removed


def forget_missing(
    transaction: Transaction, datanode: DatanodeRow, reported_ids: set[int], after_block_id: int, limit: int
) -> tuple[int, int]:
    """One page of the storage's recorded replicas after `after_block_id`: those the full report did
    not name are forgotten. Returns (last block id looked at, or -1 when done; replicas removed)."""
    page = transaction.session.read_replicas_of_storage(datanode.storage_id, after_block_id, limit)
    if not page:
        return -1, 0
    missing = [row.block_id for row in page if row.block_id not in reported_ids]
    removed = 0
    if missing:
        batch = _Batch(transaction, missing)
        for block_id in missing:
            block = batch.blocks.get(block_id)
            mine = [row for row in batch.replicas[block_id] if row.storage_id == datanode.storage_id]
            if block is not None and mine:
                _forget_replica(batch, block, mine[0])
                removed += 1
    return page[-1].block_id, removed


def _on_complete(
    batch: _Batch, datanode: DatanodeRow, block: BlockRow, replica: ReportedReplica, counts: ReportCounts
) -> None:
    mine = next(
        (row for row in batch.replicas[block.block_id] if row.storage_id == datanode.storage_id), None
    )
    if _stale_rbw(batch, datanode, block, replica, counts):
        return
    stamp_ok = replica.generation_stamp == block.generation_stamp
    if not stamp_ok or (replica.finalized and replica.num_bytes != block.num_bytes):
        reason = "generation stamp mismatch" if not stamp_ok else "wrong length"
        _corrupt(batch, block, datanode.storage_id, reason, mine)
        counts.corrupt += 1
        return
    if not replica.finalized or mine is not None:
        return  # being finalized (its `received` follows), or already known
    _add_replica(batch, block, datanode.storage_id)
    counts.added += 1


def _on_committed(
    batch: _Batch, datanode: DatanodeRow, block: BlockRow, replica: ReportedReplica, counts: ReportCounts
) -> None:
    if _stale_rbw(batch, datanode, block, replica, counts):
        return
    transaction = batch.transaction
    expected = batch.expected[block.block_id]
    mine = next((row for row in expected if row.storage_id == datanode.storage_id), None)
    matches = (replica.generation_stamp, replica.num_bytes) == (block.generation_stamp, block.num_bytes)
    if replica.finalized and matches:
        complete_block(transaction, block, expected, [datanode.storage_id])
        batch.expected[block.block_id] = []
        batch.replicas[block.block_id].append(new_replica(block, datanode.storage_id))
        _after_replica_added(batch, block, datanode.storage_id)
        counts.added += 1
    elif _awaiting_its_cut(block, replica, mine):
        return  # its FINALIZE_RECOVERED is on the way; that `received` counts it
    elif replica.finalized or replica.generation_stamp < block.generation_stamp:
        mark_corrupt(transaction, block, datanode.storage_id, "stale or wrong length", None)
        if mine is not None:
            transaction.stage_delete(mine)
            expected.remove(mine)
        counts.corrupt += 1
    else:
        _record_expected(batch, block, datanode, replica, mine)


def _awaiting_its_cut(block: BlockRow, replica: ReportedReplica, mine: UcReplicaRow | None) -> bool:
    """A replica a recovery committed shorter than it is (a truncate inside a block), reported before
    its datanode ran FINALIZE_RECOVERED: it answered RECOVER at the block's stamp with at least the
    committed length. HDFS reports such a replica as under recovery; ours stays finalized until cut."""
    return (
        mine is not None
        and mine.reported_state == schema.REPORTED_RECOVERED
        and mine.generation_stamp == block.generation_stamp == replica.generation_stamp
        and replica.num_bytes >= block.num_bytes
    )


def _stale_rbw(
    batch: _Batch, datanode: DatanodeRow, block: BlockRow, replica: ReportedReplica, counts: ReportCounts
) -> bool:
    """A replica being written under an older stamp than the block's: a report that was overtaken (the
    datanode moved the replica to the new stamp in a pipeline recovery; reports and commits race for
    the database), or a leftover of an abandoned pipeline. Not corruption: the datanode deletes the
    replica only if it still has that old stamp (HDFS's invalidate checks the stamp too)."""
    if replica.finalized or replica.generation_stamp >= block.generation_stamp:
        return False
    invalidate_on(batch.transaction, datanode.datanode_uuid, block.block_id, replica.generation_stamp)
    counts.invalidated += 1
    return True


def _on_under_construction(
    batch: _Batch, datanode: DatanodeRow, block: BlockRow, replica: ReportedReplica, counts: ReportCounts
) -> None:
    expected = batch.expected[block.block_id]
    mine = next((row for row in expected if row.storage_id == datanode.storage_id), None)
    if replica.generation_stamp < block.generation_stamp:
        invalidate_on(batch.transaction, datanode.datanode_uuid, block.block_id, replica.generation_stamp)
        if mine is not None:
            batch.transaction.stage_delete(mine)
            expected.remove(mine)
        counts.invalidated += 1
        return
    _record_expected(batch, block, datanode, replica, mine)


def _record_expected(
    batch: _Batch, block: BlockRow, datanode: DatanodeRow, replica: ReportedReplica, mine: UcReplicaRow | None
) -> None:
    """Keep what the datanode said about its replica of a block not yet complete."""
    if mine is None:
        mine = new_expected_location(block, datanode.storage_id, len(batch.expected[block.block_id]))
        batch.expected[block.block_id].append(mine)
        batch.transaction.stage_upsert(mine)
    else:
        batch.transaction.stage_update(mine)
    mine.generation_stamp = replica.generation_stamp
    mine.num_bytes = replica.num_bytes
    mine.reported_state = schema.REPORTED_FINALIZED if replica.finalized else schema.REPORTED_RBW


def _add_replica(batch: _Batch, block: BlockRow, storage_id: str) -> None:
    replica = new_replica(block, storage_id)
    batch.transaction.stage_upsert(replica)
    batch.replicas[block.block_id].append(replica)
    _after_replica_added(batch, block, storage_id)


def _after_replica_added(batch: _Batch, block: BlockRow, storage_id: str) -> None:
    """A copy arrived: its pending entry is done; a block at its replication leaves the queue, and
    one above it is queued for a recount (housekeeping deletes the excess)."""
    transaction = batch.transaction
    transaction.stage_delete(PendingReplicationRow(block.inode_id, block.block_id, storage_id, 0))
    good, wanted = batch.good_count(block), batch.wanted(block)
    if good > wanted:
        queue_block(transaction, block.key, schema.QUEUE_RECHECK, transaction.now_ms)
    elif good == wanted:
        dequeue_block(transaction, block.key)


def _corrupt(batch: _Batch, block: BlockRow, storage_id: str, reason: str, mine: ReplicaRow | None) -> None:
    mark_corrupt(batch.transaction, block, storage_id, reason, mine)
    batch.corrupt[block.block_id].add(storage_id)
    if mine is not None:
        batch.replicas[block.block_id].remove(mine)
    _requeue(batch, block)


def _forget_replica(batch: _Batch, block: BlockRow, replica: ReplicaRow) -> None:
    batch.transaction.stage_delete(replica)
    batch.replicas[block.block_id].remove(replica)
    if block.state == schema.BLOCK_COMPLETE:
        _requeue(batch, block)


def _requeue(batch: _Batch, block: BlockRow) -> None:
    priority = replication_priority(batch.good_count(block), batch.wanted(block))
    if priority is not None:
        queue_block(batch.transaction, block.key, priority, batch.transaction.now_ms)
