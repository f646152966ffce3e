"""Bulk loader: a realistic namespace of exactly N inodes, written as valid rows in big transactions.

The engine API runs one transaction per inode, far too slow for 10^6 of them, so the tree is written
straight through the DAL (`DalSession.insert_inodes`) as rows the engine itself would have produced:
partition ids from `key_for`, ids from `IdAllocator`, exact `children_count`, so tests/support/fsck.py
passes on the result.

Shape (hammer-bench-like): a few top directories under the root; leaf directories of
`FILES_PER_LEAF` files each at depth 2, 3 or 4 (so files sit at depth 3-5), reached through chains of
intermediate directories of at most `FANOUT_MAX` children. Directories are named "d0012" (ordinal
among their parent's children), files "f000123" (global ordinal). Ids ascend in creation order
(parents before children), the order an organically grown namespace would mostly have too.

Bounds: memory holds the directories (about 1% of N) and one transaction's rows; files are streamed.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from hopsfs import limits
from hopsfs.invariants import check
from hopsfs.types import InodeKind
from namenode.dal.store import MetadataStore
from namenode.engine.ids import IdAllocator
from namenode.entities import ROOT_KEY, InodeRow, key_for, new_inode_row

FILES_PER_LEAF = 100
FANOUT_MAX = 100
TOP_DIRECTORIES_MIN = 4
# Leaf directories per top directory: a third sit directly under it, so it keeps about 100 children.
LEAVES_PER_TOP_DIRECTORY = 300
LEAF_DEPTHS = (2, 3, 4)
INODES_MIN = 1_000  # enough for several full leaf directories (the workloads need two)
ROWS_PER_TRANSACTION = 50_000
ID_BATCH = 100_000
DIRECTORY_PERMISSION = 0o755
FILE_PERMISSION = 0o644
FILE_REPLICATION = limits.REPLICATION_DEFAULT
FILE_BLOCK_SIZE_BYTES = limits.BLOCK_SIZE_BYTES_DEFAULT

check(FILES_PER_LEAF <= FANOUT_MAX, "a leaf directory holds at most the fan-out")
check(ROWS_PER_TRANSACTION >= limits.ID_ALLOCATION_BATCH, "a transaction takes whole id batches")


@dataclass(frozen=True, slots=True)
class Owner:
    user: str
    group: str


@dataclass(slots=True)
class PlannedDirectory:
    path: str
    name: str
    parent: int  # index in the plan's directories, -1 for the root
    depth: int
    children: int = 0
    inode_id: int = 0


@dataclass(slots=True)
class PopulatedTree:
    """What the workloads need to know about the loaded namespace, without holding every file."""

    inode_count: int
    directory_paths: list[str]
    leaf_paths: list[str]
    leaf_ids: list[int]
    leaf_file_starts: list[int]  # first file ordinal of each leaf; files of leaf i are contiguous
    leaf_file_counts: list[int]
    file_count: int
    top_directory_count: int
    seconds: float = 0.0
    full_leaves: list[int] = field(default_factory=list)  # leaves holding exactly FILES_PER_LEAF files

    def file_leaf(self, ordinal: int) -> int:
        check(0 <= ordinal < self.file_count, "file ordinal out of range")
        return bisect_right(self.leaf_file_starts, ordinal) - 1

    def file_path(self, ordinal: int) -> str:
        return f"{self.leaf_paths[self.file_leaf(ordinal)]}/{file_name(ordinal)}"

    def file_key(self, ordinal: int) -> tuple[int, int, str]:
        return key_for(self.leaf_ids[self.file_leaf(ordinal)], file_name(ordinal))


def file_name(ordinal: int) -> str:
    return f"f{ordinal:06d}"


def populate(store: MetadataStore, inode_count: int, owner: Owner, now_ms: int) -> PopulatedTree:
    """Write a tree of exactly `inode_count` inodes (root included) into a freshly formatted store."""
    check(inode_count >= INODES_MIN, "the bench tree needs at least a few leaf directories")
    started = time.perf_counter()
    directories, leaves, top_count = plan_directories(inode_count)
    file_count = inode_count - 1 - len(directories)
    check(0 < file_count <= FILES_PER_LEAF * len(leaves), "files must fit the leaf directories")
    file_counts = [
        min(FILES_PER_LEAF, max(0, file_count - FILES_PER_LEAF * index)) for index in range(len(leaves))
    ]
    for leaf, count in zip(leaves, file_counts, strict=True):
        directories[leaf].children += count
    allocator = IdAllocator(store, "inode", batch_size=ID_BATCH)
    for directory, inode_id in zip(directories, _take_ids(allocator, len(directories)), strict=True):
        directory.inode_id = inode_id
    _insert_directories(store, directories, top_count, owner, now_ms)
    leaf_ids = [directories[leaf].inode_id for leaf in leaves]
    file_rows = _file_rows(leaf_ids, file_counts, owner, now_ms)
    while True:
        chunk_size = min(ROWS_PER_TRANSACTION, file_count)
        ids = _take_ids(allocator, chunk_size)
        chunk = list(islice(file_rows, chunk_size))
        check(len(chunk) == chunk_size, "the file stream ended early")
        for row, inode_id in zip(chunk, ids, strict=True):
            row.id = inode_id
        _insert(store, chunk)
        file_count -= chunk_size
        if file_count == 0:
            break
    starts = [FILES_PER_LEAF * index for index in range(len(leaves))]
    tree = PopulatedTree(
        inode_count=inode_count,
        directory_paths=[directory.path for directory in directories],
        leaf_paths=[directories[leaf].path for leaf in leaves],
        leaf_ids=leaf_ids,
        leaf_file_starts=starts,
        leaf_file_counts=file_counts,
        file_count=sum(file_counts),
        top_directory_count=top_count,
        seconds=time.perf_counter() - started,
        full_leaves=[index for index, count in enumerate(file_counts) if count == FILES_PER_LEAF],
    )
    check(1 + len(directories) + tree.file_count == inode_count, "the tree must hold exactly N inodes")
    return tree


def plan_directories(inode_count: int) -> tuple[list[PlannedDirectory], list[int], int]:
    """Every directory (parents first), the indexes of the leaf directories, and the top count."""
    leaf_count = math.ceil((inode_count - 1) / (FILES_PER_LEAF + 1))
    top_count = max(TOP_DIRECTORIES_MIN, math.ceil(leaf_count / LEAVES_PER_TOP_DIRECTORY))
    directories: list[PlannedDirectory] = []
    by_logical: dict[tuple[int, ...], int] = {}
    root_children = [0]  # the root is not in `directories`; its child counter lives here

    def ensure(logical: tuple[int, ...], parent: int) -> int:
        found = by_logical.get(logical)
        if found is not None:
            return found
        if parent < 0:
            ordinal = root_children[0]
            root_children[0] += 1
            parent_path, depth = "", 1
        else:
            ordinal = directories[parent].children
            directories[parent].children += 1
            parent_path, depth = directories[parent].path, directories[parent].depth + 1
        name = f"d{ordinal:04d}"
        directories.append(PlannedDirectory(f"{parent_path}/{name}", name, parent, depth))
        by_logical[logical] = len(directories) - 1
        return len(directories) - 1

    tops = [ensure((top,), -1) for top in range(top_count)]
    leaves: list[int] = []
    for leaf in range(leaf_count):
        top, rest = leaf % top_count, leaf // top_count
        depth_class, ordinal = rest % len(LEAF_DEPTHS), rest // len(LEAF_DEPTHS)
        parent = tops[top]
        # Intermediate levels between the top directory and the leaf, each of at most FANOUT_MAX.
        for level in range(depth_class, 0, -1):
            # ordinal // FANOUT_MAX**level names the directory and, by integer division, its ancestors.
            parent = ensure((top, depth_class, level, ordinal // FANOUT_MAX**level), parent)
        leaves.append(ensure((top, depth_class, 0, ordinal), parent))
        check(directories[leaves[-1]].depth == LEAF_DEPTHS[depth_class], "leaf at its planned depth")
    return directories, leaves, top_count


def _take_ids(allocator: IdAllocator, count: int) -> list[int]:
    """`count` ids, taken before any write transaction begins (see namenode/engine/ids.py)."""
    ids: list[int] = []
    while len(ids) < count:
        ids.extend(allocator.take(min(limits.ID_ALLOCATION_BATCH, count - len(ids))))
    check(len(ids) == count, "took exactly the ids asked for")
    return ids


def _insert_directories(
    store: MetadataStore, directories: list[PlannedDirectory], top_count: int, owner: Owner, now_ms: int
) -> None:
    with store.session() as session:
        session.begin(write=True)
        roots = session.read_inodes_by_keys([ROOT_KEY])
        check(len(roots) == 1 and roots[0].children_count == 0, "populate needs a freshly formatted store")
        root = roots[0]
        root.children_count = top_count
        session.update_inodes([root])
        session.commit()
    rows = []
    for directory in directories:
        parent_id = root.id if directory.parent < 0 else directories[directory.parent].inode_id
        rows.append(_directory_row(parent_id, directory, owner, now_ms))
    for start in range(0, len(rows), ROWS_PER_TRANSACTION):
        _insert(store, rows[start : start + ROWS_PER_TRANSACTION])


def _insert(store: MetadataStore, rows: list[InodeRow]) -> None:
    with store.session() as session:
        session.begin(write=True)
        session.insert_inodes(rows)
        session.commit()


def _file_rows(leaf_ids: list[int], file_counts: list[int], owner: Owner, now_ms: int) -> Iterator[InodeRow]:
    """File rows leaf by leaf, ordinals ascending; ids are filled in by the caller."""
    ordinal = 0
    for leaf_id, count in zip(leaf_ids, file_counts, strict=True):
        for _ in range(count):
            yield _row(leaf_id, file_name(ordinal), 0, InodeKind.FILE, owner, now_ms, 0)
            ordinal += 1


def _directory_row(parent_id: int, directory: PlannedDirectory, owner: Owner, now_ms: int) -> InodeRow:
    return _row(
        parent_id, directory.name, directory.inode_id, InodeKind.DIRECTORY, owner, now_ms, directory.children
    )


def _row(
    parent_id: int, name: str, inode_id: int, kind: InodeKind, owner: Owner, now_ms: int, children: int
) -> InodeRow:
    """A row as namenode/ops/common.py's new_inode builds it (sizes 0: the bench writes no blocks)."""
    is_file = kind is InodeKind.FILE
    permission = FILE_PERMISSION if is_file else DIRECTORY_PERMISSION
    key = key_for(parent_id, name)
    row = new_inode_row(key, inode_id, int(kind), permission, owner.user, owner.group, now_ms)
    row.children_count = children
    if is_file:
        row.access_time = now_ms
        row.replication = FILE_REPLICATION
        row.block_size = FILE_BLOCK_SIZE_BYTES
    return row
