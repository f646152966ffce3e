"""The model namespace's tree, path resolution and permission checks (see model_fs.py for the ops).

The model follows Hadoop 3's NameNode (FSDirectory.resolvePath and FSPermissionChecker here; the
FSDir*Op classes in model_fs.py and model_rename.py), including the order in which HDFS makes its
checks: the first refusal HDFS would raise is the one the model raises. Where HDFS raises a plain
IOException the model raises the hopsfs class for it (InvalidRename, InvalidArgument,
FileAlreadyExists for an existing symlink or xattr, XAttrNotFound).

Three places where hopsfs differs from HDFS on purpose are listed in `HOPSFS_CHOICES`; the model
implements hopsfs's semantics there, and the code applying each names it in a comment.

Bounds: the model is as large as the namespace a test builds (a few hundred inodes); resolution and
subtree walks are iterative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from hopsfs.errors import InvalidArgument, InvalidPath, ParentNotDirectory, PermissionDenied, UnresolvedLink
from hopsfs.types import Caller, FileStatus, InodeKind, Listing

READ = 4
WRITE = 2
EXECUTE = 1
ALL = READ | WRITE | EXECUTE
STICKY_BIT = 0o1000
IMPLICIT_PARENT_BITS = 0o300  # HDFS addImplicitUwx: u+wx on implicitly created parents
SYMLINK_PERMISSION = 0o777
COMPONENT_BYTES_MAX = 255

# Deliberate hopsfs semantics that differ from HDFS 3 (not bugs): name -> what hopsfs does and why.
HOPSFS_CHOICES: dict[str, str] = {
    "file_ancestor_reads_as_missing": (
        "a path below a file reads as missing, as a POSIX lookup would: FileNotFound (delete False, "
        "rename source missing) for every op that does not create, ParentNotDirectory for those that "
        "create (mkdirs, create, create_symlink, the rename destination); HDFS 3's resolvePath raises "
        "AccessControlException for the non-create ops and for create_symlink"
    ),
    "final_symlink_not_resolved": (
        "operations act on a final symlink itself, like lstat and lchown: list shows the link, mkdirs "
        "and create say FileAlreadyExists, create with overwrite replaces it, attributes and xattrs "
        "change on the link; HDFS raises UnresolvedLink from list, mkdirs, create, set_permission, "
        "set_owner, set_times, set_replication and the xattr ops"
    ),
    "rename_sticky_on_destination": (
        "replacing an existing destination in a sticky directory needs ownership (of the directory or "
        "of the replaced inode) as POSIX rename(2) does; HDFS only checks WRITE on the destination's "
        "parent. Checked after all of the rename's own rules"
    ),
}


class StatusView(NamedTuple):
    """The part of a FileStatus the model predicts (times and ids are the engine's own)."""

    path: str
    kind: InodeKind
    permission: int
    owner: str
    group: str
    size: int
    replication: int
    children_count: int
    symlink_target: str | None


class ListingView(NamedTuple):
    entries: tuple[StatusView, ...]
    remaining: int


def status_view(status: FileStatus) -> StatusView:
    return StatusView(
        status.path,
        status.kind,
        status.permission,
        status.owner,
        status.group,
        status.size,
        status.replication,
        status.children_count,
        status.symlink_target,
    )


def listing_view(listing: Listing) -> ListingView:
    return ListingView(tuple(status_view(entry) for entry in listing.entries), listing.remaining)


@dataclass(slots=True)
class ModelInode:
    kind: InodeKind
    permission: int
    owner: str
    group: str
    replication: int = 0
    symlink_target: str | None = None
    xattrs: dict[str, bytes] = field(default_factory=dict)
    children: dict[str, ModelInode] = field(default_factory=dict)

    @property
    def is_directory(self) -> bool:
        return self.kind is InodeKind.DIRECTORY

    @property
    def is_symlink(self) -> bool:
        return self.kind is InodeKind.SYMLINK


@dataclass(slots=True)
class Resolved:
    """INodesInPath: nodes[0] is the root, nodes[i] the inode of components[i - 1] or None."""

    path: str
    components: tuple[str, ...]
    nodes: list[ModelInode | None]

    @property
    def target(self) -> ModelInode | None:
        return self.nodes[-1]

    @property
    def parent(self) -> ModelInode | None:
        return self.nodes[-2] if len(self.nodes) > 1 else None

    @property
    def name(self) -> str:
        return self.components[-1] if self.components else ""

    def ancestor_index(self) -> int:
        """FSPermissionChecker's ancestorIndex: the deepest existing inode above the target."""
        index = len(self.nodes) - 2
        while index >= 0 and self.nodes[index] is None:
            index -= 1
        return index


def split_model_path(path: str) -> tuple[str, ...]:
    """DFSUtil.isValidName plus the engine's byte bound; InvalidPath otherwise."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidPath(f"not an absolute path: {path!r}")
    if path == "/":
        return ()
    components = tuple(path[1:].split("/"))
    for component in components:
        if component in ("", ".", "..") or ":" in component or "\x00" in component:
            raise InvalidPath(f"invalid component {component!r} in {path!r}")
        if len(component.encode("utf-8")) > COMPONENT_BYTES_MAX:
            raise InvalidPath(f"component too long in {path!r}")
    return components


def join_model_path(components: tuple[str, ...] | list[str]) -> str:
    return "/" + "/".join(components)


def child_model_path(parent: str, name: str) -> str:
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def parse_xattr_name(name: str) -> tuple[str, str]:
    """'user.color' -> ('user', 'color'); only the user and trusted namespaces are offered."""
    namespace, dot, short_name = name.partition(".")
    if not dot or namespace not in ("user", "trusted") or not short_name:
        raise InvalidArgument(f"unsupported xattr name {name!r}")
    return namespace, short_name


class ModelTree:
    """The inode tree with HDFS's resolution and permission checks; ModelFS adds the operations."""

    def __init__(self, superuser: str, supergroup: str, root_permission: int) -> None:
        self.superuser = superuser
        self.supergroup = supergroup
        self.root = ModelInode(InodeKind.DIRECTORY, root_permission, superuser, supergroup)

    # -- permission checks (FSPermissionChecker) ------------------------------------------------

    def is_superuser(self, caller: Caller) -> bool:
        return caller.user == self.superuser or self.supergroup in caller.groups

    def allows(self, caller: Caller, node: ModelInode, access: int) -> bool:
        if self.is_superuser(caller):
            return True
        if caller.user == node.owner:
            granted = (node.permission >> 6) & 7
        elif node.group in caller.groups:
            granted = (node.permission >> 3) & 7
        else:
            granted = node.permission & 7
        return granted & access == access

    def require(self, caller: Caller, node: ModelInode | None, access: int) -> None:
        """FSPermissionChecker.check: a missing inode passes."""
        if node is not None and not self.allows(caller, node, access):
            raise PermissionDenied(f"{caller.user} lacks access {access}")

    def require_sticky(self, caller: Caller, parent: ModelInode | None, child: ModelInode | None) -> None:
        if parent is None or child is None or self.is_superuser(caller):
            return
        if parent.permission & STICKY_BIT and caller.user not in (parent.owner, child.owner):
            raise PermissionDenied(f"sticky bit refuses {caller.user}")

    def require_owner(self, caller: Caller, node: ModelInode) -> None:
        if not self.is_superuser(caller) and caller.user != node.owner:
            raise PermissionDenied(f"{caller.user} is not the owner")

    def require_subtree(self, caller: Caller, node: ModelInode | None, access: int) -> None:
        """checkSubAccess with ignoreEmptyDir: `access` on every non-empty directory from `node` down."""
        if node is None or not node.is_directory or self.is_superuser(caller):
            return
        pending = [node]
        while pending:
            directory = pending.pop()
            if directory.children:
                self.require(caller, directory, access)
            pending.extend(child for child in directory.children.values() if child.is_directory)

    # -- resolution (FSDirectory.resolvePath + checkTraverse) -----------------------------------

    def lookup(self, components: tuple[str, ...]) -> list[ModelInode | None]:
        nodes: list[ModelInode | None] = [self.root]
        current: ModelInode | None = self.root
        for name in components:
            current = current.children.get(name) if current is not None and current.is_directory else None
            nodes.append(current)
        return nodes

    def resolve(self, caller: Caller, path: str, *, creating: bool = False) -> Resolved:
        """resolvePath: InvalidPath, then each ancestor in path order (a symlink raises UnresolvedLink,
        a directory needs EXECUTE, a file ends the walk). `creating` is HDFS's CREATE / CREATE_LINK
        DirOp (and create_symlink): a file ancestor raises ParentNotDirectory.

        hopsfs choice "file_ancestor_reads_as_missing": without `creating`, the rest of a path below a
        file is missing. hopsfs choice "final_symlink_not_resolved": a symlink as the last component is
        never resolved, whatever the operation."""
        components = split_model_path(path)
        resolved = Resolved(path, components, self.lookup(components))
        superuser = self.is_superuser(caller)
        for index in range(resolved.ancestor_index() + 1):
            node = resolved.nodes[index]
            assert node is not None
            if node.is_symlink:
                raise UnresolvedLink(f"{path} passes through a symlink", "", "", "")
            if not node.is_directory:
                if creating:
                    raise ParentNotDirectory(f"{join_model_path(components[:index])} (is not a directory)")
                break
            if not superuser and not self.allows(caller, node, EXECUTE):
                raise PermissionDenied(f"{caller.user} cannot traverse {join_model_path(components[:index])}")
        return resolved

    # -- whole-tree views -----------------------------------------------------------------------

    def view(self, path: str, node: ModelInode) -> StatusView:
        return StatusView(
            path,
            node.kind,
            node.permission,
            node.owner,
            node.group,
            0,
            node.replication,
            len(node.children),
            node.symlink_target,
        )

    def walk(self) -> dict[str, ModelInode]:
        """Every inode but the root, by path."""
        found: dict[str, ModelInode] = {}
        pending: list[tuple[str, ModelInode]] = [("/", self.root)]
        while pending:
            path, node = pending.pop()
            for name, child in node.children.items():
                child_path = child_model_path(path, name)
                found[child_path] = child
                pending.append((child_path, child))
        return found

    def paths(self) -> list[str]:
        return sorted(self.walk())
