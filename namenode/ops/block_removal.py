"""Blocks of deleted files: removed in the deleting transaction, their replicas deleted on datanodes.

Every operation that removes a file (delete, the subtree delete's batches, create and rename over an
existing file) registers it with `release_blocks_of`; at flush one batch of statements locks the files'
blocks, queues an INVALIDATE for every datanode that holds or was sent any replica of them (reported,
expected, corrupt, or the target of a copy in flight), and deletes the rows of every block table. A
datanode that never got the command finds the blocks unknown in its next full report and is told again.
"""

from __future__ import annotations

from collections import defaultdict

from namenode.block_rows import (
    BlockLookupRow,
    BlockRow,
    CorruptReplicaRow,
    PendingReplicationRow,
    QueuedBlockRow,
    ReplicaRow,
    TruncationRow,
    UcReplicaRow,
)
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_state import DatanodeView, invalidate_storages

_HANGING_OFF_BLOCKS = (
    ReplicaRow,
    UcReplicaRow,
    CorruptReplicaRow,
    PendingReplicationRow,
    QueuedBlockRow,
    TruncationRow,
)


def release_blocks_of(transaction: Transaction, row: InodeRow) -> None:
    """`row` (a file) is being deleted by this transaction: release its blocks when it flushes."""
    if not row.is_file:
        return
    transaction.removed_file_ids.append(row.id)
    transaction.before_flush("release_blocks", _release_blocks)


def _release_blocks(transaction: Transaction) -> None:
    session = transaction.session
    file_ids = sorted(set(transaction.removed_file_ids))
    blocks = session.read_by_inodes(BlockRow, file_ids, lock="write")
    if not blocks:
        return
    file_ids = sorted({block.inode_id for block in blocks})
    holders: dict[int, set[str]] = defaultdict(set)
    for row_type in (ReplicaRow, UcReplicaRow, CorruptReplicaRow, PendingReplicationRow):
        for held in session.read_by_inodes(row_type, file_ids):
            holders[held.block_id].add(held.storage_id)
    view = DatanodeView.load(transaction)
    for block in blocks:
        storages = sorted(holders.get(block.block_id, ()))
        invalidate_storages(transaction, view, block.block_id, block.generation_stamp, storages)
    for row_type in _HANGING_OFF_BLOCKS:
        session.delete_by_inodes(row_type, file_ids)
    session.delete_by_inodes(BlockRow, file_ids)
    session.delete_rows([BlockLookupRow(block.block_id, block.inode_id) for block in blocks])
