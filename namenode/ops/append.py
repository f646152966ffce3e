"""append: reopen a closed file for writing under the caller's lease (HDFS appendFile).

A partly filled last block goes back to UNDER_CONSTRUCTION under its current generation stamp (the
writer moves it to a new one through updateBlockForPipeline/updatePipeline, as in HDFS); its current
replicas become the expected locations the client reopens its pipeline on (PIPELINE_SETUP_APPEND).
A full last block, or no block, returns no block: the client asks addBlock.

Lock set: the file's inode row, then its last block's row.
"""

from __future__ import annotations

from hopsfs.errors import LeaseConflict
from hopsfs.invariants import check
from hopsfs.types import FileStatus
from namenode import schema
from namenode.block_entities import LocatedBlock, NotEnoughDatanodes
from namenode.block_rows import BlockRow, ReplicaRow
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_state import (
    DatanodeView,
    block_value,
    datanode_info,
    dequeue_block,
    describe,
    new_expected_location,
)
from namenode.ops.common import file_status, lock_file_to_write
from namenode.ops.leases import check_holder_name
from namenode.ops.small_files import refuse_inline


def append(transaction: Transaction, path: str, holder: str) -> tuple[FileStatus, LocatedBlock | None]:
    check_holder_name(holder)
    row = lock_file_to_write(transaction, path)
    refuse_inline(row.file_stored_in_db, path, "append")
    if row.under_construction:
        reason = (
            "the current lease holder is trying to recreate it"
            if row.client_name == holder
            else f"this file lease is currently owned by {row.client_name}"
        )
        raise LeaseConflict(f"Failed to APPEND_FILE {path} for {holder} because {reason}")
    tail = transaction.session.read_last_blocks(row.id, 1, lock="write")
    located = None
    if tail and tail[0].num_bytes < row.block_size:
        located = _reopen_last_block(transaction, row, tail[0], path)
    row.under_construction = 1
    row.client_name = holder
    transaction.open_lease(row.id, holder)
    transaction.update(row)
    transaction.log_change("APPEND", row)
    return file_status(path, row), located


def _reopen_last_block(transaction: Transaction, row: InodeRow, last: BlockRow, path: str) -> LocatedBlock:
    check(last.state == schema.BLOCK_COMPLETE, "a closed file's blocks are complete")
    replicas = transaction.session.read_by_blocks(ReplicaRow, [last.key])
    view = DatanodeView.load(transaction)
    holders = [found for replica in replicas if (found := view.live_by_storage(replica.storage_id))]
    if not holders:
        raise NotEnoughDatanodes(
            f"cannot append to {path}: no live datanode holds its last block {describe(last)}"
        )
    for replica in replicas:
        transaction.stage_delete(replica)
    # The stamp stays: the writer gets a new one from updateBlockForPipeline (HDFS appendFile does the
    # same, and hdfs-native sets up its append pipeline with the stamp it is given here).
    last.state = schema.BLOCK_UNDER_CONSTRUCTION
    transaction.stage_update(last)
    for pipeline_index, holder in enumerate(holders):
        transaction.stage_insert(new_expected_location(last, holder.storage_id, pipeline_index))
    dequeue_block(transaction, last.key)  # blocks being written are not re-replicated
    offset = row.size - last.num_bytes
    return LocatedBlock(block_value(last), offset, [datanode_info(holder) for holder in holders])
