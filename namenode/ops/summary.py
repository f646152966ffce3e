"""Content summary: files, directories, symlinks and bytes below a path, read in one snapshot.

Iterative breadth-first walk, one listing page per statement; READ_EXECUTE on every directory
for non-superusers (HDFS subAccess).
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.paths import child_path
from hopsfs.types import ContentSummary
from namenode.engine.permissions import EXECUTE, READ
from namenode.engine.resolver import check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow


def content_summary(transaction: Transaction, path: str) -> ContentSummary:
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    root = require_target(resolved)
    counts = {"length": 0, "files": 0, "directories": 0, "symlinks": 0, "consumed": 0}
    _count(counts, root)
    pending: list[tuple[InodeRow, str]] = [(root, path)] if root.is_directory else []
    permissions = transaction.permissions
    while pending:
        directory, directory_path = pending.pop()
        permissions.require(directory, READ | EXECUTE, directory_path)
        start_after = ""
        while True:
            page = transaction.session.list_children(
                directory.id, start_after, limits.LISTING_PAGE_ENTRIES_MAX
            )
            for child in page:
                _count(counts, child)
                if child.is_directory:
                    pending.append((child, child_path(directory_path, child.name)))
            if len(page) < limits.LISTING_PAGE_ENTRIES_MAX:
                break
            start_after = page[-1].name
    return ContentSummary(
        length=counts["length"],
        file_count=counts["files"],
        directory_count=counts["directories"],
        symlink_count=counts["symlinks"],
        space_consumed=counts["consumed"],
    )


def _count(counts: dict[str, int], row: InodeRow) -> None:
    if row.is_directory:
        counts["directories"] += 1
    elif row.is_symlink:
        counts["symlinks"] += 1
    else:
        counts["files"] += 1
        counts["length"] += row.size
        counts["consumed"] += row.size * max(row.replication, 1)
