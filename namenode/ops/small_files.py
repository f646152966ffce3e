"""Small files stored in the metadata store (schema v4): create-with-data, read-with-metadata, the
growth to blocks by an append (append_inline, revert_growth), and the per-directory threshold.

A small file is a closed file whose bytes live in the inline tables (namenode/dal/inline_dal.py)
instead of blocks; its inode has file_stored_in_db = 1, size = its byte count and no block rows.
The inode, its change-log rows (CREATE, then CLOSE, as an HDFS create + complete would log) and its
bytes are written by one transaction, so a crash leaves either the whole file or nothing.

Threshold: the nearest directory on the path (the file's parent first) with an `inline_policies`
row decides; else schema.INLINE_FILE_BYTES_DEFAULT. 0 means never inline (the block path).
Lock set: as create (the parent, plus the target when overwriting).
"""

from __future__ import annotations

from hopsfs.errors import InvalidArgument, LeaseConflict
from hopsfs.invariants import check
from namenode import schema
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_removal import release_blocks_of
from namenode.ops.common import (
    file_status,
    file_to_read,
    lock_file_to_write,
    lock_parent_for_new_child,
    mark_closed,
)
from namenode.ops.create import start_file
from namenode.ops.leases import check_holder_name

# Re-exported: the facade, the front end and tests name them as operations' values.
from namenode.small_file_values import InlineCreated as InlineCreated
from namenode.small_file_values import InlineRead as InlineRead
from namenode.small_file_values import SmallFile as SmallFile

BATCH_FILES_MAX = 1000  # files in one batchCreateWithData transaction
BATCH_BYTES_MAX = 32 * 1024 * 1024  # their bytes together: one IPC frame holds them all


class InlineRefused(Exception):
    """A signal to the facade, not an error: the bytes exceed the directory's threshold, so the
    transaction is rolled back and the caller told to use the block path."""

    def __init__(self, threshold_bytes: int) -> None:
        super().__init__(threshold_bytes)
        self.threshold_bytes = threshold_bytes


def create_with_data(
    transaction: Transaction,
    path: str,
    data: bytes,
    *,
    permission: int,
    overwrite: bool,
    create_parent: bool,
    replication: int,
    block_size: int,
) -> InlineCreated:
    """create + write + close in one transaction; raises InlineRefused above the threshold."""
    if len(data) > schema.INLINE_FILE_BYTES_MAX:
        raise InlineRefused(inline_threshold(transaction, resolve(transaction, path)))
    resolved, row = start_file(
        transaction,
        path,
        permission=permission,
        overwrite=overwrite,
        create_parent=create_parent,
        replication=replication,
        block_size=block_size,
        holder=None,
    )
    threshold_bytes = inline_threshold(transaction, resolved)
    if len(data) > threshold_bytes:
        raise InlineRefused(threshold_bytes)
    row.size = len(data)
    row.file_stored_in_db = 1
    transaction.store_inline_data(row, data)
    transaction.log_change("CLOSE", row)
    return InlineCreated(file_status(path, row), threshold_bytes)


def read_with_metadata(transaction: Transaction, path: str) -> InlineRead:
    """The file's status and, when it is stored inline, its bytes, read in one snapshot."""
    target = file_to_read(transaction, path)
    status = file_status(path, target)
    if not target.file_stored_in_db:
        return InlineRead(status, None)
    if not target.under_construction:
        return InlineRead(status, transaction.session.read_inline_data(target.id, target.size))
    # Being moved to blocks by an append: readers see the file as it was until the append completes.
    data = transaction.session.read_inline_data_any_tier(target.id)
    status.size = len(data)
    status.under_construction = False
    return InlineRead(status, data)


def append_inline(transaction: Transaction, path: str, holder: str) -> InlineRead:
    """The growth path's first step: reopen a small file for appending under `holder`'s lease and
    hand the writer its bytes, which it writes through a block pipeline before its own. The inline
    rows stay until the transaction that completes the file (block_state.close_file) deletes them;
    if the writer never completes, lease recovery drops its blocks and closes the file as it was
    (`revert_growth`). So a crash at any step leaves the old bytes or the new file, never less.
    A file in blocks is left alone (data None): the caller appends to it the HDFS way."""
    check_holder_name(holder)
    row = lock_file_to_write(transaction, path)
    if not row.file_stored_in_db:
        return InlineRead(file_status(path, row), None)
    if row.under_construction and row.client_name == holder:
        # The same writer asking again (its first answer was lost with a connection): the same
        # answer, so the call may simply be re-sent like an idempotent one.
        return InlineRead(file_status(path, row), transaction.session.read_inline_data_any_tier(row.id))
    if row.under_construction:
        raise LeaseConflict(
            f"Failed to APPEND_FILE {path} for {holder} because this file lease is currently owned by "
            f"{row.client_name}"
        )
    data = transaction.session.read_inline_data(row.id, row.size)
    row.size = 0  # from here the inode's size counts the bytes in its blocks, as any open file's
    row.under_construction = 1
    row.client_name = holder
    transaction.open_lease(row.id, holder)
    transaction.update(row)
    transaction.log_change("APPEND", row)
    return InlineRead(file_status(path, row), data)


def revert_growth(transaction: Transaction, row: InodeRow) -> None:
    """Lease recovery of a small file whose append never completed: drop the blocks written so far
    and close the file with its inline bytes, as it was before the append."""
    check(row.file_stored_in_db == 1 and row.under_construction == 1, "only a growing small file reverts")
    release_blocks_of(transaction, row)
    mark_closed(transaction, row, len(transaction.session.read_inline_data_any_tier(row.id)))


def inline_threshold(transaction: Transaction, resolved: ResolvedPath) -> int:
    """The small-file threshold for a new file at `resolved`: nearest directory with a policy."""
    ancestors = [row for row in resolved.rows[:-1] if row is not None]
    policies = transaction.session.read_inline_policies([row.id for row in ancestors])
    for row in reversed(ancestors):
        found = policies.get(row.id)
        if found is not None:
            return found
    return schema.INLINE_FILE_BYTES_DEFAULT


def set_inline_threshold(transaction: Transaction, path: str, threshold_bytes: int | None) -> None:
    """Set (or with None remove, inheriting again) a directory's small-file threshold. Needs WRITE
    on the directory, as HDFS's setStoragePolicy does."""
    if threshold_bytes is not None and not 0 <= threshold_bytes <= schema.INLINE_FILE_BYTES_MAX:
        raise InvalidArgument(
            f"a small-file threshold must be between 0 and {schema.INLINE_FILE_BYTES_MAX} bytes, "
            f"not {threshold_bytes}"
        )
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if not target.is_directory:
        raise InvalidArgument(f"a small-file policy applies to directories only: {path}")
    transaction.permissions.require(target, WRITE, path)
    locked = lock_parent_for_new_child(transaction, resolved, len(resolved.rows) - 1)
    transaction.set_inline_policy(locked, threshold_bytes)
    # A storage policy change as HDFS's setStoragePolicy would log it: CDC consumers see it.
    transaction.update(locked)
    transaction.log_change("STORAGE_POLICY", locked)


def refuse_inline(row_stored_in_db: int, path: str, operation: str) -> None:
    """An HDFS append of a small file: refused, the file untouched. Growing it means rewriting its
    bytes into blocks first, which only a hopsfs client does (appendInline); an HDFS client reads
    such a file like any other (ops/inline_blocks.py)."""
    if row_stored_in_db:
        raise InvalidArgument(
            f"{path} is a small file stored in the metadata store; HDFS clients cannot {operation} "
            "to it: append with the hopsfs client (which moves it to blocks), or rewrite the file"
        )
