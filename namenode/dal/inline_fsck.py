"""fsck of small files (schema v4): every inline row belongs to a live file flagged
file_stored_in_db, and each such closed file's rows hold exactly its size in the tier its size selects
(a file open for an append that moves it to blocks keeps its old rows, in one tier)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, text

from namenode import schema
from namenode.dal.inline_dal import CHUNKED, inline_tier_of

FILE = 1


def check_inline(connection: Connection) -> list[str]:
    statement = text("SELECT id, kind, size, file_stored_in_db, under_construction FROM inodes")
    rows = connection.execute(statement).all()
    # A small file being moved to blocks (open for append) counts its blocks in size: its inline rows
    # hold the old bytes, whatever their length; only that they are in one tier is checked.
    growing = {int(row[0]) for row in rows if row[3] and row[4]}
    files = {int(row[0]): (int(row[1]), int(row[2]), int(row[3])) for row in rows}
    held: dict[tuple[int, int], int] = Counter()  # (inode id, tier) -> bytes
    for tier, table in enumerate(schema.inline_tier_tables):
        for inode_id, length in _lengths(connection, table.name):
            held[(inode_id, tier)] += length
    for inode_id, length in _lengths(connection, schema.inline_data.name):
        held[(inode_id, CHUNKED)] += length
    problems: list[str] = []
    for (inode_id, tier), length in held.items():
        found = files.get(inode_id)
        if found is None:
            continue  # reported by the namespace check as inline data of a missing inode
        kind, size, stored_in_db = found
        if kind != FILE or not stored_in_db:
            problems.append(f"inline data (tier {tier}) of inode {inode_id}, which is not a small file")
        elif inode_id in growing:
            if sum(1 for other in range(CHUNKED + 1) if (inode_id, other) in held) > 1:
                problems.append(f"growing small file {inode_id} has inline rows in several tiers")
        elif inline_tier_of(size) != tier or length != size:
            problems.append(f"small file {inode_id} of {size} bytes holds {length} bytes in tier {tier}")
    for inode_id, (_kind, size, stored_in_db) in files.items():
        if stored_in_db and size and inode_id not in growing and (inode_id, inline_tier_of(size)) not in held:
            problems.append(f"small file {inode_id} of {size} bytes has no inline data")
    return problems


def _lengths(connection: Connection, table_name: str) -> list[Any]:
    statement = text(f"SELECT inode_id, LENGTH(data) FROM {table_name}")  # table names come from the schema
    return [(int(inode_id), int(length)) for inode_id, length in connection.execute(statement).all()]
