"""POSIX permission checks as HDFS's FSPermissionChecker makes them.

The superuser (the formatting user) and members of the supergroup pass every check. Otherwise the
owner class applies if the caller owns the inode, else the group class if the caller is in its
group, else other. A sticky directory lets only the child's owner, the directory's owner or the
superuser delete or rename a child.
"""

from __future__ import annotations

from hopsfs.errors import PermissionDenied
from hopsfs.types import Caller, InodeKind
from namenode.entities import InodeRow

READ = 4
WRITE = 2
EXECUTE = 1
STICKY_BIT = 0o1000
_ACCESS_NAMES = {
    READ: "READ",
    WRITE: "WRITE",
    EXECUTE: "EXECUTE",
    READ | EXECUTE: "READ_EXECUTE",
    WRITE | EXECUTE: "WRITE_EXECUTE",
    READ | WRITE | EXECUTE: "ALL",
    READ | WRITE: "READ_WRITE",
}


class PermissionChecker:
    __slots__ = ("caller", "is_superuser", "supergroup", "superuser")

    def __init__(self, caller: Caller, superuser: str, supergroup: str) -> None:
        self.caller = caller
        self.superuser = superuser
        self.supergroup = supergroup
        # Computed once: every ancestor of every path is checked against it.
        self.is_superuser = caller.user == superuser or supergroup in caller.groups

    def allows(self, row: InodeRow, access: int) -> bool:
        if self.is_superuser:
            return True
        if self.caller.user == row.owner:
            granted = (row.permission >> 6) & 7
        elif row.group_name in self.caller.groups:
            granted = (row.permission >> 3) & 7
        else:
            granted = row.permission & 7
        return granted & access == access

    def require(self, row: InodeRow, access: int, path: str) -> None:
        if not self.allows(row, access):
            raise PermissionDenied(
                f"Permission denied: user={self.caller.user}, access={_ACCESS_NAMES[access]}, "
                f'inode="{path}":{row.owner}:{row.group_name}:{mode_string(row)}'
            )

    def require_owner(self, row: InodeRow, path: str) -> None:
        if not self.is_superuser and self.caller.user != row.owner:
            raise PermissionDenied(
                f"Permission denied. user={self.caller.user} is not the owner of inode={path}"
            )

    def require_superuser(self, what: str) -> None:
        if not self.is_superuser:
            raise PermissionDenied(
                f"Access denied for user {self.caller.user}. Superuser privilege is required to {what}"
            )

    def require_sticky_ok(self, parent: InodeRow, child: InodeRow, path: str) -> None:
        """A sticky parent lets only the child's owner, its own owner or the superuser remove a child."""
        if not parent.permission & STICKY_BIT or self.is_superuser:
            return
        if self.caller.user in (parent.owner, child.owner):
            return
        raise PermissionDenied(
            f'Permission denied by sticky bit: user={self.caller.user}, path="{path}":{child.owner}:'
            f"{child.group_name}:{mode_string(child)}, parent owner={parent.owner}"
        )


def mode_string(row: InodeRow) -> str:
    kind = {InodeKind.DIRECTORY: "d", InodeKind.SYMLINK: "l"}.get(InodeKind(row.kind), "-")
    bits = ""
    for shift in (6, 3, 0):
        triple = (row.permission >> shift) & 7
        bits += ("r" if triple & 4 else "-") + ("w" if triple & 2 else "-") + ("x" if triple & 1 else "-")
    if row.permission & STICKY_BIT:
        bits = bits[:-1] + ("t" if bits[-1] == "x" else "T")
    return kind + bits
