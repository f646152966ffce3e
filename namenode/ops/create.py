"""Operations that add an inode: mkdirs, create (empty file), create symlink.

Lock set: the deepest existing ancestor (the parent of the first inode created), plus the target
when create overwrites it. New inodes are inserted by primary key, so the parent lock is what keeps
two creators of one name apart.
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import FileAlreadyExists, FileNotFound, InvalidArgument, InvalidPath, ParentNotDirectory
from hopsfs.types import FileStatus, InodeKind
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import (
    add_child,
    check_path_free,
    check_permission_value,
    check_replication_value,
    create_missing_directories,
    file_status,
    lock_parent_for_new_child,
    new_inode,
)
from namenode.ops.delete import delete_single_inode
from namenode.ops.leases import check_holder_name, refuse_open_file

SYMLINK_PERMISSION = 0o777


def mkdirs(transaction: Transaction, path: str, permission: int, create_parent: bool) -> bool:
    check_permission_value(permission)
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    refuse_file_ancestor(resolved)
    target = resolved.target
    if target is not None:
        if target.is_directory:
            return True
        raise FileAlreadyExists(f"Path is not a directory: {path}")
    # HDFS order: WRITE on the deepest existing ancestor, then whether the parent must exist.
    deepest = resolved.deepest_existing()
    require_ancestor_write(transaction, resolved, deepest)
    if deepest < len(resolved.components) - 1 and not create_parent:
        raise FileNotFound(f"Parent directory doesn't exist: {resolved.prefix(len(resolved.components) - 1)}")
    check_path_free(transaction, resolved)
    lock_parent_for_new_child(transaction, resolved, deepest)
    create_missing_directories(
        transaction, resolved, len(resolved.components), permission, final_permission=permission
    )
    return True


def create_file(
    transaction: Transaction,
    path: str,
    *,
    permission: int,
    overwrite: bool,
    create_parent: bool,
    replication: int,
    block_size: int,
    holder: str | None = None,
) -> FileStatus:
    """An empty file: closed, or with `holder` open for writing under that client's lease."""
    _, row = start_file(
        transaction,
        path,
        permission=permission,
        overwrite=overwrite,
        create_parent=create_parent,
        replication=replication,
        block_size=block_size,
        holder=holder,
    )
    return file_status(path, row)


def start_file(
    transaction: Transaction,
    path: str,
    *,
    permission: int,
    overwrite: bool,
    create_parent: bool,
    replication: int,
    block_size: int,
    holder: str | None,
) -> tuple[ResolvedPath, InodeRow]:
    """create_file's work: the path as resolved (ancestors included) and the new file's row, which
    the caller may still change before flush (a small file's size and flag)."""
    check_permission_value(permission)
    if holder is not None:
        check_holder_name(holder)
    check_replication_value(replication)
    _check_block_size(block_size)
    # HDFS startFile order: WRITE on the deepest existing ancestor, then what exists at the path
    # (a directory; a file needs WRITE to be overwritten), then whether the parent must exist.
    resolved = resolve(transaction, path)
    if resolved.is_root:
        raise FileAlreadyExists("/ already exists as a directory")
    check_traverse(transaction, resolved)
    refuse_file_ancestor(resolved)
    last = len(resolved.components) - 1
    deepest = resolved.deepest_existing(last)
    require_ancestor_write(transaction, resolved, deepest)
    existing = resolved.target
    if existing is not None:
        if existing.is_directory:
            raise FileAlreadyExists(f"{path} already exists as a directory")
        if existing.under_construction:
            refuse_open_file(transaction, existing, path, holder)
        if overwrite:
            transaction.permissions.require(existing, WRITE, path)
        else:
            raise FileAlreadyExists(f"{path} for client {transaction.caller.user} already exists")
    elif deepest < last and not create_parent:
        raise FileNotFound(f"Parent directory doesn't exist: {resolved.prefix(last)}")
    check_path_free(transaction, resolved)
    lock_parent_for_new_child(transaction, resolved, deepest, [existing])
    existing = resolved.target
    parent = create_missing_directories(transaction, resolved, last, inherited_mode(resolved, deepest))
    if existing is not None:
        delete_single_inode(transaction, parent, existing)
    row = new_inode(
        transaction,
        parent,
        resolved.name,
        InodeKind.FILE,
        permission,
        replication=replication,
        block_size=block_size,
    )
    if holder is not None:
        row.under_construction = 1
        row.client_name = holder
        transaction.open_lease(row.id, holder)
    add_child(transaction, parent, row, "CREATE")
    transaction.update(parent)
    return resolved, row


def create_symlink(
    transaction: Transaction, target: str, link_path: str, *, create_parent: bool
) -> FileStatus:
    if not isinstance(target, str) or not target:
        raise InvalidPath("a symlink target must be a non-empty string")
    if "\x00" in target or len(target.encode("utf-8")) > limits.SYMLINK_TARGET_BYTES_MAX:
        raise InvalidPath(f"invalid symlink target {target!r}")
    resolved = _resolve_for_new_leaf(transaction, link_path, create_parent)
    if resolved.target is not None:
        raise FileAlreadyExists(f"{link_path} already exists")
    deepest = resolved.deepest_existing()
    require_ancestor_write(transaction, resolved, deepest)
    lock_parent_for_new_child(transaction, resolved, deepest)
    last = len(resolved.components) - 1
    parent = create_missing_directories(transaction, resolved, last, inherited_mode(resolved, deepest))
    row = new_inode(
        transaction, parent, resolved.name, InodeKind.SYMLINK, SYMLINK_PERMISSION, symlink_target=target
    )
    add_child(transaction, parent, row, "SYMLINK")
    transaction.update(parent)
    return file_status(link_path, row)


def _resolve_for_new_leaf(transaction: Transaction, path: str, create_parent: bool) -> ResolvedPath:
    resolved = resolve(transaction, path)
    if resolved.is_root:
        raise FileAlreadyExists("/ already exists as a directory")
    check_traverse(transaction, resolved)
    refuse_file_ancestor(resolved)
    if resolved.parent is None and not create_parent:
        raise FileNotFound(f"Parent directory doesn't exist: {resolved.prefix(len(resolved.components) - 1)}")
    check_path_free(transaction, resolved)
    return resolved


def require_ancestor_write(transaction: Transaction, resolved: ResolvedPath, index: int) -> None:
    ancestor = resolved.rows[index]
    assert ancestor is not None
    transaction.permissions.require(ancestor, WRITE, resolved.prefix(index))


def inherited_mode(resolved: ResolvedPath, index: int) -> int:
    """Implicit parents of a file or link take the nearest existing ancestor's mode (HDFS)."""
    ancestor = resolved.rows[index]
    assert ancestor is not None
    return ancestor.permission


def refuse_file_ancestor(resolved: ResolvedPath) -> None:
    if resolved.blocked_at is not None:
        raise ParentNotDirectory(f"{resolved.prefix(resolved.blocked_at)} (is not a directory)")


def _check_block_size(block_size: int) -> None:
    if not isinstance(block_size, int) or block_size < limits.BLOCK_SIZE_BYTES_MIN:
        raise InvalidArgument(
            f"Specified block size {block_size} is less than configured minimum value "
            f"{limits.BLOCK_SIZE_BYTES_MIN}"
        )
    if block_size % 512:
        raise InvalidArgument(f"block size {block_size} must be a multiple of the 512-byte checksum chunk")
