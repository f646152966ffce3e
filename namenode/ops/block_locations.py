"""getBlockLocations: which blocks cover a byte range of a file, and where a reader finds each one.

A read: no locks. A closed file's blocks are all COMPLETE and stay so (an append, which reopens one,
is the rare exception), so it is read without a snapshot; a file being written is read again inside
one, where a block's state and the table holding its locations must agree.
Locations are live datanodes only, the reader's own host first, the rest shuffled so readers spread.
A complete block is served from its good replicas; a block whose every known replica is corrupt is
returned with corrupt=True and those locations (HDFS), so the client can say why it cannot read.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from hopsfs.errors import InvalidArgument
from hopsfs.types import Listing
from namenode import schema
from namenode.block_entities import DatanodeInfo, LocatedBlock, LocatedBlocks
from namenode.block_rows import BlockRow, CorruptReplicaRow, ReplicaRow, UcReplicaRow
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_state import BlockKey, DatanodeView, block_value, datanode_info
from namenode.ops.common import file_status, file_to_read
from namenode.ops.inline_blocks import locate_inline_file
from namenode.ops.read import listing_rows

_RANDOM = random.Random()


class OpenFile(Exception):
    """A signal to the caller, not an error: the file is being written, read it again in a snapshot."""


def get_block_locations(
    transaction: Transaction,
    path: str,
    offset: int,
    length: int,
    client_host: str | None,
    *,
    snapshot: bool = False,
    inline_location: DatanodeInfo | None = None,
) -> LocatedBlocks:
    """Raises OpenFile for a file under construction unless the transaction is a `snapshot`: its
    blocks change state (and their locations table) while it is read. A small file stored inline is
    one block on `inline_location`, the namenode's transfer server (ops/inline_blocks.py)."""
    if offset < 0:
        raise InvalidArgument(f"Negative offset is not supported. File: {path}")
    if length < 0:
        raise InvalidArgument(f"Negative length is not supported. File: {path}")
    target = file_to_read(transaction, path)
    return locate_file(
        transaction,
        target,
        path,
        offset,
        length,
        client_host,
        snapshot=snapshot,
        inline_location=inline_location,
    )


def list_located(
    transaction: Transaction,
    path: str,
    start_after: str,
    limit: int,
    client_host: str | None,
    *,
    inline_location: DatanodeInfo | None = None,
) -> tuple[Listing, dict[str, LocatedBlocks]]:
    """getListing with needLocation (Spark's listLocatedStatus): a listing page and every file's
    blocks, read together in the caller's snapshot, so a file deleted meanwhile is in neither. As in
    HDFS, listing the directory is the permission the locations need: a file the caller may not read
    is listed with them too (reading its bytes is what READ guards)."""
    rows, remaining = listing_rows(transaction, path, start_after, limit)
    in_blocks = any(row.is_file and not row.file_stored_in_db for _, row in rows)
    view = DatanodeView.load(transaction) if in_blocks else None  # once for the page, not per file
    located = {
        entry_path: locate_file(
            transaction,
            row,
            entry_path,
            0,
            row.size,
            client_host,
            snapshot=True,
            inline_location=inline_location,
            view=view,
        )
        for entry_path, row in rows
        if row.is_file
    }
    return Listing(tuple(file_status(entry_path, row) for entry_path, row in rows), remaining), located


def locate_file(
    transaction: Transaction,
    target: InodeRow,
    path: str,
    offset: int,
    length: int,
    client_host: str | None,
    *,
    snapshot: bool,
    inline_location: DatanodeInfo | None,
    view: DatanodeView | None = None,
) -> LocatedBlocks:
    """get_block_locations once `target`, the file at `path`, may be read. `view`: the datanodes as
    this transaction read them already (a listing page shares one); None reads them if needed."""
    if target.file_stored_in_db:
        return locate_inline_file(transaction, target, path, offset, inline_location)
    under_construction = bool(target.under_construction)
    if under_construction and not snapshot:
        raise OpenFile(path)
    blocks = transaction.session.read_blocks_of_inode(target.id)
    if not blocks:
        return LocatedBlocks(
            0, [], under_construction, None, not under_construction, target.id, target.parent_id, target.name
        )
    starts = _block_starts(blocks)
    chosen = _overlapping(blocks, starts, offset, length)
    wanted = set(chosen) | {len(blocks) - 1}
    sources = _LocationSources.load(transaction, target.id, [blocks[index] for index in sorted(wanted)])
    view = view or DatanodeView.load(transaction)
    located = {
        index: _locate(blocks[index], starts[index], sources, view, client_host) for index in sorted(wanted)
    }
    last = blocks[-1]
    last_complete = last.state == schema.BLOCK_COMPLETE
    file_length = starts[-1] + (last.num_bytes if last_complete else 0)
    return LocatedBlocks(
        file_length=file_length,
        blocks=[located[index] for index in chosen],
        under_construction=under_construction,
        last_block=located[len(blocks) - 1],
        last_block_complete=last_complete,
        inode_id=target.id,
        parent_id=target.parent_id,
        name=target.name,
    )


def _block_starts(blocks: Sequence[BlockRow]) -> list[int]:
    starts: list[int] = []
    position = 0
    for block in blocks:
        starts.append(position)
        position += block.num_bytes
    return starts


def _overlapping(blocks: Sequence[BlockRow], starts: Sequence[int], offset: int, length: int) -> list[int]:
    """Indexes of the blocks a read of [offset, offset + length) needs (HDFS createLocatedBlockList:
    from the block holding `offset`, at least one block, until the range is covered)."""
    first = next(
        (index for index, block in enumerate(blocks) if starts[index] + block.num_bytes > offset), None
    )
    if first is None:
        return []
    end = offset + length
    chosen = [first]
    for index in range(first + 1, len(blocks)):
        if starts[index] >= end:
            break
        chosen.append(index)
    return chosen


class _LocationSources:
    """The replica rows of some blocks of one file, read once."""

    def __init__(
        self,
        replicas: Sequence[ReplicaRow],
        expected: Sequence[UcReplicaRow],
        corrupt: Sequence[CorruptReplicaRow],
    ) -> None:
        self.replicas: dict[BlockKey, list[str]] = defaultdict(list)
        self.expected: dict[BlockKey, list[UcReplicaRow]] = defaultdict(list)
        self.corrupt: dict[BlockKey, list[str]] = defaultdict(list)
        for replica in replicas:
            self.replicas[(replica.inode_id, replica.block_id)].append(replica.storage_id)
        for location in expected:
            self.expected[(location.inode_id, location.block_id)].append(location)
        for bad in corrupt:
            self.corrupt[(bad.inode_id, bad.block_id)].append(bad.storage_id)

    @classmethod
    def load(cls, transaction: Transaction, inode_id: int, blocks: Sequence[BlockRow]) -> _LocationSources:
        """Reads only the tables the blocks' states need (a closed file: replicas alone)."""
        session = transaction.session
        complete = [block.key for block in blocks if block.state == schema.BLOCK_COMPLETE]
        others = [block.key for block in blocks if block.state != schema.BLOCK_COMPLETE]
        replicas = session.read_by_blocks(ReplicaRow, complete) if complete else []
        expected = session.read_by_blocks(UcReplicaRow, others) if others else []
        corrupt: list[CorruptReplicaRow] = []
        counted = {(row.inode_id, row.block_id) for row in replicas}
        if others or len(counted) < len(complete):
            corrupt = session.read_by_inodes(CorruptReplicaRow, [inode_id])
        return cls(replicas, expected, corrupt)


def _locate(
    block: BlockRow, start: int, sources: _LocationSources, view: DatanodeView, client_host: str | None
) -> LocatedBlock:
    corrupt_storages = set(sources.corrupt.get(block.key, ()))
    if block.state == schema.BLOCK_COMPLETE:
        good = _live(view, sources.replicas.get(block.key, ()))
        if not good and corrupt_storages:
            bad = _live(view, sorted(corrupt_storages))
            return LocatedBlock(block_value(block), start, _reader_order(bad, client_host), corrupt=True)
        return LocatedBlock(block_value(block), start, _reader_order(good, client_host))
    expected = sorted(sources.expected.get(block.key, ()), key=lambda location: location.pipeline_index)
    storages = [location.storage_id for location in expected if location.storage_id not in corrupt_storages]
    return LocatedBlock(block_value(block), start, _reader_order(_live(view, storages), client_host))


def _live(view: DatanodeView, storages: Sequence[str]) -> list[DatanodeInfo]:
    rows = [view.live_by_storage(storage) for storage in storages]
    return [datanode_info(row) for row in rows if row is not None]


def _reader_order(locations: list[DatanodeInfo], client_host: str | None) -> list[DatanodeInfo]:
    """The reader's own host first, then a random order (spreads readers over replicas)."""
    _RANDOM.shuffle(locations)
    locations.sort(key=lambda location: location.host_name != client_host)
    return locations
