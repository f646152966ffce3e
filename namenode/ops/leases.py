"""Leases: which client writes which file, HDFS style.

A file created with a holder (the client name HDFS clients send) is under construction until that
holder completes it (ops/blocks.py). Another client may not create over it while the holder keeps
renewing; once the holder's lease is older than the soft limit, an overwriting create takes the file
over; past the hard limit, housekeeping recovers it (ops/lease_recovery.py).
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import InvalidArgument, LeaseConflict
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow


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


def renew(transaction: Transaction, holder: str) -> None:
    check_holder_name(holder)
    transaction.session.renew_lease(holder, transaction.now_ms)


def forget_idle_holder(transaction: Transaction, holder: str, expired_before_ms: int) -> bool:
    """Delete the lease row of a holder that holds no file and has not renewed since
    `expired_before_ms` (a client that went away); True when deleted."""
    renewed_ms = transaction.session.read_lease_renewal_ms(holder)
    if renewed_ms is None or renewed_ms >= expired_before_ms:
        return False
    if transaction.session.read_lease_path_inodes(holder, 1):
        return False
    transaction.session.delete_lease_holder(holder)
    return True
