"""Rows the engine works on, in memory. The DAL fills them; operations change them; the DAL writes them.

`InodeRow` fields are exactly `schema.INODE_COLUMNS`, in that order, so a fetched tuple becomes a row
with one constructor call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from operator import attrgetter

from hopsfs.invariants import check
from hopsfs.types import InodeKind
from namenode import schema

InodeKey = tuple[int, int, str]


@dataclass(slots=True)
class InodeRow:
    partition_id: int
    parent_id: int
    name: str
    id: int
    kind: int
    permission: int
    owner: str
    group_name: str
    modification_time: int
    access_time: int
    size: int
    replication: int
    block_size: int
    children_count: int
    logical_time: int
    storage_policy: int
    under_construction: int
    file_stored_in_db: int
    xattr_count: int
    symlink_target: str | None
    client_name: str | None
    subtree_lock_owner: str | None
    subtree_lock_expiry_ms: int | None

    @property
    def key(self) -> InodeKey:
        return (self.partition_id, self.parent_id, self.name)

    @property
    def is_directory(self) -> bool:
        return self.kind == InodeKind.DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.kind == InodeKind.FILE

    @property
    def is_symlink(self) -> bool:
        return self.kind == InodeKind.SYMLINK

    def values(self) -> tuple[object, ...]:
        return _row_values(self)  # type: ignore[no-any-return]

    def copy(self) -> InodeRow:
        return InodeRow(*_row_values(self))


_row_values = attrgetter(*schema.INODE_COLUMNS)


check(
    tuple(InodeRow.__dataclass_fields__) == schema.INODE_COLUMNS,
    "InodeRow fields must match the inodes table column order",
)


def new_inode_row(
    key: InodeKey, inode_id: int, kind: int, permission: int, owner: str, group_name: str, now_ms: int
) -> InodeRow:
    """A fresh inode: empty, unflagged, at logical time 0; callers set what differs (size, target...)."""
    partition_id, parent_id, name = key
    return InodeRow(
        partition_id=partition_id,
        parent_id=parent_id,
        name=name,
        id=inode_id,
        kind=kind,
        permission=permission,
        owner=owner,
        group_name=group_name,
        modification_time=now_ms,
        access_time=0,
        size=0,
        replication=0,
        block_size=0,
        children_count=0,
        logical_time=0,
        storage_policy=0,
        under_construction=0,
        file_stored_in_db=0,
        xattr_count=0,
        symlink_target=None,
        client_name=None,
        subtree_lock_owner=None,
        subtree_lock_expiry_ms=None,
    )


def partition_for(parent_id: int, name: str) -> int:
    """HopsFS's partition rule: a directory's children share its id as partition, except the root's.

    The root's children are hashed over ROOT_CHILD_PARTITIONS negative buckets, so the top-level
    directories (where every path starts) are spread across shards, while listing the root stays a
    bounded range scan.
    """
    if parent_id == schema.ROOT_INODE_ID:
        return -1 - (_stable_hash(name) % schema.ROOT_CHILD_PARTITIONS)
    return parent_id


def key_for(parent_id: int, name: str) -> InodeKey:
    return (partition_for(parent_id, name), parent_id, name)


ROOT_KEY: InodeKey = (schema.ROOT_PARTITION_ID, schema.ROOT_PARENT_ID, schema.ROOT_NAME)


def _stable_hash(name: str) -> int:
    # CRC-32 of the UTF-8 bytes: stable across processes and Python versions, unlike hash().
    return zlib.crc32(name.encode("utf-8"))
