"""Pieces several operations share: new inode rows, parent bookkeeping, status conversion."""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import FileNotFound, InvalidArgument, LimitExceeded, ParentNotDirectory, StaleResolution
from hopsfs.invariants import check
from hopsfs.types import FileStatus, InodeKind
from namenode.engine.permissions import READ, WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow, key_for, new_inode_row

PERMISSION_BITS_MAX = 0o1777
IMPLICIT_PARENT_BITS = 0o300  # HDFS gives implicitly created parents u+wx so the caller can go on


def check_permission_value(permission: int) -> None:
    if not isinstance(permission, int) or not 0 <= permission <= PERMISSION_BITS_MAX:
        raise InvalidArgument(f"permission must be an integer between 0 and 0o1777, not {permission!r}")


def check_replication_value(replication: int) -> None:
    in_range = (
        isinstance(replication, int) and limits.REPLICATION_MIN <= replication <= limits.REPLICATION_MAX
    )
    if not in_range:
        raise InvalidArgument(
            f"Requested replication factor of {replication} is outside "
            f"[{limits.REPLICATION_MIN}, {limits.REPLICATION_MAX}]"
        )


def new_inode(
    transaction: Transaction, parent: InodeRow, name: str, kind: InodeKind, permission: int, **fields: object
) -> InodeRow:
    """A fresh row owned by the caller; group inherited from the parent (HDFS/BSD semantics)."""
    row = new_inode_row(
        key_for(parent.id, name),
        transaction.new_inode_id(),
        kind,
        permission,
        transaction.caller.user,
        parent.group_name,
        transaction.now_ms,
    )
    row.access_time = transaction.now_ms if kind is InodeKind.FILE else 0
    row.storage_policy = parent.storage_policy
    for field_name, value in fields.items():
        setattr(row, field_name, value)
    return row


def add_child(transaction: Transaction, parent: InodeRow, child: InodeRow, operation: str) -> None:
    """Insert `child` under `parent`, keeping the parent's child count and mtime, and log it."""
    check(child.parent_id == parent.id, "child must point at the parent it is added to")
    if parent.children_count >= limits.DIRECTORY_ITEMS_MAX:
        raise LimitExceeded(
            f"The directory item limit of {limits.DIRECTORY_ITEMS_MAX} is exceeded: "
            f"items={parent.children_count}"
        )
    parent.children_count += 1
    parent.modification_time = transaction.now_ms
    transaction.insert(child)
    transaction.log_change(operation, child)


def remove_child(transaction: Transaction, parent: InodeRow, child: InodeRow) -> None:
    check(child.parent_id == parent.id, "child must be removed from its own parent")
    check(parent.children_count > 0, "removing a child from a directory that counts none")
    parent.children_count -= 1
    parent.modification_time = transaction.now_ms


def lock_parent_for_new_child(
    transaction: Transaction,
    resolved: ResolvedPath,
    parent_index: int,
    extra: list[InodeRow | None] | None = None,
) -> InodeRow:
    """Lock rows[parent_index] (plus `extra`), then make sure the child slot is still as resolved."""
    parent = resolved.rows[parent_index]
    check(parent is not None, "locking a parent that does not exist")
    assert parent is not None
    locked = transaction.lock([parent, *(extra or [])])
    fresh = locked[parent.id]
    if not fresh.is_directory:
        raise ParentNotDirectory(f"{resolved.prefix(parent_index)} (is not a directory)")
    if transaction.uses_row_locks and parent_index + 1 <= len(resolved.components):
        name = resolved.components[parent_index]
        expected = resolved.rows[parent_index + 1]
        current = transaction.read_child(fresh, name)
        if (current is None) != (expected is None) or (current and expected and current.id != expected.id):
            raise StaleResolution(
                f"{resolved.prefix(parent_index + 1)} changed while its parent was being locked"
            )
    for index, row in enumerate(resolved.rows):
        if row is not None and row.id in locked:
            resolved.rows[index] = locked[row.id]
    return fresh


def create_missing_directories(
    transaction: Transaction,
    resolved: ResolvedPath,
    upto: int,
    permission: int,
    final_permission: int | None = None,
) -> InodeRow:
    """Create directories for components [deepest existing, upto) and return the last one's row.

    The deepest existing ancestor must already be locked and checked for WRITE. Implicit parents
    get `permission` without its sticky bit plus u+wx (HDFS addImplicitUwx), so the caller can
    always go on below them; the directory at `upto` - 1 gets `final_permission` when given.
    """
    deepest = resolved.deepest_existing(upto)
    parent = resolved.rows[deepest]
    check(parent is not None and parent.is_directory, "missing directories need an existing directory above")
    assert parent is not None
    if deepest >= upto:
        return parent
    transaction.update(parent)
    implicit_mode = (permission & 0o777) | IMPLICIT_PARENT_BITS
    for index in range(deepest, upto):
        last = index == upto - 1
        mode = final_permission if last and final_permission is not None else implicit_mode
        child = new_inode(transaction, parent, resolved.components[index], InodeKind.DIRECTORY, mode)
        add_child(transaction, parent, child, "MKDIR")
        resolved.rows[index + 1] = child
        parent = child
    return parent


def check_path_free(transaction: Transaction, resolved: ResolvedPath) -> None:
    """SubtreeBusy if any inode on the path is the root of another namenode's live subtree operation."""
    for index, row in enumerate(resolved.rows):
        if row is None:
            break
        if row.subtree_lock_owner is not None:
            transaction.check_not_subtree_locked(row, resolved.prefix(index))


_KINDS = {kind.value: kind for kind in InodeKind}  # a dict lookup is 5x cheaper than InodeKind(value)


def file_status(path: str, row: InodeRow) -> FileStatus:
    return FileStatus(
        path=path,
        inode_id=row.id,
        kind=_KINDS[row.kind],
        permission=row.permission,
        owner=row.owner,
        group=row.group_name,
        size=row.size,
        modification_time_ms=row.modification_time,
        access_time_ms=row.access_time,
        replication=row.replication,
        block_size=row.block_size,
        children_count=row.children_count,
        symlink_target=row.symlink_target,
        storage_policy=row.storage_policy,
        under_construction=bool(row.under_construction),
    )


def file_to_read(transaction: Transaction, path: str) -> InodeRow:
    """The file at `path` once the caller may read it (traverse, a file, READ); not locked."""
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if not target.is_file:
        raise FileNotFound(f"Path is not a file: {path}")
    transaction.permissions.require(target, READ, path)
    return target


def lock_file_to_write(transaction: Transaction, path: str) -> InodeRow:
    """The file at `path`, write-locked, once HDFS's checks for reopening or recovering it pass: it is
    a file, the caller may write it, and no subtree operation holds it (append, recoverLease)."""
    return lock_resolved_file_to_write(transaction, path)[1]


def lock_resolved_file_to_write(transaction: Transaction, path: str) -> tuple[ResolvedPath, InodeRow]:
    """lock_file_to_write, with the path's resolution for a caller that needs its ancestors too."""
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if not target.is_file:
        raise FileNotFound(f"Path is not a file: {path}")
    transaction.permissions.require(target, WRITE, path)
    check_path_free(transaction, resolved)
    return resolved, transaction.lock([target])[target.id]


def mark_closed(transaction: Transaction, row: InodeRow, size: int) -> None:
    """The last step of every way a file is closed (complete, lease recovery, an inline complete):
    its final size, no writer, a new modification time, the lease released, CLOSE logged."""
    row.size = size
    row.under_construction = 0
    row.client_name = None
    row.modification_time = transaction.now_ms
    transaction.close_lease(row.id)
    transaction.update(row)
    transaction.log_change("CLOSE", row)
