"""Delete: a file, a symlink, an empty directory, or a whole subtree.

Lock set: the parent and the target, then (on MySQL) every directory of the subtree before its
children are listed: a creator locks the directory it adds to, so a locked directory cannot gain a
child behind the walk's back. A subtree larger than SUBTREE_TXN_INODES_MAX inodes is not deleted
here: `SubtreeTooLarge` tells the engine to run the subtree protocol (ops/subtree.py) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs import limits
from hopsfs.errors import DirectoryNotEmpty, HopsFSError
from hopsfs.invariants import check
from hopsfs.paths import child_path
from namenode.engine.permissions import EXECUTE, READ, WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.block_removal import release_blocks_of
from namenode.ops.common import check_path_free, lock_parent_for_new_child, remove_child

ALL_ACCESS = READ | WRITE | EXECUTE


class SubtreeTooLarge(HopsFSError):
    """Internal signal: the subtree exceeds one transaction's budget; use the subtree protocol."""


@dataclass(slots=True)
class Subtree:
    """Every inode below a directory, parents before children."""

    rows: list[InodeRow]
    paths: list[str]


def delete(transaction: Transaction, path: str, recursive: bool) -> bool:
    """HDFS delete: False when the path does not exist or is the root.

    HDFS checks ALL access on every non-empty directory of the subtree before it answers "not
    empty", so a non-recursive delete walks the subtree for a non-superuser too (up to one
    transaction's budget; past it the answer is DirectoryNotEmpty).
    """
    resolved = resolve_and_lock_for_delete(transaction, path)
    if resolved is None:
        return False
    parent, target = resolved.parent, resolved.target
    assert parent is not None and target is not None
    if target.is_directory and target.children_count:
        if not recursive and transaction.permissions.is_superuser:
            raise DirectoryNotEmpty(f"`{path} is non empty': Directory is not empty")
        try:
            subtree = collect_subtree(transaction, target, path, limits.SUBTREE_TXN_INODES_MAX)
        except SubtreeTooLarge:
            if not recursive:
                raise DirectoryNotEmpty(f"`{path} is non empty': Directory is not empty") from None
            raise
        if not recursive:
            raise DirectoryNotEmpty(f"`{path} is non empty': Directory is not empty")
        for row in reversed(subtree.rows):
            transaction.delete(row)
            transaction.log_change("DELETE", row)
            release_blocks_of(transaction, row)
    delete_single_inode(transaction, parent, target)
    return True


def resolve_and_lock_for_delete(transaction: Transaction, path: str) -> ResolvedPath | None:
    """The path with its parent and target checked for removal and locked; None if missing or root.

    HDFS order: the sticky bit, then WRITE on the parent (also when the target is missing).
    """
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target, parent = resolved.target, resolved.parent
    if resolved.is_root or parent is None:
        return None
    if target is not None:
        transaction.permissions.require_sticky_ok(parent, target, path)
    transaction.permissions.require(parent, WRITE, resolved.prefix(len(resolved.components) - 1))
    if target is None:
        return None
    check_path_free(transaction, resolved)
    lock_parent_for_new_child(transaction, resolved, len(resolved.components) - 1, [target])
    return resolved


def delete_single_inode(transaction: Transaction, parent: InodeRow, row: InodeRow) -> None:
    """Remove one inode (its children already gone) from a locked parent, and log it."""
    remove_child(transaction, parent, row)
    transaction.update(parent)
    transaction.delete(row)
    transaction.log_change("DELETE", row)
    release_blocks_of(transaction, row)


def collect_subtree(transaction: Transaction, root: InodeRow, root_path: str, budget: int) -> Subtree:
    """All inodes below `root`, breadth first, checking ALL access on each directory for non-superusers.

    Raises SubtreeTooLarge past `budget` inodes, SubtreeBusy if part of it is another subtree op's.
    """
    subtree = Subtree([], [])
    level: list[tuple[InodeRow, str]] = [(root, root_path)]
    permissions = transaction.permissions
    while level:
        if transaction.uses_row_locks:
            level = _lock_directories(transaction, level)
        next_level: list[tuple[InodeRow, str]] = []
        for directory, directory_path in level:
            permissions.require(directory, ALL_ACCESS, directory_path)
            for child in _all_children(transaction, directory, budget - len(subtree.rows)):
                child_path_text = child_path(directory_path, child.name)
                transaction.check_not_subtree_locked(child, child_path_text)
                subtree.rows.append(child)
                subtree.paths.append(child_path_text)
                if child.is_directory and child.children_count:
                    next_level.append((child, child_path_text))
        level = next_level
    return subtree


def _all_children(transaction: Transaction, directory: InodeRow, budget: int) -> list[InodeRow]:
    if directory.children_count > budget:
        raise SubtreeTooLarge(f"subtree has more than {limits.SUBTREE_TXN_INODES_MAX} inodes")
    children: list[InodeRow] = []
    start_after = ""
    while True:
        page = transaction.session.list_children(directory.id, start_after, limits.LISTING_PAGE_ENTRIES_MAX)
        children.extend(page)
        if len(page) < limits.LISTING_PAGE_ENTRIES_MAX:
            break
        start_after = page[-1].name
    check(
        len(children) == directory.children_count,
        f"directory {directory.id} child count disagrees with its rows",
    )
    return children


def _lock_directories(
    transaction: Transaction, level: list[tuple[InodeRow, str]]
) -> list[tuple[InodeRow, str]]:
    locked = transaction.lock([row for row, _ in level])
    return [(locked[row.id], row_path) for row, row_path in level]
