"""Small-file statements on a DAL session: a mixin `DalSession` inherits.

A file's size alone names the table its bytes are in (`inline_tier_of`), so every read or delete is
one primary-key statement: no probing of the tiers. Writes are batched per table (one executemany).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from hopsfs.invariants import check
from namenode import schema
from namenode.dal.inline_statements import tier_name
from namenode.dal.statements import IN_LIST_SIZES, Statement, StatementCache

CHUNKED = len(schema.INLINE_TIER_BYTES_MAX)  # the "tier" of files kept as chunk rows in inline_data
_IN_LIST_MAX = IN_LIST_SIZES[-1]
# Data bytes in one executemany: a batch of small files writes up to BATCH_BYTES_MAX (32 MiB) at once,
# and a MySQL driver may send an executemany as one packet, which max_allowed_packet (16 MiB by
# default on MariaDB) refuses.
INSERT_BYTES_MAX = 4 * 1024 * 1024
check(INSERT_BYTES_MAX >= schema.INLINE_CHUNK_BYTES, "a chunk row fits in one insert")


def inline_tier_of(size: int) -> int | None:
    """The tier (index into schema.inline_tier_tables, or CHUNKED) holding `size` bytes; None for an
    empty file, which has no row."""
    check(0 <= size <= schema.INLINE_FILE_BYTES_MAX, "an inline file's size is within the largest threshold")
    if size == 0:
        return None
    for tier, bytes_max in enumerate(schema.INLINE_TIER_BYTES_MAX):
        if size <= bytes_max:
            return tier
    return CHUNKED


def _parts_by_bytes(parameters: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Rows cut into runs of at most INSERT_BYTES_MAX bytes of data (at least one row each)."""
    parts: list[list[dict[str, object]]] = [[]]
    part_bytes = 0
    for values in parameters:
        size = len(values["data"])  # type: ignore[arg-type]
        if parts[-1] and part_bytes + size > INSERT_BYTES_MAX:
            parts.append([])
            part_bytes = 0
        parts[-1].append(values)
        part_bytes += size
    return parts


def inline_chunks(data: bytes) -> list[bytes]:
    step = schema.INLINE_CHUNK_BYTES
    return [data[start : start + step] for start in range(0, len(data), step)]


class InlineDal:
    """What DalSession provides to this mixin."""

    _statements: StatementCache

    def _fetch_all(self, text: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _execute_many(self, statement: Statement, parameters: Sequence[dict[str, object]]) -> None:
        raise NotImplementedError

    def insert_inline_data(self, entries: Iterable[tuple[int, bytes]]) -> None:
        """Store each (inode id, bytes) in the table its size selects."""
        by_tier: dict[int, list[dict[str, object]]] = defaultdict(list)
        for inode_id, data in entries:
            tier = inline_tier_of(len(data))
            if tier is None:
                continue
            if tier == CHUNKED:
                for index, chunk in enumerate(inline_chunks(data)):
                    by_tier[CHUNKED].append({"inode_id": inode_id, "chunk_index": index, "data": chunk})
            else:
                by_tier[tier].append({"inode_id": inode_id, "data": data})
        for tier, parameters in sorted(by_tier.items()):
            name = "inline.chunks.insert" if tier == CHUNKED else tier_name("insert", tier)
            for part in _parts_by_bytes(parameters):
                self._execute_many(self._statements.fixed(name), part)

    def read_inline_data(self, inode_id: int, size: int) -> bytes:
        """The bytes of an inline file of `size` bytes; raises InvariantViolation when they are not
        all there (the inode and its rows are written in one transaction)."""
        tier = inline_tier_of(size)
        if tier is None:
            return b""
        name = "inline.chunks.select" if tier == CHUNKED else tier_name("select", tier)
        statement = self._statements.fixed(name)
        rows = self._fetch_all(statement.text, statement.bind({"inode_id": inode_id}))
        data = b"".join(bytes(row[0]) for row in rows)
        check(len(data) == size, f"inline file {inode_id} holds {len(data)} bytes, its inode says {size}")
        return data

    def read_inline_data_any_tier(self, inode_id: int) -> bytes:
        """The inline bytes of a file whose size no longer names their tier (one being moved to
        blocks: its inode's size counts its blocks); one statement per tier."""
        found: list[bytes] = []
        for tier in range(len(schema.inline_tier_tables)):
            statement = self._statements.fixed(tier_name("select", tier))
            found += [
                bytes(row[0])
                for row in self._fetch_all(statement.text, statement.bind({"inode_id": inode_id}))
            ]
        statement = self._statements.fixed("inline.chunks.select")
        chunks = [
            bytes(row[0]) for row in self._fetch_all(statement.text, statement.bind({"inode_id": inode_id}))
        ]
        check(not (found and chunks), f"inline file {inode_id} has rows in two tiers")
        check(len(found) <= 1, f"inline file {inode_id} has rows in two tiers")
        return found[0] if found else b"".join(chunks)

    def delete_inline_data(self, entries: Iterable[tuple[int, int | None]]) -> None:
        """Drop the tier rows of (inode id, size) files; a size of None drops the file's rows from
        every tier. Chunk rows go with every deleted inode (DalSession.delete_data_of_inodes), so
        only the fixed tiers are handled here."""
        by_tier: dict[int, list[dict[str, object]]] = defaultdict(list)
        for inode_id, size in entries:
            tiers = range(CHUNKED) if size is None else [inline_tier_of(size)]
            for tier in tiers:
                if tier is not None and tier != CHUNKED:
                    by_tier[tier].append({"inode_id": inode_id})
        for tier, parameters in sorted(by_tier.items()):
            self._execute_many(self._statements.fixed(tier_name("delete", tier)), parameters)

    def delete_inline_chunks(self, inode_ids: Iterable[int]) -> None:
        parameters = [{"inode_id": inode_id} for inode_id in inode_ids]
        self._execute_many(self._statements.fixed("delete_inline_data_of_inode"), parameters)

    def read_inline_policies(self, inode_ids: Sequence[int]) -> dict[int, int]:
        """threshold_bytes by directory id, for those of `inode_ids` that set a policy."""
        found: dict[int, int] = {}
        distinct = sorted(set(inode_ids))
        for start in range(0, len(distinct), _IN_LIST_MAX):
            chunk = distinct[start : start + _IN_LIST_MAX]
            size = next(candidate for candidate in IN_LIST_SIZES if len(chunk) <= candidate)
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            statement = self._statements.sized("inline.policies.of", size)
            parameters = statement.bind({f"inode_id{index}": padded[index] for index in range(size)})
            for inode_id, threshold_bytes in self._fetch_all(statement.text, parameters):
                found[int(inode_id)] = int(threshold_bytes)
        return found

    def upsert_inline_policy(self, inode_id: int, threshold_bytes: int) -> None:
        parameters = {"inode_id": inode_id, "threshold_bytes": threshold_bytes}
        self._execute_many(self._statements.fixed("inline.policies.upsert"), [parameters])

    def delete_inline_policies(self, inode_ids: Iterable[int]) -> None:
        parameters = [{"inode_id": inode_id} for inode_id in inode_ids]
        self._execute_many(self._statements.fixed("inline.policies.delete"), parameters)
