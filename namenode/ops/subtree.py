"""The subtree protocol (HopsFS) for deleting a directory too large for one transaction.

1. `begin_delete`: one transaction checks the delete like ops/delete.py, then flags the subtree root
   with an owner (this namenode's id plus a token for this operation, so the namenode's other
   threads are kept out too) and a lease expiry, and records the operation in `subtree_operations`.
   From then on any operation whose path passes through the root gets SubtreeBusy (and retries).
2. `delete_batch`, repeated: one transaction deletes up to a budget of leaves (files, symlinks, empty
   directories) found depth first below the root, locking each directory before listing it, and
   renews the lease. Each deleted inode gets its DELETE change-log row.
3. `finish_delete`: one transaction deletes the now empty root from its parent; deleting a flagged
   inode ends its record (engine/txn.py), whoever deletes it.

A namenode that dies half way leaves a flag whose lease expires; after that the flag is ignored and
a new delete of the same path takes the operation over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hopsfs import limits
from hopsfs.errors import StaleResolution, SubtreeLockLost
from hopsfs.invariants import check
from namenode import schema
from namenode.engine.txn import Transaction
from namenode.entities import InodeKey, InodeRow
from namenode.ops.block_removal import release_blocks_of
from namenode.ops.delete import collect_subtree, delete_single_inode, resolve_and_lock_for_delete


@dataclass(frozen=True, slots=True)
class SubtreeHandle:
    path: str
    root_id: int
    root_key: InodeKey
    # namenode id + a token of this operation: other operations of the same namenode are blocked too.
    owner: str


def begin_delete(transaction: Transaction, path: str) -> SubtreeHandle | None:
    """Flag the subtree root; None when the path no longer exists."""
    resolved = resolve_and_lock_for_delete(transaction, path)
    if resolved is None:
        return None
    root = resolved.target
    assert root is not None
    token = uuid.uuid4().hex[:16]
    owner = f"{transaction.context.namenode_id[: schema.SUBTREE_OWNER_BYTES_MAX - len(token) - 1]}#{token}"
    transaction.subtree_owner = owner
    root.subtree_lock_owner = owner
    root.subtree_lock_expiry_ms = transaction.now_ms + limits.SUBTREE_LOCK_LEASE_MS
    transaction.update(root)
    # A record left by an owner whose lease ran out is replaced by ours.
    transaction.session.delete_subtree_operation(root.id)
    transaction.session.insert_subtree_operation(root.id, path, "DELETE", owner, transaction.now_ms)
    return SubtreeHandle(path, root.id, root.key, owner)


def check_permissions(transaction: Transaction, handle: SubtreeHandle) -> None:
    """ALL access on every directory below, before anything is deleted (HDFS subAccess)."""
    root = _locked_root(transaction, handle)
    if transaction.permissions.is_superuser:
        return
    collect_subtree(transaction, root, handle.path, budget=2**62)


def delete_batch(transaction: Transaction, handle: SubtreeHandle, budget: int) -> bool:
    """Delete up to `budget` leaves below the root, depth first; True once the root has no children
    left. Depth first reaches a directory of leaves after at most one listing per level, so
    every batch of a non-empty subtree deletes something."""
    check(budget > 0, "a subtree batch needs a positive budget")
    root = _locked_root(transaction, handle)
    root.subtree_lock_expiry_ms = transaction.now_ms + limits.SUBTREE_LOCK_LEASE_MS
    transaction.update(root)
    stack: list[InodeRow] = [root]
    deleted = 0
    listings = 0
    while stack and deleted < budget and listings <= budget + limits.PATH_DEPTH_MAX:
        directory = stack.pop()
        if directory is not root and transaction.uses_row_locks:
            directory = transaction.lock([directory])[directory.id]
        page_size = min(budget, limits.LISTING_PAGE_ENTRIES_MAX)
        page = transaction.session.list_children(directory.id, "", page_size)
        listings += 1
        for child in page:
            transaction.check_not_subtree_locked(child, handle.path)
            if child.is_directory and child.children_count:
                stack.append(child)
            elif deleted < budget:
                directory.children_count -= 1
                transaction.delete(child)
                transaction.log_change("DELETE", child)
                release_blocks_of(transaction, child)
                deleted += 1
        if directory is not root:
            transaction.update(directory)
    check(root.children_count >= 0, "subtree root child count went negative")
    check(deleted > 0 or root.children_count == 0, "a subtree batch made no progress")
    return root.children_count == 0


def finish_delete(transaction: Transaction, handle: SubtreeHandle) -> None:
    """Delete the emptied root (which ends the operation's record). Found by key and parent id, so
    an ancestor's rename does not matter."""
    root = _locked_root(transaction, handle)
    parents = transaction.session.read_inodes_by_ids([root.parent_id])
    check(len(parents) == 1, "the subtree root's parent is missing")
    locked = transaction.lock([parents[0], root])
    parent, root = locked[parents[0].id], locked[root.id]
    if root.children_count:
        raise StaleResolution(f"{handle.path} gained children before its subtree delete finished")
    delete_single_inode(transaction, parent, root)


def abandon(transaction: Transaction, handle: SubtreeHandle) -> None:
    """Clear the flag after a refused delete (e.g. permission denied below the root)."""
    transaction.subtree_owner = handle.owner
    rows = transaction.session.read_inodes_by_keys([handle.root_key], lock="write")
    if rows and rows[0].id == handle.root_id and rows[0].subtree_lock_owner == handle.owner:
        rows[0].subtree_lock_owner = None
        rows[0].subtree_lock_expiry_ms = None
        transaction.update(rows[0])
        transaction.session.delete_subtree_operation(handle.root_id)


def _locked_root(transaction: Transaction, handle: SubtreeHandle) -> InodeRow:
    transaction.subtree_owner = handle.owner
    rows = transaction.session.read_inodes_by_keys([handle.root_key], lock="write")
    if not rows or rows[0].id != handle.root_id or rows[0].subtree_lock_owner != handle.owner:
        raise SubtreeLockLost(
            f"the subtree delete of {handle.path} stalled past its lease and another operation took it over"
        )
    return rows[0]
