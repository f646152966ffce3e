"""fsck for blocks: the block manager's invariants, checked on the tables directly (see fsck.py).

Checked: every block has its lookup row and belongs to a live file, at consecutive indexes; a closed
file's blocks are all COMPLETE and its length is their sum; only the last block of an open file may
still be written; where locations live by state (block_state.py): `replicas` only for COMPLETE blocks,
expected locations only for blocks not yet complete; no replica both good and corrupt; every replica,
expected location, corrupt replica, queued block and copy in flight belongs to an existing block; a
pending truncate (block_truncations) names an open file's block.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import inspect, text

from namenode import schema

FILE = 1
_FILES_SQL = "SELECT id, kind, size, under_construction, file_stored_in_db FROM inodes"


def check_blocks(connection: Any) -> list[str]:
    if not inspect(connection).has_table(schema.replicas_under_construction.name):
        return []  # a store from before the block manager (schema v2 or older)

    def rows(sql: str) -> list[Any]:
        return list(connection.execute(text(sql)).all())

    files = {
        row.id: row
        for row in rows("SELECT id, kind, size, under_construction, file_stored_in_db FROM inodes")
    }
    blocks = rows("SELECT inode_id, block_id, block_index, num_bytes, state FROM blocks")
    lookups = {row.block_id: row.inode_id for row in rows("SELECT block_id, inode_id FROM block_lookup")}
    problems = _block_rows(blocks, lookups, files)
    by_key = {(row.inode_id, row.block_id): row for row in blocks}
    replicas = {(r.inode_id, r.block_id, r.storage_id) for r in rows("SELECT * FROM replicas")}
    expected = {
        (r.inode_id, r.block_id, r.storage_id) for r in rows("SELECT * FROM replicas_under_construction")
    }
    corrupt = {(r.inode_id, r.block_id, r.storage_id) for r in rows("SELECT * FROM corrupt_replicas")}
    for key in replicas:
        block = by_key.get(key[:2])
        if block is not None and block.state != schema.BLOCK_COMPLETE:
            problems.append(f"blk_{key[1]} in state {block.state} has a finalized replica row on {key[2]}")
    for key in expected:
        block = by_key.get(key[:2])
        if block is not None and block.state == schema.BLOCK_COMPLETE:
            problems.append(f"complete blk_{key[1]} still has an expected location on {key[2]}")
    problems.extend(f"blk_{key[1]} on {key[2]} is both good and corrupt" for key in replicas & corrupt)
    hanging = {
        "replica": {key[:2] for key in replicas},
        "expected location": {key[:2] for key in expected},
        "corrupt replica": {key[:2] for key in corrupt},
        "queued block": {(r.inode_id, r.block_id) for r in rows("SELECT * FROM under_replicated_blocks")},
        "copy in flight": {(r.inode_id, r.block_id) for r in rows("SELECT * FROM pending_replications")},
    }
    for what, keys in hanging.items():
        problems.extend(f"{what} of missing blk_{key[1]} (inode {key[0]})" for key in keys - by_key.keys())
    if inspect(connection).has_table(schema.block_truncations.name):
        for row in rows("SELECT inode_id, block_id FROM block_truncations"):
            owner = files.get(row.inode_id)
            if owner is None or not owner.under_construction or (row.inode_id, row.block_id) not in by_key:
                problems.append(
                    f"truncation of blk_{row.block_id} (inode {row.inode_id}) is not of an open file"
                )
    return problems


def _block_rows(blocks: list[Any], lookups: dict[int, int], files: dict[int, Any]) -> list[str]:
    problems: list[str] = []
    of_file: dict[int, list[Any]] = defaultdict(list)
    for block in blocks:
        of_file[block.inode_id].append(block)
        if lookups.get(block.block_id) != block.inode_id:
            problems.append(
                f"blk_{block.block_id} of inode {block.inode_id} has lookup {lookups.get(block.block_id)}"
            )
    known = {block.block_id for block in blocks}
    problems.extend(f"lookup of missing blk_{block_id}" for block_id in lookups.keys() - known)
    for inode_id, file_blocks in of_file.items():
        file = files.get(inode_id)
        if file is None or file.kind != FILE:
            problems.append(f"{len(file_blocks)} block(s) belong to missing or non-file inode {inode_id}")
            continue
        file_blocks.sort(key=lambda block: block.block_index)
        if [block.block_index for block in file_blocks] != list(range(len(file_blocks))):
            problems.append(f"inode {inode_id} has block indexes {[b.block_index for b in file_blocks]}")
        open_blocks = [block for block in file_blocks if block.state != schema.BLOCK_COMPLETE]
        if not file.under_construction:
            if open_blocks:
                problems.append(f"closed file {inode_id} has blocks not complete: {open_blocks}")
            if not file.file_stored_in_db and file.size != sum(block.num_bytes for block in file_blocks):
                problems.append(
                    f"closed file {inode_id} has length {file.size}, its blocks hold more or less"
                )
        writing = [block for block in open_blocks if block.state != schema.BLOCK_COMMITTED]
        if (writing and writing[-1].block_index != len(file_blocks) - 1) or len(writing) > 1:
            problems.append(f"file {inode_id} writes a block that is not its last: {writing}")
    return problems
