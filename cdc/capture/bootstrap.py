"""The first start: where the stream begins, and what the log says about the namespace before it.

One consistent snapshot of the metadata store gives every inode, every change-log row not yet
trimmed, and the point the change stream continues from (SQLite: the last sequence; MariaDB: the
binlog coordinates of the snapshot, `binlog_snapshot_file/position`). Then:

- If the backlog replayed onto an empty namespace (the root alone) yields exactly the inodes of the
  snapshot, it is the namespace's whole history (the usual case: the service ran from the start),
  and it becomes the first events, so provenance and subscribers see every change.
- Otherwise (rows were trimmed by an earlier service whose state is gone) it is not, and the log
  starts with one SNAPSHOT event per existing inode instead; the backlog is dropped.

The log is written in several batches but gets its checkpoint only with the last one; a start that
finds events without a checkpoint (killed half way) deletes them and snapshots again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cdc.capture.capturer import Capturer
from cdc.capture.checkpoints import Checkpoint
from cdc.metadata import ChangeRow, InodeEntry, MetadataReader, StoreSnapshot
from cdc.settings import CAPTURE_BATCH_ROWS_MAX
from hopsfs.cdc_events import CREATION_OPERATIONS, DELETE_OPERATION, READ_OPERATION, RENAME_OPERATION
from hopsfs.types import InodeKind
from namenode.dal.connection import Backend
from namenode.schema import ROOT_INODE_ID

log = logging.getLogger("hopsfs.cdc.bootstrap")


def bootstrap(reader: MetadataReader, capturer: Capturer) -> Checkpoint:
    """Fill an empty log from a snapshot of the store; returns the checkpoint capture continues from."""
    snapshot = reader.snapshot()
    checkpoint = _checkpoint_of(reader, snapshot)
    if history_is_complete(snapshot.backlog, snapshot.inodes):
        rows = snapshot.backlog
        for start in range(0, max(len(rows), 1), CAPTURE_BATCH_ROWS_MAX):
            chunk = rows[start : start + CAPTURE_BATCH_ROWS_MAX]
            last = start + CAPTURE_BATCH_ROWS_MAX >= len(rows)
            capturer.capture(chunk, checkpoint.encode() if last else None)
        log.info("first start: %d change-log rows are the whole history; capturing them", len(rows))
        return checkpoint
    count = capturer.capture_snapshot(snapshot.inodes, checkpoint.encode())
    log.warning(
        "first start: the change log does not hold the namespace's whole history; "
        "the stream starts with %d SNAPSHOT events",
        count,
    )
    if reader.backend is Backend.MYSQL and snapshot.backlog:
        capturer.log.sync()
        reader.delete_changes([row.sequence for row in snapshot.backlog])
    return checkpoint


def history_is_complete(backlog: Sequence[ChangeRow], inodes: Sequence[InodeEntry]) -> bool:
    """True when replaying `backlog` onto the root alone gives exactly `inodes` (id, parent, name)."""
    live: dict[int, tuple[int, str, int]] = {}
    directories = {ROOT_INODE_ID}
    for row in backlog:
        operation = row.operation
        if operation == READ_OPERATION:
            continue
        if operation in CREATION_OPERATIONS:
            if row.inode_id in live or row.parent_id not in directories:
                return False
        elif row.inode_id not in live:
            return False
        if operation == DELETE_OPERATION:
            del live[row.inode_id]
            directories.discard(row.inode_id)
            continue
        if operation in CREATION_OPERATIONS or operation == RENAME_OPERATION:
            live[row.inode_id] = (row.parent_id, row.name, row.kind)
        if row.kind == InodeKind.DIRECTORY:
            directories.add(row.inode_id)
    replayed = {inode_id: (parent_id, name) for inode_id, (parent_id, name, _) in live.items()}
    expected = {entry.inode_id: (entry.parent_id, entry.name) for entry in inodes}
    expected.pop(ROOT_INODE_ID, None)
    return replayed == expected


def _checkpoint_of(reader: MetadataReader, snapshot: StoreSnapshot) -> Checkpoint:
    if reader.backend is Backend.SQLITE:
        return Checkpoint(backend="sqlite", sequence=snapshot.last_sequence)
    assert snapshot.binlog is not None
    return Checkpoint(
        backend="mysql", binlog_file=snapshot.binlog.file, binlog_position=snapshot.binlog.position
    )
