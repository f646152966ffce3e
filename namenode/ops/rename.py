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
from hopsfs.paths import child_path, is_same_or_under, split_path
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import check_path_free, remove_child
from namenode.ops.delete import delete_single_inode


def rename(
    transaction: Transaction, source_path: str, target_path: str, *, overwrite: bool, legacy: bool
) -> bool:
    """Move `source_path` to `target_path`, checking in HDFS's order: the destination path, both
    resolutions, permissions (sticky bit and WRITE on the source parent, WRITE on the destination's
    deepest existing ancestor), then the rename's own rules. Legacy rename moves into an existing
    directory and answers False where rename2 raises FileNotFound, FileAlreadyExists or InvalidRename.
    """
    split_path(target_path)  # an invalid destination is refused whatever the source
    source = resolve(transaction, source_path)
    check_traverse(transaction, source)
    target = resolve(transaction, target_path)
    check_traverse(transaction, target)
    if legacy and not source.is_root and target.target is not None and target.target.is_directory:
        target = resolve(transaction, child_path(target_path, source.name))
        check_traverse(transaction, target)
    if target.blocked_at is not None:
        raise ParentNotDirectory(f"{target.prefix(target.blocked_at)} (is not a directory)")
    _check_permissions(transaction, source, target)
    try:
        _validate(source, target, overwrite)
    except _SamePath:
        if legacy:
            return True
        raise FileAlreadyExists(
            f"The source {source.path} and destination {target.path} are the same"
        ) from None
    except (FileNotFound, FileAlreadyExists, InvalidRename):
        if legacy:
            return False
        raise
    check_path_free(transaction, source)
    check_path_free(transaction, target)
    _move(transaction, source, target)
    return True


class _SamePath(Exception):
    """Source and destination are one path: rename2 refuses, legacy rename succeeds doing nothing."""


def _check_permissions(transaction: Transaction, source: ResolvedPath, target: ResolvedPath) -> None:
    permissions = transaction.permissions
    source_parent = source.parent
    if source_parent is not None:
        if source.target is not None:
            permissions.require_sticky_ok(source_parent, source.target, source.path)
        permissions.require(source_parent, WRITE, source.prefix(len(source.components) - 1))
    if not target.is_root:
        index = target.deepest_existing(len(target.components) - 1)
        ancestor = target.rows[index]
        assert ancestor is not None
        permissions.require(ancestor, WRITE, target.prefix(index))


def _validate(source: ResolvedPath, target: ResolvedPath, overwrite: bool) -> None:
    """HDFS unprotectedRenameTo's checks, in its order."""
    source_row = source.target
    if source_row is None:
        raise FileNotFound(f"rename source {source.path} is not found.")
    if source.is_root:
        raise InvalidRename("rename source cannot be the root")
    if target.path == source.path:
        raise _SamePath
    if source_row.is_symlink and target.path == source_row.symlink_target:
        raise FileAlreadyExists(f"Cannot rename symlink {source.path} to its target {target.path}")
    if is_same_or_under(target.path, source.path):
        raise InvalidRename(
            f"Rename destination {target.path} is a directory or file under source {source.path}"
        )
    if target.is_root:
        raise InvalidRename(f"rename destination cannot be the root: {target.path}")
    existing = target.target
    if existing is not None:
        if existing.is_directory != source_row.is_directory:
            raise InvalidRename(
                f"Source {source.path} and destination {target.path} must both be directories"
            )
        if not overwrite:
            raise FileAlreadyExists(f"rename destination {target.path} already exists.")
        if existing.is_directory and existing.children_count:
            raise InvalidRename(f"rename destination directory is not empty: {target.path}")
    if target.parent is None:
        raise FileNotFound(
            f"rename destination parent {target.prefix(len(target.components) - 1)} not found."
        )


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
