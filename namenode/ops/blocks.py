"""The client's write path through blocks (HDFS ClientProtocol): addBlock, complete, abandonBlock, fsync.

Lock set: the file's inode row, then the rows of the blocks the operation changes (block_state.py).
A file's length (inodes.size) is the sum of what the namenode knows of its blocks: committed and
complete lengths, plus what fsync recorded for a block still being written (HDFS getFileInfo).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Sequence

from hopsfs.errors import FileNotFound, IsADirectory, LeaseExpired, LimitExceeded
from namenode import schema
from namenode.block_entities import Block, BlockMismatch, DatanodeInfo, LocatedBlock, NotEnoughDatanodes
from namenode.block_rows import BlockLookupRow, BlockRow, DatanodeRow, UcReplicaRow
from namenode.engine.block_config import BLOCKS_PER_FILE_MAX
from namenode.engine.resolver import ResolvedPath, check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops import placement
from namenode.ops.block_state import (
    DatanodeView,
    block_value,
    close_file,
    commit_block,
    datanode_info,
    describe,
    new_expected_location,
    remove_last_block,
)
from namenode.ops.common import check_path_free
from namenode.ops.leases import check_holder_name

log = logging.getLogger(__name__)
_RANDOM = random.Random()


def lock_open_file(
    transaction: Transaction, path: str, holder: str, file_id: int, *, closed_ok: bool = False
) -> InodeRow | None:
    """The file `holder` writes, write-locked. LeaseExpired unless it is open under `holder`'s lease;
    with `closed_ok`, None for a closed file (a retried complete)."""
    return lock_resolved_open_file(transaction, path, holder, file_id, closed_ok=closed_ok)[1]


def lock_resolved_open_file(
    transaction: Transaction, path: str, holder: str, file_id: int, *, closed_ok: bool = False
) -> tuple[ResolvedPath, InodeRow | None]:
    """lock_open_file, with the path's resolution for a caller that needs its ancestors too."""
    check_holder_name(holder)
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if target.is_directory:
        raise IsADirectory(f"{path} is a directory, not a file being written")
    if not target.is_file:
        raise FileNotFound(f"Path is not a file: {path}")
    if file_id and target.id != file_id:
        raise FileNotFound(f"File does not exist: {path} (inode {file_id}): it was deleted or replaced")
    check_path_free(transaction, resolved)
    row = transaction.lock([target])[target.id]
    if not row.under_construction:
        if closed_ok:
            return resolved, None
        raise LeaseExpired(f"No lease on {path}: File is not open for writing. Holder {holder} has no lease")
    if row.client_name != holder:
        raise LeaseExpired(f"No lease on {path}: the lease is held by {row.client_name}, not {holder}")
    return resolved, row


def add_block(
    transaction: Transaction,
    path: str,
    holder: str,
    previous: Block | None,
    excluded: Collection[str],
    file_id: int,
    favored_hosts: Sequence[str],
    client_host: str | None,
) -> LocatedBlock:
    """Commit `previous` and start a new last block on chosen datanodes; a re-sent call gets the block
    its first attempt started (HDFS analyzeFileState)."""
    row = lock_open_file(transaction, path, holder, file_id)
    assert row is not None
    tail = transaction.session.read_last_blocks(row.id, 2, lock="write")
    last = tail[0] if tail else None
    penultimate = tail[1] if len(tail) > 1 else None
    view = DatanodeView.load(transaction)
    if not _same_block(previous, last):
        retried = _retried_allocation(path, row, previous, last, penultimate)
        if retried is not None:
            expected = transaction.session.read_by_blocks(UcReplicaRow, [retried.key])
            offset = row.size - retried.num_bytes
            return LocatedBlock(block_value(retried), offset, pipeline_locations(view, expected))
    elif last is not None and previous is not None:
        expected = transaction.session.read_by_blocks(UcReplicaRow, [last.key])
        known_bytes = last.num_bytes
        if commit_block(transaction, last, previous, expected, row.block_size):
            row.size += last.num_bytes - known_bytes
    index = last.block_index + 1 if last is not None else 0
    if index >= BLOCKS_PER_FILE_MAX:
        raise LimitExceeded(
            f"File has reached the limit on maximum number of blocks ({BLOCKS_PER_FILE_MAX}): {path}"
        )
    targets = _new_block_targets(transaction, view, row, path, excluded, favored_hosts, client_host)
    block = BlockRow(
        inode_id=row.id,
        block_id=transaction.new_block_id(),
        block_index=index,
        num_bytes=0,
        generation_stamp=transaction.new_generation_stamp(),
        state=schema.BLOCK_UNDER_CONSTRUCTION,
    )
    transaction.stage_insert(block)
    transaction.stage_insert(BlockLookupRow(block.block_id, row.id))
    for pipeline_index, target in enumerate(targets):
        transaction.stage_insert(new_expected_location(block, target.storage_id, pipeline_index))
    transaction.update(row)
    return LocatedBlock(block_value(block), row.size, [datanode_info(target) for target in targets])


def complete(transaction: Transaction, path: str, holder: str, last: Block | None, file_id: int) -> bool:
    """Commit the last block and close the file once every block has a finalized replica reported;
    False until then (the client calls again). True for a retried complete of a closed file."""
    row = lock_open_file(transaction, path, holder, file_id, closed_ok=bool(file_id))
    if row is None:
        return True
    blocks = transaction.session.read_blocks_of_inode(row.id, lock="write")
    if not blocks:
        if last is not None and last.num_bytes:
            raise BlockMismatch(f"{path} has no blocks, the client completes blk_{last.block_id}")
        close_file(transaction, row, blocks)
        return True
    final = blocks[-1]
    if last is not None:
        expected = transaction.session.read_by_blocks(UcReplicaRow, [final.key])
        known_bytes = final.num_bytes
        if commit_block(transaction, final, last, expected, row.block_size):
            row.size += final.num_bytes - known_bytes
            transaction.update(row)
    if any(block.state != schema.BLOCK_COMPLETE for block in blocks):
        return False
    close_file(transaction, row, blocks)
    return True


def abandon_block(transaction: Transaction, path: str, holder: str, block: Block, file_id: int) -> None:
    """Drop the last block a client could not set up a pipeline for; its datanodes delete what they
    hold of it. A block that is not the file's last is left alone (HDFS)."""
    row = lock_open_file(transaction, path, holder, file_id)
    assert row is not None
    tail = transaction.session.read_last_blocks(row.id, 1, lock="write")
    if not tail or tail[0].block_id != block.block_id:
        log.info("abandonBlock of blk_%d on %s: not the file's last block, ignored", block.block_id, path)
        return
    last = tail[0]
    if last.state != schema.BLOCK_UNDER_CONSTRUCTION:
        raise BlockMismatch(f"cannot abandon {describe(last)} of {path}: it is no longer being written")
    expected = transaction.session.read_by_blocks(UcReplicaRow, [last.key])
    remove_last_block(transaction, row, last, expected, DatanodeView.load(transaction))
    transaction.update(row)


def fsync(transaction: Transaction, path: str, holder: str, last_block_length: int, file_id: int) -> None:
    """Record how much of the block being written is durable, so readers see it (hflush/hsync).
    A negative length means "unknown" (HDFS) and changes nothing."""
    row = lock_open_file(transaction, path, holder, file_id)
    assert row is not None
    if last_block_length < 0:
        return
    tail = transaction.session.read_last_blocks(row.id, 1, lock="write")
    if not tail or tail[0].state != schema.BLOCK_UNDER_CONSTRUCTION:
        return
    last = tail[0]
    if last_block_length > row.block_size:
        raise BlockMismatch(
            f"fsync of {path}: {last_block_length} bytes exceed the block size {row.block_size}"
        )
    row.size += last_block_length - last.num_bytes
    last.num_bytes = last_block_length
    transaction.stage_update(last)
    transaction.update(row)


def pipeline_locations(view: DatanodeView, expected: Sequence[UcReplicaRow]) -> list[DatanodeInfo]:
    """The live expected locations of a block in pipeline order."""
    ordered = sorted(expected, key=lambda location: location.pipeline_index)
    live = [view.live_by_storage(location.storage_id) for location in ordered]
    return [datanode_info(row) for row in live if row is not None]


def _same_block(claimed: Block | None, stored: BlockRow | None) -> bool:
    if claimed is None or stored is None:
        return claimed is None and stored is None
    return (claimed.block_id, claimed.generation_stamp) == (stored.block_id, stored.generation_stamp)


def _retried_allocation(
    path: str, row: InodeRow, previous: Block | None, last: BlockRow | None, penultimate: BlockRow | None
) -> BlockRow | None:
    """`previous` is not the file's last block: the block a retried addBlock should get back, None
    when a new block may follow (an append that starts at a block boundary), else BlockMismatch."""
    assert last is not None or previous is not None
    full_last = last is not None and last.state == schema.BLOCK_COMPLETE and last.num_bytes >= row.block_size
    if previous is None and full_last:
        return None
    if last is not None and _same_block(previous, penultimate):
        if last.state != schema.BLOCK_UNDER_CONSTRUCTION or last.num_bytes:
            raise BlockMismatch(
                f"Request looked like a retry to allocate a block after {describe(penultimate or last)} "
                f"in {path}, but the last block {describe(last)} already holds {last.num_bytes} bytes"
            )
        return last
    claimed = "no block" if previous is None else f"blk_{previous.block_id}_{previous.generation_stamp}"
    actual = "no block" if last is None else describe(last)
    raise BlockMismatch(
        f"Cannot allocate block in {path}: passed 'previous' block {claimed} does not match actual "
        f"last block in file {actual}"
    )


def _new_block_targets(
    transaction: Transaction,
    view: DatanodeView,
    row: InodeRow,
    path: str,
    excluded: Collection[str],
    favored_hosts: Sequence[str],
    client_host: str | None,
) -> list[DatanodeRow]:
    eligible = placement.candidates(
        view.rows, is_live=view.is_live, excluded_uuids=excluded, bytes_needed=row.block_size
    )
    if not eligible:
        minimum = transaction.context.block_config.min_replication
        raise NotEnoughDatanodes(
            f"File {path} could only be written to 0 of the {minimum} minReplication nodes. There are "
            f"{len(view.live_rows())} datanode(s) running and {len(excluded)} node(s) are excluded in "
            "this operation."
        )
    targets = placement.choose_targets(
        eligible, row.replication, _RANDOM, client_host=client_host, favored_hosts=favored_hosts
    )
    if len(targets) < row.replication:
        log.warning(
            "%s: replication %d clamped to %d, the datanodes that can take a new block",
            path,
            row.replication,
            len(targets),
        )
    return targets
