"""Rename, with HDFS rename2 (options) and legacy rename semantics.

A rename re-keys one row: the moved inode's (partition_id, parent_id, name) change, its id and its
whole subtree stay where they are, so moving a directory of any size is one small transaction.

Lock set: both parents, the source, and the destination if it exists. A directory move also locks
every directory on both chains from their lowest common ancestor down. Any rename that could form a
cycle together with this one must move an inode on one of those chains and so must lock it, so the
"destination is not inside the source" check runs on a chain nobody else can change meanwhile.
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import (
    FileAlreadyExists,
    FileNotFound,
    InvalidRename,
    LimitExceeded,
    ParentNotDirectory,
    StaleResolution,
)
from hopsfs.paths import is_same_or_under
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import check_path_free, child_path, remove_child
from namenode.ops.delete import delete_single_inode


def rename(
    transaction: Transaction, source_path: str, target_path: str, *, overwrite: bool, legacy: bool
) -> bool:
    """Move `source_path` to `target_path`. Legacy: moves into an existing directory, False on conflicts."""
    source = resolve(transaction, source_path)
    check_traverse(transaction, source)
    source_row = source.target
    if source_row is None:
        raise FileNotFound(f"rename source {source_path} is not found.")
    if source.is_root:
        raise InvalidRename("rename source cannot be the root")
    target = resolve(transaction, target_path)
    check_traverse(transaction, target)
    if legacy and target.target is not None and target.target.is_directory and target_path != source_path:
        target_path = child_path(target_path, source.name)
        target = resolve(transaction, target_path)
    if target_path == source_path:
        if legacy:
            return True
        raise FileAlreadyExists(f"The source {source_path} and destination {target_path} are the same")
    if is_same_or_under(target_path, source_path):
        raise InvalidRename(
            f"Rename destination {target_path} is a directory or file under source {source_path}"
        )
    if target.is_root:
        raise InvalidRename(f"rename destination cannot be the root: {target_path}")
    refusal = _target_refusal(target, source_row, target_path, overwrite)
    if refusal is not None:
        if legacy and isinstance(refusal, FileAlreadyExists | FileNotFound):
            return False
        raise refusal
    check_path_free(transaction, source)
    check_path_free(transaction, target)
    _move(transaction, source, target)
    return True


def _target_refusal(
    target: ResolvedPath, source_row: InodeRow, target_path: str, overwrite: bool
) -> Exception | None:
    if target.blocked_at is not None:
        return ParentNotDirectory(f"rename destination parent {target.prefix(target.blocked_at)} is a file.")
    if target.parent is None:
        return FileNotFound(
            f"rename destination parent {target.prefix(len(target.components) - 1)} not found."
        )
    existing = target.target
    if existing is None:
        return None
    if not overwrite:
        return FileAlreadyExists(f"rename destination {target_path} already exists.")
    if existing.is_directory and not source_row.is_directory:
        return InvalidRename(f"Source is a file but destination {target_path} is a directory")
    if source_row.is_directory and not existing.is_directory:
        return InvalidRename(f"Source is a directory but destination {target_path} is a file")
    if existing.is_directory and existing.children_count:
        return InvalidRename(f"rename destination directory is not empty: {target_path}")
    return None


def _move(transaction: Transaction, source: ResolvedPath, target: ResolvedPath) -> None:
    locked = transaction.lock(_lock_set(source, target))
    source_parent = locked[_row(source, -2).id]
    source_row = locked[_row(source, -1).id]
    target_parent = locked[_row(target, -2).id]
    existing = locked.get(target.target.id) if target.target is not None else None
    if transaction.uses_row_locks:
        current = transaction.read_child(target_parent, target.name)
        if (current is None) != (existing is None) or (current and existing and current.id != existing.id):
            raise StaleResolution(f"rename destination {target.path} changed while it was being locked")
        if existing is not None and existing.is_directory and existing.children_count:
            raise InvalidRename(f"rename destination directory is not empty: {target.path}")
    permissions = transaction.permissions
    permissions.require(source_parent, WRITE, source.prefix(len(source.components) - 1))
    permissions.require_sticky_ok(source_parent, source_row, source.path)
    permissions.require(target_parent, WRITE, target.prefix(len(target.components) - 1))
    if existing is not None:
        permissions.require_sticky_ok(target_parent, existing, target.path)
        delete_single_inode(transaction, target_parent, existing)
    if target_parent.id != source_parent.id and target_parent.children_count >= limits.DIRECTORY_ITEMS_MAX:
        raise LimitExceeded(f"The directory item limit of {limits.DIRECTORY_ITEMS_MAX} is exceeded")
    remove_child(transaction, source_parent, source_row)
    target_parent.children_count += 1
    target_parent.modification_time = transaction.now_ms
    transaction.update(source_parent)
    transaction.update(target_parent)
    previous_parent_id, previous_name = source_row.parent_id, source_row.name
    moved = transaction.move(source_row, target_parent.id, target.name)
    transaction.log_change(
        "RENAME", moved, previous_parent_id=previous_parent_id, previous_name=previous_name
    )


def _lock_set(source: ResolvedPath, target: ResolvedPath) -> list[InodeRow | None]:
    rows: list[InodeRow | None] = [source.rows[-2], source.rows[-1], target.rows[-2], target.rows[-1]]
    source_row = source.rows[-1]
    if source_row is not None and source_row.is_directory:
        common = _common_prefix_length(source, target)
        rows.extend(source.rows[common:-1])
        rows.extend(target.rows[common:-1])
    return rows


def _common_prefix_length(source: ResolvedPath, target: ResolvedPath) -> int:
    """Index of the lowest common ancestor directory in both chains' rows."""
    index = 0
    limit = min(len(source.rows), len(target.rows)) - 1
    while index < limit:
        left, right = source.rows[index + 1], target.rows[index + 1]
        if left is None or right is None or left.id != right.id:
            break
        index += 1
    return index


def _row(resolved: ResolvedPath, index: int) -> InodeRow:
    row = resolved.rows[index]
    if row is None:
        raise StaleResolution(f"{resolved.path} changed during rename")
    return row
