"""Lease recovery: closing a file whose writer is gone (HDFS internalReleaseLease + block recovery).

Started by recoverLease (another client wants the file) or by housekeeping when the writer has not
renewed its lease for the hard limit. The file's lease moves to the namenode's recovery holder, then:
- no block, or every block COMPLETE: the file is closed at once;
- the last block UNDER_CONSTRUCTION: phase 1 bumps its generation stamp (old + 1), sets it
  UNDER_RECOVERY and sends RECOVER to every live expected holder; each seals its replica at the new
  stamp and answers with its length (`report_recovered_replica`);
- phase 2, once every live holder answered (or the recovery timed out and at least one did): the
  block is COMMITTED at the shortest answered length (bytes every holder has) and FINALIZE_RECOVERED goes
  to the holders that answered; their `received` reports complete the block and the next look closes
  the file;
- a recovery that timed out with no answer starts again while a holder lives; with no live holder (or
  none that ever held a byte) the last block is dropped: its bytes survive nowhere.
A COMMITTED last block only waits for its replicas, unless no holder of it is alive.
A truncate inside a block (ops/truncate.py) starts phase 1 itself and leaves a `block_truncations`
row: phase 2 then commits the block at that row's length (replicas shorter than it do not count), the
file keeps its truncating client's lease, and closing the file deletes the row.

Lock set: the file's inode row, then its blocks' rows.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence

from hopsfs.errors import InvalidArgument, LeaseConflict, SubtreeBusy
from namenode import schema
from namenode.block_entities import CommandKind
from namenode.block_rows import BlockRow, TruncationRow, UcReplicaRow
from namenode.engine.block_config import RECOVERY_LEASE_HOLDER
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_reports import reporting_datanode
from namenode.ops.block_state import (
    NOT_REPORTED,
    DatanodeView,
    close_file,
    describe,
    invalidate_on,
    queue_command,
    remove_last_block,
)
from namenode.ops.common import lock_file_to_write
from namenode.ops.leases import check_holder_name
from namenode.ops.small_files import revert_growth

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    CLOSED = "closed"
    DROPPED = "dropped"  # closed without its last block, whose bytes survive nowhere
    RECOVERING = "recovering"  # waiting for datanodes to answer or finalize
    WAITING = "waiting"  # committed blocks waiting for their replicas to be reported
    SKIPPED = "skipped"  # not open, or its writer renewed the lease after all


def recover_lease(transaction: Transaction, path: str, holder: str) -> bool:
    """HDFS recoverLease: True when the file is closed (or was not open); else recovery runs and the
    caller asks again later."""
    check_holder_name(holder)
    row = lock_file_to_write(transaction, path)
    if not row.under_construction:
        return True
    if row.client_name == holder:
        raise LeaseConflict(
            f"Failed to RECOVER_LEASE {path} for {holder}: the current lease holder is trying to recreate it"
        )
    return advance(transaction, row) in (Outcome.CLOSED, Outcome.DROPPED)


def recover_file(transaction: Transaction, inode_id: int, *, expired_before_ms: int | None) -> Outcome:
    """Housekeeping's step for one open file: start or advance its recovery. With `expired_before_ms`
    the file is taken only if its holder still has not renewed since then."""
    files = transaction.session.read_inodes_by_ids([inode_id])
    if not files or not files[0].under_construction:
        return Outcome.SKIPPED
    try:
        row = transaction.lock(files)[inode_id]
    except SubtreeBusy:
        return Outcome.SKIPPED  # inside a subtree operation (a delete, most likely): look next round
    if not row.under_construction:
        return Outcome.SKIPPED
    if expired_before_ms is not None and row.client_name != RECOVERY_LEASE_HOLDER:
        renewed_ms = transaction.session.read_lease_renewal_ms(row.client_name or "")
        if renewed_ms is not None and renewed_ms >= expired_before_ms:
            return Outcome.SKIPPED
    return advance(transaction, row)


def report_recovered_replica(
    transaction: Transaction, datanode_uuid: str, block_id: int, new_generation_stamp: int, num_bytes: int
) -> None:
    """A holder's answer to RECOVER: its replica sealed at `new_generation_stamp` with `num_bytes`."""
    datanode = reporting_datanode(transaction, datanode_uuid)
    if num_bytes < 0:
        raise InvalidArgument(f"a recovered replica cannot hold {num_bytes} bytes")
    inode_id = transaction.session.read_lookups([block_id]).get(block_id)
    files = transaction.session.read_inodes_by_ids([inode_id]) if inode_id is not None else []
    if not files:
        log.info("recovered replica of deleted blk_%d from %s ignored", block_id, datanode_uuid)
        return
    row = transaction.lock(files)[files[0].id]
    blocks = transaction.session.read_by_blocks(BlockRow, [(row.id, block_id)], lock="write")
    block = blocks[0] if blocks else None
    if (
        block is None
        or block.state != schema.BLOCK_UNDER_RECOVERY
        or block.generation_stamp != new_generation_stamp
    ):
        log.info(
            "stale recovery answer blk_%d_%d from %s ignored", block_id, new_generation_stamp, datanode_uuid
        )
        return
    if num_bytes > row.block_size:
        raise InvalidArgument(
            f"a recovered replica of {num_bytes} bytes exceeds the block size {row.block_size}"
        )
    expected = transaction.session.read_by_blocks(UcReplicaRow, [block.key])
    mine = next((location for location in expected if location.storage_id == datanode.storage_id), None)
    if mine is None:
        log.info("recovery answer for %s from %s, which was not asked", describe(block), datanode_uuid)
        return
    mine.reported_state = schema.REPORTED_RECOVERED
    mine.generation_stamp = new_generation_stamp
    mine.num_bytes = num_bytes
    transaction.stage_update(mine)
    view = DatanodeView.load(transaction)
    cut_bytes = _truncation_bytes(transaction, row)
    _commit_if_agreed(transaction, row, block, expected, view, cut_bytes=cut_bytes, timed_out=False)


def advance(transaction: Transaction, row: InodeRow) -> Outcome:
    """Move the recovery of a locked, open file one step forward (see the module docstring)."""
    truncations = transaction.session.read_by_inodes(TruncationRow, [row.id])
    outcome = _advance(transaction, row, cut_bytes=truncations[0].num_bytes if truncations else None)
    if outcome in (Outcome.CLOSED, Outcome.DROPPED):
        for truncation in truncations:
            transaction.stage_delete(truncation)
    return outcome


def _advance(transaction: Transaction, row: InodeRow, *, cut_bytes: int | None) -> Outcome:
    """`cut_bytes`: the length a truncate commits the last block at, None for a lease recovery."""
    if row.client_name != RECOVERY_LEASE_HOLDER and cut_bytes is None:
        log.info("lease recovery of inode %d from holder %s", row.id, row.client_name)
        row.client_name = RECOVERY_LEASE_HOLDER
        transaction.close_lease(row.id)
        transaction.open_lease(row.id, RECOVERY_LEASE_HOLDER)
        transaction.update(row)
    if row.file_stored_in_db:
        # A small file whose append never completed: back to its inline bytes (small_files.py).
        revert_growth(transaction, row)
        return Outcome.CLOSED
    blocks = transaction.session.read_blocks_of_inode(row.id, lock="write")
    if all(block.state == schema.BLOCK_COMPLETE for block in blocks):
        close_file(transaction, row, blocks)
        return Outcome.CLOSED
    if any(block.state != schema.BLOCK_COMPLETE for block in blocks[:-1]):
        return Outcome.WAITING
    last = blocks[-1]
    expected = transaction.session.read_by_blocks(UcReplicaRow, [last.key])
    view = DatanodeView.load(transaction)
    live = [location for location in expected if view.live_by_storage(location.storage_id)]
    if last.state == schema.BLOCK_COMMITTED:
        if live:
            return Outcome.WAITING
        return _drop_last_block(transaction, row, blocks, expected, view)
    if last.state == schema.BLOCK_UNDER_RECOVERY:
        started_ms = max((location.recovery_started_ms for location in expected), default=0)
        timed_out = transaction.now_ms - started_ms >= transaction.context.block_config.recovery_timeout_ms
        committed = _commit_if_agreed(
            transaction, row, last, expected, view, cut_bytes=cut_bytes, timed_out=timed_out
        )
        if committed or not timed_out:
            return Outcome.RECOVERING
    never_written = last.num_bytes == 0 and all(
        location.reported_state == schema.REPORTED_NOTHING for location in expected
    )
    if not live or (never_written and last.state == schema.BLOCK_UNDER_RECOVERY):
        return _drop_last_block(transaction, row, blocks, expected, view)
    start_phase_one(transaction, last, expected, view)
    return Outcome.RECOVERING


def start_phase_one(
    transaction: Transaction, last: BlockRow, expected: Sequence[UcReplicaRow], view: DatanodeView
) -> None:
    old_stamp = last.generation_stamp
    last.generation_stamp = old_stamp + 1
    last.state = schema.BLOCK_UNDER_RECOVERY
    transaction.stage_update(last)
    for location in expected:
        # The lowest stamp this holder's replica may be at. A recovery started again (its answers
        # were lost, say with a killed namenode) must still take replicas that never saw the first
        # RECOVER: they are at the stamp the block had before any recovery, which the row keeps.
        if location.generation_stamp == NOT_REPORTED:
            location.generation_stamp = old_stamp
        location.recovery_started_ms = transaction.now_ms
        transaction.stage_update(location)
        holder = view.live_by_storage(location.storage_id)
        if holder is not None:
            queue_command(
                transaction,
                holder.datanode_uuid,
                CommandKind.RECOVER,
                last.block_id,
                location.generation_stamp,
                num_bytes=last.num_bytes,
                new_generation_stamp=last.generation_stamp,
            )
    log.info("lease recovery of %s: RECOVER sent to %d holder(s)", describe(last), len(expected))


def _commit_if_agreed(
    transaction: Transaction,
    row: InodeRow,
    last: BlockRow,
    expected: Sequence[UcReplicaRow],
    view: DatanodeView,
    *,
    cut_bytes: int | None,
    timed_out: bool,
) -> bool:
    """Phase 2: commit the block at the shortest answered length (a truncate's: `cut_bytes`) once
    the live holders answered (all of them, or at least one after the timeout); FINALIZE_RECOVERED
    to the ones that answered."""
    forced_bytes = cut_bytes or 0
    answered = [
        location
        for location in expected
        if location.reported_state == schema.REPORTED_RECOVERED
        and location.generation_stamp == last.generation_stamp
        and location.num_bytes >= forced_bytes
    ]
    if not answered:
        return False
    waiting = [
        location
        for location in expected
        if location not in answered and view.live_by_storage(location.storage_id) is not None
    ]
    if waiting and not timed_out:
        return False
    length = cut_bytes if cut_bytes is not None else min(location.num_bytes for location in answered)
    row.size += length - last.num_bytes
    transaction.update(row)
    last.num_bytes = length
    last.state = schema.BLOCK_COMMITTED
    transaction.stage_update(last)
    for location in expected:
        holder = view.by_storage(location.storage_id)
        if location not in answered or holder is None:
            transaction.stage_delete(location)
            if cut_bytes is not None and holder is not None:
                # Its replica is a whole finalized one, longer than the file now says: it must go.
                invalidate_on(transaction, holder.datanode_uuid, last.block_id, last.generation_stamp)
            continue
        queue_command(
            transaction,
            holder.datanode_uuid,
            CommandKind.FINALIZE_RECOVERED,
            last.block_id,
            last.generation_stamp,
            num_bytes=length,
            new_generation_stamp=last.generation_stamp,
        )
    log.info("lease recovery of %s: committed at %d bytes", describe(last), length)
    return True


def _drop_last_block(
    transaction: Transaction,
    row: InodeRow,
    blocks: Sequence[BlockRow],
    expected: Sequence[UcReplicaRow],
    view: DatanodeView,
) -> Outcome:
    last = blocks[-1]
    log.warning(
        "lease recovery of inode %d drops %s: no datanode holding it survives", row.id, describe(last)
    )
    remove_last_block(transaction, row, last, expected, view)
    close_file(transaction, row, blocks[:-1])
    return Outcome.DROPPED


def _truncation_bytes(transaction: Transaction, row: InodeRow) -> int | None:
    """The length a truncate in progress commits the file's last block at; None when none is."""
    truncations = transaction.session.read_by_inodes(TruncationRow, [row.id])
    return truncations[0].num_bytes if truncations else None
