"""Rename in the model namespace: HDFS FSDirRenameOp (rename2 and the legacy rename), in HDFS's order.

Order: both paths valid (an invalid destination wins whatever the source); the source resolved
(WRITE_LINK), the destination resolved (CREATE_LINK) and, for the legacy call onto an existing
directory, the name appended below it (dstForRenameTo); the sticky bit and WRITE on the source's
parent, WRITE on the destination's deepest existing ancestor; then unprotectedRenameTo's own rules;
last hopsfs's sticky-bit rule for a replaced destination (HOPSFS_CHOICES["rename_sticky_on_destination"]).
The legacy call answers False where rename2 raises FileNotFound, FileAlreadyExists or InvalidRename,
and True for a rename onto the same path. A refused rename changes nothing.
"""

from __future__ import annotations

from hopsfs.errors import FileAlreadyExists, FileNotFound, InvalidRename
from hopsfs.types import Caller
from support.model_tree import EXECUTE, WRITE, ModelTree, Resolved, join_model_path, split_model_path


def rename_model(
    tree: ModelTree, caller: Caller, source_path: str, target_path: str, *, overwrite: bool, legacy: bool
) -> bool:
    """Rename `source_path` to `target_path` in `tree`; see the module docstring for the order."""
    split_model_path(source_path)
    split_model_path(target_path)
    source = tree.resolve(caller, source_path)
    target = tree.resolve(caller, target_path, creating=True)
    appended = legacy and bool(source.components) and target.target is not None and target.target.is_directory
    if appended:
        target = rename_model_destination(source, target)
    tree.require_sticky(caller, source.parent, source.target)
    tree.require(caller, source.parent, WRITE)
    if appended:
        # dstForRenameTo appended the name below an existing directory: it is traversed too.
        tree.require(caller, target.nodes[-2], EXECUTE)
    if target.components:
        tree.require(caller, target.nodes[target.ancestor_index()], WRITE)
    try:
        rename_model_validate(source, target, overwrite)
    except _SamePath:
        if legacy:
            return True
        raise FileAlreadyExists(
            f"The source {source_path} and destination {target_path} are the same"
        ) from None
    except (FileNotFound, FileAlreadyExists, InvalidRename):
        if legacy:
            return False
        raise
    # hopsfs choice "rename_sticky_on_destination": the replaced inode is protected like a deleted one.
    tree.require_sticky(caller, target.parent, target.target)
    rename_model_move(source, target)
    return True


def rename_model_destination(source: Resolved, target: Resolved) -> Resolved:
    """dstForRenameTo: the legacy rename onto an existing directory means 'into it'."""
    existing = target.target
    assert existing is not None and existing.is_directory
    components = (*target.components, source.name)
    return Resolved(
        join_model_path(components), components, [*target.nodes, existing.children.get(source.name)]
    )


def rename_model_validate(source: Resolved, target: Resolved, overwrite: bool) -> None:
    """unprotectedRenameTo's validation, in HDFS order; _SamePath for a rename onto itself."""
    source_node = source.target
    if source_node is None:
        raise FileNotFound(f"rename source {source.path} is not found.")
    if not source.components:
        raise InvalidRename("rename source cannot be the root")
    if target.path == source.path:
        raise _SamePath
    if source_node.is_symlink and target.path == source_node.symlink_target:
        raise FileAlreadyExists(f"Cannot rename symlink {source.path} to its target")
    if target.path.startswith(source.path + "/"):
        raise InvalidRename(f"Rename destination {target.path} is under source {source.path}")
    if not target.components:
        raise InvalidRename("rename destination cannot be the root")
    existing = target.target
    if existing is not None:
        if existing.is_directory != source_node.is_directory:
            raise InvalidRename("Source and destination must both be directories")
        if not overwrite:
            raise FileAlreadyExists(f"rename destination {target.path} already exists")
        if existing.children:
            raise InvalidRename(f"rename destination directory is not empty: {target.path}")
    if target.parent is None:
        raise FileNotFound(f"rename destination parent {target.path} not found.")


def rename_model_move(source: Resolved, target: Resolved) -> None:
    source_parent, target_parent = source.parent, target.parent
    assert source_parent is not None and target_parent is not None
    node = source_parent.children.pop(source.name)
    target_parent.children[target.name] = node


class _SamePath(Exception):
    """Source and destination are one path: rename2 refuses, the legacy rename succeeds doing nothing."""
