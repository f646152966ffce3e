"""batchCreateWithData: many small files created in one transaction, all or none.

The outcome is that of calling small_files.create_with_data for each file in turn inside one
transaction: the same checks in the same order per file (its size against the largest threshold,
its mode, what is in the way, WRITE on the deepest existing ancestor, an existing name without
overwrite, then its directory's threshold), the same rows, and the same change-log rows in the same
order (MKDIR per implicit parent, then CREATE and CLOSE per file, DELETE before the CREATE of a file
replaced with overwrite). A later file sees what an earlier one made: a directory an earlier file's
implicit parents created, a file in the way, an earlier file of the same path.

It is a bulk path, though, because per-file statements were the cost (issue 5): the files are
grouped by parent directory; each group is resolved once, through its first file's path, so that
symlinks and files in the way are met exactly as a single create meets them; the names of all
groups are read with batched key reads; every directory that gains a child and every file to be
replaced are locked in one locking read (primary-key order, the engine's one total order); the
small-file policies of every ancestor are read with one statement; the rows of all files are
written at flush with one executemany per table.

Lock set: each group's deepest existing ancestor, and with overwrite each existing file the batch
names. On backends with row locks the names are read again under the locks: a name that changed in
between restarts the transaction (StaleResolution), as a single create's slot check does.

Bounds: the caller holds a batch to BATCH_FILES_MAX files and BATCH_BYTES_MAX bytes; the inode ids
taken up front (BatchPlan.ids_needed) are one per file plus one per distinct ancestor directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hopsfs import limits
from hopsfs.errors import FileAlreadyExists, PermissionDenied, StaleResolution, UnresolvedLink
from hopsfs.invariants import check
from hopsfs.paths import split_path
from hopsfs.types import FileStatus, InodeKind
from namenode import schema
from namenode.engine.permissions import WRITE
from namenode.engine.resolver import ResolvedPath, check_traverse, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow, key_for
from namenode.ops.common import (
    add_child,
    check_permission_value,
    create_missing_directories,
    file_status,
    new_inode,
)
from namenode.ops.create import inherited_mode, refuse_file_ancestor, require_ancestor_write
from namenode.ops.delete import delete_single_inode
from namenode.ops.leases import refuse_open_file
from namenode.ops.small_files import InlineRefused, SmallFile

# (directory id, name) -> the inode there now: as read, then as this batch changed it (None: gone).
Names = dict[tuple[int, str], InodeRow | None]


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """A batch's files with their paths split and grouped by parent directory. Pure, built before the
    transaction (it sizes the id reservation) and reused unchanged by every retry."""

    files: Sequence[SmallFile]
    components: list[tuple[str, ...]]
    # Per file: index into `parents`, or -1 for the path "/".
    group_of: list[int]
    parents: list[tuple[str, ...]]
    first_of: list[int]  # per group: its first file
    ids_needed: int


def plan_batch(files: Sequence[SmallFile]) -> BatchPlan:
    """Split and group the paths (InvalidPath for a malformed one, before anything is read)."""
    components = [split_path(entry.path) for entry in files]
    group_by_parent: dict[tuple[str, ...], int] = {}
    group_of: list[int] = []
    first_of: list[int] = []
    for index, parts in enumerate(components):
        if not parts:
            group_of.append(-1)
            continue
        group = group_by_parent.setdefault(parts[:-1], len(group_by_parent))
        if group == len(first_of):
            first_of.append(index)
        group_of.append(group)
    parents = list(group_by_parent)
    check(len(group_of) == len(files), "every file of a batch is in a group")
    check(len(first_of) == len(parents), "every group has a first file")
    return BatchPlan(files, components, group_of, parents, first_of, len(files) + _ancestor_count(parents))


def create_all(transaction: Transaction, plan: BatchPlan, *, overwrite: bool) -> list[FileStatus]:
    """Create every file of `plan` (module docstring); raises InlineRefused, or a domain error, at the
    first file that cannot be created, and the caller rolls everything back."""
    groups = [_resolve_group(transaction, plan, group) for group in range(len(plan.parents))]
    names = _read_names(transaction, plan, groups)
    _lock(transaction, plan, groups, names, overwrite=overwrite)
    _set_thresholds(transaction, groups)
    statuses = [
        _create_one(transaction, plan, index, groups, names, overwrite) for index in range(len(plan.files))
    ]
    check(len(statuses) == len(plan.files), "one status per file of the batch")
    return statuses


@dataclass(slots=True)
class _Group:
    """The files of one parent directory. `resolved` is the first file's resolution: rows[:-1] is the
    parent's chain, shared by every file of the group."""

    resolved: ResolvedPath | None
    # An error resolution raised, raised in turn: at the group's first file, as a single create would.
    error: UnresolvedLink | PermissionDenied | None = None
    threshold_bytes: int = schema.INLINE_FILE_BYTES_DEFAULT
    checked: bool = False  # traverse, file-in-the-way and WRITE checks passed
    ready: bool = False  # subtree flags checked, implicit parents created

    @property
    def parent(self) -> InodeRow | None:
        assert self.resolved is not None
        return self.resolved.rows[-2]


def _resolve_group(transaction: Transaction, plan: BatchPlan, group: int) -> _Group:
    try:
        return _Group(resolve(transaction, plan.files[plan.first_of[group]].path))
    except (UnresolvedLink, PermissionDenied) as error:
        return _Group(None, error)


def _read_names(transaction: Transaction, plan: BatchPlan, groups: list[_Group]) -> Names:
    """What is at each name of the batch whose directory exists, with batched key reads."""
    keys = sorted(_name_keys(plan, groups))
    rows = transaction.session.read_inodes_by_keys(keys)
    return {(row.parent_id, row.name): row for row in rows}


def _name_keys(plan: BatchPlan, groups: list[_Group]) -> set[tuple[int, int, str]]:
    keys: set[tuple[int, int, str]] = set()
    for index, group in enumerate(plan.group_of):
        if group < 0:
            continue
        parent = _readable_parent(groups[group])
        if parent is not None:
            keys.add(key_for(parent.id, plan.components[index][-1]))
    return keys


def _readable_parent(group: _Group) -> InodeRow | None:
    """The group's directory when it existed at resolution; None when missing or not reachable."""
    if group.resolved is None or group.resolved.blocked_at is not None:
        return None
    parent = group.parent
    return parent if parent is not None and parent.is_directory else None


def _lock(
    transaction: Transaction, plan: BatchPlan, groups: list[_Group], names: Names, *, overwrite: bool
) -> None:
    """Lock every group's deepest existing ancestor and (overwrite) every file to be replaced in one
    locking read, make all groups share one row object per inode (each file's changes to a directory
    must land on the row that is written), then recheck the names under the locks."""
    shared: dict[int, InodeRow] = {}
    wanted: dict[int, InodeRow] = {}
    for group in groups:
        if group.resolved is None or group.resolved.blocked_at is not None:
            continue
        rows = group.resolved.rows
        for index, row in enumerate(rows[:-1]):
            if row is not None:
                rows[index] = shared.setdefault(row.id, row)
        deepest = rows[group.resolved.deepest_existing(len(rows) - 2)]
        assert deepest is not None
        wanted[deepest.id] = deepest
    if overwrite:
        for row in names.values():
            if row is not None and not row.is_directory:
                wanted[row.id] = row
    fresh = transaction.lock(list(wanted.values()))
    if not transaction.uses_row_locks:
        return
    shared.update(fresh)
    for group in groups:
        if group.resolved is not None:
            rows = group.resolved.rows
            rows[:-1] = [None if row is None else shared.get(row.id, row) for row in rows[:-1]]
    for key, row in names.items():
        if row is not None:
            names[key] = fresh.get(row.id, row)
    _recheck_names(transaction, plan, groups, names)


def _recheck_names(transaction: Transaction, plan: BatchPlan, groups: list[_Group], names: Names) -> None:
    """Under the locks: every name read before is as it was, and each missing directory is still
    missing (a creator locks the directory it adds to, so nothing changes them from here on)."""
    keys = _name_keys(plan, groups)
    for group in groups:
        resolved = group.resolved
        if resolved is None or resolved.blocked_at is not None or _readable_parent(group) is not None:
            continue
        deepest = resolved.deepest_existing(len(resolved.rows) - 2)
        row = resolved.rows[deepest]
        assert row is not None
        keys.add(key_for(row.id, resolved.components[deepest]))
    now = {(row.parent_id, row.name): row.id for row in transaction.session.read_inodes_by_keys(sorted(keys))}
    for _, parent_id, name in keys:
        before = names.get((parent_id, name))
        if now.get((parent_id, name)) != (before.id if before is not None else None):
            raise StaleResolution(f"{name!r} in directory {parent_id} changed while the batch locked it")


def _set_thresholds(transaction: Transaction, groups: list[_Group]) -> None:
    """Each group's threshold: the nearest ancestor with a policy (one read for all ancestors)."""
    ancestor_ids = {
        row.id
        for group in groups
        if group.resolved is not None
        for row in group.resolved.rows[:-1]
        if row is not None
    }
    policies = transaction.session.read_inline_policies(sorted(ancestor_ids))
    for group in groups:
        if group.resolved is None:
            continue
        for row in reversed(group.resolved.rows[:-1]):
            if row is not None and row.id in policies:
                group.threshold_bytes = policies[row.id]
                break


def _create_one(
    transaction: Transaction,
    plan: BatchPlan,
    index: int,
    groups: list[_Group],
    names: Names,
    overwrite: bool,
) -> FileStatus:
    """small_files.create_with_data's steps for file `index`, over the rows loaded for the batch."""
    entry = plan.files[index]
    group = groups[plan.group_of[index]] if plan.group_of[index] >= 0 else None
    if len(entry.data) > schema.INLINE_FILE_BYTES_MAX:
        if group is not None and group.error is not None:
            raise group.error
        raise InlineRefused(group.threshold_bytes if group is not None else schema.INLINE_FILE_BYTES_DEFAULT)
    check_permission_value(entry.permission)
    if group is None:
        raise FileAlreadyExists("/ already exists as a directory")
    if group.error is not None:
        raise group.error
    if not group.checked:
        _check_group(transaction, group, names)
    name = plan.components[index][-1]
    parent = group.parent
    existing = names.get((parent.id, name)) if parent is not None else None
    if existing is not None:
        _check_replaceable(transaction, existing, entry.path, overwrite)
    if not group.ready:
        _ready_group(transaction, group, names)
    parent = group.parent
    assert parent is not None
    if existing is not None:
        transaction.check_not_subtree_locked(existing, entry.path)
        delete_single_inode(transaction, parent, existing)
    row = new_inode(
        transaction,
        parent,
        name,
        InodeKind.FILE,
        entry.permission,
        replication=limits.REPLICATION_DEFAULT,
        block_size=limits.BLOCK_SIZE_BYTES_DEFAULT,
    )
    add_child(transaction, parent, row, "CREATE")
    if len(entry.data) > group.threshold_bytes:
        raise InlineRefused(group.threshold_bytes)
    row.size = len(entry.data)
    row.file_stored_in_db = 1
    transaction.store_inline_data(row, entry.data)
    transaction.log_change("CLOSE", row)
    names[(parent.id, name)] = row
    return file_status(entry.path, row)


def _check_group(transaction: Transaction, group: _Group, names: Names) -> None:
    """start_file's checks on the parent's chain, at the group's first file; they hold for the rest
    of the group (its implicit parents belong to the caller, with u+wx)."""
    resolved = group.resolved
    assert resolved is not None
    _patch(resolved, names)
    check_traverse(transaction, resolved)
    refuse_file_ancestor(resolved)
    require_ancestor_write(transaction, resolved, resolved.deepest_existing(len(resolved.rows) - 2))
    group.checked = True


def _check_replaceable(transaction: Transaction, existing: InodeRow, path: str, overwrite: bool) -> None:
    if existing.is_directory:
        raise FileAlreadyExists(f"{path} already exists as a directory")
    if existing.under_construction:
        refuse_open_file(transaction, existing, path, None)
    if not overwrite:
        raise FileAlreadyExists(f"{path} for client {transaction.caller.user} already exists")
    transaction.permissions.require(existing, WRITE, path)


def _ready_group(transaction: Transaction, group: _Group, names: Names) -> None:
    """No live subtree operation on the chain; the parent and its missing ancestors exist."""
    resolved = group.resolved
    assert resolved is not None
    last = len(resolved.rows) - 2
    for index, row in enumerate(resolved.rows[: last + 1]):
        if row is None:
            break
        if row.subtree_lock_owner is not None:
            transaction.check_not_subtree_locked(row, resolved.prefix(index))
    deepest = resolved.deepest_existing(last)
    parent = create_missing_directories(transaction, resolved, last, inherited_mode(resolved, deepest))
    for row in resolved.rows[deepest + 1 : last + 1]:
        assert row is not None
        names[(row.parent_id, row.name)] = row
    # Once for the group: the row object every file of the group adds itself to is written at flush.
    transaction.update(parent)
    group.ready = True


def _patch(resolved: ResolvedPath, names: Names) -> None:
    """Fill the parent's chain with what earlier files of the batch made where resolution found
    nothing: a directory, or a file in the way (then the path is blocked there, as resolve marks it)."""
    rows = resolved.rows
    if resolved.blocked_at is not None:
        return
    for index in range(1, len(rows) - 1):
        if rows[index] is not None:
            continue
        above = rows[index - 1]
        found = names.get((above.id, resolved.components[index - 1])) if above is not None else None
        if found is None:
            return
        rows[index] = found
        if not found.is_directory:
            resolved.blocked_at = index
            return


def _ancestor_count(parents: list[tuple[str, ...]]) -> int:
    """Distinct directories above the files (the root excluded): the most a batch can create."""
    seen: set[tuple[str, ...]] = set()
    for parent in parents:
        for depth in range(len(parent), 0, -1):
            prefix = parent[:depth]
            if prefix in seen:
                break
            seen.add(prefix)
    return len(seen)
