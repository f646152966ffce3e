"""Read-only operations: stat, listing, symlink target. They take no locks and, with warm hints, run
one statement for the path (plus one for a listing page)."""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import InvalidArgument, InvalidPath
from hopsfs.paths import check_component, child_path
from hopsfs.types import FileStatus, Listing
from namenode.engine.permissions import EXECUTE, READ
from namenode.engine.resolver import check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import file_status


def stat(transaction: Transaction, path: str) -> FileStatus:
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    return file_status(path, require_target(resolved))


def list_directory(transaction: Transaction, path: str, start_after: str, limit: int) -> Listing:
    """One page of children sorted by name, after `start_after`; a file lists as itself."""
    rows, remaining = listing_rows(transaction, path, start_after, limit)
    return Listing(tuple(file_status(entry_path, row) for entry_path, row in rows), remaining)


def listing_rows(
    transaction: Transaction, path: str, start_after: str, limit: int
) -> tuple[list[tuple[str, InodeRow]], int]:
    """A listing page as (path, inode row) pairs, and how many entries follow it."""
    if not 1 <= limit <= limits.LISTING_PAGE_ENTRIES_MAX:
        raise InvalidArgument(
            f"listing limit must be between 1 and {limits.LISTING_PAGE_ENTRIES_MAX}, not {limit}"
        )
    if start_after:
        try:
            check_component(start_after, path)
        except InvalidPath as error:
            raise InvalidArgument(f"start_after is not a valid name: {start_after!r}") from error
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if not target.is_directory:
        return [(path, target)], 0  # HDFS: a file lists as itself, whatever start_after
    transaction.permissions.require(target, READ | EXECUTE, path)
    children = transaction.session.list_children(target.id, start_after, limit)
    remaining = 0
    if len(children) == limit:
        remaining = transaction.session.count_children_after(target.id, children[-1].name)
    return [(child_path(path, row.name), row) for row in children], remaining


def link_target(transaction: Transaction, path: str) -> str:
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    if not target.is_symlink:
        raise InvalidArgument(f"{path} is not a symbolic link")
    return target.symlink_target or ""
