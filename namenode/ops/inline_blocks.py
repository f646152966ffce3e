"""Small files as HDFS clients see them: one block, served by the namenode.

HDFS clients (hdfs-native, Spark's Java client) read every file through getBlockLocations and a
DataTransferProtocol READ_BLOCK. A small file stored inline has no blocks, so it is presented as one
whose only replica lives on the namenode's own transfer server (namenode/inline_block_server.py):
block id INLINE_BLOCK_ID_FIRST + the inode id, the file's size as its length, and the namenode that
answered as its one location. Every namenode reads the same store, so any of them can serve it.

The id range cannot meet a real block: the block counter starts at 1 and grows by one per block,
and it would take 2**62 blocks to get here. The range also stays below 2**63, so Java clients see a
positive id (negative ones mean striped block groups to them).

An inline file's bytes only ever shrink in place (truncate); growing moves it to real blocks. So the
server needs no generation stamp check: a range still inside the file holds what the reader was told.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.errors import FileNotFound, HopsFSError, InvalidArgument
from namenode.block_entities import Block, DatanodeInfo, LocatedBlock, LocatedBlocks
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow

INLINE_BLOCK_ID_FIRST = 1 << 62
INLINE_BLOCK_ID_LAST = (1 << 63) - 1
# Above Hadoop's reserved stamps (up to 1000), the same for every inline block (see the docstring).
INLINE_GENERATION_STAMP = 1001


class InlineBlockGone(HopsFSError):
    """The block names a file that no longer exists or is no longer stored inline (the reader's
    locations are stale: it asks the namenode again, as after any replica loss)."""


@dataclass(frozen=True, slots=True)
class InlineBlockData:
    data: bytes
    inode_id: int


def is_inline_block(block_id: int) -> bool:
    return INLINE_BLOCK_ID_FIRST <= block_id <= INLINE_BLOCK_ID_LAST


def inline_block_id(inode_id: int) -> int:
    return INLINE_BLOCK_ID_FIRST + inode_id


def locate_inline_file(
    transaction: Transaction,
    row: InodeRow,
    path: str,
    offset: int,
    location: DatanodeInfo | None,
) -> LocatedBlocks:
    """getBlockLocations of an inline file: its one block on `location` (None: no transfer server
    runs in this process, which only an embedded namespace without one can be)."""
    if location is None:
        raise InvalidArgument(
            f"{path} is a small file stored in the metadata store, and this namenode serves no block "
            "reads of such files (start it with its inline block server); the hopsfs client reads "
            "it with readWithMetadata"
        )
    size = _visible_size(transaction, row)
    if size == 0:
        return LocatedBlocks(0, [], False, None, True, row.id, row.parent_id, row.name)
    located = LocatedBlock(Block(inline_block_id(row.id), INLINE_GENERATION_STAMP, size), 0, [location])
    return LocatedBlocks(
        file_length=size,
        blocks=[located] if offset < size else [],
        under_construction=False,
        last_block=located,
        last_block_complete=True,
        inode_id=row.id,
        parent_id=row.parent_id,
        name=row.name,
    )


def read_inline_block(transaction: Transaction, block_id: int) -> InlineBlockData:
    """The bytes behind an inline block id (what readWithMetadata would return for its file)."""
    if not is_inline_block(block_id):
        raise InvalidArgument(f"blk_{block_id} is not an inline file's block")
    inode_id = block_id - INLINE_BLOCK_ID_FIRST
    rows = transaction.session.read_inodes_by_ids([inode_id])
    if not rows:
        raise InlineBlockGone(f"blk_{block_id}: its file (inode {inode_id}) no longer exists")
    row = rows[0]
    if not row.is_file:
        raise FileNotFound(f"blk_{block_id}: inode {inode_id} is not a file")
    if not row.file_stored_in_db:
        raise InlineBlockGone(f"blk_{block_id}: inode {inode_id} is no longer stored inline")
    return InlineBlockData(_inline_bytes(transaction, row), row.id)


def _visible_size(transaction: Transaction, row: InodeRow) -> int:
    if not row.under_construction:
        return row.size
    return len(_inline_bytes(transaction, row))


def _inline_bytes(transaction: Transaction, row: InodeRow) -> bytes:
    """A file being moved to blocks by an append still reads as its inline bytes until that append
    completes (ops/small_files.py); its inode's size then counts its new blocks instead."""
    if row.under_construction:
        return transaction.session.read_inline_data_any_tier(row.id)
    return transaction.session.read_inline_data(row.id, row.size)
