"""fsck: check the namespace's invariants in the database (`hopsfs fsck`; every test ends with it).

Reads the tables directly with plain SQLAlchemy, not through the engine, so an engine bug cannot
hide itself, and returns a list of problems (empty when healthy). It reads every inode into memory:
meant for operators and tests, on namespaces of up to a few million inodes.

Checked: one root; unique inode ids; each non-root inode's parent exists and is a directory;
partition ids follow the partition rule; no cycles (every inode reaches the root within the depth
bound); each directory's children_count equals its children; xattr_count equals the xattr rows;
xattrs and inline data belong to live inodes; no subtree flag left behind (unless allowed); each
lease path names a live inode; the block manager's invariants (block_fsck.py); small files'
inline rows (inline_fsck.py).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import create_engine, text

from hopsfs import limits
from namenode import schema
from namenode.dal.block_fsck import check_blocks
from namenode.dal.inline_fsck import check_inline
from namenode.entities import partition_for

DIRECTORY = 2


def check_namespace(url: str, *, allow_subtree_flags: bool = False) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inodes = connection.execute(
                text(
                    "SELECT partition_id, parent_id, name, id, kind, children_count, xattr_count,"
                    " subtree_lock_owner FROM inodes"
                )
            ).all()
            xattr_rows = connection.execute(text("SELECT inode_id FROM xattrs")).all()
            inline_rows = connection.execute(text("SELECT DISTINCT inode_id FROM inline_data")).all()
            lease_rows = connection.execute(text("SELECT inode_id FROM lease_paths")).all()
            block_problems = check_blocks(connection)
            block_problems += check_inline(connection)
    finally:
        engine.dispose()
    problems: list[str] = []
    by_id: dict[int, tuple] = {}
    for row in inodes:
        if row.id in by_id:
            problems.append(f"inode id {row.id} appears twice: {by_id[row.id]} and {tuple(row)}")
        by_id[row.id] = row
    roots = [row for row in inodes if row.parent_id == schema.ROOT_PARENT_ID]
    if len(roots) != 1 or roots[0].id != schema.ROOT_INODE_ID or roots[0].kind != DIRECTORY:
        problems.append(f"expected exactly one root directory with id 1, found {[tuple(r) for r in roots]}")
    child_counts: Counter[int] = Counter()
    for row in inodes:
        if row.id == schema.ROOT_INODE_ID:
            continue
        parent = by_id.get(row.parent_id)
        if parent is None:
            problems.append(f"orphan: inode {row.id} ({row.name!r}) has no parent {row.parent_id}")
            continue
        if parent.kind != DIRECTORY:
            problems.append(f"inode {row.id} ({row.name!r}) lives under non-directory {parent.id}")
        if row.partition_id != partition_for(row.parent_id, row.name):
            problems.append(
                f"inode {row.id} ({row.name!r}) has partition {row.partition_id}, rule says otherwise"
            )
        child_counts[row.parent_id] += 1
        if row.subtree_lock_owner is not None and not allow_subtree_flags:
            problems.append(
                f"inode {row.id} ({row.name!r}) still carries a subtree flag of {row.subtree_lock_owner}"
            )
    problems.extend(_cycles(by_id))
    for row in inodes:
        if row.kind == DIRECTORY and row.children_count != child_counts[row.id]:
            problems.append(
                f"directory {row.id} ({row.name!r}) counts {row.children_count} children, "
                f"has {child_counts[row.id]}"
            )
    xattr_counts = Counter(row.inode_id for row in xattr_rows)
    for inode_id, count in xattr_counts.items():
        if inode_id not in by_id:
            problems.append(f"{count} xattrs belong to missing inode {inode_id}")
        elif by_id[inode_id].xattr_count != count:
            problems.append(f"inode {inode_id} counts {by_id[inode_id].xattr_count} xattrs, has {count}")
    for row in inodes:
        if row.xattr_count and row.id not in xattr_counts:
            problems.append(f"inode {row.id} counts {row.xattr_count} xattrs, has none")
    problems.extend(
        f"inline data of missing inode {r.inode_id}" for r in inline_rows if r.inode_id not in by_id
    )
    problems.extend(f"lease on missing inode {r.inode_id}" for r in lease_rows if r.inode_id not in by_id)
    return problems + block_problems


def _cycles(by_id: dict[int, tuple]) -> list[str]:
    problems: list[str] = []
    reaches_root: set[int] = {schema.ROOT_INODE_ID}
    for start in by_id:
        trail: list[int] = []
        current = start
        while current not in reaches_root:
            trail.append(current)
            if len(trail) > limits.PATH_DEPTH_MAX + 1:
                problems.append(f"inode {start} does not reach the root: cycle through {trail[-5:]}")
                trail = []
                break
            row = by_id.get(current)
            if row is None:
                trail = []
                break  # reported as an orphan already
            current = row.parent_id
        reaches_root.update(trail)
    return problems
