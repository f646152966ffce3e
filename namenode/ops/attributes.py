"""Attribute changes on one inode: permission, owner/group, times, replication.

Lock set: the target only.
"""

from __future__ import annotations

from collections.abc import Callable

from hopsfs import limits
from hopsfs.errors import FileNotFound, InvalidArgument, PermissionDenied
from namenode import schema
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_state import queue_block
from namenode.ops.common import check_path_free, check_permission_value, check_replication_value


def set_permission(transaction: Transaction, path: str, permission: int) -> None:
    check_permission_value(permission)

    def change(row: InodeRow) -> None:
        transaction.permissions.require_owner(row, path)
        row.permission = permission

    _change_target(transaction, path, "SET_PERMISSION", change)


def set_owner(transaction: Transaction, path: str, owner: str | None, group: str | None) -> None:
    """HDFS rules: only the superuser gives a file away; an owner may pick one of its own groups."""
    if owner is None and group is None:
        raise InvalidArgument("set_owner needs an owner or a group")
    for value in (owner, group):
        if value is not None and (not value or len(value.encode("utf-8")) > limits.USER_NAME_BYTES_MAX):
            raise InvalidArgument(f"invalid user or group name {value!r}")

    def change(row: InodeRow) -> None:
        permissions = transaction.permissions
        permissions.require_owner(row, path)
        if not permissions.is_superuser:
            if owner is not None and owner != row.owner:
                raise PermissionDenied(
                    f"User {transaction.caller.user} is not a super user "
                    "(non-super user cannot change owner)."
                )
            if group is not None and group not in transaction.caller.groups:
                raise PermissionDenied(f"User {transaction.caller.user} does not belong to {group}")
        if owner is not None:
            row.owner = owner
        if group is not None:
            row.group_name = group

    _change_target(transaction, path, "SET_OWNER", change)


def set_times(transaction: Transaction, path: str, modification_time_ms: int, access_time_ms: int) -> None:
    """-1 leaves a time unchanged, as in HDFS."""
    for value in (modification_time_ms, access_time_ms):
        if not isinstance(value, int) or value < -1:
            raise InvalidArgument(f"times must be milliseconds since the epoch or -1, not {value!r}")

    def change(row: InodeRow) -> None:
        transaction.permissions.require(row, WRITE, path)
        if modification_time_ms != -1:
            row.modification_time = modification_time_ms
        if access_time_ms != -1:
            row.access_time = access_time_ms

    _change_target(transaction, path, "SET_TIMES", change)


def set_replication(transaction: Transaction, path: str, replication: int) -> bool:
    """True when a file's factor was set; False for a missing path, a directory or a symlink (HDFS).
    A changed factor queues the file's complete blocks for a recount: housekeeping copies or deletes
    replicas until each block has the new number."""
    check_replication_value(replication)
    changed: list[InodeRow] = []

    def change(row: InodeRow) -> None:
        transaction.permissions.require(row, WRITE, path)
        if row.is_file:
            if row.replication != replication:
                changed.append(row)
            row.replication = replication

    try:
        resolved = _change_target(transaction, path, "SET_REPLICATION", change)
    except FileNotFound:
        return False
    for row in changed:
        for block in transaction.session.read_blocks_of_inode(row.id, lock="write"):
            if block.state == schema.BLOCK_COMPLETE:
                queue_block(transaction, block.key, schema.QUEUE_RECHECK, transaction.now_ms)
    target = resolved.target
    return target is not None and target.is_file


def _change_target(
    transaction: Transaction, path: str, operation: str, change: Callable[[InodeRow], None]
) -> ResolvedPath:
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    check_path_free(transaction, resolved)
    locked = transaction.lock([target])[target.id]
    before = locked.values()
    change(locked)
    if locked.values() != before:
        transaction.update(locked)
        transaction.log_change(operation, locked)
    return resolved
