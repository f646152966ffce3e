"""Leases: which client writes which file, HDFS style.

A file created with a holder (the client name HDFS clients send) is under construction until that
holder completes it. Another client may not create over it while the holder keeps renewing; once
the holder's lease is older than the soft limit, an overwriting create takes the file over (the
datanode issue adds block recovery; an empty file has nothing to recover).

Lock set: `complete` write-locks the file's row (its parent is not changed).
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import FileNotFound, InvalidArgument, IsADirectory, LeaseConflict, LeaseExpired
from namenode.engine.resolver import check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import check_path_free


def check_holder_name(holder: str) -> None:
    if not holder or len(holder.encode("utf-8")) > limits.LEASE_CLIENT_NAME_BYTES_MAX or "\x00" in holder:
        raise InvalidArgument(
            f"client name must be 1 to {limits.LEASE_CLIENT_NAME_BYTES_MAX} bytes without NUL: {holder!r}"
        )


def refuse_open_file(transaction: Transaction, row: InodeRow, path: str, holder: str | None) -> None:
    """Raise unless `row`, open for writing, may be replaced by `holder` now."""
    current = row.client_name or ""
    if holder is not None and current == holder:
        raise LeaseConflict(
            f"failed to create file {path} for {holder}: the current lease holder is trying to recreate it"
        )
    renewed_ms = transaction.session.read_lease_renewal_ms(current) if current else None
    if renewed_ms is not None and transaction.now_ms - renewed_ms < limits.LEASE_SOFT_LIMIT_MS:
        raise LeaseConflict(
            f"failed to create file {path} for {holder or transaction.caller.user}: "
            f"it is being written by {current}"
        )


def complete(transaction: Transaction, path: str, holder: str, file_id: int) -> bool:
    """Close a file its holder has finished writing; True once it is closed (a retry is True too)."""
    check_holder_name(holder)
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if target.is_directory:
        raise IsADirectory(f"{path} is a directory, not a file being written")
    if file_id and target.id != file_id:
        raise FileNotFound(f"File does not exist: {path} (inode {file_id}): it was deleted or replaced")
    check_path_free(transaction, resolved)
    row = transaction.lock([target])[target.id]
    if not row.under_construction:
        if file_id:
            return True  # a retried complete of the file this client closed
        raise LeaseExpired(f"No lease on {path}: File is not open for writing. Holder {holder} has no lease")
    if row.client_name != holder:
        raise LeaseExpired(f"No lease on {path}: the lease is held by {row.client_name}, not {holder}")
    row.under_construction = 0
    row.client_name = None
    row.modification_time = transaction.now_ms
    transaction.close_lease(row.id)
    transaction.update(row)
    transaction.log_change("CLOSE", row)
    return True


def renew(transaction: Transaction, holder: str) -> None:
    check_holder_name(holder)
    transaction.session.renew_lease(holder, transaction.now_ms)
