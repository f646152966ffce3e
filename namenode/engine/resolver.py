"""Path resolution: components -> inode rows, with the hint cache and one batched primary-key read.

With warm hints every key of the path is known up front (a child's key is derived from its parent's
id), so the whole path is read in one statement. Only directories are hinted. Each row read is
checked against the hint that produced the next key; on the first mismatch the rest of the path is
read level by level and the stale hints are repaired. Ancestors are read without locks (HopsFS);
operations lock what they change.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.errors import FileNotFound, ParentNotDirectory, UnresolvedLink
from hopsfs.invariants import check
from hopsfs.paths import join_path, split_path
from hopsfs.types import InodeKind
from namenode import schema
from namenode.engine.permissions import EXECUTE
from namenode.engine.txn import Transaction
from namenode.entities import ROOT_KEY, InodeKey, InodeRow, key_for


@dataclass(slots=True)
class ResolvedPath:
    path: str
    components: tuple[str, ...]
    # rows[0] is the root, rows[i] the inode of components[i-1]; None from the first missing one on.
    rows: list[InodeRow | None]
    # Index in rows of a file met where a directory was needed, or None.
    blocked_at: int | None = None

    @property
    def target(self) -> InodeRow | None:
        return self.rows[-1]

    @property
    def parent(self) -> InodeRow | None:
        return self.rows[-2] if len(self.rows) > 1 else None

    @property
    def is_root(self) -> bool:
        return not self.components

    @property
    def name(self) -> str:
        return self.components[-1] if self.components else ""

    def deepest_existing(self, upto: int | None = None) -> int:
        """Index in rows of the deepest inode that exists, at `upto` or above."""
        index = len(self.rows) - 1 if upto is None else upto
        while self.rows[index] is None:
            index -= 1
        return index

    def prefix(self, index: int) -> str:
        return join_path(self.components[:index])


def resolve(transaction: Transaction, path: str) -> ResolvedPath:
    """Rows for every component of `path` that exists. Raises UnresolvedLink through a symlink."""
    components = split_path(path)
    cache = transaction.context.hint_cache
    # hints[i] is the cached id of components[i]; keys[i + 1] was built from hints[i - 1].
    hints = cache.chain(schema.ROOT_INODE_ID, components)
    keys: list[InodeKey] = [ROOT_KEY]
    parent_id = schema.ROOT_INODE_ID
    for index in range(min(len(hints) + 1, len(components))):
        keys.append(key_for(parent_id, components[index]))
        if index < len(hints):
            parent_id = hints[index]
    found = {row.key: row for row in transaction.session.read_inodes_by_keys(keys)}
    root = found.get(ROOT_KEY)
    check(root is not None, "the root inode is missing: the store is corrupt or unformatted")
    assert root is not None
    rows: list[InodeRow | None] = [root]
    resolved = ResolvedPath(path, components, rows)
    parent = root
    batched = len(keys) - 1
    for index, name in enumerate(components):
        if parent.kind != InodeKind.DIRECTORY:
            if parent.kind == InodeKind.SYMLINK:
                # HDFS checks ancestors in path order: a directory above the link the caller cannot
                # traverse is refused before the link is reported.
                check_traverse(transaction, resolved, upto=index)
            _blocked(resolved, index, parent)
            break
        # The batched key is right only while every hint so far matched the row actually read.
        if index < batched and (index == 0 or hints[index - 1] == parent.id):
            row = found.get(keys[index + 1])
        else:
            row = transaction.read_child(parent, name)
        hint = hints[index] if index < len(hints) else None
        if row is None:
            if hint is not None:
                cache.repaired(parent.id, name, None)
            rows.extend([None] * (len(components) - index))
            break
        # Only directories are hinted: a hint serves to build the keys below it, and a file has none
        # (file hints would also push directory hints out of the bounded cache).
        wanted = row.id if row.kind == InodeKind.DIRECTORY else None
        if hint != wanted:
            if hint is None:
                cache.put(parent.id, name, row.id)
            else:
                cache.repaired(parent.id, name, wanted)
        rows.append(row)
        parent = row
    check(len(rows) == len(components) + 1, "resolution must yield one slot per component")
    return resolved


def _blocked(resolved: ResolvedPath, index: int, row: InodeRow) -> None:
    """A non-directory at rows[index] with components after it."""
    if row.is_symlink:
        link_path = resolved.prefix(index)
        remainder = join_path(resolved.components[index:])
        raise UnresolvedLink(
            f"path {resolved.path} passes through the symlink {link_path} -> {row.symlink_target}",
            link_path,
            row.symlink_target or "",
            remainder,
        )
    resolved.blocked_at = index
    resolved.rows.extend([None] * (len(resolved.components) - index))


def check_traverse(transaction: Transaction, resolved: ResolvedPath, upto: int | None = None) -> None:
    """EXECUTE on every existing directory above the target (or above rows[upto])."""
    permissions = transaction.permissions
    if permissions.is_superuser:
        return
    last = len(resolved.rows) - 1 if upto is None else upto
    for index in range(last):
        row = resolved.rows[index]
        if row is None or row.kind != InodeKind.DIRECTORY:
            break
        if not permissions.allows(row, EXECUTE):
            permissions.require(row, EXECUTE, resolved.prefix(index))


def require_target(resolved: ResolvedPath) -> InodeRow:
    """The target row, or FileNotFound naming the path."""
    target = resolved.target
    if target is None:
        raise FileNotFound(f"File does not exist: {resolved.path}")
    return target


def require_parent_directory(resolved: ResolvedPath) -> InodeRow:
    """The existing parent directory of the target, or ParentNotDirectory / FileNotFound."""
    if resolved.blocked_at is not None:
        raise ParentNotDirectory(f"{resolved.prefix(resolved.blocked_at)} (is not a directory)")
    parent = resolved.parent
    if parent is None:
        raise FileNotFound(f"Parent directory doesn't exist: {resolved.prefix(len(resolved.components) - 1)}")
    return parent
