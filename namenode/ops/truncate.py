"""truncate: cut a closed file to a new length (HDFS truncate, FSDirTruncateOp), and the hopsfs move of
a block file cut to at most its directory's small-file threshold into the metadata store.

- Same length: True, nothing changes (HDFS answers before touching the file, mtime included).
- A small file stored inline: its bytes are rewritten in this transaction (the size tier may
  change) -> True.
- A block file cut on a block boundary: the blocks past the new end are released as by delete (their
  replicas get INVALIDATE) -> True.
- A block file cut inside a block: the blocks past that one are released; the file reopens under the
  caller's lease; the cut block goes UNDER_RECOVERY with a new generation stamp and RECOVER to its
  live holders; a `block_truncations` row keeps the length the recovery commits the block at
  (ops/lease_recovery.py reads it) -> False. Housekeeping lists that table, so a namenode restarted
  mid-recovery finishes it; closing the file deletes the row. Until then the file keeps the cut
  block's old length, as HDFS reports it.
- `truncate_to_inline`: the client read the first bytes of a closed block file and sends them; one
  transaction checks the file is still the one it read and the bytes fit the threshold, then stores
  them inline and releases every block. A crash leaves the old file or the new one.

A truncate re-sent while its recovery runs answers False again (HDFS: same new length).
Lock set: the file's inode row, then its blocks' rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hopsfs.errors import InvalidArgument, LeaseConflict
from hopsfs.invariants import check
from namenode import schema
from namenode.block_entities import NotEnoughDatanodes
from namenode.block_rows import (
    BlockLookupRow,
    BlockRow,
    CorruptReplicaRow,
    PendingReplicationRow,
    ReplicaRow,
    TruncationRow,
)
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_removal import release_blocks_of
from namenode.ops.block_state import (
    DatanodeView,
    dequeue_block,
    describe,
    invalidate_storages,
    new_expected_location,
)
from namenode.ops.common import lock_file_to_write, lock_resolved_file_to_write
from namenode.ops.lease_recovery import start_phase_one
from namenode.ops.leases import check_holder_name
from namenode.ops.small_files import inline_threshold


@dataclass(frozen=True, slots=True)
class ExpectedFile:
    """The file as the client saw it before reading its first bytes."""

    inode_id: int
    size: int
    modification_time_ms: int


@dataclass(frozen=True, slots=True)
class InlineTruncated:
    """moved is False when nothing changed; reason says why (the client truncates the HDFS way)."""

    moved: bool
    reason: str = ""


def truncate(transaction: Transaction, path: str, new_length: int, holder: str) -> bool:
    """HDFS truncate: True when the file has its new length now, False when block recovery finishes
    the cut (the file is under construction until then)."""
    check_holder_name(holder)
    if new_length < 0:
        raise InvalidArgument(f"Cannot truncate to a negative file size: {new_length}.")
    row = lock_file_to_write(transaction, path)
    if row.under_construction:
        return _truncate_open_file(transaction, row, path, new_length, holder)
    if new_length == row.size:
        return True
    if new_length > row.size:
        raise InvalidArgument(
            f"Cannot truncate to a larger file size. Current size: {row.size}, truncate size: {new_length}."
        )
    if row.file_stored_in_db:
        _truncate_inline(transaction, row, new_length)
        return True
    return _truncate_blocks(transaction, row, path, new_length, holder)


def truncate_to_inline(
    transaction: Transaction, path: str, data: bytes, expected: ExpectedFile
) -> InlineTruncated:
    """Replace a closed block file's blocks with `data`, its first bytes, stored inline; refused (and
    nothing changed) unless the file is the one `expected` describes and `data` fits its threshold."""
    resolved, row = lock_resolved_file_to_write(transaction, path)
    refusal = _inline_refusal(row, data, expected)
    if refusal:
        return InlineTruncated(False, refusal)
    threshold_bytes = inline_threshold(transaction, resolved)
    if len(data) > threshold_bytes:
        return InlineTruncated(False, f"{len(data)} bytes exceed the threshold of {threshold_bytes}")
    release_blocks_of(transaction, row)
    row.file_stored_in_db = 1
    row.size = len(data)
    row.modification_time = transaction.now_ms
    transaction.store_inline_data(row, data)
    transaction.update(row)
    transaction.log_change("TRUNCATE", row)
    return InlineTruncated(True)


def split_at_length(lengths: Sequence[int], new_length: int) -> tuple[int, int]:
    """(blocks kept, bytes kept of the last kept block) for blocks of `lengths` cut to `new_length`;
    the second is 0 on a block boundary (every kept block whole)."""
    check(0 <= new_length <= sum(lengths), "a truncate cuts within the file")
    start = 0
    for index, length in enumerate(lengths):
        if new_length <= start:
            return index, 0
        if new_length < start + length:
            return index + 1, new_length - start
        start += length
    return len(lengths), 0


def _inline_refusal(row: InodeRow, data: bytes, expected: ExpectedFile) -> str:
    if row.id != expected.inode_id:
        return "the path names another file than the one read"
    if row.under_construction:
        return "the file is open for writing"
    if row.file_stored_in_db:
        return "the file is stored inline already"
    if (row.size, row.modification_time) != (expected.size, expected.modification_time_ms):
        return "the file changed since it was read"
    if len(data) > row.size:
        raise InvalidArgument(
            f"Cannot truncate to a larger file size. Current size: {row.size}, truncate size: {len(data)}."
        )
    return ""


def _truncate_open_file(
    transaction: Transaction, row: InodeRow, path: str, new_length: int, holder: str
) -> bool:
    truncations = transaction.session.read_by_inodes(TruncationRow, [row.id])
    if truncations and truncations[0].file_size == new_length:
        return False  # the same truncate, re-sent while its recovery runs
    if truncations:
        reason = f"{path} is being truncated."
    elif row.client_name == holder:
        reason = f"{holder} is already the current lease holder."
    else:
        reason = f"this file lease is currently owned by {row.client_name}"
    raise LeaseConflict(f"Failed to TRUNCATE_FILE {path} for {holder} because {reason}")


def _truncate_inline(transaction: Transaction, row: InodeRow, new_length: int) -> None:
    data = transaction.session.read_inline_data(row.id, row.size)
    transaction.drop_inline_data(row)
    row.size = new_length
    row.modification_time = transaction.now_ms
    transaction.store_inline_data(row, data[:new_length])
    transaction.update(row)
    transaction.log_change("TRUNCATE", row)


def _truncate_blocks(
    transaction: Transaction, row: InodeRow, path: str, new_length: int, holder: str
) -> bool:
    blocks = transaction.session.read_blocks_of_inode(row.id, lock="write")
    check(all(block.state == schema.BLOCK_COMPLETE for block in blocks), "closed files' blocks are complete")
    kept_count, cut_bytes = split_at_length([block.num_bytes for block in blocks], new_length)
    _release_tail(transaction, row, blocks[kept_count:])
    row.modification_time = transaction.now_ms
    row.size = sum(block.num_bytes for block in blocks[:kept_count])
    if cut_bytes:
        cut = blocks[kept_count - 1]
        _start_block_truncation(transaction, row, path, cut, cut_bytes, holder)
        transaction.stage_insert(TruncationRow(row.id, cut.block_id, cut_bytes, new_length))
    check(cut_bytes > 0 or row.size == new_length, "a cut on a block boundary leaves the new length")
    transaction.update(row)
    transaction.log_change("TRUNCATE", row)
    return cut_bytes == 0


def _start_block_truncation(
    transaction: Transaction, row: InodeRow, path: str, last: BlockRow, cut_bytes: int, holder: str
) -> None:
    """The cut block back under construction (its replicas become expected locations) and recovered
    at once, as HDFS prepareFileForTruncate does; the file is reopened under `holder`'s lease."""
    check(0 < cut_bytes < last.num_bytes, "an in-place truncate keeps part of the block")
    replicas = transaction.session.read_by_blocks(ReplicaRow, [last.key])
    view = DatanodeView.load(transaction)
    holders = [found for replica in replicas if (found := view.live_by_storage(replica.storage_id))]
    if not holders:
        raise NotEnoughDatanodes(f"cannot truncate {path}: no live datanode holds its block {describe(last)}")
    for replica in replicas:
        transaction.stage_delete(replica)
    expected = [new_expected_location(last, found.storage_id, index) for index, found in enumerate(holders)]
    for location in expected:
        transaction.stage_insert(location)
    dequeue_block(transaction, last.key)
    start_phase_one(transaction, last, expected, view)
    row.under_construction = 1
    row.client_name = holder
    transaction.open_lease(row.id, holder)


def _release_tail(transaction: Transaction, row: InodeRow, dropped: Sequence[BlockRow]) -> None:
    """The blocks past the new end go, as a deleted file's do (ops/block_removal.py): every datanode
    holding or being sent a replica is told to delete it; the file itself lives on."""
    if not dropped:
        return
    keys = [block.key for block in dropped]
    holders: dict[int, set[str]] = defaultdict(set)
    for row_type in (ReplicaRow, CorruptReplicaRow, PendingReplicationRow):
        for held in transaction.session.read_by_blocks(row_type, keys):
            holders[held.block_id].add(held.storage_id)
            transaction.stage_delete(held)
    view = DatanodeView.load(transaction)
    for block in dropped:
        storages = sorted(holders.get(block.block_id, ()))
        invalidate_storages(transaction, view, block.block_id, block.generation_stamp, storages)
        dequeue_block(transaction, block.key)
        transaction.stage_delete(block)
        transaction.stage_delete(BlockLookupRow(block.block_id, row.id))
