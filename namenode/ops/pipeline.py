"""Pipeline recovery while writing (HDFS updateBlockForPipeline / updatePipeline).

When a datanode of a write pipeline fails, the client asks for a new generation stamp for the block it
writes, rebuilds the pipeline on the surviving (or added) datanodes with that stamp, then records the
new stamp, length and pipeline here. Replicas left on dropped datanodes carry the old stamp: they are
told to delete them, and any report of them later is stale.

Lock set: the file's inode row (found through the block), then the block's row.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from hopsfs.errors import InvalidArgument, LeaseExpired
from namenode import schema
from namenode.block_entities import Block, BlockMismatch, LocatedBlock
from namenode.block_rows import BlockRow, UcReplicaRow
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops import placement
from namenode.ops.block_state import (
    DatanodeView,
    datanode_info,
    describe,
    invalidate_storages,
    new_expected_location,
)
from namenode.ops.blocks import pipeline_locations
from namenode.ops.leases import check_holder_name

MAX_ADDITIONAL_DATANODES = 16
_RANDOM = random.Random()


def update_block_for_pipeline(transaction: Transaction, block: Block, holder: str) -> LocatedBlock:
    """The block with the next generation stamp (old + 1) for the client to rebuild its pipeline with.
    Nothing is stored: update_pipeline records the stamp once the new pipeline stands."""
    row, stored = lock_block_of_writer(transaction, block.block_id, holder)
    expected = transaction.session.read_by_blocks(UcReplicaRow, [stored.key])
    view = DatanodeView.load(transaction)
    bumped = Block(stored.block_id, stored.generation_stamp + 1, stored.num_bytes)
    return LocatedBlock(bumped, row.size - stored.num_bytes, pipeline_locations(view, expected))


def get_additional_datanodes(
    transaction: Transaction,
    block: Block,
    holder: str,
    existing: Sequence[str],
    excluded: Collection[str],
    count: int,
    client_host: str | None,
) -> LocatedBlock:
    """More datanodes for a pipeline that lost some (HDFS getAdditionalDatanode): `existing` (uuids,
    in pipeline order) followed by up to `count` new live ones, none of them in `excluded`. The client
    copies the block to the new ones (OP_TRANSFER_BLOCK) before it writes on."""
    if not 0 < count <= MAX_ADDITIONAL_DATANODES:
        raise InvalidArgument(f"numAdditionalNodes {count} is outside [1, {MAX_ADDITIONAL_DATANODES}]")
    row, stored = lock_block_of_writer(transaction, block.block_id, holder)
    view = DatanodeView.load(transaction)
    kept = [found for uuid in existing if (found := view.by_uuid(uuid)) is not None]
    eligible = placement.candidates(
        view.rows,
        is_live=view.is_live,
        excluded_uuids={*existing, *excluded},
        bytes_needed=row.block_size,
    )
    added = placement.choose_targets(eligible, count, _RANDOM, client_host=client_host)
    located = Block(stored.block_id, stored.generation_stamp, block.num_bytes)
    return LocatedBlock(
        located, row.size - stored.num_bytes, [datanode_info(found) for found in [*kept, *added]]
    )


def update_pipeline(
    transaction: Transaction, holder: str, old: Block, new: Block, new_datanodes: Sequence[str]
) -> None:
    """Record the rebuilt pipeline: new stamp and length, the datanodes (uuids) in pipeline order."""
    if old.block_id != new.block_id:
        raise InvalidArgument(f"updatePipeline: old blk_{old.block_id} and new blk_{new.block_id} differ")
    if not new_datanodes or len(set(new_datanodes)) != len(new_datanodes):
        raise InvalidArgument(
            f"updatePipeline of blk_{new.block_id}: the pipeline must be distinct datanodes"
        )
    row, stored = lock_block_of_writer(transaction, old.block_id, holder)
    view = DatanodeView.load(transaction)
    storages = []
    for datanode in new_datanodes:
        found = view.by_uuid(datanode) or view.by_storage(datanode)
        if found is None:
            raise InvalidArgument(f"updatePipeline of blk_{new.block_id}: unknown datanode {datanode}")
        storages.append(found.storage_id)
    expected = transaction.session.read_by_blocks(UcReplicaRow, [stored.key])
    if _already_recorded(stored, new, expected, storages):
        return  # a re-sent call
    _check_update(stored, new, row)
    dropped = {location.storage_id for location in expected} - set(storages)
    invalidate_storages(transaction, view, stored.block_id, stored.generation_stamp, sorted(dropped))
    # A datanode of the new pipeline may already have reported its replica at the new stamp.
    reported = {row.storage_id: row for row in expected if row.generation_stamp == new.generation_stamp}
    for location in expected:
        transaction.stage_delete(location)
    for pipeline_index, storage_id in enumerate(storages):
        location = new_expected_location(stored, storage_id, pipeline_index)
        earlier = reported.get(storage_id)
        if earlier is not None:
            location.num_bytes, location.reported_state = earlier.num_bytes, earlier.reported_state
            location.generation_stamp = earlier.generation_stamp
        transaction.stage_insert(location)
    row.size += new.num_bytes - stored.num_bytes
    stored.generation_stamp = new.generation_stamp
    stored.num_bytes = new.num_bytes
    transaction.stage_update(stored)
    transaction.update(row)


def lock_block_of_writer(transaction: Transaction, block_id: int, holder: str) -> tuple[InodeRow, BlockRow]:
    """The file (write-locked) and the block being written by `holder` (HDFS checkUCBlock)."""
    check_holder_name(holder)
    inode_id = transaction.session.read_lookups([block_id]).get(block_id)
    files = transaction.session.read_inodes_by_ids([inode_id]) if inode_id is not None else []
    if not files:
        raise BlockMismatch(f"blk_{block_id} does not exist")
    row = transaction.lock(files)[files[0].id]
    if not row.under_construction:
        raise BlockMismatch(f"The file blk_{block_id} belonged to is not under construction")
    if row.client_name != holder:
        raise LeaseExpired(f"Lease mismatch: blk_{block_id} is accessed by a non lease holder {holder}")
    blocks = transaction.session.read_by_blocks(BlockRow, [(row.id, block_id)], lock="write")
    if not blocks:
        raise BlockMismatch(f"blk_{block_id} does not exist")
    block = blocks[0]
    if block.state != schema.BLOCK_UNDER_CONSTRUCTION:
        raise BlockMismatch(f"Unexpected BlockUCState: {describe(block)} is not UNDER_CONSTRUCTION")
    return row, block


def _already_recorded(
    stored: BlockRow, new: Block, expected: Sequence[UcReplicaRow], storages: Sequence[str]
) -> bool:
    pipeline = [location.storage_id for location in sorted(expected, key=lambda row: row.pipeline_index)]
    same_block = (stored.generation_stamp, stored.num_bytes) == (new.generation_stamp, new.num_bytes)
    return same_block and pipeline == list(storages)


def _check_update(stored: BlockRow, new: Block, row: InodeRow) -> None:
    if new.generation_stamp <= stored.generation_stamp:
        raise BlockMismatch(
            f"Update blk_{new.block_id}_{new.generation_stamp} is not valid: the stored block is "
            f"{describe(stored)}; a new pipeline needs a newer generation stamp"
        )
    if new.num_bytes < stored.num_bytes:
        raise BlockMismatch(
            f"Update blk_{new.block_id} (len = {new.num_bytes}) is not valid: the stored block holds "
            f"{stored.num_bytes} bytes"
        )
    if new.num_bytes > row.block_size:
        raise InvalidArgument(
            f"blk_{new.block_id}: {new.num_bytes} bytes exceed the block size {row.block_size}"
        )
