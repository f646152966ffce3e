"""A dict-based model of the hopsfs namespace, for the stateful property test.

The model is HDFS's NameNode semantics (FSDirMkdirOp, FSDirWriteFileOp.startFile, FSDirSymlinkOp,
FSDirDeleteOp, FSDirAttrOp, FSDirXAttrOp, FSDirStatAndListingOp here; FSDirRenameOp in
model_rename.py; resolution and permission checks in model_tree.py), checked in HDFS's order, plus
hopsfs's three deliberate differences from HDFS (model_tree.HOPSFS_CHOICES). Method signatures mirror
namenode.engine.Namespace.

Every operation validates completely before it changes anything, so a refused operation leaves the
model untouched. Bounds: the model is as large as the namespace a test builds (a few hundred inodes).
"""

from __future__ import annotations

from hopsfs.errors import (
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    InvalidArgument,
    InvalidPath,
    PermissionDenied,
    XAttrNotFound,
)
from hopsfs.types import Caller, ContentSummary, InodeKind, XAttrSetFlag
from support.model_rename import rename_model
from support.model_tree import (
    ALL,
    EXECUTE,
    IMPLICIT_PARENT_BITS,
    READ,
    STICKY_BIT,
    SYMLINK_PERMISSION,
    WRITE,
    ListingView,
    ModelInode,
    ModelTree,
    Resolved,
    StatusView,
    child_model_path,
    parse_xattr_name,
    split_model_path,
)


class ModelFS(ModelTree):
    """The namespace as hopsfs should keep it: HDFS semantics plus HOPSFS_CHOICES."""

    # -- reads ----------------------------------------------------------------------------------

    def stat(self, caller: Caller, path: str) -> StatusView:
        target = self._existing_target(caller, path)
        return self.view(path, target)

    def list(self, caller: Caller, path: str, start_after: str = "", limit: int = 1000) -> ListingView:
        target = self.resolve(caller, path).target
        if target is not None and target.is_directory:
            self.require(caller, target, READ | EXECUTE)
        if target is None:
            raise FileNotFound(path)
        if not target.is_directory:
            return ListingView((self.view(path, target),), 0)
        names = sorted(name for name in target.children if name > start_after)
        page = names[:limit]
        entries = tuple(self.view(child_model_path(path, name), target.children[name]) for name in page)
        return ListingView(entries, len(names) - len(page))

    def get_link_target(self, caller: Caller, path: str) -> str:
        target = self._existing_target(caller, path)
        if not target.is_symlink:
            raise InvalidArgument(f"{path} is not a symbolic link")
        return target.symlink_target or ""

    def content_summary(self, caller: Caller, path: str) -> ContentSummary:
        target = self._existing_target(caller, path)
        counts = {InodeKind.FILE: 0, InodeKind.DIRECTORY: 0, InodeKind.SYMLINK: 0}
        pending = [target]
        while pending:
            node = pending.pop()
            counts[node.kind] += 1
            if node.is_directory:
                self.require(caller, node, READ | EXECUTE)
                pending.extend(node.children.values())
        return ContentSummary(
            length=0,
            file_count=counts[InodeKind.FILE],
            directory_count=counts[InodeKind.DIRECTORY],
            symlink_count=counts[InodeKind.SYMLINK],
            space_consumed=0,
        )

    def get_xattrs(self, caller: Caller, path: str, names: list[str] | None = None) -> dict[str, bytes]:
        """XAttrPermissionFilter.checkPermissionForApi refuses trusted.* names before resolution."""
        wanted = [parse_xattr_name(name) for name in names] if names else None
        trusted_wanted = any(namespace == "trusted" for namespace, _ in wanted or [])
        if trusted_wanted and not self.is_superuser(caller):
            raise PermissionDenied("trusted xattrs are for the superuser")
        target = self.resolve(caller, path).target
        self.require(caller, target, READ)
        if target is None:
            raise FileNotFound(path)
        visible = {
            name: value
            for name, value in target.xattrs.items()
            if name.startswith("user.") or self.is_superuser(caller)
        }
        if wanted is None:
            return visible
        result: dict[str, bytes] = {}
        for namespace, short_name in wanted:
            full_name = f"{namespace}.{short_name}"
            if full_name not in visible:
                raise XAttrNotFound(full_name)
            result[full_name] = visible[full_name]
        return result

    # -- creating -------------------------------------------------------------------------------

    def mkdirs(self, caller: Caller, path: str, permission: int = 0o755, create_parent: bool = True) -> bool:
        resolved = self.resolve(caller, path, creating=True)
        target = resolved.target
        if target is not None:
            if target.is_directory:
                return True
            raise FileAlreadyExists(f"Path is not a directory: {path}")
        self.require(caller, resolved.nodes[resolved.ancestor_index()], WRITE)
        if len(resolved.components) > 1 and resolved.parent is None and not create_parent:
            raise FileNotFound(f"Parent directory doesn't exist: {path}")
        # FSDirMkdirOp: implicit parents get the new directory's mode plus u+wx, without the sticky bit.
        implicit = (permission | IMPLICIT_PARENT_BITS) & 0o777
        self._create_directories(caller, resolved, implicit)
        parent = resolved.nodes[-2]
        assert parent is not None
        parent.children[resolved.name] = ModelInode(
            InodeKind.DIRECTORY, permission, caller.user, parent.group
        )
        return True

    def create(
        self,
        caller: Caller,
        path: str,
        permission: int = 0o644,
        *,
        overwrite: bool = False,
        create_parent: bool = True,
        replication: int = 3,
    ) -> StatusView:
        """startFile: WRITE on the deepest existing ancestor, then what exists, then WRITE on a file
        being overwritten."""
        resolved = self.resolve(caller, path, creating=True)
        if not resolved.components:
            raise FileAlreadyExists("/ already exists as a directory")
        existing = resolved.target
        self.require(caller, resolved.nodes[resolved.ancestor_index()], WRITE)
        if existing is not None:
            if existing.is_directory:
                raise FileAlreadyExists(f"{path} already exists as a directory")
            if not overwrite:
                raise FileAlreadyExists(f"{path} already exists")
            self.require(caller, existing, WRITE)
        elif len(resolved.components) > 1 and resolved.parent is None and not create_parent:
            raise FileNotFound(f"Parent directory doesn't exist: {path}")
        self._create_directories(caller, resolved, self._inherited_mode(resolved))
        parent = resolved.nodes[-2]
        assert parent is not None
        node = ModelInode(InodeKind.FILE, permission, caller.user, parent.group, replication=replication)
        parent.children[resolved.name] = node
        return self.view(path, node)

    def create_symlink(
        self, caller: Caller, target: str, link_path: str, create_parent: bool = False
    ) -> StatusView:
        split_model_path(link_path)
        if not target or "\x00" in target:
            raise InvalidPath(f"invalid symlink target {target!r}")
        resolved = self.resolve(caller, link_path, creating=True)
        if not resolved.components:
            raise FileAlreadyExists("/ already exists")
        if not create_parent and len(resolved.components) > 1 and resolved.parent is None:
            raise FileNotFound(f"Parent directory doesn't exist: {link_path}")
        if resolved.target is not None:
            raise FileAlreadyExists(f"{link_path} already exists")
        self.require(caller, resolved.nodes[resolved.ancestor_index()], WRITE)
        self._create_directories(caller, resolved, self._inherited_mode(resolved))
        parent = resolved.nodes[-2]
        assert parent is not None
        node = ModelInode(
            InodeKind.SYMLINK, SYMLINK_PERMISSION, caller.user, parent.group, symlink_target=target
        )
        parent.children[resolved.name] = node
        return self.view(link_path, node)

    def _inherited_mode(self, resolved: Resolved) -> int:
        """createAncestorDirectories: the deepest existing ancestor's mode plus u+wx, without sticky."""
        deepest = resolved.nodes[resolved.ancestor_index()]
        assert deepest is not None
        return (deepest.permission | IMPLICIT_PARENT_BITS) & 0o777

    def _create_directories(self, caller: Caller, resolved: Resolved, mode: int) -> None:
        """Create the missing directories above the target (the caller checked permissions)."""
        for index in range(len(resolved.components) - 1):
            node = resolved.nodes[index + 1]
            if node is None:
                parent = resolved.nodes[index]
                assert parent is not None and parent.is_directory
                node = ModelInode(InodeKind.DIRECTORY, mode, caller.user, parent.group)
                parent.children[resolved.components[index]] = node
                resolved.nodes[index + 1] = node

    # -- delete and rename ----------------------------------------------------------------------

    def delete(self, caller: Caller, path: str, recursive: bool = False) -> bool:
        """FSDirDeleteOp: sticky bit, WRITE on the parent (also for a missing target), ALL on every
        non-empty directory below, then 'not empty'; False for a missing target or the root."""
        resolved = self.resolve(caller, path)
        target = resolved.target
        parent = resolved.parent
        self.require_sticky(caller, parent, target)
        self.require(caller, parent, WRITE)
        self.require_subtree(caller, target, ALL)
        if target is not None and target.is_directory and target.children and not recursive:
            raise DirectoryNotEmpty(path)
        if target is None or not resolved.components:
            return False
        assert parent is not None
        del parent.children[resolved.name]
        return True

    def rename(self, caller: Caller, source_path: str, target_path: str, overwrite: bool = False) -> None:
        rename_model(self, caller, source_path, target_path, overwrite=overwrite, legacy=False)

    def rename_legacy(self, caller: Caller, source_path: str, target_path: str) -> bool:
        return rename_model(self, caller, source_path, target_path, overwrite=False, legacy=True)

    # -- attributes -----------------------------------------------------------------------------

    def _existing_target(self, caller: Caller, path: str) -> ModelInode:
        target = self.resolve(caller, path).target
        if target is None:
            raise FileNotFound(path)
        return target

    def set_permission(self, caller: Caller, path: str, permission: int) -> None:
        target = self._existing_target(caller, path)
        self.require_owner(caller, target)
        target.permission = permission

    def set_owner(
        self, caller: Caller, path: str, owner: str | None = None, group: str | None = None
    ) -> None:
        target = self._existing_target(caller, path)
        self.require_owner(caller, target)
        if not self.is_superuser(caller):
            if owner is not None and owner != caller.user:
                raise PermissionDenied("non-super user cannot change owner")
            if group is not None and group not in caller.groups:
                raise PermissionDenied(f"{caller.user} does not belong to {group}")
        if owner is not None:
            target.owner = owner
        if group is not None:
            target.group = group

    def set_times(
        self, caller: Caller, path: str, modification_time_ms: int = -1, access_time_ms: int = -1
    ) -> None:
        target = self.resolve(caller, path).target
        self.require(caller, target, WRITE)
        if target is None:
            raise FileNotFound(path)

    def set_replication(self, caller: Caller, path: str, replication: int) -> bool:
        """False for a missing path or one that is not a file."""
        target = self.resolve(caller, path).target
        self.require(caller, target, WRITE)
        if target is None or target.kind is not InodeKind.FILE:
            return False
        target.replication = replication
        return True

    def set_xattr(
        self,
        caller: Caller,
        path: str,
        name: str,
        value: bytes,
        flags: XAttrSetFlag = XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
    ) -> None:
        target = self._xattr_change_target(caller, path, name)
        present = name in target.xattrs
        if present and not flags & XAttrSetFlag.REPLACE:
            raise FileAlreadyExists(f"XAttr: {name} already exists")
        if not present and not flags & XAttrSetFlag.CREATE:
            raise XAttrNotFound(f"XAttr: {name} does not exist")
        target.xattrs[name] = value

    def remove_xattr(self, caller: Caller, path: str, name: str) -> None:
        target = self._xattr_change_target(caller, path, name)
        if name not in target.xattrs:
            raise XAttrNotFound(name)
        del target.xattrs[name]

    def _xattr_change_target(self, caller: Caller, path: str, name: str) -> ModelInode:
        """checkPermissionForApi, resolvePath, checkXAttrChangeAccess (a user.* change on a sticky
        directory needs ownership, elsewhere WRITE), resolveLastINode."""
        namespace, _ = parse_xattr_name(name)
        if namespace == "trusted" and not self.is_superuser(caller):
            raise PermissionDenied("trusted xattrs are for the superuser")
        target = self.resolve(caller, path).target
        if namespace == "user":
            if target is not None and target.is_directory and target.permission & STICKY_BIT:
                self.require_owner(caller, target)
            else:
                self.require(caller, target, WRITE)
        if target is None:
            raise FileNotFound(path)
        return target
