"""Block states and replica bookkeeping shared by client, datanode and housekeeping operations.

Where a block's locations live, by state (every operation keeps this):
- UNDER_CONSTRUCTION, UNDER_RECOVERY, COMMITTED: no `replicas` rows; its expected locations are its
  replicas_under_construction rows, which also hold what each datanode last reported.
- COMPLETE: no replicas_under_construction rows; `replicas` holds its good finalized replicas.
- A replica known to be bad is in corrupt_replicas and not in `replicas`.

Locking: a transaction that changes a block's state or replicas first write-locks the block's row
(after the file's inode row when it locks that too), so a datanode's report and a client's commit of
the same block never interleave. Commands for datanodes are rows queued in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check
from namenode import schema
from namenode.block_entities import Block, BlockMismatch, CommandKind, DatanodeInfo
from namenode.block_rows import (
    BlockLookupRow,
    BlockRow,
    CommandRow,
    CorruptReplicaRow,
    DatanodeRow,
    QueuedBlockRow,
    ReplicaRow,
    UcReplicaRow,
)
from namenode.engine.block_config import REPORT_BUCKETS
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import mark_closed

BlockKey = tuple[int, int]  # (inode id, block id)
STATE_NAMES = {
    schema.BLOCK_UNDER_CONSTRUCTION: "UNDER_CONSTRUCTION",
    schema.BLOCK_COMMITTED: "COMMITTED",
    schema.BLOCK_COMPLETE: "COMPLETE",
    schema.BLOCK_UNDER_RECOVERY: "UNDER_RECOVERY",
}
NOT_REPORTED = -1  # generation_stamp / num_bytes of an expected location that has said nothing yet


class DatanodeView:
    """The datanodes table as one transaction read it, with liveness judged at the transaction's time."""

    def __init__(self, rows: Sequence[DatanodeRow], now_ms: int, dead_after_ms: int) -> None:
        self.rows = list(rows)
        self._by_uuid = {row.datanode_uuid: row for row in rows}
        self._by_storage = {row.storage_id: row for row in rows}
        self._alive_since_ms = now_ms - dead_after_ms

    @classmethod
    def load(cls, transaction: Transaction) -> DatanodeView:
        config = transaction.context.block_config
        return cls(transaction.session.read_datanodes(), transaction.now_ms, config.dead_after_ms)

    def is_live(self, row: DatanodeRow) -> bool:
        return row.state == schema.DATANODE_LIVE and row.last_heartbeat_ms >= self._alive_since_ms

    def by_uuid(self, datanode_uuid: str) -> DatanodeRow | None:
        return self._by_uuid.get(datanode_uuid)

    def by_storage(self, storage_id: str) -> DatanodeRow | None:
        return self._by_storage.get(storage_id)

    def live_by_storage(self, storage_id: str) -> DatanodeRow | None:
        row = self._by_storage.get(storage_id)
        return row if row is not None and self.is_live(row) else None

    def live_rows(self) -> list[DatanodeRow]:
        return [row for row in self.rows if self.is_live(row)]


def datanode_info(row: DatanodeRow) -> DatanodeInfo:
    return DatanodeInfo(
        uuid=row.datanode_uuid,
        storage_id=row.storage_id,
        host_name=row.host_name,
        transfer_port=row.transfer_port,
        info_port=row.info_port,
        capacity=row.capacity_bytes,
        used=row.used_bytes,
        remaining=row.remaining_bytes,
        last_heartbeat_ms=row.last_heartbeat_ms,
        active_transfers=row.active_transfers,
    )


def block_value(row: BlockRow) -> Block:
    return Block(row.block_id, row.generation_stamp, row.num_bytes)


def describe(row: BlockRow) -> str:
    return f"blk_{row.block_id}_{row.generation_stamp} ({STATE_NAMES.get(row.state, row.state)})"


def bucket_of(block_id: int) -> int:
    return block_id % REPORT_BUCKETS


def new_replica(block: BlockRow, storage_id: str) -> ReplicaRow:
    bucket = bucket_of(block.block_id)
    return ReplicaRow(block.inode_id, block.block_id, storage_id, schema.REPLICA_FINALIZED, bucket)


def new_expected_location(block: BlockRow, storage_id: str, pipeline_index: int) -> UcReplicaRow:
    return UcReplicaRow(
        inode_id=block.inode_id,
        block_id=block.block_id,
        storage_id=storage_id,
        pipeline_index=pipeline_index,
        generation_stamp=NOT_REPORTED,
        num_bytes=NOT_REPORTED,
        reported_state=schema.REPORTED_NOTHING,
        recovery_started_ms=0,
    )


# -- commands ---------------------------------------------------------------------------------------


def queue_command(
    transaction: Transaction,
    datanode_uuid: str,
    kind: CommandKind,
    block_id: int,
    generation_stamp: int,
    *,
    num_bytes: int = 0,
    new_generation_stamp: int = 0,
    target_uuids: Sequence[str] = (),
) -> None:
    """Work for a datanode, handed out by its next heartbeat."""
    check(all("," not in uuid for uuid in target_uuids), "datanode uuids cannot hold commas")
    transaction.stage_insert(
        CommandRow(
            datanode_uuid=datanode_uuid,
            command_id=transaction.new_command_id(),
            kind=int(kind),
            block_id=block_id,
            generation_stamp=generation_stamp,
            num_bytes=num_bytes,
            new_generation_stamp=new_generation_stamp,
            targets=",".join(target_uuids),
            created_ms=transaction.now_ms,
        )
    )


def invalidate_on(transaction: Transaction, datanode_uuid: str, block_id: int, generation_stamp: int) -> None:
    queue_command(transaction, datanode_uuid, CommandKind.INVALIDATE, block_id, generation_stamp)


def invalidate_storages(
    transaction: Transaction,
    view: DatanodeView,
    block_id: int,
    generation_stamp: int,
    storages: Iterable[str],
) -> int:
    """INVALIDATE on the datanode of each storage (registered ones; once per datanode)."""
    uuids = {row.datanode_uuid for storage in storages if (row := view.by_storage(storage)) is not None}
    for datanode_uuid in sorted(uuids):
        invalidate_on(transaction, datanode_uuid, block_id, generation_stamp)
    return len(uuids)


def remove_last_block(
    transaction: Transaction,
    row: InodeRow,
    last: BlockRow,
    expected: Sequence[UcReplicaRow],
    view: DatanodeView,
) -> None:
    """Take an unfinished last block off the file (abandoned by its writer, or lost by every datanode
    during lease recovery): its expected holders delete what they have, its rows go, the file shrinks.
    The caller writes or closes `row`."""
    storages = [location.storage_id for location in expected]
    invalidate_storages(transaction, view, last.block_id, last.generation_stamp, storages)
    for location in expected:
        transaction.stage_delete(location)
    transaction.stage_delete(last)
    transaction.stage_delete(BlockLookupRow(last.block_id, row.id))
    row.size -= last.num_bytes


# -- replication queue ------------------------------------------------------------------------------


def replication_priority(good: int, replication: int) -> int | None:
    """The queue level for a block with `good` live good replicas; None when it needs no copy."""
    if good >= replication:
        return None
    if good == 0:
        return schema.QUEUE_MISSING
    if good == 1:
        return schema.QUEUE_HIGHEST
    if good * 3 < replication:
        return schema.QUEUE_VERY_UNDER
    return schema.QUEUE_UNDER


def queue_block(transaction: Transaction, key: BlockKey, priority: int, due_ms: int) -> None:
    transaction.stage_upsert(QueuedBlockRow(key[0], key[1], priority, due_ms))


def dequeue_block(transaction: Transaction, key: BlockKey) -> None:
    transaction.stage_delete(QueuedBlockRow(key[0], key[1], 0, 0))


# -- state transitions ------------------------------------------------------------------------------


def mark_corrupt(
    transaction: Transaction, block: BlockRow, storage_id: str, reason: str, replica: ReplicaRow | None
) -> None:
    """Record a bad replica: never served again; invalidated once the block has its good copies back."""
    if replica is not None:
        check(replica.storage_id == storage_id, "marking another storage's replica corrupt")
        transaction.stage_delete(replica)
    transaction.stage_upsert(
        CorruptReplicaRow(block.inode_id, block.block_id, storage_id, reason[:32], transaction.now_ms)
    )


def complete_block(
    transaction: Transaction,
    block: BlockRow,
    expected: Sequence[UcReplicaRow],
    finalized_storages: Iterable[str],
) -> None:
    """COMMITTED -> COMPLETE: the finalized storages become replicas; expected locations are dropped."""
    check(block.state == schema.BLOCK_COMMITTED, "only a committed block completes")
    block.state = schema.BLOCK_COMPLETE
    transaction.stage_update(block)
    for row in expected:
        transaction.stage_delete(row)
    for storage_id in finalized_storages:
        transaction.stage_upsert(new_replica(block, storage_id))


def commit_block(
    transaction: Transaction,
    block: BlockRow,
    claimed: Block,
    expected: Sequence[UcReplicaRow],
    block_size: int,
) -> bool:
    """The writer's final length and stamp for its last block (HDFS commitBlock); completes it when a
    matching finalized replica is already reported. False for a block committed before (a retry)."""
    if claimed.block_id != block.block_id:
        raise BlockMismatch(
            f"Trying to commit inconsistent block: id {claimed.block_id}, expected {describe(block)}"
        )
    if block.state in (schema.BLOCK_COMMITTED, schema.BLOCK_COMPLETE):
        if (claimed.generation_stamp, claimed.num_bytes) != (block.generation_stamp, block.num_bytes):
            raise BlockMismatch(
                f"block {describe(block)} of {block.num_bytes} bytes is already committed; the client "
                f"claims stamp {claimed.generation_stamp} and {claimed.num_bytes} bytes"
            )
        return False
    if block.state != schema.BLOCK_UNDER_CONSTRUCTION:
        raise BlockMismatch(f"block {describe(block)} is being recovered and cannot be committed")
    if claimed.generation_stamp != block.generation_stamp:
        raise BlockMismatch(
            f"Commit block with mismatching GS. NN has {describe(block)}, client submits "
            f"blk_{claimed.block_id}_{claimed.generation_stamp}"
        )
    if not 0 <= claimed.num_bytes <= block_size:
        raise InvalidArgument(f"block length {claimed.num_bytes} is outside [0, block size {block_size}]")
    block.num_bytes = claimed.num_bytes
    block.state = schema.BLOCK_COMMITTED
    transaction.stage_update(block)
    finalize_reported(transaction, block, expected)
    return True


def finalize_reported(transaction: Transaction, block: BlockRow, expected: Sequence[UcReplicaRow]) -> None:
    """For a just-committed block: replicas finalized before the commit count if they agree with it,
    and are corrupt if they do not; one agreeing replica completes the block."""
    agreeing: list[str] = []
    for row in expected:
        if row.reported_state != schema.REPORTED_FINALIZED:
            continue
        if (row.generation_stamp, row.num_bytes) == (block.generation_stamp, block.num_bytes):
            agreeing.append(row.storage_id)
        else:
            mark_corrupt(transaction, block, row.storage_id, "length or stamp mismatch", None)
            transaction.stage_delete(row)
    if agreeing:
        complete_block(transaction, block, expected, agreeing)


# -- files ------------------------------------------------------------------------------------------


def close_file(transaction: Transaction, row: InodeRow, blocks: Sequence[BlockRow]) -> None:
    """Close a file whose blocks are all COMPLETE: final length, lease released, and every block with
    fewer replicas than wanted queued for a recount once its replicas had time to be reported."""
    check(all(block.state == schema.BLOCK_COMPLETE for block in blocks), "closing a file with open blocks")
    if row.file_stored_in_db:
        # A small file grown by an append: its bytes are all in blocks now; the inline rows go with
        # this transaction (ops/small_files.py, the growth path).
        transaction.drop_inline_data(row)
        row.file_stored_in_db = 0
    mark_closed(transaction, row, sum(block.num_bytes for block in blocks))
    if not blocks:
        return
    # The replicas stored, as this transaction leaves them: completing the last block staged its rows.
    held = {
        (replica.block_id, replica.storage_id)
        for replica in transaction.session.read_by_inodes(ReplicaRow, [row.id])
    }
    for action, staged in transaction.staged_rows(ReplicaRow):
        assert isinstance(staged, ReplicaRow)
        if staged.inode_id != row.id:
            continue
        key = (staged.block_id, staged.storage_id)
        if action == "delete":
            held.discard(key)
        else:
            held.add(key)
    counts = Counter(block_id for block_id, _ in held)
    due_ms = transaction.now_ms + transaction.context.block_config.replication_check_delay_ms
    for block in blocks:
        priority = replication_priority(counts[block.block_id], row.replication)
        if priority is not None:
            queue_block(transaction, block.key, priority, due_ms)
